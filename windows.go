package weir

import (
	"context"
	"fmt"
	"reflect"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/window"
)

// WindowedStream is a KeyedStream cut into windows; aggregate it with
// Aggregate, AggregateWindow or Reduce.
type WindowedStream[K comparable, T any] struct {
	ks       KeyedStream[K, T]
	assigner window.Assigner
	cfg      windowConfig
}

type windowConfig struct {
	lateness  time.Duration
	lateTag   *plan.Tag
	early     time.Duration
	preAgg    int
	preAggSet bool
}

// WindowOption configures a window.
type WindowOption interface{ applyWindow(*windowConfig) }

type windowOptionFunc func(*windowConfig)

func (f windowOptionFunc) applyWindow(c *windowConfig) { f(c) }

// AllowedLateness keeps an event-time window's state for d after it fired:
// a late record within d updates the window and fires it again with the
// updated result. The default is 0: a window's state is dropped when it
// fires.
func AllowedLateness(d time.Duration) WindowOption {
	return windowOptionFunc(func(c *windowConfig) { c.lateness = d })
}

// LateRecordsTo sends records that arrive after their windows' allowed
// lateness to the side output tag (read it with SideOutput on the
// aggregated stream). By default they are dropped and counted
// (Env.DroppedLateRecords).
func LateRecordsTo[T any](tag OutputTag[T]) WindowOption {
	return windowOptionFunc(func(c *windowConfig) { c.lateTag = tag.id })
}

// EarlyFiring emits the running result of every window that changed, every
// interval of processing time, before the window closes: for live
// dashboards. A window's final result still follows when it closes, so
// consumers must treat results as updates of (key, window).
func EarlyFiring(interval time.Duration) WindowOption {
	return windowOptionFunc(func(c *windowConfig) { c.early = interval })
}

// Window cuts a keyed stream into windows that assigner defines.
func Window[K comparable, T any](ks KeyedStream[K, T], assigner window.Assigner, opts ...WindowOption) WindowedStream[K, T] {
	ws := WindowedStream[K, T]{ks: ks, assigner: assigner}
	for _, o := range opts {
		o.applyWindow(&ws.cfg)
	}
	env := ks.s.env
	if err := window.Validate(assigner); err != nil {
		env.errs = append(env.errs, err)
	}
	if ws.cfg.lateness < 0 || ws.cfg.early < 0 {
		env.errs = append(env.errs, fmt.Errorf("weir: Window: AllowedLateness %v and EarlyFiring %v must not be negative", ws.cfg.lateness, ws.cfg.early))
	}
	if ws.cfg.early > 0 && ws.cfg.early < time.Millisecond {
		env.errs = append(env.errs, fmt.Errorf("weir: Window: EarlyFiring %v is below 1ms: use an interval such as 1s", ws.cfg.early))
	}
	return ws
}

// AggregateFunc aggregates records incrementally: each window keeps one
// accumulator per key, so a window's memory does not grow with its records.
type AggregateFunc[T, A, R any] struct {
	Init   func() A           // a new, empty accumulator
	Add    func(acc A, v T) A // fold one record in
	Result func(acc A) R      // the window's result
	Merge  func(a, b A) A     // combine two accumulators; needed by session windows
}

// WindowFunc turns a window's aggregated result into output records,
// knowing the key and the window.
type WindowFunc[K comparable, R, O any] func(key K, w window.Window, result R, out Emitter[O]) error

// Aggregate emits agg's result for every key and window when the window
// fires. The records carry the window's last millisecond as their time.
func Aggregate[K comparable, T, A, R any](ws WindowedStream[K, T], agg AggregateFunc[T, A, R], opts ...OpOption) Stream[R] {
	requireResult(ws, agg.Result == nil)
	return aggregate(ws, agg, func(em *emitter[R]) emitFunc[K, A] {
		return func(_ K, _ window.Window, acc *A) error {
			em.Emit(agg.Result(*acc))
			return nil
		}
	}, opts)
}

