package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/weirstream/weir/source"
)

// Enumeration drives a source's enumerator from one goroutine and routes
// the readers' split requests to it (source invariant 1).
//
// In a cluster the enumerator runs in the coordinator's process: the
// mailboxes of readers in other processes are proxies (SetMailbox) and
// their split requests arrive through Request. There, a reader's process
// has an Enumeration without an enumerator that is never run: its
// mailboxes take what the coordinator sends, and its readers' requests go
// to RequestSplit.
type Enumeration struct {
	enum        source.Enumerator
	parallelism int
	local       []*SplitMailbox // of readers in this process
	mailboxes   []Mailbox       // of every reader
	requests    chan int
	// RequestSplit, when set, takes the split requests of this process's
	// readers instead of the enumerator here: a reader's process in a
	// cluster sends them to the coordinator.
	RequestSplit func(subtask int)
	triggers     chan int64
	// Log is the logger of the enumerator's lines; Logger returns it.
	Log *slog.Logger
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
		m := &SplitMailbox{}
		e.local = append(e.local, m)
		e.mailboxes = append(e.mailboxes, m)
	}
	return e
}

// Mailbox carries split assignments and checkpoint markers from the
// enumerator to one reader, in order: *SplitMailbox in this process, a
// proxy to another's in a cluster. Its methods are called from the
// enumeration's goroutine only.
type Mailbox interface {
	Assign(splits ...source.Split)
	NoMoreSplits()
	// Marker puts the marker of checkpoint id behind what came before.
	Marker(id int64)
}

// SetMailbox makes m the mailbox of reader subtask, which runs in
// another process. Call it before Run.
func (e *Enumeration) SetMailbox(subtask int, m Mailbox) { e.mailboxes[subtask] = m }

// Request passes a split request of reader subtask to the enumerator; a
// cluster's coordinator calls it for readers in other processes.
func (e *Enumeration) Request(ctx context.Context, subtask int) {
	select {
	case e.requests <- subtask:
	case <-ctx.Done():
	}
}

// Logger is the enumerator's logger (see source.LoggerOf); the builder
// sets it. nil means slog.Default().
func (e *Enumeration) Logger() *slog.Logger {
	if e.Log == nil {
		return slog.Default()
	}
	return e.Log
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

// Mailbox returns the mailbox of reader subtask in this process.
func (e *Enumeration) Mailbox(subtask int) *SplitMailbox { return e.local[subtask] }

// Parallelism implements source.EnumeratorContext.
func (e *Enumeration) Parallelism() int { return e.parallelism }

// Assign implements source.EnumeratorContext.
func (e *Enumeration) Assign(subtask int, splits ...source.Split) {
	e.mailboxes[subtask].Assign(splits...)
}

// NoMoreSplits implements source.EnumeratorContext.
func (e *Enumeration) NoMoreSplits(subtask int) { e.mailboxes[subtask].NoMoreSplits() }

// ReaderContext returns the context handed to subtask's reader; log is
// the subtask's logger, which connectors log through (source.LoggerOf).
func (e *Enumeration) ReaderContext(ctx context.Context, subtask int, log *slog.Logger) source.ReaderContext {
	return readerContext{e: e, ctx: ctx, subtask: subtask, log: log}
}

// Close closes the enumerator of an enumeration that will not run: the
// job failed to start.
func (e *Enumeration) Close() error {
	if e.enum == nil {
		return nil
	}
	return e.enum.Close()
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
				m.Marker(id)
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
	log     *slog.Logger
}

// Logger is the subtask's logger (source.LoggerOf).
func (r readerContext) Logger() *slog.Logger { return r.log }
func (r readerContext) Subtask() int         { return r.subtask }
func (r readerContext) Parallelism() int     { return r.e.parallelism }
func (r readerContext) Checkpointing() bool  { return r.e.Checkpointing }
func (r readerContext) RequestSplit() {
	if r.e.RequestSplit != nil {
		r.e.RequestSplit(r.subtask)
		return
	}
	select {
	case r.e.requests <- r.subtask:
	case <-r.ctx.Done():
	}
}

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

// Marker queues the marker of checkpoint id: the reader snapshots when it
// reaches it.
func (m *SplitMailbox) Marker(id int64) { m.put(mailItem{checkpoint: id}) }

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
