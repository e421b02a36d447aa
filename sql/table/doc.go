// Package table is the plug-in contract between weir's SQL planner and the
// connectors: the Go shape of Flink's DynamicTableSourceFactory,
// DynamicTableSinkFactory and LookupTableSource.
//
// A table declared with
//
//	CREATE TABLE access_log (
//	    remote_addr STRING,
//	    time_local  TIMESTAMP_LTZ(3),
//	    uri         STRING,
//	    WATERMARK FOR time_local AS time_local - INTERVAL '5' SECOND
//	) WITH ('connector' = 'filesystem', 'path' = 'logs/*.log', 'format' = 'combined-log')
//
// is served by the [Factory] registered for 'filesystem'. The planner
//
//  1. finds the factory and checks the options with [Registry.Resolve]: an
//     unknown option or a missing required one is refused there, with a
//     message that names the table and the option and lists the valid
//     ones. The [Options] it returns parse values with errors that name
//     the option: durations as Flink writes them ('10 s', '10s', '1min'),
//     integers, booleans.
//  2. for a scan, calls [ScanFactory.Scan] with a [ScanContext]: the
//     physical schema (declared columns that are not computed, flattened by
//     types.Schema.Flatten, so ROW fields are leaf columns "outer.inner"),
//     the options, the session time zone and, when the table has a
//     WATERMARK, a [Watermark]. The factory adds a source to the
//     *weir.Env and returns a [Scan]: a stream of rows in schema order and
//     a stream of dead letters (records the format could not decode, with
//     the reason). A factory applies the watermark inside the source when
//     it can (per Kafka partition), after it otherwise.
//  3. for an INSERT INTO, calls [SinkFactory.Sink] with a [SinkContext]:
//     the schema, the options, whether the input is an updating changelog
//     (rows of kind -U/+U/-D, types.Row.Kind) and the PRIMARY KEY. A sink
//     that cannot take updates refuses an updating input at planning time.
//  4. for a lookup join (FOR SYSTEM_TIME AS OF), calls
//     [LookupFactory.Lookup]: it returns a [LookupFunc] the planner wraps
//     in weir.AsyncWait, cached by the options 'lookup.cache.max-rows' and
//     'lookup.cache.ttl' ([CachedLookup]).
//
// Formats (json, csv, raw, combined-log) are found by the 'format' option
// in a format.Registry; their options ('csv.field-delimiter') are checked
// with the connector's.
//
// Registries are values: a program builds one (sql/connectors.Default
// returns one with every built-in connector) and may add its own
// factories. Nothing here is global.
//
// Example: a factory of a connector 'lines' that reads the lines of files
// through the table's format ([Decode] decodes inside the reader, so bad
// records become the source's dead letters; [AddSource] applies the
// watermark per split).
//
//	type linesFactory struct{}
//
//	func (linesFactory) Connector() string { return "lines" }
//	func (linesFactory) Options() table.OptionSpec {
//		return table.OptionSpec{Required: []string{"path"}, Format: true}
//	}
//	func (linesFactory) Scan(c table.ScanContext) (table.Scan, error) {
//		dec, err := c.Decoder("")
//		if err != nil {
//			return table.Scan{}, err
//		}
//		src, err := file.NewSource(c.Options.String("path", ""))
//		if err != nil {
//			return table.Scan{}, fmt.Errorf("table %s: option 'path': %w", c.Table, err)
//		}
//		return table.AddSource(c, table.Decode(src, table.Lines, dec)), nil
//	}
package table
