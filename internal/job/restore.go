package job

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/snapshot"
)

// Restorer is what an operator reads of the checkpoint its run restores.
// Operators call it while their subtask is built, on the building
// goroutine.
type Restorer interface {
	// Has reports whether the checkpoint holds state of operator uid.
	Has(uid string) bool
	// Keyed feeds each keyed-state entry of operator uid whose key group
	// lies in groups to each, reading only those groups from the files of
	// the old subtasks.
	Keyed(ctx context.Context, uid string, groups keygroup.Range, each func(snapshot.Entry) error) error
	// OperatorStates returns the old subtasks of uid whose operator state
	// new subtask i of parallelism p takes over: old subtask j goes to
	// j mod p. With p = 1 it returns every old subtask.
	OperatorStates(uid string, i, p int) []snapshot.Subtask
}

// point is a checkpoint or savepoint to start from.
type point struct {
	meta  *snapshot.Metadata
	store *storage.Storage
	dir   storage.Dir
}

// Restore is the checkpoint a run restores; it implements Restorer. A nil
// *Restore restores nothing.
type Restore struct {
	from  point
	byUID map[string]*snapshot.Operator
}

func newRestore(from point) *Restore {
	r := &Restore{from: from, byUID: map[string]*snapshot.Operator{}}
	for i := range from.meta.Operators {
		r.byUID[from.meta.Operators[i].UID] = &from.meta.Operators[i]
	}
	return r
}

func (r *Restore) operator(uid string) *snapshot.Operator {
	if r == nil {
		return nil
	}
	return r.byUID[uid]
}

// Has implements Restorer.
func (r *Restore) Has(uid string) bool { return r.operator(uid) != nil }

// Keyed implements Restorer.
func (r *Restore) Keyed(ctx context.Context, uid string, rng keygroup.Range, each func(snapshot.Entry) error) error {
	op := r.operator(uid)
	if op == nil {
		return nil
	}
	for _, sub := range op.Subtasks {
		if sub.KeyedFile == "" {
			continue
		}
		lo, hi := max(rng.Start, sub.KeyGroups[0]), min(rng.End, sub.KeyGroups[1])
		if lo >= hi {
			continue
		}
		if err := r.readKeyed(ctx, uid, sub, lo, hi, each); err != nil {
			return err
		}
	}
	return nil
}

func (r *Restore) readKeyed(ctx context.Context, uid string, sub snapshot.Subtask, lo, hi int, each func(snapshot.Entry) error) error {
	f, err := r.from.store.OpenState(ctx, r.from.dir, sub.KeyedFile)
	if err != nil {
		return fmt.Errorf("restore operator %q: %w", uid, err)
	}
	defer f.Close()
	kr, err := snapshot.NewKeyedReader(f, sub.KeyedSize, sub.KeyGroups, sub.GroupOffsets)
	if err != nil {
		return fmt.Errorf("restore operator %q from %s: %w", uid, sub.KeyedFile, err)
	}
	for g := lo; g < hi; g++ {
		for e, err := range kr.Group(g) {
			if err == nil {
				err = each(e)
			}
			if err != nil {
				return fmt.Errorf("restore operator %q, key group %d from %s: %w", uid, g, sub.KeyedFile, err)
			}
		}
	}
	return nil
}

// OperatorStates implements Restorer.
func (r *Restore) OperatorStates(uid string, i, p int) []snapshot.Subtask {
	op := r.operator(uid)
	if op == nil {
		return nil
	}
	var out []snapshot.Subtask
	for _, sub := range op.Subtasks {
		if sub.Index%p == i {
			out = append(out, sub)
		}
	}
	return out
}

// ChannelState returns the in-flight records that subtask i of the chain
// starting at head held in the restored checkpoint. They can only be
// replayed at the parallelism they were taken at.
func (r *Restore) ChannelState(head string, i, p int) ([]byte, error) {
	op := r.operator(ChannelsUID(head))
	if op == nil {
		return nil, nil
	}
	if op.Parallelism != p {
		return nil, fmt.Errorf("the restored unaligned checkpoint holds records in flight into %q at parallelism %d: restore it at that parallelism, then take a savepoint (savepoints are aligned) to change it", head, op.Parallelism)
	}
	for _, sub := range op.Subtasks {
		if sub.Index == i {
			return sub.ChannelState, nil
		}
	}
	return nil, nil
}

