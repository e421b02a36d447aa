package sql

import (
	"context"
	"errors"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/types"
)

// Job is a running job started by INSERT INTO, a statement set or SELECT.
// Execute returns once it is started (as Flink's client submits
// asynchronously); Wait blocks until it ends.
type Job struct {
	env       *weir.Env
	name      string
	cancel    context.CancelFunc
	done      chan struct{}
	err       error
	rows      chan types.Row // nil for INSERT
	changelog bool
	closers   []func() error
}

// Name returns the job's name ('pipeline.name', or one derived from the
// statement).
func (j *Job) Name() string { return j.name }

// Wait blocks until the job ends. It returns nil when a bounded job
// finished or the job was cancelled, else the error that failed it.
func (j *Job) Wait() error {
	<-j.done
	return j.err
}

// Cancel stops the job (without a savepoint) and returns at once; Wait
// tells when it has stopped.
func (j *Job) Cancel() { j.cancel() }

// Env returns the job's environment, for web.Handler (--http), metrics and
// savepoints.
func (j *Job) Env() *weir.Env { return j.env }

// Rows returns the result changelog of a SELECT, closed when the job ends;
// nil for an INSERT. A consumer must drain it: the job waits while it is
// full.
func (j *Job) Rows() <-chan types.Row {
	if j.rows == nil {
		return nil
	}
	return j.rows
}

// Changelog reports whether a SELECT's rows can be -U/+U/-D: the query is
// updating (a GROUP BY without a window).
func (j *Job) Changelog() bool { return j.changelog }

// start runs the job in a goroutine.
func (j *Job) start(ctx context.Context) {
	ctx, j.cancel = context.WithCancel(ctx)
	j.done = make(chan struct{})
	go func() {
		defer close(j.done)
		err := j.env.Execute(ctx, j.name)
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			err = nil
		}
		for _, c := range j.closers {
			if cerr := c(); cerr != nil && err == nil {
				err = cerr
			}
		}
		j.err = err
		if j.rows != nil {
			close(j.rows)
		}
	}()
}
