package file

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
// [NewSink], raw strings from [NewLineSink]. It implements [sink.Sink].
//
// Each writer creates its own file, named by [SubtaskPath], with any missing
// parent directories. By default an existing file is truncated, which suits
// jobs run once from the start; with [Append] a restarted job adds to it,
// at least once. Output is not transactional: a job that fails leaves what
// its writers had written out so far (at Flush, or when a buffer filled).
type Sink[T any] struct {
	path   string
	cfg    sinkConfig
	encode func(enc *encoder[T], v T) error
}

var _ sink.Sink[int] = (*Sink[int])(nil)

type sinkConfig struct {
	sync       bool
	append     bool
	bufferSize int
}

// SinkOption configures [NewSink] and [NewLineSink].
type SinkOption interface {
	apply(*sinkConfig)
}

type sinkOptionFunc func(*sinkConfig)

func (f sinkOptionFunc) apply(c *sinkConfig) { f(c) }

// Sync makes Flush call fsync after writing the buffer out, so that flushed
// output survives a crash of the machine, not only of the process. By
// default Flush hands the data to the operating system only.
func Sync() SinkOption {
	return sinkOptionFunc(func(c *sinkConfig) { c.sync = true })
}

// Append makes writers add to existing files instead of truncating them, so
// that a job restored from a checkpoint keeps the output written before the
// failure; the records written after the checkpoint it restores appear
// twice. By default existing files are truncated.
func Append() SinkOption {
	return sinkOptionFunc(func(c *sinkConfig) { c.append = true })
}

// BufferSize sets the size in bytes of each writer's buffer; a record larger
// than the buffer is written through. Values below 4 KiB mean 4 KiB. The
// default is [DefaultBufferSize] (64 KiB).
func BufferSize(bytes int) SinkOption {
	return sinkOptionFunc(func(c *sinkConfig) { c.bufferSize = max(bytes, 4<<10) })
}

// NewSink returns a sink writing each record as one line of JSON, encoded by
// the record's [JSONAppender] method if it has one and by encoding/json
// otherwise (without HTML escaping). An empty path is reported by NewWriter.
func NewSink[T any](path string, opts ...SinkOption) *Sink[T] {
	s := &Sink[T]{path: path, cfg: newSinkConfig(opts)}
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
	return s
}

// NewLineSink returns a sink writing each string as it is, followed by '\n';
// a string that contains '\n' becomes several lines. It suits dead-letter
// output and plain text. An empty path is reported by NewWriter.
func NewLineSink(path string, opts ...SinkOption) *Sink[string] {
	return &Sink[string]{
		path: path,
		cfg:  newSinkConfig(opts),
		encode: func(enc *encoder[string], v string) error {
			if _, err := enc.w.WriteString(v); err != nil {
				return err
			}
			return enc.w.WriteByte('\n')
		},
	}
}

func newSinkConfig(opts []SinkOption) sinkConfig {
	cfg := sinkConfig{bufferSize: DefaultBufferSize}
	for _, o := range opts {
		o.apply(&cfg)
	}
	return cfg
}

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

// NewWriter creates the subtask's file, and its parent directories. An
// existing file is truncated, or appended to with [Append].
func (s *Sink[T]) NewWriter(ctx sink.WriterContext) (sink.Writer[T], error) {
	if s.path == "" {
		return nil, errors.New(`file: the sink path is empty; pass a file name such as "out/results.jsonl"`)
	}
	path := SubtaskPath(s.path, ctx.Subtask(), ctx.Parallelism())
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("file: create the directory of sink file %s: %w", path, err)
		}
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if s.cfg.append {
		flags = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("file: create sink file %s: %w", path, err)
	}
	w := &writer[T]{path: path, file: f, sync: s.cfg.sync, encode: s.encode}
	w.enc.w = bufio.NewWriterSize(f, s.cfg.bufferSize)
	w.enc.json = json.NewEncoder(&w.enc.jsonBuf)
	w.enc.json.SetEscapeHTML(false)
	return w, nil
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
	path   string
	file   *os.File
	enc    encoder[T]
	sync   bool
	encode func(enc *encoder[T], v T) error
	closed bool
}

var errWriterClosed = errors.New("file: write after Close; the runtime must not use a writer it closed")

// Write encodes v into the buffer, writing the buffer out when it fills.
func (w *writer[T]) Write(_ context.Context, v T) error {
	if w.closed {
		return errWriterClosed
	}
	if err := w.encode(&w.enc, v); err != nil {
		return fmt.Errorf("file: write a record to %s: %w", w.path, err)
	}
	if w.enc.jsonBuf.Cap() > 1<<20 {
		w.enc.jsonBuf = bytes.Buffer{}
	}
	return nil
}

// Flush writes the buffer out to the file and, with [Sync], to the disk.
func (w *writer[T]) Flush(context.Context) error {
	if w.closed {
		return errWriterClosed
	}
	if err := w.enc.w.Flush(); err != nil {
		return fmt.Errorf("file: flush %s: %w", w.path, err)
	}
	if w.sync {
		if err := w.file.Sync(); err != nil {
			return fmt.Errorf("file: fsync %s: %w", w.path, err)
		}
	}
	return nil
}

// Close closes the file without writing out the buffer.
func (w *writer[T]) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if err := w.file.Close(); err != nil {
		return fmt.Errorf("file: close %s: %w", w.path, err)
	}
	return nil
}
