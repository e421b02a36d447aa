package splitreader

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"

	"github.com/weirstream/weir/source"
)

// maxPendingCheckpoints bounds the snapshots kept for checkpoints that have
// not completed yet; older ones are dropped (a checkpoint that never
// completes is overtaken by a later one).
const maxPendingCheckpoints = 16

// base implements source.Reader on top of per-split Readers.
type base[T any, S source.Split] struct {
	rctx source.ReaderContext
	open func(context.Context, S) (Reader[T, S], error)
	o    Options

	queue  []queued[S]     // assigned, not opened yet, in order
	active []*split[T, S]  // open; at most one in sequential mode
	next   int             // concurrent mode: the index the next Poll reads first
	ids    map[string]bool // of the queued and open splits

	requested bool // a RequestSplit is outstanding
	noMore    bool
	err       error // the first failure; every later Poll returns it
	closed    bool

	listening bool // an open Reader implements CheckpointListener
	pending   []checkpointPositions[T, S]

	progress progress // of the splits whose Readers report it
}

// queued is an assigned split that is not open yet.
type queued[S source.Split] struct {
	split S
	id    string
}

// split is an open split.
type split[T any, S source.Split] struct {
	id     string
	r      Reader[T, S]
	closed bool
}

// checkpointPositions are what the listening Readers' splits were in the
// snapshot of checkpoint id.
type checkpointPositions[T any, S source.Split] struct {
	id        int64
	splits    []*split[T, S]
	positions []S
}

var (
	_ source.Reader[int]        = (*base[int, source.Split])(nil)
	_ source.CheckpointListener = (*base[int, source.Split])(nil)
	_ source.ProgressReporter   = (*base[int, source.Split])(nil)
)

// Start asks for the first split, unless splits were added before Start
// or the enumerator pushes them.
func (b *base[T, S]) Start(context.Context) error {
	if b.closed {
		return source.ErrClosed
	}
	if b.open == nil {
		return b.errNoOpen()
	}
	b.requestIfIdle()
	return nil
}

// AddSplits queues the splits, in order.
func (b *base[T, S]) AddSplits(splits []source.Split) {
	if b.closed {
		return
	}
	for _, sp := range splits {
		if sp == nil {
			b.fail(fmt.Errorf("%s: the reader of subtask %d was assigned a nil split; the enumerator must assign the splits it made", b.o.Name, b.rctx.Subtask()))
			continue
		}
		s, ok := sp.(S)
		if !ok {
			b.fail(fmt.Errorf("%s: the reader of subtask %d was assigned split %q of type %T, but it reads %v; give a source only the splits its own enumerator made",
				b.o.Name, b.rctx.Subtask(), sp.SplitID(), sp, reflect.TypeFor[S]()))
			continue
		}
		id := sp.SplitID()
		if b.ids[id] {
			b.fail(fmt.Errorf("%s: the reader of subtask %d was assigned split %q while it still holds it; an enumerator assigns a split to one reader at a time and takes it back only with AddSplitsBack", b.o.Name, b.rctx.Subtask(), id))
			continue
		}
		b.ids[id] = true
		b.queue = append(b.queue, queued[S]{split: s, id: id})
		b.requested = false
	}
}

// NoMoreSplits lets the reader end once it has read what it holds.
func (b *base[T, S]) NoMoreSplits() {
	b.noMore = true
	b.requested = false
}

// Poll reads the current split (sequential mode) or each open split in
// turn (concurrent mode). It says MoreAvailable after a split finished, so
// that the next Poll opens the next one or says EndOfInput.
func (b *base[T, S]) Poll(ctx context.Context, out source.Output[T]) (source.Status, error) {
	if b.closed {
		return source.EndOfInput, source.ErrClosed
	}
	if b.err != nil {
		return source.EndOfInput, b.err
	}
	if err := ctx.Err(); err != nil {
		return source.EndOfInput, err
	}
	if b.o.Concurrent {
		return b.pollConcurrent(ctx, out)
	}
	return b.pollSequential(ctx, out)
}

func (b *base[T, S]) pollSequential(ctx context.Context, out source.Output[T]) (source.Status, error) {
	if len(b.active) == 0 {
		if len(b.queue) == 0 {
			return b.idle(), nil
		}
		if err := b.openNext(ctx, out); err != nil {
			return source.EndOfInput, err
		}
	}
	st, err := b.read(ctx, 0, out)
	if err != nil {
		return source.EndOfInput, err
	}
	switch st {
	case NothingAvailable:
		return source.NothingAvailable, nil
	case Finished:
		if err := b.finish(0, out); err != nil {
			return source.EndOfInput, err
		}
	}
	return source.MoreAvailable, nil
}

func (b *base[T, S]) pollConcurrent(ctx context.Context, out source.Output[T]) (source.Status, error) {
	for len(b.queue) > 0 {
		if err := b.openNext(ctx, out); err != nil {
			return source.EndOfInput, err
		}
	}
	if len(b.active) == 0 {
		return b.idle(), nil
	}
	finished := false
	for visits := len(b.active); visits > 0 && len(b.active) > 0; visits-- {
		if b.next >= len(b.active) {
			b.next = 0
		}
		st, err := b.read(ctx, b.next, out)
		if err != nil {
			return source.EndOfInput, err
		}
		switch st {
		case MoreAvailable:
			b.next++
			return source.MoreAvailable, nil
		case NothingAvailable:
			b.next++
		case Finished:
			// The next split moves into this index.
			if err := b.finish(b.next, out); err != nil {
				return source.EndOfInput, err
			}
			finished = true
		}
	}
	if finished {
		return source.MoreAvailable, nil
	}
	return source.NothingAvailable, nil
}