// checkMeta says why the job cannot restore a checkpoint with metadata m,
// if it cannot: its key groups must be the job's.
func (j *Job) checkMeta(m *snapshot.Metadata) error {
	if m.MaxParallelism != j.spec.MaxParallelism {
		return fmt.Errorf("it was taken with max parallelism %d and the job has %d: key groups cannot change; set MaxParallelism(%d)", m.MaxParallelism, j.spec.MaxParallelism, m.MaxParallelism)
	}
	return nil
}

// latest returns the newest completed checkpoint at store whose state
// files are whole (contract 4: a damaged one is skipped for the one
// before, with a warning), or nil when the location has none. When every
// checkpoint is damaged it fails rather than start afresh, which would
// replay the whole input into sinks that published part of it.
func (j *Job) latest(ctx context.Context, store *storage.Storage) (*point, error) {
	dir, m, err := store.LatestVerified(ctx, j.checkMeta)
	if errors.Is(err, storage.ErrNone) {
		if done, lerr := store.Completed(ctx); lerr == nil && len(done) > 0 {
			return nil, fmt.Errorf("none of the %d checkpoints at %s can be restored (see the warnings above): restore a savepoint with RestoreFrom, or move the checkpoints away to start the job afresh", len(done), store.Location())
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &point{meta: m, store: store, dir: dir}, nil
}

// matchState checks that every operator state in checkpoint p has an
// operator of the job to take it (contract 6). State that none takes
// fails the restore, naming it, unless the settings allow dropping it.
func (j *Job) matchState(p *point) error {
	var lost []string
	for _, op := range p.meta.Operators {
		if _, ok := j.spec.States[op.UID]; !ok {
			lost = append(lost, describeState(&op))
		}
	}
	if len(lost) == 0 {
		return nil
	}
	if j.spec.Checkpoints.AllowNonRestoredState {
		j.log.Warn("the restore drops the state of operators the job does not have", "from", p.dir.String(), "state", strings.Join(lost, ", "))
		return nil
	}
	return fmt.Errorf("weir: restore from %s: it holds state that no operator of the job takes: %s. "+
		"State belongs to an operator's UID (weir.UID; a name given with weir.Name serves as one): give the operator that should take it that UID, "+
		"or drop the state with AllowNonRestoredState (weir pvuv --allow-non-restored-state)", p.dir, strings.Join(lost, ", "))
}

// describeState names an operator's state in a checkpoint and says how
// much there is.
func describeState(op *snapshot.Operator) string {
	var keyed, other int64
	for _, s := range op.Subtasks {
		keyed += s.KeyedSize
		other += int64(len(s.OperatorState) + len(s.ChannelState))
	}
	name := ""
	if op.Name != "" && op.Name != op.UID {
		name = fmt.Sprintf(", operator %q", op.Name)
	}
	return fmt.Sprintf("%q (%d subtasks%s, %d bytes keyed, %d bytes other)", op.UID, len(op.Subtasks), name, keyed, other)
}

// open returns the checkpoint or savepoint at path (RestoreFrom), and a
// function that closes its storage.
func (j *Job) open(ctx context.Context, path string) (*point, func() error, error) {
	rs, dir, err := storage.OpenRestore(ctx, path)
	if err != nil {
		return nil, nil, fmt.Errorf("weir: RestoreFrom %q: %w", path, err)
	}
	m, err := rs.ReadVerified(ctx, dir, j.checkMeta)
	if err == nil {
		return &point{meta: m, store: rs, dir: dir}, rs.Close, nil
	}
	rs.Close()
	return nil, nil, fmt.Errorf("weir: RestoreFrom %q: %w", path, err)
}
