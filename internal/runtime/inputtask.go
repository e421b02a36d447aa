package runtime

import (
	"context"
	"time"

	"github.com/weirstream/weir/codec"
)

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

	loop          taskLoop
	capture       capture[T]
	lastUnaligned int64

	_ Pad // apart from the next subtask's
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

// Run processes input until every input ended, ctx is done, or an operator
// fails.
//
// Each turn of the loop calls the tickers that are due, drains the head,
// serves the coordinator's commands and the unaligned barriers that
// overtook the data, and then handles one element of input; when there is
// none it flushes the outputs and waits.
func (t *InputTask[T]) Run(ctx context.Context) error {
	t.loop = taskLoop{clock: t.Clock, tickers: t.Tickers, outputs: t.Outputs, metrics: t.Metrics, cp: t.Checkpointing}
	l := &t.loop
	l.start()
	defer l.stop()
	if err := t.replay(); err != nil {
		return err
	}
	drainer, _ := t.Head.(Drainer)
	for {
		if err := l.tick(); err != nil {
			return err
		}
		if drainer != nil {
			if err := drainer.Drain(); err != nil {
				return err
			}
		}
		if err := l.commands(ctx); err != nil {
			return err
		}
		if err := t.priority(ctx); err != nil {
			return err
		}
		e, ok, err := t.next()
		if err != nil {
			return err
		}
		if !ok {
			if err := l.wait(ctx, time.Now(), wakeup{input: t.Gate.notify, commands: true}); err != nil {
				return err
			}
			continue
		}
		if err := t.observe(ctx, e); err != nil {
			return err
		}
		if ended, err := t.handle(ctx, e); ended || err != nil {
			return err
		}
	}
}

// replay processes the in-flight records of the restored unaligned
// checkpoint, before any input (invariant 7).
func (t *InputTask[T]) replay() error {
	for i := range t.Replay {
		if err := t.Head.Collect(&t.Replay[i]); err != nil {
			return err
		}
	}
	t.Replay = nil
	return nil
}

// next returns the next element of input. Before it reports that there is
// none it flushes the outputs, since the task is about to wait
// (invariant 1), and looks once more.
func (t *InputTask[T]) next() (element[T], bool, error) {
	if e, ok := t.Gate.poll(); ok {
		return e, true, nil
	}
	if err := t.loop.flush(); err != nil {
		return element[T]{}, false, err
	}
	e, ok := t.Gate.poll()
	return e, ok, nil
}

// handle passes one element to the step for its kind; ended says that
// every input has ended and the head has heard so.
func (t *InputTask[T]) handle(ctx context.Context, e element[T]) (ended bool, err error) {
	switch e.kind {
	case kindData:
		return false, t.onBatch(e.input, e.batch)
	case kindWatermark:
		return false, t.onWatermark(e.input, e.value)
	case kindBarrier:
		return false, t.onBarrier(ctx, e.input, e.value)
	case kindMarker:
		return false, t.onMarker(ctx, e.input, e.value)
	case kindLatency:
		return false, t.loop.latency(markerOf(e.value, e.origin))
	case kindEnd:
		return t.onEnd(ctx, e.input)
	}
	return false, nil
}

// onBatch passes a batch from input i to the head and recycles it. An
// input that was idle is active again: the combined watermark it may bring
// back goes first (invariant 4).
func (t *InputTask[T]) onBatch(i int, b *Batch[T]) error {
	if err := t.forward(t.Gate.tracker.Activate(i)); err != nil {
		return err
	}
	for i := range b.Records {
		if err := t.Head.Collect(&b.Records[i]); err != nil {
			return err
		}
	}
	t.Metrics.RecordsIn.Add(int64(len(b.Records)))
	t.Gate.recycle(i, b)
	return nil
}

// onWatermark records input i's watermark (or Idle) and forwards the
// combined one if it advanced (invariant 4).
func (t *InputTask[T]) onWatermark(i int, wm int64) error {
	return t.forward(t.Gate.tracker.Update(i, wm))
}

// forward passes a combined watermark to the head, if there is one.
func (t *InputTask[T]) forward(wm int64, ok bool) error {
	if !ok {
		return nil
	}
	setWatermark(&t.Metrics.inputWM, wm)
	return t.Head.Watermark(wm)
}

// onBarrier holds input i back at the barrier of aligned checkpoint id;
// once every input that has not ended delivered it, the task takes the
// checkpoint and its inputs flow again (invariant 6).
func (t *InputTask[T]) onBarrier(ctx context.Context, i int, id int64) error {
	g := t.Gate
	if !g.align.barrier(i, id, g.ended) {
		return nil
	}
	return t.loop.checkpoint(ctx, id, time.Since(g.align.first))
}

// onMarker starts unaligned checkpoint id from its marker on input i: the
// marker was read before its barrier was seen on the priority channel
// (invariant 7).
func (t *InputTask[T]) onMarker(ctx context.Context, i int, id int64) error {
	if t.Checkpointing == nil || t.Checkpointing.SnapshotUnaligned == nil {
		return nil
	}
	return t.beginUnaligned(ctx, id, i)
}

// onEnd marks input i ended. It no longer holds back the checkpoint being
// aligned (invariant 6) nor the watermark; after the last input the head
// hears the final watermark and the end (invariant 4).
func (t *InputTask[T]) onEnd(ctx context.Context, i int) (ended bool, err error) {
	g := t.Gate
	g.end(i)
	if id, ok := g.align.aligned(g.ended); ok {
		if err := t.loop.checkpoint(ctx, id, time.Since(g.align.first)); err != nil {
			return false, err
		}
	}
	wm, fwd := g.tracker.End(i)
	if g.tracker.AllEnded() {
		if err := t.Head.Watermark(EndOfTime); err != nil {
			return true, err
		}
		return true, t.Head.End()
	}
	return false, t.forward(wm, fwd)
}
