package runtime

import (
	"context"
	"time"
)

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
