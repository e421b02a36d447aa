// Package sink is the connector SPI for writing the results of a weir job.
//
// A Sink creates one Writer per parallel subtask. The runtime calls a writer
// only from its subtask's goroutine, so a writer needs no locks of its own.
// Flush is called at every checkpoint barrier and at the end of input: what
// was written before a completed Flush must not be lost.
//
// Exactly-once output uses two-phase commit, as Flink's Sink API does. A
// writer that implements PreCommitter makes what it wrote since the last
// barrier durable but invisible, and returns committables that are stored
// in the checkpoint. When the checkpoint completes, the sink's Committer
// publishes them. After a crash, the job restores the last completed
// checkpoint and commits its committables again, so Commit must be
// idempotent; output that was pre-committed after that checkpoint is
// dropped by the writer when it is restored (see WriterContext).
package sink

import (
	"context"
	"log/slog"
)

// Sink creates the writers of one sink.
type Sink[T any] interface {
	// NewWriter creates the writer of one parallel subtask. It must not
	// start goroutines that outlive Close.
	NewWriter(ctx WriterContext) (Writer[T], error)
}

// WriterContext tells a writer which subtask it serves and what it
// restores.
type WriterContext interface {
	// Subtask is the index of this writer, in [0, Parallelism).
	Subtask() int
	// Parallelism is the number of writers of the sink.
	Parallelism() int
	// Checkpointing reports whether the job takes checkpoints. A writer
	// that can pre-commit publishes only through its Committer then;
	// without checkpoints it may write output directly.
	Checkpointing() bool
	// Restored returns the state this subtask's writer snapshotted in the
	// checkpoint the job restores (see StatefulWriter), or nil. After a
	// change of parallelism a writer gets the state of the old subtask with
	// its index, if any.
	Restored() []byte
}

// StatefulWriter is a Writer with state of its own to keep in checkpoints
// (for example, how much of its output is committed).
type StatefulWriter interface {
	// SnapshotState returns the writer's state at the barrier of
	// checkpoint id, after PreCommit if the writer has it.
	SnapshotState(id int64) ([]byte, error)
}

// PreCommitter is a Writer that takes part in two-phase commit.
type PreCommitter interface {
	// PreCommit makes everything written since the previous barrier
	// durable but not visible, and returns the committables that will
	// publish it. It is called at the barrier of checkpoint id, and at the
	// end of input with id 0: those committables are published once the
	// whole job has finished, or by a later checkpoint that holds them,
	// never before (a restore could otherwise replay them).
	PreCommit(ctx context.Context, id int64) ([][]byte, error)
}

// Committer publishes pre-committed output.
type Committer interface {
	// Commit publishes committables whose checkpoint completed. It must be
	// idempotent: after a restore the same committables are committed
	// again, and some of them may already be published.
	Commit(ctx context.Context, committables [][]byte) error
}

// RestoringCommitter is a Committer that does more when the job restores
// a checkpoint. CommitRestored publishes the committables of the
// checkpoint the job restores, as Commit does, before the writers start;
// it may also take back output that checkpoints after it published, which
// the replay writes again (the file sink cuts its files back).
//
// Commit itself must never take output back: a commit can come late. In a
// cluster, a worker cut off from the others may still commit a checkpoint
// it was told of before, after the live run restored that checkpoint and
// published more.
type RestoringCommitter interface {
	Committer
	CommitRestored(ctx context.Context, committables [][]byte) error
}

// CommittingSink is a Sink whose writers pre-commit.
type CommittingSink interface {
	// NewCommitter creates the committer of one subtask.
	NewCommitter() (Committer, error)
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

// AttemptOf returns the attempt of the run whose writer ctx serves, or 0
// when ctx does not say (a test's own context; the runtime's
// WriterContext has an Attempt method).
//
// Two runs of one job whose writers may be alive at the same time have
// different attempts, and a later run a larger one. In one process a
// restart stops the old writers before it creates new ones, and every
// run has attempt 0. In a cluster each epoch is an attempt of its own: a
// worker cut off from the others (stopped, or behind a network partition)
// keeps running its old part of the job until it notices, beside the
// writers of the newer epoch. A writer that names external resources after
// its subtask (transactional ids, staging files) puts its attempt in the
// name, so that such a zombie cannot take over what the live writer uses.
func AttemptOf(ctx WriterContext) int64 {
	if c, ok := ctx.(interface{ Attempt() int64 }); ok {
		return c.Attempt()
	}
	return 0
}

// LoggerOf returns the logger the runtime gives the writer of ctx, whose
// lines carry the job, the operator and the subtask (the runtime's
// WriterContext has a Logger method), or fallback when ctx has none (a
// test's own context). A connector logs through it unless its user gave
// it a logger of its own.
func LoggerOf(ctx WriterContext, fallback *slog.Logger) *slog.Logger {
	if c, ok := ctx.(interface{ Logger() *slog.Logger }); ok {
		if l := c.Logger(); l != nil {
			return l
		}
	}
	return fallback
}
