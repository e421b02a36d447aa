package keyedstate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/keygroup"
)

// MapCell is a map state handle's reference to its column: the current
// key's map of one state. On the heap backend the map is a Go map, the
// value of a heap column; on the KV backend every entry of it is a KV pair
// of its own (kvMapColumn), so that an access reads and writes one entry,
// not the whole map, and a map may grow large. Snapshots hold a key's whole
// map as one entry on both backends (invariant 3).
type MapCell[K, MK comparable, V any] struct {
	heap  *keyed[K, map[MK]V]
	kv    *kvMapColumn[K, MK, V]
	clone func(MK) MK // makes a new map key safe to keep (heap)
}

// RegisterMap returns the cell of the map state name ("map:name"), making
// its column on the store's backend the first time. A key's map expires
// ttl after its last Put; 0 means never. Registering a name again gives the
// same column; with other types it panics, as Register does.
func RegisterMap[MK comparable, V any, K comparable](s *Store[K], name string, ttl time.Duration) MapCell[K, MK, V] {
	key := "map:" + name
	t, ok := s.tables[key]
	if !ok {
		if s.kv != nil {
			t = newKVMapColumn[K, MK, V](s, key, ttl.Milliseconds())
		} else {
			t = newKeyed[K, map[MK]V](s, ttl.Milliseconds())
		}
		s.tables[key] = t
	}
	switch c := t.(type) {
	case *keyed[K, map[MK]V]:
		return MapCell[K, MK, V]{heap: c, clone: keygroup.Cloner[MK]()}
	case *kvMapColumn[K, MK, V]:
		return MapCell[K, MK, V]{kv: c}
	}
	panic(fmt.Sprintf("state: map %q registered twice with different types: give each state its own name", name))
}

func (c MapCell[K, MK, V]) store() *Store[K] {
	if c.heap != nil {
		return c.heap.store
	}
	return c.kv.store
}

// Get returns the value under mk in the current key's map.
func (c MapCell[K, MK, V]) Get(mk MK) (V, bool) {
	if s := c.store(); s.smp.Sampled(OpGet) {
		start := time.Now()
		defer s.smp.Timed(OpGet, start)
	}
	if c.heap != nil {
		cur, _ := c.heap.get()
		v, ok := cur[mk]
		return v, ok
	}
	return c.kv.get(mk)
}

// Put sets mk to v in the current key's map and stamps the map's write
// time. A string map key is copied: it may share memory with a record.
func (c MapCell[K, MK, V]) Put(mk MK, v V) {
	if s := c.store(); s.smp.Sampled(OpPut) {
		start := time.Now()
		defer s.smp.Timed(OpPut, start)
	}
	if c.heap != nil {
		cur, ok := c.heap.get()
		if !ok || cur == nil {
			cur = map[MK]V{}
		}
		cur[c.clone(mk)] = v
		c.heap.set(cur)
		return
	}
	c.kv.put(mk, v)
}

// Remove deletes mk from the current key's map, and the map with its last
// entry; the write time stays.
func (c MapCell[K, MK, V]) Remove(mk MK) {
	if s := c.store(); s.smp.Sampled(OpDelete) {
		start := time.Now()
		defer s.smp.Timed(OpDelete, start)
	}
	if c.heap != nil {
		cur, _ := c.heap.get()
		if _, ok := cur[mk]; ok {
			delete(cur, mk)
			if len(cur) == 0 {
				c.heap.remove(c.heap.store.key)
			}
		}
		return
	}
	c.kv.removeEntry(mk)
}

// All calls yield for every entry of the current key's map until it
// returns false. yield may Remove the entry it was given; whether it is
// given entries that were put or removed during the iteration is
// unspecified (the KV backend reads the map as it was when All began).
func (c MapCell[K, MK, V]) All(yield func(MK, V) bool) {
	if s := c.store(); s.smp.Sampled(OpGet) {
		start := time.Now()
		defer s.smp.Timed(OpGet, start)
	}
	if c.heap != nil {
		cur, _ := c.heap.get()
		for k, v := range cur {
			if !yield(k, v) {
				return
			}
		}
		return
	}
	c.kv.all(yield)
}

// Len returns the size of the current key's map. On the KV backend it
// counts the entries.
func (c MapCell[K, MK, V]) Len() int {
	if c.heap != nil {
		cur, _ := c.heap.get()
		return len(cur)
	}
	n := 0
	c.kv.scan(func(_, _ []byte) error { n++; return nil })
	return n
}

