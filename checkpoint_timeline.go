package weir

import (
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
)

// CheckpointTaskTiming is one task's part in one checkpoint, each time
// from the checkpoint's trigger, as the job UI's timeline draws it: the
// first barrier reached the task (a source: it was triggered), the
// barriers were aligned and the snapshot began, the snapshot was copied,
// the state was uploaded, and the checkpoint's driver had the
// acknowledgement. Size is the bytes the task stored.
type CheckpointTaskTiming struct {
	Barrier, Aligned, Snapshotted, Uploaded, Acknowledged time.Duration
	Size                                                  int64
}

// taskTimings names the timings of a checkpoint's tasks; nil when none.
func (e *Env) taskTimings(s checkpoint.Stat) map[string]CheckpointTaskTiming {
	if len(s.Tasks) == 0 {
		return nil
	}
	out := make(map[string]CheckpointTaskTiming, len(s.Tasks))
	for t, tm := range s.Tasks {
		out[e.taskName(t.Chain, t.Subtask)] = CheckpointTaskTiming{Barrier: tm.Barrier, Aligned: tm.Aligned,
			Snapshotted: tm.Snapshotted, Uploaded: tm.Uploaded, Acknowledged: s.Acks[t], Size: tm.Size}
	}
	return out
}

// Restore is one run's starting point: the checkpoint or savepoint it
// restored.
type Restore struct {
	Time time.Time
	// Path is where the checkpoint is; Checkpoint its id.
	Path       string
	Checkpoint int64
}

// Restores returns the checkpoints and savepoints the runs of the current
// (or last) Execute restored, oldest first (the newest 100): the first
// run's RestoreFrom, then the checkpoint of each restart after a
// failure. A run that started afresh restored none. It is safe to call
// while Execute runs.
func (e *Env) Restores() []Restore {
	j := e.current()
	if j == nil {
		return nil
	}
	var out []Restore
	for _, r := range j.Restores() {
		out = append(out, Restore{Time: r.Time, Path: r.Path, Checkpoint: r.Checkpoint})
	}
	return out
}
