package exec_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

// exactRegularJoin joins ls and rs on user and uri where the left n is
// below the right one, in RegularJoin's layout: NULL keys and NULL ns
// match nothing.
func exactRegularJoin(ls, rs []types.Row) []string {
	var out []string
	for _, l := range ls {
		for _, r := range rs {
			lv, rv := l.Values, r.Values
			if lv[cUser].IsNull() || lv[cURI].IsNull() || lv[cUser] != rv[cUser] || lv[cURI] != rv[cURI] {
				continue
			}
			if lv[cN].IsNull() || rv[cN].IsNull() || lv[cN].Int() >= rv[cN].Int() {
				continue
			}
			out = append(out, rowString(types.Row{Values: append(append([]types.Value(nil), lv...), rv...)}))
		}
	}
	return out
}

// lessN is the residual condition l.n < r.n over a joined row of two
// event rows (false when either is NULL, as SQL's WHERE reads it).
func lessN(r types.Row) bool {
	l, x := r.Values[cN], r.Values[width+cN]
	return !l.IsNull() && !x.IsNull() && l.Int() < x.Int()
}

func regularSpec() exec.RegularJoinSpec {
	return exec.RegularJoinSpec{LeftKeys: []int{cUser, cURI}, RightKeys: []int{cUser, cURI}, Residual: lessN,
		LeftWidth: width, RightWidth: width}
}

// TestRegularJoin: an inner regular join on two keys with a residual
// condition equals the plain computation at parallelism 1 and 2, however
// the two inputs interleave; NULL keys match nothing.
func TestRegularJoin(t *testing.T) {
	ls, rs := events(300, 20), events(300, 21)
	want := exactRegularJoin(ls, rs)
	slicesSort(want)
	for _, p := range []int{1, 2} {
		got := twoInputs(t, ls, rs, p, func(l, r weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
			return exec.RegularJoin(l, r, regularSpec(), "join")
		})
		slicesSort(got)
		sameRows(t, fmt.Sprintf("parallelism %d", p), got, want)
	}
}

// TestRegularJoinRestores: both sides' rows survive a failure in keyed
// state and are redistributed by key when the job restores at another
// parallelism: the exactly-once output is the plain join's.
func TestRegularJoinRestores(t *testing.T) {
	rows := events(1200, 22)
	ls, rs := splitRows(rows)
	checkRestores(t, rows, exactRegularJoin(ls, rs), []string{"heap", "pebble"}, func(_ *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error) {
		l, r := split(in)
		return exec.RegularJoin(l, r, regularSpec(), "join")
	})
}

// TestRegularJoinRefuses: outer joins, unpaired or missing keys and a
// negative TTL are refused by name.
func TestRegularJoinRefuses(t *testing.T) {
	env := weir.NewEnv()
	in := weir.FromSource(env, weirtest.FromSlice[types.Row](), weir.Name("rows"))
	for _, c := range []struct {
		spec exec.RegularJoinSpec
		want string
	}{
		{exec.RegularJoinSpec{Type: exec.Left, LeftKeys: []int{0}, RightKeys: []int{0}, LeftWidth: 1, RightWidth: 1}, "LEFT regular join"},
		{exec.RegularJoinSpec{LeftKeys: []int{0}, LeftWidth: 1, RightWidth: 1}, "must pair up"},
		{exec.RegularJoinSpec{LeftWidth: 1, RightWidth: 1}, "no equality key"},
		{exec.RegularJoinSpec{LeftKeys: []int{0}, RightKeys: []int{0}, LeftWidth: 1, RightWidth: 1, TTL: -time.Second}, "negative"},
		{exec.RegularJoinSpec{LeftKeys: []int{3}, RightKeys: []int{0}, LeftWidth: 1, RightWidth: 1}, "left key"},
	} {
		_, err := exec.RegularJoin(in, in, c.spec, "join")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error with %q", c.spec, err, c.want)
		}
	}
}

// TestRegularJoinTTL: with a TTL of an hour, a right row two hours of
// processing time after the left row of its key finds it forgotten, while
// one a minute after the previous left row still joins it.
func TestRegularJoinTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		row := func(side, user string, n int64) types.Row {
			return types.NewRow(types.StringValue(side), types.StringValue(user), types.IntValue(n))
		}
		rows := []types.Row{row("L", "a", 1), row("L", "b", 2), row("R", "a", 3), row("L", "b", 4), row("R", "b", 5)}
		pause := map[int64]time.Duration{3: 2 * time.Hour, 5: time.Minute}
		env := weir.NewEnv(weir.BufferTimeout(0)) // each row reaches the join before the next one's pause
		src := weirtest.FromSlice(rows...)
		src.BatchSize = 1
		in := weir.FromSource(env, src, weir.Name("rows"))
		in = weir.Process(in, func(_ *weir.Context, r types.Row, out weir.Emitter[types.Row]) error {
			time.Sleep(pause[r.Values[2].Int()])
			out.Emit(r)
			return nil
		}, weir.Name("pace"))
		isLeft := func(r types.Row) bool { return r.Values[0].Str() == "L" }
		l := weir.Filter(in, isLeft)
		r := weir.Filter(in, func(r types.Row) bool { return !isLeft(r) })
		j, err := exec.RegularJoin(l, r, exec.RegularJoinSpec{LeftKeys: []int{1}, RightKeys: []int{1}, LeftWidth: 3, RightWidth: 3, TTL: time.Hour}, "join")
		if err != nil {
			t.Fatal(err)
		}
		out := weirtest.NewCollector[string]()
		weir.SinkTo(weir.Map(j, rowString), out)
		if err := env.Execute(context.Background(), t.Name()); err != nil {
			t.Fatal(err)
		}
		got := out.Records()
		slicesSort(got)
		want := []string{rowString(types.Row{Values: append(row("L", "b", 4).Values, row("R", "b", 5).Values...)})}
		sameRows(t, "with a TTL of 1 h", got, want)
	})
}
