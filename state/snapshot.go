package state

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// EmitFunc receives one encoded entry of a snapshot: the key group of its
// key, the state's name, and the encoded key and value. The slices are the
// receiver's to keep.
type EmitFunc func(group int, state string, key, value []byte)

// Snapshot encodes every entry of every state and passes it to emit, with
// the key group that groupOf assigns to its key. States are visited in
// name order. Expired entries are left out.
func (s *Store[K]) Snapshot(groupOf func(K) int, emit EmitFunc) error {
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

// Restore puts back one entry that Snapshot emitted. The state must have
// been registered (ValueOf and friends) before; an entry of a state that is
// not registered gives an error that names it, so the caller can warn and
// go on (a state was removed from the job).
func (s *Store[K]) Restore(state string, key, value []byte) error {
	t, ok := s.tables[state]
	if !ok {
		return fmt.Errorf("state: the checkpoint holds state %q, which this job does not register", state)
	}
	if err := t.restore(key, value); err != nil {
		return fmt.Errorf("state: restore %q: %w", state, err)
	}
	return nil
}

// An entry's value is the uvarint write time (Unix ms, for TTL; 0 without
// TTL) followed by the encoded value.
func (t *keyed[K, T]) snapshot(name string, groupOf func(K) int, emit EmitFunc) error {
	now := t.store.now()
	for k, e := range t.m {
		if t.ttl > 0 && now-e.written >= t.ttl {
			continue
		}
		key, err := t.keys.Append(nil, k)
		if err != nil {
			return fmt.Errorf("state: encode a key of %q: %w", name, err)
		}
		val := binary.AppendUvarint(nil, uint64(e.written))
		if val, err = t.vals.Append(val, e.v); err != nil {
			return fmt.Errorf("state: encode a value of %q: %w", name, err)
		}
		emit(groupOf(k), name, key, val)
	}
	return nil
}

func (t *keyed[K, T]) restore(key, value []byte) error {
	k, n, err := t.keys.Decode(key)
	if err != nil {
		return err
	}
	if n != len(key) {
		return fmt.Errorf("key has %d bytes after its end", len(key)-n)
	}
	written, n := binary.Uvarint(value)
	if n <= 0 {
		return fmt.Errorf("bad write time")
	}
	v, m, err := t.vals.Decode(value[n:])
	if err != nil {
		return err
	}
	if n+m != len(value) {
		return fmt.Errorf("value has %d bytes after its end", len(value)-n-m)
	}
	t.m[t.store.clone(k)] = &entry[T]{v: v, written: int64(written)}
	return nil
}
