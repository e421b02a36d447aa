package table

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/sql/format"
	"github.com/weirstream/weir/sql/types"
)

// Context is what every factory call is given.
type Context struct {
	// Env is the job the factory adds its source or sink to.
	Env *weir.Env
	// Table is the table's name, for errors and operator names.
	Table string
	// ID is a stable id the planner derives from the plan (the table and
	// its place in the query); the factory's operators take their UIDs
	// from it (OpOptions), so that state restores across unrelated edits.
	ID string
	// Schema is the physical schema: the declared columns that are not
	// computed, flattened (types.Schema.Flatten). Rows are in its order.
	Schema types.Schema
	// Options are the table's options, checked by Registry.Resolve.
	Options Options
	// Location is the session time zone ('table.local-time-zone'); nil
	// means UTC.
	Location *time.Location
	// Formats finds the table's format; nil means format.Default().
	Formats *format.Registry
	// Stdout is where the 'print' connector writes; nil means os.Stdout.
	Stdout io.Writer
}

// OpOptions returns the name and UID options of the operator of the table
// called what ("source", "decode", "sink").
func (c Context) OpOptions(what string) []weir.OpOption {
	id := c.ID
	if id == "" {
		id = "table/" + c.Table
	}
	return []weir.OpOption{weir.Name(c.Table + ": " + what), weir.UID(id + "/" + what)}
}

// Writer returns Stdout, or os.Stdout when it is nil.
func (c Context) Writer() io.Writer {
	if c.Stdout == nil {
		return os.Stdout
	}
	return c.Stdout
}

// Format returns the table's format (the 'format' option, or def when the
// table sets none) and its configuration.
func (c Context) Format(def string) (format.Format, format.Config, error) {
	formats := c.Formats
	if formats == nil {
		formats = format.Default()
	}
	name := c.Options.String("format", def)
	if name == "" {
		return nil, format.Config{}, fmt.Errorf("table %s: no 'format' option: add 'format' = '…', one of: %s", c.Table, strings.Join(formats.Names(), ", "))
	}
	f, err := formats.Lookup(c.Table, name)
	if err != nil {
		return nil, format.Config{}, err
	}
	fc := format.Config{Table: c.Table, Schema: c.Schema, Location: c.Location, Options: map[string]string{}}
	for _, op := range c.Options.List() {
		if strings.HasPrefix(op.Key, name+".") {
			fc.Options[op.Key] = op.Value
		}
	}
	return f, fc, nil
}

// Decoder returns the decoder of the table's format (see Format).
func (c Context) Decoder(def string) (format.Decoder, error) {
	f, fc, err := c.Format(def)
	if err != nil {
		return nil, err
	}
	return f.Decoder(fc)
}

// Encoder returns the encoder of the table's format (see Format).
func (c Context) Encoder(def string) (format.Encoder, error) {
	f, fc, err := c.Format(def)
	if err != nil {
		return nil, err
	}
	return f.Encoder(fc)
}

// Watermark is a table's WATERMARK clause as the planner compiled it.
type Watermark struct {
	// Column is the rowtime column, for names and errors.
	Column string
	// Time returns a row's event time in milliseconds since the epoch; the
	// planner compiles it from the rowtime column (or its computed
	// expression). A row whose time is NULL gets the time 0.
	Time func(types.Row) int64
	// MaxOutOfOrderness is how far the watermark trails the latest event
	// time: the interval of `WATERMARK FOR t AS t - INTERVAL '5' SECOND`.
	MaxOutOfOrderness time.Duration
	// Idleness marks a split idle after this long without records; 0
	// takes the table's 'scan.watermark.idle-timeout' (AddSource), and
	// without it a split never idles.
	Idleness time.Duration
}

// Strategy returns w as a weir watermark strategy.
func (w *Watermark) Strategy() weir.WatermarkStrategy[types.Row] {
	at := w.Time
	s := weir.BoundedOutOfOrderness(w.MaxOutOfOrderness, func(r types.Row) time.Time {
		return time.UnixMilli(at(r))
	})
	if w.Idleness > 0 {
		s = s.WithIdleness(w.Idleness)
	}
	return s
}

// ScanContext is what a scan is given.
type ScanContext struct {
	Context
	// Watermark is the table's watermark, or nil when it declares none.
	// The factory applies it: inside the source per split where the
	// connector can (weir.FromSourceWithWatermarks), after the source
	// otherwise (weir.Watermarks).
	Watermark *Watermark
}

// Scan is what a table source adds to the job.
type Scan struct {
	// Rows are the table's rows, insert-only, values in schema order, with
	// event times and watermarks when the table has a Watermark.
	Rows weir.Stream[types.Row]
	// DeadLetters are the records the source read but could not decode,
	// each with its reason; weir counts them whether or not the job reads
	// this stream.
	DeadLetters weir.Stream[source.DeadLetter]
	// Bounded reports whether the rows end.
	Bounded bool
}

// ScanFactory is a factory of table sources (Flink's
// DynamicTableSourceFactory with a ScanTableSource).
type ScanFactory interface {
	Factory
	// Scan adds the table's source to c.Env. It returns an error that
	// names the table and the option at fault when the source cannot be
	// made; it does not connect to anything until the job runs.
	Scan(c ScanContext) (Scan, error)
}

// SinkContext is what a sink is given.
type SinkContext struct {
	Context
	// Updating says the input is an updating changelog: rows may be of
	// kind -U, +U and -D (types.Row.Kind). When false every row is +I.
	Updating bool
	// PrimaryKey is the table's PRIMARY KEY columns, or nil.
	PrimaryKey []string
}

// SinkFactory is a factory of table sinks (Flink's
// DynamicTableSinkFactory).
type SinkFactory interface {
	Factory
	// Sink attaches the table's sink to rows (weir.SinkTo). A sink that
	// cannot take c.Updating input, or needs a PRIMARY KEY the table does
	// not declare, refuses here with an error naming the table and what
	// to do.
	Sink(c SinkContext, rows weir.Stream[types.Row]) error
}

// LookupFunc returns the rows of a lookup table whose key columns hold
// keys (in the order of LookupContext.Keys): none, one or several. It is
// called from many goroutines at once (weir.AsyncWait) and must be safe
// for that. An error is retried by AsyncWait's retry strategy, then fails
// the job.
type LookupFunc func(ctx context.Context, keys []types.Value) ([]types.Row, error)

// LookupContext is what a lookup source is given.
type LookupContext struct {
	Context
	// Keys are the columns the join looks rows up by, in the order of the
	// keys a LookupFunc is given.
	Keys []string
	// PrimaryKey is the table's PRIMARY KEY columns, or nil. A store
	// addressed by key (Redis) needs Keys to be exactly these.
	PrimaryKey []string
}

// Lookup is a table's lookup function and the means to release what it
// holds.
type Lookup struct {
	// Fn looks rows up; cached by 'lookup.cache.max-rows' and
	// 'lookup.cache.ttl' when the table sets them.
	Fn LookupFunc
	// Close releases connections; the planner calls it when the job ends.
	Close func() error
}

// LookupFactory is a factory of lookup sources (Flink's
// LookupTableSource).
type LookupFactory interface {
	Factory
	// Lookup returns the lookup function of the table. It may connect.
	Lookup(c LookupContext) (Lookup, error)
}

// LookupCacheOptions are the option keys of a lookup cache, for a
// factory's OptionSpec.Optional.
var LookupCacheOptions = []string{"lookup.cache.max-rows", "lookup.cache.ttl"}