// AggregateWindow is Aggregate with a window function that sees the key
// and the window (Flink's aggregate with a ProcessWindowFunction).
func AggregateWindow[K comparable, T, A, R, O any](ws WindowedStream[K, T], agg AggregateFunc[T, A, R], fn WindowFunc[K, R, O], opts ...OpOption) Stream[O] {
	requireResult(ws, agg.Result == nil)
	return aggregate(ws, agg, func(em *emitter[O]) emitFunc[K, A] {
		return func(k K, w window.Window, acc *A) error {
			return fn(k, w, agg.Result(*acc), em)
		}
	}, opts)
}

// AccWindowFunc is the window function of AggregateWindowAcc: it turns a
// key's accumulator into output records when the window fires, and what
// it leaves in *acc is what the window keeps for its next firing.
type AccWindowFunc[K comparable, A, O any] func(key K, w window.Window, acc *A, out Emitter[O]) error

// AggregateWindowAcc is AggregateWindow whose window function sees the
// accumulator itself instead of agg.Result of it, and may change it: a
// window that fires more than once (EarlyFiring, and late records within
// AllowedLateness) keeps what the function left, so the function can
// remember there what it reported and emit only what changed since
// (Flink keeps such a thing in a ProcessWindowFunction's per-window
// state). agg.Result is not used.
//
// It lets the accumulator be a plain value where AggregateWindow would
// need a pointer to remember anything: no allocation per key and window,
// and nothing for the garbage collector to trace in a window's state.
// The accumulator is a copy once the function returns: keep no pointer
// to it. agg.Merge combines what the function remembered too: a session
// window that absorbs another one that fired keeps what both reported, and
// a pre-aggregated partial has reported nothing.
func AggregateWindowAcc[K comparable, T, A, R, O any](ws WindowedStream[K, T], agg AggregateFunc[T, A, R], fn AccWindowFunc[K, A, O], opts ...OpOption) Stream[O] {
	return aggregate(ws, agg, func(em *emitter[O]) emitFunc[K, A] {
		return func(k K, w window.Window, acc *A) error {
			return fn(k, w, acc, em)
		}
	}, opts)
}

// requireResult records that an aggregate needs AggregateFunc.Result.
func requireResult[K comparable, T any](ws WindowedStream[K, T], missing bool) {
	if missing {
		env := ws.ks.s.env
		env.errs = append(env.errs, fmt.Errorf("weir: Aggregate: AggregateFunc needs Result"))
	}
}

// Reduce folds the records of every key and window with fn and emits the
// result when the window fires.
func Reduce[K comparable, T any](ws WindowedStream[K, T], fn func(a, b T) T, opts ...OpOption) Stream[T] {
	type acc struct {
		v   T
		set bool
	}
	agg := AggregateFunc[T, acc, T]{
		Init: func() acc { return acc{} },
		Add: func(a acc, v T) acc {
			if !a.set {
				return acc{v, true}
			}
			return acc{fn(a.v, v), true}
		},
		Result: func(a acc) T { return a.v },
		Merge: func(a, b acc) acc {
			switch {
			case !a.set:
				return b
			case !b.set:
				return a
			}
			return acc{fn(a.v, b.v), true}
		},
	}
	return Aggregate(ws, agg, opts...)
}

// emitFunc emits the result of a key's accumulator when its window fires;
// what it leaves in *acc is kept for the window's next firing.
type emitFunc[K comparable, A any] func(k K, w window.Window, acc *A) error

// lateOutput finds the side output of late records tagged tag in outs, if
// the job reads it.
func lateOutput[T any](outs plan.Outputs, tag *plan.Tag) (*emitter[T], controlSink, error) {
	if tag == nil {
		return nil, nil, nil
	}
	side, ok := outs.Side(tag)
	if !ok {
		return nil, nil, nil
	}
	late, err := sideEmitter[T](side)
	if err != nil {
		return nil, nil, fmt.Errorf("the late-records tag: %w", err)
	}
	return late, side.Out, nil
}

