package state

import (
	"time"

	"github.com/weirstream/weir/internal/keyedstate"
)

// Store holds the keyed state of one keyed operator in one parallel
// subtask, on the job's state backend. The runtime creates it and passes it
// to the function that makes the subtask's user function (the newFn of
// weir.ProcessKeyed), which passes it on to ValueOf, ListOf, MapOf and
// ReducingOf to create its handles. That is all user code does with a
// Store: it has no methods, since setting the current key, checkpointing
// and restoring are the runtime's work.
type Store[K comparable] = keyedstate.Store[K]

// Option configures one state.
type Option func(*options)

type options struct {
	ttl time.Duration
}

// TTL makes entries expire ttl after their last write (Flink's
// OnCreateAndWrite update type), in processing time: an expired entry reads
// as absent, is left out of checkpoints and is removed when next touched.
// The default is no expiry.
func TTL(ttl time.Duration) Option { return func(o *options) { o.ttl = ttl } }

// register returns the cell of the state kind:name on s.
func register[T any, K comparable](s *Store[K], kind, name string, opts []Option) keyedstate.Cell[K, T] {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return keyedstate.Register[T](s, kind, name, o.ttl)
}

// Value is a single value per key.
type Value[T any] interface {
	// Get returns the current key's value and whether it is set.
	Get() (T, bool)
	// Set replaces the current key's value.
	Set(v T)
	// Clear removes the current key's value.
	Clear()
}

// ValueOf returns the value state called name.
func ValueOf[T any, K comparable](s *Store[K], name string, opts ...Option) Value[T] {
	return valueState[K, T]{register[T](s, "value", name, opts)}
}

type valueState[K comparable, T any] struct{ t keyedstate.Cell[K, T] }

func (v valueState[K, T]) Get() (T, bool) { return v.t.Get() }
func (v valueState[K, T]) Set(x T)        { v.t.Set(x) }
func (v valueState[K, T]) Clear()         { v.t.Clear() }

// List is a list of values per key.
type List[T any] interface {
	// Get returns the current key's list (nil if empty). The slice is the
	// state's own: do not keep it past the call.
	Get() []T
	// Add appends v to the current key's list.
	Add(v T)
	// Update replaces the current key's list.
	Update(vs []T)
	// Clear removes the current key's list.
	Clear()
}

// ListOf returns the list state called name. On the heap backend a key's
// list is a slice; on the pebble backend each element is a pair of its
// own, so that Add writes one element whatever the length of the list,
// and Get reads them all.
func ListOf[T any, K comparable](s *Store[K], name string, opts ...Option) List[T] {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return listState[K, T]{keyedstate.RegisterList[T](s, name, o.ttl)}
}

type listState[K comparable, T any] struct{ t keyedstate.ListCell[K, T] }

func (l listState[K, T]) Get() []T      { return l.t.Get() }
func (l listState[K, T]) Add(x T)       { l.t.Add(x) }
func (l listState[K, T]) Update(vs []T) { l.t.Update(vs) }
func (l listState[K, T]) Clear()        { l.t.Clear() }

// Map is a map per key.
type Map[MK comparable, V any] interface {
	// Get returns the value under mk in the current key's map.
	Get(mk MK) (V, bool)
	// Put sets mk to v in the current key's map.
	Put(mk MK, v V)
	// Remove deletes mk from the current key's map.
	Remove(mk MK)
	// All calls yield for every entry of the current key's map until it
	// returns false. yield may Remove the entry it was given; whether it
	// is given entries that were put or removed during the iteration is
	// unspecified.
	All(yield func(MK, V) bool)
	// Len is the size of the current key's map.
	Len() int
	// Clear removes the current key's map.
	Clear()
}

// MapOf returns the map state called name. Put copies string map keys,
// which may share memory with the record they came from, so a Put costs an
// allocation. On the heap backend a key's map is a Go map; on the pebble
// backend each entry is a pair of its own, so that Get, Put and Remove
// touch one entry whatever the size of the map, and All and Len read the
// key's entries. With TTL, a Put keeps the key's whole map alive.
func MapOf[MK comparable, V any, K comparable](s *Store[K], name string, opts ...Option) Map[MK, V] {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return mapState[K, MK, V]{keyedstate.RegisterMap[MK, V](s, name, o.ttl)}
}

type mapState[K, MK comparable, V any] struct {
	t keyedstate.MapCell[K, MK, V]
}

func (m mapState[K, MK, V]) Get(mk MK) (V, bool)        { return m.t.Get(mk) }
func (m mapState[K, MK, V]) Put(mk MK, v V)             { m.t.Put(mk, v) }
func (m mapState[K, MK, V]) Remove(mk MK)               { m.t.Remove(mk) }
func (m mapState[K, MK, V]) All(yield func(MK, V) bool) { m.t.All(yield) }
func (m mapState[K, MK, V]) Len() int                   { return m.t.Len() }
func (m mapState[K, MK, V]) Clear()                     { m.t.Clear() }

// Reducing keeps one value per key, folded with a reduce function.
type Reducing[T any] interface {
	// Get returns the current key's reduced value.
	Get() (T, bool)
	// Add folds v into the current key's value.
	Add(v T)
	// Clear removes the current key's value.
	Clear()
}

// ReducingOf returns the reducing state called name, folding with reduce.
func ReducingOf[T any, K comparable](s *Store[K], name string, reduce func(a, b T) T, opts ...Option) Reducing[T] {
	return reducingState[K, T]{t: register[T](s, "reducing", name, opts), reduce: reduce}
}

type reducingState[K comparable, T any] struct {
	t      keyedstate.Cell[K, T]
	reduce func(a, b T) T
}

func (r reducingState[K, T]) Get() (T, bool) { return r.t.Get() }
func (r reducingState[K, T]) Add(x T) {
	if cur, ok := r.t.Get(); ok {
		x = r.reduce(cur, x)
	}
	r.t.Set(x)
}
func (r reducingState[K, T]) Clear() { r.t.Clear() }
