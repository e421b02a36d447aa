// Package source is the connector SPI for reading data into a weir job.
//
// The shape follows Flink's FLIP-27: a Source is split into an Enumerator,
// one per source, which discovers units of work (splits: a file, a byte range
// of a file, a Kafka partition) and assigns them to readers; and a Reader, one
// per parallel subtask, which reads the splits it was given.
//
// Invariants the runtime relies on:
//
//  1. The enumerator is driven from a single goroutine: its methods are never
//     called concurrently with each other.
//  2. A reader is driven from its subtask's goroutine only. Poll must not block
//     for long (see Poll), so that the subtask keeps serving timers,
//     watermarks and, later, checkpoint barriers.
//  3. A split is assigned to at most one reader at a time. A split that a
//     failed reader held is handed back to the enumerator with AddSplitsBack.
package source

import (
	"context"
	"errors"
	"log/slog"
)

// Split is one unit of work of a source. Splits are values: a reader that
// reports its splits in a snapshot returns them with their current position.
type Split interface {
	// SplitID identifies the split; it is stable across restarts.
	SplitID() string
}

// Boundedness says whether a source ends.
type Boundedness int

const (
	// Bounded sources end: when every reader has read all its splits, the job
	// drains, fires every window and finishes.
	Bounded Boundedness = iota
	// Unbounded sources run until the job is cancelled.
	Unbounded
)

// String returns "bounded" or "unbounded".
func (b Boundedness) String() string {
	if b == Bounded {
		return "bounded"
	}
	return "unbounded"
}

// Source creates the enumerator and the readers of one source.
type Source[T any] interface {
	// Boundedness says whether the source ends.
	Boundedness() Boundedness
	// NewEnumerator creates the source's enumerator. It is called once per
	// job run, before any reader is created. It must not start goroutines;
	// Start does.
	NewEnumerator(ctx EnumeratorContext) (Enumerator, error)
	// NewReader creates the reader of one parallel subtask.
	NewReader(ctx ReaderContext) (Reader[T], error)
}

// EnumeratorContext is what an enumerator may do to the running job.
// Its methods are safe to call from any goroutine.
type EnumeratorContext interface {
	// Parallelism is the number of readers.
	Parallelism() int
	// Assign gives splits to the reader of the given subtask.
	Assign(subtask int, splits ...Split)
	// NoMoreSplits tells the reader of subtask that it will get no more
	// splits: once it has read those it has, it ends.
	NoMoreSplits(subtask int)
}

// Enumerator discovers splits and assigns them to readers.
type Enumerator interface {
	// Start begins discovery. It is called once, before any other method.
	// Goroutines it starts must stop when ctx is done.
	Start(ctx context.Context) error
	// HandleSplitRequest is called when the reader of subtask asks for work.
	// The enumerator answers with Assign or NoMoreSplits, now or later.
	HandleSplitRequest(subtask int)
	// AddSplitsBack returns splits that a reader held when it failed.
	AddSplitsBack(splits []Split, subtask int)
	// Close releases resources. It is called once, after the job ends.
	Close() error
}

// ReaderContext tells a reader who it is and lets it ask for work.
type ReaderContext interface {
	// Subtask is the index of this reader, in [0, Parallelism).
	Subtask() int
	// Parallelism is the number of readers of the source.
	Parallelism() int
	// RequestSplit asks the enumerator for a split. The answer arrives
	// through Reader.AddSplits or Reader.NoMoreSplits.
	RequestSplit()
	// Checkpointing reports whether the job takes checkpoints. A reader
	// that commits its positions back to the system it reads (a Kafka
	// consumer group) does so when checkpoints complete when they are on,
	// and on its own schedule when they are off.
	Checkpointing() bool
}

