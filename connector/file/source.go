package file

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/weirstream/weir/internal/tail"
	"github.com/weirstream/weir/source"
)

// Defaults of the source options.
const (
	// DefaultSplitSize is the size of the byte ranges a file is cut into in
	// bounded mode: a 200 MB file gives 6 splits, enough for a few readers.
	DefaultSplitSize int64 = 32 << 20
	// DefaultMaxLineSize is the longest line a reader emits, in bytes.
	DefaultMaxLineSize = 1 << 20
	// DefaultPollInterval is how often a follow-mode reader re-lists the
	// pattern, and how long it waits to look again after finding no data.
	DefaultPollInterval = 100 * time.Millisecond
	// DefaultRotationGrace is how long a follow-mode reader keeps a file
	// that left the pattern open after reading it to its end.
	DefaultRotationGrace = 5 * time.Second
)

// ReasonTooLong is the dead-letter reason of a line longer than
// [MaxLineSize]. Like the other reasons of weir, it is a stable short
// phrase that counters and dead-letter outputs may key on.
const ReasonTooLong = "too long"

// ErrNoMatch is matched (errors.Is) by the error [NewSource] returns in
// bounded mode when the pattern matches no file, so that a caller can say
// how to follow files that do not exist yet in its own terms.
var ErrNoMatch = errors.New("file: the pattern matches no file")

// noMatchError is the error of a pattern that matches no file.
type noMatchError struct{ pattern string }

func (e *noMatchError) Error() string {
	return fmt.Sprintf("file: pattern %q matches no file; check the path, or pass Follow to wait for files to appear", e.pattern)
}

func (e *noMatchError) Is(target error) bool { return target == ErrNoMatch }

// batchLines bounds the records one Poll emits.
const batchLines = 4096

// readAhead is the size of a reader's buffer, and so of a read, when no
// line is longer: the buffer grows to MaxLineSize and a byte when a line
// needs it. The buffer of MaxLineSize plus a MiB it replaced was 2 of the
// 12 MB live heap of the PV/UV job, and its larger reads made the kernel
// copy into memory out of the cache.
const readAhead = 128 << 10

// Source reads the lines of the files matching a pattern. It implements
// [source.Source] for string records; create it with [NewSource].
type Source struct {
	pattern string
	cfg     sourceConfig
}

var _ source.Source[string] = (*Source)(nil)

type sourceConfig struct {
	splitSize     int64
	maxLineSize   int
	follow        bool
	pollInterval  time.Duration
	rotationGrace time.Duration
	onLongLine    func(path string, offset int64)
	log           *slog.Logger
	logSet        bool // log is WithLogger's, not the default
}

// SourceOption configures [NewSource]. Each option's documentation states
// the default it overrides.
type SourceOption interface {
	apply(*sourceConfig)
}

type sourceOptionFunc func(*sourceConfig)

func (f sourceOptionFunc) apply(c *sourceConfig) { f(c) }

// SplitSize sets the size in bytes of the ranges a file is cut into in
// bounded mode, so that several readers share one large file. It must be
// positive. The default is [DefaultSplitSize] (32 MiB). Follow mode ignores it.
func SplitSize(bytes int64) SourceOption {
	return sourceOptionFunc(func(c *sourceConfig) { c.splitSize = bytes })
}

// MaxLineSize sets the longest line, in bytes without the '\n', that a reader
// emits. A longer line is not emitted: the reader skips it as it streams by
// (it never holds more than its buffer, whatever the line's length), logs
// it, and sends its first 1 KiB to the source's dead letters with the
// reason [ReasonTooLong] once its end is found, where the runtime counts it
// (read them with weir.SourceDeadLetters); see also [WithLongLineHook].
// Each reader's buffer starts at 128 KiB and grows, up to MaxLineSize and
// a byte, only when a line needs it. It must be positive. The default is
// [DefaultMaxLineSize] (1 MiB).
func MaxLineSize(bytes int) SourceOption {
	return sourceOptionFunc(func(c *sourceConfig) { c.maxLineSize = bytes })
}

// Follow makes the source unbounded: it tails the files matching the pattern,
// as Flume's taildir source does, instead of reading them once. The pattern
// should match the live files only or also their rotated names: with
// "access.log*", access.log.1 keeps being read under its new name; with
// "access.log", a file renamed away is read to its end and let go after
// [RotationGrace], also when it was renamed while the job was down (see the
// package doc for which rotations lose nothing). Files already there when
// the job starts are read from their beginning. Compressed rotated files are
// read as they are, so keep them out of the pattern. By default the source
// is bounded.
func Follow() SourceOption {
	return sourceOptionFunc(func(c *sourceConfig) { c.follow = true })
}

