package hybrid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/weirstream/weir/source"
)

// enumerator drives the enumerator of the current source and switches to
// the next when every reader has finished (see the package doc).
//
// Its SPI methods run on the enumerator goroutine; the current source's
// enumerator may call its context from any goroutine, so the state those
// calls touch is guarded by mu. mu is never held while calling into the
// current source's enumerator.
type enumerator[T any] struct {
	hs  *Source[T]
	ctx source.EnumeratorContext
	log *slog.Logger    // the runtime's, for the enumerator (source.LoggerOf)
	run context.Context // from Start: the enumerators of later sources start with it

	mu struct {
		sync.Mutex
		cur   int              // index of the current source
		src   source.Source[T] // the current source
		prev  *End             // where source cur-1 ended; nil for source 0
		enum  source.Enumerator
		subs  []subtask
		done  int // subtasks that finished the current source
		inReq int // the subtask whose request the current enumerator is handling, or -1
		err   error
		// closed is set by Close; calls that come after are ignored.
		closed bool
	}
}

// subtask is the enumerator's view of one reader during one source.
type subtask struct {
	requests int // requests seen
	finishAt int // the request that means "finished"; 0 before the end notice
	finished bool
}

func newEnumerator[T any](hs *Source[T], ctx source.EnumeratorContext) (*enumerator[T], error) {
	e := &enumerator[T]{hs: hs, ctx: ctx, log: source.LoggerOf(ctx, slog.Default())}
	cur, prev := 0, (*End)(nil)
	var restored []source.Split
	isRestore := false
	if rc, ok := ctx.(source.RestoringContext); ok {
		splits, ok := rc.Restored()
		if ok {
			isRestore = true
			found := false
			for _, sp := range splits {
				if st, ok := sp.(*stateSplit); ok {
					cur, prev, found = st.source, st.prev, true
				}
			}
			if !found {
				return nil, errors.New("hybrid: the restored checkpoint holds no state of a hybrid enumerator; was the job's source replaced? start the job without that checkpoint")
			}
			restored = splits
		}
	}
	var prevEnd End
	if prev != nil {
		prevEnd = *prev
	}
	src, err := hs.sourceAt(cur, prevEnd)
	if err != nil {
		return nil, err
	}
	var inner []source.Split
	for _, sp := range restored {
		hsp, ok := sp.(*split)
		if !ok || hsp.source != cur {
			continue // the state, or a finished source's split
		}
		in, err := hsp.resolve(src)
		if err != nil {
			return nil, err
		}
		inner = append(inner, in)
	}
	e.mu.inReq = -1
	e.mu.cur = -1
	enum, err := e.newSourceEnumerator(cur, src, isRestore, inner)
	if err != nil {
		return nil, err
	}
	e.installLocked(cur, src, prev, enum) // e is not shared yet
	return e, nil
}

// newSourceEnumerator makes source i's enumerator. A restoring enumerator
// gets restored as its restored splits. It must be installed before it
// starts: until then its context ignores it.
func (e *enumerator[T]) newSourceEnumerator(i int, src source.Source[T], isRestore bool, restored []source.Split) (source.Enumerator, error) {
	ic := &innerContext[T]{e: e, source: i}
	var ctx source.EnumeratorContext = ic
	if isRestore {
		ctx = &restoringContext[T]{innerContext: ic, restored: restored}
	}
	enum, err := src.NewEnumerator(ctx)
	if err != nil {
		return nil, fmt.Errorf("hybrid: create the enumerator of source %d (%T): %w", i, src, err)
	}
	return enum, nil
}

// installLocked makes source i current and forgets what the readers did
// with the one before.
func (e *enumerator[T]) installLocked(i int, src source.Source[T], prev *End, enum source.Enumerator) {
	e.mu.cur, e.mu.src, e.mu.prev, e.mu.enum = i, src, prev, enum
	e.mu.subs = make([]subtask, e.ctx.Parallelism())
	e.mu.done = 0
}

func (e *enumerator[T]) last() bool { return e.mu.cur == e.hs.Len()-1 }

// activateLocked tells every reader to start a reader of the current
// source.
func (e *enumerator[T]) activateLocked() {
	for s := range e.mu.subs {
		e.ctx.Assign(s, &control[T]{kind: activate, source: e.mu.cur, src: e.mu.src, last: e.last()})
	}
}

