package ship

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/weirstream/weir/internal/tail"
)

// readAhead is the size the tailer's read buffer starts at, and so of a
// read; the buffer grows, up to MaxLineBytes and a byte, only when a line
// needs it (tail.Lines).
const readAhead = 128 << 10

// line is a line of the batch; b is in the tailer's batch buffer.
type line struct {
	b []byte
}

// tailer follows the files of the pattern (internal/tail) and reads their
// new lines into batches. It is used by one goroutine.
type tailer struct {
	s     *Shipper
	cfg   *Config
	tl    *tail.Tailer
	buf   []byte // the batch's lines
	lines []line
	rr    int // the file read first in the next round
}

func newTailer(s *Shipper, pos *positions) *tailer {
	tc := tail.Config{
		Pattern:    s.cfg.Pattern,
		StartAtEnd: pos == nil && s.cfg.StartAtEnd,
		MaxLine:    s.cfg.MaxLineBytes,
		BufferSize: readAhead,
		Logger:     s.log,
		Name:       "ship",
		OpenError: func(path string, err error) error {
			s.log.Warn("ship: cannot open a file of the pattern; skipping it until it can be read"+permissionHint(err), "file", path, "err", err)
			return nil
		},
		Restarted: func(string) { s.truncations.Add(1) },
	}
	if pos != nil {
		tc.Restore = make([]tail.Position, 0, len(pos.Files))
		for _, p := range pos.Files {
			tc.Restore = append(tc.Restore, p.position())
		}
		tc.RestoredAt = pos.Time
	}
	return &tailer{s: s, cfg: &s.cfg, tl: tail.New(tc), buf: make([]byte, s.cfg.MaxBatchBytes)}
}

// permissionHint says what to do about an error that denies access.
func permissionHint(err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return "; run the shipper as a user that can read the logs (on Debian and Ubuntu, a member of group adm)"
	}
	return ""
}

// close closes every file.
func (t *tailer) close() { t.tl.Close() }

// scan lists the pattern (tail.Tailer.Scan).
func (t *tailer) scan(now time.Time) error {
	err := t.tl.Scan(now)
	if errors.Is(err, filepath.ErrBadPattern) { // validated by New
		return fmt.Errorf("%w: %w", errFatalFile, err)
	}
	return err
}

// batch is what a round ships.
type batch struct {
	lines []line
	bytes int64
	// more says the batch is full: more lines wait.
	more bool
	// changed says positions moved without a line (a skipped line, a
	// truncated or forgotten file): the round commits them.
	changed bool
}

// read reads the next lines of every file into a batch, up to
// MaxBatchLines and MaxBatchBytes, starting with a different file each
// round so that a busy file cannot starve the others.
func (t *tailer) read(now time.Time) (batch, error) {
	b := batch{changed: t.tl.Changed()}
	t.lines = t.lines[:0]
	used := 0
	files := t.tl.Files()
	n := len(files)
	busy := false // a long line is being skipped: read on at once
	for i := 0; i < n && !b.more; i++ {
		f := files[(t.rr+i)%n]
		atEnd, skipped, err := t.readFile(f, &used, &b, &busy)
		if err != nil {
			return batch{}, err
		}
		b.changed = b.changed || skipped
		if !atEnd || !f.Quiet(now, t.cfg.RotationGrace) {
			continue
		}
		// Left the pattern and its writer has let it go: ship its
		// unterminated last line, if it has one, and forget it.
		l, st := f.Rest()
		switch st {
		case tail.GotLong:
			t.skip(f, l)
		case tail.GotLine:
			if !t.add(l.Bytes, &used) {
				f.Unread()
				b.more = true
				continue // next round
			}
		}
		t.tl.Forget(f)
		b.changed = true
	}
	t.rr++
	b.more = b.more || busy
	b.lines = t.lines
	for _, l := range b.lines {
		b.bytes += int64(len(l.b))
	}
	return b, nil
}

// readFile reads the complete lines of f into the batch. It reports atEnd
// when it read all there is, and skipped when it skipped a line too long
// to ship; it sets b.more when the batch is full, and *busy when a long
// line is still being skipped.
func (t *tailer) readFile(f *tail.File, used *int, b *batch, busy *bool) (atEnd, skipped bool, err error) {
	for {
		if len(t.lines) >= t.cfg.MaxBatchLines {
			b.more = true
			return false, skipped, nil
		}
		l, st, err := f.Next()
		if err != nil {
			return false, skipped, fmt.Errorf("ship: read %s at offset %d: %w", f.Path(), f.Pos(), err)
		}
		switch st {
		case tail.GotLine:
			if !t.add(l.Bytes, used) {
				f.Unread()
				b.more = true
				return false, skipped, nil
			}
		case tail.GotLong:
			t.skip(f, l)
			skipped = true
		case tail.Skipping:
			*busy = true
			return false, skipped, nil
		default:
			return true, skipped, nil
		}
	}
}

// add copies a line into the batch buffer, if it has room.
func (t *tailer) add(l []byte, used *int) bool {
	l = trimCR(l)
	if len(l) > len(t.buf)-*used {
		return false
	}
	b := t.buf[*used : *used+len(l)]
	copy(b, l)
	*used += len(l)
	t.lines = append(t.lines, line{b})
	return true
}

// skip counts and logs a line too long to ship.
func (t *tailer) skip(f *tail.File, l tail.Line) {
	t.s.skipped.Add(1)
	t.s.log.Warn("ship: skipping a line longer than MaxLineBytes", "file", f.Path(), "offset", l.Offset, "bytes", l.Len)
}

// positions returns the positions after the round in progress. Each
// file's fingerprint covers the bytes before its offset, or its first
// tail.HeadMax bytes: a resume relies on it.
func (t *tailer) positions(id string, now time.Time) positions {
	ps := t.tl.Positions()
	p := positions{Version: positionsVersion, Shipper: id, Time: t.tl.ScannedAt().UTC(), Files: make([]filePosition, 0, len(ps))}
	if p.Time.IsZero() {
		p.Time = now.UTC()
	}
	for _, tp := range ps {
		fp := filePosition{Path: tp.Path, Dev: tp.ID.Dev, Ino: tp.ID.Ino, Offset: tp.Offset, HeadLen: tp.Head.N, Size: tp.Size, Done: tp.Done}
		if tp.Head.N > 0 {
			fp.Head = hex.EncodeToString(tp.Head.Sum[:])
		}
		p.Files = append(p.Files, fp)
	}
	return p
}

// commit makes the round's positions the committed ones and drops the
// forgotten files.
func (t *tailer) commit() { t.tl.Commit() }

// lag returns the bytes of the followed files not committed yet.
func (t *tailer) lag() int64 { return t.tl.Lag() }

// files returns how many files are followed.
func (t *tailer) files() int { return len(t.tl.Files()) }

// trimCR drops the '\r' of a "\r\n" line end.
func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}
