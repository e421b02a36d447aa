package runtime

import (
	"context"
	"time"
)

// Output is what a task needs of the writers at the end of its chain: flush
// partial batches, and send checkpoint barriers, in-band or ahead of the
// data (unaligned).
type Output interface {
	Flusher
	Barrier(id int64) error
	UnalignedBarrier(id int64) error
}

// CommandKind says what the checkpoint coordinator asks of a task.
type CommandKind uint8

const (
	// Trigger asks a source task to start checkpoint ID: snapshot, then emit
	// the barrier.
	Trigger CommandKind = iota
	// Complete says checkpoint ID is durable: sinks may publish, sources may
	// commit their positions back to the system they read.
	Complete
	// Abort says checkpoint ID failed: drop what was prepared for it.
	Abort
)

// Command is one message from the coordinator to a task.
type Command struct {
	Kind CommandKind
	ID   int64
}

// Checkpointing connects a task to the checkpoint coordinator. A task
// without it (checkpoints off) ignores barriers it will never receive.
type Checkpointing struct {
	// Commands carries triggers (source tasks only), completions and aborts.
	Commands <-chan Command
	// Snapshot captures the state of every operator in the chain at the
	// barrier of checkpoint id and acknowledges it to the coordinator.
	// alignment is how long the task held back inputs that had delivered
	// the barrier while waiting for the others. It runs on the task's
	// goroutine and must only copy state: uploads run in the background.
	Snapshot func(ctx context.Context, id int64, alignment time.Duration) error
	// Notify passes a completion or abort to the chain's operators.
	Notify func(ctx context.Context, c Command) error

	// Unaligned reports whether checkpoint id is unaligned: its barriers
	// overtake the data in flight, which is stored with the checkpoint.
	// Nil means every checkpoint is aligned.
	Unaligned func(id int64) bool
	// SnapshotUnaligned captures the chain's state at the first barrier of
	// unaligned checkpoint id; the acknowledgement waits for finish, which
	// the task calls with the in-flight records once it has them all.
	SnapshotUnaligned func(ctx context.Context, id int64) (finish func(channelState []byte) error, err error)
}

func (c *Checkpointing) unaligned(id int64) bool {
	return c != nil && c.Unaligned != nil && c.Unaligned(id)
}

// aligner holds back the inputs that delivered the barrier of the pending
// checkpoint until every input has (aligned checkpoints). It is pure.
type aligner struct {
	pending int64 // checkpoint being aligned; 0 when none
	blocked []bool
	first   time.Time // when the pending checkpoint's first barrier came
}

func newAligner(inputs int) aligner { return aligner{blocked: make([]bool, inputs)} }

// barrier records the barrier of checkpoint id on input i. It returns true
// when the checkpoint is aligned on every input that has not ended; the
// aligner is then reset.
func (a *aligner) barrier(i int, id int64, ended func(int) bool) bool {
	if id < a.pending {
		return false // a late barrier of an older, abandoned checkpoint
	}
	if id > a.pending {
		// A newer checkpoint overtakes one that cannot complete any more.
		a.reset()
		a.pending = id
		a.first = time.Now()
	}
	a.blocked[i] = true
	_, ok := a.aligned(ended)
	return ok
}

// aligned reports whether the pending checkpoint has its barrier on every
// input that has not ended, and returns its id; on true the aligner is
// reset (first keeps the time the checkpoint's first barrier came, for the
// alignment time). Call it when an input ends.
func (a *aligner) aligned(ended func(int) bool) (int64, bool) {
	if a.pending == 0 {
		return 0, false
	}
	for i, b := range a.blocked {
		if !b && !ended(i) {
			return 0, false
		}
	}
	id := a.pending
	a.reset()
	return id, true
}

func (a *aligner) reset() {
	clear(a.blocked)
	a.pending = 0
}
