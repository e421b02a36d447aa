package job

import (
	"context"
	"errors"
	"fmt"

	"github.com/weirstream/weir/internal/checkpoint/storage"
)

// errStopped is the cause of a run ended by a stop-with-savepoint.
var errStopped = errors.New("weir: stopped with a savepoint")

// savepointReq asks the driver for a savepoint.
type savepointReq struct {
	stop bool // stop the job once the savepoint completed
	done chan savepointResult
}

type savepointResult struct {
	path string
	err  error
}

// Savepoint takes a savepoint of the running job and returns its
// location; with stop, the job then stops and Execute returns nil. It
// blocks until the savepoint completed, failed, or ctx ended.
func (j *Job) Savepoint(ctx context.Context, stop bool) (string, error) {
	j.mu.Lock()
	run := j.current
	j.mu.Unlock()
	if run == nil {
		return "", errors.New("weir: no job with checkpoints is running: savepoints need Execute with Checkpoints")
	}
	req := &savepointReq{stop: stop, done: make(chan savepointResult, 1)}
	select {
	case run.savepointReqs <- req:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	select {
	case res := <-req.done:
		return res.path, res.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// triggerSavepoint starts the first queued savepoint if no checkpoint is
// in progress (else the next tick tries again).
func (d *driver) triggerSavepoint(ctx context.Context) {
	now := d.now()
	id, acts := d.coord.TriggerNow(now)
	if id == 0 {
		if len(acts) == 0 && d.coord.Pending() == 0 {
			// Not blocked by a checkpoint (metadata is written before the
			// driver takes its next event): every source finished.
			req := d.queued[0]
			d.queued = d.queued[1:]
			req.done <- savepointResult{err: errors.New("weir: the job's sources have finished: nothing to take a savepoint of")}
		}
		return
	}
	req := d.queued[0]
	d.queued = d.queued[1:]
	d.run.savepointDirs.Store(id, storage.NewSavepointDir(uint64(id), now))
	d.inFlight[id] = req
	d.act(ctx, acts)
}

// savepointEnded answers the request of savepoint id, if it was one, and
// stops the run after a stop-with-savepoint.
func (d *driver) savepointEnded(id int64, completed bool, reason string) {
	req := d.inFlight[id]
	if req == nil {
		return
	}
	delete(d.inFlight, id)
	r := d.run
	res := savepointResult{path: r.store.PathOf(r.dirFor(id))}
	if !completed {
		res = savepointResult{err: fmt.Errorf("weir: savepoint failed: %s", reason)}
	} else {
		r.job.log.Info("savepoint completed", "path", res.path)
	}
	req.done <- res
	if req.stop && completed && r.stop != nil {
		r.stop(errStopped)
	}
}

// failSavepoints answers the savepoints the run can no longer take.
func (d *driver) failSavepoints() {
	for _, q := range d.queued {
		q.done <- savepointResult{err: errors.New("weir: the job ended before the savepoint completed")}
	}
	for _, q := range d.inFlight {
		q.done <- savepointResult{err: errors.New("weir: the job ended before the savepoint completed")}
	}
	d.queued, d.inFlight = nil, nil
}
