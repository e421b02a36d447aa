package exec_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

// accessLines generates n access-log lines, out of order by at most 2 s
// (inside the jobs' 5 s, so no line is late), 1% of them bad.
func accessLines(t testing.TB, n int) []string {
	g, err := datagen.New(datagen.Seed(3), datagen.OutOfOrderness(2*time.Second), datagen.EventsPerSecond(2000), datagen.BadLineRatio(0.01))
	if err != nil {
		t.Fatal(err)
	}
	lines := make([]string, n)
	var buf []byte
	for i := range lines {
		buf, _ = g.Next(buf[:0])
		lines[i] = string(buf)
	}
	return lines
}

// pvuvRows is the SQL PV/UV job on exec's operators, as a planner would
// build it from
//
//	CREATE TABLE logs (remote_addr STRING, time_local TIMESTAMP_LTZ(3), uri STRING,
//	  WATERMARK FOR time_local AS time_local - INTERVAL '5' SECOND) WITH ('format' = 'combined-log', …);
//	SELECT window_start, window_end, COUNT(*) AS pv, COUNT(DISTINCT remote_addr) AS uv
//	  FROM TABLE(TUMBLE(TABLE logs, DESCRIPTOR(time_local), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end;
//	SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY views DESC, uri) AS rownum
//	  FROM (SELECT window_start, window_end, uri, COUNT(*) AS views FROM TABLE(TUMBLE(…)) GROUP BY window_start, window_end, uri))
//	  WHERE rownum <= 10;
//
// with the distinct count split by remote_addr (Flink's split distinct
// aggregation), so that no subtask counts every visitor. It returns
// "pv <start> <end> <pv> <uv>" and "top <start> <end> <rank> <uri> <views>"
// lines.
func pvuvRows(t testing.TB, env *weir.Env, lines weir.Stream[string]) weir.Stream[string] {
	const addr, ts, uri = 0, 1, 2
	bad := weir.NewOutputTag[string]("bad")
	rows := weir.Process(lines, func(ctx *weir.Context, line string, out weir.Emitter[types.Row]) error {
		var h pvuv.Hit
		if reason := pvuv.ParseString(line, &h); reason != "" {
			bad.Emit(ctx, reason)
			return nil
		}
		out.Emit(types.NewRow(types.StringValue(h.Client), types.IntValue(h.Time.UnixMilli()), types.StringValue(h.Page)))
		return nil
	}, weir.Name("parse"))
	tm, err := exec.EventTime(rows, exec.EventTimeSpec{Col: ts, Delay: 5 * time.Second}, "time")
	if err != nil {
		t.Fatal(err)
	}
	minute := exec.WindowSpec{Kind: exec.Tumble, TimeCol: ts, Size: time.Minute, Zone: time.UTC}
	must := func(s weir.Stream[types.Row], err error) weir.Stream[types.Row] {
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// Per visitor: addr, window_start, window_end, views.
	visitors := must(exec.WindowAggregate(tm.Rows, exec.WindowAggregateSpec{Window: minute, Keys: []int{addr},
		Aggs: []exec.AggCall{{Func: exec.CountStar}}}, "visitors"))
	// Per window: window_start, window_end, pv, uv (the rows carry the
	// window's last millisecond, so the same windows hold them).
	totals := must(exec.WindowAggregate(visitors, exec.WindowAggregateSpec{Window: minute,
		Aggs: []exec.AggCall{{Func: exec.Sum, Arg: 3, ArgType: types.BigIntType}, {Func: exec.CountStar}}}, "totals"))
	views := must(exec.WindowAggregate(tm.Rows, exec.WindowAggregateSpec{Window: minute, Keys: []int{uri},
		Aggs: []exec.AggCall{{Func: exec.CountStar}}}, "views"))
	top, _, err := exec.WindowTopN(views, exec.WindowTopNSpec{PartitionBy: []int{1, 2}, WindowEnd: 2, N: 10, RankColumn: true,
		OrderBy: []exec.SortKey{{Col: 3, Type: types.BigIntType, Desc: true}, {Col: 0, Type: types.StringType}}}, "top")
	if err != nil {
		t.Fatal(err)
	}
	a := weir.Map(totals, func(r types.Row) string {
		return fmt.Sprintf("pv %d %d %d %d", r.Values[0].Int(), r.Values[1].Int(), r.Values[2].Int(), r.Values[3].Int())
	})
	b := weir.Map(top, func(r types.Row) string {
		return fmt.Sprintf("top %d %d %d %s %d", r.Values[1].Int(), r.Values[2].Int(), r.Values[4].Int(), r.Values[0].Str(), r.Values[3].Int())
	})
	return weir.Union(a, b)
}

// pvuvResults is `weir pvuv`'s job in the same output lines.
func pvuvResults(t testing.TB, lines weir.Stream[string]) weir.Stream[string] {
	j, err := pvuv.Build(lines, pvuv.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return weir.FlatMap(j.Results, func(r pvuv.Result, out weir.Emitter[string]) {
		s, e := r.WindowStart.UnixMilli(), r.WindowEnd.UnixMilli()
		out.Emit(fmt.Sprintf("pv %d %d %d %d", s, e, r.PV, r.UV))
		for i, p := range r.TopPages {
			out.Emit(fmt.Sprintf("top %d %d %d %s %d", s, e, i+1, p.Page, p.PV))
		}
	})
}

func runLines(t testing.TB, lines []string, p int, build func(env *weir.Env, in weir.Stream[string]) weir.Stream[string]) []string {
	env := weir.NewEnv(weir.Parallelism(p))
	out := weirtest.NewCollector[string]()
	weir.SinkTo(build(env, weir.FromSource(env, weirtest.FromSlice(lines...))), out, weir.Parallelism(1))
	if err := env.Execute(context.Background(), "pvuv"); err != nil {
		t.Fatal(err)
	}
	got := out.Records()
	slices.Sort(got)
	return got
}

// TestPVUVEqualsWeirPVUV: the SQL-shaped PV/UV job on exec's operators
// gives, window by window, the PV, the exact UV and the top 10 uris of
// `weir pvuv`.
func TestPVUVEqualsWeirPVUV(t *testing.T) {
	lines := accessLines(t, 30000)
	want := runLines(t, lines, 2, func(_ *weir.Env, in weir.Stream[string]) weir.Stream[string] { return pvuvResults(t, in) })
	got := runLines(t, lines, 2, func(env *weir.Env, in weir.Stream[string]) weir.Stream[string] { return pvuvRows(t, env, in) })
	sameRows(t, "SQL PV/UV against weir pvuv", got, want)
}

// BenchmarkPVUV runs `weir pvuv`'s job and the SQL-shaped job on the same
// lines at parallelism 2; compare their lines/s.
func BenchmarkPVUV(b *testing.B) {
	lines := accessLines(b, 200_000)
	for _, c := range []struct {
		name  string
		build func(env *weir.Env, in weir.Stream[string]) weir.Stream[string]
	}{
		{"pvuv", func(_ *weir.Env, in weir.Stream[string]) weir.Stream[string] { return pvuvResults(b, in) }},
		{"sql", func(env *weir.Env, in weir.Stream[string]) weir.Stream[string] { return pvuvRows(b, env, in) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				runLines(b, lines, 2, c.build)
			}
			b.ReportMetric(float64(len(lines)*b.N)/time.Since(start).Seconds(), "lines/s")
		})
	}
}

// BenchmarkWindowAggregate measures the window aggregate on rows: COUNT(*)
// and COUNT(DISTINCT user) per uri and 10 s window, parallelism 1.
func BenchmarkWindowAggregate(b *testing.B) {
	rows := events(100_000, 20)
	b.ReportAllocs()
	start := time.Now()
	for b.Loop() {
		run(b, rows, 1, "heap", func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
			return exec.WindowAggregate(timed(b, in), exec.WindowAggregateSpec{
				Window: exec.WindowSpec{Kind: exec.Tumble, TimeCol: cTime, Size: 10 * time.Second}, Keys: []int{cURI},
				Aggs: []exec.AggCall{{Func: exec.CountStar}, {Func: exec.Count, Distinct: true, Arg: cUser, ArgType: types.StringType}}}, "agg")
		})
	}
	b.ReportMetric(float64(len(rows)*b.N)/time.Since(start).Seconds(), "rows/s")
}
