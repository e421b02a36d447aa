package weir

import (
	"context"
	"fmt"
	"slices"
	"sync/atomic"

	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/window"
)

// windowOp is the window operator for windows that do not merge (tumbling,
// sliding): one accumulator per key and window, kept in a paneStore on the
// heap or in pebble, fired on watermarks (event time) or on the clock
// (processing time). Its methods run on the subtask's goroutine.
type windowOp[K comparable, T, A, O any] struct {
	op
	windowBase[K, T, O]
	init  func() A
	add   func(A, T) A
	emit  emitFunc[K, A]
	store paneStore[K, A]
	// onLate takes a record that came after its windows closed.
	onLate func(*runtime.Record[T]) error

	open map[window.Window]bool // the open windows: fired or not
	// The window of the previous record, whether it fired, and whether
	// that still holds (open changed since, if not): records come in runs
	// of one window, pre-aggregated partials above all.
	lastWin   window.Window
	lastFired bool
	lastValid bool
	buf       []window.Window
	nextEarly int64
	firing    A // the accumulator the window function sees (fireAcc)

	_ runtime.Pad // apart from the next subtask's
}

// windowBase is what the window operators share: their keys, time, late
// records and output.
type windowBase[K comparable, T, O any] struct {
	base     keyedBase[K]
	key      func(T) K
	assigner window.Assigner
	procTime bool
	lateness int64
	early    int64
	em       emitter[O]
	late     *emitter[T]
	lateEnd  controlSink
	clock    *runtime.Clock
	dropped  *atomic.Int64
	wm       int64
}

// eventTime returns the time a record belongs to a window by.
func (w *windowBase[K, T, O]) eventTime(r *runtime.Record[T]) (int64, error) {
	if w.procTime {
		return w.clock.Now(), nil
	}
	if r.Time == runtime.NoTimestamp {
		return 0, fmt.Errorf("record has no event time: add Watermarks before KeyBy, or use window.OnProcessingTime")
	}
	return r.Time, nil
}

// closed reports whether win is past its allowed lateness for good.
func (w *windowBase[K, T, O]) closed(win window.Window) bool {
	return !w.procTime && win.MaxTimestamp()+w.lateness <= w.wm
}

// lateRecord sends a record that came after its windows closed to the
// late side output, or counts it as dropped when there is none.
func (w *windowBase[K, T, O]) lateRecord(r *runtime.Record[T]) error {
	if w.late == nil {
		w.dropped.Add(1)
		return nil
	}
	w.late.time = r.Time
	w.late.Emit(r.Value)
	return w.late.take()
}

// watermark moves the operator's event time to wm, firing what is due
// (advance), and forwards wm to its outputs.
func (w *windowBase[K, T, O]) watermark(wm int64, advance func(int64) error) error {
	if wm != runtime.Idle && !w.procTime && wm > w.wm {
		w.wm = wm
		if err := advance(wm); err != nil {
			return err
		}
	}
	if w.lateEnd != nil {
		if err := w.lateEnd.Watermark(wm); err != nil {
			return err
		}
	}
	return w.em.out.Watermark(wm)
}

// end ends the operator's input. Processing-time windows fire what is
// open, as Flink does at the end of a bounded input; event-time windows
// fired on the final watermark already.
func (w *windowBase[K, T, O]) end(advance func(int64) error) error {
	if w.procTime {
		if err := advance(runtime.EndOfTime - w.lateness - 1); err != nil {
			return err
		}
	}
	if w.lateEnd != nil {
		if err := w.lateEnd.End(); err != nil {
			return err
		}
	}
	return w.em.out.End()
}

func (w *windowOp[K, T, A, O]) Collect(r *runtime.Record[T]) error {
	prev := w.enter()
	err := w.collectEntered(r)
	w.leave(prev)
	return err
}

// collectEntered is Collect, run with the operator entered (see op.enter).
func (w *windowOp[K, T, A, O]) collectEntered(r *runtime.Record[T]) (err error) {
	ts, err := w.eventTime(r)
	if err != nil {
		return w.wrap(err)
	}
	k := w.key(r.Value)
	w.buf = w.assigner.Assign(ts, w.buf[:0])
	placed := false
	for _, win := range w.buf {
		if w.closed(win) {
			continue
		}
		placed = true
		fired := w.openWindow(win)
		acc, found, err := w.store.get(win, k, false)
		switch {
		case err != nil:
			return w.wrap(err)
		case found:
			acc = w.add(acc, r.Value)
		default:
			acc = w.add(w.init(), r.Value)
		}
		if err := w.put(k, win, acc, fired); err != nil {
			return err
		}
	}
	if !placed {
		return w.onLate(r)
	}
	return nil
}

// openWindow returns whether win, which is not closed, fired already, and
// opens it if it was not open.
func (w *windowOp[K, T, A, O]) openWindow(win window.Window) bool {
	if w.lastValid && w.lastWin == win {
		return w.lastFired
	}
	fired, known := w.open[win]
	if !known {
		w.open[win] = false
		if w.procTime {
			w.clock.WakeAt(win.MaxTimestamp())
		}
	}
	w.lastWin, w.lastFired, w.lastValid = win, fired, true
	return fired
}

