package weir

import (
	"fmt"
	"log/slog"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
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
	log    *slog.Logger // the subtask's
}

func newKeyedBase[K comparable](uid string, hash func(K) uint64, t *plan.Subtask) keyedBase[K] {
	return keyedBase[K]{uid: uid, hash: hash, maxPar: t.MaxParallelism,
		groups: keygroup.For(t.Index, t.MaxParallelism, t.Parallelism), keys: codec.For[K](), log: t.Logger}
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
		w, _, err := decodeOperatorState(sub.OperatorState)
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

// decodeWindowEntry decodes a window operator's checkpoint entry: its key,
// its window (the namespace), and whether the window had fired.
func (b *keyedBase[K]) decodeWindowEntry(e snapshot.Entry) (K, window.Window, bool, error) {
	k, err := b.decodeKey(e.Key)
	if err != nil {
		return k, window.Window{}, false, err
	}
	win, err := readWindow(e.Namespace)
	if err != nil {
		return k, win, false, fmt.Errorf("window entry: %w", err)
	}
	if len(e.Value) < 1 {
		return k, win, false, fmt.Errorf("window entry without a value")
	}
	return k, win, e.Value[0] == 1, nil
}

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
