package keyedstate

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/weirstream/weir/codec"
)

// ListCell is a list state handle's reference to its column: the current
// key's list of one state. On the heap backend the list is a slice, the
// value of a heap column; on the KV backend every element is a KV pair of
// its own (kvListColumn), so that Add writes one element, not the whole
// list. Snapshots hold a key's whole list as one entry on both backends
// (invariant 3).
type ListCell[K comparable, T any] struct {
	heap *keyed[K, []T]
	kv   *kvListColumn[K, T]
}

// RegisterList returns the cell of the list state name ("list:name"),
// making its column on the store's backend the first time. A key's list
// expires ttl after its last Add or Update; 0 means never. Registering a
// name again gives the same column; with another type it panics, as
// Register does.
func RegisterList[T any, K comparable](s *Store[K], name string, ttl time.Duration) ListCell[K, T] {
	key := "list:" + name
	t, ok := s.tables[key]
	if !ok {
		if s.kv != nil {
			t = newKVListColumn[K, T](s, key, ttl.Milliseconds())
		} else {
			t = newKeyed[K, []T](s, ttl.Milliseconds())
		}
		s.tables[key] = t
	}
	switch c := t.(type) {
	case *keyed[K, []T]:
		return ListCell[K, T]{heap: c}
	case *kvListColumn[K, T]:
		return ListCell[K, T]{kv: c}
	}
	panic(fmt.Sprintf("state: list %q registered twice with different types: give each state its own name", name))
}

func (c ListCell[K, T]) store() *Store[K] {
	if c.heap != nil {
		return c.heap.store
	}
	return c.kv.store
}

// Get returns the current key's list, nil if it has none. On the heap
// backend the slice is the state's own.
func (c ListCell[K, T]) Get() []T {
	if s := c.store(); s.smp.Sampled(OpGet) {
		start := time.Now()
		defer s.smp.Timed(OpGet, start)
	}
	if c.heap != nil {
		v, _ := c.heap.get()
		return v
	}
	return c.kv.get()
}

// Add appends v to the current key's list and stamps its write time.
func (c ListCell[K, T]) Add(v T) {
	if s := c.store(); s.smp.Sampled(OpPut) {
		start := time.Now()
		defer s.smp.Timed(OpPut, start)
	}
	if c.heap != nil {
		cur, _ := c.heap.get()
		c.heap.set(append(cur, v))
		return
	}
	c.kv.add(v)
}

// Update replaces the current key's list with a copy of vs and stamps its
// write time.
func (c ListCell[K, T]) Update(vs []T) {
	if s := c.store(); s.smp.Sampled(OpPut) {
		start := time.Now()
		defer s.smp.Timed(OpPut, start)
	}
	if c.heap != nil {
		c.heap.set(append([]T(nil), vs...))
		return
	}
	c.kv.update(vs)
}

// Clear removes the current key's list.
func (c ListCell[K, T]) Clear() {
	if s := c.store(); s.smp.Sampled(OpDelete) {
		start := time.Now()
		defer s.smp.Timed(OpDelete, start)
	}
	if c.heap != nil {
		c.heap.remove(c.heap.store.key)
		return
	}
	c.kv.clearKey(c.kv.store.key)
}

// kvListColumn is the KV column of a list state: a pair per element, under
// the list's prefix as kvMapColumn lays out a map's.
//
//	header:  | prefix | -> | uvarint write time | uvarint next position |
//	element: | prefix | position (uint64 BE) | -> | encoded element |
//
// The header is the list: a key has a list, maybe empty (Update with none),
// while its header is there. Positions grow from 0 in the order of Add.
type kvListColumn[K comparable, T any] struct {
	store  *Store[K]
	name   string // "list:name", for errors
	id     uint16
	ttl    int64 // ms; 0 = none
	vals   codec.Codec[T]
	lists  codec.Codec[[]T] // a snapshot entry's value
	prefix []byte
	elem   []byte
	val    []byte
}