// put stores acc, the new accumulator of k in win, as the entry the
// store's get returned last; fired is what openWindow said of win.
func (w *windowOp[K, T, A, O]) put(k K, win window.Window, acc A, fired bool) error {
	if fired {
		// A late record within the allowed lateness fires the window
		// again; the window function may update the accumulator (what
		// it reported so far), so it is stored after the firing.
		var err error
		if acc, err = w.fireAcc(k, win, acc); err != nil {
			return err
		}
	}
	if err := w.store.put(acc, fired, !fired && w.early > 0); err != nil {
		return w.wrap(err)
	}
	if !fired && w.early > 0 {
		w.scheduleEarly()
	}
	return nil
}

// fireAcc emits the result of k's accumulator acc in win, and returns
// acc as the window function left it.
func (w *windowOp[K, T, A, O]) fireAcc(k K, win window.Window, acc A) (A, error) {
	// The function sees the accumulator through a field of the operator:
	// the address of a local would move every accumulator to the heap.
	w.firing = acc
	w.em.time = win.MaxTimestamp()
	if err := w.emit(k, win, &w.firing); err != nil {
		return acc, w.wrap(err)
	}
	acc = w.firing
	var zero A
	w.firing = zero // hold nothing the window has dropped
	return acc, w.em.take()
}

func (w *windowOp[K, T, A, O]) scheduleEarly() {
	if w.nextEarly == 0 {
		w.nextEarly = w.clock.Now() + w.early
		w.clock.WakeAt(w.nextEarly)
	}
}

// advance fires the windows due at time t — the watermark in event time,
// the clock in processing time — in the order of their ends, and drops
// those past their lateness.
func (w *windowOp[K, T, A, O]) advance(t int64) error {
	prev := w.enter()
	err := w.advanceEntered(t)
	w.leave(prev)
	return err
}

// advanceEntered is advance, run with the operator entered (see op.enter).
func (w *windowOp[K, T, A, O]) advanceEntered(t int64) (err error) {
	w.lastValid = false // windows fire and close
	var due []window.Window
	for win, fired := range w.open {
		if (!fired && win.MaxTimestamp() <= t) || win.MaxTimestamp()+w.lateness <= t {
			due = append(due, win)
		}
	}
	slices.SortFunc(due, func(a, b window.Window) int {
		if a.End != b.End {
			return int(a.End - b.End)
		}
		return int(a.Start - b.Start)
	})
	for _, win := range due {
		drop := w.procTime || win.MaxTimestamp()+w.lateness <= t
		var emit func(K, A) (A, error)
		if !w.open[win] {
			emit = func(k K, acc A) (A, error) { return w.fireAcc(k, win, acc) }
		}
		if err := w.store.fire(win, emit, drop); err != nil {
			return w.wrap(err)
		}
		if drop {
			delete(w.open, win)
		} else {
			w.open[win] = true
		}
	}
	return nil
}

// fireEarly emits the running result of every key whose result changed
// since the last time, in the order of the windows' ends.
func (w *windowOp[K, T, A, O]) fireEarly() error {
	var wins []window.Window
	for win, fired := range w.open {
		if !fired {
			wins = append(wins, win)
		}
	}
	slices.SortFunc(wins, func(a, b window.Window) int { return int(a.End - b.End) })
	for _, win := range wins {
		if err := w.store.fireDirty(win, func(k K, acc A) (A, error) { return w.fireAcc(k, win, acc) }); err != nil {
			return err
		}
	}
	return nil
}

// Tick fires processing-time windows and early results.
func (w *windowOp[K, T, A, O]) Tick(now int64) (next int64, err error) {
	next = runtime.NoWakeup
	if w.procTime {
		if err := w.advance(now); err != nil {
			return next, err
		}
		for win := range w.open {
			next = min(next, win.MaxTimestamp())
		}
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

func (w *windowOp[K, T, A, O]) Watermark(wm int64) error { return w.watermark(wm, w.advance) }

func (w *windowOp[K, T, A, O]) End() error { return w.end(w.advance) }

// SnapshotState implements job.Stateful: every pane entry, and the
// watermark as operator state.
func (w *windowOp[K, T, A, O]) SnapshotState(_ context.Context, _ int64, s *job.OperatorSnapshot) error {
	w.base.begin(s)
	if err := w.store.snapshot(s, w.open); err != nil {
		return w.wrap(err)
	}
	var err error
	s.State, err = encodeState(w.wm)
	return err
}

func (w *windowOp[K, T, A, O]) NotifyCheckpoint(context.Context, runtime.Command) error { return nil }

// restore loads the panes of the restored checkpoint, whichever backend
// took it.
func (w *windowOp[K, T, A, O]) restore(ctx context.Context, r job.Restorer) error {
	if !r.Has(w.base.uid) {
		return nil
	}
	w.wm = restoredWatermark(r, w.base.uid)
	w.lastValid = false
	return r.Keyed(ctx, w.base.uid, w.base.groups, func(e snapshot.Entry) error {
		if e.State != paneState {
			return fmt.Errorf("window state %q is not the state of tumbling or sliding windows: restore it into the window it was taken of", e.State)
		}
		k, win, fired, err := w.base.decodeWindowEntry(e)
		if err != nil {
			return err
		}
		if f, ok := w.open[win]; !ok || (fired && !f) {
			w.open[win] = fired
			if w.procTime && !ok {
				w.clock.WakeAt(win.MaxTimestamp())
			}
		}
		return w.store.restore(k, win, e.Key, e.Value)
	})
}
