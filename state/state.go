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
// A store keeps its state in one of two backends, behind the same handles:
// the heap (NewStore: Go maps, fastest, bounded by memory) or an ordered
// key-value store off the Go heap (NewKVStore: for state larger than memory;
// the pebble backend). Both snapshot to the same entries, so a job can
// checkpoint on one and restore on the other. A KV can fail; handles cannot
// return errors, so the store keeps the first failure for Store.Err.
//
// Invariants:
//
//  1. State is addressed by key; a key belongs to exactly one key group, so
//     state can be moved between subtasks one key group at a time.
//  2. An entry whose time to live has passed reads as absent and is removed
//     when it is next touched or when Store.Expire runs.
//  3. Snapshot entries are the same bytes on every backend: restoring a
//     snapshot on either backend and snapshotting again gives them back.
package state

import (
	"fmt"
	"time"

	"github.com/weirstream/weir/internal/keygroup"
)

// Store holds the keyed state of one operator in one subtask. The runtime
// creates it, with NewStore (the heap backend: Go maps) or NewKVStore (an
// ordered key-value store off the Go heap, such as pebble), and sets the
// current key; user code only passes it to ValueOf, ListOf, MapOf and
// ReducingOf. Both backends behave the same and snapshot to the same entries.
type Store[K comparable] struct {
	key    K
	clone  func(K) K    // makes a new key safe to keep
	now    func() int64 // processing time, Unix ms
	tables map[string]table[K]
	kv     *kvStore[K] // nil for the heap backend
	err    error       // the first failure of the KV backend
}

// NewStore returns an empty store on the heap. now supplies processing time
// in Unix milliseconds (for time to live); nil means the wall clock.
func NewStore[K comparable](now func() int64) *Store[K] {
	if now == nil {
		now = func() int64 { return time.Now().UnixMilli() }
	}
	return &Store[K]{now: now, clone: keygroup.Cloner[K](), tables: map[string]table[K]{}}
}

// SetKey sets the key whose entries the handles read and write. The runtime
// calls it before each call into user code.
func (s *Store[K]) SetKey(k K) {
	s.key = k
	if s.kv != nil {
		s.kv.fresh = false // encoded again on the first access
	}
}

// Key returns the current key.
func (s *Store[K]) Key() K { return s.key }

// Err returns the first error the store met: a failure of its KV (disk
// full, I/O error) or a value that could not be encoded or decoded. Handles
// cannot return errors, so the operator checks Err after each call into user
// code and fails the job with it; the job then restarts from its last
// checkpoint. After an error, reads may see absent values and writes may be
// lost. A heap store never fails.
func (s *Store[K]) Err() error {
	if s.kv != nil {
		s.ready() // entries that Restore buffered fail here at the latest
	}
	return s.err
}

// fail records err unless an earlier error is already recorded.
func (s *Store[K]) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// ClearKey removes every entry of key k from every state.
func (s *Store[K]) ClearKey(k K) {
	for _, t := range s.tables {
		t.remove(k)
	}
}

// Expire removes every entry whose time to live has passed. On a KV store
// it scans every state that has a time to live.
func (s *Store[K]) Expire() {
	now := s.now()
	for _, t := range s.tables {
		t.expire(now)
	}
}

// Len returns the number of entries across all states, expired entries not
// yet removed included (for metrics and tests). On a KV store it scans every
// state.
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

// table is what the store needs of one state, whatever its value type.
type table[K comparable] interface {
	remove(k K)
	expire(now int64)
	len() int
	snapshot(name string, groupOf func(K) int, emit EmitFunc) error
	restore(key, value []byte) error
}

// column is the storage of one state: one entry per key. keyed (heap) and
// kvColumn (KV) implement it; the handles are written once against it.
type column[K comparable, T any] interface {
	table[K]
	// get returns the current key's value; an expired entry reads as absent.
	get() (T, bool)
	// set writes the current key's value and stamps the write time (TTL).
	set(v T)
	// update writes the current key's value and keeps its write time: an
	// in-place change that is not a write for TTL (a map entry removed).
	update(v T)
}

