package keyedstate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/weirstream/weir/codec"
)

// EmitFunc receives one encoded entry of a snapshot: the key group of its
// key, the state's name, and the encoded key and value. The slices are the
// receiver's to keep (they may share a backing array with other entries, but
// never overlap them).
type EmitFunc func(group int, state string, key, value []byte)

// ErrUnknownState is wrapped by the error Restore returns for an entry of a
// state that the job does not register.
var ErrUnknownState = errors.New("state: unknown state")

// Snapshot encodes every entry of every state and passes it to emit, with
// the key group that groupOf assigns to its key. States are visited in
// name order. Expired entries are left out.
//
// Entries are the canonical checkpoint format, the same on every backend:
// the state is "kind:name"; the key is the key's codec encoding; the value is
// the uvarint write time (Unix ms, for TTL; 0 without TTL) followed by the
// value's codec encoding.
//
// A heap store emits in no particular order within a state. A KV store emits
// in key-group order within a state and takes each entry's group from its KV
// key (placed by the hash and max parallelism given to NewKV) without
// calling groupOf, so the runtime must give both the same placement. A store
// whose Err is set refuses to snapshot, since its state may be incomplete.
func (e *Engine[K]) Snapshot(groupOf func(K) int, emit EmitFunc) error {
	s := &e.s
	if s.err != nil {
		return fmt.Errorf("state: cannot snapshot a store that failed: %w", s.err)
	}
	names := make([]string, 0, len(s.tables))
	for name := range s.tables {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := s.tables[name].snapshot(name, groupOf, emit); err != nil {
			return err
		}
	}
	return nil
}

// Restore puts back one entry that Snapshot emitted, on either backend. The
// state must have been registered before (by the user function, through
// state.ValueOf and friends, which the runtime creates first); an entry of a
// state that is not registered gives an error that wraps ErrUnknownState
// and names it, so the caller can warn and go on (a state was removed from
// the job). Any other error means the entry is corrupt or does not match the
// state's types, or the KV failed (then Err reports it too). A KV store
// buffers restored entries and writes them in sorted batches: a KV failure
// may surface at a later Restore, or through Err.
func (e *Engine[K]) Restore(state string, key, value []byte) error {
	t, ok := e.s.tables[state]
	if !ok {
		return fmt.Errorf("%w: the checkpoint holds state %q, which this job does not register", ErrUnknownState, state)
	}
	if err := t.restore(key, value); err != nil {
		return fmt.Errorf("state: restore %q: %w", state, err)
	}
	return nil
}

// Snapshots carve entries from slabs of slabSize bytes, and start a new slab
// when less than minSlabFree is left (an entry that outgrows its slab gets
// its own array from append).
const (
	slabSize    = 64 << 10
	minSlabFree = 256
)

// decodeKey decodes an entry's key, which must be exactly one encoded key.
func decodeKey[K any](c codec.Codec[K], key []byte) (K, error) {
	k, n, err := c.Decode(key)
	if err != nil {
		return k, err
	}
	if n != len(key) {
		return k, fmt.Errorf("key has %d bytes after its end", len(key)-n)
	}
	return k, nil
}

// decodeValue decodes an entry's value: the uvarint write time, then exactly
// one encoded value.
func decodeValue[T any](c codec.Codec[T], value []byte) (written int64, v T, err error) {
	w, n := binary.Uvarint(value)
	if n <= 0 {
		return 0, v, errors.New("bad write time")
	}
	v, m, err := c.Decode(value[n:])
	if err != nil {
		return 0, v, err
	}
	if n+m != len(value) {
		return 0, v, fmt.Errorf("value has %d bytes after its end", len(value)-n-m)
	}
	return int64(w), v, nil
}
