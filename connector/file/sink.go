package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/weirstream/weir/sink"
)

// JSONAppender is implemented by records that encode themselves as JSON
// faster than encoding/json can, typically by hand-written appends. A sink
// uses AppendJSON instead of encoding/json when the record type (or a
// pointer to it) implements it. AppendJSON appends one JSON value without a
// newline to dst and returns the extended slice.
type JSONAppender interface {
	AppendJSON(dst []byte) []byte
}

// DefaultBufferSize is the size of a writer's buffer.
const DefaultBufferSize = 64 << 10

// Sink writes records to files, one line per record: JSON documents from
// [NewSink], raw strings from [NewLineSink]. It implements [sink.Sink] and
// [sink.CommittingSink].
//
// Each writer writes its own file, named by [SubtaskPath], and creates any
// missing parent directories. What the output guarantees depends on whether
// the job takes checkpoints ([sink.WriterContext.Checkpointing]):
//
//   - Without checkpoints, writers write to their files directly, at least
//     once. By default an existing file is truncated, which suits jobs run
//     once from the start; with [Append] a restarted job adds to it. Output
//     is not transactional: a job that fails leaves what its writers had
//     written out so far (at Flush, or when a buffer filled), which may end
//     in a partial line.
//   - With checkpoints, output is exactly-once. A writer writes to a hidden
//     part file beside its file (".NAME.part-SUBTASK-SEQ"; in a cluster
//     ".NAME.part-SUBTASK-aEPOCH-SEQ"). At each
//     checkpoint barrier it fsyncs and closes the part (PreCommit); when the
//     checkpoint completes, the committer appends the part to the file,
//     fsyncs it and deletes the part. Output thus appears only when a
//     checkpoint completes, or at the end of input. Parts are always
//     fsynced; [Sync] adds an fsync to Flush. A fresh start truncates the
//     file as above, or keeps it with [Append].
//
// Restores are exact with checkpoints, also from a checkpoint older than
// the newest (weir.RestoreFrom, or the fallback past a damaged checkpoint)
// and at another parallelism. Every checkpoint records where each writer's
// file ends once the checkpoint is published (in a committable, even when
// the writer wrote nothing) and the sizes of the sink's other files (those
// of earlier runs at other parallelisms). A restore cuts every file of the
// sink (PATH and the PATH-SUBTASK files [SubtaskPath] names) back to what
// the restored checkpoint had published, deletes the files that runs after
// it created and the parts of checkpoints that never completed, so the
// replay, which is deterministic in weir, neither duplicates nor loses a
// line. One case is not exact: a restore at a higher parallelism than the
// checkpoint's starts the files of the new subtasks afresh, so output that
// an even earlier run at that parallelism had left in them is lost.
// Checkpoints written before weir recorded the sink's files (format 1)
// restore exactly only at the same parallelism.
type Sink[T any] struct {
	path   string
	cfg    sinkConfig
	encode func(enc *encoder[T], v T) error
}

var (
	_ sink.Sink[int]      = (*Sink[int])(nil)
	_ sink.PreCommitter   = (*writer[int])(nil)
	_ sink.StatefulWriter = (*writer[int])(nil)
)

type sinkConfig struct {
	sync       bool
	append     bool
	bufferSize int
}

// SinkOption configures [NewSink] and [NewLineSink]. Each option's
// documentation states the default it overrides.
type SinkOption interface {
	apply(*sinkConfig)
}

type sinkOptionFunc func(*sinkConfig)

func (f sinkOptionFunc) apply(c *sinkConfig) { f(c) }

// Sync makes Flush call fsync after writing the buffer out, so that flushed
// output survives a crash of the machine, not only of the process. By
// default Flush hands the data to the operating system only. With
// checkpoints, pre-committed part files and published output are always
// fsynced; Sync then only adds an fsync of the current part to Flush.
func Sync() SinkOption {
	return sinkOptionFunc(func(c *sinkConfig) { c.sync = true })
}

