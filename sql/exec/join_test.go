package exec_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

// Both join inputs are event rows; the right side's rows are a second
// draw (seed 2) so that some windows hold one side only.

// exactWindowJoin joins left and right rows on user within the same 10 s
// tumbling window, in WindowJoin's layout (each side: its event columns
// then window_start, window_end, window_time).
func exactWindowJoin(typ exec.JoinType, ls, rs []types.Row) []string {
	windowed := func(r types.Row) types.Row {
		s := r.Values[cTime].Int() - r.Values[cTime].Int()%10_000
		return types.Row{Values: append(append([]types.Value(nil), r.Values...), types.IntValue(s), types.IntValue(s+10_000), types.IntValue(s+9_999))}
	}
	type key struct {
		user types.Value
		win  int64
	}
	lk, rk := map[key][]types.Row{}, map[key][]types.Row{}
	for _, r := range ls {
		w := windowed(r)
		lk[key{r.Values[cUser], w.Values[width].Int()}] = append(lk[key{r.Values[cUser], w.Values[width].Int()}], w)
	}
	for _, r := range rs {
		w := windowed(r)
		rk[key{r.Values[cUser], w.Values[width].Int()}] = append(rk[key{r.Values[cUser], w.Values[width].Int()}], w)
	}
	nulls := make([]types.Value, width+3)
	var out []string
	for k, l := range lk {
		r := rk[k]
		if len(r) > 0 && !k.user.IsNull() {
			for _, x := range l {
				for _, y := range r {
					out = append(out, rowString(types.Row{Values: append(append([]types.Value(nil), x.Values...), y.Values...)}))
				}
			}
			continue
		}
		if typ == exec.Left || typ == exec.Full {
			for _, x := range l {
				out = append(out, rowString(types.Row{Values: append(append([]types.Value(nil), x.Values...), nulls...)}))
			}
		}
	}
	for k, r := range rk {
		if len(lk[k]) > 0 && !k.user.IsNull() {
			continue
		}
		if typ == exec.Right || typ == exec.Full {
			for _, y := range r {
				out = append(out, rowString(types.Row{Values: append(append([]types.Value(nil), nulls...), y.Values...)}))
			}
		}
	}
	return out
}

// twoInputs runs a two-input job over ls and rs at parallelism p.
func twoInputs(t *testing.T, ls, rs []types.Row, p int, build func(l, r weir.Stream[types.Row]) (weir.Stream[types.Row], error)) []string {
	t.Helper()
	env := weir.NewEnv(weir.Parallelism(p))
	l := timed(t, weir.FromSource(env, weirtest.FromSlice(ls...), weir.Name("left")))
	r, err := exec.EventTime(weir.FromSource(env, weirtest.FromSlice(rs...), weir.Name("right")), exec.EventTimeSpec{Col: cTime, Delay: 3 * time.Second}, "right-time")
	if err != nil {
		t.Fatal(err)
	}
	res, err := build(l, r.Rows)
	if err != nil {
		t.Fatal(err)
	}
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.Map(res, rowString), out)
	if err := env.Execute(context.Background(), t.Name()); err != nil {
		t.Fatal(err)
	}
	return out.Records()
}

// TestWindowJoin: inner, left, right and full window joins of two
// windowed inputs equal the plain computation at parallelism 1 and 2,
// with NULL padding for the missing side and NULL keys matching nothing.
func TestWindowJoin(t *testing.T) {
	ls, rs := events(300, 10), events(200, 11)
	tumble := exec.WindowSpec{Kind: exec.Tumble, TimeCol: cTime, Size: 10 * time.Second}
	for _, typ := range []exec.JoinType{exec.Inner, exec.Left, exec.Right, exec.Full} {
		want := exactWindowJoin(typ, ls, rs)
		slicesSort(want)
		for _, p := range []int{1, 2} {
			got := twoInputs(t, ls, rs, p, func(l, r weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
				lw, err := exec.WindowAssign(l, tumble, "left-window")
				if err != nil {
					return lw, err
				}
				rw, err := exec.WindowAssign(r, tumble, "right-window")
				if err != nil {
					return rw, err
				}
				j, _, err := exec.WindowJoin(lw, rw, exec.WindowJoinSpec{Type: typ, LeftKeys: []int{cUser}, RightKeys: []int{cUser},
					LeftStart: width, LeftEnd: width + 1, RightStart: width, RightEnd: width + 1, LeftWidth: width + 3, RightWidth: width + 3}, "join")
				return j, err
			})
			slicesSort(got)
			sameRows(t, fmt.Sprintf("%v join, parallelism %d", typ, p), got, want)
		}
	}
}

