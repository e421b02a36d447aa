package state_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/weirstream/weir/internal/backend/pebble"
	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/state"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// backend is one way to make a store; every test of the handles runs on
// each, since handles must behave the same on both.
type backend struct {
	name string
	kv   func(tb testing.TB) keyedstate.KV // nil for the heap
}

var backends = []backend{
	{name: "heap"},
	{name: "pebble", kv: openPebble},
}

func openPebble(tb testing.TB) keyedstate.KV {
	tb.Helper()
	db, err := pebble.Open(tb.TempDir() + "/db")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

// newStore makes a store of backend b. The tests play the runtime: they
// hold the engine, which sets the current key, and make handles on its
// Store, as user code does.
func newStore[K comparable](tb testing.TB, b backend, now func() int64) *keyedstate.Engine[K] {
	tb.Helper()
	if b.kv == nil {
		return keyedstate.NewHeap[K](now)
	}
	h, err := keygroup.Hasher[K]()
	if err != nil {
		tb.Fatal(err)
	}
	return keyedstate.NewKV(now, b.kv(tb), h, keygroup.DefaultMaxParallelism)
}

// eachBackend runs fn as a subtest on every backend.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { fn(t, b) })
	}
}

// checkErr fails the test if the store met an error.
func checkErr[K comparable](t testing.TB, s *keyedstate.Engine[K]) {
	t.Helper()
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestHandles(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStore[int64](t, b, nil)
		v := state.ValueOf[string](s.Store(), "v")
		l := state.ListOf[int](s.Store(), "l")
		m := state.MapOf[string, []int](s.Store(), "m")
		r := state.ReducingOf[int64](s.Store(), "max", func(a, b int64) int64 { return max(a, b) })
		s.SetKey(-3)

		v.Set("x")
		v.Clear()
		if _, ok := v.Get(); ok {
			t.Fatal("value survived Clear")
		}
		l.Update([]int{1, 2})
		l.Add(3)
		if got := l.Get(); len(got) != 3 || got[2] != 3 {
			t.Fatalf("list = %v", got)
		}
		l.Clear()
		if l.Get() != nil {
			t.Fatal("list survived Clear")
		}
		m.Put("a", []int{1})
		m.Put("b", []int{2, 3})
		m.Remove("a")
		m.Remove("absent")
		if _, ok := m.Get("a"); ok || m.Len() != 1 {
			t.Fatalf("map after Remove: len %d", m.Len())
		}
		n := 0
		m.All(func(k string, v []int) bool { n++; return k == "b" && len(v) == 2 })
		if n != 1 {
			t.Fatalf("All visited %d entries, want 1", n)
		}
		m.Remove("b")
		if s.Len() != 0 {
			t.Fatalf("removing a map's last entry left %d entries", s.Len())
		}
		r.Add(4)
		r.Add(9)
		r.Add(2)
		if x, _ := r.Get(); x != 9 {
			t.Fatalf("reducing = %d, want 9", x)
		}
		r.Clear()
		if _, ok := r.Get(); ok {
			t.Fatal("reducing survived Clear")
		}
		checkErr(t, s)
	})
}

func TestSameNameSameState(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStore[int](t, b, nil)
		a := state.ValueOf[int](s.Store(), "x")
		c := state.ValueOf[int](s.Store(), "x")
		s.SetKey(1)
		a.Set(3)
		if n, _ := c.Get(); n != 3 {
			t.Fatal("two handles of one name see different state")
		}
		defer func() {
			if recover() == nil {
				t.Fatal("re-registering with another type did not panic")
			}
		}()
		state.ValueOf[string](s.Store(), "x")
	})
}
