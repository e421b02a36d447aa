package ship

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// headMax is how many first bytes of a file its fingerprint covers.
const headMax = 256

// skipChunk is the size of the reads that look for the end of a line too
// long to ship, and skipBudget bounds the bytes one round looks at.
const (
	skipChunk  = 64 << 10
	skipBudget = 64 << 20
)

// tracked is one followed file. Its fd follows it across renames.
type tracked struct {
	id   fileID
	f    *os.File
	path string // its name when last seen
	// off is the committed offset: after the last line of the last
	// committed transaction. next is where the round in progress got to.
	off, next int64
	size      int64     // at the last look
	found     time.Time // modification time when found: orders new files
	listed    bool      // the last scan found it under the pattern
	grewAt    time.Time // when it was last seen to grow
	// head fingerprints the first min(size, headMax) bytes as of the last
	// scan. A round reads no further than it covers (see readEnd), so every
	// position recorded comes with a fingerprint of the bytes before it.
	head head
	// forget says the round in progress ships its unterminated tail, if
	// any, and drops the file once it commits.
	forget bool
	// skipAt, when not -1, is the start of a line too long to ship, whose
	// end is being looked for from skipScan.
	skipAt, skipScan int64
}

// head fingerprints the first n bytes of a file.
type head struct {
	n   int
	sum [sha256.Size]byte
}

// readEnd returns how far a round may read tr. While its fingerprint covers
// fewer than headMax bytes, the file was that short at the scan, and a
// round reads only those bytes: a position beyond them would be recorded
// without a fingerprint of what precedes it, and a resume could not tell
// the file from one rewritten in place. The bytes written since wait for
// the next scan to fingerprint them.
func (tr *tracked) readEnd() int64 {
	if tr.head.n < headMax {
		return int64(tr.head.n)
	}
	return math.MaxInt64
}

// line is a line of the batch; b is in the tailer's buffer.
type line struct {
	t *tracked
	b []byte
}

// tailer follows the files of the pattern and reads their new lines into
// batches. It is used by one goroutine.
type tailer struct {
	s     *Shipper
	cfg   *Config
	log   *slog.Logger
	files []*tracked // in reading order
	byID  map[fileID]*tracked

	restore []filePosition // applied by the first scan
	first   bool           // the first scan is to come
	atEnd   bool           // the first scan starts unlisted files at their end
	dirty   bool           // positions changed without a line: commit them

	buf     []byte // the batch's lines
	scratch []byte // for fingerprints and skipping
	lines   []line
	rr      int             // the file read first in the next round
	warned  map[string]bool // paths whose open failed, warned once
}

func newTailer(s *Shipper, pos *positions) *tailer {
	t := &tailer{
		s:       s,
		cfg:     &s.cfg,
		log:     s.log,
		byID:    make(map[fileID]*tracked),
		first:   true,
		atEnd:   pos == nil && s.cfg.StartAtEnd,
		buf:     make([]byte, s.cfg.MaxBatchBytes),
		scratch: make([]byte, skipChunk),
		warned:  make(map[string]bool),
	}
	if pos != nil {
		t.restore = pos.Files
	}
	return t
}

// close closes every file.
func (t *tailer) close() {
	for _, tr := range t.files {
		tr.f.Close() // read-only: nothing to lose
	}
	t.files, t.byID = nil, nil
}

