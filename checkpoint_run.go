package weir

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/sink"
)

// stateful is implemented by operators with state to keep in checkpoints.
// Both methods run on the subtask's goroutine.
type stateful interface {
	// snapshotState captures the operator's state at the barrier of
	// checkpoint id into s. It copies; uploads happen later, elsewhere.
	snapshotState(ctx context.Context, id int64, s *opSnapshot) error
	// notifyCheckpoint passes a completion or an abort.
	notifyCheckpoint(ctx context.Context, c runtime.Command) error
}

// opSnapshot is one operator's state in one checkpoint.
type opSnapshot struct {
	keyed    map[int][]snapshot.Entry // by key group; nil for operators without keyed state
	keyRange keygroup.Range
	state    []byte // operator state
}

func (s *opSnapshot) addKeyed(group int, e snapshot.Entry) {
	if s.keyed == nil {
		s.keyed = map[int][]snapshot.Entry{}
	}
	s.keyed[group] = append(s.keyed[group], e)
}

type registeredState struct {
	uid string
	op  stateful
}

// taskAck is a task's acknowledgement of a checkpoint.
type taskAck struct {
	id        int64
	task      checkpoint.TaskID
	ops       []opAck
	alignment time.Duration
	err       error
}

type opAck struct {
	uid         string
	parallelism int
	sub         snapshot.Subtask
}

// sourceRun ties a source's enumeration to its tasks for triggering.
type sourceRun struct {
	name        string
	enumeration *runtime.Enumeration
	task        checkpoint.TaskID // the enumerator's own acknowledgement
}

// jobRun is one run of a job that takes checkpoints: from its start (fresh
// or restored) until it ends or fails.
type jobRun struct {
	env    *Env
	name   string
	cfg    *checkpointConfig
	store  *storage.Storage
	lastID int64 // the newest checkpoint id at the location
	// What the run restores: nil on a fresh start. A savepoint may live in
	// another storage than the checkpoints.
	restored     *snapshot.Metadata
	restoreStore *storage.Storage
	restoreDir   storage.Dir
	byUID        map[string]*snapshot.Operator

	acks     chan taskAck
	finished chan checkpoint.TaskID
	tasks    []checkpoint.TaskID
	sources  []checkpoint.TaskID
	commands map[checkpoint.TaskID]chan runtime.Command
	// stopped holds a channel per task that is closed when the task
	// returns: a task that ended takes no more commands, and the
	// coordinator must not wait for it to.
	stopped map[checkpoint.TaskID]chan struct{}
	srcRuns []*sourceRun
	stats   *checkpoint.Stats
	uploads sync.WaitGroup

	// Savepoints: requests from TriggerSavepoint, the directory of each
	// savepoint id (read by upload goroutines), and the requests waiting
	// for their savepoint to complete (driver goroutine only).
	savepointReqs chan *savepointReq
	savepointDirs sync.Map // int64 -> storage.Dir
	queued        []*savepointReq
	inFlight      map[int64]*savepointReq
	stop          context.CancelCauseFunc // ends the run; set by runOnce

	finalMu sync.Mutex
	finals  []*finalCommit // sinks' end-of-input output; see addFinalCommit
}

// savepointReq asks the driver for a savepoint.
type savepointReq struct {
	stop bool // stop the job once the savepoint completed
	done chan savepointResult
}

type savepointResult struct {
	path string
	err  error
}

// errStopped is the cause of a run ended by StopWithSavepoint.
var errStopped = errors.New("weir: stopped with a savepoint")

// dirFor returns where checkpoint id's files go.
func (r *jobRun) dirFor(id int64) storage.Dir {
	if d, ok := r.savepointDirs.Load(id); ok {
		return d.(storage.Dir)
	}
	return storage.CheckpointDir(uint64(id))
}