// TestIntervalJoin: L JOIN R ON L.user = R.user AND R.time BETWEEN
// L.time - 1 s AND L.time + 500 ms equals the plain computation, NULL
// users matching nothing.
func TestIntervalJoin(t *testing.T) {
	ls, rs := events(300, 12), events(300, 13)
	var want []string
	for _, l := range ls {
		for _, r := range rs {
			d := r.Values[cTime].Int() - l.Values[cTime].Int()
			if !l.Values[cUser].IsNull() && l.Values[cUser] == r.Values[cUser] && d >= -1000 && d <= 500 {
				want = append(want, rowString(types.Row{Values: append(append([]types.Value(nil), l.Values...), r.Values...)}))
			}
		}
	}
	slicesSort(want)
	for _, p := range []int{1, 2} {
		got := twoInputs(t, ls, rs, p, func(l, r weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
			return exec.IntervalJoin(l, r, exec.IntervalJoinSpec{LeftKeys: []int{cUser}, RightKeys: []int{cUser},
				Lower: -time.Second, Upper: 500 * time.Millisecond, LeftWidth: width, RightWidth: width}, "join")
		})
		slicesSort(got)
		sameRows(t, fmt.Sprintf("parallelism %d", p), got, want)
	}
}

// TestLookupJoin: each row is joined with the rows the lookup finds for
// its key; a LEFT join pads misses with NULLs; the cache serves repeated
// keys, and its hits and misses are counted.
func TestLookupJoin(t *testing.T) {
	rows := events(500, 14)
	var calls atomic.Int64
	lookup := func(_ context.Context, key []types.Value) ([]types.Row, error) {
		calls.Add(1)
		u := key[0].Str()
		if u == "u0" {
			return nil, nil // no such user
		}
		n := int64(u[1] - '0')
		out := []types.Row{types.NewRow(types.StringValue(strings.ToUpper(u)), types.IntValue(n))}
		if n%2 == 1 {
			out = append(out, types.NewRow(types.StringValue(strings.ToUpper(u)+"'"), types.IntValue(-n)))
		}
		return out, nil
	}
	for _, typ := range []exec.JoinType{exec.Inner, exec.Left} {
		var want []string
		for _, r := range rows {
			var found []types.Row
			if !r.Values[cUser].IsNull() {
				found, _ = lookup(context.Background(), []types.Value{r.Values[cUser]})
			}
			for _, d := range found {
				want = append(want, rowString(types.Row{Values: append(append([]types.Value(nil), r.Values...), d.Values...)}))
			}
			if len(found) == 0 && typ == exec.Left {
				want = append(want, rowString(types.Row{Values: append(append([]types.Value(nil), r.Values...), types.Null, types.Null)}))
			}
		}
		slicesSort(want)
		for _, p := range []int{1, 2} {
			calls.Store(0)
			var stats *exec.LookupStats
			got := run(t, rows, p, "heap", func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
				j, s, err := exec.LookupJoin(in, exec.LookupJoinSpec{Type: typ, Keys: []int{cUser}, LeftWidth: width, RightWidth: 2,
					Lookup: lookup, Cache: exec.LookupCache{MaxRows: 100, TTL: time.Hour},
					Async: weir.AsyncOptions[types.Row, []types.Row]{Capacity: 1}}, "lookup")
				stats = s
				return j, err
			})
			sameRows(t, fmt.Sprintf("%v lookup join, parallelism %d", typ, p), got, want)
			nonNull := 0
			for _, r := range rows {
				if !r.Values[cUser].IsNull() {
					nonNull++
				}
			}
			hits, misses := stats.Hits.Load(), stats.Misses.Load()
			// With one call in flight per subtask, each subtask misses each
			// of the 7 users at most once.
			if hits+misses != int64(nonNull) || misses > int64(7*p) || calls.Load() != misses {
				t.Fatalf("hits %d, misses %d, calls %d for %d rows with a key", hits, misses, calls.Load(), nonNull)
			}
		}
	}
}

