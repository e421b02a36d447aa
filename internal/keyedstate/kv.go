package keyedstate

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/keygroup"
)

// KV is an ordered key-value store that keeps state off the Go heap. The
// pebble backend implements it. A store uses its KV from one goroutine (the
// subtask's), so implementations need not be safe for concurrent use.
//
// Keys and values passed in are only valid during the call: an
// implementation copies what it keeps. Keys order as bytes.Compare does.
type KV interface {
	// Get returns the value stored under key and whether there is one. The
	// value is valid until the next call into the KV.
	Get(key []byte) (value []byte, ok bool, err error)
	// Set stores value under key, replacing any previous value.
	Set(key, value []byte) error
	// Delete removes key; deleting an absent key is not an error.
	Delete(key []byte) error
	// Scan calls fn for every key with the prefix, in key order; the slices
	// are valid during the call. fn may call Delete (Expire removes entries
	// as it scans); whether the scan sees writes made during it is
	// unspecified. An error from fn stops the scan and is returned.
	Scan(prefix []byte, fn func(key, value []byte) error) error
	// DeleteRange removes every key in [start, end).
	DeleteRange(start, end []byte) error
}

// BatchSetter is an optional capability of a KV: storing many pairs in one
// write. Restore gives a KV that has it its entries in batches sorted by key,
// which an LSM applies several times faster than as many Sets.
type BatchSetter interface {
	// SetBatch stores values[i] under keys[i] for every i, in that order
	// (a later pair wins over an earlier one with the same key). The slices
	// are valid only during the call.
	SetBatch(keys, values [][]byte) error
}

// NewKV returns an engine whose state lives in kv, off the Go heap: for
// state larger than memory (the pebble backend). hash and maxParallelism
// place each key in its key group (keys are stored under their group so a
// snapshot streams group by group without decoding); they must be the ones
// the runtime uses to route records and to group snapshots. now supplies
// processing time in Unix milliseconds (for time to live); nil means the
// wall clock.
//
// kv should be empty: the store assigns its table ids afresh, in the order
// states are registered, and never reads ids back (checkpoints name states).
// A nil kv or hash, or a max parallelism outside [1, keygroup.UpperBound],
// is reported by Err before any state is touched.
//
// # Layout
//
// Every entry is one KV pair:
//
//	key:   | table id (uint16 BE) | key group (uint16 BE) | encoded key ... |
//	value: | write time (uvarint, Unix ms; 0 without TTL) | encoded value ... |
//
// The value is byte for byte a snapshot entry's value, so a snapshot is a
// scan and a copy, and a restore is a put. Restore buffers its puts, sorts
// them by KV key and writes them in batches (see BatchSetter); any other use
// of the store writes what is buffered first. Table ids follow registration
// order. Map and list states have one KV pair per entry or element instead
// (kvMapColumn, mapcell.go; kvListColumn, listcell.go), so that a Put or an
// Add does not grow with the map or the list.
func NewKV[K comparable](now func() int64, kv KV, hash func(K) uint64, maxParallelism int) *Engine[K] {
	e := NewHeap[K](now)
	s := &e.s
	s.kv = &kvStore[K]{kv: kv, hash: hash, maxParallelism: maxParallelism, keys: codec.For[K]()}
	switch {
	case kv == nil:
		s.err = errors.New("state: the KV backend needs a KV: open the state backend first")
	case hash == nil:
		s.err = errors.New("state: the KV backend needs the key hash the job routes records by")
	case maxParallelism < 1 || maxParallelism > keygroup.UpperBound:
		s.err = fmt.Errorf("state: max parallelism %d is out of range: use a value in [1, %d]", maxParallelism, keygroup.UpperBound)
	}
	return e
}

// kvStore is the KV backend's part of a Store.
type kvStore[K comparable] struct {
	kv             KV
	hash           func(K) uint64
	maxParallelism int
	keys           codec.Codec[K]
	nextID         int
	cur            []byte // KV key of the current key, table id left to the column
	fresh          bool   // cur holds the current key (SetKey clears it)
	other          []byte // KV key of another key (ClearKey, Restore)
	val            []byte // a value being written
	pending        []pair // restored entries not yet written, in pendBuf
	pendBuf        []byte
}

