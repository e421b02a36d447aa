package job

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/snapshot"
)

// writeKeyed writes one operator subtask's keyed state file into the
// directory of checkpoint id and records it in sub. It runs on an upload
// goroutine.
func (r *Run) writeKeyed(ctx context.Context, id int64, uid string, subtask int, s *OperatorSnapshot, sub *snapshot.Subtask) error {
	var buf bytes.Buffer
	rng := [2]int{s.KeyRange.Start, s.KeyRange.End}
	w := snapshot.NewKeyedWriter(&buf, rng)
	for g := rng[0]; g < rng[1]; g++ {
		entries := s.Keyed[g]
		if len(entries) == 0 {
			continue
		}
		if err := w.WriteGroup(g, func(yield func(snapshot.Entry) bool) {
			for _, e := range entries {
				if !yield(e) {
					return
				}
			}
		}); err != nil {
			return fmt.Errorf("checkpoint %d: operator %q: %w", id, uid, err)
		}
	}
	offsets, size, crc, err := w.Close()
	if err != nil {
		return fmt.Errorf("checkpoint %d: operator %q: %w", id, uid, err)
	}
	name := keyedFileName(uid, subtask, r.attempt)
	if _, err := r.store.WriteState(ctx, r.dirFor(id), name, &buf); err != nil {
		return err
	}
	sub.KeyGroups, sub.KeyedFile, sub.KeyedSize, sub.KeyedCRC, sub.GroupOffsets = rng, name, size, crc, offsets
	return nil
}

// FileSafe turns an operator uid into a file name.
func FileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// persist writes the metadata of checkpoint id, after every file it names
// (job invariant 1); the checkpoint is complete when it returns nil. It
// returns the checkpoint's size in bytes.
func (d *driver) persist(ctx context.Context, id int64, states map[checkpoint.TaskID][]OperatorState) (int64, error) {
	r := d.run
	dir := r.dirFor(id)
	m := &snapshot.Metadata{CheckpointID: id, Savepoint: dir.IsSavepoint(), JobName: r.job.spec.Name,
		CreatedUnixMs: d.now().UnixMilli(), MaxParallelism: r.job.spec.MaxParallelism}
	ops := map[string]*snapshot.Operator{}
	var order []string
	var size int64
	add := func(oa OperatorState) {
		op := ops[oa.UID]
		if op == nil {
			op = &snapshot.Operator{UID: oa.UID, Name: r.job.spec.States[oa.UID], Parallelism: oa.Parallelism}
			ops[oa.UID] = op
			order = append(order, oa.UID)
		}
		op.Subtasks = append(op.Subtasks, oa.Subtask)
		size += oa.Subtask.KeyedSize + int64(len(oa.Subtask.OperatorState)) + int64(len(oa.Subtask.ChannelState))
	}
	for _, t := range r.tasks {
		for _, oa := range states[t.id] {
			add(oa)
		}
	}
	for _, t := range r.tasks {
		final, ended := d.ended[t.id]
		if _, acked := states[t.id]; acked || !ended {
			continue
		}
		// The task ended its input before this checkpoint: its final state
		// stands for it (internals invariant 13).
		for _, f := range final {
			sub := snapshot.Subtask{Index: t.id.Subtask, OperatorState: f.Snapshot.State, Finished: true}
			if f.Snapshot.Keyed != nil {
				if err := r.writeKeyed(ctx, id, f.UID, t.id.Subtask, &f.Snapshot, &sub); err != nil {
					return 0, err
				}
			}
			add(OperatorState{UID: f.UID, Parallelism: t.parallelism, Subtask: sub})
		}
	}
	if err := r.addFinals(id, ops, &order); err != nil {
		return 0, err
	}
	for _, uid := range order {
		m.Operators = append(m.Operators, *ops[uid])
	}
	b, err := snapshot.EncodeMetadata(m)
	if err != nil {
		return 0, err
	}
	// Last before the write that completes the checkpoint: a run the
	// others gave up on must not complete one (Confirmer).
	if err := d.confirm(ctx); err != nil {
		return 0, fmt.Errorf("not completed: this run may no longer be the job's live one: %w", err)
	}
	if err := r.store.Commit(ctx, dir, b); err != nil {
		return 0, err
	}
	return size + int64(len(b)), nil
}

// keyedFileName names the keyed state file of an operator's subtask, with
// the run's attempt after the subtask in a cluster (see Run.Attempt).
func keyedFileName(uid string, subtask int, attempt int64) string {
	if attempt == 0 {
		return fmt.Sprintf("%s.%d.keyed", FileSafe(uid), subtask)
	}
	return fmt.Sprintf("%s.%d.a%d.keyed", FileSafe(uid), subtask, attempt)
}

// now is the driver's clock.
func (d *driver) now() time.Time {
	if d.clock != nil {
		return d.clock()
	}
	return time.Now()
}
