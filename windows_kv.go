package weir

import (
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/backend/pebble"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/window"
)

// kvWindowOp is the window operator for tumbling and sliding windows on the
// pebble backend: accumulators live in the store, not on the heap, so a
// window may hold more keys than memory. Only the set of open windows (a few
// per operator) stays on the heap.
//
// Store layout, chosen so that a checkpoint entry is a slice of the store's
// key: [key group uint16][window start, end: the checkpoint namespace,
// 16 bytes][encoded key] -> [fired byte][encoded accumulator], the same
// value bytes as the heap operator's "window/pane" entries. A window fires
// by one prefix scan per key group.
type kvWindowOp[K comparable, T, A, O any] struct {
	op
	base     keyedBase[K]
	kv       state.KV
	key      func(T) K
	assigner window.Assigner
	procTime bool
	lateness int64
	init     func() A
	add      func(A, T) A
	accs     codec.Codec[A]
	emit     emitFunc[K, A]
	em       emitter[O]
	late     *emitter[T]
	lateEnd  controlSink
	clock    *runtime.Clock
	dropped  *atomic.Int64

	wm    int64
	buf   []window.Window
	panes map[window.Window]bool // open windows: fired or not
	kbuf  []byte
	vbuf  []byte
}

const kvPrefixLen = 2 + 16 // key group, window

func (w *kvWindowOp[K, T, A, O]) storeKey(group int, win window.Window, key []byte) []byte {
	b := binary.BigEndian.AppendUint16(w.kbuf[:0], uint16(group))
	b = appendWindow(b, win)
	w.kbuf = append(b, key...)
	return w.kbuf
}

func (w *kvWindowOp[K, T, A, O]) Collect(r runtime.Record[T]) (err error) {
	defer runtime.Recover(&err, w.name, w.subtask, w.par)
	ts := r.Time
	if w.procTime {
		ts = w.clock.Now()
	} else if ts == runtime.NoTimestamp {
		return w.wrap(fmt.Errorf("record has no event time: add Watermarks before KeyBy, or use window.OnProcessingTime"))
	}
	k := w.key(r.Value)
	key, err := w.base.encodeKey(k)
	if err != nil {
		return w.wrap(err)
	}
	group := w.base.groupOf(k)
	w.buf = w.assigner.Assign(ts, w.buf[:0])
	placed := false
	for _, win := range w.buf {
		if !w.procTime && win.MaxTimestamp()+w.lateness <= w.wm {
			continue
		}
		placed = true
		fired, known := w.panes[win]
		if !known {
			w.panes[win] = false
			if w.procTime {
				w.clock.WakeAt(win.MaxTimestamp())
			}
		}
		sk := w.storeKey(group, win, key)
		acc := w.init()
		if v, ok, err := w.kv.Get(sk); err != nil {
			return w.wrap(err)
		} else if ok {
			if acc, _, err = w.accs.Decode(v[1:]); err != nil {
				return w.wrap(fmt.Errorf("window state of %v: %w", win, err))
			}
		}
		acc = w.add(acc, r.Value)
		flag := byte(0)
		if fired {
			// A late record within the lateness fires the window again.
			// The window function may update the accumulator (what it
			// reported so far), so it is stored after the firing.
			flag = 1
			if err := w.fire(k, win, acc); err != nil {
				return err
			}
		}
		if w.vbuf, err = w.accs.Append(append(w.vbuf[:0], flag), acc); err != nil {
			return w.wrap(err)
		}
		if err := w.kv.Set(sk, w.vbuf); err != nil {
			return w.wrap(err)
		}
	}
	if !placed {
		return lateRecord(w.late, w.dropped, r)
	}
	return nil
}

func (w *kvWindowOp[K, T, A, O]) fire(k K, win window.Window, acc A) error {
	w.em.time = win.MaxTimestamp()
	if err := w.emit(k, win, acc); err != nil {
		return w.wrap(err)
	}
	return w.em.take()
}

// advance fires the windows due at t and drops those past their lateness.
func (w *kvWindowOp[K, T, A, O]) advance(t int64) (err error) {
	defer runtime.Recover(&err, w.name, w.subtask, w.par)
	var due []window.Window
	for win, fired := range w.panes {
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
		fire := !w.panes[win]
		for g := w.base.groups.Start; g < w.base.groups.End; g++ {
			prefix := binary.BigEndian.AppendUint16(nil, uint16(g))
			prefix = appendWindow(prefix, win)
			err := w.kv.Scan(prefix, func(sk, v []byte) error {
				if fire {
					k, err := w.base.decodeKey(sk[kvPrefixLen:])
					if err != nil {
						return err
					}
					acc, _, err := w.accs.Decode(v[1:])
					if err != nil {
						return err
					}
					if err := w.fire(k, win, acc); err != nil {
						return err
					}
					if !drop {
						// Stored again: the window function may have
						// updated the accumulator.
						marked, err := w.accs.Append([]byte{1}, acc)
						if err != nil {
							return err
						}
						return w.kv.Set(slices.Clone(sk), marked)
					}
				}
				if drop {
					return w.kv.Delete(slices.Clone(sk))
				}
				return nil
			})
			if err != nil {
				return w.wrap(err)
			}
		}
		if drop {
			delete(w.panes, win)
		} else {
			w.panes[win] = true
		}
	}
	return nil
}

