package nexmark_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/weirtest"
)

// TestSplitProgressInMetrics: after a bounded job, the job's metrics say
// of every split how many events it emitted, at lag 0; together, all of
// them.
func TestSplitProgressInMetrics(t *testing.T) {
	const total, p = 1_000, 3
	src := newSource(t, nexmark.Seed(4), nexmark.Events(total))
	env := weir.NewEnv(weir.Parallelism(p))
	weir.SinkTo(weir.FromSource(env, src), weirtest.NewCollector[nexmark.Event](), weir.Parallelism(1))
	if err := env.Execute(t.Context(), "nexmark-progress"); err != nil {
		t.Fatal(err)
	}
	var got []source.SplitProgress
	for _, m := range env.Metrics() {
		got = append(got, m.Splits...)
	}
	slices.SortFunc(got, func(a, b source.SplitProgress) int { return strings.Compare(a.Split, b.Split) })
	var want []source.SplitProgress
	for i := range p {
		n := (total - i + p - 1) / p // event numbers i, i+p, ... below total
		want = append(want, source.SplitProgress{Split: fmt.Sprintf("nexmark-%d-of-%d", i, p), Position: int64(n)})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("split progress %v, want %v", got, want)
	}
}

// TestSplitProgressWhileReading: a reader part-way through its split says
// how many events are left.
func TestSplitProgressWhileReading(t *testing.T) {
	src := newSource(t, nexmark.Seed(1), nexmark.Events(100_000))
	ec := newFakeCtx(1)
	en, err := src.NewEnumerator(ec)
	if err != nil {
		t.Fatal(err)
	}
	en.HandleSplitRequest(0)
	r, _ := src.NewReader(newFakeCtx(1))
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.AddSplits(ec.assigned[0])
	out := &sliceOut{}
	poll(t, r, out, 1)
	got := r.(source.ProgressReporter).AppendSplitProgress(nil)
	n := int64(len(out.got))
	if want := []source.SplitProgress{{Split: "nexmark-0-of-1", Position: n, Lag: 100_000 - n}}; n == 0 || !slices.Equal(got, want) {
		t.Fatalf("after %d events: %v, want %v", n, got, want)
	}
}
