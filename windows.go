package weir

import (
	"context"
	"fmt"
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
	lateness time.Duration
	lateTag  *plan.Tag
	early    time.Duration
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
	return aggregate(ws, agg, func(em *emitter[R]) emitFunc[K, A] {
		return func(_ K, _ window.Window, acc A) error {
			em.Emit(agg.Result(acc))
			return nil
		}
	}, opts)
}

// AggregateWindow is Aggregate with a window function that sees the key
// and the window (Flink's aggregate with a ProcessWindowFunction).
func AggregateWindow[K comparable, T, A, R, O any](ws WindowedStream[K, T], agg AggregateFunc[T, A, R], fn WindowFunc[K, R, O], opts ...OpOption) Stream[O] {
	return aggregate(ws, agg, func(em *emitter[O]) emitFunc[K, A] {
		return func(k K, w window.Window, acc A) error {
			return fn(k, w, agg.Result(acc), em)
		}
	}, opts)
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

type emitFunc[K comparable, A any] func(k K, w window.Window, acc A) error

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
	if agg.Init == nil || agg.Add == nil || agg.Result == nil {
		env.errs = append(env.errs, fmt.Errorf("weir: Aggregate: AggregateFunc needs Init, Add and Result"))
	}
	if ws.assigner != nil && ws.assigner.Merging() && agg.Merge == nil {
		env.errs = append(env.errs, fmt.Errorf("weir: Aggregate: %s windows merge: set AggregateFunc.Merge", ws.assigner))
	}
	n := newNode[O](env, "window", opts)
	connectKeyed(ws.ks, n)
	dropped := new(atomic.Int64)
	env.lateDrops = append(env.lateDrops, dropped)
	n.Operator = operator[T, O](func(t *plan.Subtask, out runtime.Collector[O], outs plan.Outputs) (runtime.Collector[T], error) {
		wb := windowBase[K, T, O]{
			base:     newKeyedBase(n.UID, ws.ks.hash, t),
			key:      ws.ks.key,
			assigner: ws.assigner,
			procTime: ws.assigner.Time() == window.ProcessingTime,
			lateness: ws.cfg.lateness.Milliseconds(),
			early:    ws.cfg.early.Milliseconds(),
			em:       emitter[O]{out: out},
			clock:    t.Clock,
			dropped:  dropped,
			wm:       runtime.NoTimestamp,
		}
		var err error
		if wb.late, wb.lateEnd, err = lateOutput[T](outs, ws.cfg.lateTag); err != nil {
			return nil, err
		}
		o := op{name: n.Name, subtask: t.Index, par: t.Parallelism}
		var w interface {
			runtime.Collector[T]
			job.Stateful
			runtime.Ticker
			restore(context.Context, job.Restorer) error
		}
		if ws.assigner.Merging() {
			s := &sessionOp[K, T, A, O]{op: o, windowBase: wb, clone: keygroup.Cloner[K](), init: agg.Init, add: agg.Add, merge: agg.Merge,
				accs: codec.For[A](), sessions: map[K]*sessionSet[A]{}, timers: newTimerQueue[K]()}
			s.emit = makeEmit(&s.em)
			w = s
		} else {
			wo := &windowOp[K, T, A, O]{op: o, windowBase: wb, add: agg.Add, open: map[window.Window]bool{}}
			wo.emit = makeEmit(&wo.em)
			if wo.store, err = newPaneStore(env.backend, t, n.UID, &wo.base, agg.Init, ws.cfg.early > 0); err != nil {
				return nil, err
			}
			w = wo
		}
		if t.Restore != nil {
			if err := w.restore(t.Ctx, t.Restore); err != nil {
				return nil, err
			}
		}
		t.AddState(n.UID, w)
		t.OnTick(w)
		return w, nil
	})
	return Stream[O]{env, n}
}

// newPaneStore returns the pane store of a window operator's subtask on
// backend b.
func newPaneStore[K comparable, A any](b stateBackend, t *plan.Subtask, uid string, base *keyedBase[K], init func() A, early bool) (paneStore[K, A], error) {
	if _, heap := b.(heapBackend); heap {
		return timePanes[K, A](newHeapPanes(base, init, keygroup.Cloner[K]()), t.Metrics.StateAccess(b.String())), nil
	}
	if early {
		return nil, fmt.Errorf("EarlyFiring needs the heap state backend: the %s backend keeps no list of changed keys", b)
	}
	kv, err := b.openKV(t, uid)
	if err != nil {
		return nil, err
	}
	return timePanes[K, A](newKVPanes(base, kv, init), t.Metrics.StateAccess(b.String())), nil
}

// DroppedLateRecords returns how many records windows dropped because they
// came after their windows' allowed lateness, over every window operator
// without LateRecordsTo, and how many records interval joins dropped
// because they came at or behind the watermark, since the Env was created
// (restarts included).
func (e *Env) DroppedLateRecords() int64 {
	var n int64
	for _, d := range e.lateDrops {
		n += d.Load()
	}
	return n
}
