package splitreader

import (
	"context"
	"fmt"

	"github.com/weirstream/weir/source"
)

// Reader reads one split. It is the connector's code; the base drives it
// from the subtask's goroutine, one call at a time.
type Reader[T any, S source.Split] interface {
	// Read emits the records of the split that are available now into
	// out, a bounded number (a few thousand at most), and says what
	// follows: MoreAvailable if Read may be called again at once,
	// NothingAvailable if the split has nothing more now, Finished if the
	// split is read to its end. Records emitted in the call that returns
	// Finished count. Read must not block for long: without data it
	// returns NothingAvailable within about 50 ms, so that the subtask
	// keeps serving timers and checkpoints.
	//
	// out is the split's own output when the runtime keeps splits apart
	// (source.SplitOutputs), and implements source.DeadLetterOutput and
	// source.WatermarkOutput when the runtime's output does. An error
	// fails the job.
	Read(ctx context.Context, out source.Output[T]) (Status, error)
	// Split returns the split at its current position: every record Read
	// emitted is before it, every record it did not emit is after it. A
	// reader opened with the returned split goes on exactly where this one
	// is. The value must not change with later calls of Read: for a
	// pointer type, return a copy.
	Split() S
	// Close releases the split's resources; goroutines the Reader started
	// stop before it returns. The base calls it once, when Read said
	// Finished or when the base itself is closed.
	Close() error
}

// CheckpointListener is implemented by a Reader that acts when a
// checkpoint completes, as a reader of a message queue acknowledges what
// it read or commits offsets to a consumer group.
type CheckpointListener[S source.Split] interface {
	// CheckpointComplete is called when checkpoint id is durable, with the
	// position the split had in that checkpoint's snapshot (what Split
	// returned then). A notification may be skipped: one for a later
	// checkpoint covers the earlier. It is not called for a split that
	// was not open at the checkpoint, nor after Close. An error fails the
	// job.
	CheckpointComplete(ctx context.Context, id int64, snapshotted S) error
}

// Status is what Read says about its split after a call.
type Status int

const (
	// MoreAvailable means Read may be called again at once.
	MoreAvailable Status = iota
	// NothingAvailable means the split has nothing to read now; the base
	// reads it again later.
	NothingAvailable
	// Finished means the split is read to its end. The base closes its
	// Reader and never reads it again.
	Finished
)

// String returns the name of the status.
func (s Status) String() string {
	switch s {
	case MoreAvailable:
		return "MoreAvailable"
	case NothingAvailable:
		return "NothingAvailable"
	case Finished:
		return "Finished"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Options configures [New]. The zero value reads one split at a time, in
// the order assigned, and asks the enumerator for splits.
type Options struct {
	// Concurrent reads every assigned split in turn instead of one after
	// the other: each Poll calls Read on the open splits round-robin,
	// starting after the split the previous Poll ended with, and ends
	// after a Read that said MoreAvailable or once it has read each split.
	// It suits unbounded splits, which never finish. By default (false)
	// the base reads one split to its end before it opens the next, in the
	// order the splits were assigned.
	Concurrent bool
	// Push says that the enumerator assigns splits on its own, as a Kafka
	// enumerator assigns partitions: the base never calls RequestSplit.
	// By default (false) the base asks for a split at Start and whenever
	// it holds none, until it is told NoMoreSplits; an enumerator that
	// wants a concurrent reader to hold several splits assigns them in
	// answer to one request.
	Push bool
	// Name starts the base's error messages, as in "file: ...". The
	// default is "source".
	Name string
	// ProgressUnit is the source.SplitProgress.Unit of the progress the
	// split Readers report (ProgressReporter): "" for records,
	// source.ProgressBytes for byte offsets.
	ProgressUnit string
}

// New returns a source.Reader that reads the splits assigned to it with
// Readers that open creates, one per split. ctx is the reader's context,
// as the Source's NewReader received it.
//
// open is called from the subtask's goroutine when a split's turn comes,
// with the split as it was assigned (or restored): a position the Reader
// must resume at. It must not modify the split. An error fails the job.
//
// The returned reader also implements source.CheckpointListener: it
// forwards completions to the Readers that implement CheckpointListener.
func New[T any, S source.Split](ctx source.ReaderContext, open func(ctx context.Context, split S) (Reader[T, S], error), o Options) source.Reader[T] {
	if o.Name == "" {
		o.Name = "source"
	}
	return &base[T, S]{rctx: ctx, open: open, o: o, ids: make(map[string]bool)}
}
