package redis

import (
	"errors"
	"fmt"

	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/sink/async"
)

// DefaultMaxInFlightRequests is the sink's default for
// Async.MaxInFlightRequests: one request at a time per writer, so records
// reach Redis in the order they were written.
const DefaultMaxInFlightRequests = 1

// SinkConfig configures NewSink.
type SinkConfig struct {
	Conn
	// Async tunes the AsyncSink base: batch size and bytes, time in
	// buffer, requests in flight, the bound on records held, retries and
	// backoff. Zero fields take the base's defaults, except:
	//
	//   - Name defaults to the URL (password hidden);
	//   - Size defaults to Entry.Size, so MaxBatchBytes counts;
	//   - MaxInFlightRequests defaults to 1 (DefaultMaxInFlightRequests).
	//
	// With one request in flight, a batch is written only after the one
	// before it, so a later result of a key (a window's final result after
	// its early ones) lands after the earlier one, as a last-write-wins
	// layout needs. A request is one pipelined round trip of up to
	// MaxBatchSize records, which keeps a local Redis busy; raise
	// MaxInFlightRequests when records never write the same key twice, or
	// when Redis is far away. Note that a retried batch may still land
	// after newer ones (see package sink/async).
	Async async.Options[Entry]
}

// options returns the base options with the sink's defaults applied.
func (c SinkConfig) options(e Endpoint) async.Options[Entry] {
	o := c.Async
	if o.Name == "" {
		o.Name = e.String()
	}
	if o.Size == nil {
		o.Size = Entry.Size
	}
	if o.MaxInFlightRequests == 0 {
		o.MaxInFlightRequests = DefaultMaxInFlightRequests
	}
	return o
}

// NewSink returns a sink that writes each record as the commands layout
// makes of it (see Layout and the package documentation). Its writers
// connect to Redis when the job builds them, one client per writer, so an
// unreachable server fails the job at start. The configuration is checked
// first, every problem reported at once.
//
// The returned sink reports its metrics (records held, written, retried;
// requests and their latency) with Metrics.
func NewSink[T any](cfg SinkConfig, layout Layout[T]) (*async.Sink[T, Entry], error) {
	e, err := cfg.validate("sink")
	errs := []error{err}
	if layout == nil {
		errs = append(errs, errors.New("redis: sink: the layout is nil: pass a function that turns a record into Redis commands"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	newSubmitter := func(ctx sink.WriterContext) (async.Submitter[Entry], error) {
		client, err := cfg.connect(e, fmt.Sprintf("sink subtask %d", ctx.Subtask()), true)
		if err != nil {
			return nil, err
		}
		return &submitter{client: client, endpoint: e}, nil
	}
	convert := func(v T) (Entry, error) { return NewEntry(layout(v, nil)) }
	return async.NewSink(newSubmitter, convert, cfg.options(e))
}