func newJobRun(e *Env, name string, store *storage.Storage, lastID int64, from *restorePoint) *jobRun {
	r := &jobRun{env: e, name: name, cfg: e.cfg.checkpoint, store: store, lastID: lastID,
		byUID: map[string]*snapshot.Operator{}, commands: map[checkpoint.TaskID]chan runtime.Command{}, stopped: map[checkpoint.TaskID]chan struct{}{}, stats: e.stats,
		savepointReqs: make(chan *savepointReq), inFlight: map[int64]*savepointReq{}}
	if from != nil {
		r.restored, r.restoreStore, r.restoreDir = from.meta, from.store, from.dir
		restored := from.meta
		for i := range restored.Operators {
			r.byUID[restored.Operators[i].UID] = &restored.Operators[i]
		}
		r.lastID = max(r.lastID, restored.CheckpointID)
	}
	return r
}

// addTask registers a task and returns its command channel.
func (r *jobRun) addTask(id checkpoint.TaskID, source bool) chan runtime.Command {
	r.tasks = append(r.tasks, id)
	if source {
		r.sources = append(r.sources, id)
	}
	ch := make(chan runtime.Command, 16)
	r.commands[id] = ch
	r.stopped[id] = make(chan struct{})
	return ch
}

// taskStopped says that task id returned and reads no more commands.
func (r *jobRun) taskStopped(id checkpoint.TaskID) { close(r.stopped[id]) }

