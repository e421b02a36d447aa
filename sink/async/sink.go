package async

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/weirstream/weir/sink"
)

// ErrClosed is returned by Write and Flush of a writer that was closed.
var ErrClosed = errors.New("async: the writer is closed")

// Sink is a [sink.Sink] that writes records of type T through a
// [Submitter] of request entries of type E, with batching, requests in
// flight, retries, rate limiting and a bound on memory (see the package
// documentation). Create it with [NewSink]; it is safe for concurrent use
// by the writers of its subtasks.
type Sink[T, E any] struct {
	o            Options[E] // effective
	newSubmitter func(sink.WriterContext) (Submitter[E], error)
	convert      func(T) (E, error)
	m            metrics
}

var _ sink.Sink[int] = (*Sink[int, int])(nil)

// NewSink returns a sink whose writers each create a Submitter with
// newSubmitter, convert each record to an entry with convert, and send
// batches of entries through the Submitter as o says. It reports every
// problem with o at once, each naming the field and the fix.
//
// newSubmitter is called once per writer, when the job builds it; convert
// is called in Write, from the subtask's goroutine. A convert error fails
// the job.
func NewSink[T, E any](newSubmitter func(ctx sink.WriterContext) (Submitter[E], error), convert func(T) (E, error), o Options[E]) (*Sink[T, E], error) {
	if o.Name == "" {
		o.Name = DefaultName
	}
	var errs []error
	if newSubmitter == nil {
		errs = append(errs, fmt.Errorf("async: sink %q: newSubmitter is nil; pass a function that creates the connector's Submitter", o.Name))
	}
	if convert == nil {
		errs = append(errs, fmt.Errorf("async: sink %q: convert is nil; pass a function from a record to a request entry", o.Name))
	}
	if err := o.validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Sink[T, E]{o: o.withDefaults(), newSubmitter: newSubmitter, convert: convert}, nil
}

// Options returns the effective options, defaults applied.
func (s *Sink[T, E]) Options() Options[E] { return s.o }

// Metrics returns the sink's counters, summed over its writers. It is safe
// to call at any time, also while the job runs.
func (s *Sink[T, E]) Metrics() Metrics { return s.m.snapshot() }

// NewWriter implements [sink.Sink]: it creates the Submitter of the
// subtask and a writer around it. The writer starts its goroutines at the
// first Write and stops them in Close.
func (s *Sink[T, E]) NewWriter(ctx sink.WriterContext) (sink.Writer[T], error) {
	sub, err := s.newSubmitter(ctx)
	if err != nil {
		return nil, fmt.Errorf("async: sink %q: subtask %d: create the submitter: %w", s.o.Name, ctx.Subtask(), err)
	}
	if sub == nil {
		return nil, fmt.Errorf("async: sink %q: subtask %d: newSubmitter returned a nil Submitter; return the connector's Submitter or an error", s.o.Name, ctx.Subtask())
	}
	w := &writer[T, E]{
		s:       s,
		o:       &s.o,
		sub:     sub,
		subtask: ctx.Subtask(),
		wake:    make(chan struct{}, 1),
		start:   time.Now(),
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	switch job := sink.LoggerOf(ctx, nil); {
	case s.o.Logger != nil:
		w.log = s.o.Logger.With("sink", s.o.Name, "subtask", w.subtask)
	case job != nil: // its lines name the job, the operator and the subtask
		w.log = job.With("sink", s.o.Name)
	default:
		w.log = slog.Default().With("sink", s.o.Name, "subtask", w.subtask)
	}
	w.mu.changed = make(chan struct{})
	if s.o.Synchronous {
		w.mu.limit = newAIMD(1, 0, 1)
	} else {
		w.mu.limit = newAIMD(s.o.MaxInFlightRequests, s.o.AdditiveIncrease, s.o.DecreaseFactor)
	}
	s.m.limit.Add(int64(w.mu.limit.allowed()))
	return w, nil
}
