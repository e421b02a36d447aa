package weir

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

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

// windowOperator is what the heap and the pebble window operators share
// once built.
type windowOperator interface {
	job.Stateful
	runtime.Ticker
	restore(ctx context.Context, r job.Restorer) error
}

// installWindow restores a window operator's state from the checkpoint the
// job starts from, registers it for checkpoints and for processing time.
func installWindow(t *plan.Subtask, uid string, w windowOperator) error {
	if t.Restore != nil {
		if err := w.restore(t.Ctx, t.Restore); err != nil {
			return err
		}
	}
	t.AddState(uid, w)
	t.OnTick(w)
	return nil
}

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
		late, lateEnd, err := lateOutput[T](outs, ws.cfg.lateTag)
		if err != nil {
			return nil, err
		}
		if env.cfg.backend == "pebble" && !ws.assigner.Merging() {
			return buildKVWindow(env, t, n.Name, ws, agg, makeEmit, out, late, lateEnd, dropped)
		}
		w := &windowOp[K, T, A, O]{
			op:       op{name: n.Name, subtask: t.Index, par: t.Parallelism},
			key:      ws.ks.key,
			clone:    keygroup.Cloner[K](),
			assigner: ws.assigner,
			procTime: ws.assigner.Time() == window.ProcessingTime,
			merging:  ws.assigner.Merging(),
			lateness: ws.cfg.lateness.Milliseconds(),
			early:    ws.cfg.early.Milliseconds(),
			init:     agg.Init, add: agg.Add, merge: agg.Merge,
			em:       emitter[O]{out: out},
			late:     late,
			lateEnd:  lateEnd,
			clock:    t.Clock,
			panes:    map[window.Window]*pane[K, A]{},
			sessions: map[K]*sessionSet[A]{},
			timers:   newTimerQueue[K](),
			wm:       runtime.NoTimestamp,
			dropped:  dropped,
		}
		w.emit = makeEmit(&w.em)
		w.base = newKeyedBase(n.Name, ws.ks.hash, t)
		if err := installWindow(t, n.Name, w); err != nil {
			return nil, err
		}
		return w, nil
	})
	return Stream[O]{env, n}
}

// windowOp keeps one accumulator per key and window and fires windows on
// watermarks (event time) or on the clock (processing time).
//
// Non-merging windows are grouped by window (a pane holds every key's
// accumulator), so that firing a window is one pass over its pane and a
// record costs one map lookup. Session windows are kept per key and fired by
// a timer per session.
type windowOp[K comparable, T, A, O any] struct {
	op
	base     keyedBase[K]
	key      func(T) K
	clone    func(K) K // keys are cloned when first stored (keygroup.Cloner)
	assigner window.Assigner
	procTime bool
	merging  bool
	lateness int64
	early    int64
	init     func() A
	add      func(A, T) A
	merge    func(A, A) A
	emit     emitFunc[K, A]
	em       emitter[O]
	late     *emitter[T]
	lateEnd  controlSink
	clock    *runtime.Clock
	dropped  *atomic.Int64

	wm        int64
	buf       []window.Window
	panes     map[window.Window]*pane[K, A]
	last      *pane[K, A] // the pane of the previous record: most records hit it
	sessions  map[K]*sessionSet[A]
	timers    *timerQueue[K] // session firing and cleanup times
	nextEarly int64
}

type pane[K comparable, A any] struct {
	w        window.Window
	index    map[K]int32
	keys     []K
	accs     []A
	dirty    []bool
	anyDirty bool
	fired    bool
}

type sessionSet[A any] struct {
	wins  []window.Window
	accs  []A
	fired []bool
	dirty []bool
}

func (w *windowOp[K, T, A, O]) Collect(r runtime.Record[T]) (err error) {
	defer runtime.Recover(&err, w.name, w.subtask, w.par)
	ts := r.Time
	if w.procTime {
		ts = w.clock.Now()
	} else if ts == runtime.NoTimestamp {
		return w.wrap(fmt.Errorf("record has no event time: add Watermarks before KeyBy, or use window.OnProcessingTime"))
	}
	k := w.key(r.Value)
	if w.merging {
		return w.addSession(k, ts, r.Value)
	}
	w.buf = w.assigner.Assign(ts, w.buf[:0])
	placed := false
	for _, win := range w.buf {
		if !w.procTime && win.MaxTimestamp()+w.lateness <= w.wm {
			continue // this window is closed for good
		}
		placed = true
		p := w.last
		if p == nil || p.w != win {
			if p = w.panes[win]; p == nil {
				p = &pane[K, A]{w: win, index: map[K]int32{}}
				w.panes[win] = p
				if w.procTime {
					w.clock.WakeAt(win.MaxTimestamp())
				}
			}
			w.last = p
		}
		i, ok := p.index[k]
		if !ok {
			k = w.clone(k)
			i = int32(len(p.keys))
			p.index[k] = i
			p.keys = append(p.keys, k)
			p.accs = append(p.accs, w.init())
			p.dirty = append(p.dirty, false)
		}
		p.accs[i] = w.add(p.accs[i], r.Value)
		if p.fired {
			// A late record within the allowed lateness: fire again.
			if err := w.fire(k, win, p.accs[i]); err != nil {
				return err
			}
		} else if w.early > 0 {
			p.dirty[i], p.anyDirty = true, true
			w.scheduleEarly()
		}
	}
	if !placed {
		return w.lateRecord(r)
	}
	return nil
}

