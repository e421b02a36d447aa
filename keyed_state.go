package weir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/window"
)

// Names of the keyed state that operators keep besides user state. User
// state names carry a kind prefix ("value:count"), so these cannot clash.
const (
	eventTimerState = "timer/event"
	procTimerState  = "timer/processing"
	paneState       = "window/pane"
	sessionState    = "window/session"
)

// keyedBase is what keyed operators share for checkpoints: where their key
// groups are, how to encode keys, and the restored watermark.
type keyedBase[K comparable] struct {
	uid    string
	hash   func(K) uint64
	maxPar int
	groups keygroup.Range
	keys   codec.Codec[K]
}

func newKeyedBase[K comparable](uid string, hash func(K) uint64, t *plan.Subtask) keyedBase[K] {
	return keyedBase[K]{uid: uid, hash: hash, maxPar: t.MaxParallelism,
		groups: keygroup.For(t.Index, t.MaxParallelism, t.Parallelism), keys: codec.For[K]()}
}

func (b *keyedBase[K]) groupOf(k K) int { return keygroup.Of(b.hash(k), b.maxPar) }

func (b *keyedBase[K]) begin(s *job.OperatorSnapshot) { s.BeginKeyed(b.groups) }

func (b *keyedBase[K]) encodeKey(k K) ([]byte, error) { return b.keys.Append(nil, k) }

func (b *keyedBase[K]) decodeKey(p []byte) (K, error) {
	k, n, err := b.keys.Decode(p)
	if err == nil && n != len(p) {
		err = fmt.Errorf("%d bytes after the key", len(p)-n)
	}
	return k, err
}

// snapshotTimers adds a timer queue's timers as entries of state name.
func (b *keyedBase[K]) snapshotTimers(s *job.OperatorSnapshot, name string, q *timerQueue[K]) error {
	for tm := range q.set {
		key, err := b.encodeKey(tm.key)
		if err != nil {
			return err
		}
		s.AddKeyed(b.groupOf(tm.key), snapshot.Entry{State: name, Key: key, Value: appendInt64(nil, tm.ts)})
	}
	return nil
}

// restoredWatermark returns the smallest watermark of the old subtasks
// whose key groups this subtask takes over: no record that was late before
// the restore is on time after it, and none that was on time is late.
func restoredWatermark(r job.Restorer, uid string) int64 {
	wm := runtime.NoTimestamp
	first := true
	for _, sub := range r.OperatorStates(uid, 0, 1) {
		w, err := decodeState[int64](sub.OperatorState)
		if err != nil {
			continue
		}
		if first || w < wm {
			wm, first = w, false
		}
	}
	return wm
}

func appendInt64(dst []byte, v int64) []byte {
	b, _ := codec.For[int64]().Append(dst, v)
	return b
}

func readInt64(p []byte) (int64, int, error) { return codec.For[int64]().Decode(p) }

func appendWindow(dst []byte, w window.Window) []byte {
	return appendInt64(appendInt64(dst, w.Start), w.End)
}

func readWindow(p []byte) (window.Window, error) {
	start, n, err := readInt64(p)
	if err != nil {
		return window.Window{}, err
	}
	end, _, err := readInt64(p[n:])
	return window.Window{Start: start, End: end}, err
}

// SnapshotState implements job.Stateful for ProcessKeyed.
func (p *keyedProcessOp[K, T, U]) SnapshotState(_ context.Context, _ int64, s *job.OperatorSnapshot) error {
	p.base.begin(s)
	err := p.store.Snapshot(p.base.groupOf, func(g int, name string, key, value []byte) {
		s.AddKeyed(g, snapshot.Entry{State: name, Key: key, Value: value})
	})
	if err == nil {
		err = p.base.snapshotTimers(s, eventTimerState, p.ctx.event)
	}
	if err == nil {
		err = p.base.snapshotTimers(s, procTimerState, p.ctx.proc)
	}
	if err == nil {
		s.State, err = encodeState(p.ctx.watermark)
	}
	return err
}

func (p *keyedProcessOp[K, T, U]) NotifyCheckpoint(context.Context, runtime.Command) error {
	return nil
}

