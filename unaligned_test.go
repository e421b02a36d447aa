package weir_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
)

// slowSumJob sums values per key behind a slow keyed function, so that the
// channels into it are full (backpressure) when barriers come.
func slowSumJob(env *weir.Env, n int, fail func() error, out *weirtest.TxCollector[string]) {
	src := timedSource(n, 100, func(i int) kv { return kv{fmt.Sprint(i % 50), i} })
	src.BatchSize = 256
	s := weir.FromSource(env, src, weir.Name("source"))
	sums := weir.ProcessKeyed(weir.KeyBy(s, func(v kv) string { return v.K }),
		func(st *state.Store[string]) weir.KeyedProcessFunction[string, kv, string] {
			return &slowTotal{total: newTotal(st).(*total), fail: fail}
		}, weir.Name("slow-sum"))
	weir.SinkTo(sums, out, weir.Name("sink"), weir.Parallelism(1))
}

type slowTotal struct {
	*total
	fail func() error
}

func (s *slowTotal) ProcessElement(ctx *weir.KeyedContext[string, string], v kv) error {
	if err := s.fail(); err != nil {
		return err
	}
	for start := time.Now(); time.Since(start) < 20*time.Microsecond; {
	}
	return s.total.ProcessElement(ctx, v)
}

// TestUnalignedCheckpointsUnderBackpressure takes unaligned checkpoints
// while a slow operator backpressures the source, fails the job, and
// restores it: the records that were in flight come back from the
// checkpoint, so every total is exact.
func TestUnalignedCheckpointsUnderBackpressure(t *testing.T) {
	const n = 20000
	clean := weir.NewEnv(weir.Parallelism(2), weir.BatchSize(64))
	want := weirtest.NewTxCollector[string]()
	slowSumJob(clean, n, func() error { return nil }, want)
	if err := clean.Execute(context.Background(), "clean"); err != nil {
		t.Fatal(err)
	}
	w := want.Records()
	slices.Sort(w)

	dir := t.TempDir()
	var seen atomic.Int64
	out := weirtest.NewTxCollector[string]()
	first := weir.NewEnv(weir.Parallelism(2), weir.BatchSize(64), weir.Checkpoints(30*time.Millisecond, dir),
		weir.UnalignedCheckpoints(), weir.Restart(weir.NoRestart()))
	slowSumJob(first, n, func() error {
		if seen.Add(1) == n/2 {
			return errors.New("stop here")
		}
		return nil
	}, out)
	if err := first.Execute(context.Background(), "first"); err == nil {
		t.Fatal("the first run did not fail")
	}
	completed := 0
	for _, st := range first.CheckpointStats() {
		if st.Status == weir.CheckpointCompleted {
			completed++
		}
	}
	if completed == 0 {
		t.Fatalf("no unaligned checkpoint completed under backpressure: %+v", first.CheckpointStats())
	}
	// The checkpoints hold records that were in flight into the slow
	// operator: the restore below must replay them.
	inFlight := 0
	metas, _ := filepath.Glob(filepath.Join(dir, "chk-*", "_metadata"))
	for _, p := range metas {
		b, _ := os.ReadFile(p)
		m, err := snapshot.DecodeMetadata(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range m.Operators {
			if op.UID == "slow-sum#channels" {
				for _, sub := range op.Subtasks {
					inFlight += len(sub.ChannelState)
				}
			}
		}
	}
	if inFlight == 0 {
		t.Fatalf("the %d checkpoints kept hold no records in flight: the test did not backpressure", len(metas))
	}
	second := weir.NewEnv(weir.Parallelism(2), weir.BatchSize(64), weir.Checkpoints(30*time.Millisecond, dir), weir.UnalignedCheckpoints())
	slowSumJob(second, n, func() error { return nil }, out)
	if err := second.Execute(context.Background(), "second"); err != nil {
		t.Fatal(err)
	}
	g := out.Records()
	slices.Sort(g)
	if !slices.Equal(w, g) {
		t.Fatalf("totals differ after restoring an unaligned checkpoint: got %d, want %d\n got %v\nwant %v", len(g), len(w), g[:min(5, len(g))], w[:5])
	}
}
