package pvuv_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/bench/baseline"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/connector/redis"
	"github.com/weirstream/weir/internal/redistest"
	"github.com/weirstream/weir/weirtest"
)

var t0 = time.Date(2026, 11, 24, 7, 40, 0, 0, time.UTC)

func result(minute int, pv, uv int64, running bool, top ...pvuv.PageCount) pvuv.Result {
	start := t0.Add(time.Duration(minute) * time.Minute)
	return pvuv.Result{WindowStart: start, WindowEnd: start.Add(time.Minute), PV: pv, UV: uv, TopPages: top, Running: running}
}

func page(p string, pv int64) pvuv.PageCount { return pvuv.PageCount{Page: p, PV: pv} }

// TestRedisLayouts writes window and day results through the Redis sink
// to a real Redis, in the order a retried write may land them: a running
// result after the final one changes nothing, a running result before it
// is written with final "0", and the totals overwrite the counters.
func TestRedisLayouts(t *testing.T) {
	srv := redistest.Start(t)
	many := make([]pvuv.PageCount, 250) // more pages than the script adds at once
	for i := range many {
		many[i] = page(fmt.Sprintf("/p%03d", i), int64(1000-i))
	}
	results := []pvuv.Result{
		result(0, 5, 3, true, page("/a", 3), page("/b", 2)),
		result(0, 10, 4, false, page("/a", 6), page("/c", 4)),
		result(0, 7, 3, true, page("/a", 4), page("/b", 3)), // retried, lands late
		result(1, 2, 1, true, many...),
		result(1, 3, 2, true, page("/x", 3)),
		result(2, 1, 1, true),
	}
	day := t0.Truncate(24 * time.Hour)
	days := []pvuv.DayResult{
		{Day: day, PV: 10, UV: 5, Running: true},
		{Day: day, PV: 20, UV: 8},
		{Day: day, PV: 15, UV: 6, Running: true}, // retried, lands late
		{Day: day.AddDate(0, 0, 1), PV: 1, UV: 1, Running: true},
	}
	env := weir.NewEnv()
	winSink, err := redis.NewSink(endpointOf(t, srv.URL()), pvuv.RedisLayout(""))
	if err != nil {
		t.Fatal(err)
	}
	daySink, err := redis.NewSink(endpointOf(t, srv.URL()), pvuv.RedisDayLayout(""))
	if err != nil {
		t.Fatal(err)
	}
	totalsSink, err := redis.NewSink(endpointOf(t, srv.URL()), pvuv.RedisTotalsLayout(""))
	if err != nil {
		t.Fatal(err)
	}
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(results...)), winSink)
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(days...)), daySink)
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(
		pvuv.Totals{Lines: 100, PageViews: 100},
		pvuv.Totals{Lines: 12400, PageViews: 12345, BadLines: 50, Late: 5, Final: true},
	)), totalsSink)
	if err := env.Execute(t.Context(), "redis-layouts"); err != nil {
		t.Fatal(err)
	}

	c := srv.Client(t)

	ms := func(minute int) string {
		return strconv.FormatInt(t0.Add(time.Duration(minute)*time.Minute).UnixMilli(), 10)
	}
	var manyPages []string
	for i := len(many) - 1; i >= 0; i-- {
		manyPages = append(manyPages, fmt.Sprintf("%s=%d", many[i].Page, many[i].PV))
	}
	want := map[string]string{
		"weir:pvuv:window:" + ms(0): fmt.Sprintf("hash end=%s final=1 pv=10 start=%s uv=4", ms(1), ms(0)),
		"weir:pvuv:pages:" + ms(0):  "zset /c=4 /a=6",
		"weir:pvuv:window:" + ms(1): fmt.Sprintf("hash end=%s final=0 pv=3 start=%s uv=2", ms(2), ms(1)),
		"weir:pvuv:pages:" + ms(1):  "zset /x=3",
		"weir:pvuv:window:" + ms(2): fmt.Sprintf("hash end=%s final=0 pv=1 start=%s uv=1", ms(3), ms(2)),
		"weir:pvuv:windows":         fmt.Sprintf("zset %s=%s %s=%s %s=%s", ms(0), ms(0), ms(1), ms(1), ms(2), ms(2)),
		"weir:pvuv:day:2026-11-24":  "hash final=1 pv=20 uv=8",
		"weir:pvuv:day:2026-11-25":  "hash final=0 pv=1 uv=1",
		"weir:pvuv:counters":        "hash bad_lines=50 late=5 lines=12400",
	}
	if d := diff(contents(t, c, "weir:pvuv:*"), want); d != "" {
		t.Fatalf("Redis does not hold what the layouts say:%s", d)
	}

	// A window's running result with many pages writes them all.
	send(t, c, pvuv.RedisLayout("other")(result(1, 2, 1, true, many...), nil))
	got := contents(t, c, "other:pages:"+ms(1))["other:pages:"+ms(1)]
	if want := "zset " + strings.Join(manyPages, " "); got != want {
		t.Fatalf("a running result's %d pages: Redis holds %.200q..., want %.200q...", len(many), got, want)
	}
}

