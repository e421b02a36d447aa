package file

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/splitreader"
)

// newFollowReader returns the reader of one subtask in follow mode: the
// split reader base, asking for the pattern's split, which only subtask 0
// gets; the readers of the other subtasks end at once.
func newFollowReader(src *Source, ctx source.ReaderContext) source.Reader[string] {
	open := func(_ context.Context, s *Split) (splitreader.Reader[string, *Split], error) {
		if !s.Follow || s.Path != src.pattern {
			return nil, fmt.Errorf("file: a follow reader of %q got split %q; give a file source only the splits its own enumerator made", src.pattern, s.SplitID())
		}
		r := &followReader{src: src, byID: make(map[fileID]*tailed)}
		r.split = s.clone()
		r.restore = r.split.Files
		r.split.Files = nil
		return r, nil
	}
	// Concurrent: the split never finishes, and must not keep another
	// from being read.
	return splitreader.New(ctx, open, splitreader.Options{Concurrent: true, Name: "file"})
}

// followReader tails the files of a pattern: it reads the pattern's one
// split. It reads synchronously inside Read (reads of a local file are
// quick) and keeps no goroutine.
//
// All tracked files share one buffer; the file that used it last is its
// owner, and gives it up (dropping what it buffered) when another file reads.
type followReader struct {
	src   *Source
	buf   []byte
	arena arena // the lines' memory

	split   *Split      // the pattern's split, without its files
	restore []FileState // positions from the split, applied by the first scan
	files   []*tailed   // in reading order: restored, then by discovery
	byID    map[fileID]*tailed
	owner   *tailed // the file whose bytes are in buf

	scanned   bool
	lastScan  time.Time
	idleUntil time.Time // no new data was found: do not look before then
}

// tailed is one followed file.
type tailed struct {
	id    fileID
	file  *os.File
	lines lineReader // lines.path is the file's current name
	mtime time.Time  // modification time when found; orders new files
	// listed is whether the last scan found the file under the pattern.
	listed bool
	// eofSince is when an unlisted file was first seen at its end without
	// growing since; zero otherwise.
	eofSince time.Time
}

// Read lists the pattern when PollInterval has passed, then emits up to 4096
// complete lines, reading the files in order: a rotated file is read to its
// end before the file that replaced it. It never waits, and the split never
// finishes.
func (r *followReader) Read(_ context.Context, out source.Output[string]) (splitreader.Status, error) {
	cfg := &r.src.cfg
	now := time.Now()
	if !r.scanned || now.Sub(r.lastScan) >= cfg.pollInterval {
		if err := r.scan(now); err != nil {
			return splitreader.NothingAvailable, err
		}
	} else if now.Before(r.idleUntil) {
		return splitreader.NothingAvailable, nil
	}
	n := 0
	for i := 0; i < len(r.files) && n < batchLines; i++ {
		t := r.files[i]
		if r.owner != t {
			if r.owner != nil {
				r.owner.lines.reset()
			}
			r.owner = t
		}
		grew, atEnd := false, false
		for n < batchLines {
			line, st, err := t.lines.next()
			if err != nil {
				return splitreader.NothingAvailable, fmt.Errorf("file: read %s at offset %d: %w", t.lines.path, t.lines.off, err)
			}
			if st != gotLine {
				atEnd = true
				break
			}
			out.Collect(r.arena.String(trimCR(line)))
			n++
			grew = true
		}
		if !atEnd || t.listed {
			continue
		}
		if grew || t.eofSince.IsZero() {
			t.eofSince = now
		}
		if now.Sub(t.eofSince) >= cfg.rotationGrace {
			// Its writer has let it go: a last line without '\n' is complete.
			if last := t.lines.rest(); last != nil {
				out.Collect(r.arena.String(trimCR(last)))
				n++
			}
			r.drop(i)
			i--
		}
	}
	switch {
	case n >= batchLines:
		return splitreader.MoreAvailable, nil
	case n == 0:
		r.idleUntil = now.Add(cfg.pollInterval)
	}
	return splitreader.NothingAvailable, nil
}

// drop stops tracking files[i].
func (r *followReader) drop(i int) {
	t := r.files[i]
	t.file.Close() // read-only: nothing to lose
	if r.owner == t {
		r.owner = nil
	}
	delete(r.byID, t.id)
	r.files = slices.Delete(r.files, i, i+1)
}

