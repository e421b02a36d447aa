package tail

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// done returns the position of a file read to its end and let go.
func (f *File) done() Position {
	end := f.lines.Pos()
	return Position{Path: f.path, ID: f.id, Offset: end, Head: f.head, Size: end, Done: true}
}

// Path returns the file's name when it was last seen.
func (f *File) Path() string { return f.path }

// Listed says whether the last scan found the file under the pattern.
func (f *File) Listed() bool { return f.listed }

// Pos returns the offset of the next line to read.
func (f *File) Pos() int64 { return f.lines.Pos() }

// Next returns the file's next line (see Lines.Next).
func (f *File) Next() (Line, Status, error) {
	f.use()
	return f.lines.Next()
}

// Rest returns the file's last line without '\n' (see Lines.Rest).
func (f *File) Rest() (Line, Status) {
	f.use()
	return f.lines.Rest()
}

// Unread gives back the last line Next or Rest returned (see Lines.Unread).
func (f *File) Unread() { f.lines.Unread() }

// setPos makes f read on from off, a line start, as if committed there.
func (f *File) setPos(off int64) {
	f.lines.SetPos(off)
	f.offset = off
}

// use makes f the owner of the shared buffer.
func (f *File) use() {
	if t := f.t; t.owner != f {
		if t.owner != nil {
			t.owner.lines.Reset()
		}
		t.owner = f
	}
}

// Quiet says that f, read to its end (Next said NeedMore), has left the
// pattern and has not grown for grace, nor since the last scan: its writer
// has let it go, so a last line without '\n' is complete, and the file can
// be forgotten.
func (f *File) Quiet(now time.Time, grace time.Duration) bool {
	if f.listed || f.lines.InLine() || f.lines.Extent() != f.size || now.Sub(f.grewAt) < grace {
		return false
	}
	fi, err := f.f.Stat()
	return err == nil && fi.Size() == f.size
}

// ReadAt reads the file, but no further than its fingerprint covers while
// that is fewer than HeadMax bytes: the file was that short at the last
// scan, and a position beyond them would be taken without a fingerprint
// of what precedes it, so that a resume could not tell the file from one
// rewritten in place. The bytes written since wait for the next scan.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if f.head.N < HeadMax {
		limit := int64(f.head.N)
		if off >= limit {
			return 0, io.EOF
		}
		if room := limit - off; int64(len(p)) > room {
			p = p[:room]
		}
	}
	return f.f.ReadAt(p, off)
}

// open opens the file of the pattern at path to read it from its start.
// It returns nil and no error when the file is gone or cannot be opened
// and OpenError says to skip it.
func (t *Tailer) open(path string) (*File, error) {
	f, err := t.openQuiet(path)
	switch {
	case err == nil:
		delete(t.warned, path)
		return f, nil
	case errors.Is(err, fs.ErrNotExist), t.warned[path]:
		return nil, nil
	case t.cfg.OpenError == nil:
		return nil, err
	}
	if err := t.cfg.OpenError(path, err); err != nil {
		return nil, err
	}
	t.warned[path] = true
	return nil, nil
}

// openQuiet opens the file at path to read it from its start; it returns
// nil and no error when the file has no identity.
func (t *Tailer) openQuiet(path string) (*File, error) {
	osf, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// The identity of the open file, not of the name, which may have
	// changed hands since the listing.
	fi, err := osf.Stat()
	if err != nil {
		osf.Close()
		return nil, err
	}
	id, ok := Identity(fi)
	if !ok {
		osf.Close()
		return nil, nil
	}
	f := &File{t: t, id: id, f: osf, path: path, size: fi.Size(), mtime: fi.ModTime(), listed: true}
	f.lines = NewLines(f, &t.buf, t.cfg.MaxLine)
	return f, nil
}

// reopen finds a restored file that the pattern no longer matches: under
// its last name, or renamed within its directory. It returns nil if the
// file is gone.
func (t *Tailer) reopen(p Position) *File {
	candidates := []string{p.Path}
	dir := filepath.Dir(p.Path)
	if entries, err := os.ReadDir(dir); err == nil {
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
				if id, ok := Identity(info); ok && id == p.ID {
					candidates = append(candidates, filepath.Join(dir, e.Name()))
				}
			}
		}
	}
	for _, path := range candidates {
		f, err := t.openQuiet(path)
		if err != nil || f == nil {
			continue
		}
		if f.id == p.ID && t.byID[f.id] == nil {
			return f
		}
		f.f.Close()
	}
	return nil
}

// headIs reports whether the first head.N bytes of f hash to head.Sum.
func headIs(f io.ReaderAt, head Head, scratch []byte) bool {
	b := scratch[:min(head.N, len(scratch))]
	if k, _ := f.ReadAt(b, 0); k < len(b) {
		return false
	}
	return sha256.Sum256(b) == head.Sum
}

// lastLineEnd returns the offset after the last '\n' in the first size
// bytes of f, or 0.
func lastLineEnd(f io.ReaderAt, size int64, buf []byte) (int64, error) {
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

// closeAll closes files that a failed scan opened and will not follow.
func closeAll(files []*File) {
	for _, f := range files {
		f.f.Close()
	}
}