var (
	_ column[int, int] = (*keyed[int, int])(nil)
	_ column[int, int] = (*kvColumn[int, int])(nil)
)

// cell is a handle's reference to its column. It holds the heap column as a
// concrete pointer so that the heap path makes direct calls, without an
// interface dispatch per access; exactly one of heap and kv is set.
type cell[K comparable, T any] struct {
	heap *keyed[K, T]
	kv   *kvColumn[K, T]
}

func (c cell[K, T]) get() (T, bool) {
	if c.heap != nil {
		return c.heap.get()
	}
	return c.kv.get()
}

func (c cell[K, T]) set(v T) {
	if c.heap != nil {
		c.heap.set(v)
		return
	}
	c.kv.set(v)
}

func (c cell[K, T]) update(v T) {
	if c.heap != nil {
		c.heap.update(v)
		return
	}
	c.kv.update(v)
}

// clear removes the current key's entry.
func (c cell[K, T]) clear() {
	if c.heap != nil {
		c.heap.remove(c.heap.store.key)
		return
	}
	c.kv.clear()
}

func register[T any, K comparable](s *Store[K], name string, kind string, opts []Option) cell[K, T] {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	key := kind + ":" + name
	t, ok := s.tables[key]
	if !ok {
		if s.kv != nil {
			t = newKVColumn[K, T](s, key, o.ttl.Milliseconds())
		} else {
			t = newKeyed[K, T](s, o.ttl.Milliseconds())
		}
		s.tables[key] = t
	}
	switch c := t.(type) {
	case *keyed[K, T]:
		return cell[K, T]{heap: c}
	case *kvColumn[K, T]:
		return cell[K, T]{kv: c}
	}
	panic(fmt.Sprintf("state: %s %q registered twice with different types: give each state its own name", kind, name))
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

type valueState[K comparable, T any] struct{ t cell[K, T] }

func (v valueState[K, T]) Get() (T, bool) { return v.t.get() }
func (v valueState[K, T]) Set(x T)        { v.t.set(x) }
func (v valueState[K, T]) Clear()         { v.t.clear() }

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

// ListOf returns the list state called name. On a KV store a key's whole
// list is one value, which Add decodes and encodes again.
func ListOf[T any, K comparable](s *Store[K], name string, opts ...Option) List[T] {
	return listState[K, T]{register[[]T](s, name, "list", opts)}
}

type listState[K comparable, T any] struct{ t cell[K, []T] }

func (l listState[K, T]) Get() []T { v, _ := l.t.get(); return v }
func (l listState[K, T]) Add(x T) {
	v, _ := l.t.get()
	l.t.set(append(v, x))
}
func (l listState[K, T]) Update(vs []T) { l.t.set(append([]T(nil), vs...)) }
func (l listState[K, T]) Clear()        { l.t.clear() }

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
// Put copies string map keys (see keyed), so a Put costs an allocation. On a
// KV store a key's whole map is one value: each call decodes it, and Put and
// Remove encode it again, so keep such maps small.
func MapOf[MK comparable, V any, K comparable](s *Store[K], name string, opts ...Option) Map[MK, V] {
	return mapState[K, MK, V]{register[map[MK]V](s, name, "map", opts), keygroup.Cloner[MK]()}
}

type mapState[K, MK comparable, V any] struct {
	t     cell[K, map[MK]V]
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
	cur, _ := m.t.get()
	if _, ok := cur[mk]; ok {
		delete(cur, mk)
		if len(cur) == 0 {
			m.Clear()
		} else {
			m.t.update(cur) // a KV column holds a decoded copy
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
func (m mapState[K, MK, V]) Clear()   { m.t.clear() }

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
	t      cell[K, T]
	reduce func(a, b T) T
}

func (r reducingState[K, T]) Get() (T, bool) { return r.t.get() }
func (r reducingState[K, T]) Add(x T) {
	if cur, ok := r.t.get(); ok {
		x = r.reduce(cur, x)
	}
	r.t.set(x)
}
func (r reducingState[K, T]) Clear() { r.t.clear() }
