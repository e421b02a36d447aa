package weir

import (
	"fmt"

	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
)

// KeyedStream is a stream partitioned by key: every record with the same
// key goes to the same subtask, which keeps that key's state and timers.
type KeyedStream[K comparable, T any] struct {
	s    Stream[T]
	key  func(T) K
	hash func(K) uint64
}

// KeyBy partitions s by the key that key returns. Keys must hash the same
// in every process (so that state can be restored): strings, numbers and
// booleans do; other key types implement KeyHash() uint64.
func KeyBy[T any, K comparable](s Stream[T], key func(T) K) KeyedStream[K, T] {
	h, err := keygroup.Hasher[K]()
	if err != nil {
		s.env.errs = append(s.env.errs, fmt.Errorf("weir: KeyBy after %q: %w", s.n.Name, err))
		h = func(K) uint64 { return 0 }
	}
	return KeyedStream[K, T]{s: s, key: key, hash: h}
}

// connectKeyed adds a hash-partitioned edge from ks to n.
func connectKeyed[K comparable, T any](ks KeyedStream[K, T], n *plan.Node) {
	key, hash := ks.key, ks.hash
	connect(ks.s, n, runtime.Hash, func(v T) uint64 { return hash(key(v)) })
}

// newStore makes the state engine of one keyed subtask on the job's
// backend; user code gets its Store.
func newStore[K comparable](b stateBackend, t *plan.Subtask, uid string, hash func(K) uint64) (*keyedstate.Engine[K], error) {
	kv, err := b.openKV(t, uid)
	var e *keyedstate.Engine[K]
	if err != nil || kv == nil {
		e = keyedstate.NewHeap[K](t.Clock.Now)
	} else {
		e = keyedstate.NewKV(t.Clock.Now, kv, hash, t.MaxParallelism)
	}
	e.TimeAccess(t.Metrics.StateAccess(b.String()))
	return e, err
}
