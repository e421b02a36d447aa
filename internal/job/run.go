package job

import (
	"context"
	"io"
	"sync"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/runtime"
)

// Run is one run of a job that takes checkpoints: from its start (fresh
// or restored) until it ends or fails. The planner registers the run's
// tasks with it while it builds them (AddTask, AddSource); then the
// runner starts the tasks and the run's driver.
type Run struct {
	job     *Job
	store   Store
	lastID  int64    // the newest checkpoint id at the location
	restore *Restore // nil on a fresh start

	tasks   []*Task
	byID    map[checkpoint.TaskID]*Task
	sources []Trigger

	acks     chan ack
	finished chan checkpoint.TaskID
	uploads  sync.WaitGroup

	savepointReqs chan *savepointReq
	savepointDirs sync.Map                // int64 -> storage.Dir, read by upload goroutines
	stop          context.CancelCauseFunc // ends the run

	finalMu sync.Mutex
	finals  []*FinalCommit // sinks' end-of-input output; see final.go
}

// Store is what a run writes checkpoints to; *storage.Storage implements
// it. Its methods are safe for concurrent use.
type Store interface {
	// WriteState writes a state file of the checkpoint in dir.
	WriteState(ctx context.Context, dir storage.Dir, name string, r io.Reader) (int64, error)
	// Commit writes dir's _metadata: the checkpoint is then complete.
	Commit(ctx context.Context, dir storage.Dir, metadata []byte) error
	// Discard deletes what an aborted checkpoint wrote.
	Discard(ctx context.Context, dir storage.Dir) error
	// Retain keeps the newest n completed checkpoints and deletes older
	// ones.
	Retain(ctx context.Context, n int) error
	// Completed lists the completed checkpoints, newest first.
	Completed(ctx context.Context) ([]storage.Dir, error)
	// MarkFinished records that the job finished.
	MarkFinished(ctx context.Context, record []byte) error
	// Location names the storage in messages and savepoint paths.
	Location() string
}

func newRun(j *Job, store Store, lastID int64, from *point) *Run {
	r := &Run{job: j, store: store, lastID: lastID, byID: map[checkpoint.TaskID]*Task{},
		savepointReqs: make(chan *savepointReq)}
	if from != nil {
		r.restore = newRestore(*from)
		r.lastID = max(r.lastID, from.meta.CheckpointID)
	}
	return r
}

// Restorer returns what the run restores, or nil on a fresh start.
func (r *Run) Restorer() Restorer {
	if r == nil || r.restore == nil {
		return nil
	}
	return r.restore
}

// Restore returns the checkpoint the run restores, or nil (also for a nil
// run: without checkpoints).
func (r *Run) Restore() *Restore {
	if r == nil {
		return nil
	}
	return r.restore
}

// AddTask registers a task: a chain's subtask (its head operator named
// head, with parallelism subtasks), or a source's enumerator (subtask -1).
// reader marks the subtasks of a source, which the driver triggers.
func (r *Run) AddTask(id checkpoint.TaskID, parallelism int, head string, reader bool) *Task {
	t := &Task{run: r, id: id, subtask: id.Subtask, parallelism: parallelism, head: head, source: reader,
		commands: make(chan runtime.Command, 16), stopped: make(chan struct{})}
	r.tasks = append(r.tasks, t)
	r.byID[id] = t
	return t
}

// AddSource registers a source's trigger (its enumeration).
func (r *Run) AddSource(t Trigger) { r.sources = append(r.sources, t) }

// unaligned reports whether checkpoint id is unaligned. Savepoints are
// always aligned: they can be restored at any parallelism.
func (r *Run) unaligned(id int64) bool {
	return r.job.spec.Checkpoints.Unaligned && !r.dirFor(id).IsSavepoint()
}

// dirFor returns where checkpoint id's files go.
func (r *Run) dirFor(id int64) storage.Dir {
	if d, ok := r.savepointDirs.Load(id); ok {
		return d.(storage.Dir)
	}
	return storage.CheckpointDir(uint64(id))
}

// ack hands an acknowledgement to the driver.
func (r *Run) ack(ctx context.Context, a ack) {
	select {
	case r.acks <- a:
	case <-ctx.Done():
	}
}

// driverTask returns the task that runs the run's driver. Call it after
// every task was registered.
func (r *Run) driverTask() runtime.Task {
	r.acks = make(chan ack, len(r.tasks)+len(r.sources))
	r.finished = make(chan checkpoint.TaskID, len(r.tasks))
	d := newDriver(r, localTasks{run: r})
	return runtime.Task{Name: "checkpoint coordinator", Parallelism: 1, Run: d.loop, Background: true}
}
