package tail

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// HeadMax is how many first bytes of a file its fingerprint covers.
const HeadMax = 256

// DefaultSlack is the default of Config.Slack.
const DefaultSlack = 10 * time.Second

// ID identifies a file across renames: its device and inode.
type ID struct{ Dev, Ino uint64 }

// Head fingerprints a file: Sum is the SHA-256 of its first N bytes.
type Head struct {
	N   int
	Sum [sha256.Size]byte
}

// Position is where a reader is in one file: what a checkpoint or a
// positions record keeps of it.
type Position struct {
	// Path is the file's name when the position was taken.
	Path string
	// ID identifies the file across renames.
	ID ID
	// Offset is where reading goes on: the start of a line.
	Offset int64
	// Head fingerprints the file's first bytes. It covers every byte
	// before Offset, or the first HeadMax bytes (invariant 2).
	Head Head
	// Size is how long the file was known to be; 0 if unknown. It tells
	// how many bytes were lost when the file is found shorter.
	Size int64
	// Done says the file left the pattern and was read to its end and let
	// go. It is remembered while it lies in its directory, so that it is
	// not taken for a rotated file that nobody read, and read on if it
	// grows again.
	Done bool
}

// Config says what a Tailer follows.
type Config struct {
	// Pattern is a path or a glob in the syntax of path/filepath.Match.
	Pattern string
	// Restore holds the positions to resume from, in reading order, as
	// Positions returned them; nil starts afresh.
	Restore []Position
	// RestoredAt is the ScannedAt that came with Restore. Every scan
	// after the first, and the first when RestoredAt is set, looks for the
	// files that left the pattern before any scan saw them (rotated twice
	// while no reader ran, or between two scans): files not known by
	// identity, outside the pattern next to a file it matches or a
	// followed file, whose name continues such a file's name, written
	// after the scan before. It reads them from their start.
	RestoredAt time.Time
	// StartAtEnd makes the files of the first scan that Restore does not
	// list begin after their last '\n'.
	StartAtEnd bool
	// TrustBareIdentity makes a restored position without any fingerprint
	// (an older record) resume at its offset on identity alone; by
	// default such a position reads its file again from the start.
	TrustBareIdentity bool
	// MaxLine is the longest line Next returns, without its '\n'.
	MaxLine int
	// BufferSize is the size of the read buffer the files share; at least
	// MaxLine+1.
	BufferSize int
	// Slack is how much earlier than a scan a file's modification time may
	// say it was written and still count as written after it (see
	// RestoredAt): file times come from a coarser clock than time.Now, and
	// on network file systems from another machine's. The default is
	// DefaultSlack (10 s).
	Slack time.Duration
	// Logger receives the tailer's logs; Name starts their messages.
	Logger *slog.Logger
	Name   string
	// OpenError decides what a file of the pattern that cannot be opened
	// (for another reason than being gone) does: nil skips it until it
	// can be opened; an error fails Scan. It is called once per path until
	// the path opens. nil fails Scan with the error.
	OpenError func(path string, err error) error
	// Restarted, if set, hears of each file read again from its start
	// (truncated, replaced or rewritten), after the tailer logged it.
	Restarted func(path string)
}

// Tailer follows the files of a pattern through rotation: it finds them
// by listing the pattern, knows them by identity, and keeps a Lines
// reader and a position for each. A Tailer is used by one goroutine.
type Tailer struct {
	cfg   Config
	log   *slog.Logger
	files []*File // in reading order
	byID  map[ID]*File
	buf   []byte
	owner *File // the file whose bytes are in buf

	restore   []Position // applied by the first scan
	done      []Position // files let go that are still there
	first     bool
	changed   bool
	scannedAt time.Time
	floor     time.Time       // a first start's first scan: older files are not ours
	warned    map[string]bool // paths whose open failed
	scratch   []byte
}

// File is a followed file.
type File struct {
	t      *Tailer
	id     ID
	f      *os.File
	path   string
	lines  Lines
	size   int64     // at the last scan
	mtime  time.Time // when found: orders new files
	grewAt time.Time // the last scan that saw it grow
	// head fingerprints the first min(size, HeadMax) bytes as of the last
	// scan; ReadAt reads no further while it covers fewer than HeadMax.
	head   Head
	listed bool  // the last scan found it under the pattern
	offset int64 // as of the last Commit
	forget bool
}