// TestLookupCacheBoundsAndExpires: the cache holds at most MaxRows rows,
// evicts the least recently used key first, and forgets entries after
// their TTL.
func TestLookupCacheBoundsAndExpires(t *testing.T) {
	var calls atomic.Int64
	lookup := func(_ context.Context, key []types.Value) ([]types.Row, error) {
		calls.Add(1)
		return []types.Row{types.NewRow(key[0])}, nil
	}
	// Keys a b a c a b: with room for 2 rows, b is evicted by c (a was
	// used more recently), so the second b misses: 4 calls.
	var rows []types.Row
	for _, k := range []string{"a", "b", "a", "c", "a", "b"} {
		rows = append(rows, types.NewRow(types.StringValue(k)))
	}
	var stats *exec.LookupStats
	run(t, rows, 1, "heap", func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
		j, s, err := exec.LookupJoin(in, exec.LookupJoinSpec{Keys: []int{0}, LeftWidth: 1, RightWidth: 1, Lookup: lookup,
			Cache: exec.LookupCache{MaxRows: 2}, Async: weir.AsyncOptions[types.Row, []types.Row]{Capacity: 1}}, "lookup")
		stats = s
		return j, err
	})
	if calls.Load() != 4 || stats.Hits.Load() != 2 {
		t.Fatalf("%d calls, %d hits: want 4 and 2", calls.Load(), stats.Hits.Load())
	}
	// A TTL shorter than the gap between rows: every row misses.
	calls.Store(0)
	slow := weirtest.FromSlice(rows[:3]...)
	slow.BatchSize, slow.Delay = 1, 20*time.Millisecond
	env := weir.NewEnv()
	j, _, err := exec.LookupJoin(weir.FromSource(env, slow), exec.LookupJoinSpec{Keys: []int{0}, LeftWidth: 1, RightWidth: 1, Lookup: lookup,
		Cache: exec.LookupCache{MaxRows: 10, TTL: time.Millisecond}, Async: weir.AsyncOptions[types.Row, []types.Row]{Capacity: 1}}, "lookup")
	if err != nil {
		t.Fatal(err)
	}
	weir.SinkTo(j, weirtest.NewCollector[types.Row]())
	if err := env.Execute(context.Background(), "ttl"); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Fatalf("%d calls with an expired cache, want 3", calls.Load())
	}
}

// TestAccRoundTrip: an accumulator of every aggregate encodes and decodes
// to one that gives the same results and merges the same.
func TestAccRoundTrip(t *testing.T) {
	calls := append(append([]exec.AggCall(nil), testAggs...), exec.AggCall{Func: exec.ApproxCountDistinct, Arg: cUser, ArgType: types.StringType})
	aggs, err := exec.CompileAggs(calls, width)
	if err != nil {
		t.Fatal(err)
	}
	acc := aggs.New()
	for _, r := range events(300, 15) {
		acc = aggs.Add(acc, r)
	}
	b, err := acc.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back exec.Acc
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	want := rowString(types.Row{Values: aggs.AppendResults(nil, acc)})
	if got := rowString(types.Row{Values: aggs.AppendResults(nil, back)}); got != want {
		t.Fatalf("decoded %q, want %q", got, want)
	}
	for i := range len(b) {
		var bad exec.Acc
		_ = bad.UnmarshalBinary(b[:i]) // must not panic
	}
}

// FuzzAccDecode: decoding never panics, and what decodes re-encodes to
// something that decodes.
func FuzzAccDecode(f *testing.F) {
	aggs, _ := exec.CompileAggs(testAggs, width)
	acc := aggs.New()
	for _, r := range events(20, 16) {
		acc = aggs.Add(acc, r)
	}
	b, _ := acc.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		var a exec.Acc
		if a.UnmarshalBinary(data) != nil {
			return
		}
		again, err := a.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if err := a.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
	})
}

