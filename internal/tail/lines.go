package tail

import (
	"bytes"
	"io"
)

// PrefixMax is how many first bytes of a line too long to emit Lines
// keeps: enough for a person to tell what the line was.
const PrefixMax = 1 << 10

// skipBudget bounds the bytes one call to Next skips, so that a reader
// that meets a line of gigabytes stays responsive.
const skipBudget = 64 << 20

// Status says what Lines.Next found.
type Status int

const (
	// GotLine is a complete line.
	GotLine Status = iota
	// GotLong is the end of a line longer than the limit: the line
	// carries its first bytes and its length; the rest was skipped.
	GotLong
	// NeedMore says there is no complete line in the file yet: the reader
	// is at its end.
	NeedMore
	// PastEnd says the next line starts at or after the end of the range.
	PastEnd
	// Skipping says a long line is being skipped and the call stopped
	// after a while: call again.
	Skipping
)

// Line is what Next found.
type Line struct {
	// Bytes is the line without its '\n' (a '\r' before it is left to the
	// caller); for GotLong, its first PrefixMax bytes at most. It aliases
	// the reader's memory and is valid until the next call.
	Bytes []byte
	// Offset is where the line starts in the file.
	Offset int64
	// Len is the line's length in bytes, without its '\n'.
	Len int64
}

// Lines cuts the lines out of one file with large positioned reads. It
// never holds more than its buffer: a line longer than its limit is
// skipped as it streams by, and reported when its end is found, with its
// first bytes and its length.
//
// The buffer grows, up to the limit and a byte, when a line does not fit
// in it: it can start at the size of a read, not of the longest line,
// which few files ever have and which every reader would hold otherwise.
//
// The buffer may be shared by several Lines (a Tailer reads many files
// with one buffer); whoever switches it to another file calls Reset first.
// A Lines that grows it grows it for all.
type Lines struct {
	f      io.ReaderAt
	buf    []byte  // *shared, as of the last Reset or growth
	shared *[]byte // the buffer the readers of several files share
	r, w   int     // buf[r:w] holds the unread bytes from off on

	off       int64 // file offset of buf[r]
	lineStart int64 // offset of the first byte of the next line to emit
	end       int64 // lines starting at or after end are not read; -1: none

	maxLine int // longer lines, counted before the '\n', are skipped
	// skipPrev discards bytes up to the next '\n': the end of a line that
	// belongs to the range before (SetRange).
	skipPrev bool
	// long discards bytes up to the next '\n' of a line longer than
	// maxLine that starts at lineStart, whose first bytes are in prefix.
	// lineStart stays at the line's start, so a position taken meanwhile
	// is a line start, and a reader resumed there reports the line once.
	long   bool
	prefix []byte
	// last is how many bytes the last GotLine consumed, for Unread.
	last int
}

// NewLines returns a reader of the lines of f from offset 0, with *buf as
// its buffer and no end. *buf must not be empty; the reader grows it to
// up to maxLine+1 bytes as lines need.
func NewLines(f io.ReaderAt, buf *[]byte, maxLine int) Lines {
	return Lines{f: f, buf: *buf, shared: buf, maxLine: maxLine, end: -1}
}

// SetEnd makes Next say PastEnd at the first line that starts at or after
// end; -1 reads to the end of the file.
func (l *Lines) SetEnd(end int64) { l.end = end }

// SetPos positions the reader at a line start.
func (l *Lines) SetPos(lineStart int64) {
	l.buf = *l.shared
	l.r, l.w, l.last = 0, 0, 0
	l.off, l.lineStart = lineStart, lineStart
	l.skipPrev, l.long = false, false
}

// SetRange positions the reader at the first line that starts at or
// after start: if start is not 0, that is after the first '\n' at or
// after start-1.
func (l *Lines) SetRange(start int64) {
	l.SetPos(start)
	if start > 0 {
		l.off = start - 1
		l.skipPrev = true
	}
}

// Reset drops the buffered bytes, so that the buffer can serve another
// file; the next read starts again from where the reader is.
func (l *Lines) Reset() {
	l.buf = *l.shared
	l.r, l.w, l.last = 0, 0, 0
}

// Pos returns the offset of the next line to emit: after the last line
// returned, or at the start of a long line being skipped.
func (l *Lines) Pos() int64 { return l.lineStart }

// Extent returns how far into the file the reader has read.
func (l *Lines) Extent() int64 { return l.off + int64(l.w-l.r) }

