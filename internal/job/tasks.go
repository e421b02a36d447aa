package job

import (
	"context"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/runtime"
)

// Tasks is how the driver reaches the tasks of a run: in-process channels
// here; a cluster gives it a network implementation. Acknowledgements
// travel the other way, into the run (Task.upload, Task.Ack,
// Task.Finished).
type Tasks interface {
	// Trigger starts checkpoint id at every source: each snapshots its
	// enumerator and has its readers emit the barrier. It blocks only while
	// an earlier trigger waits to be taken, or until ctx is done.
	Trigger(ctx context.Context, id int64)
	// Notify delivers c to task t. It returns true once t has it or has
	// stopped (job invariant 3), false when ctx ended first.
	Notify(ctx context.Context, t checkpoint.TaskID, c runtime.Command) bool
}

// Confirmer is Tasks whose run may be given up on by others while it
// still runs: a cluster's coordinator, whose worker may have been cut off
// from the others (stopped, behind a partition) while they went on with a
// newer epoch. Confirm returns nil when the run is still the job's live
// one, and an error that says why not otherwise.
//
// The driver confirms before it writes to the checkpoint storage: before
// a checkpoint's metadata (a run given up on completes no checkpoint, so
// its sinks publish nothing that the live run will write again), and
// before it deletes an aborted or an old checkpoint (whose id the live run
// may use, or need). See internals invariant 16.
type Confirmer interface {
	Confirm(ctx context.Context) error
}

// Trigger is what a source gives the driver: runtime.Enumeration.
type Trigger interface {
	Trigger(ctx context.Context, id int64)
}

// LocalTasks reaches the tasks of r that run in this process.
func LocalTasks(r *Run) Tasks { return localTasks{run: r} }

// localTasks reaches the tasks of a run in this process.
type localTasks struct{ run *Run }

func (l localTasks) Trigger(ctx context.Context, id int64) {
	for _, s := range l.run.sources {
		s.Trigger(ctx, id)
	}
}

func (l localTasks) Notify(ctx context.Context, id checkpoint.TaskID, c runtime.Command) bool {
	t := l.run.byID[id]
	if t == nil {
		return true
	}
	select {
	case t.commands <- c:
	case <-t.stopped:
	case <-ctx.Done():
		return false
	}
	return true
}
