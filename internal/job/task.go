package job

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
)

// Stateful is implemented by operators with state to keep in checkpoints.
// Both methods run on the subtask's goroutine.
type Stateful interface {
	// SnapshotState captures the operator's state at the barrier of
	// checkpoint id into s. It copies; uploads happen later, elsewhere.
	SnapshotState(ctx context.Context, id int64, s *OperatorSnapshot) error
	// NotifyCheckpoint passes a completion or an abort.
	NotifyCheckpoint(ctx context.Context, c runtime.Command) error
}

// OperatorSnapshot is one operator's state in one checkpoint.
type OperatorSnapshot struct {
	// Keyed holds the keyed-state entries by key group; nil for operators
	// without keyed state.
	Keyed map[int][]snapshot.Entry
	// KeyRange is the key groups the subtask owns.
	KeyRange keygroup.Range
	// State is the operator state: small, stored in _metadata.
	State []byte
}

// BeginKeyed starts the keyed state of a subtask that owns rng; a keyed
// operator calls it even when it has no entries, so that the checkpoint
// covers its key groups.
func (s *OperatorSnapshot) BeginKeyed(rng keygroup.Range) {
	s.KeyRange = rng
	s.Keyed = map[int][]snapshot.Entry{}
}

// AddKeyed adds an entry of key group group.
func (s *OperatorSnapshot) AddKeyed(group int, e snapshot.Entry) {
	if s.Keyed == nil {
		s.Keyed = map[int][]snapshot.Entry{}
	}
	s.Keyed[group] = append(s.Keyed[group], e)
}

// OperatorState is one operator subtask's state as acknowledged: what
// _metadata records of it.
type OperatorState struct {
	UID         string
	Parallelism int
	Subtask     snapshot.Subtask
}

type registered struct {
	uid string
	op  Stateful
	// done, for a source reader, is its state once it finished: no
	// splits left.
	done   []byte
	reader bool
}

// FinalState is an operator's state at the end of its input.
type FinalState struct {
	UID      string
	Snapshot OperatorSnapshot
}

// Task is the checkpoint side of one task of a run: the operators of its
// chain that have state, its commands from the driver, its uploads.
type Task struct {
	run                  *Run
	id                   checkpoint.TaskID
	subtask, parallelism int
	head                 string // the chain's first operator, for its in-flight records
	source               bool   // a source's reader: the driver triggers it

	commands chan runtime.Command
	stopped  chan struct{} // closed when the task returned (job invariant 3)
	ops      []registered
	uploads  sync.WaitGroup
	// final is the chain's state once it ended its input: written by the
	// task before it reports, read by the driver after.
	final []FinalState
	// barrier is the last checkpoint whose barrier the task took; the
	// task's goroutine's.
	barrier int64
	// stateBytes, when set, receives the size of the keyed state of each
	// checkpoint the task uploaded.
	stateBytes *atomic.Int64
}

// ReportStateBytes has the task store in p the size of the keyed state it
// uploads at each checkpoint (for metrics). Call it before the task runs.
func (t *Task) ReportStateBytes(p *atomic.Int64) { t.stateBytes = p }

// ID returns the task's id.
func (t *Task) ID() checkpoint.TaskID { return t.id }

// Commands returns the channel of the driver's commands to the task.
func (t *Task) Commands() <-chan runtime.Command { return t.commands }

// AddState registers an operator's state under uid. Call it while the
// task is built, in chain order.
func (t *Task) AddState(uid string, op Stateful) {
	t.ops = append(t.ops, registered{uid: uid, op: op})
}

// AddReaderState registers a source reader's split state, as AddState
// does, except that a reader that finished has read its splits to their
// ends: checkpoints after that hold done for it, the encoding of no
// splits. They must hold something: a restore that found no state of a
// source at all would read it again from its start.
func (t *Task) AddReaderState(uid string, op Stateful, done []byte) {
	t.ops = append(t.ops, registered{uid: uid, op: op, done: done, reader: true})
}