func (w *windowOp[K, T, A, O]) lateRecord(r runtime.Record[T]) error {
	return lateRecord(w.late, w.dropped, r)
}

// lateRecord sends a record that came after its windows closed to the late
// side output, or counts it as dropped when there is none.
func lateRecord[T any](late *emitter[T], dropped *atomic.Int64, r runtime.Record[T]) error {
	if late == nil {
		dropped.Add(1)
		return nil
	}
	late.time = r.Time
	late.Emit(r.Value)
	return late.take()
}

func (w *windowOp[K, T, A, O]) addSession(k K, ts int64, v T) error {
	w.buf = w.assigner.Assign(ts, w.buf[:0])
	win := w.buf[0]
	if !w.procTime && win.MaxTimestamp()+w.lateness <= w.wm {
		return w.lateRecord(runtime.Record[T]{Value: v, Time: ts})
	}
	s := w.sessions[k]
	if s == nil {
		k = w.clone(k)
		s = &sessionSet[A]{}
		w.sessions[k] = s
	}
	acc := w.add(w.init(), v)
	fired := false
	// Merge every session the new one touches into it.
	for i := 0; i < len(s.wins); {
		if !s.wins[i].Intersects(win) {
			i++
			continue
		}
		win = win.Cover(s.wins[i])
		acc = w.merge(s.accs[i], acc)
		fired = fired || s.fired[i]
		last := len(s.wins) - 1
		s.wins[i], s.accs[i], s.fired[i], s.dirty[i] = s.wins[last], s.accs[last], s.fired[last], s.dirty[last]
		s.wins, s.accs, s.fired, s.dirty = s.wins[:last], s.accs[:last], s.fired[:last], s.dirty[:last]
	}
	s.wins = append(s.wins, win)
	s.accs = append(s.accs, acc)
	s.fired = append(s.fired, false)
	s.dirty = append(s.dirty, w.early > 0)
	if w.early > 0 {
		w.scheduleEarly()
	}
	w.timers.add(win.MaxTimestamp(), k)
	if w.procTime {
		w.clock.WakeAt(win.MaxTimestamp())
	}
	if fired && (w.procTime || win.MaxTimestamp() <= w.wm) {
		// The record extended a session that already fired and is still
		// within its lateness: fire the merged result now.
		s.fired[len(s.fired)-1] = true
		w.timers.add(win.MaxTimestamp()+w.lateness, k)
		return w.fire(k, win, acc)
	}
	return nil
}

func (w *windowOp[K, T, A, O]) fire(k K, win window.Window, acc A) (err error) {
	w.em.time = win.MaxTimestamp()
	if err := w.emit(k, win, acc); err != nil {
		return w.wrap(err)
	}
	return w.em.take()
}

func (w *windowOp[K, T, A, O]) scheduleEarly() {
	if w.nextEarly == 0 {
		w.nextEarly = w.clock.Now() + w.early
		w.clock.WakeAt(w.nextEarly)
	}
}

// advance fires and cleans up everything due at time t: the watermark in
// event time, the clock in processing time.
func (w *windowOp[K, T, A, O]) advance(t int64) (err error) {
	defer runtime.Recover(&err, w.name, w.subtask, w.par)
	if w.merging {
		return w.advanceSessions(t)
	}
	var due []*pane[K, A]
	for _, p := range w.panes {
		if (!p.fired && p.w.MaxTimestamp() <= t) || p.w.MaxTimestamp()+w.lateness <= t {
			due = append(due, p)
		}
	}
	slices.SortFunc(due, func(a, b *pane[K, A]) int {
		if a.w.End != b.w.End {
			return int(a.w.End - b.w.End)
		}
		return int(a.w.Start - b.w.Start)
	})
	for _, p := range due {
		if !p.fired {
			p.fired = true
			for i, k := range p.keys {
				if err := w.fire(k, p.w, p.accs[i]); err != nil {
					return err
				}
			}
		}
		if w.procTime || p.w.MaxTimestamp()+w.lateness <= t {
			delete(w.panes, p.w)
			if w.last == p {
				w.last = nil
			}
		}
	}
	return nil
}

