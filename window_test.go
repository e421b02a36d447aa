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

var t0 = time.Date(2026, 11, 24, 7, 40, 0, 0, time.UTC)

func at(sec float64) time.Time { return t0.Add(time.Duration(sec * float64(time.Second))) }

type kv struct {
	K string
	V int
}

var count = weir.AggregateFunc[kv, int, int]{
	Init:   func() int { return 0 },
	Add:    func(a int, v kv) int { return a + v.V },
	Result: func(a int) int { return a },
	Merge:  func(a, b int) int { return a + b },
}

// describe renders a window result so tests compare plain strings.
func describe(k string, w window.Window, n int, out weir.Emitter[string]) error {
	out.Emit(fmt.Sprintf("%s %s-%s %d", k, w.StartTime().Format("15:04:05"), w.EndTime().Format("15:04:05"), n))
	return nil
}

func runWindows(t *testing.T, script *weirtest.Script[kv], a window.Assigner, opts ...weir.WindowOption) (results, late []string) {
	t.Helper()
	return runWindowsOn(t, weir.NewEnv(weir.Parallelism(2)), script, a, opts...)
}

func runWindowsOn(t *testing.T, env *weir.Env, script *weirtest.Script[kv], a window.Assigner, opts ...weir.WindowOption) (results, late []string) {
	t.Helper()
	src := weir.FromSource(env, script, weir.Parallelism(1))
	keyed := weir.KeyBy(src, func(v kv) string { return v.K })
	lateTag := weir.NewOutputTag[kv]("late")
	opts = append(opts, weir.LateRecordsTo(lateTag))
	out := weir.AggregateWindow(weir.Window(keyed, a, opts...), count, describe)
	got := weirtest.NewCollector[string]()
	lateGot := weirtest.NewCollector[kv]()
	weir.SinkTo(out, got, weir.Parallelism(1))
	weir.SinkTo(weir.Map(weir.SideOutput(out, lateTag), func(v kv) kv { return v }), lateGot, weir.Parallelism(1))
	if err := env.Execute(context.Background(), "windows"); err != nil {
		t.Fatal(err)
	}
	for _, l := range lateGot.Records() {
		late = append(late, fmt.Sprintf("%s %d", l.K, l.V))
	}
	return got.Records(), late
}

func TestTumblingOutOfOrderAndLate(t *testing.T) {
	s := weirtest.NewScript[kv]().
		Record(kv{"a", 1}, at(1)).
		Record(kv{"b", 1}, at(5)).
		Record(kv{"a", 10}, at(61)).  // next window
		Record(kv{"a", 100}, at(2)).  // out of order, window 1 still open
		Watermark(at(60)).            // fires window 1 (its last ms is 59.999)
		Record(kv{"a", 1000}, at(3)). // late: window 1 closed
		Record(kv{"b", 5}, at(70))
	got, late := runWindows(t, s, window.Tumbling(time.Minute))
	slices.Sort(got)
	want := []string{"a 07:40:00-07:41:00 101", "a 07:41:00-07:42:00 10", "b 07:40:00-07:41:00 1", "b 07:41:00-07:42:00 5"}
	if !slices.Equal(got, want) {
		t.Fatalf("results\n got %q\nwant %q", got, want)
	}
	if !slices.Equal(late, []string{"a 1000"}) {
		t.Fatalf("late = %q, want [a 1000]", late)
	}
}

func TestAllowedLatenessRefires(t *testing.T) {
	s := weirtest.NewScript[kv]().
		Record(kv{"a", 1}, at(1)).
		Watermark(at(60)).          // fires a=1
		Record(kv{"a", 2}, at(30)). // late but within 10s lateness: fires a=3
		Watermark(at(70)).          // lateness over: state dropped
		Record(kv{"a", 4}, at(31))  // too late: side output
	got, late := runWindows(t, s, window.Tumbling(time.Minute), weir.AllowedLateness(10*time.Second))
	want := []string{"a 07:40:00-07:41:00 1", "a 07:40:00-07:41:00 3"}
	if !slices.Equal(got, want) {
		t.Fatalf("results\n got %q\nwant %q", got, want)
	}
	if !slices.Equal(late, []string{"a 4"}) {
		t.Fatalf("late = %q", late)
	}
}

