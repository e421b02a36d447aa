package keyedstate_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/state"
)

// memKV is a KV in a Go map: the simplest implementation of the contract,
// and the base of failKV.
type memKV struct{ m map[string][]byte }

func newMemKV() *memKV { return &memKV{m: map[string][]byte{}} }

func (kv *memKV) Get(key []byte) ([]byte, bool, error) {
	v, ok := kv.m[string(key)]
	return v, ok, nil
}

func (kv *memKV) Set(key, value []byte) error {
	kv.m[string(key)] = bytes.Clone(value)
	return nil
}

func (kv *memKV) Delete(key []byte) error {
	delete(kv.m, string(key))
	return nil
}

func (kv *memKV) Scan(prefix []byte, fn func(key, value []byte) error) error {
	var keys []string
	for k := range kv.m {
		if strings.HasPrefix(k, string(prefix)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if v, ok := kv.m[k]; ok {
			if err := fn([]byte(k), v); err != nil {
				return err
			}
		}
	}
	return nil
}

func (kv *memKV) DeleteRange(start, end []byte) error {
	for k := range kv.m {
		if k >= string(start) && k < string(end) {
			delete(kv.m, k)
		}
	}
	return nil
}

// failKV fails every call with err while err is set.
type failKV struct {
	memKV
	err error
}

var errDisk = errors.New("disk on fire")

func (kv *failKV) Get(key []byte) ([]byte, bool, error) {
	if kv.err != nil {
		return nil, false, kv.err
	}
	return kv.memKV.Get(key)
}

func (kv *failKV) Set(key, value []byte) error {
	if kv.err != nil {
		return kv.err
	}
	return kv.memKV.Set(key, value)
}

func (kv *failKV) Delete(key []byte) error {
	if kv.err != nil {
		return kv.err
	}
	return kv.memKV.Delete(key)
}

func (kv *failKV) Scan(prefix []byte, fn func(key, value []byte) error) error {
	if kv.err != nil {
		return kv.err
	}
	return kv.memKV.Scan(prefix, fn)
}

type entry struct {
	group      int
	state      string
	key, value []byte
}

func (e entry) String() string {
	return fmt.Sprintf("%s g%d %x=%x", e.state, e.group, e.key, e.value)
}

// snapshot returns a store's entries, sorted by state and key.
func snapshot[K comparable](tb testing.TB, s *keyedstate.Engine[K]) []entry {
	tb.Helper()
	var ents []entry
	err := s.Snapshot(groupOf[K](tb), func(g int, st string, k, v []byte) {
		ents = append(ents, entry{g, st, k, v})
	})
	if err != nil {
		tb.Fatal(err)
	}
	slices.SortFunc(ents, func(a, b entry) int {
		return cmpOr(strings.Compare(a.state, b.state), bytes.Compare(a.key, b.key))
	})
	return ents
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}

func restore[K comparable](tb testing.TB, s *keyedstate.Engine[K], ents []entry) {
	tb.Helper()
	for _, e := range ents {
		if err := s.Restore(e.state, e.key, e.value); err != nil {
			tb.Fatal(err)
		}
	}
}

// visit is a user's record type, stored as CBOR.
type visit struct {
	Page  string
	Count int
	At    time.Time
}

// job registers the states of a test job and fills them, or checks them.
type job struct {
	n     state.Value[int64]
	seen  state.List[string]
	pages state.Map[string, int]
	sum   state.Reducing[float64]
	last  state.Value[visit]
	temp  state.Value[string] // with TTL
}

func register(s *keyedstate.Engine[string]) *job {
	return &job{
		n:     state.ValueOf[int64](s.Store(), "n"),
		seen:  state.ListOf[string](s.Store(), "seen"),
		pages: state.MapOf[string, int](s.Store(), "pages"),
		sum:   state.ReducingOf[float64](s.Store(), "sum", func(a, b float64) float64 { return a + b }),
		last:  state.ValueOf[visit](s.Store(), "last"),
		temp:  state.ValueOf[string](s.Store(), "temp", state.TTL(time.Minute)),
	}
}

const jobKeys = 500

func jobKey(i int) string { return fmt.Sprintf("client-%d", i) }

func (j *job) fill(s *keyedstate.Engine[string], now *int64) {
	for i := range jobKeys {
		s.SetKey(jobKey(i))
		j.n.Set(int64(i) - 100)
		j.seen.Add("a")
		j.seen.Add(jobKey(i))
		j.pages.Put("/", i)
		j.pages.Put(fmt.Sprintf("/p/%d", i%7), 1)
		j.sum.Add(0.5)
		j.sum.Add(float64(i))
		if i%3 == 0 {
			j.last.Set(visit{Page: "/x", Count: i, At: time.Unix(int64(i), 0).UTC()})
		}
		*now = int64(i) * 100
		j.temp.Set("t")
	}
	*now = 79_900 // temps of keys below 200 have expired
}

func (j *job) check(tb testing.TB, s *keyedstate.Engine[string]) {
	tb.Helper()
	for i := range jobKeys {
		s.SetKey(jobKey(i))
		if n, _ := j.n.Get(); n != int64(i)-100 {
			tb.Fatalf("key %d: n = %d", i, n)
		}
		if l := j.seen.Get(); len(l) != 2 || l[1] != jobKey(i) {
			tb.Fatalf("key %d: seen = %v", i, l)
		}
		if x, _ := j.pages.Get("/"); x != i || j.pages.Len() != 2 {
			tb.Fatalf("key %d: pages[/] = %d, len %d", i, x, j.pages.Len())
		}
		if x, _ := j.sum.Get(); x != float64(i)+0.5 {
			tb.Fatalf("key %d: sum = %v", i, x)
		}
		if v, ok := j.last.Get(); ok != (i%3 == 0) || ok && (v.Count != i || v.At.Unix() != int64(i)) {
			tb.Fatalf("key %d: last = %+v, %v", i, v, ok)
		}
		if _, ok := j.temp.Get(); ok != (i >= 200) {
			tb.Fatalf("key %d: temp present = %v", i, ok)
		}
	}
}

// TestCrossBackend checkpoints on one backend and restores on the other, in
// every direction: the entries must come back byte for byte.
func TestCrossBackend(t *testing.T) {
	for _, from := range backends {
		for _, to := range backends {
			t.Run(from.name+"-to-"+to.name, func(t *testing.T) {
				var now int64
				src := newStore[string](t, from, func() int64 { return now })
				j := register(src)
				j.fill(src, &now)
				checkErr(t, src)
				ents := snapshot(t, src)
				// 500 keys × 4 states, 167 "last" values, and the 300 temps
				// that have not expired.
				if want := jobKeys*4 + 167 + 300; len(ents) != want {
					t.Fatalf("%d entries, want %d", len(ents), want)
				}
				keys := codec.For[string]()
				for _, e := range ents {
					k, _, err := keys.Decode(e.key)
					if err != nil {
						t.Fatal(err)
					}
					if g := groupOf[string](t)(k); e.group != g {
						t.Fatalf("%v: group %d, want %d", e, e.group, g)
					}
				}

				dst := newStore[string](t, to, func() int64 { return now })
				jd := register(dst)
				restore(t, dst, ents)
				checkErr(t, dst)
				again := snapshot(t, dst)
				if !slices.EqualFunc(ents, again, func(a, b entry) bool {
					return a.group == b.group && a.state == b.state && bytes.Equal(a.key, b.key) && bytes.Equal(a.value, b.value)
				}) {
					t.Fatalf("entries differ after a round trip:\n%v\n%v", ents[:3], again[:3])
				}
				jd.check(t, dst)
				checkErr(t, dst)
			})
		}
	}
}

// TestSnapshotGroupOrder checks that a KV store emits each state's entries
// in key-group order, which lets a snapshot writer stream them.
func TestSnapshotGroupOrder(t *testing.T) {
	s := newStore[int](t, backends[1], nil)
	v := state.ValueOf[int](s.Store(), "v")
	for k := range 2000 {
		s.SetKey(k)
		v.Set(k)
	}
	last := -1
	err := s.Snapshot(nil, func(g int, _ string, _, _ []byte) { // groupOf unused on KV
		if g < last {
			t.Fatalf("group %d after group %d", g, last)
		}
		last = g
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRestoreErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStore[string](t, b, nil)
		state.ValueOf[int64](s.Store(), "n")
		good := []byte{0, 0, 0, 0, 0, 0, 0, 0, 9} // write time 0, int64
		key := []byte{1, 'a'}
		if err := s.Restore("value:n", key, good); err != nil {
			t.Fatal(err)
		}
		if err := s.Restore("value:gone", key, good); !errors.Is(err, keyedstate.ErrUnknownState) {
			t.Fatalf("unregistered state: %v, want ErrUnknownState", err)
		}
		for _, c := range []struct{ key, value []byte }{
			{[]byte{5, 'a'}, good},      // truncated key
			{[]byte{1, 'a', 'b'}, good}, // bytes after the key
			{key, good[:5]},             // truncated value
			{key, append(good, 1)},      // bytes after the value
			{key, []byte{0x80}},         // bad write time
		} {
			if err := s.Restore("value:n", c.key, c.value); err == nil {
				t.Fatalf("restoring %x=%x gave no error", c.key, c.value)
			}
		}
		checkErr(t, s) // a bad entry is the caller's error, not the store's
	})
}

// TestRestoreTwice checks that of two entries with one key the later wins,
// as it does on the heap, though a KV store sorts what it restores.
func TestRestoreTwice(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		s := newStore[string](t, b, nil)
		v := state.ValueOf[int64](s.Store(), "n")
		for i := range byte(10) {
			for _, k := range []byte{'b', 'a'} {
				if err := s.Restore("value:n", []byte{1, k}, []byte{0, 0x80, 0, 0, 0, 0, 0, 0, i}); err != nil {
					t.Fatal(err)
				}
			}
		}
		for _, k := range []string{"a", "b"} {
			s.SetKey(k)
			if n, _ := v.Get(); n != 9 {
				t.Fatalf("key %s: %d, want the last restored, 9", k, n)
			}
		}
		checkErr(t, s)
	})
}