// scan lists the pattern: it follows renames by identity, opens new files,
// checks every file for truncation and, the first time, applies the
// restored positions.
func (t *tailer) scan(now time.Time) error {
	matches, err := filepath.Glob(t.cfg.Pattern)
	if err != nil {
		return fmt.Errorf("%w: pattern %q: %w", errFatalFile, t.cfg.Pattern, err) // validated by New
	}
	slices.Sort(matches)
	if t.first && len(matches) == 0 {
		t.log.Info("ship: the pattern matches no file yet; waiting for files", "pattern", t.cfg.Pattern)
	}
	wanted := make(map[fileID]filePosition, len(t.restore))
	for _, p := range t.restore {
		wanted[fileID{p.Dev, p.Ino}] = p
	}
	seen := make(map[fileID]bool, len(matches))
	var fresh []*tracked
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil || !fi.Mode().IsRegular() {
			continue // gone since the listing, or not a file
		}
		if id, ok := identity(fi); ok {
			if tr := t.byID[id]; tr != nil {
				tr.path, seen[id] = m, true
				continue
			}
		}
		tr := t.open(m)
		if tr == nil {
			continue
		}
		if seen[tr.id] || t.byID[tr.id] != nil {
			// A hard link, or renamed into a tracked name since the listing.
			tr.f.Close()
			continue
		}
		seen[tr.id] = true
		if p, ok := wanted[tr.id]; ok {
			t.resume(tr, p)
			delete(wanted, tr.id)
		} else if t.atEnd {
			end, err := lastLineEnd(tr.f, tr.size, t.scratch)
			if err != nil {
				tr.f.Close()
				return fmt.Errorf("ship: find the end of %s: %w", m, err)
			}
			tr.off = end
			t.dirty = true // commit where the files start
			t.log.Info("ship: skipping the lines already in the file (StartAtEnd)", "file", m, "offset", end)
		} else if !t.first {
			t.log.Info("ship: following a new file", "file", m)
		}
		fresh = append(fresh, tr)
	}
	for _, tr := range t.files {
		tr.listed = seen[tr.id]
	}
	// Restored files keep their order; those no longer under the pattern
	// (rotated while no shipper ran) are looked for in their directory, to
	// ship their end.
	if t.first {
		for _, p := range t.restore {
			id := fileID{p.Dev, p.Ino}
			if _, ok := wanted[id]; !ok {
				continue
			}
			tr := t.reopen(p, id)
			if tr == nil {
				t.log.Warn("ship: a file in the positions is gone; the lines it had after the position are lost", "file", p.Path, "offset", p.Offset)
				t.dirty = true
				continue
			}
			t.resume(tr, p)
			t.track(tr)
		}
	}
	slices.SortStableFunc(fresh, func(a, b *tracked) int {
		return cmp.Or(a.found.Compare(b.found), cmp.Compare(a.path, b.path))
	})
	for _, tr := range fresh {
		t.track(tr)
	}
	t.restore, t.first, t.atEnd = nil, false, false
	for _, tr := range t.files {
		if err := t.check(tr, now); err != nil {
			return err
		}
	}
	return nil
}

// track adds tr to the files read.
func (t *tailer) track(tr *tracked) {
	t.byID[tr.id] = tr
	t.files = append(t.files, tr)
}

// resume applies a restored position to a file just opened: from the
// offset if the file is the one the positions knew, from its start with a
// warning if it was truncated or replaced, or if the position's
// fingerprint does not cover the bytes before the offset (a record of an
// older weir): then a rewritten file cannot be told from the same one, and
// shipping lines again is better than losing them.
func (t *tailer) resume(tr *tracked, p filePosition) {
	switch {
	case tr.size < p.Offset:
		t.restart(tr, "is shorter than its position: it was truncated", p.Offset)
	case int64(p.HeadLen) < min(p.Offset, headMax):
		t.restart(tr, "has a position that its fingerprint does not cover: it may have been rewritten", p.Offset)
	case p.HeadLen > 0 && !t.headIs(tr, p.HeadLen, p.Head):
		t.restart(tr, "does not begin as it did: it was replaced or rewritten", p.Offset)
	default:
		tr.off = p.Offset
	}
}

// restart reads tr again from its start.
func (t *tailer) restart(tr *tracked, why string, was int64) {
	t.log.Warn("ship: the file "+why+"; shipping it again from its start", "file", tr.path, "offset", was, "size", tr.size)
	t.s.truncations.Add(1)
	tr.off, tr.head, tr.skipAt = 0, head{}, -1
	t.dirty = true
}

// headIs reports whether the first n bytes of tr hash to the hex sum.
func (t *tailer) headIs(tr *tracked, n int, sum string) bool {
	b := t.scratch[:min(n, len(t.scratch))]
	if k, _ := tr.f.ReadAt(b, 0); k < len(b) {
		return false
	}
	got := sha256.Sum256(b)
	return hex.EncodeToString(got[:]) == sum
}

// check looks at a followed file: its size, whether it was truncated or
// rewritten, and its fingerprint.
func (t *tailer) check(tr *tracked, now time.Time) error {
	fi, err := tr.f.Stat()
	if err != nil {
		return fmt.Errorf("ship: stat %s: %w", tr.path, err)
	}
	size := fi.Size()
	if size > tr.size || tr.grewAt.IsZero() {
		tr.grewAt = now
	}
	tr.size = size
	if size < tr.off {
		t.restart(tr, "is shorter than what was shipped: it was truncated", tr.off)
	} else if tr.head.n > 0 {
		b := t.scratch[:tr.head.n]
		if k, _ := tr.f.ReadAt(b, 0); k < len(b) || sha256.Sum256(b) != tr.head.sum {
			t.restart(tr, "does not begin as it did: it was rewritten", tr.off)
		}
	}
	if tr.head.n < headMax && size > int64(tr.head.n) {
		b := t.scratch[:min(size, headMax)]
		if k, err := tr.f.ReadAt(b, 0); k < len(b) {
			return fmt.Errorf("ship: read the start of %s: %w", tr.path, err)
		}
		tr.head = head{n: len(b), sum: sha256.Sum256(b)}
	}
	return nil
}