// Append makes writers add to existing files instead of truncating them, so
// that a restarted job keeps the output written before. Without
// checkpoints, a job restored from a checkpoint then writes the records
// written after that checkpoint twice; with checkpoints a restored writer
// cuts its file back to the restored checkpoint whatever the option, and
// Append only keeps the file on a fresh start. By default existing files
// are truncated on a fresh start.
func Append() SinkOption {
	return sinkOptionFunc(func(c *sinkConfig) { c.append = true })
}

// BufferSize sets the size in bytes of each writer's buffer; a record larger
// than the buffer is written through. Values below 4 KiB mean 4 KiB. The
// default is [DefaultBufferSize] (64 KiB).
func BufferSize(bytes int) SinkOption {
	return sinkOptionFunc(func(c *sinkConfig) { c.bufferSize = max(bytes, 4<<10) })
}

// NewSink returns a sink writing each record as one line of JSON to path
// (see [SubtaskPath] for several writers), encoded by the record's
// [JSONAppender] method if it has one and by encoding/json otherwise
// (without HTML escaping). An empty path is an error.
func NewSink[T any](path string, opts ...SinkOption) (*Sink[T], error) {
	cfg, err := newSinkConfig(path, opts)
	if err != nil {
		return nil, err
	}
	s := &Sink[T]{path: path, cfg: cfg}
	var zero T
	switch any(zero).(type) {
	case JSONAppender:
		s.encode = func(enc *encoder[T], v T) error {
			enc.scratch = append(any(v).(JSONAppender).AppendJSON(enc.scratch[:0]), '\n')
			return enc.write()
		}
	default:
		if _, ok := any(&zero).(JSONAppender); ok {
			s.encode = func(enc *encoder[T], v T) error {
				enc.scratch = append(any(&v).(JSONAppender).AppendJSON(enc.scratch[:0]), '\n')
				return enc.write()
			}
			break
		}
		s.encode = func(enc *encoder[T], v T) error {
			// Encode also appends the '\n'. Values of an interface type T may
			// still implement JSONAppender.
			if a, ok := any(v).(JSONAppender); ok {
				enc.scratch = append(a.AppendJSON(enc.scratch[:0]), '\n')
				return enc.write()
			}
			enc.jsonBuf.Reset()
			if err := enc.json.Encode(v); err != nil {
				return err
			}
			_, err := enc.w.Write(enc.jsonBuf.Bytes())
			return err
		}
	}
	return s, nil
}

// NewLineSink returns a sink writing each string as it is, followed by '\n',
// to path; a string that contains '\n' becomes several lines. It suits
// dead-letter output and plain text. An empty path is an error.
func NewLineSink(path string, opts ...SinkOption) (*Sink[string], error) {
	cfg, err := newSinkConfig(path, opts)
	if err != nil {
		return nil, err
	}
	return &Sink[string]{
		path: path,
		cfg:  cfg,
		encode: func(enc *encoder[string], v string) error {
			if _, err := enc.w.WriteString(v); err != nil {
				return err
			}
			return enc.w.WriteByte('\n')
		},
	}, nil
}

// newSinkConfig applies opts and checks path.
func newSinkConfig(path string, opts []SinkOption) (sinkConfig, error) {
	cfg := sinkConfig{bufferSize: DefaultBufferSize}
	for _, o := range opts {
		o.apply(&cfg)
	}
	if path == "" {
		return cfg, errEmptyPath
	}
	return cfg, nil
}

var errEmptyPath = errors.New(`file: the sink path is empty; pass a file name such as "out/results.jsonl"`)

// SubtaskPath returns the file that writer subtask of parallelism writers
// writes: path itself when parallelism is 1, otherwise path with "-SUBTASK"
// inserted before its extension ("out.jsonl" gives "out-0.jsonl",
// "out-1.jsonl"; "out" gives "out-0").
func SubtaskPath(path string, subtask, parallelism int) string {
	if parallelism <= 1 {
		return path
	}
	ext := filepath.Ext(path)
	if ext == path || ext == filepath.Base(path) { // ".jsonl": a name, not an extension
		ext = ""
	}
	return path[:len(path)-len(ext)] + "-" + strconv.Itoa(subtask) + ext
}

