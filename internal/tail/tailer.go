package tail

import (
	"crypto/sha256"
	"log/slog"
	"os"
	"slices"
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
	// BufferSize is the size of the read buffer the files share, and so of
	// a read; it grows, up to MaxLine+1, when a line does not fit.
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

// Forget marks f, read to its end, to be closed and let go at the next
// Commit (see Position.Done).
func (t *Tailer) Forget(f *File) {
	f.forget = true
	t.changed = true
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