// TestApproxCountDistinct: the HyperLogLog estimate of 20000 distinct
// values is within 3% of the truth, and merging two halves estimates the
// whole.
func TestApproxCountDistinct(t *testing.T) {
	aggs, err := exec.CompileAggs([]exec.AggCall{{Func: exec.ApproxCountDistinct, Arg: 0, ArgType: types.StringType}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := aggs.New(), aggs.New()
	for i := range 20000 {
		r := types.NewRow(types.StringValue(fmt.Sprintf("10.0.%d.%d", i/256, i%256)))
		if i%2 == 0 {
			a = aggs.Add(a, r)
		} else {
			b = aggs.Add(b, r)
		}
		a = aggs.Add(a, types.NewRow(types.Null))
	}
	est := aggs.AppendResults(nil, aggs.Merge(a, b))[0].Int()
	if math.Abs(float64(est)-20000)/20000 > 0.03 {
		t.Fatalf("estimate %d of 20000 distinct values", est)
	}
}

// split cuts timed rows into a left side (even row numbers in cPrice's
// eighths) and a right side (the rest), so that the one-input restore
// harness can drive the joins.
func split(in weir.Stream[types.Row]) (l, r weir.Stream[types.Row]) {
	even := func(x types.Row) bool { return int64(x.Values[cPrice].Float()*8)%2 == 0 }
	l = weir.Filter(in, even, weir.UID("even"))
	r = weir.Filter(in, func(x types.Row) bool { return !even(x) }, weir.UID("odd"))
	return l, r
}

func splitRows(rows []types.Row) (ls, rs []types.Row) {
	for _, x := range rows {
		if int64(x.Values[cPrice].Float()*8)%2 == 0 {
			ls = append(ls, x)
		} else {
			rs = append(rs, x)
		}
	}
	return ls, rs
}

// TestJoinsRestore: the full window join, the interval join and the
// lookup join keep their state (buffered rows, rows in flight) through a
// failure and a restore at another parallelism: the output is exact.
func TestJoinsRestore(t *testing.T) {
	rows := events(1200, 17)
	ls, rs := splitRows(rows)
	tumble := exec.WindowSpec{Kind: exec.Tumble, TimeCol: cTime, Size: 10 * time.Second}
	t.Run("window", func(t *testing.T) {
		checkRestores(t, rows, exactWindowJoin(exec.Full, ls, rs), []string{"heap"}, func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
			l, r := split(timed(t, in))
			lw, _ := exec.WindowAssign(l, tumble, "left-window")
			rw, _ := exec.WindowAssign(r, tumble, "right-window")
			j, _, err := exec.WindowJoin(lw, rw, exec.WindowJoinSpec{Type: exec.Full, LeftKeys: []int{cUser}, RightKeys: []int{cUser},
				LeftStart: width, LeftEnd: width + 1, RightStart: width, RightEnd: width + 1, LeftWidth: width + 3, RightWidth: width + 3}, "join")
			return j, err
		})
	})
	t.Run("interval", func(t *testing.T) {
		var want []string
		for _, l := range ls {
			for _, r := range rs {
				d := r.Values[cTime].Int() - l.Values[cTime].Int()
				if !l.Values[cUser].IsNull() && l.Values[cUser] == r.Values[cUser] && d >= -300 && d <= 300 {
					want = append(want, rowString(types.Row{Values: append(append([]types.Value(nil), l.Values...), r.Values...)}))
				}
			}
		}
		checkRestores(t, rows, want, []string{"heap"}, func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
			l, r := split(timed(t, in))
			return exec.IntervalJoin(l, r, exec.IntervalJoinSpec{LeftKeys: []int{cUser}, RightKeys: []int{cUser},
				Lower: -300 * time.Millisecond, Upper: 300 * time.Millisecond, LeftWidth: width, RightWidth: width}, "join")
		})
	})
	t.Run("lookup", func(t *testing.T) {
		var want []string
		for _, r := range rows {
			want = append(want, rowString(types.Row{Values: append(append([]types.Value(nil), r.Values...), r.Values[cUser])}))
		}
		checkRestores(t, rows, want, []string{"heap"}, func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
			j, _, err := exec.LookupJoin(in, exec.LookupJoinSpec{Type: exec.Left, Keys: []int{cUser}, LeftWidth: width, RightWidth: 1,
				Lookup: func(_ context.Context, key []types.Value) ([]types.Row, error) {
					time.Sleep(time.Millisecond) // keep rows in flight at the checkpoints
					return []types.Row{types.NewRow(key[0])}, nil
				}}, "lookup")
			return j, err
		})
	})
}
