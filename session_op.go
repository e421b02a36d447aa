package weir

import (
	"context"
	"fmt"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/window"
)

// sessionOp is the window operator for windows that merge (sessions):
// kept per key on the heap, whatever the state backend, and fired by a
// timer per session. Its methods run on the subtask's goroutine.
type sessionOp[K comparable, T, A, O any] struct {
	op
	windowBase[K, T, O]
	clone func(K) K // keys are cloned when first stored (keygroup.Cloner)
	init  func() A
	add   func(A, T) A
	merge func(A, A) A
	emit  emitFunc[K, A]
	accs  codec.Codec[A]

	sessions  map[K]*sessionSet[A]
	timers    *timerQueue[K] // firing and cleanup times
	buf       []window.Window
	nextEarly int64

	_ runtime.Pad // apart from the next subtask's
}

// sessionSet is the sessions of one key.
type sessionSet[A any] struct {
	wins  []window.Window
	accs  []A
	fired []bool
	dirty []bool
}

// remove deletes session i, moving the last one into its place.
func (s *sessionSet[A]) remove(i int) {
	last := len(s.wins) - 1
	s.wins[i], s.accs[i], s.fired[i], s.dirty[i] = s.wins[last], s.accs[last], s.fired[last], s.dirty[last]
	s.wins, s.accs, s.fired, s.dirty = s.wins[:last], s.accs[:last], s.fired[:last], s.dirty[:last]
}

func (w *sessionOp[K, T, A, O]) Collect(r *runtime.Record[T]) error {
	prev := w.enter()
	err := w.collectEntered(r)
	w.leave(prev)
	return err
}

// collectEntered is Collect, run with the operator entered (see op.enter).
func (w *sessionOp[K, T, A, O]) collectEntered(r *runtime.Record[T]) (err error) {
	ts, err := w.eventTime(r)
	if err != nil {
		return w.wrap(err)
	}
	k := w.key(r.Value)
	w.buf = w.assigner.Assign(ts, w.buf[:0])
	win := w.buf[0]
	if w.closed(win) {
		late := runtime.Record[T]{Value: r.Value, Time: ts}
		return w.lateRecord(&late)
	}
	s := w.sessions[k]
	if s == nil {
		k = w.clone(k)
		s = &sessionSet[A]{}
		w.sessions[k] = s
	}
	acc := w.add(w.init(), r.Value)
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
		s.remove(i)
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
		return w.fire(k, win, &s.accs[len(s.accs)-1])
	}
	return nil
}

func (w *sessionOp[K, T, A, O]) fire(k K, win window.Window, acc *A) error {
	w.em.time = win.MaxTimestamp()
	if err := w.emit(k, win, acc); err != nil {
		return w.wrap(err)
	}
	return w.em.take()
}

func (w *sessionOp[K, T, A, O]) scheduleEarly() {
	if w.nextEarly == 0 {
		w.nextEarly = w.clock.Now() + w.early
		w.clock.WakeAt(w.nextEarly)
	}
}

// advance fires the sessions whose timers are due at t and drops those
// past their lateness.
func (w *sessionOp[K, T, A, O]) advance(t int64) error {
	prev := w.enter()
	err := w.advanceEntered(t)
	w.leave(prev)
	return err
}

// advanceEntered is advance, run with the operator entered (see op.enter).
func (w *sessionOp[K, T, A, O]) advanceEntered(t int64) (err error) {
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
				if err := w.fire(tm.key, win, &s.accs[i]); err != nil {
					return err
				}
				if w.lateness > 0 && !w.procTime {
					w.timers.add(win.MaxTimestamp()+w.lateness, tm.key)
				}
			}
			if s.fired[i] && (w.procTime || win.MaxTimestamp()+w.lateness <= t) {
				s.remove(i)
				i--
			}
		}
		if len(s.wins) == 0 {
			delete(w.sessions, tm.key)
		}
	}
}

// fireEarly emits the running result of every session that changed since
// the last time.
func (w *sessionOp[K, T, A, O]) fireEarly() error {
	for k, s := range w.sessions {
		for i := range s.wins {
			if s.dirty[i] && !s.fired[i] {
				s.dirty[i] = false
				if err := w.fire(k, s.wins[i], &s.accs[i]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// Tick fires processing-time sessions and early results.
func (w *sessionOp[K, T, A, O]) Tick(now int64) (next int64, err error) {
	next = runtime.NoWakeup
	if w.procTime {
		if err := w.advance(now); err != nil {
			return next, err
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

func (w *sessionOp[K, T, A, O]) Watermark(wm int64) error { return w.watermark(wm, w.advance) }

func (w *sessionOp[K, T, A, O]) End() error { return w.end(w.advance) }

// SnapshotState implements job.Stateful: every session with its
// accumulator, and the watermark as operator state.
func (w *sessionOp[K, T, A, O]) SnapshotState(_ context.Context, _ int64, s *job.OperatorSnapshot) error {
	w.base.begin(s)
	for k, ss := range w.sessions {
		for i, win := range ss.wins {
			if err := addWindowEntry(s, &w.base, w.accs, sessionState, k, win, ss.fired[i], ss.accs[i]); err != nil {
				return w.wrap(err)
			}
		}
	}
	var err error
	s.State, err = encodeState(w.wm)
	return err
}

func (w *sessionOp[K, T, A, O]) NotifyCheckpoint(context.Context, runtime.Command) error { return nil }

// restore loads the sessions of the restored checkpoint, and their timers.
func (w *sessionOp[K, T, A, O]) restore(ctx context.Context, r job.Restorer) error {
	if !r.Has(w.base.uid) {
		return nil
	}
	w.wm = restoredWatermark(r, w.base.uid)
	return r.Keyed(ctx, w.base.uid, w.base.groups, func(e snapshot.Entry) error {
		if e.State != sessionState {
			return fmt.Errorf("window state %q is not the state of session windows: restore it into the window it was taken of", e.State)
		}
		k, win, fired, err := w.base.decodeWindowEntry(e)
		if err != nil {
			return err
		}
		acc, _, err := w.accs.Decode(e.Value[1:])
		if err != nil {
			return err
		}
		k = w.clone(k)
		ss := w.sessions[k]
		if ss == nil {
			ss = &sessionSet[A]{}
			w.sessions[k] = ss
		}
		ss.wins = append(ss.wins, win)
		ss.accs = append(ss.accs, acc)
		ss.fired = append(ss.fired, fired)
		ss.dirty = append(ss.dirty, false)
		w.timers.add(win.MaxTimestamp(), k)
		if fired {
			w.timers.add(win.MaxTimestamp()+w.lateness, k)
		}
		return nil
	})
}
