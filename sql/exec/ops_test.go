package exec_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

// TestNullTimeGoesToDeadLetters: a row whose time attribute is NULL does
// not fail the job; it leaves by the dead letters with its reason and is
// counted, and the other rows are aggregated.
func TestNullTimeGoesToDeadLetters(t *testing.T) {
	rows := events(40, 3)
	rows[7].Values[cTime] = types.Null
	rows[21].Values[cTime] = types.Null
	env := weir.NewEnv(weir.Parallelism(2))
	in := weir.FromSource(env, weirtest.FromSlice(rows...), weir.Name("rows"))
	tm, err := exec.EventTime(in, exec.EventTimeSpec{Col: cTime, Delay: 3 * time.Second}, "time")
	if err != nil {
		t.Fatal(err)
	}
	agg, err := exec.WindowAggregate(tm.Rows, exec.WindowAggregateSpec{
		Window: exec.WindowSpec{Kind: exec.Tumble, TimeCol: cTime, Size: time.Hour},
		Aggs:   []exec.AggCall{{Func: exec.CountStar}}}, "agg")
	if err != nil {
		t.Fatal(err)
	}
	counts := weirtest.NewCollector[string]()
	dead := weirtest.NewCollector[source.DeadLetter]()
	weir.SinkTo(weir.Map(agg, rowString), counts)
	weir.SinkTo(tm.DeadLetters, dead)
	if err := env.Execute(context.Background(), "null time"); err != nil {
		t.Fatal(err)
	}
	h := base - base%3_600_000
	sameRows(t, "counts", counts.Records(), []string{fmt.Sprintf("+I %d %d 38", h, h+3_600_000)})
	d := dead.Records()
	if len(d) != 2 || tm.Dropped.Load() != 2 || !strings.Contains(d[0].Reason, "NULL") {
		t.Fatalf("dead letters %+v, counted %d: want 2 with the reason", d, tm.Dropped.Load())
	}
}

// TestLateRowsAreDroppedAndCounted: a row behind the watermark of its
// window's end does not change the emitted result; it is counted.
func TestLateRowsAreDroppedAndCounted(t *testing.T) {
	env := weir.NewEnv()
	at := func(s int64) time.Time { return time.UnixMilli(base + s*1000) }
	row := func(s int64) types.Row {
		return types.NewRow(types.StringValue("u"), types.Null, types.IntValue(1), types.FloatValue(0), types.IntValue(base+s*1000))
	}
	script := weirtest.NewScript[types.Row]().Record(row(1), at(1)).Record(row(2), at(2)).
		Watermark(at(15)).Record(row(3), at(3)).Record(row(12), at(12))
	in := weir.FromSource(env, script, weir.Parallelism(1))
	agg, err := exec.WindowAggregate(in, exec.WindowAggregateSpec{
		Window: exec.WindowSpec{Kind: exec.Tumble, TimeCol: cTime, Size: 10 * time.Second},
		Aggs:   []exec.AggCall{{Func: exec.CountStar}}}, "agg")
	if err != nil {
		t.Fatal(err)
	}
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.Map(agg, rowString), out)
	if err := env.Execute(context.Background(), "late"); err != nil {
		t.Fatal(err)
	}
	w := base - base%10_000
	got := out.Records()
	slices.Sort(got)
	sameRows(t, "counts", got, []string{fmt.Sprintf("+I %d %d 2", w, w+10_000), fmt.Sprintf("+I %d %d 1", w+10_000, w+20_000)})
	if env.DroppedLateRecords() != 1 {
		t.Fatalf("dropped %d late rows, want 1", env.DroppedLateRecords())
	}
}

// exactGroups computes the final result of a GROUP BY user aggregate.
func exactGroups(rows []types.Row) map[string]string {
	groups := map[types.Value][]types.Row{}
	for _, r := range rows {
		groups[r.Values[cUser]] = append(groups[r.Values[cUser]], r)
	}
	out := map[string]string{}
	for u, rs := range groups {
		out[u.String()] = rowString(types.Row{Values: append([]types.Value{u}, exactAggs(rs)...)})
	}
	return out
}

// replay applies a retract changelog to a table keyed by the first
// column, failing on a -U or -D that does not take back the current row.
func replay(t *testing.T, log []types.Row) map[string]string {
	t.Helper()
	table := map[string]string{}
	for _, r := range log {
		k := r.Values[0].String()
		body := rowString(types.Row{Values: r.Values})
		switch r.Kind {
		case types.Insert, types.UpdateAfter:
			if _, ok := table[k]; ok {
				t.Fatalf("%v of key %s over a row not taken back", r.Kind, k)
			}
			table[k] = body
		default:
			if table[k] != body {
				t.Fatalf("%v %s takes back %q, which is not the current row", r.Kind, body, table[k])
			}
			delete(table, k)
		}
	}
	return table
}

