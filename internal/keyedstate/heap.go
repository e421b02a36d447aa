package keyedstate

import (
	"encoding/binary"
	"fmt"

	"github.com/weirstream/weir/codec"
)

// entry is a value with the time it was last written, for TTL.
type entry[T any] struct {
	v       T
	written int64
}

// keyed is the heap column: a Go map with one entry per key.
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

func newKeyed[K comparable, T any](s *Store[K], ttl int64) *keyed[K, T] {
	return &keyed[K, T]{store: s, ttl: ttl, m: map[K]*entry[T]{}, keys: codec.For[K](), vals: codec.For[T]()}
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

func (t *keyed[K, T]) update(v T) {
	if e := t.m[t.store.key]; e != nil {
		e.v = v
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

func (t *keyed[K, T]) snapshot(name string, groupOf func(K) int, emit EmitFunc) error {
	now := t.store.now()
	var slab []byte
	for k, e := range t.m {
		if t.ttl > 0 && now-e.written >= t.ttl {
			continue
		}
		// Key and value are encoded back to back into a shared slab, so a
		// snapshot allocates per slab rather than twice per entry. slab is
		// empty here: it starts at the slab's free space.
		if cap(slab) < minSlabFree {
			slab = make([]byte, 0, slabSize)
		}
		var err error
		if slab, err = t.keys.Append(slab, k); err != nil {
			return fmt.Errorf("state: encode a key of %q: %w", name, err)
		}
		mid := len(slab)
		slab = binary.AppendUvarint(slab, uint64(e.written))
		if slab, err = t.vals.Append(slab, e.v); err != nil {
			return fmt.Errorf("state: encode a value of %q: %w", name, err)
		}
		emit(groupOf(k), name, slab[:mid:mid], slab[mid:len(slab):len(slab)])
		slab = slab[len(slab):]
	}
	return nil
}

func (t *keyed[K, T]) restore(key, value []byte) error {
	k, err := decodeKey(t.keys, key)
	if err != nil {
		return err
	}
	written, v, err := decodeValue(t.vals, value)
	if err != nil {
		return err
	}
	t.m[t.store.clone(k)] = &entry[T]{v: v, written: written}
	return nil
}