// LoggerOf returns the logger the runtime gives with ctx — a
// ReaderContext, whose logger's lines carry the job, the operator and the
// subtask, or an EnumeratorContext, whose lines carry the job and the
// operator with subtask "enumerator" (the runtime's contexts have a Logger
// method) — or fallback when ctx has none (a test's own context). A
// connector logs through it unless its user gave it a logger of its own.
func LoggerOf(ctx any, fallback *slog.Logger) *slog.Logger {
	if c, ok := ctx.(interface{ Logger() *slog.Logger }); ok {
		if l := c.Logger(); l != nil {
			return l
		}
	}
	return fallback
}

// Status is what Poll says about the reader's input after a call.
type Status int

const (
	// MoreAvailable means Poll may be called again at once.
	MoreAvailable Status = iota
	// NothingAvailable means there is no data now; the runtime calls Poll
	// again soon, after serving timers and control events.
	NothingAvailable
	// EndOfInput means the reader has read all its splits and was told there
	// will be no more. Poll is not called again.
	EndOfInput
)

// Output receives the records a reader emits.
type Output[T any] interface {
	// Collect emits a record with no event timestamp (a later Watermarks
	// step assigns one).
	Collect(v T)
	// CollectAt emits a record with its event timestamp in Unix milliseconds.
	CollectAt(v T, timestampMillis int64)
}

// WatermarkOutput is implemented by every Output the runtime hands to a
// reader. A reader that knows event time per split (a Kafka partition, a
// scripted test input) emits watermarks itself; most readers leave that to a
// Watermarks step downstream.
type WatermarkOutput interface {
	// EmitWatermark says that no record at or before timestampMillis
	// follows from this reader.
	EmitWatermark(timestampMillis int64)
}

// SplitOutputs is implemented by every Output the runtime hands to a
// reader. A reader that reads several splits at once (the partitions of a
// Kafka topic) emits each split's records through the split's own output:
// when the source has a watermark strategy (weir.FromSourceWithWatermarks),
// the runtime then keeps one watermark generator per split and the
// source's watermark is the least of them, so a partition that lags does
// not make the others' records late.
type SplitOutputs[T any] interface {
	// ForSplit returns the output for the records of one split. Calling it
	// again with the same id returns the same output.
	ForSplit(splitID string) Output[T]
	// ReleaseSplit says the reader finished the split or gave it up: its
	// watermark no longer holds back the source's.
	ReleaseSplit(splitID string)
}

// DeadLetter is a record a reader read but could not decode.
type DeadLetter struct {
	// Split is the split the record came from.
	Split string `json:"split"`
	// Position locates the record in its split (a Kafka offset, a file
	// offset), for a person who wants to find it.
	Position string `json:"position"`
	// Raw is the record as read.
	Raw []byte `json:"raw"`
	// Reason says why it could not be decoded.
	Reason string `json:"reason"`
}

// DeadLetterOutput is implemented by every Output the runtime hands to a
// reader. A record the reader cannot decode goes there, never into the
// job and never silently away: the runtime counts it and sends it to the
// stream weir.SourceDeadLetters returns (or only counts it, when the job
// does not read that stream).
type DeadLetterOutput interface {
	DeadLetter(DeadLetter)
}

// CheckpointListener is implemented by readers and enumerators that act
// when a checkpoint completes, as the Kafka reader commits the offsets it
// snapshotted for that checkpoint to its consumer group, so that lag tools
// see progress.
type CheckpointListener interface {
	// NotifyCheckpointComplete is called on the reader's (or the
	// enumerator's) goroutine when checkpoint id is durable. Checkpoints complete in order, but a
	// notification may be skipped: one for a later id covers the earlier.
	// An error fails the job.
	NotifyCheckpointComplete(ctx context.Context, id int64) error
}

