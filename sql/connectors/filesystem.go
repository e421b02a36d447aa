package connectors

import (
	"fmt"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
)

// Filesystem is the 'filesystem' connector: the lines of files as a
// table, and a table written as lines of a file.
//
// Options:
//
//	path                  a file or a glob (filepath.Match syntax); a sink writes
//	                      the file path, or path-N for subtask N of several
//	follow                'true': read the files as they grow and rotate, forever
//	                      (default 'false': read what is there and end)
//	format                json, csv, raw or combined-log (combined-log only reads)
//	source.max-line-size  the longest line in bytes (longer lines are dead letters)
//
// The sink writes with connector/file's sink: exactly-once with
// checkpoints (lines appear when the checkpoint that covers them
// completes), at-least-once without. It takes only insert-only input.
type Filesystem struct{}

// Connector implements table.Factory.
func (Filesystem) Connector() string { return "filesystem" }

// Options implements table.Factory.
func (Filesystem) Options() table.OptionSpec {
	return table.OptionSpec{Required: []string{"path"}, Optional: []string{"follow", "source.max-line-size"}, Format: true}
}

// Scan implements table.ScanFactory.
func (Filesystem) Scan(c table.ScanContext) (table.Scan, error) {
	dec, err := c.Decoder("")
	if err != nil {
		return table.Scan{}, err
	}
	var opts []file.SourceOption
	follow, err := c.Options.Bool("follow", false)
	if err != nil {
		return table.Scan{}, err
	}
	if follow {
		opts = append(opts, file.Follow())
	}
	if n, err := c.Options.Int("source.max-line-size", 0); err != nil {
		return table.Scan{}, err
	} else if n > 0 {
		opts = append(opts, file.MaxLineSize(int(n)))
	}
	path := c.Options.String("path", "")
	// The format decodes each line where the reader reads it: a row never
	// aliases its input (format.Decoder), so the line need not be copied
	// first. A line it refuses goes to the dead letters with its error.
	src, err := file.NewDecodedSource(path, file.Decoder[types.Row](dec), opts...)
	if err != nil {
		return table.Scan{}, fmt.Errorf("table %s: option 'path' = '%s': %w", c.Table, path, err)
	}
	return table.AddSource(c, src), nil
}

// Sink implements table.SinkFactory.
func (Filesystem) Sink(c table.SinkContext, rows weir.Stream[types.Row]) error {
	if err := refuseUpdates(c, "filesystem", "write it to a table with 'connector' = 'print', 'redis' or 'blackhole', or make the query append-only (a window aggregate instead of a plain GROUP BY)"); err != nil {
		return err
	}
	if _, set := c.Options.Lookup("follow"); set {
		return fmt.Errorf("table %s: option 'follow' is for reading: remove it from a table you write to", c.Table)
	}
	enc, err := c.Encoder("")
	if err != nil {
		return err
	}
	path := c.Options.String("path", "")
	snk, err := file.NewLineSink(path)
	if err != nil {
		return fmt.Errorf("table %s: option 'path' = '%s': %w", c.Table, path, err)
	}
	lines := weir.Map(rows, func(r types.Row) string { return string(enc(nil, r)) }, c.OpOptions("encode")...)
	weir.SinkTo(lines, snk, c.OpOptions("sink")...)
	return nil
}
