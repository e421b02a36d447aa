package file

import (
	"bytes"
	"io"
)

// lineStatus is what lineReader.next found.
type lineStatus int

const (
	gotLine  lineStatus = iota // a complete line
	needMore                   // no complete line in the file yet: at its end
	pastEnd                    // the next line starts at or after end
)

// lineReader cuts the lines out of one file with large positioned reads. It
// never holds more than its buffer: a line that does not fit in maxLine
// bytes is skipped as it streams by.
//
// The buffer may be shared by several lineReaders (a follow-mode reader
// tails many files with one buffer); whoever switches it to another file
// calls reset first.
type lineReader struct {
	f    io.ReaderAt
	path string
	buf  []byte // len(buf) > maxLine, so a line of maxLine bytes and its '\n' fit
	r, w int    // buf[r:w] holds the unread bytes from off on

	off       int64 // file offset of buf[r]
	lineStart int64 // offset of the first byte of the next line to emit
	end       int64 // lines starting at or after end are not read; -1: none

	maxLine int // longer lines, counted before the '\n', are skipped
	// skip discards bytes up to the next '\n'; lineStart stays at the start
	// of the line being skipped, so a snapshot taken meanwhile is a line start.
	skip   bool
	onLong func(path string, offset int64)
}

// seek positions the reader at a line start.
func (l *lineReader) seek(lineStart int64) {
	l.r, l.w = 0, 0
	l.off, l.lineStart, l.skip = lineStart, lineStart, false
}

// seekRange positions the reader at the first line that starts at or after
// start: if start is not 0, that is after the first '\n' at or after start-1.
func (l *lineReader) seekRange(start int64) {
	l.seek(start)
	if start > 0 {
		l.off = start - 1
		l.skip = true
	}
}

// reset drops the buffered bytes, so that the buffer can serve another
// file; the next read starts again from off.
func (l *lineReader) reset() { l.r, l.w = 0, 0 }

// next returns the next line without its '\n' (a trailing '\r' is left to
// the caller). The line aliases the buffer and is valid until the next call.
func (l *lineReader) next() ([]byte, lineStatus, error) {
	for {
		if l.end >= 0 {
			// While skipping, the next line starts after a '\n' at or after
			// off, so it cannot start before end once off reaches it.
			if (!l.skip && l.lineStart >= l.end) || (l.skip && l.off >= l.end) {
				return nil, pastEnd, nil
			}
		}
		data := l.buf[l.r:l.w]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			l.r += i + 1
			l.off += int64(i + 1)
			start := l.lineStart
			l.lineStart = l.off
			if l.skip {
				l.skip = false
				continue
			}
			if i > l.maxLine {
				if l.onLong != nil {
					l.onLong(l.path, start)
				}
				continue
			}
			return data[:i], gotLine, nil
		}
		switch {
		case l.skip:
			l.off += int64(len(data))
			l.r, l.w = 0, 0
		case len(data) > l.maxLine:
			if l.onLong != nil {
				l.onLong(l.path, l.lineStart)
			}
			l.skip = true
			l.off += int64(len(data))
			l.r, l.w = 0, 0
		case l.r > 0:
			copy(l.buf, data)
			l.r, l.w = 0, len(data)
		}
		n, err := l.f.ReadAt(l.buf[l.w:], l.off+int64(l.w-l.r))
		l.w += n
		if n == 0 {
			if err == nil || err == io.EOF {
				return nil, needMore, nil
			}
			return nil, needMore, err
		}
	}
}

// rest returns and consumes the bytes after the last '\n' up to the end of
// the file, after next said needMore: the last line of a file that does not
// end with '\n'. It returns nil when there are none or they are being
// skipped.
func (l *lineReader) rest() []byte {
	if l.skip || l.r == l.w {
		return nil
	}
	line := l.buf[l.r:l.w]
	l.off += int64(len(line))
	l.lineStart = l.off
	l.r = l.w
	return line
}

// trimCR drops one trailing '\r', so that files with CRLF line ends give the
// same records as files with LF.
func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}