// Path returns the path the sink was created with.
func (s *Sink[T]) Path() string { return s.path }

// NewWriter creates the subtask's file, and its parent directories. Without
// checkpoints an existing file is truncated, or appended to with [Append].
// With checkpoints, a restored writer cuts the file back to its length at
// the restored checkpoint, and every writer deletes stray part files of its
// subtask (see [Sink]).
func (s *Sink[T]) NewWriter(ctx sink.WriterContext) (sink.Writer[T], error) {
	if s.path == "" {
		return nil, errEmptyPath
	}
	path := SubtaskPath(s.path, ctx.Subtask(), ctx.Parallelism())
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("file: create the directory of sink file %s: %w", path, err)
		}
	}
	w := &writer[T]{base: s.path, path: path, parallelism: ctx.Parallelism(), sync: s.cfg.sync, encode: s.encode,
		log: sink.LoggerOf(ctx, slog.Default())}
	w.enc.json = json.NewEncoder(&w.enc.jsonBuf)
	w.enc.json.SetEscapeHTML(false)
	if ctx.Checkpointing() {
		if err := w.startTwoPhase(ctx, s.cfg.append); err != nil {
			return nil, err
		}
		// The buffer writes to a part file once there is something to write.
		w.enc.w = bufio.NewWriterSize(nil, s.cfg.bufferSize)
		return w, nil
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if s.cfg.append {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("file: create sink file %s: %w", path, err)
	}
	w.file = f
	w.enc.w = bufio.NewWriterSize(f, s.cfg.bufferSize)
	return w, nil
}

// startTwoPhase prepares w to write part files: it brings the final file to
// where the restored checkpoint left it (or creates it on a fresh start) and
// deletes parts no committer will publish.
func (w *writer[T]) startTwoPhase(ctx sink.WriterContext, keep bool) error {
	w.twoPhase = true
	w.subtask = ctx.Subtask()
	w.attempt = sink.AttemptOf(ctx)
	if b := ctx.Restored(); b != nil {
		st, err := decodeWriterState(b)
		if err != nil {
			return err
		}
		// Output past st.Next was published after the restored checkpoint;
		// the replay writes it again. Parts other than the restored
		// checkpoint's are pending output of checkpoints that never
		// completed.
		if err := truncateTo(w.log, st.Final, st.Next); err != nil {
			return err
		}
		if err := removeStrayParts(st.Final, w.subtask, w.attempt, st.Attempt, st.Pending); err != nil {
			return err
		}
		// A format 2 state of this sink tells what every file of the sink
		// held at the checkpoint.
		known := st.Others != nil && filepath.Clean(st.Path) == filepath.Clean(w.base)
		if known && w.subtask == 0 {
			if err := w.restoreOthers(st); err != nil {
				return err
			}
		}
		if st.Final == w.path {
			w.next, w.seq = st.Next, st.Seq
			return nil
		}
		// The parallelism changed, and with it the file's name.
		if known {
			return w.restoreRenamed(st)
		}
		// A format 1 state does not say what the new file held at the
		// checkpoint: keep it, as published by an earlier run.
		keep = true
	}
	flags := os.O_WRONLY | os.O_CREATE
	if !keep {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(w.path, flags, 0o644)
	if err != nil {
		return fmt.Errorf("file: create sink file %s: %w", w.path, err)
	}
	fi, err := f.Stat()
	if err == nil {
		w.next = fi.Size()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("file: create sink file %s: %w", w.path, err)
	}
	return removeStrayParts(w.path, w.subtask, w.attempt, 0, nil)
}

// restoreRenamed brings the writer's file, which no writer of the restored
// checkpoint wrote, to what it held at that checkpoint: the size recorded
// in st.Others if an earlier run left it, else nothing (a run after the
// checkpoint wrote it).
func (w *writer[T]) restoreRenamed(st writerState) error {
	name := filepath.Base(w.path)
	size, ok := st.Others[name]
	if !ok {
		size = 0
	}
	if isWriterFile(w.base, name, st.Parallelism) {
		// Another old subtask's file: its committables cut it back.
		var err error
		if size, err = fileSize(w.path); err != nil {
			return err
		}
	}
	if err := truncateTo(w.log, w.path, size); err != nil {
		return err
	}
	next, err := fileSize(w.path)
	if err != nil {
		return err
	}
	w.next = next
	return removeStrayParts(w.path, w.subtask, w.attempt, 0, nil)
}

// restoreOthers brings the sink's files that no writer writes, neither
// before nor after the restore, to what they held at the restored
// checkpoint: a file recorded in st.Others is cut back to its recorded
// size; any other was written after the checkpoint (by a run at another
// parallelism) and is deleted. Writer 0 does it, for all writers. The files
// of the checkpoint's writers are cut back by their committables.
func (w *writer[T]) restoreOthers(st writerState) error {
	files, err := sinkFiles(w.base)
	if err != nil {
		return err
	}
	dir := filepath.Dir(w.base)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if isWriterFile(w.base, name, w.parallelism) || isWriterFile(w.base, name, st.Parallelism) {
			continue
		}
		path := filepath.Join(dir, name)
		if size, ok := st.Others[name]; ok {
			if _, err := cutBack(w.log, path, size); err != nil {
				return err
			}
			continue
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("file: delete sink file %s, written after the restored checkpoint: %w", path, err)
		}
		if err := removeParts(path); err != nil {
			return err
		}
		w.log.Info("file: deleted sink file written after the restored checkpoint; the replay writes its output again", "file", path)
	}
	return syncDir(dir)
}