// TestGroupAggregateChangelog: the retract changelog of a GROUP BY,
// replayed, ends at the plain computation's result, at parallelism 1 and
// 2 (each key's changes stay in order), and a row that changes nothing
// emits nothing.
func TestGroupAggregateChangelog(t *testing.T) {
	rows := events(600, 4)
	want := exactGroups(rows)
	for _, p := range []int{1, 2} {
		env := weir.NewEnv(weir.Parallelism(p))
		in := weir.FromSource(env, weirtest.FromSlice(rows...))
		agg, err := exec.GroupAggregate(in, exec.GroupAggregateSpec{Keys: []int{cUser}, Aggs: testAggs}, "group")
		if err != nil {
			t.Fatal(err)
		}
		out := weirtest.NewCollector[types.Row]()
		weir.SinkTo(agg, out, weir.Parallelism(1))
		if err := env.Execute(context.Background(), "group"); err != nil {
			t.Fatal(err)
		}
		log := out.Records()
		got := replay(t, log)
		if len(got) != len(want) {
			t.Fatalf("parallelism %d: %d groups, want %d", p, len(got), len(want))
		}
		for k, w := range want {
			if got[k] != w {
				t.Fatalf("parallelism %d: group %s is %q, want %q", p, k, got[k], w)
			}
		}
		if inserts := countKind(log, types.Insert); inserts != len(want) {
			t.Fatalf("%d +I rows, want one per group (%d)", inserts, len(want))
		}
	}
	// COUNT(DISTINCT) of one value twice: +I, then nothing.
	rows = []types.Row{
		types.NewRow(types.StringValue("u"), types.StringValue("/a")),
		types.NewRow(types.StringValue("u"), types.StringValue("/a")),
		types.NewRow(types.StringValue("u"), types.StringValue("/b")),
	}
	got := run(t, rows, 1, "heap", func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
		return exec.GroupAggregate(in, exec.GroupAggregateSpec{Keys: []int{0},
			Aggs: []exec.AggCall{{Func: exec.Count, Distinct: true, Arg: 1, ArgType: types.StringType}}}, "group")
	})
	sameRows(t, "unchanged results", got, []string{"+I u 1", "+U u 2", "-U u 1"})
}

func countKind(rows []types.Row, k types.RowKind) int {
	n := 0
	for _, r := range rows {
		if r.Kind == k {
			n++
		}
	}
	return n
}

// TestGroupAggregateRetracts: over an updating input, -U rows are taken
// back; a group whose rows are all taken back is deleted; MIN over an
// updating input is refused at planning time.
func TestGroupAggregateRetracts(t *testing.T) {
	r := func(k types.RowKind, user string, n int64) types.Row {
		return types.Row{Kind: k, Values: []types.Value{types.StringValue(user), types.IntValue(n)}}
	}
	rows := []types.Row{r(types.Insert, "a", 1), r(types.Insert, "a", 2), r(types.UpdateBefore, "a", 1), r(types.UpdateAfter, "a", 5), r(types.Insert, "b", 7), r(types.Delete, "b", 7)}
	spec := exec.GroupAggregateSpec{Keys: []int{0}, Input: exec.Updating,
		Aggs: []exec.AggCall{{Func: exec.Sum, Arg: 1, ArgType: types.BigIntType}}}
	got := run(t, rows, 1, "heap", func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
		return exec.GroupAggregate(in, spec, "group")
	})
	sameRows(t, "retractions", got, []string{"+I a 1", "+I b 7", "+U a 2", "+U a 3", "+U a 7", "-D b 7", "-U a 1", "-U a 2", "-U a 3"})
	spec.Aggs[0].Func = exec.Min
	env := weir.NewEnv()
	if _, err := exec.GroupAggregate(weir.FromSource(env, weirtest.FromSlice(rows...)), spec, "group"); err == nil || !strings.Contains(err.Error(), "MIN") {
		t.Fatalf("MIN over an updating input: %v", err)
	}
}