func TestSlidingWindows(t *testing.T) {
	s := weirtest.NewScript[kv]().Record(kv{"a", 1}, at(5)).Record(kv{"a", 2}, at(25))
	got, _ := runWindows(t, s, window.Sliding(20*time.Second, 10*time.Second))
	want := []string{"a 07:39:50-07:40:10 1", "a 07:40:00-07:40:20 1", "a 07:40:10-07:40:30 2", "a 07:40:20-07:40:40 2"}
	if !slices.Equal(got, want) {
		t.Fatalf("results\n got %q\nwant %q", got, want)
	}
}

func TestSessionWindowsMerge(t *testing.T) {
	s := weirtest.NewScript[kv]().
		Record(kv{"a", 1}, at(0)).
		Record(kv{"a", 2}, at(20)). // separate session: gap is 10s
		Record(kv{"b", 7}, at(1)).
		Record(kv{"a", 4}, at(9)).  // bridges [0,10) and [20,30)? 9+10=19 < 20: joins only the first
		Record(kv{"a", 8}, at(15)). // [15,25) touches [0,19) and [20,30): all merge
		Watermark(at(100)).
		Record(kv{"a", 16}, at(200))
	got, late := runWindows(t, s, window.Session(10*time.Second))
	slices.Sort(got)
	want := []string{"a 07:40:00-07:40:30 15", "a 07:43:20-07:43:30 16", "b 07:40:01-07:40:11 7"}
	if !slices.Equal(got, want) {
		t.Fatalf("results\n got %q\nwant %q", got, want)
	}
	if len(late) != 0 {
		t.Fatalf("late = %q", late)
	}
}

func TestEarlyFiring(t *testing.T) {
	s := weirtest.NewScript[kv]().
		Record(kv{"a", 1}, at(1)).Wait(150*time.Millisecond).
		Record(kv{"a", 2}, at(2)).Wait(150*time.Millisecond).
		Record(kv{"a", 4}, at(3))
	got, _ := runWindows(t, s, window.Tumbling(time.Minute), weir.EarlyFiring(50*time.Millisecond))
	// Early results show running sums 1 and 3; the final result is 7 and comes last.
	if len(got) < 3 || got[len(got)-1] != "a 07:40:00-07:41:00 7" {
		t.Fatalf("results = %q: want early results then the final 7", got)
	}
	if !slices.Contains(got, "a 07:40:00-07:41:00 1") || !slices.Contains(got, "a 07:40:00-07:41:00 3") {
		t.Fatalf("results = %q: want early results 1 and 3", got)
	}
}

// TestEarlyFiringReportsTheKeysThatChanged: with many keys in a window,
// an early firing reports exactly the keys whose results changed since the
// one before, those on either side of every 64th included, and the final
// firing reports every key.
func TestEarlyFiringReportsTheKeysThatChanged(t *testing.T) {
	const keys = 300
	changed := []int{0, 1, 63, 64, 65, 127, 128, 191, 192, 299}
	s := weirtest.NewScript[kv]()
	for k := range keys {
		s.Record(kv{fmt.Sprint(k), 1}, at(1))
	}
	// Waits of eight early-firing intervals: each phase fires early before
	// the next begins, however loaded the machine.
	s.Wait(400 * time.Millisecond)
	for _, k := range changed {
		s.Record(kv{fmt.Sprint(k), 1}, at(2))
	}
	s.Wait(400 * time.Millisecond)
	got, _ := runWindowsOn(t, weir.NewEnv(weir.Parallelism(1)), s, window.Tumbling(time.Minute), weir.EarlyFiring(50*time.Millisecond))
	reports := map[string][]string{} // by key: the counts reported, in order
	for _, r := range got {
		f := strings.Fields(r)
		reports[f[0]] = append(reports[f[0]], f[2])
	}
	for k := range keys {
		want := []string{"1", "1"} // early, final
		if slices.Contains(changed, k) {
			want = []string{"1", "2", "2"} // early, early again, final
		}
		if r := reports[fmt.Sprint(k)]; !slices.Equal(r, want) {
			t.Errorf("key %d reported %v, want %v", k, r, want)
		}
	}
}

func TestProcessingTimeWindows(t *testing.T) {
	s := weirtest.NewScript[kv]().Record(kv{"a", 1}, at(0)).Record(kv{"a", 2}, at(0))
	got, _ := runWindows(t, s, window.OnProcessingTime(window.Tumbling(time.Hour)))
	if len(got) != 1 || got[0][len(got[0])-1] != '3' {
		t.Fatalf("results = %q, want one window holding 3", got)
	}
}

