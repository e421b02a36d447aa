package weir_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
)

// slowSummary is bucketSummary behind a slow first method, so that the
// channels of both inputs are full when barriers come.
type slowSummary struct {
	*bucketSummary
	fail func() error
}

func (s *slowSummary) ProcessElement1(ctx *weir.KeyedContext[string, string], v kv) error {
	if err := s.fail(); err != nil {
		return err
	}
	for start := time.Now(); time.Since(start) < 20*time.Microsecond; {
	}
	return s.bucketSummary.ProcessElement1(ctx, v)
}

func slowSummaryJob(env *weir.Env, n int, fail func() error, out *weirtest.TxCollector[string]) {
	as, bs := joinInputs(n)
	srcA, srcB := weirtest.FromTimed(as...), weirtest.FromTimed(bs...)
	srcA.BatchSize, srcB.BatchSize = 256, 256
	byKey := func(v kv) string { return v.K }
	a := weir.Watermarks(weir.FromSource(env, srcA, weir.Name("orders")), weir.BoundedOutOfOrderness[kv](time.Second, nil), weir.Name("wm-orders"))
	b := weir.Watermarks(weir.FromSource(env, srcB, weir.Name("payments")), weir.BoundedOutOfOrderness[kv](time.Second, nil), weir.Name("wm-payments"))
	sums := weir.ProcessKeyedCo(weir.KeyBy(a, byKey), weir.KeyBy(b, byKey), func(s *state.Store[string]) weir.KeyedCoProcessFunction[string, kv, kv, string] {
		return &slowSummary{bucketSummary: newBucketSummary(s).(*bucketSummary), fail: fail}
	}, weir.Name("slow-summary"))
	weir.SinkTo(sums, out, weir.Name("sink"), weir.Parallelism(1))
}

// TestProcessKeyedCoUnalignedCheckpoints takes unaligned checkpoints while
// a slow two-input operator backpressures both inputs, fails, and
// restores (at its parallelism: records in flight do not rescale): the
// records in flight on each input come back to that input,
// so every summary is exact.
func TestProcessKeyedCoUnalignedCheckpoints(t *testing.T) {
	const n = 8000
	as, bs := joinInputs(n)
	want := exactBuckets(as, bs)
	slices.Sort(want)

	dir := t.TempDir()
	var seen atomic.Int64
	out := weirtest.NewTxCollector[string]()
	first := weir.NewEnv(weir.Parallelism(2), weir.BatchSize(64), weir.Checkpoints(30*time.Millisecond, dir),
		weir.UnalignedCheckpoints(), weir.Restart(weir.NoRestart()))
	slowSummaryJob(first, n, func() error {
		if seen.Add(1) == n/2 {
			return errors.New("stop here")
		}
		return nil
	}, out)
	if err := first.Execute(context.Background(), "first"); err == nil {
		t.Fatal("the first run did not fail")
	}
	inFlight := 0
	metas, _ := filepath.Glob(filepath.Join(dir, "chk-*", "_metadata"))
	for _, p := range metas {
		b, _ := os.ReadFile(p)
		m, err := snapshot.DecodeMetadata(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range m.Operators {
			if op.UID == "slow-summary#channels" {
				for _, sub := range op.Subtasks {
					inFlight += len(sub.ChannelState)
				}
			}
		}
	}
	if inFlight == 0 {
		t.Fatalf("the %d checkpoints kept hold no records in flight: the test did not backpressure", len(metas))
	}
	second := weir.NewEnv(weir.Parallelism(2), weir.BatchSize(64), weir.Checkpoints(30*time.Millisecond, dir), weir.UnalignedCheckpoints())
	slowSummaryJob(second, n, func() error { return nil }, out)
	if err := second.Execute(context.Background(), "second"); err != nil {
		t.Fatal(err)
	}
	got := out.Records()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("summaries differ after restoring an unaligned checkpoint: got %d, want %d\n got %v\nwant %v", len(got), len(want), got[:min(5, len(got))], want[:5])
	}
}

// orderTimeout is a KeyedCoProcessFunction that reports an order unpaid
// when the watermark passes its time + 10s without a payment of its key.
type orderTimeout struct{ order state.Value[int] }

func (f *orderTimeout) ProcessElement1(ctx *weir.KeyedContext[string, string], v kv) error {
	f.order.Set(v.V)
	ts, _ := ctx.Timestamp()
	ctx.RegisterEventTimer(ts.Add(10 * time.Second))
	return nil
}

func (f *orderTimeout) ProcessElement2(ctx *weir.KeyedContext[string, string], v kv) error {
	if o, ok := f.order.Get(); ok {
		ctx.Emit(ctx.Key() + " paid " + itoa(o))
		f.order.Clear()
	}
	return nil
}

func (f *orderTimeout) OnTimer(ctx *weir.KeyedContext[string, string], _ time.Time, _ weir.TimeDomain) error {
	if o, ok := f.order.Get(); ok {
		ctx.Emit(ctx.Key() + " unpaid " + itoa(o))
		f.order.Clear()
	}
	return nil
}

func itoa(n int) string { return string(rune('0' + n)) }

