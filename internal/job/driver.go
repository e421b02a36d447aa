package job

import (
	"context"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/runtime"
)

// driver runs the checkpoint coordinator of a run: it turns the clock,
// acknowledgements and savepoint requests into coordinator events, and
// the coordinator's actions into triggers, metadata and notifications. It
// owns no protocol state of its own but the savepoint requests; everything
// it does runs on its goroutine.
type driver struct {
	run   *Run
	coord *checkpoint.Coordinator[[]OperatorState]
	tasks Tasks
	clock func() time.Time // nil: time.Now

	queued   []*savepointReq         // waiting for a checkpoint to end
	inFlight map[int64]*savepointReq // by savepoint id
	// ended holds the final state of each task that ended its input.
	ended    map[checkpoint.TaskID][]FinalState
	allEnded bool // every task ended: Run.allEnded is closed
}

func newDriver(r *Run, tasks Tasks) *driver {
	cfg := r.job.spec.Checkpoints
	ids := make([]checkpoint.TaskID, len(r.tasks))
	var readers []checkpoint.TaskID
	for i, t := range r.tasks {
		ids[i] = t.id
		if t.reader {
			readers = append(readers, t.id)
		}
	}
	coord := checkpoint.NewCoordinator[[]OperatorState](checkpoint.Config{
		Interval: cfg.Interval, Timeout: cfg.Timeout, MinPause: cfg.MinPause,
	}, ids, readers, r.lastID, r.job.stats)
	return &driver{run: r, coord: coord, tasks: tasks, inFlight: map[int64]*savepointReq{}, ended: map[checkpoint.TaskID][]FinalState{}}
}

// loop runs the driver until ctx ends.
func (d *driver) loop(ctx context.Context) error {
	r := d.run
	tick := time.NewTicker(min(r.job.spec.Checkpoints.Interval/4, 50*time.Millisecond))
	defer tick.Stop()
	defer d.failSavepoints()
	for {
		select {
		case <-ctx.Done():
			return nil
		case req := <-r.savepointReqs:
			d.queued = append(d.queued, req)
			d.triggerSavepoint(ctx)
		case now := <-tick.C:
			d.tick(ctx, now)
		case rep := <-r.reports:
			d.report(ctx, rep)
		}
	}
}

// report passes a task's report to the coordinator.
func (d *driver) report(ctx context.Context, rep taskReport) {
	if rep.ended != nil {
		d.taskEnded(ctx, *rep.ended)
		return
	}
	d.ack(ctx, rep.ack)
}

// taskEnded stops waiting for a task that ended its input; later
// checkpoints hold its final state.
func (d *driver) taskEnded(ctx context.Context, e Ended) {
	d.ended[e.Task] = e.Final
	d.act(ctx, d.coord.Finished(d.now(), e.Task, e.Barrier))
	if r := d.run; r.allEnded != nil && !d.allEnded && len(d.ended) == r.chainTasks() {
		d.allEnded = true
		close(r.allEnded)
	}
}

func (d *driver) tick(ctx context.Context, now time.Time) {
	if len(d.queued) > 0 {
		d.triggerSavepoint(ctx)
	}
	d.act(ctx, d.coord.Tick(now))
}

func (d *driver) ack(ctx context.Context, a Ack) {
	if a.Err != "" {
		d.act(ctx, d.coord.Decline(d.now(), a.ID, a.Task, a.Err))
		return
	}
	d.run.job.stats.Aligned(a.ID, a.Task, a.Alignment)
	if tm := a.Timing; !tm.Uploaded.IsZero() {
		d.run.job.stats.Timed(a.ID, a.Task, tm.Barrier, tm.Aligned, tm.Snapshotted, tm.Uploaded, ackSize(a.Ops))
	}
	d.act(ctx, d.coord.Ack(d.now(), a.ID, a.Task, a.Ops))
}

// act carries out the coordinator's actions.
func (d *driver) act(ctx context.Context, actions []checkpoint.Action[[]OperatorState]) {
	for _, a := range actions {
		switch a.Kind {
		case checkpoint.TriggerSources:
			d.tasks.Trigger(ctx, a.ID)
		case checkpoint.Persist:
			size, err := d.persist(ctx, a.ID, a.States)
			d.act(ctx, d.coord.Persisted(d.now(), a.ID, size, err))
		case checkpoint.NotifyComplete:
			if !d.notify(ctx, a.Tasks, runtime.Command{Kind: runtime.Complete, ID: a.ID}) {
				return
			}
			d.completed(ctx, a.ID)
		case checkpoint.NotifyAbort:
			if ctx.Err() != nil {
				// The job is ending; retention removes the leftovers of
				// this checkpoint at the next run.
				return
			}
			d.aborted(ctx, a.ID, a.Reason)
			if !d.notify(ctx, a.Tasks, runtime.Command{Kind: runtime.Abort, ID: a.ID}) {
				return
			}
			d.savepointEnded(a.ID, false, a.Reason)
		}
	}
}

// notify tells every task of ids; false when ctx ended first.
func (d *driver) notify(ctx context.Context, ids []checkpoint.TaskID, c runtime.Command) bool {
	for _, t := range ids {
		if !d.tasks.Notify(ctx, t, c) {
			return false
		}
	}
	return true
}

// completed publishes what checkpoint id completed for sinks that have
// finished, prunes old checkpoints, and answers a savepoint request.
func (d *driver) completed(ctx context.Context, id int64) {
	r := d.run
	if err := r.commitFinals(ctx, id); err != nil && ctx.Err() == nil {
		r.job.log.Warn("could not publish the output of a finished sink; the job publishes it when it ends", "err", err)
	}
	if err := d.confirm(ctx); err != nil {
		r.job.log.Warn("kept the old checkpoints: this run may no longer be the job's live one", "err", err)
	} else if err := r.store.Retain(ctx, r.job.spec.Checkpoints.Retain); err != nil && ctx.Err() == nil {
		r.job.log.Warn("could not delete old checkpoints", "err", err)
	}
	d.savepointEnded(id, true, "")
}

// aborted logs an aborted checkpoint and deletes what it wrote.
func (d *driver) aborted(ctx context.Context, id int64, reason string) {
	r := d.run
	r.job.log.Warn("checkpoint aborted", "checkpoint", id, "reason", reason)
	if err := d.confirm(ctx); err != nil {
		// The live run may have given the same id to a checkpoint of its
		// own; its retention deletes these files once they are old.
		r.job.log.Warn("kept the files of the aborted checkpoint: this run may no longer be the job's live one", "checkpoint", id, "err", err)
		return
	}
	if err := r.store.Discard(ctx, r.dirFor(id)); err != nil && ctx.Err() == nil {
		r.job.log.Warn("could not delete the files of an aborted checkpoint", "checkpoint", id, "err", err)
	}
}

// confirm asks the tasks whether this run is still the job's live one
// (Confirmer); nil for tasks that cannot be given up on (one process).
func (d *driver) confirm(ctx context.Context) error {
	if c, ok := d.tasks.(Confirmer); ok {
		return c.Confirm(ctx)
	}
	return nil
}

// ackSize is the bytes an acknowledgement's states stored.
func ackSize(ops []OperatorState) int64 {
	var n int64
	for _, o := range ops {
		n += o.Subtask.KeyedSize + int64(len(o.Subtask.OperatorState)+len(o.Subtask.ChannelState))
	}
	return n
}
