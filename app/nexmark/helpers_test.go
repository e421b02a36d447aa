package nexmark

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/weirtest"
)

// The input of the tests: testEvents events at testRate per second of
// event time from testStart, so 100 seconds that cross a UTC midnight
// and hold several windows of 10 seconds, and auctions that close before
// the end as well as ones still open.
const (
	testEvents = 5000
	testRate   = 50
	testSeed   = 7
)

var testStart = time.Date(2026, 12, 6, 23, 59, 20, 0, time.UTC)

func testOptions() []nexmark.Option {
	return []nexmark.Option{nexmark.Seed(testSeed), nexmark.EventsPerSecond(testRate), nexmark.Start(testStart)}
}

// input returns the test's events, in order, from a plain generator.
func input(t *testing.T) []nexmark.Event {
	t.Helper()
	g, err := nexmark.New(testOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]nexmark.Event, testEvents)
	for n := range out {
		out[n] = g.Event(int64(n))
	}
	return out
}

// inputBids returns the bids of the test's events.
func inputBids(t *testing.T) []*nexmark.Bid {
	var out []*nexmark.Bid
	for _, e := range input(t) {
		if e.Kind == nexmark.KindBid {
			out = append(out, e.Bid)
		}
	}
	return out
}

// runQuery runs build over the test's events at parallelism 2 and returns
// every row it emitted, in the order each subtask emitted them.
func runQuery[R any](t *testing.T, build func(weir.Stream[nexmark.Event]) weir.Stream[R], envOpts ...weir.EnvOption) []R {
	t.Helper()
	src, err := nexmark.NewSource(append(sourceOptions(), nexmark.Events(testEvents))...)
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv(append([]weir.EnvOption{weir.Parallelism(2)}, envOpts...)...)
	got := weirtest.NewCollector[R]()
	weir.SinkTo(build(Events(env, src)), got, weir.Name("collect"))
	if err := env.Execute(t.Context(), t.Name()); err != nil {
		t.Fatal(err)
	}
	return got.Records()
}

func sourceOptions() []nexmark.SourceOption {
	var out []nexmark.SourceOption
	for _, o := range testOptions() {
		out = append(out, o)
	}
	return out
}

// sameRows fails the test unless got and want hold the same rows, in any
// order, as many times each.
func sameRows[R any](t *testing.T, got, want []R) {
	t.Helper()
	g, w := render(got), render(want)
	if slices.Equal(g, w) {
		if len(want) == 0 {
			t.Fatal("the exact computation has no rows: the test input is too small to check anything")
		}
		return
	}
	missing, extra := diff(w, g), diff(g, w)
	t.Fatalf("%d rows, want %d\nmissing (%d): %s\nextra (%d): %s", len(got), len(want),
		len(missing), head(missing), len(extra), head(extra))
}

func render[R any](rows []R) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprintf("%+v", r)
	}
	slices.Sort(out)
	return out
}

// diff returns the rows of a (sorted) that b (sorted) lacks.
func diff(a, b []string) []string {
	var out []string
	i := 0
	for _, x := range a {
		for i < len(b) && b[i] < x {
			i++
		}
		if i < len(b) && b[i] == x {
			i++
			continue
		}
		out = append(out, x)
	}
	return out
}

func head(rows []string) string {
	if len(rows) > 3 {
		rows = rows[:3]
	}
	return strings.Join(rows, "\n  ")
}

// lastPer returns the last row of every key, in the order of rows.
func lastPer[R any, K comparable](rows []R, key func(R) K) []R {
	last := map[K]R{}
	for _, r := range rows {
		last[key(r)] = r
	}
	out := make([]R, 0, len(last))
	for _, r := range last {
		out = append(out, r)
	}
	return out
}
