package file

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/weirstream/weir/sink"
)

// commitFormat is the version of the committables and writer states that
// the file sink stores in checkpoints. Raise it when their meaning changes;
// decoders reject versions they do not know rather than guess. Version 2
// added marks and the writer state's Path, Parallelism and Others; version
// 1 is still read.
const commitFormat = 2

// committable describes one pre-committed part file: publishing it puts
// the part's Length bytes into Final at Offset, then deletes the part.
//
// A committable without a part is a mark (format 2): it publishes nothing
// and says that Final holds Offset bytes once its checkpoint is published.
// Every PreCommit returns at least a mark, so that every checkpoint tells
// the committer, for every writer's file, where the file ends: committing a
// restored checkpoint's committables cuts each file back to that length,
// also the file of a subtask that no longer exists after a change of
// parallelism.
type committable struct {
	V      int    `json:"v"`
	Part   string `json:"part,omitempty"`
	Final  string `json:"final"`
	Offset int64  `json:"offset"`
	Length int64  `json:"length"`
}

// end is the length of Final once c is published.
func (c committable) end() int64 { return c.Offset + c.Length }

// encode returns c as versioned JSON, which checkpoint inspection can show.
func (c committable) encode() []byte {
	c.V = commitFormat
	b, err := json.Marshal(c)
	if err != nil {
		panic("file: encode a committable: " + err.Error()) // strings and integers always encode
	}
	return b
}

func decodeCommittable(b []byte) (committable, error) {
	var c committable
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("file: decode a committable of the file sink: %w", err)
	}
	if c.V < 1 || c.V > commitFormat {
		return c, fmt.Errorf("file: a committable of the file sink has format version %d, this build reads versions 1 to %d; restore the checkpoint with the weir version that wrote it", c.V, commitFormat)
	}
	mark := c.Part == "" && c.V >= 2
	if (c.Part == "" && !mark) || c.Final == "" || c.Offset < 0 || c.Length < 0 || (mark && c.Length != 0) {
		return c, fmt.Errorf("file: a committable of the file sink is malformed: %s", b)
	}
	return c, nil
}

// writerState is what a writer keeps in a checkpoint: where its file ends
// once the checkpoint's committables are published, which part files those
// committables name (a restored writer must not delete them), and what the
// sink's other files held, so that a restore can cut every file of the sink
// back to the checkpoint.
type writerState struct {
	V       int      `json:"v"`
	Final   string   `json:"final"`
	Next    int64    `json:"next"`              // offset of Final where the next part lands
	Seq     uint64   `json:"seq"`               // sequence number of the next part
	Pending []uint64 `json:"pending,omitempty"` // parts pre-committed at the checkpoint
	// Attempt is the writer's attempt (sink.AttemptOf), which names its
	// parts; 0 in one process.
	Attempt int64 `json:"attempt,omitempty"`
	// Path is the sink's path, of which Final is the subtask's file, and
	// Parallelism the number of writers (format 2).
	Path        string `json:"path,omitempty"`
	Parallelism int    `json:"parallelism,omitempty"`
	// Others holds the sink's files (base names, in Final's directory)
	// that no writer of this parallelism writes, with their sizes: the
	// files of earlier runs at other parallelisms, which stay as they are
	// while the job runs (format 2; nil in format 1, where they are not
	// known).
	Others map[string]int64 `json:"others,omitempty"`
}

func (s writerState) encode() []byte {
	s.V = commitFormat
	if s.Others == nil {
		s.Others = map[string]int64{}
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic("file: encode the writer state: " + err.Error())
	}
	return b
}

func decodeWriterState(b []byte) (writerState, error) {
	var s writerState
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("file: decode the restored state of a file sink writer: %w", err)
	}
	if s.V < 1 || s.V > commitFormat {
		return s, fmt.Errorf("file: the restored state of a file sink writer has format version %d, this build reads versions 1 to %d; restore the checkpoint with the weir version that wrote it", s.V, commitFormat)
	}
	if s.Final == "" || s.Next < 0 {
		return s, fmt.Errorf("file: the restored state of a file sink writer is malformed: %s", b)
	}
	if s.V >= 2 && (s.Path == "" || s.Parallelism < 1) {
		return s, fmt.Errorf("file: the restored state of a file sink writer is malformed: %s", b)
	}
	if s.V >= 2 && s.Others == nil {
		s.Others = map[string]int64{}
	}
	return s, nil
}

// NewCommitter returns the committer that publishes the part files the
// sink's writers pre-committed. It implements [sink.CommittingSink]; see
// [Sink] for what it guarantees.
func (s *Sink[T]) NewCommitter() (sink.Committer, error) { return committer{}, nil }

var (
	_ sink.CommittingSink     = (*Sink[int])(nil)
	_ sink.RestoringCommitter = committer{}
)

