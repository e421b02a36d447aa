package keyedstate_test

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weirstream/weir/internal/backend/pebble"
	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/state"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const maxPar = keygroup.DefaultMaxParallelism

// backend is one way to make a store; every test of the handles runs on each.
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

// newStore makes a store of backend b, placing keys as the runtime does.
// Tests play the runtime: they hold the engine and register states on its
// Store, as user code does.
func newStore[K comparable](tb testing.TB, b backend, now func() int64) *keyedstate.Engine[K] {
	tb.Helper()
	if b.kv == nil {
		return keyedstate.NewHeap[K](now)
	}
	return keyedstate.NewKV(now, b.kv(tb), mustHasher[K](tb), maxPar)
}

func mustHasher[K comparable](tb testing.TB) func(K) uint64 {
	h, err := keygroup.Hasher[K]()
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// groupOf is the runtime's placement of keys in key groups.
func groupOf[K comparable](tb testing.TB) func(K) int {
	h := mustHasher[K](tb)
	return func(k K) int { return keygroup.Of(h(k), maxPar) }
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

func TestScopedByKey(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStore[string](t, b, nil)
		v := state.ValueOf[int](s.Store(), "n")
		l := state.ListOf[string](s.Store(), "l")
		m := state.MapOf[string, int](s.Store(), "m")
		r := state.ReducingOf[int](s.Store(), "sum", func(a, b int) int { return a + b })

		s.SetKey("a")
		v.Set(1)
		l.Add("x")
		m.Put("p", 1)
		r.Add(2)
		r.Add(3)
		s.SetKey("b")
		if _, ok := v.Get(); ok {
			t.Fatal("key b sees key a's value")
		}
		v.Set(2)
		s.SetKey("a")
		if n, _ := v.Get(); n != 1 {
			t.Fatalf("key a value = %d, want 1", n)
		}
		if got := l.Get(); len(got) != 1 || got[0] != "x" {
			t.Fatalf("list = %v", got)
		}
		if x, ok := m.Get("p"); !ok || x != 1 || m.Len() != 1 {
			t.Fatalf("map get = %d %v", x, ok)
		}
		if x, _ := r.Get(); x != 5 {
			t.Fatalf("reducing = %d, want 5", x)
		}
		if n := s.Len(); n != 5 {
			t.Fatalf("store holds %d entries, want 5", n)
		}
		s.SetKey("b") // ClearKey of a key that is not the current one
		s.ClearKey("a")
		s.SetKey("a")
		if _, ok := v.Get(); ok || l.Get() != nil || m.Len() != 0 {
			t.Fatal("ClearKey left entries")
		}
		if s.Len() != 1 {
			t.Fatalf("store holds %d entries, want 1 (key b's value)", s.Len())
		}
		checkErr(t, s)
	})
}

func TestTTL(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		now := int64(1000)
		s := newStore[int](t, b, func() int64 { return now })
		v := state.ValueOf[string](s.Store(), "v", state.TTL(time.Second))
		s.SetKey(7)
		v.Set("x")
		now += 999
		if _, ok := v.Get(); !ok {
			t.Fatal("expired early")
		}
		now += 1
		if _, ok := v.Get(); ok {
			t.Fatal("expired value returned")
		}
		if s.Len() != 0 {
			t.Fatal("reading an expired entry did not remove it")
		}
		v.Set("y")
		now += 5000
		s.Expire()
		if s.Len() != 0 {
			t.Fatal("Expire kept an expired entry")
		}
		checkErr(t, s)
	})
}

func TestTTLExpireKeepsLive(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		var now int64
		s := newStore[int](t, b, func() int64 { return now })
		v := state.ValueOf[int](s.Store(), "v", state.TTL(time.Minute))
		m := state.MapOf[string, int](s.Store(), "m", state.TTL(time.Minute))
		forever := state.ValueOf[int](s.Store(), "forever")
		const base = 1_000_000
		for k := range 100 {
			now = base + int64(k)*1000
			s.SetKey(k)
			v.Set(k)
			forever.Set(k)
		}
		now = base + 39*1000 + 60_000 // keys 0..39 have expired
		s.Expire()
		live := 0
		for k := range 100 {
			s.SetKey(k)
			if _, ok := v.Get(); ok {
				live++
			}
			if _, ok := forever.Get(); !ok {
				t.Fatalf("key %d: a state without TTL expired", k)
			}
		}
		if live != 60 {
			t.Fatalf("%d live entries after Expire, want 60", live)
		}
		// Removing a map entry is not a write: it keeps the map's stamp.
		s.SetKey(1000)
		m.Put("a", 1)
		m.Put("b", 2)
		now += 59_000
		m.Remove("a")
		now += 1_000
		if m.Len() != 0 {
			t.Fatal("removing a map entry refreshed the map's time to live")
		}
		checkErr(t, s)
	})
}
