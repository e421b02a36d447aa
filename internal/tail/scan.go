package tail

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Scan lists the pattern: it follows renames by identity, opens new files,
// checks every file for truncation and, the first time, applies the
// restored positions.
func (t *Tailer) Scan(now time.Time) error {
	if t.buf == nil {
		// Lines grow it, up to MaxLine and a byte, as lines need.
		t.buf = make([]byte, max(min(t.cfg.BufferSize, t.cfg.MaxLine+1), 1))
		t.scratch = make([]byte, 64<<10)
	}
	matches, err := filepath.Glob(t.cfg.Pattern)
	if err != nil {
		return fmt.Errorf("%s: pattern %q: %w", t.cfg.Name, t.cfg.Pattern, err)
	}
	slices.Sort(matches)
	if t.first && len(matches) == 0 && len(t.restore) == 0 {
		t.log.Info(t.cfg.Name+": the pattern matches no file yet; waiting for files", "pattern", t.cfg.Pattern)
	}
	prev := t.scannedAt
	t.scannedAt = now
	seen := make(map[ID]bool, len(matches))
	var fresh []*File
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil || !fi.Mode().IsRegular() {
			continue // gone since the listing, or not a file
		}
		if id, ok := Identity(fi); ok {
			if f := t.byID[id]; f != nil {
				f.path, seen[id] = m, true
				continue
			}
			if seen[id] {
				continue // a hard link to a file of this scan
			}
		}
		f, err := t.open(m)
		if err != nil {
			closeAll(fresh)
			return err
		}
		if f == nil {
			continue
		}
		if seen[f.id] || t.byID[f.id] != nil {
			// Renamed into a followed name since the listing.
			f.f.Close()
			continue
		}
		seen[f.id] = true
		if i := t.doneIndex(f.id); i >= 0 {
			// Let go, and back under the pattern: read on from its end.
			if d := t.done[i]; t.mismatch(f, d) == "" {
				f.setPos(d.Offset)
			}
			t.done = slices.Delete(t.done, i, i+1)
		}
		fresh = append(fresh, f)
	}
	for _, f := range t.files {
		f.listed = seen[f.id]
	}
	// Check the files followed so far before the new ones join: the copy
	// of a truncated file may be among them.
	for _, f := range slices.Clone(t.files) {
		if err := t.check(f, now, &fresh); err != nil {
			closeAll(fresh)
			return err
		}
	}
	if t.first {
		fresh = t.resume(fresh)
	}
	switch {
	case !prev.IsZero():
		since := prev.Add(-t.cfg.Slack)
		if since.Before(t.floor) {
			since = t.floor
		}
		t.discover(matches, fresh, since)
	case t.first:
		// A first start: what lies outside the pattern now is not ours.
		t.floor = now
	}
	if t.first {
		if t.cfg.StartAtEnd {
			for _, f := range fresh {
				end, err := lastLineEnd(f.f, f.size, t.scratch)
				if err != nil {
					closeAll(fresh)
					return fmt.Errorf("%s: find the end of %s: %w", t.cfg.Name, f.path, err)
				}
				f.setPos(end)
				t.changed = true // commit where the files start
				t.log.Info(t.cfg.Name+": skipping the lines already in the file (start at end)", "file", f.path, "offset", end)
			}
		}
	} else {
		for _, f := range fresh {
			t.log.Info(t.cfg.Name+": following a new file", "file", f.path)
		}
	}
	// Among new files, the oldest first: access.log.1 before access.log.
	slices.SortStableFunc(fresh, func(a, b *File) int {
		return cmp.Or(a.mtime.Compare(b.mtime), cmp.Compare(a.path, b.path))
	})
	for _, f := range fresh {
		t.track(f, -1)
	}
	t.restore, t.first = nil, false
	for _, f := range t.files {
		if err := t.fingerprint(f); err != nil {
			return err
		}
	}
	return nil
}

