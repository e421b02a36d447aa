package datagen_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/weirtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// expected returns the first n lines of a Generator with opts.
func expected(t *testing.T, n int, opts ...datagen.Option) []string {
	t.Helper()
	g, err := datagen.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var buf []byte
	for range n {
		buf, _ = g.Next(buf[:0])
		lines = append(lines, string(buf))
	}
	return lines
}

// runJob runs src into a collector at the given parallelism.
func runJob(t *testing.T, ctx context.Context, src source.Source[string], parallelism int) ([]string, error) {
	t.Helper()
	env := weir.NewEnv(weir.Parallelism(parallelism))
	col := weirtest.NewCollector[string]()
	weir.SinkTo(weir.FromSource(env, src), col, weir.Parallelism(1))
	err := env.Execute(ctx, "datagen-test")
	return col.Records(), err
}

func TestSourceBoundedJob(t *testing.T) {
	for _, p := range []int{1, 3} {
		src, err := datagen.NewSource(datagen.Seed(7), datagen.Limit(10_000))
		if err != nil {
			t.Fatal(err)
		}
		if src.Boundedness() != source.Bounded {
			t.Fatalf("Boundedness = %v with Limit", src.Boundedness())
		}
		got, err := runJob(t, t.Context(), src, p)
		if err != nil {
			t.Fatalf("parallelism %d: %v", p, err)
		}
		if want := expected(t, 10_000, datagen.Seed(7)); !slices.Equal(got, want) {
			t.Fatalf("parallelism %d: got %d lines, not the generator's %d in order", p, len(got), len(want))
		}
	}
}

func TestSourceLimitZero(t *testing.T) {
	src, err := datagen.NewSource(datagen.Limit(0))
	if err != nil {
		t.Fatal(err)
	}
	got, err := runJob(t, t.Context(), src, 2)
	if err != nil || len(got) != 0 {
		t.Fatalf("got %d lines, %v; want none", len(got), err)
	}
}

func TestSourceUnboundedCancel(t *testing.T) {
	src, err := datagen.NewSource(datagen.Rate(20_000))
	if err != nil {
		t.Fatal(err)
	}
	if src.Boundedness() != source.Unbounded {
		t.Fatalf("Boundedness = %v without Limit", src.Boundedness())
	}
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	got, err := runJob(t, ctx, src, 2)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Execute = %v, want the context's deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("the job took %v to stop after its context ended", d)
	}
	// 300 ms at 20,000/s with a 100 ms burst: about 6,000, surely not 10,000.
	if len(got) == 0 || len(got) > 10_000 {
		t.Fatalf("got %d lines in 300ms at 20,000 lines/s", len(got))
	}
	if want := expected(t, len(got)); !slices.Equal(got, want) {
		t.Fatal("lines differ from the generator's")
	}
}

func TestSourceRate(t *testing.T) {
	src, err := datagen.NewSource(datagen.Rate(5_000), datagen.Limit(1_500))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := runJob(t, t.Context(), src, 1)
	if err != nil {
		t.Fatal(err)
	}
	// 1,500 lines at 5,000/s take 300 ms, less the first line and the
	// 100 ms burst the bucket may hold: at least about 200 ms.
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Errorf("1,500 lines at 5,000 lines/s took only %v", d)
	}
	if len(got) != 1_500 {
		t.Fatalf("got %d lines, want 1,500", len(got))
	}
}

func TestNewSourceErrors(t *testing.T) {
	_, err := datagen.NewSource(datagen.Pages(-1), datagen.Rate(-1), datagen.Limit(-5))
	if err == nil {
		t.Fatal("NewSource accepted bad options")
	}
	for _, want := range []string{"Pages(-1)", "Rate(-1)", "Limit(-5)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
	// Leaving an option out is how to get its default: a Rate of zero
	// and a Limit of -1 are mistakes, not "no pacing" and "no end".
	_, err = datagen.NewSource(datagen.Rate(0), datagen.Limit(-1))
	for _, want := range []string{"Rate(0)", "Limit(-1)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewSource(Rate(0), Limit(-1)): the error does not name %s: %v", want, err)
		}
	}
}

