package tail

import (
	"bytes"
	"cmp"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// findCopy looks for a copy of a file with fingerprint head that holds at
// least size bytes, not followed yet: first among fresh (it is taken out),
// then in dir. It returns nil when there is none.
func (t *Tailer) findCopy(dir string, head Head, size int64, fresh *[]*File) *File {
	if head.N == 0 {
		return nil
	}
	for i, c := range *fresh {
		if c.size >= size && headIs(c.f, head, t.scratch) {
			*fresh = slices.Delete(*fresh, i, i+1)
			return c
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Size() < size {
			continue
		}
		if id, ok := Identity(info); !ok || t.known(id, *fresh) {
			continue
		}
		c, err := t.openQuiet(filepath.Join(dir, e.Name()))
		if err != nil || c == nil {
			continue
		}
		if !t.known(c.id, *fresh) && c.size >= size && headIs(c.f, head, t.scratch) {
			c.listed = false
			return c
		}
		c.f.Close()
	}
	return nil
}

// known says whether a file with identity id is followed or among fresh.
func (t *Tailer) known(id ID, fresh []*File) bool {
	return t.byID[id] != nil || slices.ContainsFunc(fresh, func(f *File) bool { return f.id == id })
}

// compressed are the suffixes of compressed rotated logs, which are not
// read as lines.
var compressed = []string{".gz", ".bz2", ".xz", ".zst", ".lz4", ".lzma", ".z", ".zip", ".br"}

// discover follows the files that left the pattern before any scan saw
// them (see Config.RestoredAt): unknown regular files, in the directory of
// a file the pattern matches, a followed file or a file let go, whose name
// is or continues that file's name (access.log.1, access.log-20240501 for
// access.log), not compressed, written after since (the scan before, less
// slack). It reads
// them from their start, and on from their end the files let go that grew
// again; it forgets the files let go that are no longer there.
func (t *Tailer) discover(matches []string, fresh []*File, since time.Time) {
	bases := make(map[string][]string) // directory -> names
	add := func(path string) {
		dir, base := filepath.Dir(path), filepath.Base(path)
		if !slices.Contains(bases[dir], base) {
			bases[dir] = append(bases[dir], base)
		}
	}
	inPattern := make(map[string]bool, len(matches))
	for _, m := range matches {
		inPattern[m] = true
		add(m)
	}
	for _, f := range t.files {
		add(f.path)
	}
	for _, d := range t.done {
		add(d.Path)
	}
	listed := make(map[string]bool, len(bases))
	present := make(map[ID]bool)
	var found []*File
	for _, dir := range slices.Sorted(maps.Keys(bases)) {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		listed[dir] = true
		for _, e := range entries {
			name := e.Name()
			path := filepath.Join(dir, name)
			if inPattern[path] ||
				!slices.ContainsFunc(bases[dir], func(b string) bool { return strings.HasPrefix(name, b) }) ||
				slices.ContainsFunc(compressed, func(s string) bool { return strings.HasSuffix(strings.ToLower(name), s) }) {
				continue
			}
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() {
				continue
			}
			id, ok := Identity(info)
			if !ok {
				continue
			}
			present[id] = true
			if t.known(id, fresh) || slices.ContainsFunc(found, func(f *File) bool { return f.id == id }) {
				continue
			}
			i := t.doneIndex(id)
			if i >= 0 && info.Size() <= t.done[i].Offset {
				t.done[i].Path = path
				continue // let go, and unchanged
			}
			if i < 0 && !info.ModTime().After(since) {
				continue // older than the scan before: seen then, or not ours
			}
			f, err := t.openQuiet(path)
			if err != nil || f == nil || f.id != id {
				if f != nil {
					f.f.Close()
				}
				continue
			}
			f.listed = false
			if i >= 0 {
				d := t.done[i]
				t.done = slices.Delete(t.done, i, i+1)
				if t.mismatch(f, d) == "" {
					f.setPos(d.Offset)
					t.log.Info(t.cfg.Name+": a file let go has grown since; reading on", "file", path, "offset", d.Offset)
					found = append(found, f)
					continue
				}
			}
			if f.size == 0 || binary(f.f, t.scratch) || t.copyOfFollowed(f) {
				// Nothing to read yet; not text; or a copy of a followed
				// file (copytruncate, which may not have truncated yet):
				// its lines are read from the file, or from the copy once
				// the truncation is seen.
				f.f.Close()
				continue
			}
			t.log.Warn(t.cfg.Name+": a file left the pattern before any of its lines were read; reading it from its start (match the rotated names too to follow such files by name)",
				"file", path, "size", f.size)
			found = append(found, f)
		}
	}
	// Files let go that their directory no longer holds (deleted,
	// compressed, moved away) will not come back.
	t.done = slices.DeleteFunc(t.done, func(d Position) bool { return listed[filepath.Dir(d.Path)] && !present[d.ID] })
	slices.SortStableFunc(found, func(a, b *File) int {
		return cmp.Or(a.mtime.Compare(b.mtime), cmp.Compare(a.path, b.path))
	})
	// They left the pattern before the files under it began: read them
	// before those.
	at := slices.IndexFunc(t.files, func(f *File) bool { return f.listed })
	if at < 0 {
		at = len(t.files)
	}
	for i, f := range found {
		t.track(f, at+i)
		t.changed = true
	}
}

// copyOfFollowed says whether c begins as a followed file does, over the
// bytes both have of the latter's fingerprint: c is a copy of it, made or
// being made.
func (t *Tailer) copyOfFollowed(c *File) bool {
	a, b := t.scratch[:HeadMax], t.scratch[HeadMax:2*HeadMax]
	for _, f := range t.files {
		n := int(min(c.size, int64(f.head.N)))
		if n == 0 {
			continue
		}
		if k, _ := c.f.ReadAt(a[:n], 0); k < n {
			continue
		}
		if k, _ := f.f.ReadAt(b[:n], 0); k == n && bytes.Equal(a[:n], b[:n]) {
			return true
		}
	}
	return false
}

// binary says whether the first bytes of f hold a NUL: not a text log.
func binary(f *os.File, buf []byte) bool {
	b := buf[:min(len(buf), 4096)]
	k, _ := f.ReadAt(b, 0)
	return bytes.IndexByte(b[:k], 0) >= 0
}