// pair locates a restored KV key and value, back to back in pendBuf:
// pendBuf[start:mid] and pendBuf[mid:end].
type pair struct{ start, mid, end int }

// Restored entries are written when restoreBatch of them, or restoreBytes,
// are buffered: big enough for sorting to pay, small against the memtable.
const (
	restoreBatch = 64 << 10
	restoreBytes = 4 << 20
)

// flush writes the buffered restored entries, sorted by key. Entries with
// one key keep their order (by position in pendBuf), so the later wins, as
// with Set; that is cheaper than a stable sort.
func (s *kvStore[K]) flush() error {
	buf := s.pendBuf
	slices.SortFunc(s.pending, func(a, b pair) int {
		if c := bytes.Compare(buf[a.start:a.mid], buf[b.start:b.mid]); c != 0 {
			return c
		}
		return a.start - b.start
	})
	var err error
	if b, ok := s.kv.(BatchSetter); ok {
		keys := make([][]byte, len(s.pending))
		vals := make([][]byte, len(s.pending))
		for i, p := range s.pending {
			keys[i], vals[i] = buf[p.start:p.mid], buf[p.mid:p.end]
		}
		err = b.SetBatch(keys, vals)
	} else {
		for _, p := range s.pending {
			if err = s.kv.Set(buf[p.start:p.mid], buf[p.mid:p.end]); err != nil {
				break
			}
		}
	}
	s.pending, s.pendBuf = s.pending[:0], s.pendBuf[:0]
	return err
}

// headerLen is the length of a KV key's table id and key group.
const headerLen = 4

// appendKey appends the KV key of k, in the table with the given id.
func (s *kvStore[K]) appendKey(dst []byte, id uint16, k K) ([]byte, error) {
	g := keygroup.Of(s.hash(k), s.maxParallelism)
	dst = binary.BigEndian.AppendUint16(dst, id)
	dst = binary.BigEndian.AppendUint16(dst, uint16(g))
	return s.keys.Append(dst, k)
}

// kvColumn is the KV column: the entries of one state, under one table id.
type kvColumn[K comparable, T any] struct {
	store *Store[K]
	name  string // "kind:name", for errors
	id    uint16
	ttl   int64 // ms; 0 = none
	vals  codec.Codec[T]
}

func newKVColumn[K comparable, T any](s *Store[K], name string, ttl int64) *kvColumn[K, T] {
	return &kvColumn[K, T]{store: s, name: name, id: s.kv.newTable(name), ttl: ttl, vals: codec.For[T]()}
}

// newTable returns the id of a new table, for the state name.
func (s *kvStore[K]) newTable(name string) uint16 {
	id := s.nextID
	if id > math.MaxUint16 {
		panic(fmt.Sprintf("state: %s is state number %d of one operator; a KV store holds at most %d: use fewer states", name, id+1, math.MaxUint16+1))
	}
	s.nextID++
	return uint16(id)
}

// buffer adds a restored pair to the pending writes (see flush), and
// writes them when enough are buffered.
func (s *Store[K]) buffer(key, value []byte) error {
	kv := s.kv
	start := len(kv.pendBuf)
	kv.pendBuf = append(kv.pendBuf, key...)
	mid := len(kv.pendBuf)
	kv.pendBuf = append(kv.pendBuf, value...)
	return s.addPending(start, mid)
}

// fail records a KV failure.
func (c *kvColumn[K, T]) fail(op string, err error) { c.store.kvFail(c.name, op, err) }

// kvFail records a failure of op on state name in the KV store.
func (s *Store[K]) kvFail(name, op string, err error) {
	s.fail(fmt.Errorf("state: %s %q in the state backend: %w (check the disk of the local state directory; the job restarts from its last checkpoint)", op, name, err))
}

