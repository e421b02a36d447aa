package runtime

import (
	"context"
	"fmt"
	"sync"
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
}

// Run reads until the reader reports EndOfInput, ctx is done, or an
// operator fails.
func (t *SourceTask[T]) Run(ctx context.Context) (err error) {
	t.Metrics.started.Store(time.Now().UnixNano())
	defer func() { t.Metrics.finished.Store(time.Now().UnixNano()) }()
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
		for _, m := range t.Mailbox.take() {
			switch {
			case m.checkpoint != 0:
				// The enumerator snapshotted before every assignment that
				// follows this marker: the reader's state at this point and
				// the enumerator's hold each split exactly once.
				if err := checkpoint(ctx, t.Checkpointing, t.Outputs, m.checkpoint, 0); err != nil {
					return err
				}
			case m.noMore:
				t.Reader.NoMoreSplits()
			default:
				t.Reader.AddSplits(m.splits)
			}
		}
		if err := t.Clock.fire(t.Tickers); err != nil {
			return err
		}
		if err := t.commands(ctx); err != nil {
			return err
		}
		start := time.Now()
		if t.Paused != nil && t.Paused() {
			for _, w := range t.Outputs {
				if err := w.Flush(); err != nil {
					return err
				}
			}
			t.Metrics.beginIdle(start)
			err := t.pause(ctx, idlePause)
			t.Metrics.endIdle(start)
			if err != nil {
				return err
			}
			continue
		}
		status, err := t.Reader.Poll(ctx, out)
		if err != nil {
			return err
		}
		if out.err != nil {
			return out.err
		}
		t.Metrics.RecordsIn.Add(out.n)
		if out.n == 0 && status == source.NothingAvailable {
			for _, w := range t.Outputs {
				if err := w.Flush(); err != nil {
					return err
				}
			}
			// A reader that answers at once must not make the loop spin:
			// wait a little, or less if a timer is due sooner.
			t.Metrics.beginIdle(start)
			if err := t.pause(ctx, idlePause); err != nil {
				t.Metrics.endIdle(start)
				return err
			}
			t.Metrics.endIdle(start)
		}
		out.n = 0
		if status == source.EndOfInput {
			if err := t.Head.Watermark(EndOfTime); err != nil {
				return err
			}
			return t.Head.End()
		}
	}
}

// idlePause is the longest a source task waits after its reader had
// nothing: short enough for fresh data to go out promptly.
const idlePause = 5 * time.Millisecond

// pause waits up to d, less if a processing-time wake-up is due sooner, and
// returns early when a command arrives (it is handled by the next loop).
func (t *SourceTask[T]) pause(ctx context.Context, d time.Duration) error {
	if next := t.Clock.next; next != NoWakeup {
		if until := time.Duration(next-time.Now().UnixMilli()) * time.Millisecond; until < d {
			d = until
		}
	}
	if d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}

// commands serves the coordinator: a trigger snapshots the reader and the
// chain and emits the barrier; completions and aborts go to the operators.
func (t *SourceTask[T]) commands(ctx context.Context) error {
	if t.Checkpointing == nil {
		return nil
	}
	for {
		select {
		case c := <-t.Checkpointing.Commands:
			if c.Kind == Trigger {
				if err := checkpoint(ctx, t.Checkpointing, t.Outputs, c.ID, 0); err != nil {
					return err
				}
				continue
			}
			if err := t.Checkpointing.Notify(ctx, c); err != nil {
				return err
			}
		default:
			return nil
		}
	}
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
}

func (o *sourceOutput[T]) Collect(v T) { o.CollectAt(v, NoTimestamp) }

func (o *sourceOutput[T]) CollectAt(v T, ts int64) {
	if o.err != nil {
		return
	}
	o.n++
	o.err = o.head.Collect(Record[T]{Value: v, Time: ts})
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
}

func (o *splitOutput[T]) Collect(v T) { o.CollectAt(v, NoTimestamp) }

func (o *splitOutput[T]) CollectAt(v T, ts int64) {
	p := o.parent
	if p.err != nil {
		return
	}
	p.n++
	p.err = o.head.Collect(Record[T]{Value: v, Time: ts})
}

func (o *splitOutput[T]) EmitWatermark(wm int64)         { o.parent.EmitWatermark(wm) }
func (o *splitOutput[T]) DeadLetter(d source.DeadLetter) { o.parent.DeadLetter(d) }

// SplitMailbox carries split assignments and checkpoint markers from the
// enumerator to one reader, in order. Its size is bounded by the number of
// splits the source has and the checkpoints in flight (one).
type SplitMailbox struct {
	mu    sync.Mutex
	items []mailItem
}

type mailItem struct {
	splits     []source.Split
	noMore     bool
	checkpoint int64 // a checkpoint marker
}

// Assign queues splits for the reader.
func (m *SplitMailbox) Assign(splits ...source.Split) { m.put(mailItem{splits: splits}) }

// NoMoreSplits queues the notice that no split follows.
func (m *SplitMailbox) NoMoreSplits() { m.put(mailItem{noMore: true}) }