// committer publishes committables. It keeps no state: each committable
// names its files, and the files themselves tell what is already done.
type committer struct{}

// Commit publishes the committables in order. It is idempotent: a
// committable whose part is gone and whose bytes the file already holds is
// skipped, and one whose publication was cut short is redone from its
// offset. It takes back nothing else: a late commit (from a cluster's
// worker that was cut off while the others went on) must leave what the
// live run published since, and fails where the live run published other
// bytes. Committers of one file take turns (an exclusive lock of the file
// while they check and write it), so that one that paused between its
// checks and its write cannot act on a file that changed in between.
func (committer) Commit(ctx context.Context, committables [][]byte) error {
	return publishAll(ctx, committables, false)
}

// CommitRestored publishes the committables of the checkpoint the job
// restores, as Commit does, then cuts each file back to where the last of
// its committables says it ends: when a job restores a checkpoint older
// than the newest one, what the later checkpoints published goes, and the
// replay writes it again.
func (committer) CommitRestored(ctx context.Context, committables [][]byte) error {
	return publishAll(ctx, committables, true)
}

// publishAll publishes committables and, with cut, cuts every file they name
// back to where they say it ends.
func publishAll(ctx context.Context, committables [][]byte, cut bool) error {
	dirs := make(map[string]bool)
	ends := make(map[string]int64)
	var finals []string
	for _, b := range committables {
		if err := ctx.Err(); err != nil {
			return err
		}
		c, err := decodeCommittable(b)
		if err != nil {
			return err
		}
		if _, ok := ends[c.Final]; !ok {
			finals = append(finals, c.Final)
		}
		ends[c.Final] = c.end()
		if c.Part == "" {
			if err := checkMark(c); err != nil {
				return err
			}
			continue
		}
		done, err := publish(c, cut)
		if err != nil {
			return err
		}
		if !done {
			dirs[filepath.Dir(c.Final)] = true
		}
	}
	for _, final := range finals {
		if !cut {
			break // a late commit must not take back newer output
		}
		shortened, err := cutBack(slog.Default(), final, ends[final])
		if err != nil {
			return err
		}
		if shortened {
			dirs[filepath.Dir(final)] = true
		}
	}
	// Make the deletions of the parts, and new files, survive a machine crash.
	for dir := range dirs {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// checkMark checks that the file of mark c holds the output published
// before it.
func checkMark(c committable) error {
	size, err := fileSize(c.Final)
	if err != nil {
		return err
	}
	if size < c.Offset {
		return fmt.Errorf("file: commit: %s holds %d bytes, fewer than the %d its checkpoint published; "+
			"earlier output is missing (the file was truncated or replaced outside the job): restore an older checkpoint or rerun the job from the start", c.Final, size, c.Offset)
	}
	return nil
}

// cutBack truncates path to size bytes if it is longer, and reports whether
// it did. A missing file is left alone.
func cutBack(log *slog.Logger, path string, size int64) (bool, error) {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("file: open sink file %s: %w", path, err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return false, fmt.Errorf("file: lock sink file %s: %w", path, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("file: open sink file %s: %w", path, err)
	}
	if fi.Size() <= size {
		return false, f.Close()
	}
	if err := f.Truncate(size); err != nil {
		return false, fmt.Errorf("file: cut sink file %s back to the %d bytes of the restored checkpoint: %w", path, size, err)
	}
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("file: fsync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("file: close %s: %w", path, err)
	}
	log.Info("file: cut sink file back to the restored checkpoint; the replay writes the rest again",
		"file", path, "from", fi.Size(), "to", size)
	return true, nil
}

// publish puts the part of c into its final file and deletes the part. It
// reports done if the committable had been published before. Where the
// file holds other bytes than the part's at the part's offset, it replaces
// them only with restoring (the commit of a restored checkpoint, which
// takes later output back anyway); else it leaves them and fails.
func publish(c committable, restoring bool) (done bool, err error) {
	end := c.Offset + c.Length
	part, err := os.Open(c.Part)
	if errors.Is(err, fs.ErrNotExist) {
		size, err := fileSize(c.Final)
		if err != nil {
			return false, err
		}
		if size >= end {
			return true, nil // published, and its part deleted
		}
		return false, fmt.Errorf("file: commit part file %s: it is gone, but %s holds %d bytes, fewer than the %d it holds once the part is published; "+
			"the part was deleted or the file truncated outside the job: restore an older checkpoint or rerun the job from the start", c.Part, c.Final, size, end)
	}
	if err != nil {
		return false, fmt.Errorf("file: commit part file %s: %w", c.Part, err)
	}
	defer part.Close()
	if fi, err := part.Stat(); err != nil {
		return false, fmt.Errorf("file: commit part file %s: %w", c.Part, err)
	} else if fi.Size() != c.Length {
		return false, fmt.Errorf("file: commit part file %s: it holds %d bytes, not the %d it was pre-committed with; it was changed outside the job: restore an older checkpoint or rerun the job from the start", c.Part, fi.Size(), c.Length)
	}

	f, err := os.OpenFile(c.Final, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false, fmt.Errorf("file: commit part file %s: open %s: %w", c.Part, c.Final, err)
	}
	defer f.Close()
	if err := lockFile(f); err != nil {
		return false, fmt.Errorf("file: commit part file %s: lock %s: %w", c.Part, c.Final, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("file: commit part file %s: %w", c.Part, err)
	}
	size := fi.Size()
	if testHookPublishing != nil {
		testHookPublishing(c)
	}
	switch {
	case size < c.Offset:
		return false, fmt.Errorf("file: commit part file %s: %s holds %d bytes, fewer than the %d published before this part; "+
			"earlier output is missing (committables of an earlier checkpoint were not committed, or the file was truncated outside the job)", c.Part, c.Final, size, c.Offset)
	case size >= end && sameBytes(f, part, c.Offset, c.Length):
		// Published before a crash cut the deletion of the part short.
	case !restoring && !cutShort(f, part, c.Offset, c.Length, size):
		return false, fmt.Errorf("file: commit part file %s: %s holds other bytes than the part's after offset %d, where the part goes: "+
			"another run of the job published there (this commit came late, from a cluster worker that was cut off), or the file was changed outside the job; "+
			"a commit takes back no output: stop the worker, or restore a checkpoint to write the file again", c.Part, c.Final, c.Offset)
	default:
		// Drop a partial append of an interrupted commit, then append again.
		if err := f.Truncate(c.Offset); err != nil {
			return false, fmt.Errorf("file: commit part file %s: truncate %s to %d bytes: %w", c.Part, c.Final, c.Offset, err)
		}
		if _, err := io.Copy(io.NewOffsetWriter(f, c.Offset), io.NewSectionReader(part, 0, c.Length)); err != nil {
			return false, fmt.Errorf("file: commit part file %s: append it to %s: %w", c.Part, c.Final, err)
		}
	}
	// Also after a crash between append and fsync: the part may go only
	// once its bytes are on disk.
	if err := f.Sync(); err != nil {
		return false, fmt.Errorf("file: commit part file %s: fsync %s: %w", c.Part, c.Final, err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("file: commit part file %s: close %s: %w", c.Part, c.Final, err)
	}
	part.Close()
	if err := os.Remove(c.Part); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("file: commit part file %s: delete it: %w", c.Part, err)
	}
	return false, nil
}

// testHookPublishing, if set, is called by publish while it holds the
// file, after it read the file's size.
var testHookPublishing func(committable)

// cutShort reports whether the size-off bytes of f after off are what a
// publication of part (n bytes) cut short leaves: a prefix of the part,
// or zeros, which blocks a machine crash left unwritten read as.
func cutShort(f, part *os.File, off, n, size int64) bool {
	k := min(size-off, n)
	return (sameBytes(f, part, off, k) || zeros(f, off, k)) && zeros(f, off+k, size-off-k)
}

// zeros reports whether f holds n zero bytes at off.
func zeros(f *os.File, off, n int64) bool { return sameBytes(f, zeroReader{}, off, n) }

// zeroReader reads zeros at every offset.
type zeroReader struct{}

func (zeroReader) ReadAt(p []byte, _ int64) (int, error) {
	clear(p)
	return len(p), nil
}

// sameBytes reports whether f holds the n bytes of part at off.
func sameBytes(f *os.File, part io.ReaderAt, off, n int64) bool {
	a, b := make([]byte, 32<<10), make([]byte, 32<<10)
	for pos := int64(0); pos < n; {
		k := int(min(n-pos, int64(len(a))))
		if _, err := f.ReadAt(a[:k], off+pos); err != nil {
			return false
		}
		if _, err := part.ReadAt(b[:k], pos); err != nil {
			return false
		}
		if !bytes.Equal(a[:k], b[:k]) {
			return false
		}
		pos += int64(k)
	}
	return true
}

// fileSize returns the size of path, 0 if it does not exist.
func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("file: %w", err)
	}
	return fi.Size(), nil
}

// partName returns the hidden name of part seq of subtask's writer of
// final, in final's directory: ".NAME.part-SUBTASK-SEQ", or with an attempt
// (sink.AttemptOf: a cluster's epoch) ".NAME.part-SUBTASK-aATTEMPT-SEQ",
// so that a writer of an old epoch that goes on after its worker was cut
// off never writes, nor deletes, a part of the live one.
func partName(final string, subtask int, attempt int64, seq uint64) string {
	name := partPrefix(final, subtask)
	if attempt != 0 {
		name += "a" + strconv.FormatInt(attempt, 10) + "-"
	}
	return filepath.Join(filepath.Dir(final), name+strconv.FormatUint(seq, 10))
}

func partPrefix(final string, subtask int) string {
	return "." + filepath.Base(final) + ".part-" + strconv.Itoa(subtask) + "-"
}

// parsePart returns the attempt and number of a part of a writer, from
// what follows its prefix (partPrefix); ok is false for another file.
func parsePart(rest string) (attempt int64, seq uint64, ok bool) {
	if a, s, cut := strings.Cut(rest, "-"); cut {
		n, ok := strings.CutPrefix(a, "a")
		if !ok {
			return 0, 0, false
		}
		var err error
		if attempt, err = strconv.ParseInt(n, 10, 64); err != nil || attempt == 0 {
			return 0, 0, false
		}
		rest = s
	}
	seq, err := strconv.ParseUint(rest, 10, 64)
	return attempt, seq, err == nil
}

// removeStrayParts deletes the part files of subtask's writer of final:
// pending output of checkpoints that never completed, which no committer
// will publish. It keeps those numbered in keep of attempt keepAttempt
// (which a restored checkpoint's committables name) and, for a writer of
// attempt attempt other than 0, those of later attempts: only a writer of
// an old epoch that goes on after its worker was cut off finds them, and
// they are the live epoch's.
func removeStrayParts(final string, subtask int, attempt, keepAttempt int64, keep []uint64) error {
	dir := filepath.Dir(final)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("file: list %s for stray part files: %w", dir, err)
	}
	prefix := partPrefix(final, subtask)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		a, seq, ok := parsePart(rest)
		switch {
		case !ok:
			continue // not a part of ours
		case a == keepAttempt && slices.Contains(keep, seq):
			continue // one a restored committable names
		case attempt != 0 && a > attempt:
			continue // a newer epoch's
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("file: delete stray part file: %w", err)
		}
	}
	return nil
}

