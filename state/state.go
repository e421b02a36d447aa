// Package state holds the keyed state that user functions keep between
// records: values, lists, maps and reducing values, scoped to the key of the
// record being processed, with an optional time to live.
//
// A function gets its state handles once, in Open, from the Store its
// operator passes in:
//
//	count := state.ValueOf[int64](store, "count")
//	...
//	n, _ := count.Get()
//	count.Set(n + 1)
//
// Every handle reads and writes the entry of the current key, which the
// operator sets before each call into user code. Handles must be used only
// from that call (the subtask's goroutine).
//
// Invariants:
//
//  1. State is addressed by key; a key belongs to exactly one key group, so
//     state can be moved between subtasks one key group at a time.
//  2. An entry whose time to live has passed reads as absent and is removed
//     when it is next touched or when Store.Expire runs.
package state

import (
	"fmt"
	"time"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/keygroup"
)

// Store holds the keyed state of one operator in one subtask (the heap
// backend: Go maps). The runtime creates it and sets the current key; user
// code only passes it to ValueOf, ListOf, MapOf and ReducingOf.
type Store[K comparable] struct {
	key    K
	clone  func(K) K    // makes a new key safe to keep
	now    func() int64 // processing time, Unix ms
	tables map[string]table[K]
}

// NewStore returns an empty store. now supplies processing time in Unix
// milliseconds (for time to live); nil means the wall clock.
func NewStore[K comparable](now func() int64) *Store[K] {
	if now == nil {
		now = func() int64 { return time.Now().UnixMilli() }
	}
	return &Store[K]{now: now, clone: keygroup.Cloner[K](), tables: map[string]table[K]{}}
}

// SetKey sets the key whose entries the handles read and write. The runtime
// calls it before each call into user code.
func (s *Store[K]) SetKey(k K) { s.key = k }

// Key returns the current key.
func (s *Store[K]) Key() K { return s.key }

// ClearKey removes every entry of key k from every state.
func (s *Store[K]) ClearKey(k K) {
	for _, t := range s.tables {
		t.remove(k)
	}
}

// Expire removes every entry whose time to live has passed.
func (s *Store[K]) Expire() {
	now := s.now()
	for _, t := range s.tables {
		t.expire(now)
	}
}

// Len returns the number of entries across all states (for metrics and tests).
func (s *Store[K]) Len() int {
	n := 0
	for _, t := range s.tables {
		n += t.len()
	}
	return n
}

// Option configures one state.
type Option func(*options)

type options struct {
	ttl time.Duration
}

// TTL makes entries expire ttl after their last write (Flink's
// OnCreateAndWrite update type); expired entries are never returned.
// The default is no expiry.
func TTL(ttl time.Duration) Option { return func(o *options) { o.ttl = ttl } }

type table[K comparable] interface {
	remove(k K)
	expire(now int64)
	len() int
	snapshot(name string, groupOf func(K) int, emit EmitFunc) error
	restore(key, value []byte) error
}

// entry is a value with the time it was last written, for TTL.
type entry[T any] struct {
	v       T
	written int64
}

// keyed is the storage shared by all state kinds: one entry per key.
//
// Entries are pointers so that an update changes the entry in place: a map
// assignment to an existing string key would also replace the stored key
// with the record's, which may live in a shared buffer. New keys are cloned.
type keyed[K comparable, T any] struct {
	store *Store[K]
	ttl   int64 // ms; 0 = none
	m     map[K]*entry[T]
	keys  codec.Codec[K]
	vals  codec.Codec[T]
}

func (t *keyed[K, T]) get() (T, bool) {
	e := t.m[t.store.key]
	if e != nil && t.ttl > 0 && t.store.now()-e.written >= t.ttl {
		delete(t.m, t.store.key)
		e = nil
	}
	if e == nil {
		var zero T
		return zero, false
	}
	return e.v, true
}

func (t *keyed[K, T]) set(v T) {
	e := t.m[t.store.key]
	if e == nil {
		e = &entry[T]{}
		t.m[t.store.clone(t.store.key)] = e
	}
	e.v = v
	if t.ttl > 0 {
		e.written = t.store.now()
	}
}

func (t *keyed[K, T]) remove(k K) { delete(t.m, k) }
func (t *keyed[K, T]) len() int   { return len(t.m) }

func (t *keyed[K, T]) expire(now int64) {
	if t.ttl == 0 {
		return
	}
	for k, e := range t.m {
		if now-e.written >= t.ttl {
			delete(t.m, k)
		}
	}
}