// Start tells the readers which source is current and starts its
// enumerator.
func (e *enumerator[T]) Start(ctx context.Context) error {
	e.run = ctx
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		return source.ErrClosed
	}
	e.activateLocked()
	enum := e.mu.enum
	cur := e.mu.cur
	e.mu.Unlock()
	if err := enum.Start(ctx); err != nil {
		return fmt.Errorf("hybrid: start the enumerator of source %d: %w", cur, err)
	}
	return nil
}

// HandleSplitRequest counts the request. Before the end notice it goes
// to the current source's enumerator; after it, the request numbered as
// the notice said means the reader has finished. Every request is
// acknowledged.
func (e *enumerator[T]) HandleSplitRequest(subtask int) {
	e.mu.Lock()
	if e.mu.closed || e.mu.err != nil || subtask < 0 || subtask >= len(e.mu.subs) {
		e.mu.Unlock()
		return
	}
	st := &e.mu.subs[subtask]
	st.requests++
	n, cur := st.requests, e.mu.cur
	if st.finishAt != 0 {
		if n == st.finishAt && !st.finished {
			st.finished = true
			e.mu.done++
		}
		e.ctx.Assign(subtask, &control[T]{kind: ack, source: cur, n: n})
		all := e.mu.done == len(e.mu.subs) && !e.last()
		e.mu.Unlock()
		if all {
			e.switchNext()
		}
		return
	}
	e.mu.inReq = subtask
	enum := e.mu.enum
	e.mu.Unlock()

	enum.HandleSplitRequest(subtask)

	e.mu.Lock()
	e.mu.inReq = -1
	if !e.mu.closed && e.mu.cur == cur {
		e.ctx.Assign(subtask, &control[T]{kind: ack, source: cur, n: n})
	}
	e.mu.Unlock()
}

// switchNext ends the current source and starts the next.
func (e *enumerator[T]) switchNext() {
	e.mu.Lock()
	old, cur := e.mu.enum, e.mu.cur
	e.mu.Unlock()

	end := End{Source: cur}
	if r, ok := old.(EndReporter); ok {
		got, err := r.ReportEnd()
		if err != nil {
			e.fail(fmt.Errorf("hybrid: source %d finished but its enumerator could not report where it ended: %w", cur, err))
			return
		}
		end.Timestamp, end.Position = got.Timestamp, got.Position
	}
	if err := old.Close(); err != nil {
		e.log.Warn("hybrid: closing the enumerator of a finished source failed; going on with the next source", "source", cur, "err", err)
	}
	next := cur + 1
	src, err := e.hs.sourceAt(next, end)
	if err != nil {
		e.fail(err)
		return
	}
	enum, err := e.newSourceEnumerator(next, src, false, nil)
	if err != nil {
		e.fail(err)
		return
	}
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		enum.Close()
		return
	}
	e.installLocked(next, src, &end, enum)
	e.activateLocked()
	e.mu.Unlock()
	e.log.Info("hybrid: switched to the next source", "finished", cur, "source", next, "type", fmt.Sprintf("%T", src))
	ctx := e.run
	if ctx == nil {
		ctx = context.Background()
	}
	if err := enum.Start(ctx); err != nil {
		e.fail(fmt.Errorf("hybrid: start the enumerator of source %d: %w", next, err))
	}
}

// fail makes every reader fail the job with err: the SPI gives an
// enumerator no other way to.
func (e *enumerator[T]) fail(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mu.err != nil || e.mu.closed {
		return
	}
	e.mu.err = err
	e.log.Error("hybrid: the source fails", "err", err)
	for s := range e.mu.subs {
		e.ctx.Assign(s, &control[T]{kind: fail, source: e.mu.cur, err: err})
	}
}

// AddSplitsBack hands the current source's splits back to its
// enumerator; those of finished sources are dropped, as those sources are
// done.
func (e *enumerator[T]) AddSplitsBack(splits []source.Split, subtask int) {
	e.mu.Lock()
	cur, src, enum := e.mu.cur, e.mu.src, e.mu.enum
	e.mu.Unlock()
	var back []source.Split
	for _, sp := range splits {
		hsp, ok := sp.(*split)
		if !ok {
			continue // control and state splits are never given out
		}
		switch {
		case hsp.source < cur:
			continue
		case hsp.source > cur:
			e.fail(fmt.Errorf("hybrid: split %s of source %d came back while source %d is current; restore the checkpoint with the job that took it", hsp.SplitID(), hsp.source, cur))
			return
		}
		in, err := hsp.resolve(src)
		if err != nil {
			e.fail(err)
			return
		}
		back = append(back, in)
	}
	if len(back) > 0 {
		enum.AddSplitsBack(back, subtask)
	}
}

