package weir_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

// preAggJob sums kv values per key in tumbling and sliding windows from a
// slow source of n records over 50 keys, with a map that fails now and
// then, into a transactional collector; preAgg is the windows'
// PreAggregate.
func preAggJob(env *weir.Env, n, preAgg int, fail func(kv) error) *weirtest.TxCollector[string] {
	out := weirtest.NewTxCollector[string]()
	src := timedSource(n, 100, func(i int) kv { return kv{fmt.Sprintf("k%02d", i*7%50), i%3 + 1} })
	src.BatchSize = 50
	src.Delay = time.Millisecond
	s := weir.FromSource(env, src, weir.Name("source"))
	s = weir.Process(s, func(_ *weir.Context, v kv, out weir.Emitter[kv]) error {
		if err := fail(v); err != nil {
			return err
		}
		out.Emit(v)
		return nil
	}, weir.Name("flaky"))
	s = weir.Watermarks(s, weir.BoundedOutOfOrderness[kv](time.Second, nil), weir.Name("wm"))
	keyed := weir.KeyBy(s, func(v kv) string { return v.K })
	tumbling := weir.AggregateWindow(weir.Window(keyed, window.Tumbling(10*time.Second), weir.PreAggregate(preAgg)), count, describe, weir.Name("tumbling"))
	sliding := weir.AggregateWindow(weir.Window(keyed, window.Sliding(10*time.Second, 5*time.Second), weir.PreAggregate(preAgg)), count,
		func(k string, w window.Window, n int, out weir.Emitter[string]) error {
			return describe("sliding "+k, w, n, out)
		}, weir.Name("sliding"))
	weir.SinkTo(weir.Union(tumbling, sliding), out, weir.Name("sink"), weir.Parallelism(1))
	return out
}

// recordsIn returns the records that the subtasks of the chain that starts
// with operator name read.
func recordsIn(env *weir.Env, name string) int64 {
	var n int64
	for _, m := range env.Metrics() {
		if m.Operator == name || strings.HasPrefix(m.Operator, name+" -> ") {
			n += m.RecordsIn
		}
	}
	return n
}

// TestPreAggregationCombines checks that pre-aggregation folds records
// before the exchange: far fewer records reach the window operators than
// without it, and the results are the same.
func TestPreAggregationCombines(t *testing.T) {
	const n = 6000
	run := func(preAgg int, opts ...weir.EnvOption) (*weir.Env, []string) {
		env := weir.NewEnv(append([]weir.EnvOption{weir.Parallelism(2)}, opts...)...)
		out := preAggJob(env, n, preAgg, func(kv) error { return nil })
		if err := env.Execute(context.Background(), "pre-aggregation"); err != nil {
			t.Fatal(err)
		}
		r := out.Records()
		slices.Sort(r)
		return env, r
	}
	off, want := run(0)
	on, got := run(weir.DefaultPreAggregate)
	if !slices.Equal(got, want) {
		t.Fatalf("pre-aggregated results differ:\n got %q\nwant %q", got, want)
	}
	if in := recordsIn(off, "tumbling"); in != n {
		t.Fatalf("without pre-aggregation the tumbling windows read %d records, want %d", in, n)
	}
	// 60 windows of 10 s with 50 keys each: at most 3000 partials, twice
	// that for the sliding windows, and more when a flush cuts a window.
	tumbling, sliding := recordsIn(on, "tumbling"), recordsIn(on, "sliding")
	if tumbling >= n/2 || sliding >= n {
		t.Fatalf("with pre-aggregation the windows read %d (tumbling) and %d (sliding) records of %d: nothing was combined", tumbling, sliding, n)
	}
	t.Logf("records into the windows: tumbling %d, sliding %d, of %d", tumbling, sliding, n)

	// BufferTimeout(0) sends every record at once: nothing is held back.
	instant, got := run(weir.DefaultPreAggregate, weir.BufferTimeout(0))
	if !slices.Equal(got, want) {
		t.Fatalf("with BufferTimeout(0) the results differ:\n got %q\nwant %q", got, want)
	}
	if in := recordsIn(instant, "tumbling"); in != n {
		t.Fatalf("with BufferTimeout(0) the tumbling windows read %d records, want every one of %d", in, n)
	}
}

