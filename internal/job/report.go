package job

import (
	"context"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
)

// The reports of a run's tasks to the driver. They are plain data, so that
// a task in one process can report to a driver in another (a cluster's
// coordinator).

// Ack is a task's acknowledgement of checkpoint ID with the states of its
// operators, or its refusal (Err).
type Ack struct {
	ID   int64
	Task checkpoint.TaskID
	Ops  []OperatorState
	// Alignment is how long the task held back the inputs that had
	// delivered the barrier while it waited for the others.
	Alignment time.Duration
	Err       string
	// Timing is when the task took its part, for the checkpoint's
	// timeline; zero when unknown (an enumerator, a task in another
	// process).
	Timing Timing
}

// Timing is when a task reached the steps of a checkpoint: the first
// barrier, the aligned snapshot's start, its end, and the end of the
// upload.
type Timing struct {
	Barrier, Aligned, Snapshotted, Uploaded time.Time
}

// Ended says that a task ended its input, with the final state of its
// operators (internals invariant 13).
type Ended struct {
	Task  checkpoint.TaskID
	Final []FinalState
	// Barrier is the last checkpoint whose barrier the task took, 0 for
	// none: a checkpoint still waiting for the task's acknowledgement of
	// it aborts (checkpoint.Coordinator.Finished).
	Barrier int64
}

// Reporter takes the reports of a run's tasks. A run reports to its own
// driver by default; a cluster's worker whose coordinator is another
// process reports to it over the network. Methods may block until the
// report is taken or ctx ends.
type Reporter interface {
	Ack(ctx context.Context, a Ack) error
	Ended(ctx context.Context, e Ended) error
	FinalCommit(ctx context.Context, fc FinalCommit) error
}

// report hands an acknowledgement to the reporter; a failure to deliver
// it only makes the checkpoint time out, so it is logged, not fatal.
func (r *Run) report(ctx context.Context, a Ack) {
	if err := r.reporter.Ack(ctx, a); err != nil && ctx.Err() == nil {
		r.job.log.Warn("could not acknowledge a checkpoint; it will time out", "checkpoint", a.ID, "task", a.Task, "err", err)
	}
}

// taskReport is an acknowledgement, or the end of a task's input when
// ended is set. Both kinds travel in one queue: a task sends its last
// acknowledgements before its end, and the driver must take them in that
// order. Were the end taken first, the coordinator would stop waiting for
// the task and drop its acknowledgement, and the checkpoint would hold the
// task's final state instead of the state at its barrier — for a source
// reader, "no splits" for a position before its last records, which a
// restore would then never read.
type taskReport struct {
	ack   Ack
	ended *Ended
}

// local reports to the run's own driver.
type local struct{ run *Run }

func (l local) Ack(ctx context.Context, a Ack) error { return l.run.Receive(ctx, a) }

func (l local) Ended(ctx context.Context, e Ended) error { return l.run.ReceiveEnded(ctx, e) }

func (l local) FinalCommit(_ context.Context, fc FinalCommit) error {
	l.run.ReceiveFinalCommit(fc)
	return nil
}

// Receive hands an acknowledgement to the run's driver: of one of its
// tasks, or of a task in another process of a cluster.
func (r *Run) Receive(ctx context.Context, a Ack) error {
	select {
	case r.reports <- taskReport{ack: a}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ReceiveEnded tells the run's driver that a task ended its input; the
// driver stops waiting for it, and later checkpoints hold its final
// state.
func (r *Run) ReceiveEnded(ctx context.Context, e Ended) error {
	select {
	case r.reports <- taskReport{ended: &e}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ReceiveFinalCommit holds a sink subtask's end-of-input commit (see
// final.go).
func (r *Run) ReceiveFinalCommit(fc FinalCommit) {
	r.finalMu.Lock()
	r.finals = append(r.finals, &fc)
	r.finalMu.Unlock()
}
