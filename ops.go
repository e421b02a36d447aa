package weir

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/snapshot"
	"time"

	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/source"
)

// sourceNode holds the typed factories of a source.
type sourceNode struct {
	enumeration func(ctx context.Context, parallelism int, run *jobRun, uid string) (*runtime.Enumeration, error)
	task        func(b *builder, t *taskCtx, out any, en *runtime.Enumeration) (func(context.Context) error, error)
}

// enumeratorUID names the enumerator's state in checkpoints.
func enumeratorUID(uid string) string { return uid + "#enumerator" }

// FromSource adds a source to the job. Each parallel subtask runs one
// reader of src; its enumerator hands out the splits.
func FromSource[T any](env *Env, src source.Source[T], opts ...OpOption) Stream[T] {
	return fromSource(env, src, nil, opts)
}

func fromSource[T any](env *Env, src source.Source[T], strategy *WatermarkStrategy[T], opts []OpOption) Stream[T] {
	n := newNode[T](env, "source", opts)
	n.source = &sourceNode{
		enumeration: func(ctx context.Context, parallelism int, run *jobRun, uid string) (*runtime.Enumeration, error) {
			en := runtime.NewEnumeration(parallelism)
			en.Checkpointing = run != nil
			var readerSplits []source.Split
			if run != nil {
				codec, ok := src.(source.Checkpointed)
				if !ok {
					return nil, fmt.Errorf("%T cannot take part in checkpoints: it does not implement source.Checkpointed", src)
				}
				if run.operator(uid) != nil {
					unassigned, err := decodeSplits(codec, run.operatorStates(enumeratorUID(uid), 0, 1))
					if err != nil {
						return nil, fmt.Errorf("restore the enumerator: %w", err)
					}
					en.Restore(unassigned)
					if readerSplits, err = decodeSplits(codec, run.operatorStates(uid, 0, 1)); err != nil {
						return nil, fmt.Errorf("restore the readers' splits: %w", err)
					}
				}
				task := checkpoint.TaskID{Chain: n.id, Subtask: -1}
				en.Commands = run.addTask(task, false)
				run.srcRuns = append(run.srcRuns, &sourceRun{name: uid, enumeration: en, task: task})
				en.OnSnapshot = func(id int64, splits []source.Split, err error) {
					ack := taskAck{id: id, task: task, err: err}
					if err == nil {
						var state []byte
						if state, err = encodeSplits(codec, splits); err == nil {
							ack.ops = []opAck{{uid: enumeratorUID(uid), parallelism: 1, sub: snapshot.Subtask{OperatorState: state}}}
						}
						ack.err = err
					}
					select {
					case run.acks <- ack:
					case <-ctx.Done():
					}
				}
			}
			enum, err := src.NewEnumerator(en)
			if err != nil {
				return nil, err
			}
			if len(readerSplits) > 0 {
				// The splits readers held at the checkpoint, with their
				// positions: the enumerator hands them out again.
				enum.AddSplitsBack(readerSplits, -1)
			}
			en.SetEnumerator(enum)
			return en, nil
		},
		task: func(b *builder, t *taskCtx, out any, en *runtime.Enumeration) (func(context.Context) error, error) {
			head := &sourceHead[T]{op: op{name: n.name, subtask: t.subtask, par: t.parallelism}, out: out.(runtime.Collector[T])}
			for _, side := range b.env.nodes {
				if side.side == n {
					dead, err := b.output(side, t)
					if err != nil {
						return nil, err
					}
					head.dead = dead.(runtime.Collector[source.DeadLetter])
				}
			}
			var paused func() bool
			if strategy != nil {
				head.wm = newSplitWatermarks(head, strategy, env.cfg.watermarkInterval)
				if strategy.alignGroup != "" {
					head.wm.align = b.alignMember(strategy.alignGroup, strategy.maxDrift)
					paused = head.wm.paused
				}
				t.onTick(head.wm)
			}
			r, err := src.NewReader(en.ReaderContext(t.ctx, t.subtask))
			if err != nil {
				return nil, err
			}
			if codec, ok := src.(source.Checkpointed); ok {
				t.addState(n.name, &readerState[T]{reader: r, codec: codec})
			}
			task := &runtime.SourceTask[T]{
				Reader: r, Mailbox: en.Mailbox(t.subtask), Head: head,
				Clock: t.clock, Tickers: t.tickers, Outputs: t.outputs, Metrics: t.metrics,
				Checkpointing: t.checkpointing, Paused: paused,
			}
			return task.Run, nil
		},
	}
	return Stream[T]{n}
}