// TestPreAggregationExactThroughFailures fails an operator again and
// again, at parallelism 1 and 2, on the heap and pebble backends: the job
// restores from its latest checkpoint each time, and the committed output
// equals a run without failures and without pre-aggregation. Partials held
// across a barrier would count twice or not at all.
func TestPreAggregationExactThroughFailures(t *testing.T) {
	const n = 3000
	clean := weir.NewEnv(weir.Parallelism(2))
	wantOut := preAggJob(clean, n, 0, func(kv) error { return nil })
	if err := clean.Execute(context.Background(), "clean"); err != nil {
		t.Fatal(err)
	}
	want := wantOut.Records()
	slices.Sort(want)
	for _, backend := range []string{"heap", "pebble"} {
		for _, par := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/p%d", backend, par), func(t *testing.T) {
				env := weir.NewEnv(weir.Parallelism(par), weir.StateBackend(backend, t.TempDir()),
					weir.Checkpoints(15*time.Millisecond, t.TempDir()), weir.Restart(weir.FixedDelayRestart(-1, time.Millisecond)))
				fail, failures := failEveryUpTo(900, 8)
				out := preAggJob(env, n, 64, fail)
				if err := env.Execute(context.Background(), "flaky"); err != nil {
					t.Fatal(err)
				}
				if failures.Load() < 3 {
					t.Fatalf("only %d failures injected", failures.Load())
				}
				got := out.Records()
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Fatalf("after %d failures the output differs: got %d results, want %d\nfirst got  %q\nfirst want %q",
						failures.Load(), len(got), len(want), got[:min(5, len(got))], want[:min(5, len(want))])
				}
			})
		}
	}
}

// TestPreAggregationLateRecords sends records after the watermark passed
// their window: they cross the exchange as they are, so the allowed
// lateness refires the window and later ones reach the late output, as
// without pre-aggregation.
func TestPreAggregationLateRecords(t *testing.T) {
	script := func() *weirtest.Script[kv] {
		return weirtest.NewScript[kv]().Record(kv{"a", 1}, at(1)).Record(kv{"a", 2}, at(2)).Record(kv{"b", 1}, at(3)).
			Watermark(at(60)).Record(kv{"a", 4}, at(30)).Record(kv{"a", 8}, at(70)).
			Watermark(at(75)).Record(kv{"b", 16}, at(4))
	}
	wantRes, wantLate := runWindows(t, script(), window.Tumbling(time.Minute), weir.AllowedLateness(10*time.Second), weir.PreAggregate(0))
	gotRes, gotLate := runWindows(t, script(), window.Tumbling(time.Minute), weir.AllowedLateness(10*time.Second))
	slices.Sort(wantRes)
	slices.Sort(gotRes)
	if !slices.Equal(gotRes, wantRes) || !slices.Equal(gotLate, wantLate) {
		t.Fatalf("pre-aggregated: %q (late %q); without: %q (late %q)", gotRes, gotLate, wantRes, wantLate)
	}
	if len(wantLate) != 1 || len(wantRes) != 4 {
		t.Fatalf("the script should give 4 results and a late record: %q, late %q", wantRes, wantLate)
	}
}

func TestPreAggregateNegativeFails(t *testing.T) {
	env := weir.NewEnv()
	keyed := weir.KeyBy(weir.FromSource(env, weirtest.NewScript[kv]()), func(v kv) string { return v.K })
	weir.SinkTo(weir.Aggregate(weir.Window(keyed, window.Tumbling(time.Minute), weir.PreAggregate(-1)), count), weirtest.NewCollector[int]())
	err := env.Execute(context.Background(), "negative")
	if err == nil || !strings.Contains(err.Error(), "PreAggregate -1") {
		t.Fatalf("got %v, want an error that names PreAggregate -1", err)
	}
}