func TestReduce(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(2))
	var timed []weirtest.Timed[kv]
	for i := 0; i < 1000; i++ {
		timed = append(timed, weirtest.Timed[kv]{Value: kv{fmt.Sprint(i % 3), i}, Time: at(float64(i % 120))})
	}
	src := weir.FromSource(env, weirtest.FromTimed(timed...))
	keyed := weir.KeyBy(src, func(v kv) string { return v.K })
	sum := weir.Reduce(weir.Window(keyed, window.Tumbling(time.Minute)), func(a, b kv) kv { return kv{a.K, a.V + b.V} })
	got := weirtest.NewCollector[kv]()
	weir.SinkTo(sum, got)
	if err := env.Execute(context.Background(), "reduce"); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, r := range got.Records() {
		total += r.V
	}
	if len(got.Records()) != 6 || total != 999*1000/2 {
		t.Fatalf("%d results summing to %d, want 6 summing to %d", len(got.Records()), total, 999*1000/2)
	}
}

func timeWindow() window.Assigner { return window.Tumbling(time.Minute) }

func TestLateRecordsWithoutTagAreCounted(t *testing.T) {
	env := weir.NewEnv()
	s := weirtest.NewScript[kv]().Record(kv{"a", 1}, at(1)).Watermark(at(120)).Record(kv{"a", 2}, at(2))
	keyed := weir.KeyBy(weir.FromSource(env, s), func(v kv) string { return v.K })
	got := weirtest.NewCollector[int]()
	weir.SinkTo(weir.Aggregate(weir.Window(keyed, window.Tumbling(time.Minute)), count), got)
	if err := env.Execute(context.Background(), "late"); err != nil {
		t.Fatal(err)
	}
	if r := got.Records(); len(r) != 1 || r[0] != 1 || env.DroppedLateRecords() != 1 {
		t.Fatalf("results %v, dropped %d: want [1] and 1", r, env.DroppedLateRecords())
	}
}

// TestWindowsOnPebble runs the window scripts with their contents in the
// pebble backend: the results equal the heap's.
func TestWindowsOnPebble(t *testing.T) {
	scripts := []struct {
		name   string
		script func() *weirtest.Script[kv]
		a      window.Assigner
		opts   []weir.WindowOption
	}{
		{"tumbling, out of order and late", func() *weirtest.Script[kv] {
			return weirtest.NewScript[kv]().Record(kv{"a", 1}, at(1)).Record(kv{"b", 1}, at(5)).Record(kv{"a", 10}, at(61)).
				Record(kv{"a", 100}, at(2)).Watermark(at(60)).Record(kv{"a", 1000}, at(3)).Record(kv{"b", 5}, at(70))
		}, window.Tumbling(time.Minute), nil},
		{"allowed lateness", func() *weirtest.Script[kv] {
			return weirtest.NewScript[kv]().Record(kv{"a", 1}, at(1)).Watermark(at(60)).Record(kv{"a", 2}, at(30)).
				Watermark(at(70)).Record(kv{"a", 4}, at(31))
		}, window.Tumbling(time.Minute), []weir.WindowOption{weir.AllowedLateness(10 * time.Second)}},
		{"sliding", func() *weirtest.Script[kv] {
			return weirtest.NewScript[kv]().Record(kv{"a", 1}, at(5)).Record(kv{"a", 2}, at(25))
		}, window.Sliding(20*time.Second, 10*time.Second), nil},
	}
	for _, c := range scripts {
		t.Run(c.name, func(t *testing.T) {
			wantRes, wantLate := runWindows(t, c.script(), c.a, c.opts...)
			env := weir.NewEnv(weir.Parallelism(2), weir.StateBackend("pebble", t.TempDir()))
			gotRes, gotLate := runWindowsOn(t, env, c.script(), c.a, c.opts...)
			slices.Sort(wantRes)
			slices.Sort(gotRes)
			if !slices.Equal(gotRes, wantRes) || !slices.Equal(gotLate, wantLate) {
				t.Fatalf("pebble gave %q (late %q), heap %q (late %q)", gotRes, gotLate, wantRes, wantLate)
			}
		})
	}
}

// reported is an accumulator whose window function remembers what it
// emitted, as the PV/UV job's counters do.
type reported struct {
	N, Reported int
}

