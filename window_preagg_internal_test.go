package weir

import (
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
