package file

import (
	"context"
	"fmt"
	"os"

	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/splitreader"
)

// newBoundedReader returns the reader of one subtask in bounded mode: the
// split reader base, reading one byte range after the other in the order
// they were assigned (file and offset order), and asking the enumerator
// for the next when it has none.
func newBoundedReader(src *Source, ctx source.ReaderContext) source.Reader[string] {
	m := &rangeMemory{src: src}
	return splitreader.New(ctx, m.open, splitreader.Options{Name: "file"})
}

// rangeMemory is the memory the range readers of one subtask share: the
// base opens one range at a time, so one buffer serves them all, and the
// lines of every range are cut from one arena.
type rangeMemory struct {
	src   *Source
	buf   []byte
	arena arena
}

// open starts reading split s at its offset.
func (m *rangeMemory) open(_ context.Context, s *Split) (splitreader.Reader[string, *Split], error) {
	if s.Follow {
		return nil, fmt.Errorf("file: a bounded reader got split %q of a follow-mode source; give a file source only the splits its own enumerator made", s.SplitID())
	}
	f, err := os.Open(s.Path)
	if err != nil {
		return nil, fmt.Errorf("file: open split %s: %w", s.SplitID(), err)
	}
	if m.buf == nil {
		m.buf = make([]byte, m.src.cfg.bufferSize())
	}
	r := &rangeReader{split: s.clone(), file: f, arena: &m.arena}
	r.lines = lineReader{
		f:       f,
		path:    s.Path,
		buf:     m.buf,
		end:     s.End,
		maxLine: m.src.cfg.maxLineSize,
		onLong:  m.src.cfg.onLongLine,
	}
	if s.Offset > s.Start {
		r.lines.seek(s.Offset) // always a line start (package doc, rule 4)
	} else {
		r.lines.seekRange(s.Start)
	}
	return r, nil
}

// rangeReader reads the lines of one byte-range split.
type rangeReader struct {
	split *Split // as assigned; Split fills in the offset
	file  *os.File
	lines lineReader
	arena *arena // the lines' memory
}

// Read emits up to 4096 lines of the range. At the end of the range, or
// of the file, it says Finished; a last line without '\n' at the end of
// the file counts.
func (r *rangeReader) Read(_ context.Context, out source.Output[string]) (splitreader.Status, error) {
	for range batchLines {
		line, st, err := r.lines.next()
		if err != nil {
			return splitreader.Finished, fmt.Errorf("file: read %s at offset %d: %w", r.split.Path, r.lines.off, err)
		}
		switch st {
		case gotLine:
			out.Collect(r.arena.String(trimCR(line)))
			continue
		case needMore:
			if last := r.lines.rest(); last != nil {
				out.Collect(r.arena.String(trimCR(last)))
			}
		}
		return splitreader.Finished, nil
	}
	return splitreader.MoreAvailable, nil
}

// Split returns a copy of the split at the offset after the last emitted
// line.
func (r *rangeReader) Split() *Split {
	s := r.split.clone()
	if r.lines.lineStart > s.Start {
		s.Offset = r.lines.lineStart
	}
	return s
}

// Close closes the file. It is read-only: there is nothing to lose, so a
// failure to close is not an error of the job.
func (r *rangeReader) Close() error {
	r.file.Close()
	return nil
}
