package exec_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

// The columns of the generated event rows.
const (
	cUser  = 0 // STRING, sometimes NULL
	cURI   = 1 // STRING, sometimes NULL
	cN     = 2 // INT, sometimes NULL
	cPrice = 3 // DOUBLE
	cTime  = 4 // TIMESTAMP(3)
	width  = 5
)

// base is the first event's time: 2026-12-07 00:00:00 UTC.
var base = time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC).UnixMilli()

// events makes n rows over a few users and uris, about 20 a second of
// event time, out of order by up to 2 s (within the watermarks' delay of
// 3 s, so that no row is late), each at a different millisecond.
func events(n int, seed uint64) []types.Row {
	rng := rand.New(rand.NewPCG(seed, 7))
	rows := make([]types.Row, n)
	taken := map[int64]bool{}
	for i := range rows {
		user, uri, num := types.StringValue(fmt.Sprintf("u%d", rng.IntN(7))), types.StringValue(fmt.Sprintf("/p%d", rng.IntN(5))), types.IntValue(int64(rng.IntN(20)-5))
		if rng.IntN(20) == 0 {
			user = types.Null
		}
		if rng.IntN(15) == 0 {
			uri = types.Null
		}
		if rng.IntN(10) == 0 {
			num = types.Null
		}
		ts := base + int64(i)*50 + int64(rng.IntN(2000))
		for taken[ts] { // unique times, so that "first" and "last" are well defined
			ts++
		}
		taken[ts] = true
		rows[i] = types.NewRow(user, uri, num, types.FloatValue(float64(rng.IntN(1000))/8), types.IntValue(ts))
	}
	return rows
}

// rowString formats a row with its kind, for comparisons.
func rowString(r types.Row) string {
	var b strings.Builder
	b.WriteString(r.Kind.String())
	for _, v := range r.Values {
		b.WriteString(" ")
		b.WriteString(v.String())
	}
	return b.String()
}

// job builds a job over the rows of in and returns its output.
type job func(env *weir.Env, in weir.Stream[types.Row]) (weir.Stream[types.Row], error)

// timed returns in with event times from cTime, 3 s of watermark delay.
func timed(t testing.TB, in weir.Stream[types.Row]) weir.Stream[types.Row] {
	tm, err := exec.EventTime(in, exec.EventTimeSpec{Col: cTime, Delay: 3 * time.Second}, "time")
	if err != nil {
		t.Fatal(err)
	}
	return tm.Rows
}

// run runs build over rows at parallelism p on backend, and returns the
// output rows formatted, sorted.
func run(t testing.TB, rows []types.Row, p int, backend string, build job) []string {
	t.Helper()
	env := weir.NewEnv(weir.Parallelism(p), weir.StateBackend(backend, t.TempDir()))
	out := weirtest.NewCollector[string]()
	in := weir.FromSource(env, weirtest.FromSlice(rows...), weir.Name("rows"))
	res, err := build(env, in)
	if err != nil {
		t.Fatal(err)
	}
	weir.SinkTo(weir.Map(res, rowString, weir.Name("format")), out, weir.Name("sink"))
	if err := env.Execute(context.Background(), t.Name()); err != nil {
		t.Fatal(err)
	}
	got := out.Records()
	slices.Sort(got)
	return got
}

// sameRows fails t if got and want (sorted) differ, showing the first
// difference.
func sameRows(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Fatalf("%s: the exact result is empty: the test proves nothing", what)
	}
	if slices.Equal(got, want) {
		return
	}
	for i := range max(len(got), len(want)) {
		if i >= len(got) || i >= len(want) || got[i] != want[i] {
			g, w := "(none)", "(none)"
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			t.Fatalf("%s: %d rows, want %d; first difference at %d: got %q, want %q", what, len(got), len(want), i, g, w)
		}
	}
}

// checkExact runs build at parallelism 1 and 2 on the heap backend (and
// pebble if asked) and compares each run with want.
func checkExact(t *testing.T, rows []types.Row, want []string, pebble bool, build job) {
	t.Helper()
	slices.Sort(want)
	backends := []string{"heap"}
	if pebble {
		backends = append(backends, "pebble")
	}
	for _, b := range backends {
		for _, p := range []int{1, 2} {
			sameRows(t, fmt.Sprintf("%s, parallelism %d", b, p), run(t, rows, p, b, build), want)
		}
	}
}

// completed returns how many checkpoints of env's run completed.
func completed(env *weir.Env) int {
	n := 0
	for _, s := range env.CheckpointStats() {
		if s.Status == weir.CheckpointCompleted {
			n++
		}
	}
	return n
}

// checkRestores runs build through a failure and a restore (restoreRun) on
// each backend and compares the exactly-once output with want.
func checkRestores(t *testing.T, rows []types.Row, want []string, backends []string, build job) {
	t.Helper()
	slices.Sort(want)
	for _, backend := range backends {
		t.Run(backend, func(t *testing.T) {
			got, p := restoreRun(t, rows, backend, build)
			slices.Sort(got)
			sameRows(t, fmt.Sprintf("restored at parallelism %d", p), got, want)
		})
	}
}

// restoreRun runs build with checkpoints at parallelism 2, fails it once
// two checkpoints completed after half the input, restores it at
// parallelism 3 (heap) or 1 (pebble), and returns the exactly-once output in
// commit order and the parallelism it was restored at.
func restoreRun(t *testing.T, rows []types.Row, backend string, build job) ([]string, int) {
	t.Helper()
	dir := t.TempDir()
	out := weirtest.NewTxCollector[string]()
	var seen atomic.Int64
	var failed atomic.Bool
	do := func(env *weir.Env, fail bool) {
		src := weirtest.FromSlice(rows...)
		src.BatchSize = 20
		in := weir.FromSource(env, src, weir.Name("rows"))
		in = weir.Process(in, func(_ *weir.Context, r types.Row, out weir.Emitter[types.Row]) error {
			if fail && seen.Add(1) >= int64(len(rows)/2) && !failed.Load() {
				if completed(env) >= 2 {
					failed.Store(true)
					return errors.New("stop here")
				}
				time.Sleep(2 * time.Millisecond)
			}
			out.Emit(r)
			return nil
		}, weir.Name("flaky"), weir.UID("flaky"))
		res, err := build(env, in)
		if err != nil {
			t.Fatal(err)
		}
		weir.SinkTo(weir.Map(res, rowString, weir.Name("format"), weir.UID("format")), out, weir.Name("sink"), weir.UID("sink"), weir.Parallelism(1))
	}
	first := weir.NewEnv(weir.Parallelism(2), weir.StateBackend(backend, t.TempDir()),
		weir.Checkpoints(20*time.Millisecond, dir), weir.Restart(weir.NoRestart()))
	do(first, true)
	if err := first.Execute(context.Background(), "first"); err == nil {
		t.Fatal("the first run did not fail")
	}
	p := map[string]int{"heap": 3, "pebble": 1}[backend]
	second := weir.NewEnv(weir.Parallelism(p), weir.StateBackend(backend, t.TempDir()), weir.Checkpoints(20*time.Millisecond, dir))
	do(second, false)
	if err := second.Execute(context.Background(), "second"); err != nil {
		t.Fatal(err)
	}
	return out.Records(), p
}

func slicesSort(s []string) { slices.Sort(s) }
