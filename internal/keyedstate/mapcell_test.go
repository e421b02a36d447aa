package keyedstate_test

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/state"
)

// TestMapAgainstAModel runs random map operations over a few keys on every
// backend and checks each result against Go maps; halfway, and at the end,
// it snapshots, restores on every backend and checks again.
func TestMapAgainstAModel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		rng := rand.New(rand.NewPCG(1, 2))
		s := newStore[string](t, b, nil)
		m := state.MapOf[int64, string](s.Store(), "m")
		model := map[string]map[int64]string{}
		keys := []string{"a", "b", "ab", "abc", ""} // prefixes of each other, and the empty key
		check := func(t *testing.T, s *keyedstate.Engine[string], m state.Map[int64, string]) {
			t.Helper()
			for _, k := range keys {
				s.SetKey(k)
				got := map[int64]string{}
				for mk, v := range m.All {
					got[mk] = v
				}
				if !maps.Equal(got, model[k]) && len(got)+len(model[k]) > 0 {
					t.Fatalf("key %q: All gives %v, want %v", k, got, model[k])
				}
				if m.Len() != len(model[k]) {
					t.Fatalf("key %q: Len %d, want %d", k, m.Len(), len(model[k]))
				}
			}
			checkErr(t, s)
		}
		for i := range 4000 {
			k := keys[rng.IntN(len(keys))]
			mk := rng.Int64N(64) - 8 // negative keys too
			s.SetKey(k)
			switch op := rng.IntN(10); {
			case op < 5:
				v := fmt.Sprint(i)
				m.Put(mk, v)
				if model[k] == nil {
					model[k] = map[int64]string{}
				}
				model[k][mk] = v
			case op < 8:
				m.Remove(mk)
				delete(model[k], mk)
				if len(model[k]) == 0 {
					delete(model, k)
				}
			case op < 9:
				got, ok := m.Get(mk)
				want, wantOK := model[k][mk]
				if got != want || ok != wantOK {
					t.Fatalf("op %d: key %q: Get(%d) = %q %v, want %q %v", i, k, mk, got, ok, want, wantOK)
				}
			default:
				if rng.IntN(4) == 0 {
					m.Clear()
				} else { // another key's, as the runtime clears a key
					other := keys[rng.IntN(len(keys))]
					s.ClearKey(other)
					k = other
				}
				delete(model, k)
			}
			if i == 2000 || i == 3999 {
				check(t, s, m)
				if n := s.Len(); n != len(model) {
					t.Fatalf("the store counts %d maps, want %d", n, len(model))
				}
				ents := snapshot(t, s)
				for _, to := range backends {
					t.Run(fmt.Sprintf("op%d-to-%s", i, to.name), func(t *testing.T) {
						d := newStore[string](t, to, nil)
						dm := state.MapOf[int64, string](d.Store(), "m")
						restore(t, d, ents)
						check(t, d, dm)
						if again := snapshot(t, d); !slices.EqualFunc(ents, again, sameEntry) {
							t.Fatalf("the snapshot differs after a round trip through %s", to.name)
						}
					})
				}
			}
		}
		// Removing entries while All visits them.
		s.SetKey("a")
		for mk := range m.All {
			m.Remove(mk)
			delete(model["a"], mk)
		}
		delete(model, "a")
		check(t, s, m)
	})
}

func sameEntry(a, b entry) bool {
	return a.group == b.group && a.state == b.state && string(a.key) == string(b.key) && string(a.value) == string(b.value)
}

// TestMapTTL: a Put keeps a key's whole map alive; once it expired, its
// entries are gone, also for a Put that starts it again; Expire removes
// expired maps and keeps live ones.
func TestMapTTL(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		now := int64(1000)
		s := newStore[int](t, b, func() int64 { return now })
		m := state.MapOf[string, int](s.Store(), "m", state.TTL(time.Second))
		s.SetKey(3)
		m.Put("v", 5)
		s.SetKey(1)
		m.Put("x", 1)
		now += 600
		m.Put("y", 2) // refreshes x too
		now += 600
		if v, ok := m.Get("x"); !ok || v != 1 || m.Len() != 2 {
			t.Fatalf("x = %d %v, len %d: a Put did not keep the map alive", v, ok, m.Len())
		}
		now += 400 // expired; not read before the next Put
		m.Put("z", 3)
		if _, ok := m.Get("x"); ok || m.Len() != 1 {
			t.Fatalf("an expired map's entries came back with a new Put: len %d", m.Len())
		}
		s.SetKey(3) // written at the start
		if _, ok := m.Get("v"); ok || m.Len() != 0 {
			t.Fatal("an expired map's entry read as present")
		}
		s.SetKey(2)
		m.Put("w", 4)
		m.Remove("w") // the last entry: no map is left
		if s.Len() != 1 {
			t.Fatalf("the store counts %d maps, want 1", s.Len())
		}
		// A snapshot and a restore keep the write time.
		ents := snapshot(t, s)
		now += 999
		s.Expire()
		s.SetKey(1)
		if v, ok := m.Get("z"); !ok || v != 3 {
			t.Fatal("Expire removed a live map")
		}
		d := newStore[int](t, b, func() int64 { return now })
		dm := state.MapOf[string, int](d.Store(), "m", state.TTL(time.Second))
		restore(t, d, ents)
		d.SetKey(1)
		if v, ok := dm.Get("z"); !ok || v != 3 {
			t.Fatal("a restored live map is missing")
		}
		now++
		s.Expire()
		d.Expire()
		if s.Len() != 0 || d.Len() != 0 {
			t.Fatalf("Expire kept expired maps: %d and %d", s.Len(), d.Len())
		}
		checkErr(t, s)
		checkErr(t, d)
	})
}

// countingKV counts the bytes written to a KV.
type countingKV struct {
	keyedstate.KV
	written int
}

func (c *countingKV) Set(key, value []byte) error {
	c.written += len(key) + len(value)
	return c.KV.Set(key, value)
}

// TestKVMapWritesOneEntry: on the KV backend, a Put into a large map writes
// that entry, not the map, and a Get reads it alone.
func TestKVMapWritesOneEntry(t *testing.T) {
	kv := &countingKV{KV: openPebble(t)}
	s := keyedstate.NewKV(nil, kv, mustHasher[string](t), maxPar)
	m := state.MapOf[int64, [64]byte](s.Store(), "m")
	s.SetKey("k")
	for i := range int64(10000) {
		m.Put(i, [64]byte{byte(i)})
	}
	before := kv.written
	m.Put(5000, [64]byte{1, 2, 3})
	if w := kv.written - before; w > 200 {
		t.Fatalf("a Put into a map of 10,000 entries wrote %d bytes", w)
	}
	if v, ok := m.Get(5000); !ok || v[2] != 3 {
		t.Fatal("the Put is not there")
	}
	checkErr(t, s)
}