// InLine says whether the reader is skipping a long line whose end it has
// not found yet.
func (l *Lines) InLine() bool { return l.long }

// Next returns the next line. A line longer than the limit comes as
// GotLong once its end is found; until then Next says NeedMore (at the end
// of the file) or Skipping (after skipping a while).
func (l *Lines) Next() (Line, Status, error) {
	l.last = 0
	skipped := 0
	for {
		if l.end >= 0 {
			// While skipping the range before's line, the next line starts
			// after a '\n' at or after off, so it cannot start before end
			// once off reaches it. A long line that started before end is
			// this range's: it is read to its end.
			if (l.skipPrev && l.off >= l.end) || (!l.skipPrev && !l.long && l.lineStart >= l.end) {
				return Line{}, PastEnd, nil
			}
		}
		data := l.buf[l.r:l.w]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l.r += i + 1
			l.off += int64(i + 1)
			start := l.lineStart
			l.lineStart = l.off
			switch {
			case l.skipPrev:
				l.skipPrev = false
				continue
			case l.long:
				l.long = false
				l.keep(data[:i])
				return Line{Bytes: l.prefix, Offset: start, Len: l.off - 1 - start}, GotLong, nil
			case i > l.maxLine:
				return Line{Bytes: data[:min(i, PrefixMax)], Offset: start, Len: int64(i)}, GotLong, nil
			}
			l.last = i + 1
			return Line{Bytes: data[:i], Offset: start, Len: int64(i)}, GotLine, nil
		}
		switch {
		case l.skipPrev || l.long:
			if skipped >= skipBudget {
				return Line{}, Skipping, nil
			}
			if l.long {
				l.keep(data)
			}
			skipped += len(data)
			l.off += int64(len(data))
			l.r, l.w = 0, 0
		case len(data) > l.maxLine:
			l.prefix = l.prefix[:0]
			l.keep(data)
			l.long = true
			skipped += len(data)
			l.off += int64(len(data))
			l.r, l.w = 0, 0
		case l.r > 0:
			copy(l.buf, data)
			l.r, l.w = 0, len(data)
		case l.w == len(l.buf):
			l.grow()
		}
		n, err := l.f.ReadAt(l.buf[l.w:], l.off+int64(l.w-l.r))
		l.w += n
		if n == 0 {
			if err == nil || err == io.EOF {
				return Line{}, NeedMore, nil
			}
			return Line{}, NeedMore, err
		}
	}
}

// grow makes room for a line longer than the buffer, which holds it from
// its start: twice the size, at most the limit and a byte, so that a line
// longer than the limit still shows as one that fills the buffer.
func (l *Lines) grow() {
	b := make([]byte, min(2*len(l.buf), l.maxLine+1))
	copy(b, l.buf[:l.w])
	l.buf, *l.shared = b, b
}

// keep adds the first bytes of b to the prefix of the long line, up to
// PrefixMax.
func (l *Lines) keep(b []byte) {
	if n := PrefixMax - len(l.prefix); n > 0 {
		l.prefix = append(l.prefix, b[:min(len(b), n)]...)
	}
}

// Rest returns and consumes the bytes after the last '\n' up to the end of
// the file, after Next said NeedMore: the last line of a file that does not
// end with '\n', as GotLine, or as GotLong if it is too long. It says
// NeedMore when there is none, or when they end a line of the range before.
func (l *Lines) Rest() (Line, Status) {
	l.last = 0
	start := l.lineStart
	switch {
	case l.skipPrev:
		return Line{}, NeedMore
	case l.long:
		l.keep(l.buf[l.r:l.w])
		l.off += int64(l.w - l.r)
		l.r = l.w
		l.lineStart, l.long = l.off, false
		return Line{Bytes: l.prefix, Offset: start, Len: l.off - start}, GotLong
	case l.r == l.w:
		return Line{}, NeedMore
	}
	line := l.buf[l.r:l.w]
	l.off += int64(len(line))
	l.lineStart = l.off
	l.r = l.w
	l.last = len(line)
	return Line{Bytes: line, Offset: start, Len: int64(len(line))}, GotLine
}

// Unread gives back the line that the last call of Next or Rest returned
// as GotLine: the next call returns it again. It does nothing after any
// other status.
func (l *Lines) Unread() {
	if l.last == 0 {
		return
	}
	l.r -= l.last
	l.off -= int64(l.last)
	l.lineStart = l.off
	l.last = 0
}