// Snapshot returns the state and the current source's unassigned splits
// (source.SnapshottingEnumerator).
func (e *enumerator[T]) Snapshot() ([]source.Split, error) {
	e.mu.Lock()
	cur, src, enum, prev := e.mu.cur, e.mu.src, e.mu.enum, e.mu.prev
	e.mu.Unlock()
	se, ok := enum.(source.SnapshottingEnumerator)
	if !ok {
		return nil, fmt.Errorf("hybrid: the enumerator of source %d (%T) cannot be checkpointed: it does not implement source.SnapshottingEnumerator", cur, enum)
	}
	inner, err := se.Snapshot()
	if err != nil {
		return nil, fmt.Errorf("hybrid: snapshot the enumerator of source %d: %w", cur, err)
	}
	codec, _ := src.(source.Checkpointed)
	var p *End
	if prev != nil {
		c := *prev
		p = &c
	}
	return append([]source.Split{&stateSplit{source: cur, prev: p}}, tag(cur, codec, inner)...), nil
}

// Close closes the current source's enumerator.
func (e *enumerator[T]) Close() error {
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		return nil
	}
	e.mu.closed = true
	enum := e.mu.enum
	e.mu.Unlock()
	return enum.Close()
}

// innerContext is the EnumeratorContext of one source's enumerator: it
// tags the splits it assigns and turns NoMoreSplits into the end notice.
// After the switch it ignores the finished enumerator.
type innerContext[T any] struct {
	e      *enumerator[T]
	source int
}

// Logger passes the runtime's enumerator logger on to the current source's
// enumerator (source.LoggerOf).
func (c *innerContext[T]) Logger() *slog.Logger { return c.e.log }

// Parallelism implements source.EnumeratorContext.
func (c *innerContext[T]) Parallelism() int { return c.e.ctx.Parallelism() }

// Assign implements source.EnumeratorContext.
func (c *innerContext[T]) Assign(subtask int, splits ...source.Split) {
	e := c.e
	e.mu.Lock()
	if e.mu.closed || e.mu.cur != c.source || subtask < 0 || subtask >= len(e.mu.subs) {
		e.mu.Unlock()
		return
	}
	if e.mu.subs[subtask].finishAt != 0 {
		e.mu.Unlock()
		e.fail(fmt.Errorf("hybrid: the enumerator of source %d assigned splits to subtask %d after it said there were no more; that enumerator breaks the source SPI", c.source, subtask))
		return
	}
	codec, _ := e.mu.src.(source.Checkpointed)
	e.ctx.Assign(subtask, tag(c.source, codec, splits)...)
	e.mu.Unlock()
}

// NoMoreSplits implements source.EnumeratorContext: it sends the end
// notice, with the number of the request that will mean "finished".
func (c *innerContext[T]) NoMoreSplits(subtask int) {
	e := c.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mu.closed || e.mu.cur != c.source || subtask < 0 || subtask >= len(e.mu.subs) {
		return
	}
	st := &e.mu.subs[subtask]
	if st.finishAt != 0 {
		return
	}
	// While the enumerator answers a request of this subtask, that request
	// is the reader's only one in flight, and the acknowledgement that
	// follows this notice tells the reader it was seen: the next request
	// is the reader's answer. Otherwise one request the reader sent before
	// it sees the notice may still arrive: it gets the number after this.
	if e.mu.inReq == subtask {
		st.finishAt = st.requests + 1
	} else {
		st.finishAt = st.requests + 2
	}
	e.ctx.Assign(subtask, &control[T]{kind: end, source: c.source, n: st.finishAt})
}

// restoringContext is the context of the source that was current at the
// restored checkpoint (source.RestoringContext).
type restoringContext[T any] struct {
	*innerContext[T]
	restored []source.Split
}

// Restored implements source.RestoringContext.
func (c *restoringContext[T]) Restored() ([]source.Split, bool) { return c.restored, true }
