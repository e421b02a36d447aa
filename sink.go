package weir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/sink"
)

// SinkTo writes every record of s to snk. Each parallel subtask has its
// own writer, flushed at every checkpoint and at the end of input. With
// checkpoints, a sink whose writers pre-commit (sink.PreCommitter) publishes
// output only when the checkpoint that covers it completes: exactly once.
func SinkTo[T any](s Stream[T], snk sink.Sink[T], opts ...OpOption) {
	n := newNode[T](s.env, "sink", opts)
	connect(s, n, runtime.Forward, nil)
	cs, committing := snk.(sink.CommittingSink)
	if committing {
		n.Publish = func(ctx context.Context, committables [][]byte) error {
			c, err := cs.NewCommitter()
			if err != nil {
				return err
			}
			return c.Commit(ctx, committables)
		}
	}
	n.Operator = operator[T, T](func(t *plan.Subtask, _ runtime.Collector[T], _ plan.Outputs) (runtime.Collector[T], error) {
		op := &sinkOp[T]{ctx: t.Ctx, op: opOf(t, n.Name), uid: n.UID, t: t}
		wctx := writerContext{subtask: t.Index, parallelism: t.Parallelism, attempt: t.Attempt, checkpointing: t.Checkpoints(), log: t.Logger}
		if t.Checkpoints() && committing {
			c, err := cs.NewCommitter()
			if err != nil {
				return nil, err
			}
			op.committer = c
		}
		if t.Restore != nil {
			// Publish what the restored checkpoint pre-committed before the
			// writer starts: the writer's restored state assumes it is.
			for _, sub := range t.Restore.OperatorStates(n.UID, t.Index, t.Parallelism) {
				st, err := decodeState[sinkState](sub.OperatorState)
				if err != nil {
					return nil, fmt.Errorf("restore: %w", err)
				}
				if err := op.commitRestored(t.Ctx, st.Pending); err != nil {
					return nil, fmt.Errorf("restore: commit: %w", err)
				}
				if sub.Index == t.Index {
					wctx.restored = st.Writer
				}
			}
		}
		w, err := snk.NewWriter(wctx)
		if err != nil {
			return nil, err
		}
		op.w = w
		op.pre, _ = w.(sink.PreCommitter)
		op.stw, _ = w.(sink.StatefulWriter)
		if op.pre != nil && op.committer == nil && t.Checkpoints() {
			return nil, fmt.Errorf("its writer pre-commits but %T has no committer: implement sink.CommittingSink", snk)
		}
		t.OnClose(w.Close)
		t.AddState(n.UID, op)
		return op, nil
	})
}

type writerContext struct {
	subtask, parallelism int
	attempt              int64
	checkpointing        bool
	restored             []byte
	log                  *slog.Logger
}

func (w writerContext) Subtask() int        { return w.subtask }
func (w writerContext) Parallelism() int    { return w.parallelism }
func (w writerContext) Checkpointing() bool { return w.checkpointing }
func (w writerContext) Restored() []byte    { return w.restored }

// Attempt tells the writer's run from others that may overlap it (see
// sink.AttemptOf).
func (w writerContext) Attempt() int64 { return w.attempt }

// Logger gives the writer the subtask's logger (see sink.LoggerOf).
func (w writerContext) Logger() *slog.Logger { return w.log }

// sinkState is a sink subtask's state in a checkpoint: its writer's own
// state, and what it pre-committed and has not seen committed.
type sinkState struct {
	Writer  []byte
	Pending []pendingCommit
}

type pendingCommit struct {
	ID           int64
	Committables [][]byte
}

type sinkOp[T any] struct {
	op
	w         sink.Writer[T]
	ctx       context.Context
	uid       string // of its state
	t         *plan.Subtask
	pre       sink.PreCommitter
	stw       sink.StatefulWriter
	committer sink.Committer
	pending   []pendingCommit

	_ runtime.Pad // apart from the next subtask's
}