func orderTimeouts(env *weir.Env, a, b weir.Stream[kv]) *weirtest.Collector[string] {
	byKey := func(v kv) string { return v.K }
	out := weir.ProcessKeyedCo(weir.KeyBy(a, byKey), weir.KeyBy(b, byKey), func(s *state.Store[string]) weir.KeyedCoProcessFunction[string, kv, kv, string] {
		return &orderTimeout{order: state.ValueOf[int](s, "order")}
	})
	got := weirtest.NewCollector[string]()
	weir.SinkTo(out, got)
	return got
}

// TestProcessKeyedCoWatermarkIsMinimumOfInputs: the orders' watermark runs
// far ahead; the payments' comes later. Had the operator followed the
// orders' watermark alone, the order would have timed out before its
// payment came.
func TestProcessKeyedCoWatermarkIsMinimumOfInputs(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(1))
	orders := weirtest.NewScript[kv]().Record(kv{"a", 1}, at(1)).Watermark(at(200))
	payments := weirtest.NewScript[kv]().Wait(100*time.Millisecond).Record(kv{"a", 0}, at(5)).Watermark(at(200))
	got := orderTimeouts(env, weir.FromSource(env, orders), weir.FromSource(env, payments))
	if err := env.Execute(context.Background(), "min"); err != nil {
		t.Fatal(err)
	}
	if r := got.Records(); !slices.Equal(r, []string{"a paid 1"}) {
		t.Fatalf("results = %q, want [a paid 1]", r)
	}
}

// TestProcessKeyedCoIdleInput: the payments input is idle; the orders'
// watermark alone fires the timeout while the job runs.
func TestProcessKeyedCoIdleInput(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(1), weir.WatermarkInterval(10*time.Millisecond))
	active := weirtest.FromTimed(weirtest.Timed[kv]{Value: kv{"a", 1}, Time: at(1)}, weirtest.Timed[kv]{Value: kv{"b", 2}, Time: at(100)})
	active.Forever = true // stays open after its records: only the watermark can fire the timer
	idle := &weirtest.SliceSource[kv]{Forever: true}
	a := weir.Watermarks(weir.FromSource(env, active), weir.BoundedOutOfOrderness(0, kvTime(active)))
	b := weir.Watermarks(weir.FromSource(env, idle), weir.BoundedOutOfOrderness(0, kvTime(active)).WithIdleness(30*time.Millisecond))
	got := orderTimeouts(env, a, b)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx, "idle") }()
	deadline := time.Now().Add(5 * time.Second)
	for got.Len() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if r := got.Records(); !slices.Equal(r, []string{"a unpaid 1"}) {
		t.Fatalf("results = %q, want [a unpaid 1] while the job runs", r)
	}
}

// TestProcessCo connects streams of two types without keys.
func TestProcessCo(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(2))
	words := weir.FromSource(env, weirtest.FromSlice("x", "y"))
	nums := weir.FromSource(env, weirtest.FromSlice(1, 2, 3))
	out := weir.ProcessCo(weir.Connect(words, nums), coFormat{})
	got := weirtest.NewCollector[string]()
	weir.SinkTo(out, got)
	if err := env.Execute(context.Background(), "co"); err != nil {
		t.Fatal(err)
	}
	r := got.Records()
	slices.Sort(r)
	if want := []string{"n1", "n2", "n3", "wx", "wy"}; !slices.Equal(r, want) {
		t.Fatalf("results = %q, want %q", r, want)
	}
}

type coFormat struct{}

func (coFormat) ProcessElement1(_ *weir.Context, v string, out weir.Emitter[string]) error {
	out.Emit("w" + v)
	return nil
}

func (coFormat) ProcessElement2(_ *weir.Context, v int, out weir.Emitter[string]) error {
	out.Emit("n" + itoa(v))
	return nil
}

// BenchmarkProcessKeyedCo measures the per-record cost of the two-input
// path: two sources, each tagged and keyed into one ProcessKeyedCo; b.N
// is the record count of both inputs together.
func BenchmarkProcessKeyedCo(b *testing.B) {
	half := func(n, odd int) []event {
		records := make([]event, n)
		for i := range records {
			records[i] = event{user: int64(i % 1000), value: int64(2*i + odd)}
		}
		return records
	}
	env := weir.NewEnv(weir.Parallelism(1))
	srcA, srcB := weirtest.FromSlice(half(b.N/2, 0)...), weirtest.FromSlice(half(b.N-b.N/2, 1)...)
	srcA.BatchSize, srcB.BatchSize = 1024, 1024
	byUser := func(e event) int64 { return e.user }
	co := weir.ProcessKeyedCo(weir.KeyBy(weir.FromSource(env, srcA), byUser), weir.KeyBy(weir.FromSource(env, srcB), byUser),
		func(*state.Store[int64]) weir.KeyedCoProcessFunction[int64, event, event, int64] {
			return coPassThrough{}
		})
	weir.SinkTo(co, sink.Func[int64](func(context.Context, int64) error { return nil }))
	b.ReportAllocs()
	b.ResetTimer()
	if err := env.Execute(context.Background(), "bench"); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

type coPassThrough struct{}

func (coPassThrough) ProcessElement1(ctx *weir.KeyedContext[int64, int64], e event) error {
	ctx.Emit(e.value)
	return nil
}

func (coPassThrough) ProcessElement2(ctx *weir.KeyedContext[int64, int64], e event) error {
	ctx.Emit(e.value)
	return nil
}

func (coPassThrough) OnTimer(*weir.KeyedContext[int64, int64], time.Time, weir.TimeDomain) error {
	return nil
}
