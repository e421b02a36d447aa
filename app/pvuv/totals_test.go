package pvuv_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/bench/baseline"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/internal/redistest"
	"github.com/weirstream/weir/weirtest"
)

// totalsInput generates lines with bad ones among them, and their exact
// figures.
func totalsInput(t *testing.T) (path string, lines []string, want *baseline.Result) {
	t.Helper()
	path, data := generateWith(t, []datagen.Option{datagen.Seed(13), datagen.EventsPerSecond(200), datagen.Clients(800), datagen.Pages(60), datagen.BadLineRatio(0.02)}, 20_000)
	base, err := baseline.Run(bytes.NewReader(data), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	if base.Bad == 0 {
		t.Fatal("the input has no bad line")
	}
	return path, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"), &base
}

// checkRedisTotals checks that Redis holds the exact totals under the
// prefix "job", and that they add up with the windows it holds: the
// page views of the final windows, plus the bad and the late lines, are
// the lines.
func checkRedisTotals(t *testing.T, srv *redistest.Server, want *baseline.Result) {
	t.Helper()
	c := srv.Client(t)
	ctx := t.Context()
	got, err := c.Do(ctx, c.B().Hgetall().Key("job:counters").Build()).AsStrMap()
	if err != nil {
		t.Fatal(err)
	}
	wantTotals := map[string]string{"lines": strconv.FormatInt(want.Lines, 10), "bad_lines": strconv.FormatInt(want.Bad, 10), "late": "0"}
	if len(got) != len(wantTotals) || got["lines"] != wantTotals["lines"] || got["bad_lines"] != wantTotals["bad_lines"] || got["late"] != "0" {
		t.Errorf("job:counters = %v, want %v", got, wantTotals)
	}
	starts, err := c.Do(ctx, c.B().Zrange().Key("job:windows").Min("0").Max("-1").Build()).AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	var pv int64
	for _, s := range starts {
		w, err := c.Do(ctx, c.B().Hgetall().Key("job:window:"+s).Build()).AsStrMap()
		if err != nil {
			t.Fatal(err)
		}
		if w["final"] != "1" {
			t.Errorf("window %s is not final at the end: %v", s, w)
		}
		n, _ := strconv.ParseInt(w["pv"], 10, 64)
		pv += n
	}
	if len(starts) != len(want.Windows) || pv != want.Lines-want.Bad {
		t.Errorf("Redis holds %d windows with %d page views, want %d with %d", len(starts), pv, len(want.Windows), want.Lines-want.Bad)
	}
}

// TestTotalsIntoRedis runs the job into Redis as weir pvuv does, with the
// file read in parallel: when it ends, P:counters holds every line and
// every bad line of the input, exactly, though the job ends before the
// counters writer beside it would write.
func TestTotalsIntoRedis(t *testing.T) {
	srv := redistest.Start(t)
	path, _, want := totalsInput(t)
	run{path: path, parallelism: 2, splits: 3, redis: srv.URL()}.execute(t)
	checkRedisTotals(t, srv, want)
}

// TestTotalsSurviveRestore fails the job once, after a checkpoint taken in
// the course of the input; it restarts from that checkpoint and reads the
// lines after it again. P:counters still ends with every line counted
// once: the totals come back from the checkpoint with the windows.
func TestTotalsSurviveRestore(t *testing.T) {
	srv := redistest.Start(t)
	_, lines, want := totalsInput(t)
	between, failed := failAfterCheckpoint(len(lines))
	run{lines: lines, batch: 16, parallelism: 2, between: between, redis: srv.URL(),
		env: []weir.EnvOption{weir.Checkpoints(20*time.Millisecond, t.TempDir()), weir.Restart(weir.FixedDelayRestart(1, time.Millisecond)),
			weir.BatchSize(16), weir.ChannelCapacity(1)}}.execute(t)
	if !failed() {
		t.Fatal("no checkpoint completed after a fifth of the input: the failure was not injected")
	}
	checkRedisTotals(t, srv, want)
}

// TestTotalsCountLateLines: a late line counts in Totals.Late, the page
// views of the windows in PageViews, and the last record is final.
func TestTotalsCountLateLines(t *testing.T) {
	lines := []string{
		`10.0.0.1 - - [24/Nov/2026:07:40:10 +0000] "GET /a HTTP/1.1" 200 1`,
		`10.0.0.2 - - [24/Nov/2026:07:42:30 +0000] "GET /b HTTP/1.1" 200 1`,
		`10.0.0.3 - - [24/Nov/2026:07:40:20 +0000] "GET /late HTTP/1.1" 200 1`,
		"not a line",
	}
	env := weir.NewEnv()
	src := weirtest.NewScript[string]()
	src.Record(lines[0], pvuv.LineTime(lines[0])).Record(lines[1], pvuv.LineTime(lines[1]))
	src.Watermark(pvuv.LineTime(lines[1]).Add(-5 * time.Second)) // past 07:41:00: the next line is late
	src.Record(lines[2], pvuv.LineTime(lines[2])).Record(lines[3], pvuv.LineTime(lines[1]))
	job, err := pvuv.Build(weir.FromSource(env, src), pvuv.Options{SourceWatermarks: true})
	if err != nil {
		t.Fatal(err)
	}
	totals := weirtest.NewCollector[pvuv.Totals]()
	weir.SinkTo(job.Totals, totals)
	if err := env.Execute(context.Background(), "totals"); err != nil {
		t.Fatal(err)
	}
	got := totals.Records()
	want := pvuv.Totals{Lines: 4, PageViews: 2, BadLines: 1, Late: 1, Final: true}
	if len(got) == 0 || got[len(got)-1] != want {
		t.Fatalf("totals %+v, want the last to be %+v", got, want)
	}
	for _, g := range got[:len(got)-1] {
		if g.Final || g.Lines != g.PageViews+g.BadLines+g.Late {
			t.Fatalf("totals %+v before the last: not final, and the lines add up", got)
		}
	}
}
