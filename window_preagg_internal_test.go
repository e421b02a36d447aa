package weir

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/window"
)

// recordedPartials is a partialWriter that keeps what it is sent.
type recordedPartials[P any] struct{ got []P }

func (r *recordedPartials[P]) Collect(rec *runtime.Record[P]) error {
	r.got = append(r.got, rec.Value)
	return nil
}
func (*recordedPartials[P]) Watermark(int64) error                     { return nil }
func (*recordedPartials[P]) End() error                                { return nil }
func (*recordedPartials[P]) Flush() error                              { return nil }
func (*recordedPartials[P]) Barrier(int64) error                       { return nil }
func (*recordedPartials[P]) UnalignedBarrier(int64) error              { return nil }
func (*recordedPartials[P]) LatencyMarker(runtime.LatencyMarker) error { return nil }
func (*recordedPartials[P]) Tick(int64) (int64, error)                 { return runtime.NoWakeup, nil }

// TestPreAggregationStepsAsideWhereKeysDoNotRepeat feeds a pre-aggregating
// writer keys that never repeat: once it has measured that folding does
// not pay, it sends records as they are; when keys repeat again, it folds
// them again after the bypass. Every record arrives, folded or not.
func TestPreAggregationStepsAsideWhereKeysDoNotRepeat(t *testing.T) {
	const limit = 16
	type pt = partial[int, int, int]
	out := &recordedPartials[pt]{}
	p := &preAggWriter[int, int, int]{
		w: out, op: op{name: "window"}, key: func(v int) int { return v }, clone: func(k int) int { return k },
		assigner: window.Tumbling(time.Minute), init: func() int { return 0 },
		add: func(a, _ int) int { return a + 1 }, limit: limit, wm: runtime.NoTimestamp,
	}
	send := func(keys func(i int) int, n int) (raw, partials, records int) {
		out.got = out.got[:0]
		for i := range n {
			if err := p.Collect(&runtime.Record[int]{Value: keys(i), Time: 1000}); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Flush(); err != nil {
			t.Fatal(err)
		}
		for _, v := range out.got {
			if v.Raw {
				raw++
				records++
			} else {
				partials++
				records += int(v.Records)
			}
		}
		return raw, partials, records
	}

	distinct := func(i int) int { return 1_000_000 + i }
	sample := preAggSample * limit
	raw, partials, records := send(distinct, sample)
	if raw != 0 || partials != sample || records != sample {
		t.Fatalf("while measuring: %d raw, %d partials for %d records, want every record folded into its own partial", raw, partials, records)
	}
	bypass := preAggBypass * limit
	if raw, partials, records = send(distinct, bypass); raw != bypass || partials != 0 || records != bypass {
		t.Fatalf("after measuring that keys do not repeat: %d raw, %d partials for %d records, want all %d sent as they are", raw, partials, records, bypass)
	}

	// Four keys over and over: folded once the bypass is over.
	repeat := func(i int) int { return i % 4 }
	if raw, partials, records = send(repeat, 10*sample); raw != 0 || partials > 10*sample/limit*4+4 || records != 10*sample {
		t.Fatalf("with repeating keys after the bypass: %d raw, %d partials for %d records, want them folded", raw, partials, records)
	}
	if raw, _, _ = send(repeat, bypass); raw != 0 {
		t.Fatalf("keys that repeat must stay folded: %d records sent as they are", raw)
	}
}

// TestPreAggregationTumblingFastPath checks the writer's path for windows
// that tile time (window.Tumbler) against its path for every assigner, on
// random records: keys that repeat, times that wander back and forth
// across windows, watermarks that make some of them late, idle spells
// and flushes by the bound. Both must send the same partials and raw
// records in the same order.
func TestPreAggregationTumblingFastPath(t *testing.T) {
	type pt = partial[int, int, int]
	tumbling := window.Tumbling(time.Second)
	writer := func(out *recordedPartials[pt], fast bool) *preAggWriter[int, int, int] {
		p := &preAggWriter[int, int, int]{
			w: out, op: op{name: "window"}, key: func(v int) int { return v % 37 }, clone: func(k int) int { return k },
			assigner: tumbling, init: func() int { return 0 },
			add: func(a, v int) int { return a + v }, limit: 16, wm: runtime.NoTimestamp,
		}
		if fast {
			p.tumbler = tumbling.(window.Tumbler)
		}
		return p
	}
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		general, fast := &recordedPartials[pt]{}, &recordedPartials[pt]{}
		ws := []*preAggWriter[int, int, int]{writer(general, false), writer(fast, true)}
		ts, wm := int64(-5_000), int64(-10_000)
		for i := range 5_000 {
			ts += rng.Int64N(700) - 300
			rec := &runtime.Record[int]{Value: i, Time: ts}
			var mark int64
			switch n := rng.IntN(100); {
			case n < 3:
				mark = runtime.Idle
			case n < 10:
				wm = max(wm, ts-rng.Int64N(2_000))
				mark = wm
			}
			for _, w := range ws {
				if err := w.Collect(rec); err != nil {
					t.Fatal(err)
				}
				if mark != 0 {
					if err := w.Watermark(mark); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
		for _, w := range ws {
			if err := w.End(); err != nil {
				t.Fatal(err)
			}
		}
		if !slices.Equal(general.got, fast.got) {
			t.Fatalf("seed %d: the tumbling path sent %d partials, the general one %d, or not the same", seed, len(fast.got), len(general.got))
		}
		raw := 0
		for _, p := range fast.got {
			if p.Raw {
				raw++
			}
		}
		if raw == 0 || raw == len(fast.got) {
			t.Fatalf("seed %d: %d of %d sent as they are: the test must make some records late and fold others", seed, raw, len(fast.got))
		}
	}
}