// checkpointing returns the hooks of one task.
func (r *jobRun) checkpointing(t *taskCtx) *runtime.Checkpointing {
	return &runtime.Checkpointing{
		Commands: r.commands[t.taskID],
		Snapshot: func(ctx context.Context, id int64, alignment time.Duration) error {
			return r.snapshotTask(ctx, t, id, alignment)
		},
		SnapshotUnaligned: func(ctx context.Context, id int64) (func([]byte) error, error) {
			return r.snapshotUnaligned(ctx, t, id)
		},
		Unaligned: func(id int64) bool {
			// Savepoints are always aligned: they can be restored at any
			// parallelism.
			return r.cfg.unaligned && !r.dirFor(id).IsSavepoint()
		},
		Notify: func(ctx context.Context, c runtime.Command) error {
			for _, s := range t.stateful {
				if err := s.op.notifyCheckpoint(ctx, c); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// snapshotTask captures the state of every operator of t's chain and
// uploads it in the background, then acknowledges.
func (r *jobRun) snapshotTask(ctx context.Context, t *taskCtx, id int64, alignment time.Duration) error {
	snaps, err := r.captureTask(ctx, t, id)
	if err != nil {
		return err
	}
	r.upload(ctx, t, id, snaps, alignment, nil)
	return nil
}

// snapshotUnaligned captures t's state at the first barrier of an unaligned
// checkpoint; the upload starts when the task hands over the in-flight
// records.
func (r *jobRun) snapshotUnaligned(ctx context.Context, t *taskCtx, id int64) (func([]byte) error, error) {
	snaps, err := r.captureTask(ctx, t, id)
	if err != nil {
		return nil, err
	}
	started := time.Now()
	return func(channelState []byte) error {
		r.upload(ctx, t, id, snaps, time.Since(started), channelState)
		return nil
	}, nil
}

func (r *jobRun) captureTask(ctx context.Context, t *taskCtx, id int64) ([]opSnapshot, error) {
	snaps := make([]opSnapshot, len(t.stateful))
	for i, s := range t.stateful {
		if err := s.op.snapshotState(ctx, id, &snaps[i]); err != nil {
			return nil, fmt.Errorf("checkpoint %d: %w", id, err)
		}
	}
	return snaps, nil
}

// upload writes the keyed state files in the background and then
// acknowledges; in-flight records of an unaligned checkpoint are stored
// under the chain's channels entry.
func (r *jobRun) upload(ctx context.Context, t *taskCtx, id int64, snaps []opSnapshot, alignment time.Duration, channelState []byte) {
	t.uploads.Add(1)
	r.uploads.Add(1)
	go func() {
		defer r.uploads.Done()
		defer t.uploads.Done()
		ack := taskAck{id: id, task: t.taskID, alignment: alignment}
		for i, s := range t.stateful {
			sub := snapshot.Subtask{Index: t.subtask, OperatorState: snaps[i].state}
			if snaps[i].keyed != nil {
				if err := r.writeKeyed(ctx, id, s.uid, t.subtask, &snaps[i], &sub); err != nil {
					ack.err = err
					break
				}
			}
			ack.ops = append(ack.ops, opAck{uid: s.uid, parallelism: t.parallelism, sub: sub})
		}
		if len(channelState) > 0 {
			ack.ops = append(ack.ops, opAck{uid: channelsUID(t.head), parallelism: t.parallelism,
				sub: snapshot.Subtask{Index: t.subtask, ChannelState: channelState}})
		}
		select {
		case r.acks <- ack:
		case <-ctx.Done():
		}
	}()
}

// channelsUID names the in-flight records of a chain's inputs in
// checkpoints.
func channelsUID(head string) string { return head + "#channels" }

// restoredChannelState returns the in-flight records that subtask i of the
// chain starting at head held in the restored checkpoint. They can only be
// replayed at the parallelism they were taken at.
func (r *jobRun) restoredChannelState(head string, i, p int) ([]byte, error) {
	op := r.operator(channelsUID(head))
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

// writeKeyed writes one operator subtask's keyed state file.
func (r *jobRun) writeKeyed(ctx context.Context, id int64, uid string, subtask int, s *opSnapshot, sub *snapshot.Subtask) error {
	var buf bytes.Buffer
	rng := [2]int{s.keyRange.Start, s.keyRange.End}
	w := snapshot.NewKeyedWriter(&buf, rng)
	for g := rng[0]; g < rng[1]; g++ {
		entries := s.keyed[g]
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
	name := fmt.Sprintf("%s.%d.keyed", fileSafe(uid), subtask)
	if _, err := r.store.WriteState(ctx, r.dirFor(id), name, &buf); err != nil {
		return err
	}
	sub.KeyGroups, sub.KeyedFile, sub.KeyedSize, sub.KeyedCRC, sub.GroupOffsets = rng, name, size, crc, offsets
	return nil
}

// fileSafe turns an operator name into a file name.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// drive runs the coordinator until ctx ends.
func (r *jobRun) drive(ctx context.Context) error {
	coord := checkpoint.NewCoordinator[[]opAck](checkpoint.Config{
		Interval: r.cfg.interval, Timeout: r.cfg.timeout, MinPause: r.cfg.minPause,
	}, r.tasks, r.sources, r.lastID, r.stats)
	tick := time.NewTicker(min(r.cfg.interval/4, 50*time.Millisecond))
	defer tick.Stop()
	defer func() {
		// Savepoints the run can no longer take.
		for _, q := range append(r.queued, mapValues(r.inFlight)...) {
			q.done <- savepointResult{err: errors.New("weir: the job ended before the savepoint completed")}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case req := <-r.savepointReqs:
			r.queued = append(r.queued, req)
			r.triggerSavepoint(ctx, coord)
		case now := <-tick.C:
			if len(r.queued) > 0 {
				r.triggerSavepoint(ctx, coord)
			}
			r.act(ctx, coord, coord.Tick(now))
		case a := <-r.acks:
			if a.err != nil {
				r.act(ctx, coord, coord.Decline(time.Now(), a.id, a.task, a.err.Error()))
				continue
			}
			r.stats.Aligned(a.id, a.task, a.alignment)
			r.act(ctx, coord, coord.Ack(time.Now(), a.id, a.task, a.ops))
		case t := <-r.finished:
			r.act(ctx, coord, coord.Finished(time.Now(), t))
		}
	}
}

// triggerSavepoint starts the first queued savepoint if no checkpoint is
// in progress (else the next tick tries again).
func (r *jobRun) triggerSavepoint(ctx context.Context, coord *checkpoint.Coordinator[[]opAck]) {
	now := time.Now()
	id, acts := coord.TriggerNow(now)
	if id == 0 {
		if len(acts) == 0 && coord.Pending() == 0 && len(r.sources) > 0 {
			// Not blocked by a checkpoint: every source finished.
			req := r.queued[0]
			r.queued = r.queued[1:]
			req.done <- savepointResult{err: errors.New("weir: the job's sources have finished: nothing to take a savepoint of")}
		}
		return
	}
	req := r.queued[0]
	r.queued = r.queued[1:]
	r.savepointDirs.Store(id, storage.NewSavepointDir(uint64(id), now))
	r.inFlight[id] = req
	r.act(ctx, coord, acts)
}

func mapValues[K comparable, V any](m map[K]V) []V {
	out := make([]V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func (r *jobRun) act(ctx context.Context, coord *checkpoint.Coordinator[[]opAck], actions []checkpoint.Action[[]opAck]) {
	for _, a := range actions {
		switch a.Kind {
		case checkpoint.TriggerSources:
			for _, s := range r.srcRuns {
				s.enumeration.Trigger(ctx, a.ID)
			}
		case checkpoint.Persist:
			size, err := r.persist(ctx, a.ID, a.States)
			r.act(ctx, coord, coord.Persisted(time.Now(), a.ID, size, err))
		case checkpoint.NotifyComplete, checkpoint.NotifyAbort:
			kind := runtime.Complete
			if a.Kind == checkpoint.NotifyAbort {
				kind = runtime.Abort
				if ctx.Err() != nil {
					// The job is ending; retention removes the leftovers
					// of this checkpoint at the next run.
					return
				}
				slog.Warn("checkpoint aborted", "job", r.name, "checkpoint", a.ID, "reason", a.Reason)
				if err := r.store.Discard(ctx, r.dirFor(a.ID)); err != nil && ctx.Err() == nil {
					slog.Warn("could not delete the files of an aborted checkpoint", "checkpoint", a.ID, "err", err)
				}
			}
			for _, t := range a.Tasks {
				if ch := r.commands[t]; ch != nil {
					select {
					case ch <- runtime.Command{Kind: kind, ID: a.ID}:
					case <-r.stopped[t]:
					case <-ctx.Done():
						return
					}
				}
			}
			if kind == runtime.Complete {
				if err := r.commitFinals(ctx, a.ID); err != nil && ctx.Err() == nil {
					slog.Warn("could not publish the output of a finished sink; the job publishes it when it ends", "err", err)
				}
				if err := r.store.Retain(ctx, r.cfg.retain); err != nil && ctx.Err() == nil {
					slog.Warn("could not delete old checkpoints", "err", err)
				}
			}
			if req := r.inFlight[a.ID]; req != nil {
				delete(r.inFlight, a.ID)
				res := savepointResult{path: strings.TrimSuffix(r.store.Location(), "/") + "/" + r.dirFor(a.ID).Name()}
				if kind == runtime.Abort {
					res = savepointResult{err: fmt.Errorf("weir: savepoint failed: %s", a.Reason)}
				}
				if res.err == nil {
					slog.Info("savepoint completed", "job", r.name, "path", res.path)
				}
				req.done <- res
				if req.stop && res.err == nil && r.stop != nil {
					r.stop(errStopped)
				}
			}
		}
	}
}

// persist writes the metadata of checkpoint id; the checkpoint is complete
// when it returns nil.
func (r *jobRun) persist(ctx context.Context, id int64, states map[checkpoint.TaskID][]opAck) (int64, error) {
	dir := r.dirFor(id)
	m := &snapshot.Metadata{CheckpointID: id, Savepoint: dir.IsSavepoint(), JobName: r.name, CreatedUnixMs: time.Now().UnixMilli(), MaxParallelism: r.env.cfg.maxParallelism}
	ops := map[string]*snapshot.Operator{}
	var order []string
	var size int64
	for _, t := range r.tasks {
		for _, oa := range states[t] {
			op := ops[oa.uid]
			if op == nil {
				op = &snapshot.Operator{UID: oa.uid, Parallelism: oa.parallelism}
				ops[oa.uid] = op
				order = append(order, oa.uid)
			}
			op.Subtasks = append(op.Subtasks, oa.sub)
			size += oa.sub.KeyedSize + int64(len(oa.sub.OperatorState)) + int64(len(oa.sub.ChannelState))
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
	if err := r.store.Commit(ctx, dir, b); err != nil {
		return 0, err
	}
	return size + int64(len(b)), nil
}

// operator returns the restored state of operator uid, or nil.
func (r *jobRun) operator(uid string) *snapshot.Operator {
	if r == nil {
		return nil
	}
	return r.byUID[uid]
}

// restoreKeyed feeds each restored keyed-state entry of operator uid whose
// key group lies in rng to each, reading only the groups it needs from the
// files of the old subtasks.
func (r *jobRun) restoreKeyed(ctx context.Context, uid string, rng keygroup.Range, each func(snapshot.Entry) error) error {
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
		f, err := r.restoreStore.OpenState(ctx, r.restoreDir, sub.KeyedFile)
		if err != nil {
			return fmt.Errorf("restore operator %q: %w", uid, err)
		}
		kr, err := snapshot.NewKeyedReader(f, sub.KeyedSize, sub.KeyGroups, sub.GroupOffsets)
		if err != nil {
			f.Close()
			return fmt.Errorf("restore operator %q from %s: %w", uid, sub.KeyedFile, err)
		}
		for g := lo; g < hi; g++ {
			for e, err := range kr.Group(g) {
				if err == nil {
					err = each(e)
				}
				if err != nil {
					f.Close()
					return fmt.Errorf("restore operator %q, key group %d from %s: %w", uid, g, sub.KeyedFile, err)
				}
			}
		}
		f.Close()
	}
	return nil
}

// operatorStates returns the old subtasks of uid whose operator state new
// subtask i of parallelism p takes over: old subtask j goes to j mod p.
func (r *jobRun) operatorStates(uid string, i, p int) []snapshot.Subtask {
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

// restorePoint is a checkpoint or savepoint to start from.
type restorePoint struct {
	meta  *snapshot.Metadata
	store *storage.Storage
	dir   storage.Dir
}

// validator checks metadata bytes for storage.Latest.
func (e *Env) validator(b []byte) error {
	m, err := snapshot.DecodeMetadata(b)
	if err != nil {
		return err
	}
	if m.MaxParallelism != e.cfg.maxParallelism {
		return fmt.Errorf("it was taken with max parallelism %d and the job has %d: key groups cannot change; set MaxParallelism(%d)", m.MaxParallelism, e.cfg.maxParallelism, m.MaxParallelism)
	}
	return nil
}

// latest returns the newest valid checkpoint at store, or nil.
func (e *Env) latest(ctx context.Context, store *storage.Storage) (*restorePoint, error) {
	dir, b, err := store.Latest(ctx, e.validator)
	if errors.Is(err, storage.ErrNone) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := snapshot.DecodeMetadata(b)
	if err != nil {
		return nil, err
	}
	return &restorePoint{meta: m, store: store, dir: dir}, nil
}

// executeWithCheckpoints runs the job with checkpoints, restarting it from
// the latest checkpoint when it fails, as the restart strategy allows.
func (e *Env) executeWithCheckpoints(ctx context.Context, name string) error {
	cc := e.cfg.checkpoint
	store, err := storage.Open(ctx, cc.location)
	if err != nil {
		return fmt.Errorf("weir: Checkpoints: %w", err)
	}
	defer store.Close()
	e.mu.Lock()
	e.stats = checkpoint.NewStats(100)
	e.mu.Unlock()

	var from *restorePoint
	switch cc.restore {
	case "", "latest":
		if from, err = e.latest(ctx, store); err != nil {
			return fmt.Errorf("weir: restore: %w", err)
		}
		latest := ""
		if from != nil {
			latest = from.dir.String()
		}
		if done, err := e.finishedBefore(ctx, name, store, latest); err != nil || done {
			return err
		}
	default:
		rs, dir, err := storage.OpenRestore(ctx, cc.restore)
		if err != nil {
			return fmt.Errorf("weir: RestoreFrom %q: %w", cc.restore, err)
		}
		defer rs.Close()
		b, err := rs.ReadMetadata(ctx, dir, e.validator)
		if err != nil {
			return fmt.Errorf("weir: RestoreFrom %q: %w", cc.restore, err)
		}
		m, err := snapshot.DecodeMetadata(b)
		if err != nil {
			return fmt.Errorf("weir: RestoreFrom %q: %w", cc.restore, err)
		}
		from = &restorePoint{meta: m, store: rs, dir: dir}
	}
	for attempt := 1; ; attempt++ {
		var lastID int64
		if dirs, err := store.Completed(ctx); err == nil && len(dirs) > 0 {
			if id, ok := dirs[0].Checkpoint(); ok {
				lastID = int64(id)
			}
		}
		if from != nil {
			slog.Info("restoring", "job", name, "from", from.dir.String(), "checkpoint", from.meta.CheckpointID)
		}
		run := newJobRun(e, name, store, lastID, from)
		e.mu.Lock()
		e.current = run
		e.mu.Unlock()
		err := e.runOnce(ctx, name, run)
		e.mu.Lock()
		e.current = nil
		e.mu.Unlock()
		if errors.Is(err, errStopped) {
			return nil
		}
		if err == nil {
			return e.finish(ctx, store, run)
		}
		if ctx.Err() != nil {
			return err
		}
		delay, ok := cc.restart.next(attempt)
		if !ok {
			if cc.restart.name == "none" {
				return err
			}
			return fmt.Errorf("weir: job %q gave up after %d restarts (%s): %w", name, attempt-1, cc.restart.name, err)
		}
		latest, lerr := e.latest(ctx, store)
		if lerr != nil {
			return fmt.Errorf("weir: job %q failed (%w) and its checkpoints cannot be read: %v", name, err, lerr)
		}
		if latest != nil {
			from = latest
		}
		at := "the start"
		if from != nil {
			at = from.dir.String()
		}
		slog.Warn("job failed; restarting", "job", name, "attempt", attempt, "in", delay, "from", at, "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// encodeState and decodeState store small operator states.
func encodeState[T any](v T) ([]byte, error) { return codec.For[T]().Append(nil, v) }

func decodeState[T any](b []byte) (T, error) {
	v, n, err := codec.For[T]().Decode(b)
	if err == nil && n != len(b) {
		err = errors.New("trailing bytes")
	}
	return v, err
}

// TriggerSavepoint takes a savepoint of the running job: a checkpoint kept
// apart from the periodic ones and never deleted, to start the job from
// later (RestoreFrom), also at another parallelism. It blocks until the
// savepoint completed and returns its location. The job needs Checkpoints.
func (e *Env) TriggerSavepoint(ctx context.Context) (string, error) {
	return e.savepoint(ctx, false)
}

// StopWithSavepoint takes a savepoint and then stops the job: Execute
// returns nil. It returns the savepoint's location.
func (e *Env) StopWithSavepoint(ctx context.Context) (string, error) {
	return e.savepoint(ctx, true)
}

func (e *Env) savepoint(ctx context.Context, stop bool) (string, error) {
	e.mu.Lock()
	run := e.current
	e.mu.Unlock()
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

// finishRecord is what a finished job leaves in its checkpoint location:
// the checkpoint its end followed, and what its sinks pre-committed at the
// end of input, per sink.
type finishRecord struct {
	After   string              `json:"after"`
	Commits map[string][][]byte `json:"commits,omitempty"`
}

// finalCommit is what one sink subtask pre-committed at the end of its
// input. It is published only once every task of the job has ended: if
// another task fails first, the job restores its last checkpoint and
// replays this output, which must not be published twice.
type finalCommit struct {
	uid                  string
	subtask, parallelism int
	committer            sink.Committer
	committables         [][]byte
	writer               []byte // the writer's state, for a restored writer
	// Driver goroutine only: the first checkpoint that holds it (its
	// completion publishes it), and whether it was published.
	includedIn int64
	committed  bool
}

// addFinalCommit holds a sink subtask's end-of-input committables. Every
// checkpoint that completes later holds them as the subtask's state, as
// Flink's final checkpoints do: the subtask no longer takes part in
// checkpoints, but a restore of one of them must publish its output.
func (r *jobRun) addFinalCommit(fc *finalCommit) {
	r.finalMu.Lock()
	r.finals = append(r.finals, fc)
	r.finalMu.Unlock()
}

// addFinals adds the finished sink subtasks that did not acknowledge
// checkpoint id to its operators.
func (r *jobRun) addFinals(id int64, ops map[string]*snapshot.Operator, order *[]string) error {
	r.finalMu.Lock()
	defer r.finalMu.Unlock()
	for _, fc := range r.finals {
		op := ops[fc.uid]
		if op != nil && slices.ContainsFunc(op.Subtasks, func(s snapshot.Subtask) bool { return s.Index == fc.subtask }) {
			continue // it acknowledged this checkpoint before it ended
		}
		st, err := encodeState(sinkState{Writer: fc.writer, Pending: []pendingCommit{{ID: id, Committables: fc.committables}}})
		if err != nil {
			return err
		}
		if op == nil {
			op = &snapshot.Operator{UID: fc.uid, Parallelism: fc.parallelism}
			ops[fc.uid] = op
			*order = append(*order, fc.uid)
		}
		op.Subtasks = append(op.Subtasks, snapshot.Subtask{Index: fc.subtask, OperatorState: st})
		if fc.includedIn == 0 {
			fc.includedIn = id
		}
	}
	return nil
}

// commitFinals publishes the end-of-input output held by checkpoints up to
// id, once id is complete; all of it when id is 0 (the job finished).
func (r *jobRun) commitFinals(ctx context.Context, id int64) error {
	r.finalMu.Lock()
	defer r.finalMu.Unlock()
	for _, fc := range r.finals {
		if fc.committed || len(fc.committables) == 0 || (id != 0 && (fc.includedIn == 0 || fc.includedIn > id)) {
			continue
		}
		if err := fc.committer.Commit(ctx, fc.committables); err != nil {
			return fmt.Errorf("weir: sink %q (subtask %d): publish the end of its output: %w", fc.uid, fc.subtask, err)
		}
		fc.committed = true
	}
	return nil
}

// finish records that the job ended, with its final committables, and
// then publishes them. A crash between the two publishes them at the next
// start (commits are idempotent); a crash before the record replays the
// end from the last checkpoint.
func (e *Env) finish(ctx context.Context, store *storage.Storage, run *jobRun) error {
	rec := finishRecord{Commits: map[string][][]byte{}}
	dirs, err := store.Completed(ctx)
	if err != nil {
		return fmt.Errorf("weir: record that the job finished: %w", err)
	}
	if len(dirs) > 0 {
		rec.After = dirs[0].String()
	}
	for _, fc := range run.finals {
		rec.Commits[fc.uid] = append(rec.Commits[fc.uid], fc.committables...)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("weir: record that the job finished: %w", err)
	}
	if err := store.MarkFinished(ctx, b); err != nil {
		return fmt.Errorf("weir: record that the job finished: %w", err)
	}
	return run.commitFinals(ctx, 0)
}

// finishedBefore reports whether the job finished after checkpoint latest
// (the newest completed one, or empty): then it publishes the end of the
// output again, in case the finishing run died before it had, and the job
// has nothing left to do.
func (e *Env) finishedBefore(ctx context.Context, name string, store *storage.Storage, latest string) (bool, error) {
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
	for _, n := range e.nodes {
		if n.finalCommit == nil || len(rec.Commits[n.name]) == 0 {
			continue
		}
		if err := n.finalCommit(ctx, rec.Commits[n.name]); err != nil {
			return false, fmt.Errorf("weir: sink %q: publish the end of the output: %w", n.name, err)
		}
	}
	slog.Info("the job already finished: nothing to do; use a new checkpoint directory to run it again", "job", name, "checkpoints", store.Location())
	return true, nil
}