func register[T any, K comparable](s *Store[K], name string, kind string, opts []Option) *keyed[K, T] {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	key := kind + ":" + name
	if t, ok := s.tables[key]; ok {
		if k, ok := t.(*keyed[K, T]); ok {
			return k
		}
		panic(fmt.Sprintf("state: %s %q registered twice with different types: give each state its own name", kind, name))
	}
	k := &keyed[K, T]{store: s, ttl: o.ttl.Milliseconds(), m: map[K]*entry[T]{}, keys: codec.For[K](), vals: codec.For[T]()}
	s.tables[key] = k
	return k
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
	return valueState[K, T]{register[T](s, name, "value", opts)}
}

type valueState[K comparable, T any] struct{ t *keyed[K, T] }

func (v valueState[K, T]) Get() (T, bool) { return v.t.get() }
func (v valueState[K, T]) Set(x T)        { v.t.set(x) }
func (v valueState[K, T]) Clear()         { v.t.remove(v.t.store.key) }

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

// ListOf returns the list state called name.
func ListOf[T any, K comparable](s *Store[K], name string, opts ...Option) List[T] {
	return listState[K, T]{register[[]T](s, name, "list", opts)}
}

type listState[K comparable, T any] struct{ t *keyed[K, []T] }

func (l listState[K, T]) Get() []T { v, _ := l.t.get(); return v }
func (l listState[K, T]) Add(x T) {
	v, _ := l.t.get()
	l.t.set(append(v, x))
}
func (l listState[K, T]) Update(vs []T) { l.t.set(append([]T(nil), vs...)) }
func (l listState[K, T]) Clear()        { l.t.remove(l.t.store.key) }

// Map is a map per key.
type Map[MK comparable, V any] interface {
	// Get returns the value under mk in the current key's map.
	Get(mk MK) (V, bool)
	// Put sets mk to v in the current key's map.
	Put(mk MK, v V)
	// Remove deletes mk from the current key's map.
	Remove(mk MK)
	// All calls yield for every entry of the current key's map until it
	// returns false.
	All(yield func(MK, V) bool)
	// Len is the size of the current key's map.
	Len() int
	// Clear removes the current key's map.
	Clear()
}

// MapOf returns the map state called name.
// Put copies string map keys (see keyed), so a Put costs an allocation.
func MapOf[MK comparable, V any, K comparable](s *Store[K], name string, opts ...Option) Map[MK, V] {
	return mapState[K, MK, V]{register[map[MK]V](s, name, "map", opts), keygroup.Cloner[MK]()}
}

type mapState[K, MK comparable, V any] struct {
	t     *keyed[K, map[MK]V]
	clone func(MK) MK
}

func (m mapState[K, MK, V]) Get(mk MK) (V, bool) {
	cur, _ := m.t.get()
	v, ok := cur[mk]
	return v, ok
}

func (m mapState[K, MK, V]) Put(mk MK, v V) {
	cur, ok := m.t.get()
	if !ok || cur == nil {
		cur = map[MK]V{}
	}
	cur[m.clone(mk)] = v
	m.t.set(cur) // refreshes the TTL stamp
}

func (m mapState[K, MK, V]) Remove(mk MK) {
	if cur, ok := m.t.get(); ok {
		delete(cur, mk)
		if len(cur) == 0 {
			m.Clear()
		}
	}
}

func (m mapState[K, MK, V]) All(yield func(MK, V) bool) {
	cur, _ := m.t.get()
	for k, v := range cur {
		if !yield(k, v) {
			return
		}
	}
}

func (m mapState[K, MK, V]) Len() int { cur, _ := m.t.get(); return len(cur) }
func (m mapState[K, MK, V]) Clear()   { m.t.remove(m.t.store.key) }

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
	return reducingState[K, T]{t: register[T](s, name, "reducing", opts), reduce: reduce}
}

type reducingState[K comparable, T any] struct {
	t      *keyed[K, T]
	reduce func(a, b T) T
}

func (r reducingState[K, T]) Get() (T, bool) { return r.t.get() }
func (r reducingState[K, T]) Add(x T) {
	if cur, ok := r.t.get(); ok {
		x = r.reduce(cur, x)
	}
	r.t.set(x)
}
func (r reducingState[K, T]) Clear() { r.t.remove(r.t.store.key) }
