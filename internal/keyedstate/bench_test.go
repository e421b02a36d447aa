package keyedstate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/state"
)

// BenchmarkValue is the hot path of a keyed operator: set the key, read the
// value, write it back, over 1024 keys.
func BenchmarkValue(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := newStore[int64](b, be, func() int64 { return 0 })
			v := state.ValueOf[int64](s.Store(), "n")
			for k := range int64(1024) {
				s.SetKey(k)
				v.Set(k)
			}
			i := 0
			for b.Loop() {
				s.SetKey(int64(i & 1023))
				n, _ := v.Get()
				v.Set(n + 1)
				i++
			}
			checkErr(b, s)
		})
	}
}

// BenchmarkMap puts into and reads from the maps of 16 keys, each holding
// entries entries: as a join keeps the records of a key by time.
func BenchmarkMap(b *testing.B) {
	for _, be := range backends {
		for _, entries := range []int64{10, 1000} {
			b.Run(fmt.Sprintf("%s/entries=%d", be.name, entries), func(b *testing.B) {
				s := newStore[int64](b, be, func() int64 { return 0 })
				m := state.MapOf[int64, string](s.Store(), "m")
				for k := range int64(16) {
					s.SetKey(k)
					for e := range entries {
						m.Put(e, "a value of some bytes")
					}
				}
				i := int64(0)
				for b.Loop() {
					s.SetKey(i & 15)
					e := (i >> 4) % entries
					if v, ok := m.Get(e); ok {
						m.Put(e, v)
					}
					i++
				}
				checkErr(b, s)
			})
		}
	}
}

// BenchmarkListAdd adds to the lists of 16 keys, each holding 1000
// elements or more, and reads one list in 1000.
func BenchmarkListAdd(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := newStore[int64](b, be, func() int64 { return 0 })
			l := state.ListOf[string](s.Store(), "l")
			for k := range int64(16) {
				s.SetKey(k)
				for range 1000 {
					l.Add("a value of some bytes")
				}
			}
			i := int64(0)
			for b.Loop() {
				s.SetKey(i & 15)
				l.Add("a value of some bytes")
				if i%1000 == 0 && len(l.Get()) < 1000 {
					b.Fatal("a list lost elements")
				}
				i++
			}
			checkErr(b, s)
		})
	}
}

// BenchmarkMapSnapshot snapshots 100 maps of 1000 entries: on the KV
// backend each map is read from its pairs and encoded whole.
func BenchmarkMapSnapshot(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := newStore[int64](b, be, func() int64 { return 0 })
			m := state.MapOf[int64, string](s.Store(), "m")
			for k := range int64(100) {
				s.SetKey(k)
				for e := range int64(1000) {
					m.Put(e, "a value of some bytes")
				}
			}
			for b.Loop() {
				if err := s.Snapshot(groupOf[int64](b), func(int, string, []byte, []byte) {}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// million returns the snapshot entries of n keys of one int64 value state,
// made on the heap.
func million(tb testing.TB, n int) []entry {
	s := keyedstate.NewHeap[int64](nil)
	v := state.ValueOf[int64](s.Store(), "n")
	for k := range int64(n) {
		s.SetKey(k)
		v.Set(k * 3)
	}
	var ents []entry
	err := s.Snapshot(groupOf[int64](tb), func(g int, st string, k, v []byte) {
		ents = append(ents, entry{g, st, k, v})
	})
	if err != nil {
		tb.Fatal(err)
	}
	return ents
}

const oneMillion = 1_000_000

// TestMillionKeys checkpoints and restores a pebble store of a million keys.
func TestMillionKeys(t *testing.T) {
	if testing.Short() {
		t.Skip("a million keys: not with -short")
	}
	n := oneMillion
	if raceEnabled {
		n /= 10 // the race detector slows pebble tenfold
	}
	pebble := backends[1]

	start := time.Now()
	src := newStore[int64](t, pebble, nil)
	v := state.ValueOf[int64](src.Store(), "n")
	for k := range int64(n) {
		src.SetKey(k)
		v.Set(k * 3)
	}
	checkErr(t, src)
	fill := time.Since(start)

	start = time.Now()
	snap := make([]entry, 0, n)
	err := src.Snapshot(nil, func(g int, st string, k, v []byte) { snap = append(snap, entry{g, st, k, v}) })
	if err != nil {
		t.Fatal(err)
	}
	snapTime := time.Since(start)
	if len(snap) != n {
		t.Fatalf("snapshot has %d entries, want %d", len(snap), n)
	}

	start = time.Now()
	dst := newStore[int64](t, pebble, nil)
	dv := state.ValueOf[int64](dst.Store(), "n")
	restore(t, dst, snap)
	checkErr(t, dst) // writes what Restore buffered
	restoreTime := time.Since(start)

	for _, k := range []int64{0, 1, int64(n) / 2, int64(n) - 1} {
		dst.SetKey(k)
		if x, ok := dv.Get(); !ok || x != k*3 {
			t.Fatalf("key %d: %d, %v after restore", k, x, ok)
		}
	}
	start = time.Now()
	if got := dst.Len(); got != n {
		t.Fatalf("restored store holds %d entries, want %d", got, n)
	}
	checkErr(t, dst)
	t.Logf("%d keys on pebble: fill %v (%.0f keys/s), snapshot %v (%.0f keys/s), restore %v (%.0f keys/s), count %v",
		n, fill, float64(n)/fill.Seconds(), snapTime, float64(n)/snapTime.Seconds(),
		restoreTime, float64(n)/restoreTime.Seconds(), time.Since(start))
}

func BenchmarkSnapshot1M(b *testing.B) {
	ents := million(b, oneMillion)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := newStore[int64](b, be, nil)
			state.ValueOf[int64](s.Store(), "n")
			restore(b, s, ents)
			groupOf := groupOf[int64](b)
			for b.Loop() {
				n := 0
				if err := s.Snapshot(groupOf, func(int, string, []byte, []byte) { n++ }); err != nil {
					b.Fatal(err)
				}
				if n != oneMillion {
					b.Fatalf("%d entries", n)
				}
			}
			b.ReportMetric(float64(oneMillion)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}

func BenchmarkRestore1M(b *testing.B) {
	ents := million(b, oneMillion)
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				s := newStore[int64](b, be, nil)
				state.ValueOf[int64](s.Store(), "n")
				b.StartTimer()
				restore(b, s, ents)
				checkErr(b, s) // writes what Restore buffered
			}
			b.ReportMetric(float64(oneMillion)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}