func aggregate[K comparable, T, A, O any, R any](ws WindowedStream[K, T], agg AggregateFunc[T, A, R], makeEmit func(*emitter[O]) emitFunc[K, A], opts []OpOption) Stream[O] {
	env := ws.ks.s.env
	if agg.Init == nil || agg.Add == nil {
		env.errs = append(env.errs, fmt.Errorf("weir: Aggregate: AggregateFunc needs Init and Add"))
	}
	if ws.assigner != nil && ws.assigner.Merging() && agg.Merge == nil {
		env.errs = append(env.errs, fmt.Errorf("weir: Aggregate: %s windows merge: set AggregateFunc.Merge", ws.assigner))
	}
	if ws.cfg.preAgg < 0 {
		env.errs = append(env.errs, fmt.Errorf("weir: Window: PreAggregate %d must not be negative: use 0 to turn pre-aggregation off", ws.cfg.preAgg))
	}
	n := newNode[O](env, "window", opts)
	dropped := new(atomic.Int64)
	env.lateDrops = append(env.lateDrops, dropped)
	if ws.preAggregates(agg.Merge != nil) {
		// Upstream subtasks fold records into partials (window_preagg.go).
		plan.Connect(ws.ks.s.n, n, runtime.Hash, preAggChannel[K, T, A]{node: n, key: ws.ks.key, hash: ws.ks.hash, clone: keygroup.Cloner[K](),
			assigner: ws.assigner, init: agg.Init, add: agg.Add, limit: ws.preAggLimit()})
		n.In = records[partial[K, T, A]]{}
		// The signature of the records the operator reads, as without
		// pre-aggregation: its default UID, and so its state, stay.
		n.Signature += " in=" + reflect.TypeFor[T]().String()
		// The window operator reads raw records as records, with these
		// (preAggWindowOp reads the partials).
		key := func(p partial[K, T, A]) K { return p.Key }
		add := func(a A, p partial[K, T, A]) A { return agg.Add(a, p.Value) }
		n.Operator = operator[partial[K, T, A], O](func(t *plan.Subtask, out runtime.Collector[O], outs plan.Outputs) (runtime.Collector[partial[K, T, A]], error) {
			late, lateEnd, err := lateOutput[T](outs, ws.cfg.lateTag)
			if err != nil {
				return nil, err
			}
			wo, err := newWindowOp(env, ws, n, t, out, agg.Init, key, add, dropped, makeEmit)
			if err != nil {
				return nil, err
			}
			wo.lateEnd = lateEnd
			wo.onLate = func(r *runtime.Record[partial[K, T, A]]) error {
				if late == nil {
					dropped.Add(1)
					return nil
				}
				late.time = r.Time
				late.Emit(r.Value.Value)
				return late.take()
			}
			w := &preAggWindowOp[K, T, A, O]{windowOp: wo, merge: agg.Merge, dropped: dropped}
			return w, startWindowOp(t, n.UID, w)
		})
		return Stream[O]{env, n}
	}
	connectKeyed(ws.ks, n)
	n.Operator = operator[T, O](func(t *plan.Subtask, out runtime.Collector[O], outs plan.Outputs) (runtime.Collector[T], error) {
		late, lateEnd, err := lateOutput[T](outs, ws.cfg.lateTag)
		if err != nil {
			return nil, err
		}
		var w windowOperator[T]
		if ws.assigner.Merging() {
			wb := newWindowBase(ws, n, t, ws.ks.key, out, dropped)
			wb.late, wb.lateEnd = late, lateEnd
			s := &sessionOp[K, T, A, O]{op: opOf(t, n.Name), windowBase: wb,
				clone: keygroup.Cloner[K](), init: agg.Init, add: agg.Add, merge: agg.Merge,
				accs: codec.For[A](), sessions: map[K]*sessionSet[A]{}, timers: newTimerQueue[K]()}
			s.emit = makeEmit(&s.em)
			w = s
		} else {
			wo, err := newWindowOp(env, ws, n, t, out, agg.Init, ws.ks.key, agg.Add, dropped, makeEmit)
			if err != nil {
				return nil, err
			}
			wo.late, wo.lateEnd = late, lateEnd
			wo.onLate = wo.lateRecord
			w = wo
		}
		return w, startWindowOp(t, n.UID, w)
	})
	return Stream[O]{env, n}
}

