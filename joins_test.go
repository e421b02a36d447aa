package weir_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
)

// The tests of the two-input operators run each operator three ways, as
// the one-input ones do: straight (compared with an exact computation on
// the inputs), and failed halfway with checkpoints at parallelism 2, then
// restored at another parallelism, on both state backends.

// joinInputs makes the two inputs of the join tests: n orders and n
// payments over 5 keys, 10 a second, each pair of neighbours swapped in
// time (out of order by 100ms, within the watermarks' bound).
func joinInputs(n int) (as, bs []weirtest.Timed[kv]) {
	for i := range n {
		as = append(as, weirtest.Timed[kv]{Value: kv{string(rune('a' + i%5)), i}, Time: at(float64(i^1) / 10)})
		bs = append(bs, weirtest.Timed[kv]{Value: kv{string(rune('a' + (i*3)%5)), 10000 + i}, Time: at(float64(i^1)/10 + 0.05)})
	}
	return as, bs
}

// joinCase is a two-input operator under test and its exact result.
type joinCase struct {
	name  string
	build func(a, b weir.Stream[kv]) weir.Stream[string]
	exact func(as, bs []weirtest.Timed[kv]) []string
}

// joinJob runs c over the inputs of joinInputs(n); fail runs for every
// record of the first input and may fail the job.
func joinJob(env *weir.Env, c joinCase, n int, fail func() error, out *weirtest.TxCollector[string]) {
	as, bs := joinInputs(n)
	srcA, srcB := weirtest.FromTimed(as...), weirtest.FromTimed(bs...)
	for _, s := range []*weirtest.SliceSource[kv]{srcA, srcB} {
		s.BatchSize = 20
		s.Delay = 2 * time.Millisecond
	}
	a := weir.FromSource(env, srcA, weir.Name("orders"))
	a = weir.Process(a, func(_ *weir.Context, v kv, out weir.Emitter[kv]) error {
		if err := fail(); err != nil {
			return err
		}
		out.Emit(v)
		return nil
	}, weir.Name("flaky"))
	a = weir.Watermarks(a, weir.BoundedOutOfOrderness[kv](time.Second, nil), weir.Name("wm-orders"))
	b := weir.Watermarks(weir.FromSource(env, srcB, weir.Name("payments")), weir.BoundedOutOfOrderness[kv](time.Second, nil), weir.Name("wm-payments"))
	weir.SinkTo(c.build(a, b), out, weir.Name("sink"), weir.Parallelism(1))
}

// checkJoinRestores runs c straight and through a restore at another
// parallelism on both backends, and compares each with c's exact result.
func checkJoinRestores(t *testing.T, c joinCase, n int) {
	as, bs := joinInputs(n)
	want := c.exact(as, bs)
	slices.Sort(want)
	if len(want) == 0 {
		t.Fatal("the exact result is empty: the test proves nothing")
	}
	same := func(t *testing.T, what string, got []string) {
		t.Helper()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			for i := range want {
				if i >= len(got) || got[i] != want[i] {
					t.Logf("first difference at %d: got %q, want %q", i, got[min(i, len(got)-1)], want[i])
					break
				}
			}
			t.Fatalf("%s: %d results, want %d", what, len(got), len(want))
		}
	}
	for _, backend := range []string{"heap", "pebble"} {
		t.Run(backend, func(t *testing.T) {
			clean := weirtest.NewTxCollector[string]()
			env := weir.NewEnv(weir.Parallelism(2), weir.StateBackend(backend, t.TempDir()))
			joinJob(env, c, n, func() error { return nil }, clean)
			if err := env.Execute(context.Background(), "clean"); err != nil {
				t.Fatal(err)
			}
			same(t, "straight run", clean.Records())

			p := map[string]int{"heap": 3, "pebble": 1}[backend]
			dir := t.TempDir()
			var seen atomic.Int64
			out := weirtest.NewTxCollector[string]()
			first := weir.NewEnv(weir.Parallelism(2), weir.StateBackend(backend, t.TempDir()),
				weir.Checkpoints(20*time.Millisecond, dir), weir.Restart(weir.NoRestart()))
			// Fail halfway, or later: once two checkpoints have completed
			// (the second one's barriers follow what the sources emitted
			// at once). From halfway on, each record waits a little, so
			// that the checkpoints complete before the input ends however
			// fast the run and however slow the backend's snapshots.
			var failed atomic.Bool
			joinJob(first, c, n, func() error {
				if seen.Add(1) < int64(n/2) || failed.Load() {
					return nil
				}
				if completed(first) >= 2 {
					failed.Store(true)
					return errors.New("stop here")
				}
				time.Sleep(5 * time.Millisecond)
				return nil
			}, out)
			if err := first.Execute(context.Background(), "first"); err == nil {
				t.Fatal("the first run did not fail")
			}
			second := weir.NewEnv(weir.Parallelism(p), weir.StateBackend(backend, t.TempDir()), weir.Checkpoints(20*time.Millisecond, dir))
			joinJob(second, c, n, func() error { return nil }, out)
			if err := second.Execute(context.Background(), "second"); err != nil {
				t.Fatal(err)
			}
			same(t, fmt.Sprintf("restored at parallelism %d", p), out.Records())
		})
	}
}

