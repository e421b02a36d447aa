package weir_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

// uidJob counts kv records per key and window with operators that have no
// names, so their state goes by their default UIDs. With sidePipeline, an
// unrelated pipeline is added before it, which moves every default name
// ("window-3" becomes "window-6"); windowUID gives the window a UID.
func uidJob(env *weir.Env, n int, seen *atomic.Int64, sidePipeline bool, windowUID string, out *weirtest.TxCollector[string]) {
	if sidePipeline {
		side := weir.Map(weir.FromSource(env, weirtest.FromSlice(1, 2, 3)), func(v int) int { return v * 2 })
		weir.SinkTo(side, weirtest.NewCollector[int]())
	}
	src := timedSource(n, 10, func(i int) kv { return kv{string(rune('a' + i%5)), 1} })
	src.BatchSize = 20
	src.Delay = 2 * time.Millisecond
	s := weir.Map(weir.FromSource(env, src), func(v kv) kv { seen.Add(1); return v })
	s = weir.Watermarks(s, weir.BoundedOutOfOrderness[kv](time.Second, nil))
	var opts []weir.OpOption
	if windowUID != "" {
		opts = append(opts, weir.UID(windowUID))
	}
	counts := weir.AggregateWindow(weir.Window(weir.KeyBy(s, func(v kv) string { return v.K }), window.Tumbling(10*time.Second)), count, describe, opts...)
	weir.SinkTo(counts, out, weir.Parallelism(1))
}

// savepointHalfway runs uidJob until a third of its input is read and
// stops it with a savepoint.
func savepointHalfway(t *testing.T, n int, out *weirtest.TxCollector[string]) string {
	t.Helper()
	var seen atomic.Int64
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(time.Hour, t.TempDir()))
	uidJob(env, n, &seen, false, "", out)
	done := make(chan error, 1)
	go func() { done <- env.Execute(context.Background(), "first") }()
	for seen.Load() < int64(n/3) {
		time.Sleep(time.Millisecond)
	}
	path, err := env.StopWithSavepoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if seen.Load() >= int64(n) {
		t.Fatal("the job finished before the savepoint: make the source slower")
	}
	return path
}

// TestDefaultUIDsSurviveAnUnrelatedOperator restores a savepoint into the
// same job with an unrelated pipeline added in front of it: the default
// UIDs do not depend on position, so every operator finds its state and
// the output is exact. With state found by position, the window started
// empty and the counts of the first third were lost.
func TestDefaultUIDsSurviveAnUnrelatedOperator(t *testing.T) {
	const n = 3000
	var seen atomic.Int64
	clean := weir.NewEnv(weir.Parallelism(2))
	want := weirtest.NewTxCollector[string]()
	uidJob(clean, n, &seen, false, "", want)
	if err := clean.Execute(context.Background(), "clean"); err != nil {
		t.Fatal(err)
	}

	out := weirtest.NewTxCollector[string]()
	path := savepointHalfway(t, n, out)
	second := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(time.Hour, t.TempDir()), weir.RestoreFrom(path))
	uidJob(second, n, &seen, true, "", out)
	if err := second.Execute(context.Background(), "second"); err != nil {
		t.Fatal(err)
	}
	w, g := want.Records(), out.Records()
	slices.Sort(w)
	slices.Sort(g)
	if !slices.Equal(w, g) {
		t.Fatalf("output differs after adding an unrelated operator: got %d results, want %d", len(g), len(w))
	}
}

// TestUnmatchedStateFailsTheRestore restores a savepoint into a job whose
// window has another UID: the restore fails and names the window's state,
// unless AllowNonRestoredState lets it drop it.
func TestUnmatchedStateFailsTheRestore(t *testing.T) {
	const n = 3000
	path := savepointHalfway(t, n, weirtest.NewTxCollector[string]())

	var seen atomic.Int64
	strict := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(time.Hour, t.TempDir()), weir.RestoreFrom(path))
	uidJob(strict, n, &seen, false, "counts-v2", weirtest.NewTxCollector[string]())
	err := strict.Execute(context.Background(), "strict")
	if err == nil || !strings.Contains(err.Error(), "no operator of the job takes") || !strings.Contains(err.Error(), `"window-`) ||
		!strings.Contains(err.Error(), "AllowNonRestoredState") {
		t.Fatalf("restore into a job without the window's UID: %v, want it to fail naming the window's state and the way out", err)
	}
	if seen.Load() != 0 {
		t.Fatalf("the job read %d records before failing the restore", seen.Load())
	}

	lenient := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(time.Hour, t.TempDir()), weir.RestoreFrom(path), weir.AllowNonRestoredState())
	uidJob(lenient, n, &seen, false, "counts-v2", weirtest.NewTxCollector[string]())
	if err := lenient.Execute(context.Background(), "lenient"); err != nil {
		t.Fatalf("with AllowNonRestoredState: %v", err)
	}
}

// TestUIDsMustBeUnique: two operators with one UID are a usage error.
func TestUIDsMustBeUnique(t *testing.T) {
	env := weir.NewEnv()
	a := weir.Map(weir.FromSource(env, weirtest.FromSlice(1)), func(v int) int { return v }, weir.UID("x"))
	weir.SinkTo(weir.Map(a, func(v int) int { return v }, weir.UID("x")), weirtest.NewCollector[int]())
	err := env.Execute(context.Background(), "dup")
	if err == nil || !strings.Contains(err.Error(), `one UID "x"`) {
		t.Fatalf("Execute: %v, want an error about the UID", err)
	}
}
