package plan

import (
	"context"
	"errors"
	"fmt"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/source"
)

// EnumeratorUID names a source's enumerator state in checkpoints.
func EnumeratorUID(uid string) string { return uid + "#enumerator" }

// enumeration makes the enumeration of source n, restored from the run's
// checkpoint, with its enumerator's task registered for checkpoints; nil
// in a cluster's process that is not the coordinator, where the readers'
// side is set up by readerSide.
func (b *builder) enumeration(ctx context.Context, n *Node) (*runtime.Enumeration, error) {
	en := runtime.NewEnumeration(b.p.Parallelism(n))
	if b.s.Logger != nil {
		en.Log = b.s.Logger.With("operator", n.Name, "subtask", "enumerator")
	}
	en.Checkpointing = b.run != nil
	if net := b.s.Network; net != nil && !net.Coordinator() {
		// The readers' side only: the enumerator runs in the
		// coordinator's process.
		splits, err := n.Source.Splits()
		if err != nil {
			return nil, fmt.Errorf("a job that runs in a cluster needs sources that can be checkpointed: %w", err)
		}
		return en, net.Enumeration(n, en, splits)
	}
	var splits source.Checkpointed
	var readerSplits []source.Split
	if b.run != nil {
		var err error
		if splits, err = n.Source.Splits(); err != nil {
			return nil, err
		}
		// Either part of the source's state makes a restore: checkpoints
		// before readers kept their state once finished hold only the
		// enumerator's of a source whose readers all finished.
		if r := b.run.Restorer(); r != nil && (r.Has(n.UID) || r.Has(EnumeratorUID(n.UID))) {
			unassigned, err := decodeSplits(splits, r.OperatorStates(EnumeratorUID(n.UID), 0, 1))
			if err != nil {
				return nil, fmt.Errorf("restore the enumerator: %w", err)
			}
			en.Restore(unassigned)
			if readerSplits, err = decodeSplits(splits, r.OperatorStates(n.UID, 0, 1)); err != nil {
				return nil, fmt.Errorf("restore the readers' splits: %w", err)
			}
		}
		task := b.run.AddTask(checkpoint.TaskID{Chain: n.ID, Subtask: -1}, 1, n.UID, false)
		en.Commands = task.Commands()
		b.run.AddSource(en)
		uid := EnumeratorUID(n.UID)
		en.OnSnapshot = func(id int64, unassigned []source.Split, err error) {
			var ops []job.OperatorState
			if err == nil {
				var state []byte
				if state, err = encodeSplits(splits, unassigned); err == nil {
					ops = []job.OperatorState{{UID: uid, Parallelism: 1, Subtask: snapshot.Subtask{OperatorState: state}}}
				}
			}
			task.Ack(ctx, id, ops, err)
		}
	}
	enum, err := n.Source.NewEnumerator(en)
	if err != nil {
		return nil, err
	}
	if len(readerSplits) > 0 {
		// The splits readers held at the checkpoint, with their positions:
		// the enumerator hands them out again.
		enum.AddSplitsBack(readerSplits, -1)
	}
	en.SetEnumerator(enum)
	if net := b.s.Network; net != nil {
		splits, err := n.Source.Splits()
		if err != nil {
			enum.Close()
			return nil, fmt.Errorf("a job that runs in a cluster needs sources that can be checkpointed: %w", err)
		}
		if err := net.Enumeration(n, en, splits); err != nil {
			enum.Close()
			return nil, err
		}
	}
	return en, nil
}

// readerState checkpoints a reader's splits and their positions.
type readerState struct {
	reader Reader
	splits source.Checkpointed
}

func (r *readerState) SnapshotState(_ context.Context, id int64, s *job.OperatorSnapshot) error {
	splits, err := r.reader.Snapshot(id)
	if err != nil {
		return err
	}
	s.State, err = encodeSplits(r.splits, splits)
	return err
}

// NotifyCheckpoint tells a reader that listens when a checkpoint is
// complete.
func (r *readerState) NotifyCheckpoint(ctx context.Context, c runtime.Command) error {
	if l, ok := r.reader.(source.CheckpointListener); ok && c.Kind == runtime.Complete {
		return l.NotifyCheckpointComplete(ctx, c.ID)
	}
	return nil
}

// encodeSplits stores splits as a list of their encodings.
func encodeSplits(c source.Checkpointed, splits []source.Split) ([]byte, error) {
	enc := make([][]byte, len(splits))
	for i, sp := range splits {
		b, err := c.EncodeSplit(sp)
		if err != nil {
			return nil, err
		}
		enc[i] = b
	}
	return codec.For[[][]byte]().Append(nil, enc)
}

// decodeSplits decodes the splits of several old subtasks.
func decodeSplits(c source.Checkpointed, subs []snapshot.Subtask) ([]source.Split, error) {
	var out []source.Split
	lists := codec.For[[][]byte]()
	for _, sub := range subs {
		enc, n, err := lists.Decode(sub.OperatorState)
		if err == nil && n != len(sub.OperatorState) {
			err = errors.New("trailing bytes")
		}
		if err != nil {
			return nil, err
		}
		for _, b := range enc {
			sp, err := c.DecodeSplit(b)
			if err != nil {
				return nil, err
			}
			out = append(out, sp)
		}
	}
	return out, nil
}
