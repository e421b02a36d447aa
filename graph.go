package weir

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/runtime"
)

// Stream is a typed stream of records of type T: the output of a source or
// an operator. It is a handle into the job graph of its Env; a stream may
// feed any number of operators, and each gets every record.
type Stream[T any] struct {
	n *node
}

// Env returns the environment the stream belongs to.
func (s Stream[T]) Env() *Env { return s.n.env }

// Name returns the name of the operator that produces the stream.
func (s Stream[T]) Name() string { return s.n.name }

// node is one operator in the logical graph. The typed parts of an operator
// live in closures made by the generic function that created it, so the
// planner can wire nodes without knowing their types; the only type
// assertions happen while a job is built, never per record.
type node struct {
	env         *Env
	id          int
	kind        string
	name        string
	parallelism int // requested; 0 means the Env's default
	inputs      []*edge
	outputs     []*edge
	side        *node // for a side-output node, the operator that emits it

	// Side outputs: the tag, and factories for the emitter and the control
	// path of the side stream's collector.
	sideTag       *tagID
	sideEmitter   func(out any) any
	sideCollector func(out any) controlSink

	dropped atomic.Int64 // late records a window dropped, over all subtasks
	// finalCommit publishes a sink's committables from the record of a
	// finished job; nil for other nodes.
	finalCommit func(ctx context.Context, committables [][]byte) error
	// ownTask makes the node start a chain of its own: it is never chained
	// behind its input (AsyncWait, whose task must drain finished calls).
	ownTask bool
	// async holds an AsyncWait operator's counters, over all subtasks.
	async *asyncStats

	// build returns the operator's input, a runtime.Collector[In], given its
	// output, a runtime.Collector[Out]. Nil for sources and side outputs.
	build func(b *builder, t *taskCtx, out any) (any, error)
	// fanout combines the collectors of the consumers of this node's output
	// into one runtime.Collector[Out].
	fanout func(outs []any) any
	// inputTask makes the loop of a subtask whose chain starts at this
	// node; inputs are []runtime.Input[In] per input edge.
	inputTask func(t *taskCtx, head any, inputs []any, notify chan struct{}) func(context.Context) error
	// source is set for sources.
	source *sourceNode
	// unionOf lists the inputs of a union; the node itself never runs.
	unionOf []*node
}

// edge connects two nodes; its closures are typed by the records it carries.
type edge struct {
	from, to *node
	pattern  runtime.Pattern
	// exchange returns a *runtime.Exchange[T].
	exchange func(senders int, notify []chan struct{}, opts runtime.ExchangeOptions) any
	// writer returns the *runtime.Writer[T] of one sender.
	writer func(ex any, ctx context.Context, sender int, m *runtime.Metrics) (collector any, w *writerParts)
	// inputs returns the []runtime.Input[T] of one receiver.
	inputs func(ex any, receiver int) any
}

type writerParts struct {
	output runtime.Output
	ticker runtime.Ticker
}

func newNode[Out any](env *Env, kind string, opts []OpOption) *node {
	var oc opConfig
	for _, o := range opts {
		o.applyOp(&oc)
	}
	n := &node{env: env, id: len(env.nodes), kind: kind, name: oc.name, parallelism: oc.parallelism}
	if n.name == "" {
		n.name = fmt.Sprintf("%s-%d", kind, n.id)
	}
	n.fanout = fanout[Out]
	env.nodes = append(env.nodes, n)
	return n
}

// unionInputs returns the nodes a stream's records come from: the node
// itself, or the inputs of a union.
func (n *node) unionInputs() []*node {
	if n.unionOf != nil {
		return n.unionOf
	}
	return []*node{n}
}

// connect adds an edge carrying T from the node of s to n (from each input,
// if s is a union).
func connect[T any](s Stream[T], n *node, pattern runtime.Pattern, hash func(T) uint64) {
	if s.n.unionOf != nil {
		for _, in := range s.n.unionOf {
			connect(Stream[T]{in}, n, pattern, hash)
		}
		return
	}
	e := &edge{from: s.n, to: n, pattern: pattern}
	e.exchange = func(senders int, notify []chan struct{}, opts runtime.ExchangeOptions) any {
		return runtime.NewExchange[T](e.pattern, senders, notify, hash, opts)
	}
	e.writer = func(ex any, ctx context.Context, sender int, m *runtime.Metrics) (any, *writerParts) {
		w := ex.(*runtime.Exchange[T]).Writer(ctx, sender, m)
		return runtime.Collector[T](w), &writerParts{output: w, ticker: w}
	}
	e.inputs = func(ex any, receiver int) any { return ex.(*runtime.Exchange[T]).Inputs(receiver) }
	s.n.outputs = append(s.n.outputs, e)
	n.inputs = append(n.inputs, e)
}

// withInput gives n the loop that reads inputs of type In.
func withInput[In any](n *node) {
	n.inputTask = func(t *taskCtx, head any, inputs []any, notify chan struct{}) func(context.Context) error {
		var all []runtime.Input[In]
		for _, in := range inputs {
			all = append(all, in.([]runtime.Input[In])...)
		}
		var replay []runtime.Record[In]
		if t.run != nil {
			b, err := t.run.restoredChannelState(t.head, t.subtask, t.parallelism)
			if err != nil {
				return errTask(err)
			}
			if len(b) > 0 {
				if replay, err = runtime.DecodeChannelState(codec.For[In](), b); err != nil {
					return errTask(fmt.Errorf("restore the records in flight into %q: %w", t.head, err))
				}
			}
		}
		task := &runtime.InputTask[In]{
			Gate:    runtime.NewGate(all, notify),
			Head:    head.(runtime.Collector[In]),
			Clock:   t.clock,
			Tickers: t.tickers,
			Outputs: t.outputs,
			Metrics: t.metrics,

			Checkpointing: t.checkpointing,
			Codec:         codec.For[In](),
			Replay:        replay,
		}
		return task.Run
	}
}

// errTask is a task that fails at once with err.
func errTask(err error) func(context.Context) error {
	return func(context.Context) error { return err }
}

func fanout[T any](outs []any) any {
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

// discard is the output of a stream that nothing consumes.
type discard[T any] struct{}

func (discard[T]) Collect(runtime.Record[T]) error { return nil }
func (discard[T]) Watermark(int64) error           { return nil }
func (discard[T]) End() error                      { return nil }

// multi sends every element to several consumers.
type multi[T any] []runtime.Collector[T]

func (m multi[T]) Collect(r runtime.Record[T]) error {
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