// captureOthers records the sink's files that no writer of this
// parallelism writes, with their sizes, for SnapshotState. They stay as
// they are while the job runs, so the writer records them once, at its
// first checkpoint, after every restore has cut them back.
func (w *writer[T]) captureOthers() error {
	files, err := sinkFiles(w.base)
	if err != nil {
		return err
	}
	w.others = make(map[string]int64)
	for name, size := range files {
		if !isWriterFile(w.base, name, w.parallelism) {
			w.others[name] = size
		}
	}
	return nil
}

// encoder holds a writer's reusable encoding state.
type encoder[T any] struct {
	w       *bufio.Writer
	scratch []byte
	jsonBuf bytes.Buffer
	json    *json.Encoder
}

// write writes scratch and, if it grew large for one odd record, lets it go
// so that the writer's memory stays bounded.
func (e *encoder[T]) write() error {
	_, err := e.w.Write(e.scratch)
	if cap(e.scratch) > 1<<20 {
		e.scratch = nil
	}
	return err
}

type writer[T any] struct {
	log    *slog.Logger // the subtask's (sink.LoggerOf)
	base   string       // the sink's path
	path   string       // the final file
	file   *os.File     // the final file, or with checkpoints the open part (nil if none)
	enc    encoder[T]
	sync   bool
	encode func(enc *encoder[T], v T) error
	closed bool

	// With checkpoints (twoPhase), records go to part files numbered by seq.
	twoPhase    bool
	subtask     int
	attempt     int64 // sink.AttemptOf: names the parts
	parallelism int
	others      map[string]int64 // see writerState.Others; nil until the first SnapshotState
	part        string           // path of the open part, if file is not nil
	seq         uint64           // number of the next part
	next        int64            // offset of the final file where the next part lands
	pending     []uint64         // parts returned by the last PreCommit
}

var errWriterClosed = errors.New("file: write after Close; the runtime must not use a writer it closed")

// Write encodes v into the buffer, writing the buffer out when it fills.
// With checkpoints, the first record after a barrier opens a new part file.
func (w *writer[T]) Write(_ context.Context, v T) error {
	if w.closed {
		return errWriterClosed
	}
	if w.twoPhase && w.file == nil {
		if err := w.openPart(); err != nil {
			return err
		}
	}
	if err := w.encode(&w.enc, v); err != nil {
		return fmt.Errorf("file: write a record to %s: %w", w.path, err)
	}
	if w.enc.jsonBuf.Cap() > 1<<20 {
		w.enc.jsonBuf = bytes.Buffer{}
	}
	return nil
}