// TestGroupAggregateRestores: the group aggregate's state survives a
// failure and a restore at another parallelism: the changelog, replayed,
// ends at the exact result.
func TestGroupAggregateRestores(t *testing.T) {
	rows := events(1200, 5)
	var want []string
	for _, w := range exactGroups(rows) {
		want = append(want, w)
	}
	checkRestoresFinal(t, rows, want, func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
		return exec.GroupAggregate(in, exec.GroupAggregateSpec{Keys: []int{cUser}, Aggs: testAggs}, "group")
	})
}

// checkRestoresFinal is checkRestores for an updating output: the
// exactly-once changelog replayed must end at want.
func checkRestoresFinal(t *testing.T, rows []types.Row, want []string, build job) {
	t.Helper()
	var log []string
	checkRestoresLog(t, rows, build, func(got []string) { log = got })
	table := map[string]string{}
	for _, line := range log {
		kind, body, _ := strings.Cut(line, " ")
		key, _, _ := strings.Cut(body, " ")
		switch kind {
		case "+I", "+U":
			table[key] = "+I " + body
		default:
			if table[key] != "+I "+body {
				t.Fatalf("%s takes back %q, which is not the current row", line, table[key])
			}
			delete(table, key)
		}
	}
	var got []string
	for _, v := range table {
		got = append(got, v)
	}
	slices.Sort(got)
	slices.Sort(want)
	sameRows(t, "replayed after a restore", got, want)
}

// checkRestoresLog runs build through a failure and a restore on the heap
// backend (restoreRun) and hands the committed output, in commit order, to
// check.
func checkRestoresLog(t *testing.T, rows []types.Row, build job, check func([]string)) {
	t.Helper()
	got, _ := restoreRun(t, rows, "heap", build)
	check(got)
}

// exactTopN computes the top n uris by views per 10 s window, ties by
// uri, with their rank.
func exactTopN(rows []types.Row, n int) []string {
	type win struct {
		start int64
		uri   types.Value
	}
	views := map[win]int64{}
	for _, r := range rows {
		s := r.Values[cTime].Int() - r.Values[cTime].Int()%10_000
		views[win{s, r.Values[cURI]}]++
	}
	per := map[int64][]win{}
	for w := range views {
		per[w.start] = append(per[w.start], w)
	}
	var out []string
	for start, ws := range per {
		sort.Slice(ws, func(i, j int) bool {
			if views[ws[i]] != views[ws[j]] {
				return views[ws[i]] > views[ws[j]]
			}
			// NULL first in ascending order.
			if ws[i].uri.IsNull() != ws[j].uri.IsNull() {
				return ws[i].uri.IsNull()
			}
			return ws[i].uri.Str() < ws[j].uri.Str()
		})
		for i, w := range ws[:min(n, len(ws))] {
			out = append(out, fmt.Sprintf("+I %v %d %d %d %d", w.uri, start, start+10_000, views[w], i+1))
		}
	}
	return out
}

func topNJob(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
	views, err := exec.WindowAggregate(timed(nil, in), exec.WindowAggregateSpec{
		Window: exec.WindowSpec{Kind: exec.Tumble, TimeCol: cTime, Size: 10 * time.Second},
		Keys:   []int{cURI}, Aggs: []exec.AggCall{{Func: exec.CountStar}}}, "views")
	if err != nil {
		return views, err
	}
	// views: uri, window_start, window_end, views
	top, _, err := exec.WindowTopN(views, exec.WindowTopNSpec{PartitionBy: []int{1, 2}, WindowEnd: 2, N: 3, RankColumn: true,
		OrderBy: []exec.SortKey{{Col: 3, Type: types.BigIntType, Desc: true}, {Col: 0, Type: types.StringType}}}, "top")
	return top, err
}

// TestWindowTopN: the top 3 uris of every window by views, ties by uri,
// with the rank, equal to the plain computation at parallelism 1 and 2,
// and through a restore.
func TestWindowTopN(t *testing.T) {
	rows := events(1500, 6)
	want := exactTopN(rows, 3)
	checkExact(t, rows, want, false, topNJob)
	checkRestores(t, rows, want, []string{"heap"}, topNJob)
}

