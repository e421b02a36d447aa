// Package stdout writes the records of a weir job as JSON lines to an
// io.Writer, typically os.Stdout, for demos, debugging and tests.
package stdout

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/weirstream/weir/sink"
)

// JSONAppender is implemented by records that encode themselves as JSON
// faster than encoding/json can. It has the method set of the file
// connector's JSONAppender, so a type written for one serves both.
// AppendJSON appends one JSON value without a newline to dst and returns
// the extended slice.
type JSONAppender interface {
	AppendJSON(dst []byte) []byte
}

// flushAt is the buffered size past which a writer writes out without
// waiting for Flush, bounding its memory.
const flushAt = 64 << 10

// Sink writes each record as one line of JSON to a shared io.Writer. It
// implements [sink.Sink]. The writers of all subtasks buffer whole lines
// and write them out under one lock, so lines never interleave; the order
// of lines from different subtasks is not defined.
//
// A writer writes its buffer out when it holds 64 KiB and at Flush, which
// the runtime calls at every checkpoint barrier and at the end of input;
// Close drops what is buffered, as a job that fails or is stopped closes
// its writers without Flush. With [LineBuffered] a writer writes every
// record out at once instead.
type Sink[T any] struct {
	out *output
	cfg sinkConfig
}

type sinkConfig struct {
	lineBuffered bool
}

// SinkOption configures [NewSink]. Each option's documentation states the
// default it overrides.
type SinkOption interface {
	apply(*sinkConfig)
}

type sinkOptionFunc func(*sinkConfig)

func (f sinkOptionFunc) apply(c *sinkConfig) { f(c) }

// LineBuffered makes every Write write its record's line out to the
// io.Writer at once, in one call, as C's stdio does for a terminal: for
// output that is read as it comes (a terminal, a file followed with tail
// -f) and for jobs that may be stopped at any moment, which then have
// written every record they wrote. It costs one write call per record.
// By default writers buffer up to 64 KiB.
func LineBuffered() SinkOption {
	return sinkOptionFunc(func(c *sinkConfig) { c.lineBuffered = true })
}

// output is the io.Writer the writers of a sink share, and its lock.
type output struct {
	mu sync.Mutex
	w  io.Writer
}

var _ sink.Sink[int] = (*Sink[int])(nil)

// NewSink returns a sink writing to w, which the sink does not close. Each
// record is encoded by its [JSONAppender] method if it has one (on the value
// or on a pointer to it), otherwise by encoding/json without HTML escaping.
// A nil w is an error.
func NewSink[T any](w io.Writer, opts ...SinkOption) (*Sink[T], error) {
	if w == nil {
		return nil, errors.New("stdout: the io.Writer is nil; pass os.Stdout or another writer to NewSink")
	}
	s := &Sink[T]{out: &output{w: w}}
	for _, o := range opts {
		o.apply(&s.cfg)
	}
	return s, nil
}

// NewWriter returns the writer of one subtask.
func (s *Sink[T]) NewWriter(sink.WriterContext) (sink.Writer[T], error) {
	if s.out == nil {
		return nil, errors.New("stdout: the sink was not made by NewSink; create it with stdout.NewSink(os.Stdout)")
	}
	w := &writer[T]{out: s.out, lineBuffered: s.cfg.lineBuffered}
	w.json = json.NewEncoder(&w.buf)
	w.json.SetEscapeHTML(false)
	return w, nil
}

type writer[T any] struct {
	out          *output
	buf          bytes.Buffer
	json         *json.Encoder // encodes into buf, appending '\n'
	lineBuffered bool
	closed       bool
}

var errClosed = errors.New("stdout: write after Close; the runtime must not use a writer it closed")

// Write encodes v into the writer's buffer, writing the buffer out once it
// holds 64 KiB, or at once with [LineBuffered].
func (w *writer[T]) Write(ctx context.Context, v T) error {
	if w.closed {
		return errClosed
	}
	switch a := any(v).(type) {
	case JSONAppender:
		w.buf.Write(append(a.AppendJSON(w.buf.AvailableBuffer()), '\n'))
	default:
		if a, ok := any(&v).(JSONAppender); ok {
			w.buf.Write(append(a.AppendJSON(w.buf.AvailableBuffer()), '\n'))
			break
		}
		n := w.buf.Len()
		if err := w.json.Encode(v); err != nil {
			w.buf.Truncate(n)
			return fmt.Errorf("stdout: encode a %T record as JSON: %w", v, err)
		}
	}
	if w.lineBuffered || w.buf.Len() >= flushAt {
		return w.Flush(ctx)
	}
	return nil
}

// Flush writes the buffered lines to the io.Writer.
func (w *writer[T]) Flush(context.Context) error {
	if w.closed {
		return errClosed
	}
	if w.buf.Len() == 0 {
		return nil
	}
	w.out.mu.Lock()
	_, err := w.out.w.Write(w.buf.Bytes())
	w.out.mu.Unlock()
	w.buf.Reset()
	if w.buf.Cap() > 1<<20 {
		w.buf = bytes.Buffer{} // let an odd huge record's buffer go
	}
	if err != nil {
		return fmt.Errorf("stdout: write: %w", err)
	}
	return nil
}

// Close drops what is buffered, without writing it.
func (w *writer[T]) Close() error {
	w.closed = true
	w.buf = bytes.Buffer{}
	return nil
}
