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
