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
	attempt int64    // see Attempt

	// The tasks the driver coordinates, in the order they were added, and
	// those of them that run in this process; in one process, all.
	tasks   []taskRef
	byID    map[checkpoint.TaskID]*Task
	sources []Trigger

	reporter Reporter // where this process's tasks report
	// reports carries the acknowledgements and ends of tasks to the
	// driver, in one queue: a task's acknowledgement must reach the
	// coordinator before its end (see taskReport).
	reports chan taskReport
	uploads sync.WaitGroup

	// allEnded, when not nil, is closed by the driver once every task it
	// coordinates has ended its input (Execute with a driver waits for it).
	allEnded chan struct{}

	savepointReqs chan *savepointReq
	savepointDirs sync.Map                // int64 -> storage.Dir, read by upload goroutines
	stop          context.CancelCauseFunc // ends the run

	finalMu     sync.Mutex
	finals      []*FinalCommit // sinks' end-of-input output, held by the driver; see final.go
	localFinals []string       // "uid\x00subtask" of this process's sinks that committed their end
}

// taskRef is a task the driver coordinates: in this process, or in another
// of a cluster.
type taskRef struct {
	id          checkpoint.TaskID
	parallelism int
	reader      bool
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
	// Location names the storage in messages.
	Location() string
	// PathOf is the path of a directory of the storage, to restore from.
	PathOf(d storage.Dir) string
}

func newRun(j *Job, store Store, lastID int64, from *point) *Run {
	r := &Run{job: j, store: store, lastID: lastID, byID: map[checkpoint.TaskID]*Task{},
		savepointReqs: make(chan *savepointReq),
		reports:       make(chan taskReport, 128)}
	r.reporter = local{r}
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
	r.tasks = append(r.tasks, taskRef{id: id, parallelism: parallelism, reader: reader})
	r.byID[id] = t
	return t
}

// AddRemoteTask registers a task that runs in another process of a
// cluster, for the driver of this one to coordinate: the Tasks given to
// DriverTask reach it.
func (r *Run) AddRemoteTask(id checkpoint.TaskID, parallelism int, reader bool) {
	r.tasks = append(r.tasks, taskRef{id: id, parallelism: parallelism, reader: reader})
}

// chainTasks counts the tasks that run chains of operators: every task
// but the sources' enumerators, which run until the job ends.
func (r *Run) chainTasks() int {
	n := 0
	for _, t := range r.tasks {
		if t.id.Subtask >= 0 {
			n++
		}
	}
	return n
}

// ReportTo makes the run's tasks report to rep (a coordinator in another
// process) instead of to the run's own driver.
func (r *Run) ReportTo(rep Reporter) { r.reporter = rep }

// Attempt is the cluster epoch the run belongs to (OpenRun), 0 in one
// process; 0 for a nil run (a job without checkpoints). It is in the names
// of what the run leaves outside the job: its state files, and its sinks'
// transactional ids and part files (sink.AttemptOf). A worker cut off
// from its cluster may still run an older epoch, whose tasks would
// otherwise overwrite or fence what a newer epoch uses.
func (r *Run) Attempt() int64 {
	if r == nil {
		return 0
	}
	return r.attempt
}

// Task returns the task id of this process, or nil.
func (r *Run) Task(id checkpoint.TaskID) *Task { return r.byID[id] }

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

// DriverTask returns the task that runs the run's driver, reaching the
// tasks through tasks (nil: those of this process). Call it after every
// task was registered.
func (r *Run) DriverTask(tasks Tasks) runtime.Task {
	if tasks == nil {
		tasks = LocalTasks(r)
	}
	d := newDriver(r, tasks)
	return runtime.Task{Name: "checkpoint coordinator", Parallelism: 1, Run: d.loop, Background: true}
}
