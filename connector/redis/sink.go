package redis

import (
	"errors"
	"fmt"

	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/sink/async"
)

// NewSink returns a sink that writes each record as the commands layout
// makes of it (see Layout and the package documentation) to the Redis
// server at e. Its writers connect to Redis when the job builds them, one
// client per writer, so an unreachable server fails the job at start. The
// endpoint, the layout and the options are checked first, every problem
// reported at once.
//
// The returned sink reports its metrics (records held, written, retried;
// requests and their latency) with Metrics.
func NewSink[T any](e Endpoint, layout Layout[T], opts ...SinkOption) (*async.Sink[T, Entry], error) {
	c := sinkConfig{conn: defaultConnConfig()}
	for _, o := range opts {
		o.applySink(&c)
	}
	errs := []error{e.validate("sink"), c.conn.validate("sink")}
	convert := func(v T) (Entry, error) { return NewEntry(layout(v, nil)) }
	if layout == nil {
		errs = append(errs, errors.New("redis: sink: the layout is nil: pass a function that turns a record into Redis commands"))
		convert = func(T) (Entry, error) { return Entry{}, nil } // reported; lets the base check its options too
	}
	newSubmitter := func(ctx sink.WriterContext) (async.Submitter[Entry], error) {
		client, err := e.connect(c.conn, fmt.Sprintf("sink subtask %d", ctx.Subtask()), true)
		if err != nil {
			return nil, err
		}
		return &submitter{client: client, endpoint: e}, nil
	}
	base, err := async.NewSink(newSubmitter, convert, c.asyncOptions(e))
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	return base, nil
}
