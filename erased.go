package weir

import (
	"context"
	"fmt"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
)

// This file implements the planner's contracts (internal/plan) for each
// record type, and holds every type assertion that turns the planner's
// untyped collectors back into typed ones. They run while a job is built,
// never per record.

// records implements plan.Records for records of type T.
type records[T any] struct{}

// Fanout sends every element to each of outs.
func (records[T]) Fanout(outs []plan.Collector) plan.Collector {
	switch len(outs) {
	case 0:
		return runtime.Collector[T](discard[T]{})
	case 1:
		return outs[0]
	}
	m := make(multi[T], len(outs))
	for i, o := range outs {
		m[i] = o.(runtime.Collector[T])
	}
	return runtime.Collector[T](m)
}

// Emitter returns the emitter a side output's producer emits T to.
func (records[T]) Emitter(out plan.Collector) any {
	return &emitter[T]{out: out.(runtime.Collector[T])}
}

// InputTask returns the loop of a subtask whose chain starts with an
// operator reading T.
func (records[T]) InputTask(t *plan.Subtask, head plan.Collector, inputs []plan.Inputs, notify chan struct{}) func(context.Context) error {
	var all []runtime.Input[T]
	for _, in := range inputs {
		all = append(all, in.([]runtime.Input[T])...)
	}
	var replay []runtime.Record[T]
	b, err := t.ChannelState()
	if err == nil && len(b) > 0 {
		if replay, err = runtime.DecodeChannelState(codec.For[T](), b); err != nil {
			err = fmt.Errorf("restore the records in flight into %q: %w", t.Head(), err)
		}
	}
	if err != nil {
		return func(context.Context) error { return err }
	}
	task := &runtime.InputTask[T]{
		Gate:    runtime.NewGate(all, notify),
		Head:    head.(runtime.Collector[T]),
		Clock:   t.Clock,
		Tickers: t.Tickers(),
		Outputs: t.Outputs(),
		Metrics: t.Metrics,

		Checkpointing: t.Checkpointing(),
		Codec:         codec.For[T](),
		Replay:        replay,
	}
	return task.Run
}

// channel implements plan.Channel for an edge carrying T; hash keys the
// records of a Hash edge.
type channel[T any] struct{ hash func(T) uint64 }

func (c channel[T]) NewExchange(pattern runtime.Pattern, senders int, notify []chan struct{}, opts runtime.ExchangeOptions) plan.Exchange {
	return exchange[T]{runtime.NewExchange(pattern, senders, notify, c.hash, opts)}
}

// exchange implements plan.Exchange.
type exchange[T any] struct{ ex *runtime.Exchange[T] }

func (e exchange[T]) Writer(ctx context.Context, sender int, m *runtime.Metrics, _ *runtime.Running) (plan.Collector, plan.Writer) {
	w := e.ex.Writer(ctx, sender, m)
	return runtime.Collector[T](w), w
}

func (e exchange[T]) Inputs(receiver int) plan.Inputs { return e.ex.Inputs(receiver) }

func (e exchange[T]) Outbound(ctx context.Context, s, r int, send, sendPrio func([]byte) error) error {
	return e.ex.Outbound(ctx, s, r, send, sendPrio)
}

func (e exchange[T]) Deliver(ctx context.Context, s, r int, b []byte, prio bool) error {
	return e.ex.Deliver(ctx, s, r, b, prio)
}

// operator implements plan.Operator with a typed build function: given
// the subtask, the collector of its main output and all its outputs, it
// returns the operator's input.
type operator[In, Out any] func(t *plan.Subtask, out runtime.Collector[Out], outs plan.Outputs) (runtime.Collector[In], error)

func (f operator[In, Out]) Build(t *plan.Subtask, outs plan.Outputs) (plan.Collector, error) {
	in, err := f(t, outs.Main.(runtime.Collector[Out]), outs)
	if err != nil {
		return nil, err
	}
	return in, nil
}

// sideEmitter returns the emitter of side output s for records of type T,
// or an error when the side output carries another type.
func sideEmitter[T any](s plan.Side) (*emitter[T], error) {
	e, ok := s.Emitter.(*emitter[T])
	if !ok {
		var zero T
		return nil, fmt.Errorf("side output %q carries another type than %T", s.Tag.Name, zero)
	}
	return e, nil
}

// sideCollector returns the collector of side output s for records of
// type T.
func sideCollector[T any](s plan.Side) (runtime.Collector[T], error) {
	c, ok := s.Out.(runtime.Collector[T])
	if !ok {
		var zero T
		return nil, fmt.Errorf("side output %q carries another type than %T", s.Tag.Name, zero)
	}
	return c, nil
}

// discard is the output of a stream that nothing consumes.
type discard[T any] struct{}

func (discard[T]) Collect(*runtime.Record[T]) error { return nil }
func (discard[T]) Watermark(int64) error            { return nil }
func (discard[T]) End() error                       { return nil }

// multi sends every element to several consumers.
type multi[T any] []runtime.Collector[T]

func (m multi[T]) Collect(r *runtime.Record[T]) error {
	for _, c := range m {
		if err := c.Collect(r); err != nil {
			return err
		}
	}
	return nil
}

func (m multi[T]) Watermark(wm int64) error {
	for _, c := range m {
		if err := c.Watermark(wm); err != nil {
			return err
		}
	}
	return nil
}

func (m multi[T]) End() error {
	for _, c := range m {
		if err := c.End(); err != nil {
			return err
		}
	}
	return nil
}
