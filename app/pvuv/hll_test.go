package pvuv_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/bench/baseline"
	"github.com/weirstream/weir/connector/datagen"
)

// midnight generates lines that start a minute before a UTC midnight and
// run into the next day, from so many distinct clients that the sketch of
// the first window leaves the sparse form: the job makes two days.
func midnight(t testing.TB, n int) (path string, data []byte) {
	return generateWith(t, []datagen.Option{datagen.Seed(11), datagen.Start(time.Date(2026, 11, 24, 23, 59, 0, 0, time.UTC)), datagen.EventsPerSecond(700), datagen.Clients(datagen.MaxClients), datagen.Pages(200), datagen.ZipfS(1.0001)}, n)
}

// TestUVModes runs the job on generated lines with exact and with
// HyperLogLog UV, in parallel: PV and the top pages are exact in both;
// HyperLogLog UV is within three standard errors of the exact UV in every
// window. The days' PV is exact and their UV, a sketch in both modes, is
// the same in both and within three standard errors of the distinct
// clients of the day.
func TestUVModes(t *testing.T) {
	path, data := midnight(t, 48_000)
	base, err := baseline.Run(bytes.NewReader(data), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	tr := exact(t, data, time.Minute)
	out := map[string]output{}
	for _, uv := range []string{pvuv.UVExact, pvuv.UVHLL} {
		out[uv] = run{path: path, parallelism: 2, splits: 3, opts: pvuv.Options{UV: uv}}.execute(t)
	}
	hll := finals(out[pvuv.UVHLL].results)
	if len(out[pvuv.UVHLL].results) != len(base.Windows) || len(hll) != len(base.Windows) {
		t.Fatalf("%d results for %d windows, want %d: one per window", len(out[pvuv.UVHLL].results), len(hll), len(base.Windows))
	}
	exactFinal := finals(out[pvuv.UVExact].results)
	for _, w := range base.Windows {
		start := w.Start.UnixMilli()
		if e := exactFinal[start]; e.PV != w.PV || e.UV != w.UV {
			t.Errorf("window %v, exact UV: pv %d uv %d, want %d and %d", w.Start, e.PV, e.UV, w.PV, w.UV)
		}
		h := hll[start]
		wantTop := string(pvuv.Result{WindowStart: w.Start, WindowEnd: w.End, PV: w.PV, UV: h.UV, TopPages: pages(w.TopPages)}.AppendJSON(nil))
		if got := string(h.AppendJSON(nil)); got != wantTop {
			t.Errorf("window %v, HyperLogLog UV: PV and pages\n got %s\nwant %s", w.Start, got, wantTop)
		}
		if !withinHLLError(h.UV, w.UV) {
			t.Errorf("window %v: HyperLogLog UV %d, exact %d: off by %.2f%%, more than three standard errors (%.2f%%)",
				w.Start, h.UV, w.UV, 100*float64(h.UV-w.UV)/float64(w.UV), 300*pvuv.HLLStandardError)
		}
		t.Logf("window %v: pv %d, uv %d exact, %d estimated", w.Start, w.PV, w.UV, h.UV)
	}

	if len(tr.days) != 2 {
		t.Fatalf("the input spans %d days, want 2", len(tr.days))
	}
	exactDays, hllDays := dayFinals(out[pvuv.UVExact].days), dayFinals(out[pvuv.UVHLL].days)
	for day, want := range tr.days {
		e, h := exactDays[day], hllDays[day]
		if e.PV != want.pv || h.PV != want.pv {
			t.Errorf("day %v: pv %d (exact UV) and %d (HyperLogLog UV), want %d", day, e.PV, h.PV, want.pv)
		}
		if e.UV != h.UV || !withinHLLError(e.UV, want.uv) {
			t.Errorf("day %v: uv %d (exact UV) and %d (HyperLogLog UV), want the same estimate within three standard errors of %d", day, e.UV, h.UV, want.uv)
		}
		t.Logf("day %v: pv %d, uv %d exact, %d estimated", day.Format(time.DateOnly), want.pv, want.uv, e.UV)
	}
	// The second day's window closes before the day: a running result,
	// then the final one.
	second := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	for uv, o := range out {
		closed := map[time.Time]bool{}
		running := 0
		for _, d := range o.days {
			if closed[d.Day] {
				t.Errorf("UV %s: day %v has a result after its final one", uv, d.Day)
			}
			if d.Running && (d.PV > tr.days[d.Day].pv || d.Day != second) {
				t.Errorf("UV %s: running result %+v: above the day's PV, or of a day that had no window closed before its end", uv, d)
			}
			if d.Running {
				running++
			}
			closed[d.Day] = !d.Running
		}
		if running == 0 || len(closed) != 2 || !closed[second] {
			t.Errorf("UV %s: day results %+v; want the first day's final, and the second day's running result then its final", uv, o.days)
		}
	}
}

// TestSketchesSurviveCheckpoints fails a job with HyperLogLog UV after a
// checkpoint taken in the course of the input; it restarts from that
// checkpoint, with the windows' and days' sketches restored, and ends
// with the results of a run without failure.
func TestSketchesSurviveCheckpoints(t *testing.T) {
	_, data := midnight(t, 20_000)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	opts := pvuv.Options{UV: pvuv.UVHLL}
	// The slice source cuts the lines into one contiguous range per
	// subtask, as the file source cuts a file into splits, and returns 16
	// lines per poll: the failing step below slows every line, so few
	// lines may wait in front of a barrier.
	want := run{lines: lines, batch: 16, parallelism: 2, opts: opts}.execute(t)

	between, failed := failAfterCheckpoint(len(lines))
	got := run{lines: lines, batch: 16, parallelism: 2, opts: opts, between: between,
		env: []weir.EnvOption{weir.Checkpoints(20*time.Millisecond, t.TempDir()), weir.Restart(weir.FixedDelayRestart(1, time.Millisecond)),
			weir.BatchSize(16), weir.ChannelCapacity(1)}}.execute(t)
	if !failed() {
		t.Fatal("no checkpoint completed after a fifth of the input: the failure was not injected")
	}
	wantFinal, gotFinal := finals(want.results), finals(got.results)
	if len(gotFinal) != len(wantFinal) {
		t.Fatalf("%d windows after the restore, want %d", len(gotFinal), len(wantFinal))
	}
	for start, w := range wantFinal {
		if g := gotFinal[start]; string(g.AppendJSON(nil)) != string(w.AppendJSON(nil)) {
			t.Errorf("window %v after the restore:\n got %s\nwant %s", w.WindowStart, g.AppendJSON(nil), w.AppendJSON(nil))
		}
	}
	wantDays, gotDays := dayFinals(want.days), dayFinals(got.days)
	if len(gotDays) != len(wantDays) {
		t.Fatalf("days after the restore %v, want %v", gotDays, wantDays)
	}
	for day, w := range wantDays {
		if gotDays[day] != w {
			t.Errorf("day %v after the restore: %+v, want %+v", day, gotDays[day], w)
		}
	}
}
