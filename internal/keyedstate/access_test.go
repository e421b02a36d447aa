package keyedstate_test

import (
	"testing"

	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/state"
)

// TestAccessTiming: on both backends, gets, puts and deletes are counted
// (to within the sample) and one in SampleEvery is timed into its
// histogram.
func TestAccessTiming(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			s := newStore[int64](t, be, nil)
			a := &keyedstate.Access{Backend: be.name}
			s.TimeAccess(a)
			v := state.ValueOf[int64](s.Store(), "n")
			const n = 10 * keyedstate.SampleEvery
			for k := range int64(n) {
				s.SetKey(k)
				v.Get()
				v.Set(k)
				v.Clear()
			}
			checkErr(t, s)
			for op, name := range keyedstate.OpNames {
				if c := a.Count(op); c < n-keyedstate.SampleEvery || c > n {
					t.Errorf("%s: count %d, want about %d", name, c, n)
				}
				if c := a.Times[op].Count(); c < 8 || c > 12 {
					t.Errorf("%s: %d timed, want about %d (1 in %d of 3×%d)", name, c, 10, keyedstate.SampleEvery, n)
				}
				if _, p99 := a.Times[op].Quantiles(); p99 <= 0 {
					t.Errorf("%s: p99 %v, want a time", name, p99)
				}
			}
		})
	}
}

// TestAccessSharedBySeveralStores: the stores of one subtask (two keyed
// operators chained, or keyed state beside window panes) share an Access;
// its counts are the sum of theirs.
func TestAccessSharedBySeveralStores(t *testing.T) {
	a := &keyedstate.Access{Backend: "heap"}
	const n = 10 * keyedstate.SampleEvery
	for range 2 {
		s := newStore[int64](t, backends[0], nil)
		s.TimeAccess(a)
		v := state.ValueOf[int64](s.Store(), "n")
		for k := range int64(n) {
			s.SetKey(k)
			v.Get()
		}
		checkErr(t, s)
	}
	if c := a.Count(keyedstate.OpGet); c != 2*n {
		t.Errorf("gets counted %d, want %d: the two stores' counts overwrite each other", c, 2*n)
	}
}

// BenchmarkValueTimed is BenchmarkValue with access timing on: the cost of
// the sample is the difference.
func BenchmarkValueTimed(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := newStore[int64](b, be, func() int64 { return 0 })
			s.TimeAccess(&keyedstate.Access{Backend: be.name})
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
