package job

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/snapshot"
)

// FinalCommit is what one sink subtask pre-committed at the end of its
// input. It is published only once every task of the job has ended: if
// another task fails first, the job restores its last checkpoint and
// replays this output, which must not be published twice (job
// invariant 2).
//
// It is plain data, so that it can travel to a coordinator in another
// process: Spec.Publish publishes it.
type FinalCommit struct {
	UID                  string
	Subtask, Parallelism int
	Committables         [][]byte
	// State is the sink subtask's operator state as every later
	// checkpoint holds it: its writer's state, and the committables.
	State []byte

	// Driver goroutine only: the first checkpoint that holds it (its
	// completion publishes it), and whether it was published.
	includedIn int64
	committed  bool
}

// AddFinalCommit holds a sink subtask's end-of-input committables. Every
// checkpoint that completes later holds them as the subtask's state, as
// Flink's final checkpoints do: the subtask no longer takes part in
// checkpoints, but a restore of one of them must publish its output.
func (r *Run) AddFinalCommit(ctx context.Context, fc FinalCommit) error {
	r.finalMu.Lock()
	r.localFinals = append(r.localFinals, fc.UID+"\x00"+strconv.Itoa(fc.Subtask))
	r.finalMu.Unlock()
	return r.reporter.FinalCommit(ctx, fc)
}

// holdsFinalCommit reports whether subtask of sink uid, in this process,
// pre-committed its end of input.
func (r *Run) holdsFinalCommit(uid string, subtask int) bool {
	r.finalMu.Lock()
	defer r.finalMu.Unlock()
	return slices.Contains(r.localFinals, uid+"\x00"+strconv.Itoa(subtask))
}

// addFinals adds the finished sink subtasks that did not acknowledge
// checkpoint id to its operators.
func (r *Run) addFinals(id int64, ops map[string]*snapshot.Operator, order *[]string) error {
	r.finalMu.Lock()
	defer r.finalMu.Unlock()
	for _, fc := range r.finals {
		op := ops[fc.UID]
		if op != nil && slices.ContainsFunc(op.Subtasks, func(s snapshot.Subtask) bool { return s.Index == fc.Subtask }) {
			continue // it acknowledged this checkpoint before it ended
		}
		if op == nil {
			op = &snapshot.Operator{UID: fc.UID, Name: r.job.spec.States[fc.UID], Parallelism: fc.Parallelism}
			ops[fc.UID] = op
			*order = append(*order, fc.UID)
		}
		op.Subtasks = append(op.Subtasks, snapshot.Subtask{Index: fc.Subtask, OperatorState: fc.State, Finished: true})
		if fc.includedIn == 0 {
			fc.includedIn = id
		}
	}
	return nil
}

// commitFinals publishes the end-of-input output held by checkpoints up to
// id, once id is complete; all of it when id is 0 (the job finished).
func (r *Run) commitFinals(ctx context.Context, id int64) error {
	r.finalMu.Lock()
	defer r.finalMu.Unlock()
	for _, fc := range r.finals {
		if fc.committed || len(fc.Committables) == 0 || (id != 0 && (fc.includedIn == 0 || fc.includedIn > id)) {
			continue
		}
		publish := r.job.spec.Publish[fc.UID]
		if publish == nil {
			return fmt.Errorf("weir: sink %q pre-committed its end but has no committer: this is a bug in weir", fc.UID)
		}
		if err := publish(ctx, fc.Committables); err != nil {
			return fmt.Errorf("weir: sink %q (subtask %d): publish the end of its output: %w", fc.UID, fc.Subtask, err)
		}
		fc.committed = true
	}
	return nil
}

// finishRecord is what a finished job leaves in its checkpoint location:
// the checkpoint its end followed, and what its sinks pre-committed at the
// end of input, per sink.
type finishRecord struct {
	After   string              `json:"after"`
	Commits map[string][][]byte `json:"commits,omitempty"`
}

// finish records that the job ended, with its final committables, and
// then publishes them. A crash between the two publishes them at the next
// start (commits are idempotent); a crash before the record replays the
// end from the last checkpoint (job invariant 4).
func (r *Run) finish(ctx context.Context) error {
	rec := finishRecord{Commits: map[string][][]byte{}}
	dirs, err := r.store.Completed(ctx)
	if err != nil {
		return fmt.Errorf("weir: record that the job finished: %w", err)
	}
	if len(dirs) > 0 {
		rec.After = dirs[0].String()
	}
	for _, fc := range r.finals {
		rec.Commits[fc.UID] = append(rec.Commits[fc.UID], fc.Committables...)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("weir: record that the job finished: %w", err)
	}
	if err := r.store.MarkFinished(ctx, b); err != nil {
		return fmt.Errorf("weir: record that the job finished: %w", err)
	}
	return r.commitFinals(ctx, 0)
}

// finishedBefore reports whether the job finished after checkpoint latest
// (the newest completed one, or empty): then it publishes the end of the
// output again, in case the finishing run died before it had, and the job
// has nothing left to do.
func (j *Job) finishedBefore(ctx context.Context, store *storage.Storage, latest string) (bool, error) {
	b, ok, err := store.Finished(ctx)
	if err != nil || !ok {
		return false, err
	}
	var rec finishRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return false, fmt.Errorf("weir: restore: the record that the job finished is damaged (%v): remove %s from %s to run the end again", err, "_finished", store.Location())
	}
	if rec.After != latest {
		return false, nil // a later run took checkpoints after it
	}
	for uid, publish := range j.spec.Publish {
		if len(rec.Commits[uid]) == 0 {
			continue
		}
		if err := publish(ctx, rec.Commits[uid]); err != nil {
			return false, fmt.Errorf("weir: sink %q: publish the end of the output: %w", uid, err)
		}
	}
	j.log.Info("the job already finished: nothing to do; use a new checkpoint directory to run it again", "checkpoints", store.Location())
	return true, nil
}
