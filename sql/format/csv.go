package format

import (
	"bytes"
	"fmt"

	"github.com/weirstream/weir/sql/types"
)

// CSV is the 'csv' format: one record per line, fields in schema order,
// separated by 'csv.field-delimiter' (default ','). A field may be quoted
// with 'csv.quote-character' (default '"'); inside quotes the delimiter is
// text and a doubled quote is one quote. An empty field is NULL, except
// for a STRING column, where it is ”. A record with another number of
// fields than the schema's columns, or a field that does not parse as its
// column's type, is a decode error: the record goes to the dead letters.
type CSV struct{}

// Name implements Format.
func (CSV) Name() string { return "csv" }

// Options implements Format.
func (CSV) Options() []string { return []string{"csv.field-delimiter", "csv.quote-character"} }

func (f CSV) chars(c Config) (delim, quote byte, err error) {
	if err := checkOptions(f, c); err != nil {
		return 0, 0, err
	}
	if delim, err = oneChar(c, "csv.field-delimiter", ','); err != nil {
		return 0, 0, err
	}
	if quote, err = oneChar(c, "csv.quote-character", '"'); err != nil {
		return 0, 0, err
	}
	if delim == quote || delim == '\n' || quote == '\n' {
		return 0, 0, fmt.Errorf("format: table %s: 'csv.field-delimiter' and 'csv.quote-character' must differ and not be a newline", c.Table)
	}
	for _, col := range c.Schema {
		if col.Type.Kind == types.Record || col.Type.Kind == types.Unknown {
			return 0, 0, fmt.Errorf("format: table %s: column %s has type %s: flatten the schema first (types.Schema.Flatten)", c.Table, col.Name, col.Type)
		}
	}
	return delim, quote, nil
}

// Decoder implements Format.
func (f CSV) Decoder(c Config) (Decoder, error) {
	delim, quote, err := f.chars(c)
	if err != nil {
		return nil, err
	}
	schema, loc := c.Schema, c.Location
	return func(data []byte) (types.Row, error) {
		data = bytes.TrimSuffix(data, []byte{'\r'})
		fields, err := splitCSV(data, delim, quote, len(schema))
		if err != nil {
			return types.Row{}, err
		}
		if len(fields) != len(schema) {
			return types.Row{}, fmt.Errorf("csv: %d fields, the table has %d columns", len(fields), len(schema))
		}
		values := make([]types.Value, len(schema))
		for i, field := range fields {
			v, err := ParseText(field, schema[i].Type, loc)
			if err != nil {
				return types.Row{}, fmt.Errorf("csv: column %s: %v", schema[i].Name, err)
			}
			values[i] = v
		}
		return types.Row{Values: values}, nil
	}, nil
}

// splitCSV splits one record into its fields, unquoting them. It stops
// counting past max+1 fields, which is already an error.
func splitCSV(data []byte, delim, quote byte, max int) ([]string, error) {
	fields := make([]string, 0, max)
	i := 0
	for {
		if len(fields) > max {
			return fields, nil
		}
		if i < len(data) && data[i] == quote {
			var b []byte
			i++
			for {
				j := bytes.IndexByte(data[i:], quote)
				if j < 0 {
					return nil, fmt.Errorf("csv: field %d: quote not closed", len(fields)+1)
				}
				b = append(b, data[i:i+j]...)
				i += j + 1
				if i < len(data) && data[i] == quote {
					b = append(b, quote)
					i++
					continue
				}
				break
			}
			fields = append(fields, string(b))
			if i == len(data) {
				return fields, nil
			}
			if data[i] != delim {
				return nil, fmt.Errorf("csv: field %d: text after the closing quote", len(fields))
			}
			i++
			continue
		}
		j := bytes.IndexByte(data[i:], delim)
		if j < 0 {
			fields = append(fields, string(data[i:]))
			return fields, nil
		}
		fields = append(fields, string(data[i:i+j]))
		i += j + 1
	}
}

// Encoder implements Format. A field that holds the delimiter, the quote,
// a newline, or leading or trailing space is quoted; NULL is an empty
// field.
func (f CSV) Encoder(c Config) (Encoder, error) {
	delim, quote, err := f.chars(c)
	if err != nil {
		return nil, err
	}
	schema, loc := c.Schema, c.Location
	return func(dst []byte, row types.Row) []byte {
		var field []byte
		for i, col := range schema {
			if i > 0 {
				dst = append(dst, delim)
			}
			var v types.Value
			if i < len(row.Values) {
				v = row.Values[i]
			}
			field = AppendText(field[:0], v, col.Type, loc)
			if needsQuote(field, delim, quote) || (col.Type.Kind == types.String && len(field) == 0 && !v.IsNull()) {
				dst = append(dst, quote)
				for _, ch := range field {
					if ch == quote {
						dst = append(dst, quote)
					}
					dst = append(dst, ch)
				}
				dst = append(dst, quote)
				continue
			}
			dst = append(dst, field...)
		}
		return dst
	}, nil
}

func needsQuote(field []byte, delim, quote byte) bool {
	if len(field) > 0 && (field[0] == ' ' || field[len(field)-1] == ' ') {
		return true
	}
	for _, ch := range field {
		if ch == delim || ch == quote || ch == '\n' || ch == '\r' {
			return true
		}
	}
	return false
}