// PollInterval sets how often a follow-mode reader lists the pattern to find
// new and renamed files, and how long it waits before looking for new data
// again after it found none; it bounds the latency of a quiet file. Zero
// looks at every Poll. It must not be negative. The default is
// [DefaultPollInterval] (100 ms).
func PollInterval(d time.Duration) SourceOption {
	return sourceOptionFunc(func(c *sourceConfig) { c.pollInterval = d })
}

// RotationGrace sets how long a follow-mode reader keeps reading a file that
// no longer matches the pattern (renamed away or deleted) after it reached
// its end, because its writer may still append until it reopens its log.
// When the grace ends, a last line without '\n' is emitted and the file is
// closed; should it grow again while it lies in its directory, a later
// listing finds it and reads on. It must not be negative. The default is
// [DefaultRotationGrace] (5 s).
func RotationGrace(d time.Duration) SourceOption {
	return sourceOptionFunc(func(c *sourceConfig) { c.rotationGrace = d })
}

// WithLongLineHook sets a function called for every line skipped because it
// is longer than [MaxLineSize], with the file and the offset where the line
// starts, when the line's end is found (with its dead letter). It is called
// from the reader's subtask goroutine, so with several readers it must be
// safe for concurrent use. By default skipped lines go to the dead letters
// only.
func WithLongLineHook(fn func(path string, offset int64)) SourceOption {
	return sourceOptionFunc(func(c *sourceConfig) { c.onLongLine = fn })
}

// WithLogger sets the logger of the source's readers: lines too long, and
// in follow mode files found, rotated, let go, truncated or lost. The
// default is the logger the job gives each reader (its lines name the job,
// the operator and the subtask), or slog.Default() outside a job.
func WithLogger(l *slog.Logger) SourceOption {
	return sourceOptionFunc(func(c *sourceConfig) { c.log = l })
}

// NewSource returns a source of the lines of the files that pattern matches.
// The pattern is a file path or a glob in the syntax of [filepath.Match].
// All problems with the pattern and the options are reported together: an
// empty or malformed pattern, a pattern that matches no regular file in
// bounded mode, and option values out of range.
func NewSource(pattern string, opts ...SourceOption) (*Source, error) {
	cfg := sourceConfig{
		splitSize:     DefaultSplitSize,
		maxLineSize:   DefaultMaxLineSize,
		pollInterval:  DefaultPollInterval,
		rotationGrace: DefaultRotationGrace,
	}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if cfg.log == nil {
		cfg.log = slog.Default()
	} else {
		cfg.logSet = true
	}
	var errs []error
	if cfg.splitSize <= 0 {
		errs = append(errs, fmt.Errorf("file: SplitSize is %d; pass a positive number of bytes, such as 32<<20", cfg.splitSize))
	}
	if cfg.maxLineSize <= 0 {
		errs = append(errs, fmt.Errorf("file: MaxLineSize is %d; pass a positive number of bytes, such as 1<<20", cfg.maxLineSize))
	}
	if cfg.pollInterval < 0 {
		errs = append(errs, fmt.Errorf("file: PollInterval is %v; pass zero or a positive duration", cfg.pollInterval))
	}
	if cfg.rotationGrace < 0 {
		errs = append(errs, fmt.Errorf("file: RotationGrace is %v; pass zero or a positive duration", cfg.rotationGrace))
	}
	if cfg.follow && !tail.Supported {
		errs = append(errs, errors.New("file: Follow needs file identities (device and inode), which this platform does not provide; read the files in bounded mode instead"))
	}
	switch {
	case pattern == "":
		errs = append(errs, errors.New(`file: the pattern is empty; pass a file path or a glob such as "logs/*.log"`))
	default:
		matches, err := filepath.Glob(pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("file: pattern %q is not a valid glob (see path/filepath.Match); fix or escape it: %w", pattern, err))
			break
		}
		if !cfg.follow {
			if _, err := listFiles(pattern, matches); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Source{pattern: pattern, cfg: cfg}, nil
}

// fileEntry is a file found by listing a pattern.
type fileEntry struct {
	path string
	size int64
}

// listFiles returns the regular files among matches, in their order, with
// their sizes, or an error if there is none.
func listFiles(pattern string, matches []string) ([]fileEntry, error) {
	var infos []fileEntry
	var firstErr error
	for _, m := range matches {
		fi, err := os.Stat(m)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		if fi.Mode().IsRegular() {
			infos = append(infos, fileEntry{path: m, size: fi.Size()})
		}
	}
	if len(infos) == 0 {
		if firstErr != nil {
			return nil, fmt.Errorf("file: pattern %q matches no readable regular file; check the path and its permissions%s: %w", pattern, permissionHint(firstErr), firstErr)
		}
		if len(matches) > 0 {
			return nil, fmt.Errorf("file: pattern %q matches only directories; match the files inside, as in %q", pattern, filepath.Join(pattern, "*"))
		}
		return nil, &noMatchError{pattern}
	}
	return infos, nil
}

// Pattern returns the pattern the source reads.
func (s *Source) Pattern() string { return s.pattern }

// Boundedness returns [source.Unbounded] in follow mode and
// [source.Bounded] otherwise.
func (s *Source) Boundedness() source.Boundedness {
	if s.cfg.follow {
		return source.Unbounded
	}
	return source.Bounded
}

// NewEnumerator returns the source's enumerator. In bounded mode it lists
// the files when started; in follow mode it hands the one split of the
// pattern to subtask 0.
//
// When the job restores a checkpoint, the enumerator hands out the splits
// that were unassigned then instead of listing the files again: the splits
// readers finished before the checkpoint are not read twice.
func (s *Source) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	var restored []*Split
	isRestore := false
	if rc, ok := ctx.(source.RestoringContext); ok {
		splits, ok := rc.Restored()
		isRestore = ok
		for _, sp := range splits {
			if fs, ok := sp.(*Split); ok {
				restored = append(restored, fs.clone())
			}
		}
	}
	if s.cfg.follow {
		e := &followEnumerator{ctx: ctx, pattern: s.pattern, pending: newFollowSplit(s.pattern)}
		if isRestore {
			// The split was held by a reader at the checkpoint (it comes
			// back with AddSplitsBack) or unassigned (restored here).
			e.pending = nil
			for _, sp := range restored {
				if sp.Follow && sp.Path == s.pattern {
					e.pending = sp
				}
			}
		}
		return e, nil
	}
	return &boundedEnumerator{ctx: ctx, pattern: s.pattern, splitSize: s.cfg.splitSize, restored: restored, isRestore: isRestore}, nil
}