func (w *writer[T]) openPart() error {
	path := partName(w.path, w.subtask, w.attempt, w.seq)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("file: create part file %s: %w", path, err)
	}
	w.seq++
	w.file, w.part = f, path
	w.enc.w.Reset(f)
	return nil
}

// Flush writes the buffer out to the file and, with [Sync], to the disk.
// With checkpoints it writes to the current part file, which stays
// invisible until PreCommit and Commit publish it.
func (w *writer[T]) Flush(context.Context) error {
	if w.closed {
		return errWriterClosed
	}
	if w.file == nil {
		return nil // nothing written since the last PreCommit
	}
	if err := w.enc.w.Flush(); err != nil {
		return fmt.Errorf("file: flush %s: %w", w.file.Name(), err)
	}
	if w.sync {
		if err := w.file.Sync(); err != nil {
			return fmt.Errorf("file: fsync %s: %w", w.file.Name(), err)
		}
	}
	return nil
}

// PreCommit implements [sink.PreCommitter]. With checkpoints it writes out,
// fsyncs and closes the current part file and returns one committable that
// publishes it at the end of the final file; if nothing was written since
// the last PreCommit, it returns a mark that publishes nothing and records
// the file's length (see committable). Without checkpoints it is Flush.
func (w *writer[T]) PreCommit(ctx context.Context, _ int64) ([][]byte, error) {
	if w.closed {
		return nil, errWriterClosed
	}
	if !w.twoPhase {
		return nil, w.Flush(ctx)
	}
	w.pending = w.pending[:0]
	if w.file == nil {
		return [][]byte{w.mark()}, nil
	}
	f, path := w.file, w.part
	w.file, w.part = nil, ""
	err := w.enc.w.Flush()
	if err == nil {
		err = f.Sync()
	}
	var size int64
	if err == nil {
		var fi os.FileInfo
		if fi, err = f.Stat(); err == nil {
			size = fi.Size()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("file: pre-commit part file %s: %w", path, err)
	}
	if size == 0 { // only records that failed to encode
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("file: delete empty part file %s: %w", path, err)
		}
		return [][]byte{w.mark()}, nil
	}
	// The checkpoint will name the part: its directory entry must last.
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	c := committable{Part: path, Final: w.path, Offset: w.next, Length: size}
	w.next += size
	w.pending = append(w.pending, w.seq-1)
	return [][]byte{c.encode()}, nil
}

// mark returns a committable that publishes nothing and says where the
// final file ends.
func (w *writer[T]) mark() []byte {
	return committable{Final: w.path, Offset: w.next}.encode()
}

// SnapshotState implements [sink.StatefulWriter]. With checkpoints it
// returns the final file's name, its length once the committables of the
// last PreCommit are published, the parts they name, and the sizes of the
// sink's files that no writer writes. Without checkpoints the writer has
// no state.
func (w *writer[T]) SnapshotState(int64) ([]byte, error) {
	if !w.twoPhase {
		return nil, nil
	}
	if w.others == nil {
		if err := w.captureOthers(); err != nil {
			return nil, err
		}
	}
	return writerState{
		Final: w.path, Next: w.next, Seq: w.seq, Pending: slices.Clone(w.pending), Attempt: w.attempt,
		Path: w.base, Parallelism: w.parallelism, Others: w.others,
	}.encode(), nil
}

// Close closes the file without writing out the buffer. With checkpoints
// it deletes the current part file: no committable names it.
func (w *writer[T]) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.file == nil {
		return nil
	}
	err := w.file.Close()
	if err != nil {
		err = fmt.Errorf("file: close %s: %w", w.file.Name(), err)
	}
	if w.twoPhase {
		if rerr := os.Remove(w.part); rerr != nil && err == nil {
			err = fmt.Errorf("file: delete unfinished part file %s: %w", w.part, rerr)
		}
	}
	return err
}
