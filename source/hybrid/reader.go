package hybrid

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/weirstream/weir/source"
)

// reader runs a reader of the current source and swaps it for a reader of
// the next source when the enumerator switches (see the package doc).
//
// The SPI methods run on the subtask's goroutine. The current source's
// reader may ask for splits from any goroutine, so the request protocol's
// counters are guarded by mu.
type reader[T any] struct {
	ctx source.ReaderContext
	run context.Context // from Start: readers of later sources start with it

	epoch   int // index of the source cur reads; -1 before the first activation
	cur     source.Reader[T]
	codec   source.Checkpointed // cur's source, when it is Checkpointed
	last    bool                // cur reads the last source
	err     error               // returned by the next Poll
	closed  bool
	pending []source.Split // splits for cur, collected by AddSplits

	// progress is cur, when it reports its splits' progress (or the
	// latest such reader): AppendSplitProgress runs on other goroutines.
	progress atomic.Pointer[source.ProgressReporter]

	mu struct {
		sync.Mutex
		sent, acked int // requests sent and acknowledged during this source
		wanted      int // requests cur made that are not sent yet
		finishAt    int // from the end notice; 0 before it
		ended       bool
	}
}

var _ source.ProgressReporter = (*reader[int])(nil)

// AppendSplitProgress implements source.ProgressReporter with the progress
// of the current source's reader, when it reports it.
func (r *reader[T]) AppendSplitProgress(dst []source.SplitProgress) []source.SplitProgress {
	if p := r.progress.Load(); p != nil {
		return (*p).AppendSplitProgress(dst)
	}
	return dst
}

// Start keeps ctx for the readers of the sources; it reads nothing until
// the enumerator names the current source.
func (r *reader[T]) Start(ctx context.Context) error {
	if r.closed {
		return source.ErrClosed
	}
	r.run = ctx
	return nil
}

// AddSplits handles what the enumerator sent: splits of the current source
// go to its reader; control splits start a source's reader, acknowledge
// requests, end the source, or fail the job.
func (r *reader[T]) AddSplits(splits []source.Split) {
	for _, sp := range splits {
		switch sp := sp.(type) {
		case *split:
			if sp.source != r.epoch || r.cur == nil || sp.inner == nil {
				r.setErr(fmt.Errorf("hybrid: subtask %d got split %s of source %d while it reads source %d; give a hybrid reader only the splits of its own enumerator", r.ctx.Subtask(), sp.SplitID(), sp.source, r.epoch))
				continue
			}
			r.pending = append(r.pending, sp.inner)
		case *control[T]:
			r.flush()
			r.handle(sp)
		default:
			r.setErr(fmt.Errorf("hybrid: subtask %d got split %q of type %T; give a hybrid reader only the splits of its own enumerator", r.ctx.Subtask(), sp.SplitID(), sp))
		}
	}
	r.flush()
}

// flush hands the collected splits to the current reader.
func (r *reader[T]) flush() {
	if len(r.pending) > 0 && r.cur != nil {
		r.cur.AddSplits(r.pending)
	}
	r.pending = nil
}

func (r *reader[T]) setErr(err error) {
	if r.err == nil {
		r.err = err
	}
}

// handle acts on one control split.
func (r *reader[T]) handle(c *control[T]) {
	switch c.kind {
	case fail:
		r.setErr(c.err)
	case activate:
		r.activate(c)
	case ack, end:
		if c.source != r.epoch {
			return // about a source this reader no longer reads
		}
		r.mu.Lock()
		ended := false
		if c.kind == ack {
			r.mu.acked = max(r.mu.acked, c.n)
		} else if r.mu.finishAt == 0 {
			r.mu.finishAt, r.mu.wanted = c.n, 0
			ended = true
		}
		r.pumpLocked()
		r.mu.Unlock()
		if ended && r.cur != nil {
			// Outside mu: the reader may ask for a split from inside.
			r.cur.NoMoreSplits()
		}
	}
}

// activate closes the finished source's reader and starts one of c's.
func (r *reader[T]) activate(c *control[T]) {
	if r.cur != nil {
		if err := r.cur.Close(); err != nil {
			r.setErr(fmt.Errorf("hybrid: close the reader of finished source %d: %w", r.epoch, err))
		}
		r.cur = nil
	}
	r.mu.Lock()
	r.epoch, r.last = c.source, c.last
	r.mu.sent, r.mu.acked, r.mu.wanted, r.mu.finishAt, r.mu.ended = 0, 0, 0, 0, false
	r.mu.Unlock()
	r.codec, _ = c.src.(source.Checkpointed)
	in, err := c.src.NewReader(&innerReaderContext[T]{r: r, epoch: c.source})
	if err != nil {
		r.setErr(fmt.Errorf("hybrid: create the reader of source %d on subtask %d: %w", c.source, r.ctx.Subtask(), err))
		return
	}
	r.cur = in
	if p, ok := in.(source.ProgressReporter); ok {
		r.progress.Store(&p)
	} else {
		r.progress.Store(nil)
	}
	ctx := r.run
	if ctx == nil {
		ctx = context.Background()
	}
	if err := in.Start(ctx); err != nil {
		r.setErr(fmt.Errorf("hybrid: start the reader of source %d on subtask %d: %w", c.source, r.ctx.Subtask(), err))
	}
}