// EncodeSplit implements source.Checkpointed.
func (s *Source) EncodeSplit(sp source.Split) ([]byte, error) {
	fs, ok := sp.(*Split)
	if !ok {
		return nil, fmt.Errorf("file: cannot encode split %q of type %T: it is not a file split", sp.SplitID(), sp)
	}
	b, err := json.Marshal(splitRecord{Version: 1, Split: fs})
	if err != nil {
		return nil, fmt.Errorf("file: encode split %s: %w", fs.SplitID(), err)
	}
	return b, nil
}

// DecodeSplit implements source.Checkpointed.
func (s *Source) DecodeSplit(b []byte) (source.Split, error) {
	var r splitRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("file: decode split: %w", err)
	}
	if r.Version != 1 || r.Split == nil {
		return nil, fmt.Errorf("file: decode split: unsupported version %d (this weir reads version 1)", r.Version)
	}
	return r.Split, nil
}

// splitRecord is the stored form of a split, versioned.
type splitRecord struct {
	Version int    `json:"v"`
	Split   *Split `json:"split"`
}

// NewReader returns the reader of one subtask.
func (s *Source) NewReader(ctx source.ReaderContext) (source.Reader[string], error) {
	return newReader(s, ctx, func() recordMaker[string] { return newCopiedLines() }), nil
}

// newReader returns the reader of one subtask of s, which makes its
// records with what records returns (once per subtask for byte ranges,
// once per split in follow mode).
func newReader[T any](s *Source, ctx source.ReaderContext, records func() recordMaker[T]) source.Reader[T] {
	if s.cfg.follow {
		return newFollowReader(s, ctx, records)
	}
	return newBoundedReader(s, ctx, records)
}

// readerLogger is the logger of the reader of ctx: WithLogger's, or the
// job's for the reader's subtask.
func (c *sourceConfig) readerLogger(ctx source.ReaderContext) *slog.Logger {
	if c.logSet {
		return c.log
	}
	return source.LoggerOf(ctx, c.log)
}

// tooLong reports a line longer than MaxLineSize, which the reader of split
// skipped in the file at path: to the hook, to log, and with its first
// bytes to the dead letters of out.
func tooLong[T any](c *sourceConfig, log *slog.Logger, out source.Output[T], split, path string, l tail.Line) {
	if c.onLongLine != nil {
		c.onLongLine(path, l.Offset)
	}
	log.Warn("file: skipping a line longer than MaxLineSize; its first bytes go to the dead letters",
		"file", path, "offset", l.Offset, "bytes", l.Len, "max_line_size", c.maxLineSize)
	if dl, ok := out.(source.DeadLetterOutput); ok {
		dl.DeadLetter(source.DeadLetter{
			Split:    split,
			Position: path + ":" + strconv.FormatInt(l.Offset, 10),
			Raw:      bytes.Clone(l.Bytes),
			Reason:   ReasonTooLong,
		})
	}
}

// permissionHint says what to do about an error that denies access to a
// file, to follow the error's own text; "" for other errors.
func permissionHint(err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return " (run as a user that can read the files: for logs under /var/log, a member of the group that owns them, such as adm on Debian and Ubuntu)"
	}
	return ""
}

// bufferSize is the size a reader's buffer starts at: a read, or the
// longest allowed line and a byte if that is less.
func (c *sourceConfig) bufferSize() int { return min(readAhead, c.maxLineSize+1) }
