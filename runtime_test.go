package weir_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/weirtest"
)

// TestBackpressureBoundsInFlight runs a fast source into a slow sink
// through an exchange and checks that the source is held back: the records
// it emitted but the sink has not taken never exceed what the channels and
// batches can hold.
func TestBackpressureBoundsInFlight(t *testing.T) {
	const batch, capacity = 64, 2
	env := weir.NewEnv(weir.BatchSize(batch), weir.ChannelCapacity(capacity))
	many := make([]int, 1_000_000)
	s := weir.FromSource(env, weirtest.FromSlice(many...), weir.Name("fast"))
	keyed := weir.ProcessKeyed(weir.KeyBy(s, func(v int) int { return v }), newRunningSum, weir.Name("keyed"))
	slow := weirtest.NewCollector[[2]int]()
	slow.Delay = 200 * time.Microsecond
	weir.SinkTo(keyed, slow)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx, "backpressure") }()
	var maxGap atomic.Int64
	deadline := time.Now().Add(700 * time.Millisecond)
	for time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		var emitted int64
		for _, m := range env.Metrics() {
			if m.Operator == "fast" {
				emitted = m.RecordsIn
			}
		}
		if gap := emitted - int64(slow.Len()); gap > maxGap.Load() {
			maxGap.Store(gap)
		}
	}
	cancel()
	<-done
	// In flight at most: the channel's batches, the writer's partial batch,
	// the batch the consumer is working on, and one Poll batch of the source.
	bound := int64((capacity+2)*batch + 64)
	if maxGap.Load() > bound {
		t.Fatalf("source ran %d records ahead of the slow sink; bound is %d", maxGap.Load(), bound)
	}
	if slow.Len() == 0 {
		t.Fatal("the sink got nothing")
	}
	var bp time.Duration
	for _, m := range env.Metrics() {
		if m.Operator == "fast" {
			bp = m.Backpressured
		}
	}
	if bp < 100*time.Millisecond {
		t.Fatalf("source was backpressured for %v of 700ms; want most of it", bp)
	}
}

// TestWatermarkIsMinimumOfInputs joins a fast and a slow timed input and
// checks that a window does not fire before the slower input passed it.
func TestWatermarkIsMinimumOfInputs(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(1))
	fast := weirtest.NewScript[kv]().Record(kv{"a", 1}, at(1)).Watermark(at(200))
	slow := weirtest.NewScript[kv]().Wait(100*time.Millisecond).Record(kv{"a", 10}, at(2)).Watermark(at(200))
	u := weir.Union(weir.FromSource(env, fast), weir.FromSource(env, slow))
	sum := weir.Aggregate(weir.Window(weir.KeyBy(u, func(v kv) string { return v.K }), timeWindow()), count)
	got := weirtest.NewCollector[int]()
	weir.SinkTo(sum, got)
	if err := env.Execute(context.Background(), "min"); err != nil {
		t.Fatal(err)
	}
	// Had the fast input's watermark alone closed the window, the slow
	// record would have been late and the sum 1.
	if r := got.Records(); len(r) != 1 || r[0] != 11 {
		t.Fatalf("results = %v, want [11]", r)
	}
}

// TestIdleInputDoesNotHoldBackWatermark: one input goes idle (no records),
// the other advances; windows must fire while the job still runs.
func TestIdleInputDoesNotHoldBackWatermark(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(1), weir.WatermarkInterval(10*time.Millisecond))
	active := weirtest.FromTimed(weirtest.Timed[kv]{Value: kv{"a", 1}, Time: at(1)}, weirtest.Timed[kv]{Value: kv{"a", 2}, Time: at(100)})
	active.Forever = true // stays open after its records, so only watermarks can fire windows
	idle := &weirtest.SliceSource[kv]{Forever: true}
	a := weir.Watermarks(weir.FromSource(env, active), weir.BoundedOutOfOrderness(0, kvTime(active)))
	b := weir.Watermarks(weir.FromSource(env, idle), weir.BoundedOutOfOrderness(0, kvTime(active)).WithIdleness(30*time.Millisecond))
	sum := weir.Aggregate(weir.Window(weir.KeyBy(weir.Union(a, b), func(v kv) string { return v.K }), timeWindow()), count)
	got := weirtest.NewCollector[int]()
	weir.SinkTo(sum, got)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx, "idle") }()
	deadline := time.Now().Add(5 * time.Second)
	for got.Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if r := got.Records(); len(r) != 1 || r[0] != 1 {
		t.Fatalf("results = %v, want the first window [1] while the job runs", r)
	}
}

// kvTime reads the event time of the records of the idleness test from
// their value: 1 is at 1s, anything else at 100s.
func kvTime(*weirtest.SliceSource[kv]) func(kv) time.Time {
	return func(v kv) time.Time {
		if v.V == 1 {
			return at(1)
		}
		return at(100)
	}
}
