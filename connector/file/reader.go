package file

import (
	"context"
	"fmt"
	"os"

	"github.com/weirstream/weir/source"
)

// boundedReader reads byte-range splits one after the other, asking for the
// next when it finishes one.
type boundedReader struct {
	src *Source
	ctx source.ReaderContext
	buf []byte

	queue  []*Split // assigned, not started
	cur    *Split   // being read; its Offset is refreshed by Snapshot
	file   *os.File // cur's file
	lines  lineReader
	arena  arena // the lines' memory
	noMore bool
	err    error // a problem found outside Poll, returned by the next Poll
	closed bool
}

func newBoundedReader(src *Source, ctx source.ReaderContext) *boundedReader {
	return &boundedReader{src: src, ctx: ctx}
}

// Start asks for the first split.
func (r *boundedReader) Start(context.Context) error {
	if r.closed {
		return source.ErrClosed
	}
	r.ctx.RequestSplit()
	return nil
}

// AddSplits queues copies of the splits; they are read in the given order.
func (r *boundedReader) AddSplits(splits []source.Split) {
	for _, s := range splits {
		fs, ok := s.(*Split)
		if !ok || fs.Follow {
			r.err = fmt.Errorf("file: a bounded reader got split %q of type %T; give a file source only the splits its own enumerator made", s.SplitID(), s)
			continue
		}
		r.queue = append(r.queue, fs.clone())
	}
}

// NoMoreSplits lets the reader end once its queue is empty.
func (r *boundedReader) NoMoreSplits() { r.noMore = true }

// Poll emits up to 4096 lines of the current split, moving on to the next
// split as each ends. It never waits: without a split it returns
// NothingAvailable until one is assigned, or EndOfInput.
func (r *boundedReader) Poll(ctx context.Context, out source.Output[string]) (source.Status, error) {
	if r.closed {
		return source.EndOfInput, source.ErrClosed
	}
	if r.err != nil {
		return source.EndOfInput, r.err
	}
	if err := ctx.Err(); err != nil {
		return source.EndOfInput, err
	}
	n := 0
	for n < batchLines {
		if r.cur == nil {
			if len(r.queue) == 0 {
				switch {
				case n > 0:
					// Let the runtime take this batch before hearing of the end.
					return source.MoreAvailable, nil
				case r.noMore:
					return source.EndOfInput, nil
				default:
					return source.NothingAvailable, nil
				}
			}
			if err := r.open(r.queue[0]); err != nil {
				r.err = err
				return source.EndOfInput, err
			}
			r.queue = r.queue[1:]
		}
		line, st, err := r.lines.next()
		if err != nil {
			r.err = fmt.Errorf("file: read %s at offset %d: %w", r.cur.Path, r.lines.off, err)
			return source.EndOfInput, r.err
		}
		switch st {
		case gotLine:
			out.Collect(r.arena.String(trimCR(line)))
			n++
			continue
		case needMore:
			// The end of the file: a last line without '\n' counts.
			if last := r.lines.rest(); last != nil {
				out.Collect(r.arena.String(trimCR(last)))
				n++
			}
		}
		r.finish()
	}
	return source.MoreAvailable, nil
}

// open starts reading split s.
func (r *boundedReader) open(s *Split) error {
	f, err := os.Open(s.Path)
	if err != nil {
		return fmt.Errorf("file: open split %s: %w", s.SplitID(), err)
	}
	if r.buf == nil {
		r.buf = make([]byte, r.src.cfg.bufferSize())
	}
	r.cur, r.file = s, f
	r.lines = lineReader{
		f:       f,
		path:    s.Path,
		buf:     r.buf,
		end:     s.End,
		maxLine: r.src.cfg.maxLineSize,
		onLong:  r.src.cfg.onLongLine,
	}
	if s.Offset > s.Start {
		r.lines.seek(s.Offset) // always a line start (package doc, rule 4)
	} else {
		r.lines.seekRange(s.Start)
	}
	return nil
}

// finish closes the current split and asks for another.
func (r *boundedReader) finish() {
	r.file.Close() // read-only: nothing to lose
	r.cur, r.file = nil, nil
	r.lines = lineReader{}
	r.ctx.RequestSplit()
}

// Snapshot returns the current split, at the offset after the last emitted
// line, and the queued splits.
func (r *boundedReader) Snapshot(int64) ([]source.Split, error) {
	if r.closed {
		return nil, source.ErrClosed
	}
	out := make([]source.Split, 0, len(r.queue)+1)
	if r.cur != nil {
		s := r.cur.clone()
		if r.lines.lineStart > s.Start {
			s.Offset = r.lines.lineStart
		}
		out = append(out, s)
	}
	for _, s := range r.queue {
		out = append(out, s.clone())
	}
	return out, nil
}

// Close closes the open file.
func (r *boundedReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.file != nil {
		err := r.file.Close()
		r.file = nil
		return err
	}
	return nil
}
