package job

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/runtime"
)

// Job runs one job: Execute, once. Its methods are safe to call from other
// goroutines while Execute runs.
type Job struct {
	spec Spec
	log  *slog.Logger // spec.Logger with the job's name

	mu      sync.Mutex
	current *Run              // the running run, for savepoints
	stats   *checkpoint.Stats // nil without checkpoints

	failures failures
	restores restores
}

// New returns a runner for spec.
func New(spec Spec) *Job {
	log := spec.Logger
	if log == nil {
		log = slog.Default()
	}
	j := &Job{spec: spec, log: log.With("job", spec.Name)}
	if spec.Checkpoints != nil {
		j.stats = checkpoint.NewStats(100)
	}
	return j
}

// Stats returns the job's recent checkpoints; nil without checkpoints.
func (j *Job) Stats() *checkpoint.Stats { return j.stats }

// Execute runs the job until its bounded sources end and every record has
// been processed, ctx is cancelled, or it fails for good. Without
// checkpoints it runs once; with them it restores the checkpoint the spec
// names (or the newest at the location) and restarts failed runs from the
// newest completed checkpoint, as the restart strategy allows. It returns
// nil when the job finished or was stopped with a savepoint.
func (j *Job) Execute(ctx context.Context) error {
	if j.spec.Checkpoints == nil {
		return j.runOnce(ctx)
	}
	cc := j.spec.Checkpoints
	store, err := storage.Open(ctx, cc.Location)
	if err != nil {
		return fmt.Errorf("weir: Checkpoints: %w", err)
	}
	defer store.Close()

	from, closeFrom, err := j.startingPoint(ctx, store)
	if err != nil || (from == nil && closeFrom == nil) {
		return err // failed, or the job already finished
	}
	defer closeFrom()
	if from != nil {
		if err := j.matchState(from); err != nil {
			return err
		}
	}
	for attempt := 1; ; attempt++ {
		if from != nil {
			j.log.Info("restoring", "from", from.dir.String(), "checkpoint", from.meta.CheckpointID)
			j.restores.add(Restored{Time: time.Now(), Path: from.dir.String(), Checkpoint: from.meta.CheckpointID})
		}
		run := newRun(j, store, newestID(ctx, store), from)
		err := run.Execute(ctx, LocalTasks(run))
		if errors.Is(err, errStopped) {
			return nil
		}
		if err == nil {
			return run.finish(ctx)
		}
		if ctx.Err() != nil {
			return err
		}
		delay, ok := cc.Restart.Next(attempt)
		if ok {
			j.failures.add(time.Now(), err, attempt)
		} else {
			j.failures.add(time.Now(), err, 0)
		}
		if !ok {
			if cc.Restart.Kind == NoRestart.Kind {
				return err
			}
			return fmt.Errorf("weir: job %q gave up after %d restarts (%s): %w", j.spec.Name, attempt-1, cc.Restart.Kind, err)
		}
		latest, lerr := j.latest(ctx, store)
		if lerr != nil {
			return fmt.Errorf("weir: job %q failed (%w) and its checkpoints cannot be read: %v", j.spec.Name, err, lerr)
		}
		if latest != nil {
			from = latest
		}
		at := "the start"
		if from != nil {
			at = from.dir.String()
		}
		j.log.Warn("job failed; restarting", failed(err, "attempt", attempt, "in", delay, "from", at)...)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// failed returns the attributes of a log line about err: args, then the
// operator and subtask that failed when err names them, then err.
func failed(err error, args ...any) []any {
	var oe *runtime.OperatorError
	if errors.As(err, &oe) {
		args = append(args, "operator", oe.Operator, "subtask", oe.Subtask)
	}
	return append(args, "err", err)
}

// startingPoint returns the checkpoint the first run restores (nil for a
// fresh start) and a function that closes what it opened. It returns a nil
// point and a nil function when the job finished before and has nothing
// left to do.
func (j *Job) startingPoint(ctx context.Context, store *storage.Storage) (*point, func() error, error) {
	nothing := func() error { return nil }
	switch path := j.spec.Checkpoints.RestoreFrom; path {
	case "", "latest":
		// A job that finished after the newest checkpoint is done, whether
		// or not that checkpoint could be restored (job invariant 4).
		newest := ""
		if dirs, err := store.Completed(ctx); err != nil {
			return nil, nil, fmt.Errorf("weir: restore: %w", err)
		} else if len(dirs) > 0 {
			newest = dirs[0].String()
		}
		done, err := j.finishedBefore(ctx, store, newest)
		if err != nil || done {
			return nil, nil, err
		}
		from, err := j.latest(ctx, store)
		if err != nil {
			return nil, nil, fmt.Errorf("weir: restore: %w", err)
		}
		return from, nothing, nil
	default:
		return j.open(ctx, path)
	}
}

// newestID returns the id of the newest completed checkpoint at store, or
// 0: a run's checkpoint ids continue after it (checkpoint invariant 3).
func newestID(ctx context.Context, store *storage.Storage) int64 {
	if dirs, err := store.Completed(ctx); err == nil && len(dirs) > 0 {
		if id, ok := dirs[0].Checkpoint(); ok {
			return int64(id)
		}
	}
	return 0
}

func (j *Job) setCurrent(r *Run) {
	j.mu.Lock()
	j.current = r
	j.mu.Unlock()
}

// runOnce runs the job once, without checkpoints.
func (j *Job) runOnce(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	tasks, err := j.spec.Build(ctx, nil)
	if err != nil {
		return fmt.Errorf("weir: job %q: %w", j.spec.Name, err)
	}
	err = runtime.Execute(ctx, cancel, tasks)
	if err != nil && parent.Err() == nil {
		j.failures.add(time.Now(), err, 0)
	}
	return err
}