// readerState checkpoints a reader's splits and their positions.
type readerState[T any] struct {
	reader source.Reader[T]
	codec  source.Checkpointed
}

func (r *readerState[T]) snapshotState(_ context.Context, id int64, s *opSnapshot) error {
	splits, err := r.reader.Snapshot(id)
	if err != nil {
		return err
	}
	s.state, err = encodeSplits(r.codec, splits)
	return err
}

// notifyCheckpoint tells a reader that listens when a checkpoint is
// complete.
func (r *readerState[T]) notifyCheckpoint(ctx context.Context, c runtime.Command) error {
	if l, ok := r.reader.(source.CheckpointListener); ok && c.Kind == runtime.Complete {
		return l.NotifyCheckpointComplete(ctx, c.ID)
	}
	return nil
}

func encodeSplits(c source.Checkpointed, splits []source.Split) ([]byte, error) {
	enc := make([][]byte, len(splits))
	for i, sp := range splits {
		b, err := c.EncodeSplit(sp)
		if err != nil {
			return nil, err
		}
		enc[i] = b
	}
	return encodeState(enc)
}

// decodeSplits decodes the splits of several old subtasks.
func decodeSplits(c source.Checkpointed, subs []snapshot.Subtask) ([]source.Split, error) {
	var out []source.Split
	for _, sub := range subs {
		enc, err := decodeState[[][]byte](sub.OperatorState)
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

// oneToOne adds an operator with one input that keeps the upstream's
// partitioning (it chains when parallelism allows).
func oneToOne[In, Out any](s Stream[In], kind string, opts []OpOption, build func(t *taskCtx, name string, out runtime.Collector[Out]) runtime.Collector[In]) Stream[Out] {
	n := newNode[Out](s.n.env, kind, opts)
	connect(s, n, runtime.Forward, nil)
	withInput[In](n)
	n.build = func(b *builder, t *taskCtx, out any) (any, error) {
		return build(t, n.name, out.(runtime.Collector[Out])), nil
	}
	return Stream[Out]{n}
}

// Map applies fn to every record.
func Map[T, U any](s Stream[T], fn func(T) U, opts ...OpOption) Stream[U] {
	return oneToOne(s, "map", opts, func(t *taskCtx, name string, out runtime.Collector[U]) runtime.Collector[T] {
		return &mapOp[T, U]{fn: fn, out: out, op: op{name: name, subtask: t.subtask, par: t.parallelism}}
	})
}

// op identifies an operator instance in errors.
type op struct {
	name         string
	subtask, par int
}

func (o op) wrap(err error) error { return runtime.Wrap(err, o.name, o.subtask, o.par) }

type mapOp[T, U any] struct {
	op
	fn  func(T) U
	out runtime.Collector[U]
}

func (m *mapOp[T, U]) Collect(r runtime.Record[T]) (err error) {
	defer runtime.Recover(&err, m.name, m.subtask, m.par)
	return m.out.Collect(runtime.Record[U]{Value: m.fn(r.Value), Time: r.Time})
}
func (m *mapOp[T, U]) Watermark(wm int64) error { return m.out.Watermark(wm) }
func (m *mapOp[T, U]) End() error               { return m.out.End() }

// Filter keeps the records for which keep returns true.
func Filter[T any](s Stream[T], keep func(T) bool, opts ...OpOption) Stream[T] {
	return oneToOne(s, "filter", opts, func(t *taskCtx, name string, out runtime.Collector[T]) runtime.Collector[T] {
		return &filterOp[T]{keep: keep, out: out, op: op{name: name, subtask: t.subtask, par: t.parallelism}}
	})
}

type filterOp[T any] struct {
	op
	keep func(T) bool
	out  runtime.Collector[T]
}

func (f *filterOp[T]) Collect(r runtime.Record[T]) (err error) {
	defer runtime.Recover(&err, f.name, f.subtask, f.par)
	if !f.keep(r.Value) {
		return nil
	}
	return f.out.Collect(r)
}
func (f *filterOp[T]) Watermark(wm int64) error { return f.out.Watermark(wm) }
func (f *filterOp[T]) End() error               { return f.out.End() }

// Emitter receives the records a function emits. Emit never blocks for
// long and never fails: downstream errors end the job after the function
// returns.
type Emitter[T any] interface {
	Emit(v T)
}

// emitter emits with the timestamp of the record being processed.
type emitter[T any] struct {
	out  runtime.Collector[T]
	time int64
	err  error
}

func (e *emitter[T]) Emit(v T) {
	if e.err == nil {
		e.err = e.out.Collect(runtime.Record[T]{Value: v, Time: e.time})
	}
}

func (e *emitter[T]) take() error {
	err := e.err
	e.err = nil
	return err
}

// FlatMap calls fn for every record; fn emits zero or more records.
func FlatMap[T, U any](s Stream[T], fn func(v T, out Emitter[U]), opts ...OpOption) Stream[U] {
	return oneToOne(s, "flatmap", opts, func(t *taskCtx, name string, out runtime.Collector[U]) runtime.Collector[T] {
		return &flatMapOp[T, U]{fn: fn, em: emitter[U]{out: out}, op: op{name: name, subtask: t.subtask, par: t.parallelism}}
	})
}

type flatMapOp[T, U any] struct {
	op
	fn func(T, Emitter[U])
	em emitter[U]
}

func (f *flatMapOp[T, U]) Collect(r runtime.Record[T]) (err error) {
	defer runtime.Recover(&err, f.name, f.subtask, f.par)
	f.em.time = r.Time
	f.fn(r.Value, &f.em)
	return f.em.take()
}
func (f *flatMapOp[T, U]) Watermark(wm int64) error { return f.em.out.Watermark(wm) }
func (f *flatMapOp[T, U]) End() error               { return f.em.out.End() }

// Context is what a ProcessFunc knows about the record it processes and
// where it may send side outputs.
type Context struct {
	time      int64
	watermark int64
	subtask   int
	sides     []sideOutput
	err       error
}

type sideOutput struct {
	tag *tagID
	out any // *emitter[U]
}

// Timestamp returns the record's event time, and false if it has none.
func (c *Context) Timestamp() (time.Time, bool) {
	if c.time == runtime.NoTimestamp {
		return time.Time{}, false
	}
	return time.UnixMilli(c.time).UTC(), true
}

// Watermark returns the current event time of the subtask: the last
// watermark it received (the zero time before the first).
func (c *Context) Watermark() time.Time {
	if c.watermark == runtime.NoTimestamp {
		return time.Time{}
	}
	return time.UnixMilli(c.watermark).UTC()
}

// Subtask returns the index of the parallel subtask running the function.
func (c *Context) Subtask() int { return c.subtask }

type tagID struct{ name string }

// OutputTag names a side output of type T. Create it once with
// NewOutputTag, emit to it from a ProcessFunc, and get its stream with
// SideOutput.
type OutputTag[T any] struct{ id *tagID }

// NewOutputTag returns a new side-output tag; name shows in plans.
func NewOutputTag[T any](name string) OutputTag[T] { return OutputTag[T]{id: &tagID{name: name}} }

// Emit sends v to the side output from inside a ProcessFunc. A side output
// that no stream consumes drops v.
func (t OutputTag[T]) Emit(ctx *Context, v T) {
	for _, s := range ctx.sides {
		if s.tag == t.id {
			e := s.out.(*emitter[T])
			e.time = ctx.time
			e.Emit(v)
			if err := e.take(); err != nil && ctx.err == nil {
				ctx.err = err
			}
			return
		}
	}
}

// ProcessFunc processes one record: it emits any number of records to out
// and to side outputs (OutputTag.Emit). A returned error fails the job.
type ProcessFunc[T, U any] func(ctx *Context, v T, out Emitter[U]) error

// Process calls fn for every record. Side outputs that fn emits are read
// with SideOutput on the returned stream.
func Process[T, U any](s Stream[T], fn ProcessFunc[T, U], opts ...OpOption) Stream[U] {
	n := newNode[U](s.n.env, "process", opts)
	connect(s, n, runtime.Forward, nil)
	withInput[T](n)
	n.build = func(b *builder, t *taskCtx, out any) (any, error) {
		p := &processOp[T, U]{fn: fn, em: emitter[U]{out: out.(runtime.Collector[U])},
			op:  op{name: n.name, subtask: t.subtask, par: t.parallelism},
			ctx: Context{subtask: t.subtask, watermark: runtime.NoTimestamp}}
		for _, side := range b.env.nodes {
			if side.side == n {
				sideOut, err := b.output(side, t)
				if err != nil {
					return nil, err
				}
				p.ctx.sides = append(p.ctx.sides, sideOutput{tag: side.sideTag, out: side.sideEmitter(sideOut)})
				p.sideEnds = append(p.sideEnds, side.sideCollector(sideOut))
			}
		}
		return p, nil
	}
	return Stream[U]{n}
}

// SideOutput returns the stream of records that s's ProcessFunc emitted
// to tag. It runs with s's parallelism.
func SideOutput[T, U any](s Stream[U], tag OutputTag[T], opts ...OpOption) Stream[T] {
	n := newNode[T](s.n.env, "side-"+tag.id.name, opts)
	n.side = s.n
	n.sideTag = tag.id
	n.sideEmitter = func(out any) any { return &emitter[T]{out: out.(runtime.Collector[T])} }
	n.sideCollector = func(out any) controlSink { return out.(runtime.Collector[T]) }
	return Stream[T]{n}
}

// controlSink is the part of a collector that carries control elements,
// whatever its record type.
type controlSink interface {
	Watermark(wm int64) error
	End() error
}

type processOp[T, U any] struct {
	op
	fn       ProcessFunc[T, U]
	em       emitter[U]
	ctx      Context
	sideEnds []controlSink
}

func (p *processOp[T, U]) Collect(r runtime.Record[T]) (err error) {
	defer runtime.Recover(&err, p.name, p.subtask, p.par)
	p.ctx.time, p.em.time = r.Time, r.Time
	if err := p.fn(&p.ctx, r.Value, &p.em); err != nil {
		return p.wrap(err)
	}
	if err := p.em.take(); err != nil {
		return err
	}
	err, p.ctx.err = p.ctx.err, nil
	return err
}

func (p *processOp[T, U]) Watermark(wm int64) error {
	if wm != runtime.Idle {
		p.ctx.watermark = wm
	}
	for _, s := range p.sideEnds {
		if err := s.Watermark(wm); err != nil {
			return err
		}
	}
	return p.em.out.Watermark(wm)
}

func (p *processOp[T, U]) End() error {
	for _, s := range p.sideEnds {
		if err := s.End(); err != nil {
			return err
		}
	}
	return p.em.out.End()
}

// Union merges streams of one type into one. Records keep their order per
// input; between inputs they interleave. The watermark is the minimum of
// the inputs'. A union is not an operator: whatever consumes it reads from
// every input directly, so it costs no extra hop.
func Union[T any](first Stream[T], more ...Stream[T]) Stream[T] {
	n := newNode[T](first.n.env, "union", nil)
	for _, s := range append([]Stream[T]{first}, more...) {
		n.unionOf = append(n.unionOf, s.n.unionInputs()...)
	}
	return Stream[T]{n}
}

// Rebalance spreads the records of s round-robin over the subtasks of the
// next operator: for skewed or unevenly split inputs.
func Rebalance[T any](s Stream[T], opts ...OpOption) Stream[T] {
	return repartition(s, "rebalance", runtime.Rebalance, opts)
}

// Broadcast sends every record of s to every subtask of the next operator.
func Broadcast[T any](s Stream[T], opts ...OpOption) Stream[T] {
	return repartition(s, "broadcast", runtime.Broadcast, opts)
}

// repartition adds a pass-through operator whose input edge uses pattern;
// it chains with whatever follows it.
func repartition[T any](s Stream[T], kind string, pattern runtime.Pattern, opts []OpOption) Stream[T] {
	n := newNode[T](s.n.env, kind, opts)
	connect(s, n, pattern, nil)
	withInput[T](n)
	n.build = func(b *builder, t *taskCtx, out any) (any, error) { return out, nil }
	return Stream[T]{n}
}

// SinkTo writes every record of s to snk. Each parallel subtask has its
// own writer, flushed at every checkpoint and at the end of input. With
// checkpoints, a sink whose writers pre-commit (sink.PreCommitter) publishes
// output only when the checkpoint that covers it completes: exactly once.
func SinkTo[T any](s Stream[T], snk sink.Sink[T], opts ...OpOption) {
	n := newNode[T](s.n.env, "sink", opts)
	connect(s, n, runtime.Forward, nil)
	withInput[T](n)
	if cs, ok := snk.(sink.CommittingSink); ok {
		n.finalCommit = func(ctx context.Context, committables [][]byte) error {
			c, err := cs.NewCommitter()
			if err != nil {
				return err
			}
			return c.Commit(ctx, committables)
		}
	}
	n.build = func(b *builder, t *taskCtx, _ any) (any, error) {
		op := &sinkOp[T]{ctx: t.ctx, op: op{name: n.name, subtask: t.subtask, par: t.parallelism}, run: t.run}
		wctx := writerContext{subtask: t.subtask, parallelism: t.parallelism, checkpointing: t.run != nil}
		if t.run != nil {
			if cs, ok := snk.(sink.CommittingSink); ok {
				c, err := cs.NewCommitter()
				if err != nil {
					return nil, err
				}
				op.committer = c
			}
			// Publish what the restored checkpoint pre-committed before the
			// writer starts: the writer's restored state assumes it is.
			for _, sub := range t.run.operatorStates(n.name, t.subtask, t.parallelism) {
				st, err := decodeState[sinkState](sub.OperatorState)
				if err != nil {
					return nil, fmt.Errorf("restore: %w", err)
				}
				if err := op.commit(t.ctx, st.Pending); err != nil {
					return nil, fmt.Errorf("restore: commit: %w", err)
				}
				if sub.Index == t.subtask {
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
		if op.pre != nil && op.committer == nil && t.run != nil {
			return nil, fmt.Errorf("its writer pre-commits but %T has no committer: implement sink.CommittingSink", snk)
		}
		t.onClose(w.Close)
		t.addState(n.name, op)
		return op, nil
	}
}

type writerContext struct {
	subtask, parallelism int
	checkpointing        bool
	restored             []byte
}

func (w writerContext) Subtask() int        { return w.subtask }
func (w writerContext) Parallelism() int    { return w.parallelism }
func (w writerContext) Checkpointing() bool { return w.checkpointing }
func (w writerContext) Restored() []byte    { return w.restored }

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
	run       *jobRun // nil without checkpoints
	pre       sink.PreCommitter
	stw       sink.StatefulWriter
	committer sink.Committer
	pending   []pendingCommit
}

func (s *sinkOp[T]) Collect(r runtime.Record[T]) (err error) {
	defer runtime.Recover(&err, s.name, s.subtask, s.par)
	if err := s.w.Write(s.ctx, r.Value); err != nil {
		if errors.Is(err, context.Canceled) {
			return err
		}
		return s.wrap(err)
	}
	return nil
}

func (s *sinkOp[T]) Watermark(int64) error { return nil }

// End pre-commits the output that follows the last checkpoint. It is
// published when every task of the job has ended (see finish), not now:
// should another task fail first, the job restores the last checkpoint and
// replays this output.
func (s *sinkOp[T]) End() error {
	if s.run != nil && s.pre != nil {
		c, err := s.pre.PreCommit(s.ctx, 0)
		if err != nil {
			return s.wrap(err)
		}
		var all [][]byte
		for _, p := range s.pending {
			all = append(all, p.Committables...)
		}
		fc := &finalCommit{uid: s.name, subtask: s.subtask, parallelism: s.par, committer: s.committer, committables: append(all, c...)}
		if s.stw != nil {
			if fc.writer, err = s.stw.SnapshotState(0); err != nil {
				return s.wrap(err)
			}
		}
		s.run.addFinalCommit(fc)
		s.pending = nil
		return nil
	}
	return s.wrap(s.w.Flush(s.ctx))
}

func (s *sinkOp[T]) snapshotState(ctx context.Context, id int64, snap *opSnapshot) error {
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
	snap.state = b
	return err
}

// notifyCheckpoint publishes what was pre-committed up to a completed
// checkpoint. After an abort the pending output waits for the next
// completed checkpoint, which covers it too.
func (s *sinkOp[T]) notifyCheckpoint(ctx context.Context, c runtime.Command) error {
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
	if s.committer == nil {
		return nil
	}
	var all [][]byte
	for _, p := range pending {
		all = append(all, p.Committables...)
	}
	if len(all) == 0 {
		return nil
	}
	return s.committer.Commit(ctx, all)
}