// open opens the file at path; it returns nil when the file is gone or
// cannot be read (warned once).
func (t *tailer) open(path string) *tracked {
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !t.warned[path] {
			t.warned[path] = true
			t.log.Warn("ship: cannot open a file of the pattern; skipping it until it can be read", "file", path, "err", err)
		}
		return nil
	}
	delete(t.warned, path)
	// The identity of the open file, not of the name, which may have
	// changed hands since the listing.
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil
	}
	id, ok := identity(fi)
	if !ok {
		f.Close()
		return nil
	}
	return &tracked{id: id, f: f, path: path, size: fi.Size(), found: fi.ModTime(), listed: true, skipAt: -1}
}

// reopen finds a restored file that the pattern no longer matches: under
// its last name, or renamed within its directory.
func (t *tailer) reopen(p filePosition, id fileID) *tracked {
	candidates := []string{p.Path}
	dir := filepath.Dir(p.Path)
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				if eid, ok := identity(info); ok && eid == id {
					candidates = append(candidates, filepath.Join(dir, e.Name()))
				}
			}
		}
	}
	for _, path := range candidates {
		tr := t.open(path)
		if tr == nil {
			continue
		}
		if tr.id == id {
			tr.listed = false
			return tr
		}
		tr.f.Close()
	}
	return nil
}

// lastLineEnd returns the offset after the last '\n' in the first size
// bytes of f, or 0.
func lastLineEnd(f *os.File, size int64, buf []byte) (int64, error) {
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
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
	b := batch{changed: t.dirty}
	t.lines = t.lines[:0]
	used := 0
	n := len(t.files)
	for i := range n {
		tr := t.files[(t.rr+i)%n]
		tr.next, tr.forget = tr.off, false
	}
	for i := 0; i < n && !b.more; i++ {
		tr := t.files[(t.rr+i)%n]
		full, skipped, err := t.readFile(tr, &used)
		if err != nil {
			return batch{}, err
		}
		b.changed = b.changed || skipped
		if full {
			b.more = true
			break
		}
		if tr.listed || now.Sub(tr.grewAt) < t.cfg.RotationGrace || tr.skipAt >= 0 || tr.next > tr.size {
			continue // in the pattern, or not quiet (it grew since the scan)
		}
		// Left the pattern and its writer has let it go: ship its
		// unterminated tail, if it has one, and forget it.
		tail := tr.size - tr.next
		switch {
		case tail <= 0:
		case tail > int64(t.cfg.MaxLineBytes):
			t.s.skipped.Add(1)
			t.log.Warn("ship: skipping the unterminated last line of a rotated file: it is longer than MaxLineBytes", "file", tr.path, "offset", tr.next, "bytes", tail)
		case tail > int64(len(t.buf)-used) || len(t.lines) >= t.cfg.MaxBatchLines:
			b.more = true
			continue // next round
		default:
			buf := t.buf[used : used+int(tail)]
			if _, err := tr.f.ReadAt(buf, tr.next); err != nil && !errors.Is(err, io.EOF) {
				return batch{}, fmt.Errorf("ship: read %s at offset %d: %w", tr.path, tr.next, err)
			}
			t.lines = append(t.lines, line{tr, trimCR(buf)})
			used += len(buf)
		}
		tr.next = tr.size
		tr.forget, b.changed = true, true
	}
	t.rr++
	b.lines = t.lines
	for _, l := range b.lines {
		b.bytes += int64(len(l.b))
	}
	return b, nil
}