func (m *SplitMailbox) put(it mailItem) {
	m.mu.Lock()
	m.items = append(m.items, it)
	m.mu.Unlock()
}

func (m *SplitMailbox) take() []mailItem {
	m.mu.Lock()
	defer m.mu.Unlock()
	items := m.items
	m.items = nil
	return items
}

// Enumeration drives a source's enumerator from one goroutine and routes
// the readers' split requests to it (source invariant 1).
type Enumeration struct {
	enum        source.Enumerator
	parallelism int
	mailboxes   []*SplitMailbox
	requests    chan int
	triggers    chan int64
	// OnSnapshot receives the enumerator's snapshot of each checkpoint.
	OnSnapshot func(id int64, unassigned []source.Split, err error)
	restored   []source.Split
	isRestore  bool
	// Checkpointing is what readers' contexts report: whether the job
	// takes checkpoints.
	Checkpointing bool
	// Commands carries the coordinator's completions and aborts. Run takes
	// every one, so that the coordinator never blocks on the enumerator,
	// and tells an enumerator that implements source.CheckpointListener.
	Commands <-chan Command
}

// NewEnumeration prepares mailboxes for parallelism readers.
func NewEnumeration(parallelism int) *Enumeration {
	e := &Enumeration{parallelism: parallelism, requests: make(chan int, 4*parallelism), triggers: make(chan int64, 1)}
	for range parallelism {
		e.mailboxes = append(e.mailboxes, &SplitMailbox{})
	}
	return e
}

// SetEnumerator sets the enumerator the loop drives.
func (e *Enumeration) SetEnumerator(en source.Enumerator) { e.enum = en }

// Restore makes the enumerator's context report the splits that were
// unassigned at the restored checkpoint (source.RestoringContext).
func (e *Enumeration) Restore(unassigned []source.Split) {
	e.restored, e.isRestore = unassigned, true
}

// Restored implements source.RestoringContext.
func (e *Enumeration) Restored() ([]source.Split, bool) { return e.restored, e.isRestore }

// Trigger starts checkpoint id at this source: the enumerator's goroutine
// snapshots the enumerator and then puts a marker in every reader's
// mailbox. It blocks only if a trigger is already waiting.
func (e *Enumeration) Trigger(ctx context.Context, id int64) {
	select {
	case e.triggers <- id:
	case <-ctx.Done():
	}
}

// Mailbox returns the mailbox of subtask's reader.
func (e *Enumeration) Mailbox(subtask int) *SplitMailbox { return e.mailboxes[subtask] }

// Parallelism implements source.EnumeratorContext.
func (e *Enumeration) Parallelism() int { return e.parallelism }

// Assign implements source.EnumeratorContext.
func (e *Enumeration) Assign(subtask int, splits ...source.Split) {
	e.mailboxes[subtask].Assign(splits...)
}

// NoMoreSplits implements source.EnumeratorContext.
func (e *Enumeration) NoMoreSplits(subtask int) { e.mailboxes[subtask].NoMoreSplits() }

// ReaderContext returns the context handed to subtask's reader.
func (e *Enumeration) ReaderContext(ctx context.Context, subtask int) source.ReaderContext {
	return readerContext{e: e, ctx: ctx, subtask: subtask}
}

// Run starts the enumerator and serves split requests until ctx is done.
// It closes the enumerator before it returns.
func (e *Enumeration) Run(ctx context.Context) (err error) {
	defer func() {
		if cerr := e.enum.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if err := e.enum.Start(ctx); err != nil {
		return err
	}
	for {
		select {
		case s := <-e.requests:
			e.enum.HandleSplitRequest(s)
		case id := <-e.triggers:
			var splits []source.Split
			var err error
			if se, ok := e.enum.(source.SnapshottingEnumerator); ok {
				splits, err = se.Snapshot()
			} else {
				err = fmt.Errorf("the enumerator (%T) cannot be checkpointed: it does not implement source.SnapshottingEnumerator", e.enum)
			}
			if e.OnSnapshot != nil {
				e.OnSnapshot(id, splits, err)
			}
			for _, m := range e.mailboxes {
				m.put(mailItem{checkpoint: id})
			}
		case c := <-e.Commands:
			if l, ok := e.enum.(source.CheckpointListener); ok && c.Kind == Complete {
				if err := l.NotifyCheckpointComplete(ctx, c.ID); err != nil {
					return fmt.Errorf("the enumerator failed after checkpoint %d completed: %w", c.ID, err)
				}
			}
		case <-ctx.Done():
			return nil
		}
	}
}

type readerContext struct {
	e       *Enumeration
	ctx     context.Context
	subtask int
}

func (r readerContext) Subtask() int        { return r.subtask }
func (r readerContext) Parallelism() int    { return r.e.parallelism }
func (r readerContext) Checkpointing() bool { return r.e.Checkpointing }
func (r readerContext) RequestSplit() {
	select {
	case r.e.requests <- r.subtask:
	case <-r.ctx.Done():
	}
}
