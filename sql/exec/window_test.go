package exec_test

import (
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/types"
)

// testAggs are the aggregates the window and group aggregate tests
// compute, with their plain Go meaning in exactAggs.
var testAggs = []exec.AggCall{
	{Func: exec.CountStar},
	{Func: exec.Count, Arg: cN, ArgType: types.IntType},
	{Func: exec.Count, Distinct: true, Arg: cURI, ArgType: types.StringType},
	{Func: exec.Sum, Arg: cN, ArgType: types.IntType},
	{Func: exec.Sum, Arg: cPrice, ArgType: types.DoubleType},
	{Func: exec.Min, Arg: cURI, ArgType: types.StringType},
	{Func: exec.Max, Arg: cN, ArgType: types.IntType},
	{Func: exec.Avg, Arg: cN, ArgType: types.IntType},
	{Func: exec.Avg, Arg: cPrice, ArgType: types.DoubleType},
	{Func: exec.CountStar, Filter: func(r types.Row) bool { return r.Values[cN].Int() > 5 }},
}

// exactAggs computes testAggs over rows the plain way.
func exactAggs(rows []types.Row) []types.Value {
	var count, countN, filtered, sumN, nPrice int64
	var sumPrice float64
	distinct := map[string]bool{}
	minURI, maxN := types.Null, types.Null
	for _, r := range rows {
		count++
		if n := r.Values[cN]; !n.IsNull() {
			countN++
			sumN += n.Int()
			if maxN.IsNull() || n.Int() > maxN.Int() {
				maxN = n
			}
			if n.Int() > 5 {
				filtered++
			}
		}
		if u := r.Values[cURI]; !u.IsNull() {
			distinct[u.Str()] = true
			if minURI.IsNull() || u.Str() < minURI.Str() {
				minURI = u
			}
		}
		sumPrice += r.Values[cPrice].Float()
		nPrice++
	}
	out := []types.Value{types.IntValue(count), types.IntValue(countN), types.IntValue(int64(len(distinct)))}
	if countN == 0 {
		out = append(out, types.Null)
	} else {
		out = append(out, types.IntValue(sumN))
	}
	out = append(out, types.FloatValue(sumPrice), minURI, maxN)
	if countN == 0 {
		out = append(out, types.Null)
	} else {
		out = append(out, types.IntValue(sumN/countN))
	}
	return append(out, types.FloatValue(sumPrice/float64(nPrice)), types.IntValue(filtered))
}

// exactWindows returns the [start, end) windows of ts for a non-merging
// window spec, by the definitions of Flink's TVFs.
func exactWindows(w exec.WindowSpec, ts int64) [][2]int64 {
	floor := func(t, size int64) int64 { return t - ((t%size)+size)%size }
	var out [][2]int64
	switch w.Kind {
	case exec.Tumble:
		s := floor(ts-w.Offset.Milliseconds(), w.Size.Milliseconds()) + w.Offset.Milliseconds()
		out = append(out, [2]int64{s, s + w.Size.Milliseconds()})
	case exec.Hop:
		for s := floor(ts, w.Slide.Milliseconds()); s > ts-w.Size.Milliseconds(); s -= w.Slide.Milliseconds() {
			out = append(out, [2]int64{s, s + w.Size.Milliseconds()})
		}
	case exec.Cumulate:
		s := floor(ts, w.Size.Milliseconds())
		for e := s + w.Step.Milliseconds(); e <= s+w.Size.Milliseconds(); e += w.Step.Milliseconds() {
			if ts < e {
				out = append(out, [2]int64{s, e})
			}
		}
	}
	return out
}

// exactWindowAggregate computes a window aggregate of rows grouped by
// user, in WindowAggregate's output layout.
func exactWindowAggregate(w exec.WindowSpec, rows []types.Row) []string {
	type group struct {
		user   types.Value
		window [2]int64
	}
	groups := map[group][]types.Row{}
	if w.Kind == exec.Session {
		byUser := map[types.Value][]types.Row{}
		for _, r := range rows {
			byUser[r.Values[cUser]] = append(byUser[r.Values[cUser]], r)
		}
		gap := w.Gap.Milliseconds()
		for u, rs := range byUser {
			sort.SliceStable(rs, func(i, j int) bool { return rs[i].Values[cTime].Int() < rs[j].Values[cTime].Int() })
			var cur []types.Row
			var start, end int64
			for _, r := range rs {
				ts := r.Values[cTime].Int()
				if len(cur) > 0 && ts > end {
					groups[group{u, [2]int64{start, end}}] = cur
					cur = nil
				}
				if len(cur) == 0 {
					start = ts
				}
				cur = append(cur, r)
				end = max(end, ts+gap)
			}
			groups[group{u, [2]int64{start, end}}] = cur
		}
	} else {
		for _, r := range rows {
			for _, win := range exactWindows(w, r.Values[cTime].Int()) {
				g := group{r.Values[cUser], win}
				groups[g] = append(groups[g], r)
			}
		}
	}
	var out []string
	for g, rs := range groups {
		vals := append([]types.Value{g.user, types.IntValue(g.window[0]), types.IntValue(g.window[1])}, exactAggs(rs)...)
		out = append(out, rowString(types.Row{Values: vals}))
	}
	return out
}