func (w *kvWindowOp[K, T, A, O]) Tick(now int64) (int64, error) {
	next := runtime.NoWakeup
	if w.procTime {
		if err := w.advance(now); err != nil {
			return next, err
		}
		for win := range w.panes {
			next = min(next, win.MaxTimestamp())
		}
	}
	return next, nil
}

func (w *kvWindowOp[K, T, A, O]) Watermark(wm int64) error {
	return windowWatermark(wm, &w.wm, w.procTime, w.advance, w.lateEnd, w.em.out)
}

func (w *kvWindowOp[K, T, A, O]) End() error {
	return windowEnd(w.procTime, w.lateness, w.advance, w.lateEnd, w.em.out)
}

// SnapshotState emits the store's entries as "window/pane" entries, the
// heap operator's format: a checkpoint restores on either backend.
func (w *kvWindowOp[K, T, A, O]) SnapshotState(_ context.Context, _ int64, s *job.OperatorSnapshot) error {
	w.base.begin(s)
	for g := w.base.groups.Start; g < w.base.groups.End; g++ {
		prefix := binary.BigEndian.AppendUint16(nil, uint16(g))
		if err := w.kv.Scan(prefix, func(sk, v []byte) error {
			s.AddKeyed(g, snapshot.Entry{State: paneState, Key: slices.Clone(sk[kvPrefixLen:]),
				Namespace: slices.Clone(sk[2:kvPrefixLen]), Value: slices.Clone(v)})
			return nil
		}); err != nil {
			return w.wrap(err)
		}
	}
	var err error
	s.State, err = encodeState(w.wm)
	return err
}

func (w *kvWindowOp[K, T, A, O]) NotifyCheckpoint(context.Context, runtime.Command) error { return nil }

func (w *kvWindowOp[K, T, A, O]) restore(ctx context.Context, run job.Restorer) error {
	if !run.Has(w.base.uid) {
		return nil
	}
	w.wm = restoredWatermark(run, w.base.uid)
	return run.Keyed(ctx, w.base.uid, w.base.groups, func(e snapshot.Entry) error {
		if e.State != paneState {
			return fmt.Errorf("window state %q cannot be kept in pebble: restore it on the heap backend", e.State)
		}
		k, err := w.base.decodeKey(e.Key)
		if err != nil {
			return err
		}
		win, err := readWindow(e.Namespace)
		if err != nil || len(e.Value) < 1 {
			return fmt.Errorf("bad window entry: %v", err)
		}
		fired := e.Value[0] == 1
		if f, ok := w.panes[win]; !ok || (fired && !f) {
			w.panes[win] = fired
			if w.procTime && !ok {
				w.clock.WakeAt(win.MaxTimestamp())
			}
		}
		return w.kv.Set(slices.Clone(w.storeKey(w.base.groupOf(k), win, e.Key)), slices.Clone(e.Value))
	})
}

// buildKVWindow builds the window operator named uid on the pebble
// backend.
func buildKVWindow[K comparable, T, A, O, R any](env *Env, t *plan.Subtask, uid string, ws WindowedStream[K, T], agg AggregateFunc[T, A, R], makeEmit func(*emitter[O]) emitFunc[K, A], out runtime.Collector[O], late *emitter[T], lateEnd controlSink, dropped *atomic.Int64) (runtime.Collector[T], error) {
	if ws.cfg.early > 0 {
		return nil, fmt.Errorf("EarlyFiring needs the heap state backend: the pebble backend keeps no list of changed keys")
	}
	db, err := pebble.Open(filepath.Join(env.cfg.backendDir, fmt.Sprintf("%s.%d", job.FileSafe(uid), t.Index)))
	if err != nil {
		return nil, fmt.Errorf("state backend pebble: %w", err)
	}
	t.OnClose(db.Close)
	w := &kvWindowOp[K, T, A, O]{
		op:       op{name: uid, subtask: t.Index, par: t.Parallelism},
		base:     newKeyedBase(uid, ws.ks.hash, t),
		kv:       db,
		key:      ws.ks.key,
		assigner: ws.assigner,
		procTime: ws.assigner.Time() == window.ProcessingTime,
		lateness: ws.cfg.lateness.Milliseconds(),
		init:     agg.Init,
		add:      agg.Add,
		accs:     codec.For[A](),
		em:       emitter[O]{out: out},
		late:     late,
		lateEnd:  lateEnd,
		clock:    t.Clock,
		dropped:  dropped,
		wm:       runtime.NoTimestamp,
		panes:    map[window.Window]bool{},
	}
	w.emit = makeEmit(&w.em)
	if err := installWindow(t, uid, w); err != nil {
		return nil, err
	}
	return w, nil
}