// fakeCtx is a reader and enumerator context outside a job.
type fakeCtx struct {
	subtask, parallelism int
	assigned             map[int][]source.Split
	noMore               map[int]bool
	requests             int
}

func newFakeCtx(parallelism int) *fakeCtx {
	return &fakeCtx{parallelism: parallelism, assigned: map[int][]source.Split{}, noMore: map[int]bool{}}
}

func (f *fakeCtx) Subtask() int        { return f.subtask }
func (f *fakeCtx) Parallelism() int    { return f.parallelism }
func (f *fakeCtx) Checkpointing() bool { return false }
func (f *fakeCtx) RequestSplit()       { f.requests++ }
func (f *fakeCtx) Assign(subtask int, splits ...source.Split) {
	f.assigned[subtask] = append(f.assigned[subtask], splits...)
}
func (f *fakeCtx) NoMoreSplits(subtask int) { f.noMore[subtask] = true }

type sliceOut struct{ lines []string }

func (o *sliceOut) Collect(v string)            { o.lines = append(o.lines, v) }
func (o *sliceOut) CollectAt(v string, _ int64) { o.lines = append(o.lines, v) }

// drain polls r until it ends.
func drain(t *testing.T, r source.Reader[string]) []string {
	t.Helper()
	out := &sliceOut{}
	for range 100_000 {
		st, err := r.Poll(t.Context(), out)
		if err != nil {
			t.Fatal(err)
		}
		if st == source.EndOfInput {
			return out.lines
		}
	}
	t.Fatal("the reader did not end")
	return nil
}

func TestSnapshotRestore(t *testing.T) {
	const total = 9_000
	want := expected(t, total, datagen.Seed(3))
	src, err := datagen.NewSource(datagen.Seed(3), datagen.Limit(total))
	if err != nil {
		t.Fatal(err)
	}

	// The enumerator gives the split to subtask 0 only.
	ec := newFakeCtx(2)
	en, err := src.NewEnumerator(ec)
	if err != nil {
		t.Fatal(err)
	}
	if err := en.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	en.HandleSplitRequest(1)
	en.HandleSplitRequest(0)
	en.HandleSplitRequest(0)
	if len(ec.assigned[1]) != 0 || !ec.noMore[1] || len(ec.assigned[0]) != 1 || !ec.noMore[0] {
		t.Fatalf("assignments %v, no more %v: want the one split on subtask 0", ec.assigned, ec.noMore)
	}

	// Read part of it, and snapshot.
	rc := newFakeCtx(2)
	r, err := src.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil || rc.requests != 1 {
		t.Fatalf("Start: %v, %d split requests", err, rc.requests)
	}
	r.AddSplits(ec.assigned[0])
	out := &sliceOut{}
	if _, err := r.Poll(t.Context(), out); err != nil {
		t.Fatal(err)
	}
	snap, err := r.Snapshot(1)
	if err != nil || len(snap) != 1 {
		t.Fatalf("Snapshot = %v, %v", snap, err)
	}
	at := snap[0].(*datagen.Split).Emitted
	if at != int64(len(out.lines)) || at == 0 {
		t.Fatalf("snapshot position %d after %d lines", at, len(out.lines))
	}
	if !slices.Equal(out.lines, want[:at]) {
		t.Fatal("first batch differs from the generator's lines")
	}
	r.Close()

	// The snapshot's split goes back to the enumerator, which hands it out
	// again; a fresh reader resumes exactly where the first one was.
	ec = newFakeCtx(1)
	en, _ = src.NewEnumerator(ec)
	en.AddSplitsBack(snap, 0)
	en.HandleSplitRequest(0)
	if len(ec.assigned[0]) != 1 || ec.assigned[0][0].(*datagen.Split).Emitted != at {
		t.Fatalf("restored enumerator assigned %v", ec.assigned[0])
	}
	r2, _ := src.NewReader(newFakeCtx(1))
	r2.Start(t.Context())
	r2.AddSplits(ec.assigned[0])
	r2.NoMoreSplits()
	rest := drain(t, r2)
	if !slices.Equal(rest, want[at:]) {
		t.Fatalf("restored reader emitted %d lines, want the %d after position %d", len(rest), total-at, at)
	}
	if snap, _ := r2.Snapshot(1); len(snap) != 0 {
		t.Fatalf("Snapshot after the end = %v, want no split", snap)
	}
	r2.Close()
	if _, err := r2.Poll(t.Context(), out); !errors.Is(err, source.ErrClosed) {
		t.Fatalf("Poll after Close = %v, want ErrClosed", err)
	}
}