// kvGet reads key from the KV store for state name: false when the key is
// absent or the read failed, which it records.
func (s *Store[K]) kvGet(name string, key []byte) ([]byte, bool) {
	raw, ok, err := s.kv.kv.Get(key)
	if err != nil {
		s.kvFail(name, "read", err)
		return nil, false
	}
	return raw, ok
}

// addPending adds the pair that pendBuf holds from start, its value from
// mid, to the pending writes, and writes them when enough are buffered.
func (s *Store[K]) addPending(start, mid int) error {
	kv := s.kv
	kv.pending = append(kv.pending, pair{start, mid, len(kv.pendBuf)})
	if len(kv.pending) >= restoreBatch || len(kv.pendBuf) >= restoreBytes {
		if !s.ready() {
			return s.err
		}
	}
	return nil
}

// ready writes the entries that Restore buffered, and reports whether the
// store may be used: after a failure, reads see absent values and writes are
// dropped, so that one error is not followed by many.
func (s *Store[K]) ready() bool {
	if len(s.kv.pending) > 0 {
		if err := s.kv.flush(); err != nil {
			s.fail(fmt.Errorf("state: write restored state to the state backend: %w (check the disk of the local state directory)", err))
		}
	}
	return s.err == nil
}

// key returns the KV key of the current key, or false if the store has
// failed (see ready).
func (c *kvColumn[K, T]) key() ([]byte, bool) { return c.store.currentKey(c.id, c.name) }

// currentKey returns the KV key of the current key in the table with the
// given id (the state name is for errors), or false if the store has failed
// (see ready). The slice is the store's, valid until the next call.
func (s *Store[K]) currentKey(id uint16, name string) ([]byte, bool) {
	if !s.ready() {
		return nil, false
	}
	kv := s.kv
	if !kv.fresh {
		var err error
		if kv.cur, err = kv.appendKey(kv.cur[:0], id, s.key); err != nil {
			s.fail(fmt.Errorf("state: encode the key of %q: %w", name, err))
			return nil, false
		}
		kv.fresh = true
	}
	binary.BigEndian.PutUint16(kv.cur, id)
	return kv.cur, true
}

func (c *kvColumn[K, T]) get() (T, bool) {
	var zero T
	key, ok := c.key()
	if !ok {
		return zero, false
	}
	raw, ok := c.store.kvGet(c.name, key)
	if !ok {
		return zero, false
	}
	written, n := binary.Uvarint(raw)
	if n <= 0 {
		c.store.fail(fmt.Errorf("state: %q holds a value with a bad write time: the state backend's files are corrupt", c.name))
		return zero, false
	}
	if c.ttl > 0 && c.store.now()-int64(written) >= c.ttl {
		if err := c.store.kv.kv.Delete(key); err != nil {
			c.fail("delete", err)
		}
		return zero, false
	}
	v, _, err := c.vals.Decode(raw[n:])
	if err != nil {
		c.store.fail(fmt.Errorf("state: decode a value of %q: %w", c.name, err))
		return zero, false
	}
	return v, true
}

func (c *kvColumn[K, T]) set(v T) {
	var written int64
	if c.ttl > 0 {
		written = c.store.now()
	}
	c.put(v, written)
}

func (c *kvColumn[K, T]) update(v T) {
	key, ok := c.key()
	if !ok {
		return
	}
	raw, ok := c.store.kvGet(c.name, key)
	if !ok {
		return
	}
	written, n := binary.Uvarint(raw)
	if n <= 0 {
		c.store.fail(fmt.Errorf("state: %q holds a value with a bad write time: the state backend's files are corrupt", c.name))
		return
	}
	c.put(v, int64(written))
}

func (c *kvColumn[K, T]) put(v T, written int64) {
	key, ok := c.key()
	if !ok {
		return
	}
	kv := c.store.kv
	val, err := c.vals.Append(binary.AppendUvarint(kv.val[:0], uint64(written)), v)
	if err != nil {
		c.store.fail(fmt.Errorf("state: encode a value of %q: %w", c.name, err))
		return
	}
	kv.val = val
	if err := kv.kv.Set(key, val); err != nil {
		c.fail("write", err)
	}
}

