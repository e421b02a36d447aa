package plan

import (
	"context"

	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/source"
)

// The contracts below erase a record type T so that the planner can wire
// operators without knowing their types. The root package implements each
// with a generic struct; its type assertions all live in one file there
// (erased.go), and run while a job is built, never per record.

// Collector is a runtime.Collector[T] of some T: what an operator's input
// or output is. The planner passes it along; only its control methods are
// visible here (every runtime.Collector[T] has them).
type Collector interface {
	Watermark(wm int64) error
	End() error
}

// Inputs is the []runtime.Input[T] of one receiving subtask of an
// exchange; Records.InputTask takes it.
type Inputs any

// Records is what the planner may do with a stream of records of one type.
type Records interface {
	// Fanout combines the collectors of a stream's consumers into one;
	// no consumer gives a collector that drops everything.
	Fanout(outs []Collector) Collector
	// InputTask returns the loop of a subtask whose chain starts with an
	// operator that reads these records: it reads inputs (of every edge
	// into the operator), wakes on notify, and feeds head.
	InputTask(t *Subtask, head Collector, inputs []Inputs, notify chan struct{}) func(context.Context) error
	// Emitter returns what a side output's producer emits to, given the
	// collector of the side stream's consumers.
	Emitter(out Collector) any
}

// Channel is the typed part of an edge: it makes the edge's exchange.
type Channel interface {
	NewExchange(pattern runtime.Pattern, senders int, notify []chan struct{}, opts runtime.ExchangeOptions) Exchange
}

// Exchange is a runtime.Exchange[T] of some T.
type Exchange interface {
	// Writer returns the collector of sending subtask sender, and the
	// writer behind it (flushes, barriers, buffer timeouts). A writer that
	// calls user code enters running (the sender's task's).
	Writer(ctx context.Context, sender int, m *runtime.Metrics, running *runtime.Running) (Collector, Writer)
	// Inputs returns the channels of receiving subtask receiver.
	Inputs(receiver int) Inputs
	// Outbound carries the elements of channel (s, r), whose receiver runs
	// in another process, encoded, to send (priority elements to
	// sendPrio), until end of input (runtime.Exchange.Outbound).
	Outbound(ctx context.Context, s, r int, send, sendPrio func([]byte) error) error
	// Deliver puts an element that sender s of another process sent into
	// its channel to receiver r (runtime.Exchange.Deliver).
	Deliver(ctx context.Context, s, r int, b []byte, prio bool) error
}

// Writer is the untyped side of a runtime.Writer[T].
type Writer interface {
	runtime.Output
	runtime.Ticker
}

// Operator builds the subtasks of an operator with inputs.
type Operator interface {
	// Build makes the operator of subtask t, given what it emits to, and
	// returns the collector of its input.
	Build(t *Subtask, out Outputs) (Collector, error)
}

// Source builds the parts of a source.
type Source interface {
	// Splits returns how the source stores its splits in checkpoints, or
	// an error saying why it cannot take part in checkpoints.
	Splits() (source.Checkpointed, error)
	// NewEnumerator makes the source's split enumerator.
	NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error)
	// NewReader makes the reader of subtask t and the loop that runs it,
	// emitting to out.
	NewReader(t *Subtask, out Outputs, en *runtime.Enumeration) (Reader, func(context.Context) error, error)
}

// Reader is the untyped side of a source.Reader[T]: what a checkpoint
// needs of it, and Close for a job that fails to start (the reader's task
// closes it otherwise). A reader that implements
// source.CheckpointListener hears of completed checkpoints.
type Reader interface {
	Snapshot(checkpointID int64) ([]source.Split, error)
	Close() error
}

// Outputs is what an operator's subtask emits to: the collector of its
// main output, and those of its side outputs that the job reads.
type Outputs struct {
	Main  Collector
	Sides []Side
}

// Side is one side output of an operator.
type Side struct {
	Tag *Tag
	// Out is the collector of the side stream's consumers.
	Out Collector
	// Emitter is what the producer emits to (Records.Emitter of Out).
	Emitter any
}

// Side returns the side output tagged tag, and whether the job reads it.
func (o Outputs) Side(tag *Tag) (Side, bool) {
	for _, s := range o.Sides {
		if s.Tag == tag {
			return s, true
		}
	}
	return Side{}, false
}
