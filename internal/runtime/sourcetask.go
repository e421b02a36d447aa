package runtime

import (
	"context"
	"time"

	"github.com/weirstream/weir/source"
)

// SourceTask is the loop of a subtask that reads a source: it polls the
// reader, hands it the splits the enumerator assigns, and serves the chain's
// timers in between.
type SourceTask[T any] struct {
	Reader  source.Reader[T]
	Mailbox *SplitMailbox
	Head    Collector[T]
	Clock   *Clock
	Tickers []Ticker
	Outputs []Output
	Metrics *Metrics
	// Checkpointing is nil when checkpoints are off.
	Checkpointing *Checkpointing
	// Paused, when set, is asked before every Poll: while it says true the
	// reader is not polled (watermark alignment holds a source that runs
	// ahead of its group), but timers and commands are still served.
	Paused func() bool

	loop taskLoop
}

// Run reads until the reader reports EndOfInput, ctx is done, or an
// operator fails. It closes the reader before it returns.
//
// Each turn of the loop hands the reader what its mailbox holds, calls
// the tickers that are due, serves the coordinator's commands, and polls
// the reader once (unless Paused); when the reader had nothing the task
// flushes its outputs and pauses.
func (t *SourceTask[T]) Run(ctx context.Context) (err error) {
	t.loop = taskLoop{clock: t.Clock, tickers: t.Tickers, outputs: t.Outputs, metrics: t.Metrics,
		cp: t.Checkpointing, triggers: true}
	l := &t.loop
	l.start()
	defer l.stop()
	if p, ok := t.Reader.(source.ProgressReporter); ok {
		t.Metrics.progress.Store(&p)
	}
	defer func() {
		if cerr := t.Reader.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if err := t.Reader.Start(ctx); err != nil {
		return err
	}
	out := &sourceOutput[T]{head: t.Head, metrics: t.Metrics}
	if sh, ok := t.Head.(SplitHead[T]); ok {
		out.splitHead = sh
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := t.mail(ctx); err != nil {
			return err
		}
		if err := l.tick(); err != nil {
			return err
		}
		if err := l.commands(ctx); err != nil {
			return err
		}
		// A poll that finds nothing counts as idle time, with the pause
		// that follows it.
		start := time.Now()
		if t.Paused != nil && t.Paused() {
			if err := t.idle(ctx, start); err != nil {
				return err
			}
			continue
		}
		if ended, err := t.poll(ctx, out, start); ended || err != nil {
			return err
		}
	}
}

// mail hands the reader the splits the enumerator assigned, in order, and
// takes each checkpoint whose marker lies among them (invariant 6).
func (t *SourceTask[T]) mail(ctx context.Context) error {
	for _, m := range t.Mailbox.take() {
		switch {
		case m.checkpoint != 0:
			// The enumerator snapshotted before every assignment that
			// follows this marker: the reader's state at this point and
			// the enumerator's hold each split exactly once.
			if err := t.loop.checkpoint(ctx, m.checkpoint, 0); err != nil {
				return err
			}
		case m.noMore:
			t.Reader.NoMoreSplits()
		default:
			t.Reader.AddSplits(m.splits)
		}
	}
	return nil
}

// poll has the reader emit what it has now. When it had nothing the task
// idles; at the reader's end of input the head hears the final watermark
// and the end, and ended is true.
func (t *SourceTask[T]) poll(ctx context.Context, out *sourceOutput[T], start time.Time) (ended bool, err error) {
	status, err := t.Reader.Poll(ctx, out)
	if err != nil {
		return false, err
	}
	if out.err != nil {
		return false, out.err
	}
	t.Metrics.RecordsIn.Add(out.n)
	if out.n == 0 && status == source.NothingAvailable {
		if err := t.idle(ctx, start); err != nil {
			return false, err
		}
	}
	out.n = 0
	if status != source.EndOfInput {
		return false, nil
	}
	if err := t.Head.Watermark(EndOfTime); err != nil {
		return true, err
	}
	return true, t.Head.End()
}

// idlePause is the longest a source task waits after its reader had
// nothing: short enough for fresh data to go out promptly.
const idlePause = 5 * time.Millisecond

// idle flushes the outputs (invariant 1) and pauses: a reader that answers
// at once must not make the loop spin. The pause lasts idlePause, less if
// a processing-time wake-up is due sooner. A command does not end it: the
// next turn serves it, at most idlePause later. The time from since counts
// as idle (invariant 3); since is taken before the poll, so that a poll
// that found nothing is idle time too.
func (t *SourceTask[T]) idle(ctx context.Context, since time.Time) error {
	if err := t.loop.flush(); err != nil {
		return err
	}
	return t.loop.wait(ctx, since, wakeup{limit: idlePause})
}

// SplitHead is implemented by the head of a source's chain that keeps
// splits apart (one watermark generator per split) and routes the records
// a reader could not decode.
type SplitHead[T any] interface {
	// Split returns the collector for the records of one split.
	Split(id string) Collector[T]
	// ReleaseSplit says the split is finished or gone.
	ReleaseSplit(id string)
	// DeadLetter takes a record the reader could not decode.
	DeadLetter(d source.DeadLetter) error
}

// sourceOutput adapts the chain's head to source.Output, whose methods
// return no error: the first error is kept and checked after each Poll.
type sourceOutput[T any] struct {
	head      Collector[T]
	splitHead SplitHead[T] // nil when the head does not keep splits apart
	metrics   *Metrics
	splits    map[string]*splitOutput[T]
	err       error
	n         int64
	rec       Record[T] // lent to the head, for each record in turn

	_ Pad // apart from the next subtask's
}

func (o *sourceOutput[T]) Collect(v T) { o.CollectAt(v, NoTimestamp) }

func (o *sourceOutput[T]) CollectAt(v T, ts int64) {
	if o.err != nil {
		return
	}
	o.n++
	o.rec = Record[T]{Value: v, Time: ts}
	o.err = o.head.Collect(&o.rec)
}

func (o *sourceOutput[T]) EmitWatermark(wm int64) {
	if o.err != nil {
		return
	}
	o.err = o.head.Watermark(wm)
}

// ForSplit implements source.SplitOutputs.
func (o *sourceOutput[T]) ForSplit(id string) source.Output[T] {
	if o.splitHead == nil {
		return o
	}
	if so, ok := o.splits[id]; ok {
		return so
	}
	if o.splits == nil {
		o.splits = make(map[string]*splitOutput[T])
	}
	so := &splitOutput[T]{parent: o, head: o.splitHead.Split(id)}
	o.splits[id] = so
	return so
}

// ReleaseSplit implements source.SplitOutputs.
func (o *sourceOutput[T]) ReleaseSplit(id string) {
	if o.splitHead == nil {
		return
	}
	delete(o.splits, id)
	o.splitHead.ReleaseSplit(id)
}

// DeadLetter implements source.DeadLetterOutput: the record is counted
// and handed to the head, which sends it on when the job reads the
// source's dead letters.
func (o *sourceOutput[T]) DeadLetter(d source.DeadLetter) {
	o.metrics.DeadLetters.Add(1)
	if o.err != nil || o.splitHead == nil {
		return
	}
	o.err = o.splitHead.DeadLetter(d)
}

// splitOutput is the output of one split; it shares its parent's error
// and count.
type splitOutput[T any] struct {
	parent *sourceOutput[T]
	head   Collector[T]
	rec    Record[T] // lent to the head, for each record in turn

	_ Pad // apart from the next subtask's
}

func (o *splitOutput[T]) Collect(v T) { o.CollectAt(v, NoTimestamp) }

func (o *splitOutput[T]) CollectAt(v T, ts int64) {
	p := o.parent
	if p.err != nil {
		return
	}
	p.n++
	o.rec = Record[T]{Value: v, Time: ts}
	p.err = o.head.Collect(&o.rec)
}

func (o *splitOutput[T]) EmitWatermark(wm int64)         { o.parent.EmitWatermark(wm) }
func (o *splitOutput[T]) DeadLetter(d source.DeadLetter) { o.parent.DeadLetter(d) }
