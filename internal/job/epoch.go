package job

import (
	"context"
	"errors"
	"fmt"

	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
)

// A job in a cluster runs in epochs: a generation of the cluster's
// membership, and within it a restart after a failure. In every epoch each
// process runs its part of the job from one checkpoint, which the
// coordinator chooses (StartPoint) and every process opens (OpenRun). The
// coordinator's run drives the checkpoints of the whole job (Execute with
// the Tasks that reach every process).

// StartPoint returns where the job's next epoch starts: the path of the
// checkpoint or savepoint to restore (a URL or a path every process can
// open), or "" for a fresh start; done reports that the job finished
// before and has nothing left to do. While the location has completed
// checkpoints, the epoch restores the newest whose files verify; before
// the first, it restores what RestoreFrom names, if anything — in a
// cluster a new coordinator cannot tell its job's first start from a
// restart, so RestoreFrom counts only at a location without checkpoints.
func (j *Job) StartPoint(ctx context.Context, store *storage.Storage) (path string, done bool, err error) {
	dirs, err := store.Completed(ctx)
	if err != nil {
		return "", false, fmt.Errorf("weir: restore: %w", err)
	}
	var from *point
	if len(dirs) == 0 {
		p := j.spec.Checkpoints.RestoreFrom
		if p == "" || p == "latest" {
			return "", false, nil
		}
		f, closeFrom, err := j.open(ctx, p)
		if err != nil {
			return "", false, err
		}
		defer closeFrom()
		from = f
	} else {
		if done, err := j.finishedBefore(ctx, store, dirs[0].String()); err != nil || done {
			return "", done, err
		}
		if from, err = j.latest(ctx, store); err != nil {
			return "", false, fmt.Errorf("weir: restore: %w", err)
		}
	}
	if err := j.matchState(from); err != nil {
		return "", false, err
	}
	return from.store.PathOf(from.dir), false, nil
}

// OpenRun opens the run of epoch in this process, restoring the
// checkpoint at path ("" for none), which the coordinator chose and
// verified. The returned function closes what it opened.
func (j *Job) OpenRun(ctx context.Context, store *storage.Storage, path string, epoch int64) (*Run, func() error, error) {
	if path == "" {
		r := newRun(j, store, newestID(ctx, store), nil)
		r.attempt = epoch
		return r, func() error { return nil }, nil
	}
	rs, dir, err := storage.OpenRestore(ctx, path)
	if err != nil {
		return nil, nil, fmt.Errorf("weir: restore %s: %w", path, err)
	}
	b, err := rs.ReadMetadata(ctx, dir, nil)
	var m *snapshot.Metadata
	if err == nil {
		m, err = snapshot.DecodeMetadata(b)
	}
	if err != nil {
		rs.Close()
		return nil, nil, fmt.Errorf("weir: restore %s: %w", path, err)
	}
	r := newRun(j, store, newestID(ctx, store), &point{meta: m, store: rs, dir: dir})
	r.attempt = epoch
	return r, rs.Close, nil
}

// Execute builds the run's tasks in this process and runs them until they
// end, ctx ends or one fails. With driver it also drives the checkpoints
// of the whole job, reaching its tasks through driver, and waits for every
// task of the job, in this process or another, to end its input; the run
// then holds what Finish publishes. Savepoints of this process's job reach
// the run while it executes.
func (r *Run) Execute(ctx context.Context, driver Tasks) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r.stop = cancel
	tasks, err := r.job.spec.Build(ctx, r)
	if err != nil {
		return fmt.Errorf("weir: job %q: %w", r.job.spec.Name, err)
	}
	if driver != nil {
		r.allEnded = make(chan struct{})
		tasks = append(tasks, r.DriverTask(driver),
			runtime.Task{Name: "the end of every task", Parallelism: 1, Run: r.awaitEnd})
		r.job.setCurrent(r)
		defer r.job.setCurrent(nil)
	}
	err = runtime.Execute(ctx, cancel, tasks)
	r.uploads.Wait()
	if errors.Is(context.Cause(ctx), errStopped) {
		return errStopped
	}
	return err
}

// awaitEnd waits until every task of the job has ended its input.
func (r *Run) awaitEnd(ctx context.Context) error {
	select {
	case <-r.allEnded:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Finish records that the job finished and publishes the end of its
// output: the coordinator calls it once Execute returned nil.
func (r *Run) Finish(ctx context.Context) error { return r.finish(ctx) }

// Stopped reports whether err is the end of a run that a stop with a
// savepoint asked for.
func Stopped(err error) bool { return errors.Is(err, errStopped) }
