package file

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/weirstream/weir/internal/tail"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/splitreader"
)

// newBoundedReader returns the reader of one subtask in bounded mode: the
// split reader base, reading one byte range after the other in the order
// they were assigned (file and offset order), and asking the enumerator
// for the next when it has none.
func newBoundedReader[T any](src *Source, ctx source.ReaderContext, records func() recordMaker[T]) source.Reader[T] {
	m := &rangeMemory[T]{src: src, log: src.cfg.readerLogger(ctx), records: records()}
	return splitreader.New(ctx, m.open, splitreader.Options{Name: "file", ProgressUnit: source.ProgressBytes})
}

// rangeMemory is the memory the range readers of one subtask share: the
// base opens one range at a time, so one buffer serves them all, and one
// recordMaker (with its strings) makes the records of every range.
type rangeMemory[T any] struct {
	src     *Source
	log     *slog.Logger // the reader's
	buf     []byte
	records recordMaker[T]
}

// open starts reading split s at its offset.
func (m *rangeMemory[T]) open(_ context.Context, s *Split) (splitreader.Reader[T, *Split], error) {
	if s.Follow {
		return nil, fmt.Errorf("file: a bounded reader got split %q of a follow-mode source; give a file source only the splits its own enumerator made", s.SplitID())
	}
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, openSplitError(s, err)
	}
	if m.buf == nil {
		m.buf = make([]byte, m.src.cfg.bufferSize())
	}
	r := &rangeReader[T]{split: s.clone(), file: f, records: m.records, cfg: &m.src.cfg, log: m.log}
	r.lines = tail.NewLines(f, &m.buf, m.src.cfg.maxLineSize)
	r.lines.SetEnd(s.End)
	if s.Offset > s.Start {
		r.lines.SetPos(s.Offset) // always a line start (package doc, rule 4)
	} else {
		r.lines.SetRange(s.Start)
	}
	return r, nil
}

// openSplitError is the error of a split whose file cannot be opened.
func openSplitError(s *Split, err error) error {
	return fmt.Errorf("file: open split %s: %w%s", s.SplitID(), err, permissionHint(err))
}

// rangeReader reads the lines of one byte-range split.
type rangeReader[T any] struct {
	split   *Split // as assigned; Split fills in the offset
	file    *os.File
	lines   tail.Lines
	records recordMaker[T]
	cfg     *sourceConfig
	log     *slog.Logger

	fileSize int64 // 0 until size is asked; -1 if unknown
}

var _ splitreader.ProgressReporter = (*rangeReader[string])(nil)

// Read emits up to 4096 lines of the range. At the end of the range, or
// of the file, it says Finished; a last line without '\n' at the end of
// the file counts. A line longer than MaxLineSize goes to the dead letters.
func (r *rangeReader[T]) Read(_ context.Context, out source.Output[T]) (splitreader.Status, error) {
	for range batchLines {
		line, st, err := r.lines.Next()
		if err != nil {
			return splitreader.Finished, fmt.Errorf("file: read %s at offset %d: %w", r.split.Path, r.lines.Extent(), err)
		}
		switch st {
		case tail.GotLine:
			r.records.emit(out, r.split, r.split.Path, line)
			continue
		case tail.GotLong:
			tooLong(r.cfg, r.log, out, r.split.SplitID(), r.split.Path, line)
			continue
		case tail.Skipping:
			return splitreader.MoreAvailable, nil
		case tail.NeedMore:
			switch line, st := r.lines.Rest(); st {
			case tail.GotLine:
				r.records.emit(out, r.split, r.split.Path, line)
			case tail.GotLong:
				tooLong(r.cfg, r.log, out, r.split.SplitID(), r.split.Path, line)
			}
		}
		return splitreader.Finished, nil
	}
	return splitreader.MoreAvailable, nil
}

// Split returns a copy of the split at the offset after the last emitted
// line.
func (r *rangeReader[T]) Split() *Split {
	s := r.split.clone()
	if pos := r.lines.Pos(); pos > s.Start {
		s.Offset = pos
	}
	return s
}

// Progress implements splitreader.ProgressReporter: the byte offset after
// the last emitted line, and the bytes of the range after it (for a range
// that ends with the file, as of the file's size now).
func (r *rangeReader[T]) Progress() (position, lag int64) {
	pos := max(r.lines.Pos(), r.split.Start)
	end := r.split.End
	if end < 0 {
		end = r.size()
	}
	if end < 0 {
		return pos, -1
	}
	return pos, max(0, end-pos)
}

// size is the size of the file the range is in, or -1 when it cannot be
// told; it is asked only for a range that ends with the file, once.
func (r *rangeReader[T]) size() int64 {
	if r.fileSize == 0 {
		r.fileSize = -1
		if fi, err := r.file.Stat(); err == nil {
			r.fileSize = fi.Size()
		}
	}
	return r.fileSize
}

// Close closes the file. It is read-only: there is nothing to lose, so a
// failure to close is not an error of the job.
func (r *rangeReader[T]) Close() error {
	r.file.Close()
	return nil
}

// trimCR drops one trailing '\r', so that files with CRLF line ends give the
// same records as files with LF.
func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}