// idle is Poll's answer when the reader holds no split.
func (b *base[T, S]) idle() source.Status {
	if b.noMore {
		return source.EndOfInput
	}
	b.requestIfIdle()
	return source.NothingAvailable
}

// requestIfIdle asks the enumerator for a split when the reader holds
// none, pulls, and has no request outstanding.
func (b *base[T, S]) requestIfIdle() {
	if b.o.Push || b.requested || b.noMore || len(b.queue) > 0 || len(b.active) > 0 {
		return
	}
	b.requested = true
	b.rctx.RequestSplit()
}

// openNext opens the first queued split. The split stays queued, and so
// in snapshots, until it is open.
func (b *base[T, S]) openNext(ctx context.Context, out source.Output[T]) error {
	if b.open == nil {
		return b.fail(b.errNoOpen())
	}
	id := b.queue[0].id
	r, err := b.open(ctx, b.queue[0].split)
	if err == nil && r == nil {
		err = fmt.Errorf("%s: opening split %q returned no reader and no error; the open function must return one of them", b.o.Name, id)
	}
	if err != nil {
		return b.fail(err)
	}
	b.queue[0] = queued[S]{}
	b.queue = b.queue[1:]
	b.active = append(b.active, &split[T, S]{id: id, r: r})
	if _, ok := r.(CheckpointListener[S]); ok {
		b.listening = true
	}
	// Registered now, the split holds the source's watermark back from
	// the start, not from its first record.
	splitOutput(out, id)
	return nil
}

// read calls Read on active[i] with the split's output.
func (b *base[T, S]) read(ctx context.Context, i int, out source.Output[T]) (Status, error) {
	sp := b.active[i]
	st, err := sp.r.Read(ctx, splitOutput(out, sp.id))
	if err != nil {
		return st, b.fail(err)
	}
	b.reportProgress(sp)
	if st < MoreAvailable || st > Finished {
		return st, b.fail(fmt.Errorf("%s: the reader of split %q returned %v from Read; return MoreAvailable, NothingAvailable or Finished", b.o.Name, sp.id, st))
	}
	return st, nil
}

// finish closes active[i], whose Read said Finished, releases its output
// and, if it held nothing else, asks for more work at once.
func (b *base[T, S]) finish(i int, out source.Output[T]) error {
	sp := b.active[i]
	b.active = slices.Delete(b.active, i, i+1)
	delete(b.ids, sp.id)
	sp.closed = true
	b.progress.finish(sp.id)
	if so, ok := out.(source.SplitOutputs[T]); ok {
		if len(b.queue) > 0 {
			// The next split holds the watermark back from now on, so
			// that the reader is never without a split between the two.
			so.ForSplit(b.queue[0].id)
		}
		so.ReleaseSplit(sp.id)
	}
	if err := sp.r.Close(); err != nil {
		return b.fail(fmt.Errorf("%s: close finished split %q: %w", b.o.Name, sp.id, err))
	}
	b.requestIfIdle()
	return nil
}

func (b *base[T, S]) errNoOpen() error {
	return fmt.Errorf("%s: splitreader.New was given a nil open function; pass the function that opens a reader for one split", b.o.Name)
}

// fail keeps the first error and returns it.
func (b *base[T, S]) fail(err error) error {
	if b.err == nil {
		b.err = err
	}
	return b.err
}

// splitOutput returns the output of split id, or out itself when the
// runtime does not keep splits apart.
func splitOutput[T any](out source.Output[T], id string) source.Output[T] {
	if so, ok := out.(source.SplitOutputs[T]); ok {
		return so.ForSplit(id)
	}
	return out
}

// Snapshot returns the open splits at their positions, then the queued
// ones as they were assigned.
func (b *base[T, S]) Snapshot(checkpointID int64) ([]source.Split, error) {
	if b.closed {
		return nil, source.ErrClosed
	}
	out := make([]source.Split, 0, len(b.active)+len(b.queue))
	var cp checkpointPositions[T, S]
	for _, sp := range b.active {
		pos := sp.r.Split()
		out = append(out, pos)
		if _, ok := sp.r.(CheckpointListener[S]); ok {
			cp.splits = append(cp.splits, sp)
			cp.positions = append(cp.positions, pos)
		}
	}
	for _, q := range b.queue {
		out = append(out, q.split)
	}
	if b.listening {
		cp.id = checkpointID
		if len(b.pending) == maxPendingCheckpoints {
			b.pending = slices.Delete(b.pending, 0, 1)
		}
		b.pending = append(b.pending, cp)
	}
	return out, nil
}

// NotifyCheckpointComplete tells each listening Reader that was open at
// checkpoint id (or at the latest snapshot before it) its position then.
// After Close it does nothing: a closed Reader hears nothing.
func (b *base[T, S]) NotifyCheckpointComplete(ctx context.Context, id int64) error {
	if b.closed {
		return nil
	}
	latest := -1
	for i, cp := range b.pending {
		if cp.id <= id {
			latest = i
		}
	}
	if latest < 0 {
		return nil
	}
	cp := b.pending[latest]
	b.pending = slices.Delete(b.pending, 0, latest+1)
	for i, sp := range cp.splits {
		if sp.closed {
			continue
		}
		if err := sp.r.(CheckpointListener[S]).CheckpointComplete(ctx, cp.id, cp.positions[i]); err != nil {
			return fmt.Errorf("%s: split %q at checkpoint %d: %w", b.o.Name, sp.id, cp.id, err)
		}
	}
	return nil
}

// Close closes every open Reader.
func (b *base[T, S]) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	var errs []error
	for _, sp := range b.active {
		sp.closed = true
		if err := sp.r.Close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: close split %q: %w", b.o.Name, sp.id, err))
		}
	}
	b.active, b.queue, b.pending = nil, nil, nil
	return errors.Join(errs...)
}
