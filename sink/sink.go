// Package sink is the connector SPI for writing the results of a weir job.
//
// A Sink creates one Writer per parallel subtask. The runtime calls a writer
// only from its subtask's goroutine, so a writer needs no locks of its own.
// Flush is called at every checkpoint barrier and at the end of input: what
// was written before a completed Flush must not be lost. Two-phase commit
// (pending output made visible when a checkpoint completes) arrives with the
// Committer interface of the checkpointing layer.
package sink

import "context"

// Sink creates the writers of one sink.
type Sink[T any] interface {
	// NewWriter creates the writer of one parallel subtask. It must not
	// start goroutines that outlive Close.
	NewWriter(ctx WriterContext) (Writer[T], error)
}

// WriterContext tells a writer which subtask it serves.
type WriterContext interface {
	// Subtask is the index of this writer, in [0, Parallelism).
	Subtask() int
	// Parallelism is the number of writers of the sink.
	Parallelism() int
}

// Writer writes the records of one subtask.
type Writer[T any] interface {
	// Write writes one record. It may buffer. It blocks while the
	// destination cannot take more, which backpressures the job.
	Write(ctx context.Context, v T) error
	// Flush makes everything written so far durable (or visible). It is
	// called at every checkpoint and once at the end of input.
	Flush(ctx context.Context) error
	// Close releases resources. It is called once, also after an error,
	// and does not flush: a job that failed must not publish partial output.
	Close() error
}

// Func adapts a function to a Sink whose writers call it for every record;
// it suits tests and quick jobs. The function is called from several
// goroutines when the sink's parallelism is above 1.
type Func[T any] func(ctx context.Context, v T) error

// NewWriter returns a writer that calls f.
func (f Func[T]) NewWriter(WriterContext) (Writer[T], error) { return funcWriter[T](f), nil }

type funcWriter[T any] func(ctx context.Context, v T) error

func (f funcWriter[T]) Write(ctx context.Context, v T) error { return f(ctx, v) }
func (funcWriter[T]) Flush(context.Context) error            { return nil }
func (funcWriter[T]) Close() error                           { return nil }