// clear removes the current key's entry.
func (c *kvColumn[K, T]) clear() {
	if key, ok := c.key(); ok {
		if err := c.store.kv.kv.Delete(key); err != nil {
			c.fail("delete", err)
		}
	}
}

func (c *kvColumn[K, T]) remove(k K) {
	s := c.store
	if k == s.key {
		c.clear()
		return
	}
	if !s.ready() {
		return
	}
	var err error
	if s.kv.other, err = s.kv.appendKey(s.kv.other[:0], c.id, k); err != nil {
		s.fail(fmt.Errorf("state: encode a key of %q: %w", c.name, err))
		return
	}
	if err := s.kv.kv.Delete(s.kv.other); err != nil {
		c.fail("delete", err)
	}
}

// prefix returns the prefix of the table's KV keys.
func (c *kvColumn[K, T]) prefix() []byte { return binary.BigEndian.AppendUint16(nil, c.id) }

func (c *kvColumn[K, T]) len() int {
	if !c.store.ready() {
		return 0
	}
	n := 0
	if err := c.store.kv.kv.Scan(c.prefix(), func(_, _ []byte) error { n++; return nil }); err != nil {
		c.fail("count", err)
	}
	return n
}

func (c *kvColumn[K, T]) expire(now int64) {
	if c.ttl == 0 || !c.store.ready() {
		return
	}
	kv := c.store.kv.kv
	err := kv.Scan(c.prefix(), func(key, value []byte) error {
		written, n := binary.Uvarint(value)
		if n <= 0 || now-int64(written) < c.ttl {
			return nil // a bad entry is reported when it is read
		}
		return kv.Delete(key)
	})
	if err != nil {
		c.fail("expire", err)
	}
}

func (c *kvColumn[K, T]) snapshot(name string, _ func(K) int, emit EmitFunc) error {
	if !c.store.ready() {
		return c.store.err
	}
	now := c.store.now()
	var slab []byte
	err := c.store.kv.kv.Scan(c.prefix(), func(key, value []byte) error {
		if len(key) < headerLen {
			return fmt.Errorf("state: %q has a KV key of %d bytes, shorter than its header: the state backend's files are corrupt", name, len(key))
		}
		if c.ttl > 0 {
			written, n := binary.Uvarint(value)
			if n <= 0 {
				return fmt.Errorf("state: %q holds a value with a bad write time: the state backend's files are corrupt", name)
			}
			if now-int64(written) >= c.ttl {
				return nil
			}
		}
		group := int(binary.BigEndian.Uint16(key[2:headerLen]))
		// Copy into a shared slab: one allocation per slab, not per entry.
		n := len(key) - headerLen + len(value)
		if cap(slab) < n {
			slab = make([]byte, 0, max(slabSize, n))
		}
		slab = append(append(slab, key[headerLen:]...), value...)
		mid := len(slab) - len(value)
		emit(group, name, slab[:mid:mid], slab[mid:n:n])
		slab = slab[n:]
		return nil
	})
	if err != nil {
		return fmt.Errorf("state: snapshot %q: %w", name, err)
	}
	return nil
}

func (c *kvColumn[K, T]) restore(key, value []byte) error {
	s := c.store
	if s.err != nil {
		return s.err
	}
	k, err := decodeKey(s.kv.keys, key)
	if err != nil {
		return err
	}
	// Decoded only to check it: a corrupt entry, or one of another type,
	// fails here rather than at its first read.
	if _, _, err := decodeValue(c.vals, value); err != nil {
		return err
	}
	// Encoded again, not copied, so that the KV key is canonical even if
	// the entry's encoding is not.
	kv := s.kv
	start := len(kv.pendBuf)
	if kv.pendBuf, err = kv.appendKey(kv.pendBuf, c.id, k); err != nil {
		kv.pendBuf = kv.pendBuf[:start]
		return err
	}
	mid := len(kv.pendBuf)
	kv.pendBuf = append(kv.pendBuf, value...)
	return s.addPending(start, mid)
}