func (w *windowOp[K, T, A, O]) advanceSessions(t int64) error {
	for {
		tm, ok := w.timers.popDue(t)
		if !ok {
			return nil
		}
		s := w.sessions[tm.key]
		if s == nil {
			continue
		}
		for i := 0; i < len(s.wins); i++ {
			win := s.wins[i]
			if !s.fired[i] && win.MaxTimestamp() == tm.ts {
				s.fired[i] = true
				if err := w.fire(tm.key, win, s.accs[i]); err != nil {
					return err
				}
				if w.lateness > 0 && !w.procTime {
					w.timers.add(win.MaxTimestamp()+w.lateness, tm.key)
				}
			}
			if s.fired[i] && (w.procTime || win.MaxTimestamp()+w.lateness <= t) {
				last := len(s.wins) - 1
				s.wins[i], s.accs[i], s.fired[i], s.dirty[i] = s.wins[last], s.accs[last], s.fired[last], s.dirty[last]
				s.wins, s.accs, s.fired, s.dirty = s.wins[:last], s.accs[:last], s.fired[:last], s.dirty[:last]
				i--
			}
		}
		if len(s.wins) == 0 {
			delete(w.sessions, tm.key)
		}
	}
}

func (w *windowOp[K, T, A, O]) fireEarly() error {
	for _, p := range w.sortedPanes() {
		if p.fired || !p.anyDirty {
			continue
		}
		p.anyDirty = false
		for i, k := range p.keys {
			if p.dirty[i] {
				p.dirty[i] = false
				if err := w.fire(k, p.w, p.accs[i]); err != nil {
					return err
				}
			}
		}
	}
	for k, s := range w.sessions {
		for i := range s.wins {
			if s.dirty[i] && !s.fired[i] {
				s.dirty[i] = false
				if err := w.fire(k, s.wins[i], s.accs[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (w *windowOp[K, T, A, O]) sortedPanes() []*pane[K, A] {
	ps := make([]*pane[K, A], 0, len(w.panes))
	for _, p := range w.panes {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b *pane[K, A]) int { return int(a.w.End - b.w.End) })
	return ps
}

// Tick fires processing-time windows and early results.
func (w *windowOp[K, T, A, O]) Tick(now int64) (next int64, err error) {
	next = runtime.NoWakeup
	if w.procTime {
		if err := w.advance(now); err != nil {
			return next, err
		}
		for _, p := range w.panes {
			next = min(next, p.w.MaxTimestamp())
		}
		next = min(next, w.timers.next())
	}
	if w.nextEarly != 0 && now >= w.nextEarly {
		w.nextEarly = 0
		if err := w.fireEarly(); err != nil {
			return next, err
		}
	}
	if w.nextEarly != 0 {
		next = min(next, w.nextEarly)
	}
	return next, nil
}

func (w *windowOp[K, T, A, O]) Watermark(wm int64) error {
	return windowWatermark(wm, &w.wm, w.procTime, w.advance, w.lateEnd, w.em.out)
}

func (w *windowOp[K, T, A, O]) End() error {
	return windowEnd(w.procTime, w.lateness, w.advance, w.lateEnd, w.em.out)
}

// windowWatermark moves a window operator's event time to wm, firing what
// is due, and forwards wm to its outputs.
func windowWatermark(wm int64, current *int64, procTime bool, advance func(int64) error, lateEnd, out controlSink) error {
	if wm != runtime.Idle && !procTime && wm > *current {
		*current = wm
		if err := advance(wm); err != nil {
			return err
		}
	}
	if lateEnd != nil {
		if err := lateEnd.Watermark(wm); err != nil {
			return err
		}
	}
	return out.Watermark(wm)
}

// windowEnd ends a window operator's input. Processing-time windows fire
// what is open, as Flink does at the end of a bounded input; event-time
// windows fired on the final watermark already.
func windowEnd(procTime bool, lateness int64, advance func(int64) error, lateEnd, out controlSink) error {
	if procTime {
		if err := advance(runtime.EndOfTime - lateness - 1); err != nil {
			return err
		}
	}
	if lateEnd != nil {
		if err := lateEnd.End(); err != nil {
			return err
		}
	}
	return out.End()
}

// DroppedLateRecords returns how many records windows dropped because they
// came after their windows' allowed lateness, over every window operator
// without LateRecordsTo, since the Env was created (restarts included).
func (e *Env) DroppedLateRecords() int64 {
	var n int64
	for _, d := range e.lateDrops {
		n += d.Load()
	}
	return n
}