// readFile reads the complete lines of tr from tr.next into the buffer
// from *used, up to tr.readEnd(). It reports full when the batch has no
// more room, and skipped when it skipped a line too long to ship.
func (t *tailer) readFile(tr *tracked, used *int) (full, skipped bool, err error) {
	end := tr.readEnd()
	for {
		if tr.skipAt >= 0 {
			// Set only with a whole fingerprint (below), which restart
			// clears with it: skip may read on to the line's end.
			found, err := t.skip(tr)
			if err != nil || !found {
				return false, skipped, err
			}
			skipped = true
		}
		if len(t.lines) >= t.cfg.MaxBatchLines {
			return true, skipped, nil
		}
		rem := t.buf[*used:]
		if len(rem) == 0 {
			return true, skipped, nil
		}
		capped := false
		if room := end - tr.next; room < int64(len(rem)) {
			if room <= 0 {
				return false, skipped, nil // the rest waits for the next scan
			}
			rem, capped = rem[:room], true
		}
		k, err := tr.f.ReadAt(rem, tr.next)
		if err != nil && !errors.Is(err, io.EOF) {
			return false, skipped, fmt.Errorf("ship: read %s at offset %d: %w", tr.path, tr.next, err)
		}
		data := rem[:k]
		consumed := 0
		for len(t.lines) < t.cfg.MaxBatchLines {
			i := bytes.IndexByte(data[consumed:], '\n')
			if i < 0 {
				break
			}
			l := data[consumed : consumed+i]
			if len(trimCR(l)) > t.cfg.MaxLineBytes {
				t.s.skipped.Add(1)
				skipped = true
				t.log.Warn("ship: skipping a line longer than MaxLineBytes", "file", tr.path, "offset", tr.next+int64(consumed), "bytes", len(l))
			} else {
				t.lines = append(t.lines, line{tr, trimCR(l)})
			}
			consumed += i + 1
		}
		if consumed == 0 {
			switch {
			case k < len(rem), capped:
				// A partial line waits for its '\n', or for the next scan
				// to fingerprint what follows.
				return false, skipped, nil
			case len(rem) > t.cfg.MaxLineBytes && end == math.MaxInt64:
				// No '\n' in more than MaxLineBytes: too long to ship.
				tr.skipAt, tr.skipScan = tr.next, tr.next+int64(k)
				continue
			default:
				return true, skipped, nil // it may fit in the next round
			}
		}
		*used += consumed
		tr.next += int64(consumed)
	}
}

// skip looks for the end of the line too long to ship that starts at
// tr.skipAt. When it finds it, tr.next moves past it.
func (t *tailer) skip(tr *tracked) (found bool, err error) {
	for scanned := 0; scanned < skipBudget; {
		k, err := tr.f.ReadAt(t.scratch, tr.skipScan)
		if err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("ship: read %s at offset %d: %w", tr.path, tr.skipScan, err)
		}
		if i := bytes.IndexByte(t.scratch[:k], '\n'); i >= 0 {
			end := tr.skipScan + int64(i) + 1
			t.s.skipped.Add(1)
			t.log.Warn("ship: skipping a line longer than MaxLineBytes", "file", tr.path, "offset", tr.skipAt, "bytes", end-1-tr.skipAt)
			tr.next, tr.skipAt = end, -1
			return true, nil
		}
		tr.skipScan += int64(k)
		scanned += k
		if k < len(t.scratch) {
			return false, nil // its end is not written yet
		}
	}
	return false, nil
}

// positions returns the positions after the round in progress. Each
// file's fingerprint covers the bytes before its offset, or its first
// headMax bytes (see readEnd): resume relies on it.
func (t *tailer) positions(id string, now time.Time) positions {
	p := positions{Version: positionsVersion, Shipper: id, Time: now.UTC(), Files: make([]filePosition, 0, len(t.files))}
	for _, tr := range t.files {
		if tr.forget {
			continue
		}
		fp := filePosition{Path: tr.path, Dev: tr.id.dev, Ino: tr.id.ino, Offset: tr.next, HeadLen: tr.head.n}
		if tr.head.n > 0 {
			fp.Head = hex.EncodeToString(tr.head.sum[:])
		}
		p.Files = append(p.Files, fp)
	}
	return p
}

// commit makes the round's positions the committed ones and drops the
// forgotten files.
func (t *tailer) commit() {
	t.dirty = false
	kept := t.files[:0]
	for _, tr := range t.files {
		tr.off = tr.next
		if tr.forget {
			t.log.Info("ship: the rotated file is shipped to its end; forgetting it", "file", tr.path)
			tr.f.Close() // read-only: nothing to lose
			delete(t.byID, tr.id)
			continue
		}
		kept = append(kept, tr)
	}
	clear(t.files[len(kept):])
	t.files = kept
}

// lag returns the bytes of the followed files not committed yet.
func (t *tailer) lag() int64 {
	var n int64
	for _, tr := range t.files {
		n += max(0, tr.size-tr.off)
	}
	return n
}

// trimCR drops the '\r' of a "\r\n" line end.
func trimCR(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\r' {
		return b[:n-1]
	}
	return b
}