// send runs commands on c.
func send(t *testing.T, c rueidis.Client, cmds []redis.Command) {
	t.Helper()
	for _, cmd := range cmds {
		if err := c.Do(t.Context(), c.B().Arbitrary(cmd[0]).Keys(cmd[1]).Args(cmd[2:]...).Build()).Error(); err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
	}
}

// TestJobIntoRedis runs the job with early results into Redis: when it
// ends, Redis holds the final result of every window and every day, as the
// dashboard reads them, whatever running results came before.
func TestJobIntoRedis(t *testing.T) {
	srv := redistest.Start(t)
	path, data := generateWith(t, []datagen.Option{datagen.Seed(5), datagen.EventsPerSecond(50), datagen.Clients(300), datagen.Pages(40)}, 8_000)
	base, err := baseline.Run(bytes.NewReader(data), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	tr := exact(t, data, time.Minute)

	env := weir.NewEnv(weir.Parallelism(2))
	src, err := file.NewSource(path)
	if err != nil {
		t.Fatal(err)
	}
	job, err := pvuv.Build(weir.FromSource(env, src), pvuv.Options{EarlyResults: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	server := endpointOf(t, srv.URL())
	winSink, err := redis.NewSink(server, pvuv.RedisLayout("job"))
	if err != nil {
		t.Fatal(err)
	}
	daySink, err := redis.NewSink(server, pvuv.RedisDayLayout("job"))
	if err != nil {
		t.Fatal(err)
	}
	totalsSink, err := redis.NewSink(server, pvuv.RedisTotalsLayout("job"))
	if err != nil {
		t.Fatal(err)
	}
	days := weirtest.NewCollector[pvuv.DayResult]()
	weir.SinkTo(job.Results, winSink, weir.Parallelism(1))
	weir.SinkTo(job.Days, daySink, weir.Parallelism(1))
	weir.SinkTo(job.Days, days, weir.Parallelism(1))
	weir.SinkTo(job.Totals, totalsSink, weir.Parallelism(1))
	if err := env.Execute(context.Background(), "pvuv-redis"); err != nil {
		t.Fatal(err)
	}
	c := srv.Client(t)

	want := map[string]string{}
	var windows []string
	for _, w := range base.Windows {
		s := strconv.FormatInt(w.Start.UnixMilli(), 10)
		want["job:window:"+s] = fmt.Sprintf("hash end=%d final=1 pv=%d start=%s uv=%d", w.End.UnixMilli(), w.PV, s, w.UV)
		var ps []string
		for i := len(w.TopPages) - 1; i >= 0; i-- { // by score, ascending
			ps = append(ps, fmt.Sprintf("%s=%d", w.TopPages[i].Page, w.TopPages[i].PV))
		}
		want["job:pages:"+s] = "zset " + strings.Join(sortedByScore(ps), " ")
		windows = append(windows, s+"="+s)
	}
	want["job:windows"] = "zset " + strings.Join(windows, " ")
	for _, d := range dayFinals(days.Records()) {
		if d.PV != tr.days[d.Day].pv {
			t.Errorf("day %v: pv %d, want %d", d.Day, d.PV, tr.days[d.Day].pv)
		}
		want["job:day:"+d.Day.Format(time.DateOnly)] = fmt.Sprintf("hash final=1 pv=%d uv=%d", d.PV, d.UV)
	}
	want["job:counters"] = fmt.Sprintf("hash bad_lines=%d late=0 lines=%d", base.Bad, base.Lines)
	if d := diff(contents(t, c, "job:*"), want); d != "" {
		t.Fatalf("after the job, Redis does not hold the final results:%s", d)
	}
}

// sortedByScore orders "member=score" pairs as ZRANGE does: by score,
// then by member.
func sortedByScore(ps []string) []string {
	slices.SortFunc(ps, func(a, b string) int {
		am, as, _ := strings.Cut(a, "=")
		bm, bs, _ := strings.Cut(b, "=")
		ai, _ := strconv.ParseInt(as, 10, 64)
		bi, _ := strconv.ParseInt(bs, 10, 64)
		if ai != bi {
			return int(ai - bi)
		}
		return strings.Compare(am, bm)
	})
	return ps
}

// contents reads every key that matches pattern: its type and value, in a
// canonical form (hash fields sorted; zset members by score).
func contents(t *testing.T, c rueidis.Client, pattern string) map[string]string {
	t.Helper()
	ctx := t.Context()
	keys, err := c.Do(ctx, c.B().Keys().Pattern(pattern).Build()).AsStrSlice()
	if err != nil {
		t.Fatalf("KEYS %s: %v", pattern, err)
	}
	out := map[string]string{}
	for _, k := range keys {
		typ, err := c.Do(ctx, c.B().Type().Key(k).Build()).ToString()
		if err != nil {
			t.Fatalf("TYPE %s: %v", k, err)
		}
		var parts []string
		switch typ {
		case "hash":
			m, err := c.Do(ctx, c.B().Hgetall().Key(k).Build()).AsStrMap()
			if err != nil {
				t.Fatalf("HGETALL %s: %v", k, err)
			}
			for f, v := range m {
				parts = append(parts, f+"="+v)
			}
			slices.Sort(parts)
		case "zset":
			zs, err := c.Do(ctx, c.B().Zrange().Key(k).Min("0").Max("-1").Withscores().Build()).AsZScores()
			if err != nil {
				t.Fatalf("ZRANGE %s: %v", k, err)
			}
			for _, z := range zs {
				parts = append(parts, z.Member+"="+strconv.FormatFloat(z.Score, 'f', -1, 64))
			}
		default:
			t.Fatalf("key %s has type %s, which the layouts never write", k, typ)
		}
		out[k] = typ + " " + strings.Join(parts, " ")
	}
	return out
}

// diff describes how got differs from want, or returns "".
func diff(got, want map[string]string) string {
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if got[k] != want[k] {
			fmt.Fprintf(&b, "\n  %s = %q, want %q", k, got[k], want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			fmt.Fprintf(&b, "\n  %s = %q, want no such key", k, got[k])
		}
	}
	return b.String()
}

// TestRedisTTL writes windows and days with RedisTTL: every key they
// write expires an hour after its last write, running or final, and a
// window leaves the index when one an hour later is written. Without the
// option nothing expires.
func TestRedisTTL(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	ctx := t.Context()
	send(t, c, pvuv.RedisLayout("plain")(result(0, 1, 1, false, page("/a", 1)), nil))
	send(t, c, pvuv.RedisDayLayout("plain")(pvuv.DayResult{Day: t0.Truncate(24 * time.Hour), PV: 1, UV: 1, Running: true}, nil))

	windows := pvuv.RedisLayout("ttl", pvuv.RedisTTL(time.Hour))
	days := pvuv.RedisDayLayout("ttl", pvuv.RedisTTL(time.Hour))
	for _, r := range []pvuv.Result{
		result(0, 1, 1, false, page("/a", 1)),
		result(1, 2, 1, true, page("/b", 2)),
		result(60, 3, 1, false, page("/c", 3)), // an hour after minute 0
		result(61, 4, 1, true, page("/d", 4)),  // an hour after minute 1
	} {
		send(t, c, windows(r, nil))
	}
	day := t0.Truncate(24 * time.Hour)
	send(t, c, days(pvuv.DayResult{Day: day, PV: 5, UV: 2, Running: true}, nil))
	send(t, c, days(pvuv.DayResult{Day: day.AddDate(0, 0, -1), PV: 5, UV: 2}, nil))

	pttl := func(key string) time.Duration {
		t.Helper()
		ms, err := c.Do(ctx, c.B().Pttl().Key(key).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		return time.Duration(ms) * time.Millisecond
	}
	ms := func(minute int) string {
		return strconv.FormatInt(t0.Add(time.Duration(minute)*time.Minute).UnixMilli(), 10)
	}
	for _, key := range []string{"plain:window:" + ms(0), "plain:pages:" + ms(0), "plain:windows", "plain:day:2026-11-24"} {
		if d := pttl(key); d != -time.Millisecond {
			t.Errorf("without RedisTTL, %s expires in %v", key, d)
		}
	}
	for _, m := range []int{0, 1, 60, 61} {
		for _, key := range []string{"ttl:window:" + ms(m), "ttl:pages:" + ms(m)} {
			if d := pttl(key); d <= 59*time.Minute || d > time.Hour {
				t.Errorf("with RedisTTL(1h), %s expires in %v", key, d)
			}
		}
	}
	for _, key := range []string{"ttl:day:2026-11-24", "ttl:day:2026-11-23"} {
		if d := pttl(key); d <= 59*time.Minute || d > time.Hour {
			t.Errorf("with RedisTTL(1h), %s expires in %v", key, d)
		}
	}
	if d := pttl("ttl:windows"); d != -time.Millisecond {
		t.Errorf("the index expires in %v; it must stay", d)
	}
	got := contents(t, c, "ttl:windows")["ttl:windows"]
	if want := fmt.Sprintf("zset %s=%s %s=%s", ms(60), ms(60), ms(61), ms(61)); got != want {
		t.Errorf("the index holds %q, want %q: the windows an hour before the newest leave it", got, want)
	}
}