// sinkFiles returns the files in the directory of the sink path base that
// are the sink's: base itself and the per-subtask files SubtaskPath names
// (base names, with their sizes).
func sinkFiles(base string) (map[string]int64, error) {
	dir := filepath.Dir(base)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("file: list %s for the files of sink %s: %w", dir, base, err)
	}
	files := make(map[string]int64)
	for _, e := range entries {
		if _, ok := subtaskIndex(base, e.Name()); !ok || !e.Type().IsRegular() {
			continue
		}
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("file: list the files of sink %s: %w", base, err)
		}
		files[e.Name()] = fi.Size()
	}
	return files, nil
}

// subtaskIndex tells whether name, in the directory of the sink path base,
// is one of the sink's files: base itself (index -1, the file of a single
// writer) or base with "-SUBTASK" before its extension (see SubtaskPath).
func subtaskIndex(base, name string) (int, bool) {
	b := filepath.Base(base)
	if name == b {
		return -1, true
	}
	ext := filepath.Ext(b)
	if ext == b { // ".jsonl": a name, not an extension
		ext = ""
	}
	rest, ok := strings.CutPrefix(name, b[:len(b)-len(ext)]+"-")
	if !ok {
		return 0, false
	}
	if rest, ok = strings.CutSuffix(rest, ext); !ok {
		return 0, false
	}
	i, err := strconv.Atoi(rest)
	if err != nil || i < 0 || strconv.Itoa(i) != rest {
		return 0, false
	}
	return i, true
}

// isWriterFile tells whether name is the file of one of the writers of the
// sink path base at the given parallelism.
func isWriterFile(base, name string, parallelism int) bool {
	i, ok := subtaskIndex(base, name)
	if !ok {
		return false
	}
	if parallelism <= 1 {
		return i == -1
	}
	return i >= 0 && i < parallelism
}

// removeParts deletes every part file of final, of any subtask.
func removeParts(final string) error {
	dir := filepath.Dir(final)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("file: list %s for part files: %w", dir, err)
	}
	prefix := "." + filepath.Base(final) + ".part-"
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("file: delete part file: %w", err)
			}
		}
	}
	return nil
}

// truncateTo cuts path to size bytes if it is longer, creating it if it is
// missing. A shorter file is left alone: the restored committables still
// have to be published into it.
func truncateTo(log *slog.Logger, path string, size int64) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("file: open sink file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("file: close %s: %w", path, err)
	}
	_, err = cutBack(log, path, size)
	return err
}

// syncDir makes the creation and deletion of files in dir durable. Windows
// cannot fsync a directory, and does not need to.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("file: fsync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("file: fsync directory %s: %w", dir, err)
	}
	return nil
}