// New returns a tailer; it opens nothing before the first Scan.
func New(cfg Config) *Tailer {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Slack == 0 {
		cfg.Slack = DefaultSlack
	}
	return &Tailer{
		cfg:       cfg,
		log:       cfg.Logger,
		byID:      make(map[ID]*File),
		restore:   cfg.Restore,
		first:     true,
		scannedAt: cfg.RestoredAt,
		warned:    make(map[string]bool),
	}
}

// Files returns the followed files in reading order: restored files
// first, then files found later, the oldest first. The slice is valid
// until the next Scan or Commit.
func (t *Tailer) Files() []*File { return t.files }

// Changed says that positions changed since the last Commit without a
// line being read: a file restarted, forgotten or lost, or positions set
// by StartAtEnd.
func (t *Tailer) Changed() bool { return t.changed }

// ScannedAt returns when the last scan began: a file that no scan has
// seen yet was created after it. Keep it with Positions, as RestoredAt.
func (t *Tailer) ScannedAt() time.Time { return t.scannedAt }

// Positions returns the position of every file in reading order, after
// those of the files let go (Position.Done); a file forgotten since the
// last Commit is let go. Before the first scan, it returns the restored
// positions.
func (t *Tailer) Positions() []Position {
	if t.first {
		return slices.Clone(t.restore)
	}
	out := make([]Position, 0, len(t.done)+len(t.files))
	out = append(out, t.done...)
	for _, f := range t.files {
		if f.forget {
			out = append(out, f.done())
			continue
		}
		out = append(out, Position{Path: f.path, ID: f.id, Offset: f.lines.Pos(), Head: f.head, Size: max(f.size, f.lines.Extent())})
	}
	return out
}

// done returns the position of a file read to its end and let go.
func (f *File) done() Position {
	end := f.lines.Pos()
	return Position{Path: f.path, ID: f.id, Offset: end, Head: f.head, Size: end, Done: true}
}

// Commit makes every file's position its committed one (Lag counts from
// there), closes the forgotten files and clears Changed.
func (t *Tailer) Commit() {
	t.changed = false
	kept := t.files[:0]
	for _, f := range t.files {
		f.offset = f.lines.Pos()
		if f.forget {
			t.log.Info(t.cfg.Name+": a file that left the pattern is read to its end; letting it go", "file", f.path)
			t.done = append(t.done, f.done())
			t.drop(f)
			continue
		}
		kept = append(kept, f)
	}
	clear(t.files[len(kept):])
	t.files = kept
}

// Lag returns the bytes of the files after their committed positions, as
// of the last scan.
func (t *Tailer) Lag() int64 {
	var n int64
	for _, f := range t.files {
		n += max(0, f.size-f.offset)
	}
	return n
}

// Close closes every file.
func (t *Tailer) Close() {
	for _, f := range t.files {
		f.f.Close() // read-only: nothing to lose
	}
	t.files, t.byID, t.owner = nil, nil, nil
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

// Forget marks f, read to its end, to be closed and let go at the next
// Commit (see Position.Done).
func (t *Tailer) Forget(f *File) {
	f.forget = true
	t.changed = true
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

// Scan lists the pattern: it follows renames by identity, opens new files,
// checks every file for truncation and, the first time, applies the
// restored positions.
func (t *Tailer) Scan(now time.Time) error {
	if t.buf == nil {
		t.buf = make([]byte, max(t.cfg.BufferSize, t.cfg.MaxLine+1))
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

// track adds f to the files read, at index i, or at the end if i < 0.
func (t *Tailer) track(f *File, i int) {
	t.byID[f.id] = f
	if i < 0 {
		t.files = append(t.files, f)
	} else {
		t.files = slices.Insert(t.files, i, f)
	}
}

// drop closes f and stops following it.
func (t *Tailer) drop(f *File) {
	f.f.Close() // read-only: nothing to lose
	if t.owner == f {
		t.owner = nil
	}
	delete(t.byID, f.id)
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
	f.lines = NewLines(f, t.buf, t.cfg.MaxLine)
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

func closeAll(files []*File) {
	for _, f := range files {
		f.f.Close()
	}
}
