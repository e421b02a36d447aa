// Package keyindex keeps keys in the order they came, each at its
// position, and finds a key's position: the index of a window pane, whose
// accumulators sit in a slice beside it and are fired in that order.
//
// A Go map from key to position did the same with each key stored twice,
// once in the map and once in the slice the pane fires from, in slots of
// key and position at most 7/8 full: 29 to 57 bytes a string key besides
// the second copy. An Index stores each key once, in the order slice, and
// finds it through a table of 8-byte slots (open addressing, at most half
// full): 16 to 32 bytes a key besides the key itself, in a table small
// enough to stay in the cache.
package keyindex

import "hash/maphash"

// Index is a set of keys in the order they were added. Its zero value is
// empty and ready to use. It is not safe for concurrent use.
type Index[K comparable] struct {
	seed maphash.Seed
	// slots holds, for each key, the upper half of its hash and its
	// position + 1, at the first free slot from its hash's lower bits on;
	// 0 is a free slot. Its length is a power of two, at least twice the
	// keys'.
	slots []uint64
	keys  []K
}

// minSlots is the size of an index's first table.
const minSlots = 16

// Len returns the number of keys.
func (x *Index[K]) Len() int { return len(x.keys) }

// Keys returns the keys in the order they were added, the key at
// position i at i. The slice is the index's own: read it, do not keep it
// past the next Add or Reset.
func (x *Index[K]) Keys() []K { return x.keys }

// Find returns k's position and true, or -1 and false when k is not in x.
func (x *Index[K]) Find(k K) (int32, bool) {
	if len(x.keys) == 0 {
		return -1, false
	}
	h := maphash.Comparable(x.seed, k)
	tag := h &^ (1<<32 - 1)
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := x.slots[i]
		if s == 0 {
			return -1, false
		}
		if s&^(1<<32-1) == tag && x.keys[uint32(s)-1] == k {
			return int32(uint32(s) - 1), true
		}
	}
}

// Add adds k, which must not be in x, at the next position, and returns
// the position.
func (x *Index[K]) Add(k K) int32 {
	if 2*(len(x.keys)+1) > len(x.slots) {
		x.grow()
	}
	pos := int32(len(x.keys))
	x.keys = append(x.keys, k)
	x.insert(maphash.Comparable(x.seed, k), pos)
	return pos
}

// Reset empties x and keeps its room for as many keys as it held.
func (x *Index[K]) Reset() {
	clear(x.slots)
	clear(x.keys) // holds no key for the collector
	x.keys = x.keys[:0]
}

// Grow makes room for n more keys, so that adding them does not grow the
// table again and again.
func (x *Index[K]) Grow(n int) {
	want := max(minSlots, 2*(len(x.keys)+n))
	if want <= len(x.slots) {
		return
	}
	size := minSlots
	for size < want {
		size *= 2
	}
	x.rehash(size)
	if cap(x.keys)-len(x.keys) < n {
		keys := make([]K, len(x.keys), len(x.keys)+n)
		copy(keys, x.keys)
		x.keys = keys
	}
}

func (x *Index[K]) grow() { x.rehash(max(minSlots, 2*len(x.slots))) }

// rehash makes the table size slots long and puts every key in it.
func (x *Index[K]) rehash(size int) {
	if x.slots == nil {
		x.seed = maphash.MakeSeed()
	}
	x.slots = make([]uint64, size)
	for pos, k := range x.keys {
		x.insert(maphash.Comparable(x.seed, k), int32(pos))
	}
}

// insert puts position pos of a key with hash h in the first free slot.
func (x *Index[K]) insert(h uint64, pos int32) {
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i] != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = h&^(1<<32-1) | uint64(pos+1)
}