// SplitProgress is how far a reader is in one of its splits.
type SplitProgress struct {
	// Split is the split's id (Split.SplitID).
	Split string `json:"split"`
	// Position is where the reader is in the split, in the split's own
	// unit: for a Kafka partition, the offset of the next record to read.
	Position int64 `json:"position"`
	// Lag is what remains to read after Position, in the same unit: for a
	// Kafka partition, its end as of the reader's latest fetch (the last
	// stable offset, or the stop offset of a bounded split) minus
	// Position, as Kafka's consumer lag. It is -1 while the reader does
	// not know the split's end.
	Lag int64 `json:"lag"`
	// Unit is the unit of Position and Lag: "" for records (a Kafka
	// partition's offsets, generated events), ProgressBytes for bytes (a
	// file's offsets).
	Unit string `json:"unit,omitempty"`
}

// ProgressBytes is the SplitProgress.Unit of a split whose position is a
// byte offset, as a file's.
const ProgressBytes = "bytes"

// ProgressReporter is implemented by readers that can say how far they
// are in their splits, as the Kafka reader reports per partition its
// offset and consumer lag. The job's metrics (weir.SubtaskMetrics.Splits,
// the Prometheus series weir_source_split_position and
// weir_source_split_lag_records) read it when someone asks for them,
// never per record.
type ProgressReporter interface {
	// AppendSplitProgress appends the progress of each split the reader
	// holds (finished ones too, at lag 0) to dst and returns it.
	//
	// Unlike the Reader's other methods it is called from any goroutine,
	// at any time: before Start, while Poll runs, after Close (the last
	// progress). It must be safe for that and cheap: read what the
	// reader publishes as it goes (atomics updated per batch, not per
	// record), never wait for Poll, and do no I/O.
	AppendSplitProgress(dst []SplitProgress) []SplitProgress
}

// Reader reads the splits assigned to one subtask.
type Reader[T any] interface {
	// Start is called once before any other method. Goroutines it starts
	// must stop when ctx is done or Close is called.
	Start(ctx context.Context) error
	// AddSplits hands the reader more splits to read.
	AddSplits(splits []Split)
	// NoMoreSplits says that no more splits will be assigned.
	NoMoreSplits()
	// Poll emits the records that are available now into out, a batch at a
	// time (a few thousand records at most), and says whether more are
	// available. When nothing is available it returns NothingAvailable
	// without waiting more than about 50 ms, so the subtask stays
	// responsive. A non-nil error fails the job.
	Poll(ctx context.Context, out Output[T]) (Status, error)
	// Snapshot returns the reader's unfinished splits with their current
	// positions at the barrier of checkpoint checkpointID: what it has
	// emitted so far is before those positions.
	Snapshot(checkpointID int64) ([]Split, error)
	// Close releases resources. It is called once, also after an error.
	Close() error
}

// Checkpointed is implemented by sources whose splits can be stored in
// checkpoints. A job that takes checkpoints requires it of every source.
type Checkpointed interface {
	// EncodeSplit encodes a split of this source, position included.
	EncodeSplit(Split) ([]byte, error)
	// DecodeSplit decodes what EncodeSplit wrote.
	DecodeSplit([]byte) (Split, error)
}

// SnapshottingEnumerator is an Enumerator that can be checkpointed; a job
// that takes checkpoints requires it of every source's enumerator.
//
// Snapshot is called on the enumerator's goroutine when a checkpoint
// starts, and before any split is assigned after it: every split is then
// either in the enumerator's snapshot or in exactly one reader's.
type SnapshottingEnumerator interface {
	Enumerator
	// Snapshot returns the splits the enumerator has not assigned yet.
	Snapshot() ([]Split, error)
}

// RestoringContext is the EnumeratorContext of a job that restores a
// checkpoint.
type RestoringContext interface {
	EnumeratorContext
	// Restored returns the splits that were unassigned when the restored
	// checkpoint was taken, and true. An enumerator that restores hands
	// out exactly these, and the splits added back with AddSplitsBack, and
	// must not discover again the splits that readers finished before the
	// checkpoint. It returns false on a fresh start.
	Restored() ([]Split, bool)
}

// ErrClosed is returned by readers and enumerators used after Close.
var ErrClosed = errors.New("source: closed")