// Checkpointing returns the hooks the task's loop calls.
func (t *Task) Checkpointing() *runtime.Checkpointing {
	return &runtime.Checkpointing{
		Commands: t.commands,
		Snapshot: func(ctx context.Context, id int64, alignment time.Duration) error {
			start := time.Now()
			snaps, err := t.capture(ctx, id)
			if err != nil {
				return err
			}
			t.upload(ctx, id, snaps, alignment, nil, Timing{Barrier: start.Add(-alignment), Aligned: start, Snapshotted: time.Now()})
			return nil
		},
		SnapshotUnaligned: func(ctx context.Context, id int64) (func([]byte) error, error) {
			start := time.Now()
			snaps, err := t.capture(ctx, id)
			if err != nil {
				return nil, err
			}
			started := time.Now()
			return func(channelState []byte) error {
				// The barrier overtook the records: no alignment; the
				// snapshot ends once the in-flight records are in.
				t.upload(ctx, id, snaps, time.Since(started), channelState, Timing{Barrier: start, Aligned: start, Snapshotted: time.Now()})
				return nil
			}, nil
		},
		Unaligned: t.run.unaligned,
		Notify: func(ctx context.Context, c runtime.Command) error {
			for _, s := range t.ops {
				if err := s.op.NotifyCheckpoint(ctx, c); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// Stopped says that the task returned: it reads no more commands.
func (t *Task) Stopped() { close(t.stopped) }

// Finished says that the task ended its input without error. It captures
// the final state of the chain's operators, which every later checkpoint
// holds (job invariant 5), waits until the task's acknowledgements are
// out, then tells the driver, which stops waiting for the task. It runs on
// the task's goroutine, before the task closes its operators.
func (t *Task) Finished(ctx context.Context) error {
	for _, s := range t.ops {
		if s.reader {
			t.final = append(t.final, FinalState{UID: s.uid, Snapshot: OperatorSnapshot{State: s.done}})
			continue
		}
		if t.run.holdsFinalCommit(s.uid, t.subtask) {
			continue // a sink's final commit is its final state (final.go)
		}
		var snap OperatorSnapshot
		if err := s.op.SnapshotState(ctx, 0, &snap); err != nil {
			return fmt.Errorf("the state at the end of the input: %w", err)
		}
		t.final = append(t.final, FinalState{UID: s.uid, Snapshot: snap})
	}
	t.uploads.Wait()
	return t.run.reporter.Ended(ctx, Ended{Task: t.id, Final: t.final, Barrier: t.barrier})
}

// Ack acknowledges checkpoint id with ops, or declines it with err, for a
// task that snapshots by itself (a source's enumerator).
func (t *Task) Ack(ctx context.Context, id int64, ops []OperatorState, err error) {
	a := Ack{ID: id, Task: t.id, Ops: ops}
	if err != nil {
		a.Err = err.Error()
	}
	t.run.report(ctx, a)
}

// capture snapshots every operator of the chain, on the task's goroutine.
func (t *Task) capture(ctx context.Context, id int64) ([]OperatorSnapshot, error) {
	t.barrier = id
	snaps := make([]OperatorSnapshot, len(t.ops))
	for i, s := range t.ops {
		if err := s.op.SnapshotState(ctx, id, &snaps[i]); err != nil {
			return nil, fmt.Errorf("checkpoint %d: %w", id, err)
		}
	}
	return snaps, nil
}

// upload writes the keyed state files in the background and then
// acknowledges; in-flight records of an unaligned checkpoint are stored
// under the chain's channels entry.
func (t *Task) upload(ctx context.Context, id int64, snaps []OperatorSnapshot, alignment time.Duration, channelState []byte, tm Timing) {
	r := t.run
	t.uploads.Add(1)
	r.uploads.Add(1)
	go func() {
		defer r.uploads.Done()
		defer t.uploads.Done()
		a := Ack{ID: id, Task: t.id, Alignment: alignment, Timing: tm}
		var keyed int64
		for i, s := range t.ops {
			sub := snapshot.Subtask{Index: t.subtask, OperatorState: snaps[i].State}
			if snaps[i].Keyed != nil {
				if err := r.writeKeyed(ctx, id, s.uid, t.subtask, &snaps[i], &sub); err != nil {
					a.Err = err.Error()
					break
				}
				keyed += sub.KeyedSize
			}
			a.Ops = append(a.Ops, OperatorState{UID: s.uid, Parallelism: t.parallelism, Subtask: sub})
		}
		if t.stateBytes != nil && a.Err == "" {
			t.stateBytes.Store(keyed)
		}
		if len(channelState) > 0 {
			a.Ops = append(a.Ops, OperatorState{UID: ChannelsUID(t.head), Parallelism: t.parallelism,
				Subtask: snapshot.Subtask{Index: t.subtask, ChannelState: channelState}})
		}
		if a.Err == "" {
			a.Timing.Uploaded = time.Now()
		}
		r.report(ctx, a)
	}()
}

// ChannelsUID names the in-flight records of a chain's inputs in
// checkpoints.
func ChannelsUID(head string) string { return head + "#channels" }
