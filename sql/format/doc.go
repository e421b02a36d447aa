// Package format turns the records of a table's connector into rows and
// rows into records: the formats a table names with its 'format' option.
//
// A [Format] makes a [Decoder] (bytes → types.Row) and an [Encoder]
// (types.Row → bytes) for a table's physical schema, flattened: a ROW
// column is its leaf columns "outer.inner", which json reads from and
// writes to nested objects. The built-in formats:
//
//   - json: one object per record; a missing field is NULL, a value of
//     the wrong type a decode error.
//   - csv: one record per line, 'csv.field-delimiter' and
//     'csv.quote-character'.
//   - raw: the record is the table's one STRING column.
//   - combined-log: nginx/Apache access lines read by the PV/UV parser,
//     with its rules and reasons (read only).
//
// A decode error's text is the reason of the dead letter the record
// becomes; a decoder never panics (each is fuzzed) and its rows never
// alias the input. Formats live in a [Registry] value; [Default] returns
// one with the built-in formats.
//
// Example:
//
//	dec, err := format.JSON{}.Decoder(format.Config{Table: "bids", Schema: schema.Flatten()})
//	if err != nil {
//		return err
//	}
//	row, err := dec([]byte(`{"auction": 1, "price": 12}`))
package format
