package plan

import (
	"context"
	"log/slog"

	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/runtime"
)

// Subtask is what an operator sees of the subtask it is built into, and
// where it registers what the task's loop must drive: tickers, state for
// checkpoints, things to close.
type Subtask struct {
	// Ctx is the run's context: it ends when the run does.
	Ctx context.Context
	// Index is the subtask's index in [0, Parallelism).
	Index, Parallelism, MaxParallelism int
	// Attempt tells this run from others of the job whose tasks may be
	// alive at the same time, a later run by a larger number: a cluster's
	// epoch (job.Run.Attempt). 0 in one process, whose restarts stop the
	// old tasks first. Sinks put it in the names of what they keep outside
	// the job (see sink.AttemptOf).
	Attempt int64
	// Running is the operator running on the task's goroutine: operators
	// that call user code enter it, so that a panic names them.
	Running *runtime.Running
	// Clock is the task's processing-time clock.
	Clock *runtime.Clock
	// Metrics are the task's counters.
	Metrics *runtime.Metrics
	// Restore is the checkpoint the run restores; nil on a fresh start and
	// without checkpoints.
	Restore job.Restorer
	// Notify wakes the loop of a task that reads inputs; nil in a source's
	// task.
	Notify chan struct{}
	// Logger is the subtask's logger: its lines carry the job, the chain
	// (attribute "operator") and the subtask. Operators log through it.
	Logger *slog.Logger

	b       *builder
	head    *Node
	task    *job.Task // nil without checkpoints
	names   []string
	tickers []runtime.Ticker
	outputs []runtime.Output
	closers []func() error
}

// Head returns the name of the chain's first operator.
func (t *Subtask) Head() string { return t.head.Name }

// HeadUID returns the UID of the chain's first operator.
func (t *Subtask) HeadUID() string { return t.head.UID }

// Checkpoints reports whether the job takes checkpoints.
func (t *Subtask) Checkpoints() bool { return t.task != nil }

// Checkpointing returns the hooks of the task's loop; nil without
// checkpoints.
func (t *Subtask) Checkpointing() *runtime.Checkpointing {
	if t.task == nil {
		return nil
	}
	return t.task.Checkpointing()
}

// AddState registers an operator's state for checkpoints under uid; it
// does nothing without checkpoints.
func (t *Subtask) AddState(uid string, op job.Stateful) {
	if t.task != nil {
		t.task.AddState(uid, op)
	}
}

// AddFinalCommit holds what a sink subtask pre-committed at the end of its
// input until the job has finished (see job.FinalCommit). Only with
// checkpoints.
func (t *Subtask) AddFinalCommit(fc job.FinalCommit) error {
	return t.b.run.AddFinalCommit(t.Ctx, fc)
}

// OnTick registers a ticker: the task calls it when the clock reaches the
// time it asked for.
func (t *Subtask) OnTick(tk runtime.Ticker) { t.tickers = append(t.tickers, tk) }

// OnClose registers f to run when the task ends, however it ends.
func (t *Subtask) OnClose(f func() error) { t.closers = append(t.closers, f) }

// Tickers returns the tickers registered so far.
func (t *Subtask) Tickers() []runtime.Ticker { return t.tickers }

// Outputs returns the writers at the end of the chain built so far (those
// after the operator being built).
func (t *Subtask) Outputs() []runtime.Output { return t.outputs }

// ChannelState returns the records that were in flight into this subtask
// at the restored (unaligned) checkpoint.
func (t *Subtask) ChannelState() ([]byte, error) {
	r := t.b.run.Restore()
	if r == nil {
		return nil, nil
	}
	return r.ChannelState(t.head.UID, t.Index, t.Parallelism)
}

// AlignMember joins the reader being built to watermark alignment group
// group of this run.
func (t *Subtask) AlignMember(group string, maxDrift int64) *runtime.AlignMember {
	return t.b.align.Join(group, maxDrift)
}