// TestDeduplicate: keep the first row per user in arrival order (insert-
// only), the first by event time and the last by event time (changelogs
// that end at the right row).
func TestDeduplicate(t *testing.T) {
	rows := events(400, 8)
	first, last := map[string]types.Row{}, map[string]types.Row{}
	for _, r := range rows {
		k := r.Values[cUser].String()
		if f, ok := first[k]; !ok || r.Values[cTime].Int() < f.Values[cTime].Int() {
			first[k] = r
		}
		if l, ok := last[k]; !ok || r.Values[cTime].Int() >= l.Values[cTime].Int() {
			last[k] = r
		}
	}
	for _, c := range []struct {
		name string
		spec exec.DedupSpec
		want map[string]types.Row
	}{
		{"first by event time", exec.DedupSpec{Keys: []int{cUser}, TimeCol: cTime}, first},
		{"last by event time", exec.DedupSpec{Keys: []int{cUser}, TimeCol: cTime, Last: true}, last},
	} {
		for _, p := range []int{1, 2} {
			env := weir.NewEnv(weir.Parallelism(p))
			d, err := exec.Deduplicate(weir.FromSource(env, weirtest.FromSlice(rows...)), c.spec, "dedup")
			if err != nil {
				t.Fatal(err)
			}
			out := weirtest.NewCollector[types.Row]()
			weir.SinkTo(d, out, weir.Parallelism(1))
			if err := env.Execute(context.Background(), "dedup"); err != nil {
				t.Fatal(err)
			}
			got := replay(t, out.Records())
			if len(got) != len(c.want) {
				t.Fatalf("%s: %d keys, want %d", c.name, len(got), len(c.want))
			}
			for k, r := range c.want {
				if got[k] != rowString(types.Row{Values: r.Values}) {
					t.Fatalf("%s, parallelism %d: key %s kept %q, want %q", c.name, p, k, got[k], rowString(r))
				}
			}
		}
	}
	// First in arrival order at parallelism 1: the first row of each key,
	// inserts only.
	var want []string
	seen := map[string]bool{}
	for _, r := range rows {
		if k := r.Values[cUser].String(); !seen[k] {
			seen[k] = true
			want = append(want, rowString(r))
		}
	}
	got := run(t, rows, 1, "heap", func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
		spec := exec.DedupSpec{Keys: []int{cUser}, TimeCol: -1}
		if spec.Changelog() != exec.InsertOnly {
			t.Error("keeping the first row in arrival order is not insert-only")
		}
		return exec.Deduplicate(in, spec, "dedup")
	})
	slices.Sort(want)
	sameRows(t, "first in arrival order", got, want)
}

// TestTopNLateRows: a windowed row that comes after its window was emitted
// changes nothing downstream and is counted. (The window join counts its
// late rows the same way, but with two inputs the order in which their
// watermarks arrive is not fixed, so no script makes a row reliably late
// there.)
func TestTopNLateRows(t *testing.T) {
	// Windowed rows: key, window_start, window_end.
	w := func(k string, start int64) types.Row {
		return types.NewRow(types.StringValue(k), types.IntValue(start), types.IntValue(start+10_000))
	}
	at := func(ms int64) time.Time { return time.UnixMilli(ms) }
	script := func() *weirtest.Script[types.Row] {
		return weirtest.NewScript[types.Row]().Record(w("a", 0), at(9_999)).Record(w("b", 0), at(9_999)).
			Watermark(at(10_000)).Record(w("c", 0), at(9_999)).Record(w("d", 10_000), at(19_999))
	}
	env := weir.NewEnv()
	top, late, err := exec.WindowTopN(weir.FromSource(env, script(), weir.Parallelism(1)), exec.WindowTopNSpec{PartitionBy: []int{1, 2}, WindowEnd: 2, N: 5,
		OrderBy: []exec.SortKey{{Col: 0, Type: types.StringType}}}, "top")
	if err != nil {
		t.Fatal(err)
	}
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.Map(top, rowString), out)
	if err := env.Execute(context.Background(), "top late"); err != nil {
		t.Fatal(err)
	}
	sameRows(t, "Top-N", out.Records(), []string{"+I a 0 10000", "+I b 0 10000", "+I d 10000 20000"})
	if late.Load() != 1 {
		t.Fatalf("Top-N counted %d late rows, want 1", late.Load())
	}

}

// TestDeduplicateRestores: the kept rows survive a failure and a restore
// at another parallelism: the changelog, replayed, ends at the last row
// of each user.
func TestDeduplicateRestores(t *testing.T) {
	rows := events(1200, 9)
	last := map[string]types.Row{}
	for _, r := range rows {
		k := r.Values[cUser].String()
		if l, ok := last[k]; !ok || r.Values[cTime].Int() >= l.Values[cTime].Int() {
			last[k] = r
		}
	}
	var want []string
	for _, r := range last {
		want = append(want, rowString(r))
	}
	checkRestoresFinal(t, rows, want, func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
		return exec.Deduplicate(in, exec.DedupSpec{Keys: []int{cUser}, TimeCol: cTime, Last: true}, "dedup")
	})
}