// completed returns how many checkpoints of env's run completed.
func completed(env *weir.Env) int {
	n := 0
	for _, s := range env.CheckpointStats() {
		if s.Status == weir.CheckpointCompleted {
			n++
		}
	}
	return n
}

// bucketSummary is a KeyedCoProcessFunction that sums the orders and
// counts the payments of every key and 10 seconds of event time, and
// emits the summary when the watermark passes the 10 seconds.
type bucketSummary struct {
	sums   state.Map[int64, int]
	counts state.Map[int64, int]
}

const bucketMillis = 10_000

func newBucketSummary(s *state.Store[string]) weir.KeyedCoProcessFunction[string, kv, kv, string] {
	return &bucketSummary{sums: state.MapOf[int64, int](s, "sums"), counts: state.MapOf[int64, int](s, "counts")}
}

func bucketOf(ctx *weir.KeyedContext[string, string]) int64 {
	ts, _ := ctx.Timestamp()
	return ts.UnixMilli() / bucketMillis * bucketMillis
}

func (f *bucketSummary) ProcessElement1(ctx *weir.KeyedContext[string, string], v kv) error {
	b := bucketOf(ctx)
	n, _ := f.sums.Get(b)
	f.sums.Put(b, n+v.V)
	ctx.RegisterEventTimer(time.UnixMilli(b + bucketMillis - 1))
	return nil
}

func (f *bucketSummary) ProcessElement2(ctx *weir.KeyedContext[string, string], _ kv) error {
	b := bucketOf(ctx)
	n, _ := f.counts.Get(b)
	f.counts.Put(b, n+1)
	ctx.RegisterEventTimer(time.UnixMilli(b + bucketMillis - 1))
	return nil
}

func (f *bucketSummary) OnTimer(ctx *weir.KeyedContext[string, string], t time.Time, _ weir.TimeDomain) error {
	b := t.UnixMilli() + 1 - bucketMillis
	sum, _ := f.sums.Get(b)
	n, _ := f.counts.Get(b)
	ctx.Emit(fmt.Sprintf("%s %d sum=%d payments=%d", ctx.Key(), b, sum, n))
	f.sums.Remove(b)
	f.counts.Remove(b)
	return nil
}

func exactBuckets(as, bs []weirtest.Timed[kv]) []string {
	type kb struct {
		k string
		b int64
	}
	sums, counts := map[kb]int{}, map[kb]int{}
	for _, a := range as {
		k := kb{a.Value.K, a.Time.UnixMilli() / bucketMillis * bucketMillis}
		sums[k] += a.Value.V
		counts[k] += 0
	}
	for _, b := range bs {
		k := kb{b.Value.K, b.Time.UnixMilli() / bucketMillis * bucketMillis}
		sums[k] += 0
		counts[k]++
	}
	var out []string
	for k := range sums {
		out = append(out, fmt.Sprintf("%s %d sum=%d payments=%d", k.k, k.b, sums[k], counts[k]))
	}
	return out
}

var keyedCoCase = joinCase{
	name: "ProcessKeyedCo",
	build: func(a, b weir.Stream[kv]) weir.Stream[string] {
		byKey := func(v kv) string { return v.K }
		return weir.ProcessKeyedCo(weir.KeyBy(a, byKey), weir.KeyBy(b, byKey), newBucketSummary, weir.Name("summary"))
	},
	exact: exactBuckets,
}

// TestProcessKeyedCoRestores: keyed state and timers shared by both
// inputs survive a failure and a restore at another parallelism, on both
// backends, and the output is exact.
func TestProcessKeyedCoRestores(t *testing.T) { checkJoinRestores(t, keyedCoCase, 1500) }
