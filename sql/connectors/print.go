package connectors

import (
	"context"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
)

// Print is the 'print' connector, a sink that prints every row as Flink
// does: its kind and its values, "+I[1, /index.html]", "-U[…]", "+U[…]",
// "-D[…]", prefixed by the subtask ("2> ") when it runs in parallel, and
// 'print-identifier' and ':' when set. It writes to the Context's Stdout
// (os.Stdout by default), a line at a time. It takes updating input.
type Print struct{}

// Connector implements table.Factory.
func (Print) Connector() string { return "print" }

// Options implements table.Factory.
func (Print) Options() table.OptionSpec {
	return table.OptionSpec{Optional: []string{"print-identifier"}}
}

// Sink implements table.SinkFactory.
func (Print) Sink(c table.SinkContext, rows weir.Stream[types.Row]) error {
	p := &printSink{w: c.Writer(), schema: c.Schema, loc: c.Location, id: c.Options.String("print-identifier", "")}
	weir.SinkTo(rows, p, c.OpOptions("sink")...)
	return nil
}

// printSink's writers share one io.Writer; each line is written whole
// under mu.
type printSink struct {
	mu     sync.Mutex
	w      io.Writer
	schema types.Schema
	loc    *time.Location
	id     string
}

func (p *printSink) NewWriter(ctx sink.WriterContext) (sink.Writer[types.Row], error) {
	prefix := p.id
	if ctx.Parallelism() > 1 {
		if prefix != "" {
			prefix += ":"
		}
		prefix += strconv.Itoa(ctx.Subtask()+1) + "> "
	} else if prefix != "" {
		prefix += "> "
	}
	return &printWriter{p: p, prefix: prefix}, nil
}

type printWriter struct {
	p      *printSink
	prefix string
	buf    []byte
}

func (w *printWriter) Write(_ context.Context, r types.Row) error {
	b := append(w.buf[:0], w.prefix...)
	b = FormatRow(b, r, w.p.schema, w.p.loc)
	b = append(b, '\n')
	w.buf = b
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	_, err := w.p.w.Write(b)
	return err
}

func (w *printWriter) Flush(context.Context) error { return nil }
func (w *printWriter) Close() error                { return nil }

// FormatRow appends r as Flink prints a row: "+I[1, a, NULL]", each value
// formatted for its column's type (types.Format; TIMESTAMP_LTZ in loc).
func FormatRow(dst []byte, r types.Row, schema types.Schema, loc *time.Location) []byte {
	dst = append(dst, r.Kind.String()...)
	dst = append(dst, '[')
	for i, v := range r.Values {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		t := types.StringType
		if i < len(schema) {
			t = schema[i].Type
		}
		dst = append(dst, types.Format(v, t, loc)...)
	}
	return append(dst, ']')
}

// Blackhole is the 'blackhole' connector: a sink that discards every row,
// for measuring a query without the cost of writing. It takes updating
// input.
type Blackhole struct{}

// Connector implements table.Factory.
func (Blackhole) Connector() string { return "blackhole" }

// Options implements table.Factory.
func (Blackhole) Options() table.OptionSpec { return table.OptionSpec{} }

// Sink implements table.SinkFactory.
func (Blackhole) Sink(c table.SinkContext, rows weir.Stream[types.Row]) error {
	weir.SinkTo(rows, sink.Func[types.Row](func(context.Context, types.Row) error { return nil }), c.OpOptions("sink")...)
	return nil
}
