package file

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/weirstream/weir/internal/tail"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/splitreader"
)

// newFollowReader returns the reader of one subtask in follow mode: the
// split reader base, asking for the pattern's split, which only subtask 0
// gets; the readers of the other subtasks end at once.
func newFollowReader[T any](src *Source, ctx source.ReaderContext, records func() recordMaker[T]) source.Reader[T] {
	log := src.cfg.readerLogger(ctx)
	open := func(_ context.Context, s *Split) (splitreader.Reader[T, *Split], error) {
		if !s.Follow || s.Path != src.pattern {
			return nil, fmt.Errorf("file: a follow reader of %q got split %q; give a file source only the splits its own enumerator made", src.pattern, s.SplitID())
		}
		r := &followReader[T]{src: src, split: s.clone(), log: log, records: records()}
		restore := make([]tail.Position, 0, len(s.Files))
		for _, st := range s.Files {
			restore = append(restore, st.position())
		}
		r.split.Files = nil
		cfg := &src.cfg
		r.t = tail.New(tail.Config{
			Pattern:    src.pattern,
			Restore:    restore,
			RestoredAt: s.Scanned,
			// Splits of older weirs hold no fingerprints.
			TrustBareIdentity: true,
			MaxLine:           cfg.maxLineSize,
			BufferSize:        cfg.bufferSize(),
			Logger:            log,
			Name:              "file",
			OpenError:         src.followOpenError,
		})
		return r, nil
	}
	// Concurrent: the split never finishes, and must not keep another
	// from being read.
	return splitreader.New(ctx, open, splitreader.Options{Concurrent: true, Name: "file", ProgressUnit: source.ProgressBytes})
}

// followOpenError is the error of a file of the pattern that cannot be
// opened: it fails the job, saying what to do.
func (s *Source) followOpenError(path string, err error) error {
	return fmt.Errorf("file: follow %q: %w; make the file readable%s, or narrow the pattern", s.pattern, err, permissionHint(err))
}

// followReader tails the files of a pattern: it reads the pattern's one
// split, with a tail.Tailer, which follows the files through rotation and
// keeps their positions. It reads synchronously inside Read (reads of a
// local file are quick) and keeps no goroutine.
type followReader[T any] struct {
	src     *Source
	log     *slog.Logger // the reader's
	t       *tail.Tailer
	records recordMaker[T]
	split   *Split // the pattern's split, without its files

	scanned   bool
	lastScan  time.Time
	idleUntil time.Time // no new data was found: do not look before then
}

// Read lists the pattern when PollInterval has passed, then emits up to 4096
// complete lines, reading the files in order: a rotated file is read to its
// end before the file that replaced it. It never waits, and the split never
// finishes.
func (r *followReader[T]) Read(_ context.Context, out source.Output[T]) (splitreader.Status, error) {
	cfg := &r.src.cfg
	now := time.Now()
	if !r.scanned || now.Sub(r.lastScan) >= cfg.pollInterval {
		r.lastScan, r.scanned = now, true
		r.idleUntil = time.Time{}
		if err := r.t.Scan(now); err != nil {
			return splitreader.NothingAvailable, err
		}
	} else if now.Before(r.idleUntil) {
		return splitreader.NothingAvailable, nil
	}
	n, more := 0, false
	for _, f := range r.t.Files() {
		if n >= batchLines {
			more = true
			break
		}
		atEnd := false
	file:
		for n < batchLines {
			line, st, err := f.Next()
			if err != nil {
				return splitreader.NothingAvailable, fmt.Errorf("file: read %s at offset %d: %w", f.Path(), f.Pos(), err)
			}
			switch st {
			case tail.GotLine:
				r.records.emit(out, r.split, f.Path(), line)
			case tail.GotLong:
				tooLong(cfg, r.log, out, r.split.SplitID(), f.Path(), line)
			case tail.Skipping:
				more = true
				break file
			default:
				atEnd = true
				break file
			}
			n++
		}
		if atEnd && f.Quiet(now, cfg.rotationGrace) {
			// Its writer has let it go: a last line without '\n' is complete.
			switch line, st := f.Rest(); st {
			case tail.GotLine:
				r.records.emit(out, r.split, f.Path(), line)
				n++
			case tail.GotLong:
				tooLong(cfg, r.log, out, r.split.SplitID(), f.Path(), line)
				n++
			}
			r.t.Forget(f)
		}
	}
	r.t.Commit() // drops the forgotten files
	switch {
	case more || n >= batchLines:
		return splitreader.MoreAvailable, nil
	case n == 0:
		r.idleUntil = now.Add(cfg.pollInterval)
	}
	return splitreader.NothingAvailable, nil
}

// Split returns the pattern's split with the position of every tracked
// file.
func (r *followReader[T]) Split() *Split {
	s := r.split.clone()
	ps := r.t.Positions()
	s.Files = make([]FileState, 0, len(ps))
	for _, p := range ps {
		s.Files = append(s.Files, fileState(p))
	}
	s.Scanned = r.t.ScannedAt()
	return s
}

// Progress implements splitreader.ProgressReporter for the pattern's
// split: the bytes read of the files it follows now, and the bytes of
// those files not read yet as of the latest scan (what a shipper that
// writes faster than the job reads piles up).
func (r *followReader[T]) Progress() (position, lag int64) {
	for _, f := range r.t.Files() {
		position += f.Pos()
	}
	return position, r.t.Lag()
}

// Close closes every tracked file.
func (r *followReader[T]) Close() error {
	r.t.Close()
	return nil
}
