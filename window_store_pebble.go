package weir

import (
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/window"
)

// kvPanes keeps panes in a keyedstate.KV (the pebble backend): a window may
// hold more keys than memory.
//
// Layout, chosen so that a checkpoint entry is a slice of the store's key:
// [key group uint16][window start, end: the checkpoint namespace, 16
// bytes][encoded key] -> [fired byte][encoded accumulator], the value of a
// paneState entry. A window fires by one prefix scan per key group.
type kvPanes[K comparable, A any] struct {
	base *keyedBase[K]
	kv   keyedstate.KV
	accs codec.Codec[A]

	sk   []byte // the store key of the entry get returned
	vbuf []byte
}

const kvPrefixLen = 2 + 16 // key group, window

func newKVPanes[K comparable, A any](base *keyedBase[K], kv keyedstate.KV) *kvPanes[K, A] {
	return &kvPanes[K, A]{base: base, kv: kv, accs: codec.For[A]()}
}

func (s *kvPanes[K, A]) storeKey(group int, win window.Window, key []byte) []byte {
	b := binary.BigEndian.AppendUint16(s.sk[:0], uint16(group))
	b = appendWindow(b, win)
	s.sk = append(b, key...)
	return s.sk
}

func (s *kvPanes[K, A]) get(win window.Window, k K, _ bool) (acc A, found bool, err error) {
	key, err := s.base.encodeKey(k)
	if err != nil {
		return acc, false, err
	}
	sk := s.storeKey(s.base.groupOf(k), win, key)
	v, ok, err := s.kv.Get(sk)
	if err != nil || !ok {
		return acc, false, err
	}
	if acc, _, err = s.accs.Decode(v[1:]); err != nil {
		return acc, false, fmt.Errorf("window state of %v: %w", win, err)
	}
	return acc, true, nil
}

func (s *kvPanes[K, A]) put(acc A, fired, _ bool) error {
	flag := byte(0)
	if fired {
		flag = 1
	}
	var err error
	if s.vbuf, err = s.accs.Append(append(s.vbuf[:0], flag), acc); err != nil {
		return err
	}
	return s.kv.Set(s.sk, s.vbuf)
}

func (s *kvPanes[K, A]) fire(win window.Window, emit func(K, A) (A, error), drop bool) error {
	for g := s.base.groups.Start; g < s.base.groups.End; g++ {
		prefix := appendWindow(binary.BigEndian.AppendUint16(nil, uint16(g)), win)
		err := s.kv.Scan(prefix, func(sk, v []byte) error {
			if emit != nil {
				k, err := s.base.decodeKey(sk[kvPrefixLen:])
				if err != nil {
					return err
				}
				acc, _, err := s.accs.Decode(v[1:])
				if err != nil {
					return err
				}
				if acc, err = emit(k, acc); err != nil {
					return err
				}
				if !drop {
					// Stored again: the window function may have updated
					// the accumulator.
					marked, err := s.accs.Append([]byte{1}, acc)
					if err != nil {
						return err
					}
					return s.kv.Set(slices.Clone(sk), marked)
				}
			}
			if drop {
				return s.kv.Delete(slices.Clone(sk))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// fireDirty is never called: EarlyFiring needs the heap backend, which
// keeps the list of changed keys.
func (s *kvPanes[K, A]) fireDirty(window.Window, func(K, A) (A, error)) error { return nil }

// snapshot emits the store's entries as they are: the layout makes each a
// paneState entry.
func (s *kvPanes[K, A]) snapshot(snap *job.OperatorSnapshot, _ map[window.Window]bool) error {
	for g := s.base.groups.Start; g < s.base.groups.End; g++ {
		prefix := binary.BigEndian.AppendUint16(nil, uint16(g))
		if err := s.kv.Scan(prefix, func(sk, v []byte) error {
			snap.AddKeyed(g, snapshot.Entry{State: paneState, Key: slices.Clone(sk[kvPrefixLen:]),
				Namespace: slices.Clone(sk[2:kvPrefixLen]), Value: slices.Clone(v)})
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

func (s *kvPanes[K, A]) restore(k K, win window.Window, key, value []byte) error {
	return s.kv.Set(slices.Clone(s.storeKey(s.base.groupOf(k), win, key)), slices.Clone(value))
}