// Clear removes the current key's map.
func (c MapCell[K, MK, V]) Clear() {
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

// kvMapColumn is the KV column of a map state: one KV pair per entry.
//
//	key:   | table id | key group | uvarint length of the encoded key | encoded key | encoded map key |
//	value: | encoded value |
//
// The key's part up to the map key is the map's prefix: the length keeps
// one key's prefix from being the start of another key's. With a time to
// live the map has one more pair, its header: the prefix alone (an entry's
// key is longer: an encoded map key is never empty, since encodings end
// themselves), whose value is the map's write time (uvarint). Every Put
// writes it, so that, as on the heap backend, a Put keeps the whole map
// alive; the map exists while its header does.
type kvMapColumn[K, MK comparable, V any] struct {
	store  *Store[K]
	name   string // "map:name", for errors
	id     uint16
	ttl    int64 // ms; 0 = none
	mkeys  codec.Codec[MK]
	vals   codec.Codec[V]
	maps   codec.Codec[map[MK]V] // a snapshot entry's value
	prefix []byte                // see mapPrefix
	entry  []byte                // an entry's KV key
	val    []byte                // a value being written
}

func newKVMapColumn[K, MK comparable, V any](s *Store[K], name string, ttl int64) *kvMapColumn[K, MK, V] {
	return &kvMapColumn[K, MK, V]{store: s, name: name, id: s.kv.newTable(name), ttl: ttl,
		mkeys: codec.For[MK](), vals: codec.For[V](), maps: codec.For[map[MK]V]()}
}

var _ table[int] = (*kvMapColumn[int, int, int])(nil)

func (c *kvMapColumn[K, MK, V]) fail(op string, err error) {
	c.store.kvFail(c.name, op, err)
}

// mapPrefix returns the prefix of the current key's map, or false if the
// store has failed. The slice is the column's, valid until the next call.
func (c *kvMapColumn[K, MK, V]) mapPrefix() ([]byte, bool) {
	k, ok := c.store.currentKey(c.id, c.name)
	if !ok {
		return nil, false
	}
	c.prefix = toMapPrefix(c.prefix[:0], k)
	return c.prefix, true
}

// toMapPrefix appends the map prefix of a key's KV key as a value column
// lays it out (table id, key group, encoded key).
func toMapPrefix(dst, kvKey []byte) []byte {
	dst = append(dst, kvKey[:headerLen]...)
	dst = binary.AppendUvarint(dst, uint64(len(kvKey)-headerLen))
	return append(dst, kvKey[headerLen:]...)
}

// entryKey returns the KV key of mk in the map with the given prefix.
func (c *kvMapColumn[K, MK, V]) entryKey(prefix []byte, mk MK) ([]byte, bool) {
	var err error
	if c.entry, err = c.mkeys.Append(append(c.entry[:0], prefix...), mk); err != nil {
		c.store.fail(fmt.Errorf("state: encode a map key of %q: %w", c.name, err))
		return nil, false
	}
	return c.entry, true
}

// live reports whether the map with the given prefix may be read: without
// a time to live always (an absent map has no entries); with one, when its
// header is there and not expired. An expired map is removed.
func (c *kvMapColumn[K, MK, V]) live(prefix []byte) bool {
	if c.ttl == 0 {
		return true
	}
	raw, ok := c.store.kvGet(c.name, prefix)
	if !ok {
		return false
	}
	written, n := binary.Uvarint(raw)
	if n <= 0 {
		c.store.fail(fmt.Errorf("state: %q holds a map with a bad write time: the state backend's files are corrupt", c.name))
		return false
	}
	if c.store.now()-int64(written) >= c.ttl {
		c.deleteMap(prefix)
		return false
	}
	return true
}

func (c *kvMapColumn[K, MK, V]) get(mk MK) (V, bool) {
	var zero V
	p, ok := c.mapPrefix()
	if !ok || !c.live(p) {
		return zero, false
	}
	key, ok := c.entryKey(p, mk)
	if !ok {
		return zero, false
	}
	raw, ok := c.store.kvGet(c.name, key)
	if !ok {
		return zero, false
	}
	v, n, err := c.vals.Decode(raw)
	if err == nil && n != len(raw) {
		err = fmt.Errorf("value has %d bytes after its end", len(raw)-n)
	}
	if err != nil {
		c.store.fail(fmt.Errorf("state: decode a value of %q: %w", c.name, err))
		return zero, false
	}
	return v, true
}

func (c *kvMapColumn[K, MK, V]) put(mk MK, v V) {
	p, ok := c.mapPrefix()
	if !ok {
		return
	}
	kv := c.store.kv.kv
	if c.ttl > 0 {
		// An expired map's entries must not come back with the new one.
		c.live(p)
		c.val = binary.AppendUvarint(c.val[:0], uint64(c.store.now()))
		if err := kv.Set(p, c.val); err != nil {
			c.fail("write", err)
			return
		}
	}
	key, ok := c.entryKey(p, mk)
	if !ok {
		return
	}
	val, err := c.vals.Append(c.val[:0], v)
	if err != nil {
		c.store.fail(fmt.Errorf("state: encode a value of %q: %w", c.name, err))
		return
	}
	c.val = val
	if err := kv.Set(key, val); err != nil {
		c.fail("write", err)
	}
}

// errStop ends a scan early.
var errStop = errors.New("stop")

func (c *kvMapColumn[K, MK, V]) removeEntry(mk MK) {
	p, ok := c.mapPrefix()
	if !ok || !c.live(p) {
		return
	}
	key, ok := c.entryKey(p, mk)
	if !ok {
		return
	}
	if err := c.store.kv.kv.Delete(key); err != nil {
		c.fail("delete", err)
		return
	}
	if c.ttl == 0 {
		return
	}
	// The header goes with the last entry: an empty map is no map.
	empty := true
	c.scan(func(_, _ []byte) error { empty = false; return errStop })
	if empty {
		if err := c.store.kv.kv.Delete(p); err != nil {
			c.fail("delete", err)
		}
	}
}

// scan calls fn with the map key and value bytes of every entry of the
// current key's map, in key order, until fn returns an error; errStop ends
// it quietly.
func (c *kvMapColumn[K, MK, V]) scan(fn func(mk, v []byte) error) {
	p, ok := c.mapPrefix()
	if !ok || !c.live(p) {
		return
	}
	// A copy: fn may use the column, whose buffer p is.
	p = bytes.Clone(p)
	err := c.store.kv.kv.Scan(p, func(key, value []byte) error {
		if len(key) == len(p) {
			return nil // the header
		}
		return fn(key[len(p):], value)
	})
	if err != nil && !errors.Is(err, errStop) && c.store.err == nil {
		c.fail("scan", err)
	}
}

func (c *kvMapColumn[K, MK, V]) all(yield func(MK, V) bool) {
	c.scan(func(mkb, vb []byte) error {
		mk, err := decodeKey(c.mkeys, mkb)
		if err != nil {
			c.store.fail(fmt.Errorf("state: decode a map key of %q: %w", c.name, err))
			return errStop
		}
		v, err := decodeKey(c.vals, vb)
		if err != nil {
			c.store.fail(fmt.Errorf("state: decode a value of %q: %w", c.name, err))
			return errStop
		}
		if !yield(mk, v) {
			return errStop
		}
		return nil
	})
}

// deleteMap removes the map with the given prefix: its entries and header.
func (c *kvMapColumn[K, MK, V]) deleteMap(prefix []byte) { c.store.deleteRange(c.name, prefix) }

// prefixEnd returns the least key above every key with the map prefix.
// Some byte of it is below 0xff: the last of its uvarint length is below
// 0x80.
func prefixEnd(prefix []byte) []byte {
	end := bytes.Clone(prefix)
	i := len(end) - 1
	for end[i] == 0xff {
		i--
	}
	end[i]++
	return end[:i+1]
}

// clearKey removes the map of key k.
func (c *kvMapColumn[K, MK, V]) clearKey(k K) { c.store.deletePrefix(c.id, c.name, k) }

func (c *kvMapColumn[K, MK, V]) remove(k K) { c.clearKey(k) }

// expired reports whether a map whose header holds the given value has
// passed its time to live at now.
func (c *kvMapColumn[K, MK, V]) expired(header []byte, now int64) (bool, error) {
	if c.ttl == 0 {
		return false, nil
	}
	if header == nil {
		return true, nil // entries without a header: no map
	}
	written, n := binary.Uvarint(header)
	if n <= 0 {
		return false, fmt.Errorf("state: %q holds a map with a bad write time: the state backend's files are corrupt", c.name)
	}
	return now-int64(written) >= c.ttl, nil
}

func (c *kvMapColumn[K, MK, V]) expire(now int64) {
	if c.ttl == 0 {
		return
	}
	c.store.deleteExpired(c.id, c.name, func(header []byte) bool {
		old, err := c.expired(header, now)
		return old && err == nil
	})
}

// len counts the maps (one per key, as the heap column counts its entries).
func (c *kvMapColumn[K, MK, V]) len() int {
	if !c.store.ready() {
		return 0
	}
	n := 0
	err := eachPrefix(c.store, c.id, c.name, false, func(_, _ []byte, entries [][2][]byte) error {
		if len(entries) > 0 {
			n++
		}
		return nil
	})
	if err != nil {
		c.fail("count", err)
	}
	return n
}

// snapshot emits each key's whole map as one entry, as the heap column
// does: the map is decoded from its pairs and encoded again.
func (c *kvMapColumn[K, MK, V]) snapshot(name string, _ func(K) int, emit EmitFunc) error {
	if !c.store.ready() {
		return c.store.err
	}
	now := c.store.now()
	var slab []byte
	err := c.each(func(prefix, header []byte, entries [][2][]byte) error {
		old, err := c.expired(header, now)
		if err != nil || old || len(entries) == 0 {
			return err
		}
		var written uint64
		if header != nil {
			written, _ = binary.Uvarint(header)
		}
		m := make(map[MK]V, len(entries))
		for _, e := range entries {
			mk, err := decodeKey(c.mkeys, e[0])
			if err != nil {
				return fmt.Errorf("state: decode a map key of %q: %w", name, err)
			}
			v, err := decodeKey(c.vals, e[1])
			if err != nil {
				return fmt.Errorf("state: decode a value of %q: %w", name, err)
			}
			m[mk] = v
		}
		slab, err = emitWhole(slab, prefix, written, name, emit, func(b []byte) ([]byte, error) { return c.maps.Append(b, m) })
		return err
	})
	if err != nil {
		return fmt.Errorf("state: snapshot %q: %w", name, err)
	}
	return nil
}

// restore writes a snapshot entry's map as its pairs (and its header, with
// a time to live).
func (c *kvMapColumn[K, MK, V]) restore(key, value []byte) error {
	s := c.store
	prefix, written, m, err := restoredPrefix(s, c.id, c.maps, key, value)
	if err != nil {
		return err
	}
	if c.ttl > 0 && len(m) > 0 {
		if err := s.buffer(prefix, binary.AppendUvarint(nil, uint64(written))); err != nil {
			return err
		}
	}
	for mk, v := range m {
		ek, err := c.mkeys.Append(bytes.Clone(prefix), mk)
		if err != nil {
			return err
		}
		val, err := c.vals.Append(nil, v)
		if err != nil {
			return err
		}
		if err := s.buffer(ek, val); err != nil {
			return err
		}
	}
	return nil
}

// mapPrefixLen returns the length of the map prefix that a KV key of the
// column starts with, or false if the key is too short to hold one.
func mapPrefixLen(key []byte) (int, bool) {
	if len(key) <= headerLen {
		return 0, false
	}
	l, n := binary.Uvarint(key[headerLen:])
	if n <= 0 || uint64(len(key)-headerLen-n) < l {
		return 0, false
	}
	return headerLen + n + int(l), true
}

// each scans the whole column and calls fn once per map, in KV key order:
// with its prefix, its header's value (nil without a time to live) and its
// entries (map key and value bytes, valid during the call).
func (c *kvMapColumn[K, MK, V]) each(fn func(prefix, header []byte, entries [][2][]byte) error) error {
	return eachPrefix(c.store, c.id, c.name, true, fn)
}

// eachPrefix scans the table with the given id, laid out as kvMapColumn
// lays out its maps (a prefix per key, a header pair that is the prefix
// alone, entries after it), and calls fn once per prefix, in KV key order:
// with the prefix, the header's value (nil if there is none) and the
// entries (the key's bytes after the prefix, and the value), valid during
// the call. Without withEntries the entries are counted, not copied:
// they are empty pairs.
func eachPrefix[K comparable](s *Store[K], id uint16, name string, withEntries bool, fn func(prefix, header []byte, entries [][2][]byte) error) error {
	var (
		cur     []byte
		header  []byte
		entries [][2][]byte
		buf     []byte // copies of the current map's bytes
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		err := fn(cur, header, entries)
		cur, header, entries, buf = nil, nil, entries[:0], buf[:0]
		return err
	}
	err := s.kv.kv.Scan(binary.BigEndian.AppendUint16(nil, id), func(key, value []byte) error {
		n, ok := mapPrefixLen(key)
		if !ok {
			return fmt.Errorf("state: %q has a KV key of %d bytes without a key prefix: the state backend's files are corrupt", name, len(key))
		}
		if cur == nil || !bytes.Equal(cur, key[:n]) {
			if err := flush(); err != nil {
				return err
			}
			cur = bytes.Clone(key[:n])
		}
		if n == len(key) {
			header = bytes.Clone(value)
			return nil
		}
		if !withEntries {
			entries = append(entries, [2][]byte{})
			return nil
		}
		// Copied: the scan's slices are valid during its call only.
		start := len(buf)
		buf = append(append(buf, key[n:]...), value...)
		entries = append(entries, [2][]byte{buf[start : start+len(key)-n], buf[start+len(key)-n:]})
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}

// prefixOf returns the prefix of key k's map or list in the table with the
// given id.
func (s *Store[K]) prefixOf(id uint16, k K) ([]byte, error) {
	var err error
	if s.kv.other, err = s.kv.appendKey(s.kv.other[:0], id, k); err != nil {
		return nil, err
	}
	return toMapPrefix(nil, s.kv.other), nil
}

// deletePrefix removes every pair under the prefix of key k's map or list
// in the table with the given id (the state name is for errors).
func (s *Store[K]) deletePrefix(id uint16, name string, k K) {
	if !s.ready() {
		return
	}
	p, err := s.prefixOf(id, k)
	if err != nil {
		s.fail(fmt.Errorf("state: encode a key of %q: %w", name, err))
		return
	}
	s.deleteRange(name, p)
}

// deleteRange removes every pair under prefix.
func (s *Store[K]) deleteRange(name string, prefix []byte) {
	if err := s.kv.kv.DeleteRange(prefix, prefixEnd(prefix)); err != nil {
		s.fail(fmt.Errorf("state: delete %q in the state backend: %w (check the disk of the local state directory; the job restarts from its last checkpoint)", name, err))
	}
}

// deleteExpired removes every map or list of the table with the given id
// whose header old says has expired. A header it cannot read is left, to be
// reported when its map or list is read.
func (s *Store[K]) deleteExpired(id uint16, name string, old func(header []byte) bool) {
	if !s.ready() {
		return
	}
	var gone [][]byte
	err := eachPrefix(s, id, name, false, func(prefix, header []byte, _ [][2][]byte) error {
		if old(header) {
			gone = append(gone, bytes.Clone(prefix))
		}
		return nil
	})
	if err != nil {
		s.fail(fmt.Errorf("state: expire %q in the state backend: %w", name, err))
		return
	}
	for _, p := range gone {
		s.deleteRange(name, p)
	}
}

// restoredPrefix decodes a snapshot entry of a map or list state (key and
// whole value) for the table with the given id, and returns the prefix its
// pairs go under. The key is encoded again, not copied, so that the KV keys
// are canonical.
func restoredPrefix[K comparable, T any](s *Store[K], id uint16, vals codec.Codec[T], key, value []byte) (prefix []byte, written int64, v T, err error) {
	if s.err != nil {
		return nil, 0, v, s.err
	}
	k, err := decodeKey(s.kv.keys, key)
	if err != nil {
		return nil, 0, v, err
	}
	if written, v, err = decodeValue(vals, value); err != nil {
		return nil, 0, v, err
	}
	prefix, err = s.prefixOf(id, k)
	return prefix, written, v, err
}

// emitWhole carves from slab the snapshot entry of the map or list under
// prefix, as a value column's entry (the key, the write time, then what
// appendValue appends: the whole map or list), emits it and returns the
// rest of slab.
func emitWhole(slab, prefix []byte, written uint64, name string, emit EmitFunc, appendValue func([]byte) ([]byte, error)) ([]byte, error) {
	if cap(slab)-len(slab) < minSlabFree {
		slab = make([]byte, 0, slabSize)
	}
	// The encoded key follows the length in the prefix.
	_, n := binary.Uvarint(prefix[headerLen:])
	slab = append(slab, prefix[headerLen+n:]...)
	mid := len(slab)
	slab = binary.AppendUvarint(slab, written)
	slab, err := appendValue(slab)
	if err != nil {
		return nil, fmt.Errorf("state: encode a value of %q: %w", name, err)
	}
	emit(int(binary.BigEndian.Uint16(prefix[2:headerLen])), name, slab[:mid:mid], slab[mid:len(slab):len(slab)])
	return slab[len(slab):], nil
}
