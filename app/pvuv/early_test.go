package pvuv_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/weirtest"
)

// gateUntilRunning holds line number at back until Job.Results has a
// running result, so a window stays open (its later lines, and the
// watermark, wait behind the gate) while early results fire: the test
// waits for a condition, never for a time.
func gateUntilRunning(t testing.TB, at int) func(*weir.Env, weir.Stream[string], *weirtest.Collector[pvuv.Result]) weir.Stream[string] {
	return func(_ *weir.Env, lines weir.Stream[string], results *weirtest.Collector[pvuv.Result]) weir.Stream[string] {
		n := 0
		return weir.Process(lines, func(_ *weir.Context, line string, out weir.Emitter[string]) error {
			if n++; n == at {
				for !hasRunning(results.Records()) {
					select {
					case <-t.Context().Done():
						return t.Context().Err()
					case <-time.After(2 * time.Millisecond):
					}
				}
			}
			out.Emit(line)
			return nil
		}, weir.Name("gate"))
	}
}

func hasRunning(rs []pvuv.Result) bool {
	for _, r := range rs {
		if r.Running {
			return true
		}
	}
	return false
}

// TestEarlyResults runs the same input with and without early results, in
// both UV modes: the final results are the same, and every window's
// running results come before its one final result, never decrease, and
// never exceed it. Days likewise.
func TestEarlyResults(t *testing.T) {
	path, _ := generateWith(t, []datagen.Option{datagen.Seed(3), datagen.EventsPerSecond(100), datagen.Clients(2000), datagen.Pages(50)}, 15_000)
	for _, uv := range []string{pvuv.UVExact, pvuv.UVHLL} {
		t.Run(uv, func(t *testing.T) {
			want := run{path: path, parallelism: 2, opts: pvuv.Options{UV: uv}}.execute(t)
			got := run{
				path: path, parallelism: 1, between: gateUntilRunning(t, 4_000),
				opts: pvuv.Options{UV: uv, EarlyResults: 20 * time.Millisecond},
				// Every record leaves at once, so the lines before the
				// gate reach the windows while the gate holds.
				env: []weir.EnvOption{weir.BufferTimeout(0)},
			}.execute(t)
			if hasRunning(want.results) {
				t.Fatal("a job without EarlyResults made running results")
			}

			// Final results: the same, window by window.
			wantFinal, gotFinal := finals(want.results), finals(got.results)
			if len(wantFinal) != len(want.results) || len(wantFinal) < 3 {
				t.Fatalf("without early results: %d results for %d windows; want one per window, at least 3", len(want.results), len(wantFinal))
			}
			for start, w := range wantFinal {
				if g, ok := gotFinal[start]; !ok || string(g.AppendJSON(nil)) != string(w.AppendJSON(nil)) {
					t.Errorf("window %v: final result with early results\n %s\nwant\n %s", w.WindowStart, g.AppendJSON(nil), w.AppendJSON(nil))
				}
			}
			if len(gotFinal) != len(wantFinal) {
				t.Errorf("%d windows with early results, %d without", len(gotFinal), len(wantFinal))
			}

			// Running results: before the final one, monotone, bounded by it.
			running := 0
			last := map[int64]pvuv.Result{}
			closed := map[int64]bool{}
			for _, r := range got.results {
				start := r.WindowStart.UnixMilli()
				if closed[start] {
					t.Fatalf("window %v: a result after its final one: %+v", r.WindowStart, r)
				}
				if prev, ok := last[start]; ok && (r.PV < prev.PV || (uv == pvuv.UVExact && r.UV < prev.UV)) {
					t.Fatalf("window %v: results went down: pv %d uv %d after pv %d uv %d", r.WindowStart, r.PV, r.UV, prev.PV, prev.UV)
				}
				if r.Running {
					running++
					f := gotFinal[start]
					if r.PV > f.PV || (uv == pvuv.UVExact && r.UV > f.UV) || len(r.TopPages) > len(f.TopPages) {
						t.Fatalf("window %v: running result pv %d uv %d above the final pv %d uv %d", r.WindowStart, r.PV, r.UV, f.PV, f.UV)
					}
				} else {
					closed[start] = true
				}
				last[start] = r
			}
			if running == 0 {
				t.Fatal("no running result: the gate should have waited for one")
			}

			// Days: the same final results; running ones monotone below them.
			wantDays, gotDays := dayFinals(want.days), dayFinals(got.days)
			if len(wantDays) == 0 || len(gotDays) != len(wantDays) {
				t.Fatalf("final days: %v with early results, %v without", gotDays, wantDays)
			}
			for day, w := range wantDays {
				if gotDays[day] != w {
					t.Errorf("day %v: final %+v with early results, %+v without", day, gotDays[day], w)
				}
			}
			runningDays := 0
			prev := map[time.Time]int64{}
			for _, d := range got.days {
				if d.Running {
					runningDays++
					if d.PV > gotDays[d.Day].PV || d.PV < prev[d.Day] {
						t.Fatalf("day %v: running result pv %d above the final %d, or below the one before (%d)", d.Day, d.PV, gotDays[d.Day].PV, prev[d.Day])
					}
				}
				prev[d.Day] = d.PV
			}
			if runningDays == 0 {
				t.Fatal("no running day result, though windows of the day closed before it")
			}
			t.Logf("%d results (%d running), %d day results (%d running)", len(got.results), running, len(got.days), runningDays)
		})
	}
}

// TestEarlyResultsNeedHeapState: the pebble backend keeps no list of the
// keys that changed, so early firing refuses to start there, with a
// message that says why.
func TestEarlyResultsNeedHeapState(t *testing.T) {
	env := weir.NewEnv(weir.StateBackend("pebble", t.TempDir()))
	src := weirtest.FromSlice(`10.0.0.1 - - [24/Nov/2026:07:40:10 +0000] "GET /a HTTP/1.1" 200 1`)
	job, err := pvuv.Build(weir.FromSource(env, src), pvuv.Options{EarlyResults: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	weir.SinkTo(job.Results, weirtest.NewCollector[pvuv.Result]())
	err = env.Execute(context.Background(), "pebble")
	if err == nil || !strings.Contains(err.Error(), "EarlyFiring needs the heap state backend") {
		t.Fatalf("Execute: %v; want the error that early firing needs the heap backend", err)
	}
}