// restore loads the operator's keyed state from the restored checkpoint.
func (p *keyedProcessOp[K, T, U]) restore(ctx context.Context, run job.Restorer) error {
	if !run.Has(p.base.uid) {
		return nil
	}
	p.ctx.watermark = restoredWatermark(run, p.base.uid)
	warned := map[string]bool{}
	err := run.Keyed(ctx, p.base.uid, p.base.groups, func(e snapshot.Entry) error {
		switch e.State {
		case eventTimerState, procTimerState:
			k, err := p.base.decodeKey(e.Key)
			if err != nil {
				return err
			}
			ts, _, err := readInt64(e.Value)
			if err != nil {
				return err
			}
			if e.State == eventTimerState {
				p.ctx.event.add(ts, k)
			} else {
				p.ctx.proc.add(ts, k)
				p.ctx.clock.WakeAt(ts)
			}
			return nil
		}
		if err := p.store.Restore(e.State, e.Key, e.Value); err != nil {
			if !errors.Is(err, state.ErrUnknownState) {
				return err
			}
			if !warned[e.State] {
				warned[e.State] = true
				slog.Warn("dropping restored state that the job no longer has", "operator", p.base.uid, "state", e.State)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return p.store.Err() // a restore into pebble writes in batches
}

// SnapshotState implements job.Stateful for windows: every pane and session
// with its accumulator, and the watermark.
func (w *windowOp[K, T, A, O]) SnapshotState(_ context.Context, _ int64, s *job.OperatorSnapshot) error {
	w.base.begin(s)
	accs := codec.For[A]()
	add := func(name string, k K, win window.Window, fired bool, acc A) error {
		key, err := w.base.encodeKey(k)
		if err != nil {
			return err
		}
		val := []byte{0}
		if fired {
			val[0] = 1
		}
		if val, err = accs.Append(val, acc); err != nil {
			return fmt.Errorf("encode an accumulator of window %v: %w", win, err)
		}
		s.AddKeyed(w.base.groupOf(k), snapshot.Entry{State: name, Key: key, Namespace: appendWindow(nil, win), Value: val})
		return nil
	}
	for _, p := range w.panes {
		for i, k := range p.keys {
			if err := add(paneState, k, p.w, p.fired, p.accs[i]); err != nil {
				return err
			}
		}
	}
	for k, ss := range w.sessions {
		for i, win := range ss.wins {
			if err := add(sessionState, k, win, ss.fired[i], ss.accs[i]); err != nil {
				return err
			}
		}
	}
	var err error
	s.State, err = encodeState(w.wm)
	return err
}

func (w *windowOp[K, T, A, O]) NotifyCheckpoint(context.Context, runtime.Command) error { return nil }

// restore loads panes and sessions from the restored checkpoint.
func (w *windowOp[K, T, A, O]) restore(ctx context.Context, run job.Restorer) error {
	if !run.Has(w.base.uid) {
		return nil
	}
	w.wm = restoredWatermark(run, w.base.uid)
	accs := codec.For[A]()
	return run.Keyed(ctx, w.base.uid, w.base.groups, func(e snapshot.Entry) error {
		k, err := w.base.decodeKey(e.Key)
		if err != nil {
			return err
		}
		win, err := readWindow(e.Namespace)
		if err != nil {
			return err
		}
		if len(e.Value) < 1 {
			return fmt.Errorf("window entry without a value")
		}
		fired := e.Value[0] == 1
		acc, _, err := accs.Decode(e.Value[1:])
		if err != nil {
			return err
		}
		k = w.clone(k)
		switch e.State {
		case paneState:
			p := w.panes[win]
			if p == nil {
				p = &pane[K, A]{w: win, index: map[K]int32{}, fired: fired}
				w.panes[win] = p
				if w.procTime {
					w.clock.WakeAt(win.MaxTimestamp())
				}
			}
			p.index[k] = int32(len(p.keys))
			p.keys = append(p.keys, k)
			p.accs = append(p.accs, acc)
			p.dirty = append(p.dirty, false)
		case sessionState:
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
		default:
			return fmt.Errorf("unknown window state %q", e.State)
		}
		return nil
	})
}