func TestKVErrors(t *testing.T) {
	kv := &failKV{memKV: *newMemKV()}
	s := keyedstate.NewKV(nil, kv, mustHasher[string](t), maxPar)
	v := state.ValueOf[int](s.Store(), "v")
	s.SetKey("a")
	v.Set(1)
	checkErr(t, s)

	kv.err = errDisk
	if _, ok := v.Get(); ok {
		t.Fatal("a failed read returned a value")
	}
	err := s.Err()
	if !errors.Is(err, errDisk) || !strings.Contains(err.Error(), `"value:v"`) {
		t.Fatalf("Err = %v, want the KV's error naming the state", err)
	}
	v.Set(2) // dropped; the first error stays
	if s.Err() != err {
		t.Fatalf("Err changed to %v", s.Err())
	}
	if err := s.Snapshot(nil, func(int, string, []byte, []byte) {}); !errors.Is(err, errDisk) {
		t.Fatalf("Snapshot of a failed store: %v", err)
	}
	if err := s.Restore("value:v", []byte{1, 'b'}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 1}); err == nil {
		t.Fatal("Restore into a failed store gave no error")
	}

	for name, op := range map[string]func(s *keyedstate.Engine[string], v state.Value[int]){
		"set":      func(s *keyedstate.Engine[string], v state.Value[int]) { v.Set(1) },
		"clear":    func(s *keyedstate.Engine[string], v state.Value[int]) { v.Clear() },
		"clearkey": func(s *keyedstate.Engine[string], v state.Value[int]) { s.ClearKey("other") },
		"len":      func(s *keyedstate.Engine[string], v state.Value[int]) { s.Len() },
		"restore": func(s *keyedstate.Engine[string], v state.Value[int]) {
			s.Restore("value:v", []byte{1, 'b'}, []byte{0, 0, 0, 0, 0, 0, 0, 0, 1})
		},
	} {
		t.Run(name, func(t *testing.T) {
			kv := &failKV{memKV: *newMemKV(), err: errDisk}
			s := keyedstate.NewKV(nil, kv, mustHasher[string](t), maxPar)
			v := state.ValueOf[int](s.Store(), "v")
			s.SetKey("a")
			op(s, v)
			if !errors.Is(s.Err(), errDisk) {
				t.Fatalf("Err = %v, want the KV's error", s.Err())
			}
		})
	}

	// Map and list states read and write pairs of their own: a failure
	// of each names the state, and a failed read returns nothing.
	for name, op := range map[string]func(m state.Map[int64, string], l state.List[string]) bool{
		"map get":  func(m state.Map[int64, string], _ state.List[string]) bool { _, ok := m.Get(1); return ok },
		"map put":  func(m state.Map[int64, string], _ state.List[string]) bool { m.Put(2, "y"); return false },
		"list get": func(_ state.Map[int64, string], l state.List[string]) bool { return len(l.Get()) > 0 },
		"list add": func(_ state.Map[int64, string], l state.List[string]) bool { l.Add("y"); return false },
	} {
		t.Run(name, func(t *testing.T) {
			kv := &failKV{memKV: *newMemKV()}
			s := keyedstate.NewKV(nil, kv, mustHasher[string](t), maxPar)
			m := state.MapOf[int64, string](s.Store(), "m", state.TTL(time.Hour))
			l := state.ListOf[string](s.Store(), "l")
			s.SetKey("a")
			m.Put(1, "x")
			l.Add("x")
			checkErr(t, s)
			kv.err = errDisk
			if op(m, l) {
				t.Fatal("a failed read returned a value")
			}
			if err := s.Err(); !errors.Is(err, errDisk) || !strings.Contains(err.Error(), map[bool]string{true: `:m"`, false: `:l"`}[strings.HasPrefix(name, "map")]) {
				t.Fatalf("Err = %v, want the KV's error naming the state", err)
			}
		})
	}

	t.Run("expire", func(t *testing.T) {
		kv := &failKV{memKV: *newMemKV()}
		s := keyedstate.NewKV(nil, kv, mustHasher[string](t), maxPar)
		state.ValueOf[int](s.Store(), "v", state.TTL(time.Second))
		kv.err = errDisk
		s.Expire()
		if !errors.Is(s.Err(), errDisk) {
			t.Fatalf("Err = %v, want the KV's error", s.Err())
		}
	})

	t.Run("corrupt", func(t *testing.T) {
		kv := newMemKV()
		s := keyedstate.NewKV(nil, kv, mustHasher[string](t), maxPar)
		v := state.ValueOf[int](s.Store(), "v")
		s.SetKey("a")
		v.Set(1)
		for k := range kv.m {
			kv.m[k] = []byte{0, 1} // a write time, then a truncated int
		}
		if _, ok := v.Get(); ok || !errors.Is(s.Err(), codec.ErrTruncated) {
			t.Fatalf("Err = %v, want a decode error", s.Err())
		}
	})
}

func TestNewKVStoreArgs(t *testing.T) {
	h := mustHasher[int](t)
	for name, s := range map[string]*keyedstate.Engine[int]{
		"nil kv":        keyedstate.NewKV[int](nil, nil, h, maxPar),
		"nil hash":      keyedstate.NewKV[int](nil, newMemKV(), nil, maxPar),
		"max par 0":     keyedstate.NewKV(nil, newMemKV(), h, 0),
		"max par 2¹⁵+1": keyedstate.NewKV(nil, newMemKV(), h, 1<<15+1),
	} {
		v := state.ValueOf[int](s.Store(), "v")
		s.SetKey(1)
		v.Set(1) // must not panic
		if _, ok := v.Get(); ok || s.Err() == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// TestMemKV runs the handles on the map-backed KV too, so the store's KV
// logic is checked apart from pebble.
func TestMemKV(t *testing.T) {
	var now int64
	src := keyedstate.NewKV(func() int64 { return now }, newMemKV(), mustHasher[string](t), maxPar)
	j := register(src)
	j.fill(src, &now)
	heap := keyedstate.NewHeap[string](func() int64 { return now })
	jh := register(heap)
	restore(t, heap, snapshot(t, src))
	jh.check(t, heap)
	checkErr(t, src)
}