func newKVListColumn[K comparable, T any](s *Store[K], name string, ttl int64) *kvListColumn[K, T] {
	return &kvListColumn[K, T]{store: s, name: name, id: s.kv.newTable(name), ttl: ttl,
		vals: codec.For[T](), lists: codec.For[[]T]()}
}

var _ table[int] = (*kvListColumn[int, int])(nil)

func (c *kvListColumn[K, T]) fail(op string, err error) {
	c.store.kvFail(c.name, op, err)
}

// listPrefix returns the prefix of the current key's list, or false if the
// store has failed. The slice is the column's, valid until the next call.
func (c *kvListColumn[K, T]) listPrefix() ([]byte, bool) {
	k, ok := c.store.currentKey(c.id, c.name)
	if !ok {
		return nil, false
	}
	c.prefix = toMapPrefix(c.prefix[:0], k)
	return c.prefix, true
}

// header returns the next position of the list with the given prefix, and
// false if there is no list (an expired one is removed).
func (c *kvListColumn[K, T]) header(prefix []byte) (uint64, bool) {
	raw, ok := c.store.kvGet(c.name, prefix)
	if !ok {
		return 0, false
	}
	written, next, err := decodeListHeader(raw)
	if err != nil {
		c.store.fail(fmt.Errorf("state: %q: %w: the state backend's files are corrupt", c.name, err))
		return 0, false
	}
	if c.ttl > 0 && c.store.now()-int64(written) >= c.ttl {
		c.deleteList(prefix)
		return 0, false
	}
	return next, true
}

func decodeListHeader(raw []byte) (written, next uint64, err error) {
	written, n := binary.Uvarint(raw)
	if n <= 0 {
		return 0, 0, fmt.Errorf("a list with a bad write time")
	}
	next, m := binary.Uvarint(raw[n:])
	if m <= 0 || n+m != len(raw) {
		return 0, 0, fmt.Errorf("a list with a bad header")
	}
	return written, next, nil
}

// writeHeader writes the header of the list with the given prefix.
func (c *kvListColumn[K, T]) writeHeader(prefix []byte, next uint64) bool {
	var written int64
	if c.ttl > 0 {
		written = c.store.now()
	}
	c.val = binary.AppendUvarint(binary.AppendUvarint(c.val[:0], uint64(written)), next)
	if err := c.store.kv.kv.Set(prefix, c.val); err != nil {
		c.fail("write", err)
		return false
	}
	return true
}

// writeElement writes the element at position pos of the list with the
// given prefix.
func (c *kvListColumn[K, T]) writeElement(prefix []byte, pos uint64, v T) bool {
	c.elem = binary.BigEndian.AppendUint64(append(c.elem[:0], prefix...), pos)
	val, err := c.vals.Append(c.val[:0], v)
	if err != nil {
		c.store.fail(fmt.Errorf("state: encode a value of %q: %w", c.name, err))
		return false
	}
	c.val = val
	if err := c.store.kv.kv.Set(c.elem, val); err != nil {
		c.fail("write", err)
		return false
	}
	return true
}

func (c *kvListColumn[K, T]) get() []T {
	p, ok := c.listPrefix()
	if !ok {
		return nil
	}
	if _, ok := c.header(p); !ok {
		return nil
	}
	var out []T
	err := c.store.kv.kv.Scan(p, func(key, value []byte) error {
		if len(key) == len(p) {
			return nil // the header
		}
		v, err := decodeKey(c.vals, value)
		if err != nil {
			return fmt.Errorf("state: decode a value of %q: %w", c.name, err)
		}
		out = append(out, v)
		return nil
	})
	if err != nil {
		c.fail("read", err)
		return nil
	}
	return out
}

func (c *kvListColumn[K, T]) add(v T) {
	p, ok := c.listPrefix()
	if !ok {
		return
	}
	next, _ := c.header(p) // 0 for a new list, and for one that expired
	if c.writeElement(p, next, v) {
		c.writeHeader(p, next+1)
	}
}

