package runtime

import (
	"context"
	"time"

	"github.com/weirstream/weir/codec"
)

// Input is one channel a gate reads, with the exchange that owns its batches.
type Input[T any] struct {
	ch   chan envelope[T]
	prio chan int64 // unaligned barriers
	ex   *Exchange[T]
}

// Gate reads the input channels of one subtask: data batches in the order
// each channel delivers them, watermarks combined across channels
// (invariant 4).
type Gate[T any] struct {
	inputs  []Input[T]
	queued  [][]envelope[T] // per input: read ahead by an unaligned checkpoint
	notify  chan struct{}
	tracker *WatermarkTracker
	align   aligner
	cursor  int
}

// NewGate reads inputs; notify is the channel every sender into this
// subtask signals after a send.
func NewGate[T any](inputs []Input[T], notify chan struct{}) *Gate[T] {
	return &Gate[T]{inputs: inputs, queued: make([][]envelope[T], len(inputs)), notify: notify,
		tracker: NewWatermarkTracker(len(inputs)), align: newAligner(len(inputs))}
}

func (g *Gate[T]) ended(i int) bool { return g.inputs[i].ch == nil }

// pollFrom returns the next envelope from any input without blocking:
// first what an unaligned checkpoint read ahead (queued true), then the
// channels.
func (g *Gate[T]) pollFrom() (e envelope[T], input int, ok, queued bool) {
	n := len(g.inputs)
	for k := 0; k < n; k++ {
		i := g.cursor + k
		if i >= n {
			i -= n
		}
		if q := g.queued[i]; len(q) > 0 {
			e := q[0]
			q[0] = envelope[T]{}
			g.queued[i] = q[1:]
			g.cursor = i
			return e, i, true, true
		}
		if g.inputs[i].ch == nil || g.align.blocked[i] {
			continue // ended, or waiting for the other inputs' barriers
		}
		select {
		case e := <-g.inputs[i].ch:
			// Stay on this input while it has data: fewer channel probes.
			g.cursor = i
			return e, i, true, false
		default:
		}
	}
	return envelope[T]{}, 0, false, false
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
	// Codec encodes in-flight records for unaligned checkpoints; Replay
	// holds those of the restored checkpoint, processed before any input.
	Codec  codec.Codec[T]
	Replay []Record[T]

	capture       capture[T]
	lastUnaligned int64
}

// Drainer is implemented by an operator at the head of an input task whose
// work finishes on other goroutines (AsyncWait). The task calls Drain on its
// own goroutine at every turn of its loop, before it reads input, and the
// operator emits there whatever finished. Drain must not wait for work in
// flight (emitting may wait for downstream, like any Collect). To wake a
// task that waits for input, the operator signals the gate's notify channel
// (without blocking) after each piece of work it finished.
type Drainer interface {
	Drain() error
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
	for _, r := range t.Replay {
		if err := t.Head.Collect(r); err != nil {
			return err
		}
	}
	t.Replay = nil
	drainer, _ := t.Head.(Drainer)
	for {
		if err := t.Clock.fire(t.Tickers); err != nil {
			return err
		}
		if drainer != nil {
			if err := drainer.Drain(); err != nil {
				return err
			}
		}
		if err := t.commands(ctx); err != nil {
			return err
		}
		if err := t.priority(ctx); err != nil {
			return err
		}
		e, i, ok, queued := g.pollFrom()
		if !ok {
			for _, w := range t.Outputs {
				if err := w.Flush(); err != nil {
					return err
				}
			}
			if e, i, ok, queued = g.pollFrom(); !ok {
				if err := t.wait(ctx, timer); err != nil {
					return err
				}
				continue
			}
		}
		if c := &t.capture; c.id != 0 && !queued && !c.marked[i] {
			// Read straight from the channel while capturing: in flight too.
			switch {
			case e.kind == kindData:
				c.records[i] = append(c.records[i], e.batch.Records...)
			case e.kind == kindMarker && e.value == c.id, e.kind == kindEnd:
				c.marked[i] = true
			}
			if err := t.drain(ctx); err != nil {
				return err
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
		case kindMarker:
			// Read before its barrier was seen on the priority channel.
			if t.Checkpointing != nil && t.Checkpointing.SnapshotUnaligned != nil {
				if err := t.beginUnaligned(ctx, e.value, i); err != nil {
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

// priority serves unaligned checkpoints: barriers that overtook the data,
// and the capture of the in-flight records.
func (t *InputTask[T]) priority(ctx context.Context) error {
	if t.Checkpointing == nil || t.Checkpointing.SnapshotUnaligned == nil {
		return nil
	}
	for _, in := range t.Gate.inputs {
		select {
		case id := <-in.prio:
			if err := t.beginUnaligned(ctx, id, -1); err != nil {
				return err
			}
		default:
		}
	}
	return t.drain(ctx)
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

// checkpoint snapshots the chain and sends the barrier on: in-band, or
// ahead of the data for an unaligned checkpoint.
func checkpoint(ctx context.Context, c *Checkpointing, outputs []Output, id int64, alignment time.Duration) error {
	if c == nil {
		return nil // checkpoints are off: nobody sends barriers
	}
	if err := c.Snapshot(ctx, id, alignment); err != nil {
		return err
	}
	unaligned := c.unaligned(id)
	for _, o := range outputs {
		send := o.Barrier
		if unaligned {
			send = o.UnalignedBarrier
		}
		if err := send(id); err != nil {
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