// TestRefiringSeesWhatTheWindowFunctionStored fires a window, then a late
// record within the allowed lateness fires it again: the second firing must
// see the accumulator as the first one left it, on both backends.
func TestRefiringSeesWhatTheWindowFunctionStored(t *testing.T) {
	for _, backend := range []string{"heap", "pebble"} {
		t.Run(backend, func(t *testing.T) {
			env := weir.NewEnv(weir.StateBackend(backend, t.TempDir()))
			s := weirtest.NewScript[kv]().Record(kv{"a", 1}, at(1)).Record(kv{"a", 1}, at(2)).
				Watermark(at(61)).Record(kv{"a", 1}, at(3))
			keyed := weir.KeyBy(weir.FromSource(env, s), func(v kv) string { return v.K })
			agg := weir.AggregateFunc[kv, *reported, *reported]{
				Init:   func() *reported { return &reported{} },
				Add:    func(a *reported, _ kv) *reported { a.N++; return a },
				Result: func(a *reported) *reported { return a },
				Merge:  func(a, b *reported) *reported { a.N += b.N; return a },
			}
			deltas := weir.AggregateWindow(weir.Window(keyed, window.Tumbling(time.Minute), weir.AllowedLateness(time.Minute)), agg,
				func(_ string, _ window.Window, a *reported, out weir.Emitter[int]) error {
					out.Emit(a.N - a.Reported)
					a.Reported = a.N
					return nil
				})
			got := weirtest.NewCollector[int]()
			weir.SinkTo(deltas, got)
			if err := env.Execute(context.Background(), "refire"); err != nil {
				t.Fatal(err)
			}
			if r := got.Records(); !slices.Equal(r, []int{2, 1}) {
				t.Fatalf("firings emitted %v, want [2 1]: the refiring did not see what the first firing stored", r)
			}
		})
	}
}

// TestAggregateWindowAccKeepsWhatTheFunctionLeft keeps a plain value as the
// accumulator and has the window function remember in it what it reported:
// every later firing (a late record within the allowed lateness, an early
// result) must see what the one before left, on both backends, with and
// without pre-aggregation, for tumbling and merging (session) windows.
func TestAggregateWindowAccKeepsWhatTheFunctionLeft(t *testing.T) {
	agg := weir.AggregateFunc[kv, reported, reported]{
		Init:  func() reported { return reported{} },
		Add:   func(a reported, _ kv) reported { a.N++; return a },
		Merge: func(a, b reported) reported { a.N += b.N; return a },
	}
	deltas := func(_ string, _ window.Window, a *reported, out weir.Emitter[int]) error {
		if d := a.N - a.Reported; d > 0 {
			out.Emit(d)
		}
		a.Reported = a.N
		return nil
	}
	late := func() *weirtest.Script[kv] {
		return weirtest.NewScript[kv]().Record(kv{"a", 1}, at(1)).Record(kv{"a", 1}, at(2)).
			Watermark(at(61)).Record(kv{"a", 1}, at(3)).Record(kv{"a", 1}, at(4))
	}
	for _, c := range []struct {
		name    string
		backend string
		a       window.Assigner
		opts    []weir.WindowOption
	}{
		{"heap", "heap", window.Tumbling(time.Minute), nil},
		{"heap, pre-aggregated at parallelism 2", "heap", window.Tumbling(time.Minute), []weir.WindowOption{weir.PreAggregate(16)}},
		{"heap, not pre-aggregated", "heap", window.Tumbling(time.Minute), []weir.WindowOption{weir.PreAggregate(0)}},
		{"pebble", "pebble", window.Tumbling(time.Minute), nil},
		{"heap, sessions", "heap", window.Session(5 * time.Second), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := weir.NewEnv(weir.StateBackend(c.backend, t.TempDir()), weir.Parallelism(2))
			keyed := weir.KeyBy(weir.FromSource(env, late(), weir.Parallelism(1)), func(v kv) string { return v.K })
			opts := append([]weir.WindowOption{weir.AllowedLateness(time.Minute)}, c.opts...)
			got := weirtest.NewCollector[int]()
			weir.SinkTo(weir.AggregateWindowAcc(weir.Window(keyed, c.a, opts...), agg, deltas), got, weir.Parallelism(1))
			if err := env.Execute(context.Background(), "deltas"); err != nil {
				t.Fatal(err)
			}
			// Two lines fire at the watermark, each late line fires again
			// with its own view only.
			if r := got.Records(); !slices.Equal(r, []int{2, 1, 1}) {
				t.Fatalf("firings emitted %v, want [2 1 1]: a refiring did not see what the one before left", r)
			}
		})
	}
	t.Run("early firing", func(t *testing.T) {
		env := weir.NewEnv()
		s := weirtest.NewScript[kv]().
			Record(kv{"a", 1}, at(1)).Wait(150*time.Millisecond).
			Record(kv{"a", 1}, at(2)).Record(kv{"a", 1}, at(3)).Wait(150*time.Millisecond).
			Record(kv{"a", 1}, at(4))
		keyed := weir.KeyBy(weir.FromSource(env, s), func(v kv) string { return v.K })
		got := weirtest.NewCollector[int]()
		weir.SinkTo(weir.AggregateWindowAcc(weir.Window(keyed, window.Tumbling(time.Minute), weir.EarlyFiring(50*time.Millisecond)), agg, deltas), got)
		if err := env.Execute(context.Background(), "early deltas"); err != nil {
			t.Fatal(err)
		}
		// However the early firings fall, the deltas add up to the four
		// lines once: a firing that forgot what the one before reported
		// would count some twice.
		sum := 0
		for _, d := range got.Records() {
			sum += d
		}
		if r := got.Records(); sum != 4 || len(r) < 2 {
			t.Fatalf("firings emitted %v: want at least one early delta, adding up to 4", r)
		}
	})
}