func (c *kvListColumn[K, T]) update(vs []T) {
	p, ok := c.listPrefix()
	if !ok {
		return
	}
	c.deleteList(p)
	for i, v := range vs {
		if !c.writeElement(p, uint64(i), v) {
			return
		}
	}
	c.writeHeader(p, uint64(len(vs)))
}

// deleteList removes the list with the given prefix: its elements and
// header.
func (c *kvListColumn[K, T]) deleteList(prefix []byte) { c.store.deleteRange(c.name, prefix) }

// clearKey removes the list of key k.
func (c *kvListColumn[K, T]) clearKey(k K) { c.store.deletePrefix(c.id, c.name, k) }

func (c *kvListColumn[K, T]) remove(k K) { c.clearKey(k) }

// each calls fn for every list of the column: its prefix, write time and
// elements (valid during the call; empty pairs without withElems). Element
// pairs without a header are no list and are left out.
func (c *kvListColumn[K, T]) each(withElems bool, fn func(prefix []byte, written uint64, elems [][2][]byte) error) error {
	return eachPrefix(c.store, c.id, c.name, withElems, func(prefix, header []byte, elems [][2][]byte) error {
		if header == nil {
			return nil
		}
		written, _, err := decodeListHeader(header)
		if err != nil {
			return fmt.Errorf("state: %q: %w: the state backend's files are corrupt", c.name, err)
		}
		return fn(prefix, written, elems)
	})
}

func (c *kvListColumn[K, T]) expire(now int64) {
	if c.ttl == 0 {
		return
	}
	c.store.deleteExpired(c.id, c.name, func(header []byte) bool {
		if header == nil {
			return false // elements without a header are no list
		}
		written, _, err := decodeListHeader(header)
		return err == nil && now-int64(written) >= c.ttl
	})
}

// len counts the lists (one per key, as the heap column counts entries).
func (c *kvListColumn[K, T]) len() int {
	if !c.store.ready() {
		return 0
	}
	n := 0
	if err := c.each(false, func([]byte, uint64, [][2][]byte) error { n++; return nil }); err != nil {
		c.fail("count", err)
	}
	return n
}

// snapshot emits each key's whole list as one entry, as the heap column
// does.
func (c *kvListColumn[K, T]) snapshot(name string, _ func(K) int, emit EmitFunc) error {
	if !c.store.ready() {
		return c.store.err
	}
	now := c.store.now()
	var slab []byte
	err := c.each(true, func(prefix []byte, written uint64, elems [][2][]byte) error {
		if c.ttl > 0 && now-int64(written) >= c.ttl {
			return nil
		}
		var list []T
		for _, e := range elems {
			v, err := decodeKey(c.vals, e[1])
			if err != nil {
				return fmt.Errorf("state: decode a value of %q: %w", name, err)
			}
			list = append(list, v)
		}
		var err error
		slab, err = emitWhole(slab, prefix, written, name, emit, func(b []byte) ([]byte, error) { return c.lists.Append(b, list) })
		return err
	})
	if err != nil {
		return fmt.Errorf("state: snapshot %q: %w", name, err)
	}
	return nil
}

// restore writes a snapshot entry's list as its header and elements.
func (c *kvListColumn[K, T]) restore(key, value []byte) error {
	s := c.store
	prefix, written, list, err := restoredPrefix(s, c.id, c.lists, key, value)
	if err != nil {
		return err
	}
	header := binary.AppendUvarint(binary.AppendUvarint(nil, uint64(written)), uint64(len(list)))
	if err := s.buffer(prefix, header); err != nil {
		return err
	}
	for i, v := range list {
		val, err := c.vals.Append(nil, v)
		if err != nil {
			return err
		}
		if err := s.buffer(binary.BigEndian.AppendUint64(bytes.Clone(prefix), uint64(i)), val); err != nil {
			return err
		}
	}
	return nil
}
