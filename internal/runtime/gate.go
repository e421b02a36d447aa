package runtime

import (
	"context"
	"time"
)

// Input is one channel a gate reads, with the exchange that owns its batches.
type Input[T any] struct {
	ch chan envelope[T]
	ex *Exchange[T]
}

// Gate reads the input channels of one subtask: data batches in the order
// each channel delivers them, watermarks combined across channels
// (invariant 4).
type Gate[T any] struct {
	inputs  []Input[T]
	notify  chan struct{}
	tracker *WatermarkTracker
	align   aligner
	cursor  int
}

// NewGate reads inputs; notify is the channel every sender into this
// subtask signals after a send.
func NewGate[T any](inputs []Input[T], notify chan struct{}) *Gate[T] {
	return &Gate[T]{inputs: inputs, notify: notify, tracker: NewWatermarkTracker(len(inputs)), align: newAligner(len(inputs))}
}

func (g *Gate[T]) ended(i int) bool { return g.inputs[i].ch == nil }

// poll returns the next envelope from any input without blocking.
func (g *Gate[T]) poll() (envelope[T], int, bool) {
	n := len(g.inputs)
	for k := 0; k < n; k++ {
		i := g.cursor + k
		if i >= n {
			i -= n
		}
		if g.inputs[i].ch == nil || g.align.blocked[i] {
			continue // ended, or waiting for the other inputs' barriers
		}
		select {
		case e := <-g.inputs[i].ch:
			// Stay on this input while it has data: fewer channel probes.
			g.cursor = i
			return e, i, true
		default:
		}
	}
	return envelope[T]{}, 0, false
}

// InputTask is the loop of a subtask that reads from a gate.
type InputTask[T any] struct {
	Gate    *Gate[T]
	Head    Collector[T] // the first operator of the chain
	Clock   *Clock
	Tickers []Ticker // operators that act on processing time
	Outputs []Output
	Metrics *Metrics
	// Checkpointing is nil when checkpoints are off.
	Checkpointing *Checkpointing
}

// Flusher is implemented by the writers at the end of a chain: the task
// flushes them before it waits for input, so that nothing sits in a partial
// batch while the subtask is idle.
type Flusher interface {
	Flush() error
}

// Run processes input until every input ended, ctx is done, or an operator
// fails.
func (t *InputTask[T]) Run(ctx context.Context) error {
	g := t.Gate
	t.Metrics.started.Store(time.Now().UnixNano())
	defer func() { t.Metrics.finished.Store(time.Now().UnixNano()) }()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if err := t.Clock.fire(t.Tickers); err != nil {
			return err
		}
		if err := t.commands(ctx); err != nil {
			return err
		}
		e, i, ok := g.poll()
		if !ok {
			for _, w := range t.Outputs {
				if err := w.Flush(); err != nil {
					return err
				}
			}
			if e, i, ok = g.poll(); !ok {
				if err := t.wait(ctx, timer); err != nil {
					return err
				}
				continue
			}
		}
		switch e.kind {
		case kindData:
			if wm, fwd := g.tracker.Activate(i); fwd {
				if err := t.Head.Watermark(wm); err != nil {
					return err
				}
			}
			for _, r := range e.batch.Records {
				if err := t.Head.Collect(r); err != nil {
					return err
				}
			}
			t.Metrics.RecordsIn.Add(int64(len(e.batch.Records)))
			g.inputs[i].ex.putBatch(e.batch)
		case kindWatermark:
			if wm, fwd := g.tracker.Update(i, e.value); fwd {
				if err := t.Head.Watermark(wm); err != nil {
					return err
				}
			}
		case kindBarrier:
			if g.align.barrier(i, e.value, g.ended) {
				if err := checkpoint(ctx, t.Checkpointing, t.Outputs, e.value, time.Since(g.align.first)); err != nil {
					return err
				}
			}
		case kindEnd:
			g.inputs[i].ch = nil
			if id, ok := g.align.aligned(g.ended); ok {
				if err := checkpoint(ctx, t.Checkpointing, t.Outputs, id, time.Since(g.align.first)); err != nil {
					return err
				}
			}
			wm, fwd := g.tracker.End(i)
			if g.tracker.AllEnded() {
				if err := t.Head.Watermark(EndOfTime); err != nil {
					return err
				}
				return t.Head.End()
			}
			if fwd {
				if err := t.Head.Watermark(wm); err != nil {
					return err
				}
			}
		}
	}
}

// commands handles the coordinator's completions and aborts without
// waiting.
func (t *InputTask[T]) commands(ctx context.Context) error {
	if t.Checkpointing == nil {
		return nil
	}
	for {
		select {
		case c := <-t.Checkpointing.Commands:
			if err := t.Checkpointing.Notify(ctx, c); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// checkpoint snapshots the chain and sends the barrier on.
func checkpoint(ctx context.Context, c *Checkpointing, outputs []Output, id int64, alignment time.Duration) error {
	if c == nil {
		return nil // checkpoints are off: nobody sends barriers
	}
	if err := c.Snapshot(ctx, id, alignment); err != nil {
		return err
	}
	for _, o := range outputs {
		if err := o.Barrier(id); err != nil {
			return err
		}
	}
	return nil
}

// wait blocks until an input signals, a timer is due, a command arrives,
// or ctx is done, and accounts the time as idle.
func (t *InputTask[T]) wait(ctx context.Context, timer *time.Timer) error {
	start := time.Now()
	t.Metrics.beginIdle(start)
	defer t.Metrics.endIdle(start)
	var commands <-chan Command
	if t.Checkpointing != nil {
		commands = t.Checkpointing.Commands
	}
	var due <-chan time.Time
	if next := t.Clock.next; next != NoWakeup {
		timer.Reset(time.Duration(next-start.UnixMilli()) * time.Millisecond)
		defer timer.Stop()
		due = timer.C
	}
	select {
	case <-t.Gate.notify:
	case <-due:
	case c := <-commands:
		return t.Checkpointing.Notify(ctx, c)
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