// windowOperator is what a window operator's subtask is to its task.
type windowOperator[T any] interface {
	runtime.Collector[T]
	job.Stateful
	runtime.Ticker
	restore(context.Context, job.Restorer) error
}

// newWindowBase returns the base of a window operator of ws in subtask t,
// reading In keyed by key.
func newWindowBase[K comparable, T, In, O any](ws WindowedStream[K, T], n *plan.Node, t *plan.Subtask, key func(In) K, out runtime.Collector[O], dropped *atomic.Int64) windowBase[K, In, O] {
	return windowBase[K, In, O]{
		base:     newKeyedBase(n.UID, ws.ks.hash, t),
		key:      key,
		assigner: ws.assigner,
		procTime: ws.assigner.Time() == window.ProcessingTime,
		lateness: ws.cfg.lateness.Milliseconds(),
		early:    ws.cfg.early.Milliseconds(),
		em:       emitter[O]{out: out},
		clock:    t.Clock,
		dropped:  dropped,
		wm:       runtime.NoTimestamp,
	}
}

// newWindowOp returns the operator of windows that do not merge, reading
// In: records, or partials of a pre-aggregated window.
func newWindowOp[K comparable, T, In, A, O any](env *Env, ws WindowedStream[K, T], n *plan.Node, t *plan.Subtask, out runtime.Collector[O],
	init func() A, key func(In) K, add func(A, In) A, dropped *atomic.Int64, makeEmit func(*emitter[O]) emitFunc[K, A]) (*windowOp[K, In, A, O], error) {
	wo := &windowOp[K, In, A, O]{op: opOf(t, n.Name),
		windowBase: newWindowBase(ws, n, t, key, out, dropped), init: init, add: add, open: map[window.Window]bool{}}
	wo.emit = makeEmit(&wo.em)
	var err error
	if wo.store, err = newPaneStore[K, A](env.backend, t, n.UID, &wo.base, ws.cfg.early > 0); err != nil {
		return nil, err
	}
	return wo, nil
}

// startWindowOp restores w and registers it with its subtask.
func startWindowOp[T any](t *plan.Subtask, uid string, w windowOperator[T]) error {
	if t.Restore != nil {
		if err := w.restore(t.Ctx, t.Restore); err != nil {
			return err
		}
	}
	t.AddState(uid, w)
	t.OnTick(w)
	return nil
}

// newPaneStore returns the pane store of a window operator's subtask on
// backend b.
func newPaneStore[K comparable, A any](b stateBackend, t *plan.Subtask, uid string, base *keyedBase[K], early bool) (paneStore[K, A], error) {
	if _, heap := b.(heapBackend); heap {
		return timePanes[K, A](newHeapPanes[K, A](base, keygroup.Cloner[K]()), t.Metrics.StateAccess(b.String())), nil
	}
	if early {
		return nil, fmt.Errorf("EarlyFiring needs the heap state backend: the %s backend keeps no list of changed keys", b)
	}
	kv, err := b.openKV(t, uid)
	if err != nil {
		return nil, err
	}
	return timePanes[K, A](newKVPanes[K, A](base, kv), t.Metrics.StateAccess(b.String())), nil
}

// DroppedLateRecords returns how many records windows dropped because they
// came after their windows' allowed lateness, over every window operator
// without LateRecordsTo (and the records of pre-aggregated partials that
// came after their windows closed: see PreAggregate), and how many records interval joins dropped
// because they came at or behind the watermark, since the Env was created
// (restarts included).
func (e *Env) DroppedLateRecords() int64 {
	var n int64
	for _, d := range e.lateDrops {
		n += d.Load()
	}
	return n
}