func windowAggJob(w exec.WindowSpec) job {
	return func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
		return exec.WindowAggregate(timed(nil, in), exec.WindowAggregateSpec{Window: w, Keys: []int{cUser}, Aggs: testAggs}, "agg")
	}
}

var windowSpecs = []exec.WindowSpec{
	{Kind: exec.Tumble, TimeCol: cTime, Size: 10 * time.Second},
	{Kind: exec.Tumble, TimeCol: cTime, Size: 10 * time.Second, Offset: 3 * time.Second},
	{Kind: exec.Hop, TimeCol: cTime, Size: 10 * time.Second, Slide: 5 * time.Second},
	{Kind: exec.Cumulate, TimeCol: cTime, Size: 20 * time.Second, Step: 5 * time.Second},
	{Kind: exec.Session, TimeCol: cTime, Gap: 700 * time.Millisecond},
}

// TestWindowAggregate compares every window TVF's aggregate over random
// rows with NULLs with the plain computation, at parallelism 1 and 2, on
// the heap and pebble backends.
func TestWindowAggregate(t *testing.T) {
	rows := events(1500, 1)
	for _, w := range windowSpecs {
		t.Run(fmt.Sprintf("%v offset %v", w.Kind, w.Offset), func(t *testing.T) {
			checkExact(t, rows, exactWindowAggregate(w, rows), true, windowAggJob(w))
		})
	}
}

// TestWindowAggregateRestores fails a window aggregate halfway and
// restores it from a checkpoint at another parallelism: each row is
// counted exactly once.
func TestWindowAggregateRestores(t *testing.T) {
	rows := events(1500, 2)
	w := windowSpecs[2]
	checkRestores(t, rows, exactWindowAggregate(w, rows), []string{"heap", "pebble"}, windowAggJob(w))
}

// TestWindowsInTimeZone: day windows over a TIMESTAMP_LTZ column align to
// the session time zone's midnight, and window_start and window_end are
// that zone's wall-clock times.
func TestWindowsInTimeZone(t *testing.T) {
	zone := time.FixedZone("UTC+8", 8*3600)
	// Instants around midnight in UTC+8 (16:00 UTC).
	mid := time.Date(2026, 12, 7, 0, 0, 0, 0, zone).UnixMilli()
	var rows []types.Row
	for _, d := range []int64{-3 * 3600_000, -1, 0, 1, 5 * 3600_000} {
		rows = append(rows, types.NewRow(types.StringValue("u"), types.Null, types.IntValue(1), types.FloatValue(0), types.IntValue(mid+d)))
	}
	w := exec.WindowSpec{Kind: exec.Tumble, TimeCol: cTime, Size: 24 * time.Hour, Zone: zone}
	got := run(t, rows, 1, "heap", func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
		return exec.WindowAggregate(timed(t, in), exec.WindowAggregateSpec{Window: w, Aggs: []exec.AggCall{{Func: exec.CountStar}}}, "agg")
	})
	day := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC).UnixMilli() // the local midnight as a wall-clock TIMESTAMP
	want := []string{
		fmt.Sprintf("+I %d %d 2", day-86_400_000, day),
		fmt.Sprintf("+I %d %d 3", day, day+86_400_000),
	}
	slices.Sort(want)
	sameRows(t, "day windows in UTC+8", got, want)
}

// TestWindowSpecErrors: specs that cannot be run are refused when the
// operator is added, with a message naming the problem.
func TestWindowSpecErrors(t *testing.T) {
	bad := []exec.WindowSpec{
		{Kind: exec.Hop, Size: 10 * time.Second, Slide: 3 * time.Second},
		{Kind: exec.Cumulate, Size: 10 * time.Second, Step: 3 * time.Second},
		{Kind: exec.Session, Gap: 0},
		{Kind: exec.Hop, Size: time.Second, Slide: time.Second, Offset: time.Millisecond},
		{},
	}
	for _, w := range bad {
		if _, err := w.Assigner(); err == nil {
			t.Errorf("%+v accepted", w)
		}
	}
	if _, err := (exec.AggCall{Func: exec.Sum, Distinct: true, ArgType: types.IntType}).ResultType(); err == nil {
		t.Error("SUM(DISTINCT) accepted")
	}
	if _, err := (exec.AggCall{Func: exec.Sum, ArgType: types.StringType}).ResultType(); err == nil {
		t.Error("SUM of a string accepted")
	}
}