// TestAggregateNeedsResult: Aggregate and AggregateWindow read the
// accumulator through AggregateFunc.Result, so a job without it must not
// build; AggregateWindowAcc does not need it.
func TestAggregateNeedsResult(t *testing.T) {
	noResult := weir.AggregateFunc[kv, int, int]{Init: count.Init, Add: count.Add, Merge: count.Merge}
	build := func(use func(weir.WindowedStream[string, kv])) error {
		env := weir.NewEnv()
		keyed := weir.KeyBy(weir.FromSource(env, weirtest.NewScript[kv]().Record(kv{"a", 1}, at(1))), func(v kv) string { return v.K })
		use(weir.Window(keyed, window.Tumbling(time.Minute)))
		return env.Execute(context.Background(), "no result")
	}
	if err := build(func(ws weir.WindowedStream[string, kv]) {
		weir.SinkTo(weir.Aggregate(ws, noResult), weirtest.NewCollector[int]())
	}); err == nil || !strings.Contains(err.Error(), "needs Result") {
		t.Errorf("Aggregate without Result: err = %v, want one that asks for Result", err)
	}
	if err := build(func(ws weir.WindowedStream[string, kv]) {
		weir.SinkTo(weir.AggregateWindow(ws, noResult, describe), weirtest.NewCollector[string]())
	}); err == nil || !strings.Contains(err.Error(), "needs Result") {
		t.Errorf("AggregateWindow without Result: err = %v, want one that asks for Result", err)
	}
	if err := build(func(ws weir.WindowedStream[string, kv]) {
		weir.SinkTo(weir.AggregateWindowAcc(ws, noResult, func(k string, w window.Window, a *int, out weir.Emitter[string]) error {
			return describe(k, w, *a, out)
		}), weirtest.NewCollector[string]())
	}); err != nil {
		t.Errorf("AggregateWindowAcc without Result: %v", err)
	}
}

// TestWindowsOneAfterAnother: each window is dropped before the next one
// opens, so every window after the first takes over the pane of the one
// before it (heapPanes.spare); keys that come back, keys that do not, and
// early-firing marks left by a window that fired must not reach the next.
func TestWindowsOneAfterAnother(t *testing.T) {
	s := weirtest.NewScript[kv]()
	var want []string
	for w := range 4 {
		start := float64(60 * w)
		keys := 30 + 40*(w%2) // 30, 70, 30, 70 keys
		for k := range keys {
			s.Record(kv{fmt.Sprint(k + w), 1 + k%3}, at(start+1))
			want = append(want, fmt.Sprintf("%d %s-%s %d", k+w, at(start).Format("15:04:05"), at(start+60).Format("15:04:05"), 1+k%3))
		}
		s.Watermark(at(start + 60)) // fires and drops the window
	}
	s.Record(kv{"x", 1}, at(241)).Wait(400 * time.Millisecond) // early firing: "x" only
	for _, opts := range [][]weir.WindowOption{nil, {weir.EarlyFiring(50 * time.Millisecond)}} {
		got, _ := runWindowsOn(t, weir.NewEnv(weir.Parallelism(1)), s, window.Tumbling(time.Minute), opts...)
		got = slices.Compact(got) // the early and the final result of "x"
		if i := slices.Index(got, "x 07:44:00-07:45:00 1"); i < 0 || i != len(got)-1 {
			t.Fatalf("%v: the last window's results end in %q, want only x's", opts, got[len(want):])
		}
		if !slices.Equal(got[:len(want)], want) {
			t.Errorf("%v: results\n got %q\nwant %q", opts, got[:len(want)], want)
		}
	}
}