// resume applies the restored positions (the first scan): to the files of
// fresh with their identity, to files renamed out of the pattern found by
// identity in their directory, and to copies found by fingerprint. It
// returns the fresh files left.
func (t *Tailer) resume(fresh []*File) []*File {
	for _, p := range t.restore {
		if p.Done {
			if i := slices.IndexFunc(fresh, func(f *File) bool { return f.id == p.ID }); i < 0 {
				t.done = append(t.done, p)
			} else if t.mismatch(fresh[i], p) == "" {
				fresh[i].setPos(p.Offset) // back under the pattern: read on
			}
			continue
		}
		var f *File
		if i := slices.IndexFunc(fresh, func(f *File) bool { return f.id == p.ID }); i >= 0 {
			f = fresh[i]
			fresh = slices.Delete(fresh, i, i+1)
		} else if f = t.reopen(p); f != nil {
			f.listed = false
		}
		why := "is gone"
		if f != nil {
			why = t.mismatch(f, p)
		}
		if why == "" {
			f.setPos(p.Offset)
			t.track(f, -1)
			continue
		}
		lost := max(0, p.Size-p.Offset)
		if p.Head.N > 0 && int64(p.Head.N) >= min(p.Offset, HeadMax) {
			if c := t.findCopy(filepath.Dir(p.Path), p.Head, p.Offset, &fresh); c != nil {
				c.setPos(p.Offset)
				t.track(c, -1)
				t.log.Warn(t.cfg.Name+": a file "+why+"; its copy is read on from the position (lines written between the copy and the truncation, if any, are lost)",
					"file", p.Path, "copy", c.path, "offset", p.Offset)
				lost = -1
			}
		}
		switch {
		case f == nil && p.Size > 0 && p.Size == p.Offset:
			// Read to its end, then deleted: nothing is lost.
		case f == nil && lost >= 0:
			t.log.Warn(t.cfg.Name+": a file of the positions is gone, and no copy of it was found in its directory; the lines it had after the position are lost",
				"file", p.Path, "offset", p.Offset, "lost_bytes_at_least", lost)
		case f != nil:
			t.restart(f, why, p.Offset, lost)
			t.track(f, -1)
		}
		t.changed = true
	}
	return fresh
}

// mismatch says why file f cannot be read on from position p, which has
// its identity, or "" if it can.
func (t *Tailer) mismatch(f *File, p Position) string {
	switch {
	case f.size < p.Offset:
		return "is shorter than its position: it was truncated"
	case p.Head.N == 0 && t.cfg.TrustBareIdentity:
	case int64(p.Head.N) < min(p.Offset, HeadMax):
		// A record of an older weir: a rewritten file cannot be told from
		// the same one, and reading lines again is better than losing them.
		return "has a position that its fingerprint does not cover: it may have been rewritten"
	case p.Head.N > 0 && !headIs(f.f, p.Head, t.scratch):
		return "does not begin as it did: it was replaced or rewritten"
	}
	return ""
}

// doneIndex returns the index in t.done of the file with identity id, or -1.
func (t *Tailer) doneIndex(id ID) int {
	return slices.IndexFunc(t.done, func(p Position) bool { return p.ID == id })
}

// restart reads f again from its start. lost is how many bytes after the
// position are known to be lost, or -1 when a copy holds them.
func (t *Tailer) restart(f *File, why string, was, lost int64) {
	switch {
	case lost < 0:
		t.log.Warn(t.cfg.Name+": the file "+why+"; reading it again from its start", "file", f.path, "offset", was, "size", f.size)
	default:
		t.log.Warn(t.cfg.Name+": the file "+why+"; the bytes after the position that were not read yet are lost (rotating with copytruncate loses them; rotate by renaming to lose none); reading it again from its start",
			"file", f.path, "offset", was, "size", f.size, "lost_bytes_at_least", lost)
	}
	f.setPos(0)
	f.head = Head{}
	t.changed = true
	if t.cfg.Restarted != nil {
		t.cfg.Restarted(f.path)
	}
}

// check looks at a followed file: its size, and whether it was truncated
// or rewritten in place since the last scan. The unread end of a file
// truncated by copytruncate is looked for in a copy, among fresh files
// and in its directory.
func (t *Tailer) check(f *File, now time.Time, fresh *[]*File) error {
	fi, err := f.f.Stat()
	if err != nil {
		return fmt.Errorf("%s: stat %s: %w", t.cfg.Name, f.path, err)
	}
	size := fi.Size()
	if size > f.size || f.grewAt.IsZero() {
		f.grewAt = now
	}
	known := max(f.size, f.lines.Extent())
	f.size = size
	pos := f.lines.Pos()
	why := ""
	switch {
	case size < pos:
		why = "is shorter than its position: it was truncated"
	case f.head.N > 0 && !headIs(f.f, f.head, t.scratch):
		why = "does not begin as it did: it was rewritten"
	}
	if why == "" {
		return nil
	}
	lost := max(0, known-pos)
	if c := t.findCopy(filepath.Dir(f.path), f.head, pos, fresh); c != nil {
		c.setPos(pos)
		t.track(c, slices.Index(t.files, f)) // read before the file itself
		t.log.Warn(t.cfg.Name+": a file "+why+"; its copy is read on from the position (lines written between the copy and the truncation, if any, are lost)",
			"file", f.path, "copy", c.path, "offset", pos)
		lost = -1
	}
	t.restart(f, why, pos, lost)
	return nil
}

// fingerprint extends f's fingerprint to the bytes the file has now, up
// to HeadMax.
func (t *Tailer) fingerprint(f *File) error {
	if f.head.N >= HeadMax || f.size <= int64(f.head.N) {
		return nil
	}
	b := t.scratch[:min(f.size, HeadMax)]
	if k, err := f.f.ReadAt(b, 0); k < len(b) {
		return fmt.Errorf("%s: read the start of %s: %w", t.cfg.Name, f.path, err)
	}
	f.head = Head{N: len(b), Sum: sha256.Sum256(b)}
	return nil
}