// pumpLocked sends the next request, if one is due and none is in flight:
// the current reader's, or, once it has read everything, those that tell
// the enumerator so.
func (r *reader[T]) pumpLocked() {
	m := &r.mu
	if m.sent > m.acked {
		return
	}
	switch {
	case m.finishAt != 0:
		if m.ended && !r.last && m.sent < m.finishAt {
			m.sent++
			r.ctx.RequestSplit()
		}
	case m.wanted > 0:
		m.wanted--
		m.sent++
		r.ctx.RequestSplit()
	}
}

// NoMoreSplits is never sent by the hybrid enumerator; a hybrid reader
// ends with its last source.
func (r *reader[T]) NoMoreSplits() {}

// Poll polls the current source's reader with out, unchanged. When that
// reader has read everything, Poll reports NothingAvailable until the
// switch, or EndOfInput after the last source.
func (r *reader[T]) Poll(ctx context.Context, out source.Output[T]) (source.Status, error) {
	if r.closed {
		return source.EndOfInput, source.ErrClosed
	}
	if r.err != nil {
		return source.EndOfInput, r.err
	}
	if r.cur == nil {
		if err := ctx.Err(); err != nil {
			return source.EndOfInput, err
		}
		return source.NothingAvailable, nil
	}
	r.mu.Lock()
	ended := r.mu.ended
	r.mu.Unlock()
	if ended {
		if r.last {
			return source.EndOfInput, nil
		}
		return source.NothingAvailable, nil
	}
	st, err := r.cur.Poll(ctx, out)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return st, err
		}
		return st, fmt.Errorf("hybrid: source %d: %w", r.epoch, err)
	}
	if st != source.EndOfInput {
		return st, nil
	}
	r.mu.Lock()
	r.mu.ended = true
	r.pumpLocked()
	r.mu.Unlock()
	if r.last {
		return source.EndOfInput, nil
	}
	return source.NothingAvailable, nil
}

// Snapshot returns the current reader's splits, tagged with its source.
func (r *reader[T]) Snapshot(checkpointID int64) ([]source.Split, error) {
	if r.closed {
		return nil, source.ErrClosed
	}
	r.mu.Lock()
	ended := r.mu.ended
	r.mu.Unlock()
	if r.cur == nil || ended {
		return nil, nil
	}
	inner, err := r.cur.Snapshot(checkpointID)
	if err != nil {
		return nil, fmt.Errorf("hybrid: snapshot the reader of source %d: %w", r.epoch, err)
	}
	return tag(r.epoch, r.codec, inner), nil
}

// NotifyCheckpointComplete forwards to the current source's reader when it
// listens (source.CheckpointListener), also after it has read everything,
// until the switch.
func (r *reader[T]) NotifyCheckpointComplete(ctx context.Context, id int64) error {
	if l, ok := r.cur.(source.CheckpointListener); ok && !r.closed {
		return l.NotifyCheckpointComplete(ctx, id)
	}
	return nil
}

// Close closes the current source's reader.
func (r *reader[T]) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.cur == nil {
		return nil
	}
	err := r.cur.Close()
	r.cur = nil
	return err
}

// innerReaderContext is the ReaderContext of one source's reader: its
// requests wait their turn (one in flight), and stop counting once the
// source has ended.
type innerReaderContext[T any] struct {
	r     *reader[T]
	epoch int
}

// Subtask implements source.ReaderContext.
func (c *innerReaderContext[T]) Subtask() int { return c.r.ctx.Subtask() }

// Parallelism implements source.ReaderContext.
func (c *innerReaderContext[T]) Parallelism() int { return c.r.ctx.Parallelism() }

// Checkpointing implements source.ReaderContext.
func (c *innerReaderContext[T]) Checkpointing() bool { return c.r.ctx.Checkpointing() }

// Logger is the hybrid reader's logger (source.LoggerOf).
func (c *innerReaderContext[T]) Logger() *slog.Logger { return source.LoggerOf(c.r.ctx, nil) }

// RequestSplit implements source.ReaderContext.
func (c *innerReaderContext[T]) RequestSplit() {
	r := c.r
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.epoch != c.epoch || r.mu.finishAt != 0 {
		return
	}
	r.mu.wanted++
	r.pumpLocked()
}
