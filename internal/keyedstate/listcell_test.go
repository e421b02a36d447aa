package keyedstate_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/state"
)

// TestListAgainstAModel runs random list operations over a few keys on
// every backend and checks each result against Go slices; halfway, and at
// the end, it snapshots, restores on every backend and checks again.
func TestListAgainstAModel(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		rng := rand.New(rand.NewPCG(3, 4))
		s := newStore[string](t, b, nil)
		l := state.ListOf[string](s.Store(), "l")
		model := map[string][]string{} // a key with an empty list has a nil entry
		keys := []string{"a", "b", "ab", "abc", ""}
		check := func(t *testing.T, s *keyedstate.Engine[string], l state.List[string]) {
			t.Helper()
			for _, k := range keys {
				s.SetKey(k)
				if got := l.Get(); !slices.Equal(got, model[k]) {
					t.Fatalf("key %q: Get gives %q, want %q", k, got, model[k])
				}
			}
			if n := s.Len(); n != len(model) {
				t.Fatalf("the store counts %d lists, want %d", n, len(model))
			}
			checkErr(t, s)
		}
		for i := range 3000 {
			k := keys[rng.IntN(len(keys))]
			s.SetKey(k)
			switch op := rng.IntN(10); {
			case op < 6:
				v := fmt.Sprint(i)
				l.Add(v)
				model[k] = append(model[k], v)
			case op < 8:
				var vs []string
				for j := range rng.IntN(4) {
					vs = append(vs, fmt.Sprint(i, ".", j))
				}
				l.Update(vs)
				model[k] = vs
			case op < 9:
				l.Clear()
				delete(model, k)
			default:
				other := keys[rng.IntN(len(keys))]
				s.ClearKey(other)
				delete(model, other)
			}
			if i == 1500 || i == 2999 {
				check(t, s, l)
				ents := snapshot(t, s)
				for _, to := range backends {
					t.Run(fmt.Sprintf("op%d-to-%s", i, to.name), func(t *testing.T) {
						d := newStore[string](t, to, nil)
						dl := state.ListOf[string](d.Store(), "l")
						restore(t, d, ents)
						check(t, d, dl)
						if again := snapshot(t, d); !slices.EqualFunc(ents, again, sameEntry) {
							t.Fatalf("the snapshot differs after a round trip through %s", to.name)
						}
					})
				}
			}
		}
	})
}

// TestListTTL: an Add keeps the whole list alive; once it expired, an Add
// starts a new one; Expire removes expired lists and keeps live ones.
func TestListTTL(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		now := int64(1000)
		s := newStore[int](t, b, func() int64 { return now })
		l := state.ListOf[string](s.Store(), "l", state.TTL(time.Second))
		s.SetKey(1)
		l.Add("x")
		now += 600
		l.Add("y")
		now += 600
		if got := l.Get(); !slices.Equal(got, []string{"x", "y"}) {
			t.Fatalf("list %q: an Add did not keep it alive", got)
		}
		now += 400 // expired; not read before the next Add
		l.Add("z")
		if got := l.Get(); !slices.Equal(got, []string{"z"}) {
			t.Fatalf("list %q after an expired list's Add, want [z]", got)
		}
		s.SetKey(2)
		l.Add("w")
		now += 500
		s.SetKey(1)
		l.Add("q")
		now += 500 // key 2's list expired, key 1's not
		s.Expire()
		if s.Len() != 1 {
			t.Fatalf("Expire left %d lists, want key 1's", s.Len())
		}
		if got := l.Get(); !slices.Equal(got, []string{"z", "q"}) {
			t.Fatalf("key 1's list is %q after Expire", got)
		}
		now += 500
		s.Expire()
		if s.Len() != 0 {
			t.Fatalf("Expire kept %d expired lists", s.Len())
		}
		checkErr(t, s)
	})
}

// TestKVListWritesOneElement: on the KV backend, an Add to a long list
// writes that element and the list's header, not the list.
func TestKVListWritesOneElement(t *testing.T) {
	kv := &countingKV{KV: openPebble(t)}
	s := keyedstate.NewKV(nil, kv, mustHasher[string](t), maxPar)
	l := state.ListOf[[64]byte](s.Store(), "l")
	s.SetKey("k")
	for i := range 10000 {
		l.Add([64]byte{byte(i)})
	}
	before := kv.written
	l.Add([64]byte{1, 2, 3})
	if w := kv.written - before; w > 200 {
		t.Fatalf("an Add to a list of 10,000 elements wrote %d bytes", w)
	}
	if got := l.Get(); len(got) != 10001 || got[10000][2] != 3 {
		t.Fatalf("the list has %d elements after the Add", len(got))
	}
	checkErr(t, s)
}
