package keyedstate

import (
	"fmt"
	"time"

	"github.com/weirstream/weir/internal/keygroup"
)

// Store holds the keyed state of one operator in one subtask. It is what
// user code gets (as state.Store) and only passes to package state's
// ValueOf, ListOf, MapOf and ReducingOf; it has no exported methods, so that
// the runtime's calls stay on the Engine that owns it.
type Store[K comparable] struct {
	key    K
	clone  func(K) K    // makes a new key safe to keep
	now    func() int64 // processing time, Unix ms
	tables map[string]table[K]
	kv     *kvStore[K] // nil for the heap backend
	err    error       // the first failure of the KV backend

	// smp times accesses (access.go); it times none unless TimeAccess
	// gave it an Access.
	smp Sampler
}

// Engine is the runtime's handle on a Store: it sets the current key, reports
// failures, expires entries, and snapshots and restores the state. It owns
// its Store (Store returns it) and, like it, is used from the subtask's
// goroutine only.
type Engine[K comparable] struct {
	s Store[K]
}

// NewHeap returns an engine whose state lives on the heap, in Go maps:
// fastest, bounded by memory. now supplies processing time in Unix
// milliseconds (for time to live); nil means the wall clock.
func NewHeap[K comparable](now func() int64) *Engine[K] {
	if now == nil {
		now = func() int64 { return time.Now().UnixMilli() }
	}
	return &Engine[K]{s: Store[K]{now: now, clone: keygroup.Cloner[K](), tables: map[string]table[K]{}}}
}

// Store returns the store that user code registers its states on.
func (e *Engine[K]) Store() *Store[K] { return &e.s }

// SetKey sets the key whose entries the handles read and write. The runtime
// calls it before each call into user code.
func (e *Engine[K]) SetKey(k K) {
	e.s.key = k
	if e.s.kv != nil {
		e.s.kv.fresh = false // encoded again on the first access
	}
}

// Err returns the first error the store met: a failure of its KV (disk
// full, I/O error) or a value that could not be encoded or decoded. Handles
// cannot return errors, so the operator checks Err after each call into user
// code and fails the job with it; the job then restarts from its last
// checkpoint. After an error, reads may see absent values and writes may be
// lost. A heap store never fails.
func (e *Engine[K]) Err() error {
	if e.s.kv != nil {
		e.s.ready() // entries that Restore buffered fail here at the latest
	}
	return e.s.err
}

// fail records err unless an earlier error is already recorded.
func (s *Store[K]) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// ClearKey removes every entry of key k from every state.
func (e *Engine[K]) ClearKey(k K) {
	for _, t := range e.s.tables {
		t.remove(k)
	}
}

// Expire removes every entry whose time to live has passed. On a KV store
// it scans every state that has a time to live.
func (e *Engine[K]) Expire() {
	now := e.s.now()
	for _, t := range e.s.tables {
		t.expire(now)
	}
}

// Len returns the number of entries across all states, expired entries not
// yet removed included (for metrics and tests). On a KV store it scans every
// state.
func (e *Engine[K]) Len() int {
	n := 0
	for _, t := range e.s.tables {
		n += t.len()
	}
	return n
}

// table is what the store needs of one state, whatever its value type.
type table[K comparable] interface {
	remove(k K)
	expire(now int64)
	len() int
	snapshot(name string, groupOf func(K) int, emit EmitFunc) error
	restore(key, value []byte) error
}

// column is the storage of one state: one entry per key. keyed (heap) and
// kvColumn (KV) implement it.
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

// Cell is a state handle's reference to its column: the current key's entry
// of one state. Package state writes its handles once against it, whatever
// the backend.
//
// It holds the heap column as a concrete pointer so that the heap path makes
// direct calls, without an interface dispatch per access; exactly one of
// heap and kv is set.
type Cell[K comparable, T any] struct {
	heap *keyed[K, T]
	kv   *kvColumn[K, T]
}

// Get returns the current key's value and whether it is set; an expired
// entry reads as absent (and is removed).
func (c Cell[K, T]) Get() (T, bool) {
	if s := c.store(); s.smp.Sampled(OpGet) {
		start := time.Now()
		defer s.smp.Timed(OpGet, start)
	}
	if c.heap != nil {
		return c.heap.get()
	}
	return c.kv.get()
}

func (c Cell[K, T]) store() *Store[K] {
	if c.heap != nil {
		return c.heap.store
	}
	return c.kv.store
}

// Set writes the current key's value and stamps its write time, from which
// its time to live counts.
func (c Cell[K, T]) Set(v T) {
	if s := c.store(); s.smp.Sampled(OpPut) {
		start := time.Now()
		defer s.smp.Timed(OpPut, start)
	}
	if c.heap != nil {
		c.heap.set(v)
		return
	}
	c.kv.set(v)
}

// Update writes the current key's value, if it has one, and keeps its write
// time: an in-place change that does not count as a write for the time to
// live (a map entry removed). A KV column's Get returns a decoded copy, so a
// change to it must be written back with Update or Set.
func (c Cell[K, T]) Update(v T) {
	if s := c.store(); s.smp.Sampled(OpPut) {
		start := time.Now()
		defer s.smp.Timed(OpPut, start)
	}
	if c.heap != nil {
		c.heap.update(v)
		return
	}
	c.kv.update(v)
}

// Clear removes the current key's entry.
func (c Cell[K, T]) Clear() {
	if s := c.store(); s.smp.Sampled(OpDelete) {
		start := time.Now()
		defer s.smp.Timed(OpDelete, start)
	}
	if c.heap != nil {
		c.heap.remove(c.heap.store.key)
		return
	}
	c.kv.clear()
}

// Register returns the cell of the state kind:name ("value:count"), making
// its column on the store's backend the first time. Entries expire ttl after
// their last Set; 0 means never. Registering a name again gives the same
// column (its first ttl holds); registering it with another value type
// panics, since that is a programming error in the job.
func Register[T any, K comparable](s *Store[K], kind, name string, ttl time.Duration) Cell[K, T] {
	key := kind + ":" + name
	t, ok := s.tables[key]
	if !ok {
		if s.kv != nil {
			t = newKVColumn[K, T](s, key, ttl.Milliseconds())
		} else {
			t = newKeyed[K, T](s, ttl.Milliseconds())
		}
		s.tables[key] = t
	}
	switch c := t.(type) {
	case *keyed[K, T]:
		return Cell[K, T]{heap: c}
	case *kvColumn[K, T]:
		return Cell[K, T]{kv: c}
	}
	panic(fmt.Sprintf("state: %s %q registered twice with different types: give each state its own name", kind, name))
}