func (s *sinkOp[T]) Collect(r *runtime.Record[T]) error {
	prev := s.enter()
	err := s.w.Write(s.ctx, r.Value)
	s.leave(prev)
	if err != nil && !errors.Is(err, context.Canceled) {
		return s.wrap(err)
	}
	return err
}

func (s *sinkOp[T]) Watermark(int64) error { return nil }

// End pre-commits the output that follows the last checkpoint. It is
// published when every task of the job has ended (see finish), not now:
// should another task fail first, the job restores the last checkpoint and
// replays this output.
func (s *sinkOp[T]) End() error {
	if s.t.Checkpoints() && s.pre != nil {
		c, err := s.pre.PreCommit(s.ctx, 0)
		if err != nil {
			return s.wrap(err)
		}
		var all [][]byte
		for _, p := range s.pending {
			all = append(all, p.Committables...)
		}
		all = append(all, c...)
		var writer []byte
		if s.stw != nil {
			if writer, err = s.stw.SnapshotState(0); err != nil {
				return s.wrap(err)
			}
		}
		// A restore publishes every pending commit of the state it
		// restores, whatever its checkpoint id: 0 stands for the end.
		st, err := encodeState(sinkState{Writer: writer, Pending: []pendingCommit{{ID: 0, Committables: all}}})
		if err != nil {
			return s.wrap(err)
		}
		if err := s.t.AddFinalCommit(job.FinalCommit{UID: s.uid, Subtask: s.subtask, Parallelism: s.par, Committables: all, State: st}); err != nil {
			return s.wrap(err)
		}
		s.pending = nil
		return nil
	}
	return s.wrap(s.w.Flush(s.ctx))
}

func (s *sinkOp[T]) SnapshotState(ctx context.Context, id int64, snap *job.OperatorSnapshot) error {
	if s.pre != nil {
		c, err := s.pre.PreCommit(ctx, id)
		if err != nil {
			return s.wrap(err)
		}
		s.pending = append(s.pending, pendingCommit{ID: id, Committables: c})
	} else if err := s.w.Flush(ctx); err != nil {
		return s.wrap(err)
	}
	var st sinkState
	if s.stw != nil {
		b, err := s.stw.SnapshotState(id)
		if err != nil {
			return s.wrap(err)
		}
		st.Writer = b
	}
	st.Pending = s.pending
	b, err := encodeState(st)
	snap.State = b
	return err
}

// NotifyCheckpoint publishes what was pre-committed up to a completed
// checkpoint. After an abort the pending output waits for the next
// completed checkpoint, which covers it too.
func (s *sinkOp[T]) NotifyCheckpoint(ctx context.Context, c runtime.Command) error {
	if c.Kind != runtime.Complete {
		return nil
	}
	i := 0
	for i < len(s.pending) && s.pending[i].ID <= c.ID {
		i++
	}
	if err := s.commit(ctx, s.pending[:i]); err != nil {
		return s.wrap(err)
	}
	s.pending = slices.Delete(s.pending, 0, i)
	return nil
}

func (s *sinkOp[T]) commit(ctx context.Context, pending []pendingCommit) error {
	all := committables(pending)
	if s.committer == nil || len(all) == 0 {
		return nil
	}
	return s.committer.Commit(ctx, all)
}

// commitRestored publishes what the checkpoint the job restores
// pre-committed, with CommitRestored where the committer has it.
func (s *sinkOp[T]) commitRestored(ctx context.Context, pending []pendingCommit) error {
	all := committables(pending)
	if s.committer == nil || len(all) == 0 {
		return nil
	}
	if rc, ok := s.committer.(sink.RestoringCommitter); ok {
		return rc.CommitRestored(ctx, all)
	}
	return s.committer.Commit(ctx, all)
}

// committables returns the committables of pending, in order.
func committables(pending []pendingCommit) [][]byte {
	var all [][]byte
	for _, p := range pending {
		all = append(all, p.Committables...)
	}
	return all
}