// A position past maxSkip is reached over several short Polls.
func TestRestoreFarPosition(t *testing.T) {
	const at, total = 100_010, 100_020
	src, _ := datagen.NewSource(datagen.Seed(5), datagen.Limit(total))
	r, _ := src.NewReader(newFakeCtx(1))
	r.Start(t.Context())
	r.AddSplits([]source.Split{&datagen.Split{Emitted: at}})
	r.NoMoreSplits()
	got := drain(t, r)
	if want := expected(t, total, datagen.Seed(5))[at:]; !slices.Equal(got, want) {
		t.Fatalf("got %d lines, want the last %d", len(got), len(want))
	}
}

// restoringCtx is the enumerator context of a job restoring a checkpoint.
type restoringCtx struct {
	*fakeCtx
	restored []source.Split
}

func (r restoringCtx) Restored() ([]source.Split, bool) { return r.restored, true }

func TestCheckpointSPI(t *testing.T) {
	src, _ := datagen.NewSource()
	b, err := src.EncodeSplit(&datagen.Split{Emitted: 42})
	if err != nil {
		t.Fatal(err)
	}
	sp, err := src.DecodeSplit(b)
	if err != nil || sp.(*datagen.Split).Emitted != 42 {
		t.Fatalf("DecodeSplit(%s) = %v, %v", b, sp, err)
	}
	for _, bad := range []string{`{"v":2,"emitted":1}`, `{"v":1,"emitted":-1}`, `nope`} {
		if _, err := src.DecodeSplit([]byte(bad)); err == nil {
			t.Errorf("DecodeSplit(%s) succeeded", bad)
		}
	}

	// Unassigned at the checkpoint: the enumerator has it in its snapshot
	// and hands it out on restore.
	en, _ := src.NewEnumerator(newFakeCtx(1))
	snap, _ := en.(source.SnapshottingEnumerator).Snapshot()
	if len(snap) != 1 {
		t.Fatalf("fresh enumerator snapshot %v, want the split", snap)
	}
	rc := restoringCtx{newFakeCtx(1), []source.Split{&datagen.Split{Emitted: 7}}}
	en, _ = src.NewEnumerator(rc)
	en.HandleSplitRequest(0)
	if got := rc.assigned[0]; len(got) != 1 || got[0].(*datagen.Split).Emitted != 7 {
		t.Fatalf("restored enumerator assigned %v, want the split at 7", got)
	}

	// Held by a reader at the checkpoint: the restored enumerator has
	// nothing until the split is added back.
	rc = restoringCtx{newFakeCtx(1), nil}
	en, _ = src.NewEnumerator(rc)
	en.HandleSplitRequest(0)
	if len(rc.assigned[0]) != 0 {
		t.Fatalf("restored enumerator assigned %v, want nothing", rc.assigned[0])
	}
}

// TestSplitProgressInMetrics: after a bounded job, the job's metrics say
// how many lines the split emitted, at lag 0.
func TestSplitProgressInMetrics(t *testing.T) {
	src, err := datagen.NewSource(datagen.Seed(7), datagen.Limit(5_000))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv(weir.Parallelism(2))
	weir.SinkTo(weir.FromSource(env, src), weirtest.NewCollector[string](), weir.Parallelism(1))
	if err := env.Execute(t.Context(), "datagen-progress"); err != nil {
		t.Fatal(err)
	}
	var got []source.SplitProgress
	for _, m := range env.Metrics() {
		got = append(got, m.Splits...)
	}
	if want := []source.SplitProgress{{Split: datagen.SplitID, Position: 5_000}}; !slices.Equal(got, want) {
		t.Fatalf("split progress %v, want %v", got, want)
	}
}
