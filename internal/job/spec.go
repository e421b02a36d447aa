package job

import (
	"context"
	"log/slog"
	"time"

	"github.com/weirstream/weir/internal/runtime"
)

// Spec is what the runner needs of a job. The planner fills it in.
type Spec struct {
	// Name names the job in logs, errors and checkpoint metadata.
	Name string
	// MaxParallelism is the number of key groups; a checkpoint taken with
	// another number cannot be restored.
	MaxParallelism int
	// Checkpoints, when not nil, turns checkpoints on.
	Checkpoints *Checkpoints
	// Build makes the tasks of one run. run is nil without checkpoints;
	// otherwise Build registers every task with it (Run.AddTask) and
	// restores operators from run.Restore(). The driver's own task is added
	// by the runner.
	Build func(ctx context.Context, run *Run) ([]runtime.Task, error)
	// States are the UIDs under which the job's operators keep state, with
	// the operators' names; a restore fails on state under any other UID
	// unless the checkpoint settings allow it.
	States map[string]string
	// Publish publishes what a sink pre-committed at the end of its input
	// (see final.go), by the sink's UID, with a committer of its own: when
	// a checkpoint that holds it completes, when the job has finished, and
	// again when a job that finished is started. Sinks without a committer
	// have none.
	Publish map[string]func(ctx context.Context, committables [][]byte) error
	// Logger is where the driver logs, with the job's name as attribute
	// "job"; nil means slog.Default().
	Logger *slog.Logger
}

// Checkpoints are the checkpoint settings of a job. The Env validates them.
type Checkpoints struct {
	// Location is a directory or an object-storage URL.
	Location string
	// Interval between the starts of checkpoints.
	Interval time.Duration
	// Timeout aborts a checkpoint that has not completed.
	Timeout time.Duration
	// MinPause between the end of a checkpoint and the start of the next.
	MinPause time.Duration
	// Retain is how many completed checkpoints are kept.
	Retain int
	// RestoreFrom is "" or "latest" (the newest checkpoint at Location,
	// if any), or the path of a checkpoint or savepoint.
	RestoreFrom string
	// Restart says how a failed run restarts.
	Restart Restart
	// Unaligned makes barriers overtake the records in flight, which are
	// stored with the checkpoint. Savepoints are always aligned.
	Unaligned bool
	// AllowNonRestoredState drops the state of operators the job does not
	// have (see Spec.StateUIDs) instead of failing the restore.
	AllowNonRestoredState bool
}