// scan lists the pattern: it follows renames by identity, notices truncated
// files, opens new files and, the first time, applies restored positions.
func (r *followReader) scan(now time.Time) error {
	r.lastScan, r.scanned = now, true
	r.idleUntil = time.Time{}
	if r.buf == nil {
		r.buf = make([]byte, r.src.cfg.bufferSize())
	}
	matches, err := filepath.Glob(r.src.pattern)
	if err != nil {
		return fmt.Errorf("file: pattern %q: %w", r.src.pattern, err) // validated by NewSource
	}
	slices.Sort(matches)
	seen := make(map[fileID]bool, len(matches))
	var fresh []*tailed
	restored := make(map[fileID]*tailed)
	wanted := make(map[fileID]FileState, len(r.restore))
	for _, st := range r.restore {
		wanted[fileID{st.Device, st.Inode}] = st
	}
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil || !fi.Mode().IsRegular() {
			continue // gone since the listing, or not a file
		}
		if id, ok := identity(fi); ok {
			if t := r.byID[id]; t != nil {
				seen[id] = true
				t.lines.path = m
				if fi.Size() < t.lines.off {
					// Truncated in place (copytruncate): start again.
					t.lines.seek(0)
				}
				continue
			}
		}
		t, err := r.open(m)
		if err != nil {
			return err
		}
		if t == nil || seen[t.id] {
			if t != nil {
				t.file.Close()
			}
			continue
		}
		seen[t.id] = true
		if st, ok := wanted[t.id]; ok {
			t.lines.seek(st.Offset)
			restored[t.id] = t
		} else {
			fresh = append(fresh, t)
		}
	}
	for _, t := range r.files {
		t.listed = seen[t.id]
		if t.listed {
			t.eofSince = time.Time{}
		}
	}
	// Restored files keep their order; those no longer under the pattern are
	// looked for under their last name, to be read to their end.
	for _, st := range r.restore {
		id := fileID{st.Device, st.Inode}
		t := restored[id]
		if t == nil {
			if t = r.reopen(st, id); t == nil {
				continue // gone: what was not read of it is lost
			}
			t.listed = false
			t.lines.seek(st.Offset)
		}
		r.track(t)
	}
	r.restore = nil
	// Among new files, the oldest first: access.log.1 before access.log.
	slices.SortStableFunc(fresh, func(a, b *tailed) int {
		return cmp.Or(a.mtime.Compare(b.mtime), cmp.Compare(a.lines.path, b.lines.path))
	})
	for _, t := range fresh {
		r.track(t)
	}
	return nil
}

// reopen finds a restored file that the pattern no longer matches: under
// its last name, or renamed within the same directory (rotated while the job
// was down). It returns nil if the file is gone.
func (r *followReader) reopen(st FileState, id fileID) *tailed {
	candidates := []string{st.Path}
	dir := filepath.Dir(st.Path)
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
		t, err := r.open(path)
		if err != nil || t == nil {
			continue
		}
		if t.id == id {
			return t
		}
		t.file.Close()
	}
	return nil
}

// track adds t to the files read, unless a file with its identity is
// already tracked.
func (r *followReader) track(t *tailed) {
	if r.byID[t.id] != nil {
		t.file.Close()
		return
	}
	r.byID[t.id] = t
	r.files = append(r.files, t)
}

// open opens the file at path for tailing from its start. It returns nil
// and no error when the file is gone or is already tracked.
func (r *followReader) open(path string) (*tailed, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("file: follow %q: open %s: %w; make it readable or narrow the pattern", r.src.pattern, path, err)
	}
	// The identity of the open file, not of the name, which may have
	// changed hands since the listing.
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("file: follow %q: stat %s: %w", r.src.pattern, path, err)
	}
	id, ok := identity(fi)
	if !ok || r.byID[id] != nil {
		f.Close()
		if ok {
			r.byID[id].lines.path = path
		}
		return nil, nil
	}
	cfg := &r.src.cfg
	t := &tailed{id: id, file: f, mtime: fi.ModTime(), listed: true}
	t.lines = lineReader{
		f:       f,
		path:    path,
		buf:     r.buf,
		end:     -1,
		maxLine: cfg.maxLineSize,
		onLong:  cfg.onLongLine,
	}
	return t, nil
}

// Split returns the pattern's split with the position of every tracked
// file.
func (r *followReader) Split() *Split {
	s := r.split.clone()
	s.Files = make([]FileState, 0, len(r.files)+len(r.restore))
	for _, t := range r.files {
		s.Files = append(s.Files, FileState{
			Path:   t.lines.path,
			Device: t.id.dev,
			Inode:  t.id.ino,
			Offset: t.lines.lineStart,
		})
	}
	s.Files = append(s.Files, r.restore...) // not yet found by a scan
	return s
}

// Close closes every tracked file.
func (r *followReader) Close() error {
	for _, t := range r.files {
		t.file.Close() // read-only: nothing to lose
	}
	r.files, r.byID, r.owner = nil, nil, nil
	return nil
}
