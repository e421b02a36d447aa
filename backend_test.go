package weir_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
)

// sumJob keeps a running sum per key in a keyed process function and emits
// each key's total when the input ends (an event-time timer at the end of
// time fires then).
func sumJob(env *weir.Env, n int, fail func() error, out *weirtest.TxCollector[string]) {
	src := timedSource(n, 100, func(i int) kv { return kv{fmt.Sprint(i % 200), i} })
	src.BatchSize = 20
	src.Delay = time.Millisecond
	s := weir.Process(weir.FromSource(env, src, weir.Name("source")), func(_ *weir.Context, v kv, out weir.Emitter[kv]) error {
		if err := fail(); err != nil {
			return err
		}
		out.Emit(v)
		return nil
	}, weir.Name("flaky"))
	sums := weir.ProcessKeyed(weir.KeyBy(s, func(v kv) string { return v.K }), newTotal, weir.Name("sum"))
	weir.SinkTo(sums, out, weir.Name("sink"), weir.Parallelism(1))
}

type total struct{ sum state.Value[int] }

func newTotal(s *state.Store[string]) weir.KeyedProcessFunction[string, kv, string] {
	return &total{sum: state.ValueOf[int](s, "sum")}
}

func (t *total) ProcessElement(ctx *weir.KeyedContext[string, string], v kv) error {
	n, _ := t.sum.Get()
	t.sum.Set(n + v.V)
	ctx.RegisterEventTimer(time.UnixMilli(1 << 62))
	return nil
}

func (t *total) OnTimer(ctx *weir.KeyedContext[string, string], _ time.Time, _ weir.TimeDomain) error {
	n, _ := t.sum.Get()
	ctx.Emit(fmt.Sprintf("%s=%d", ctx.Key(), n))
	return nil
}

// TestPebbleBackendAndCrossBackendRestore runs keyed state on pebble with
// failures, and moves a checkpoint from the heap to pebble and back: the
// totals are those of a clean run on the heap.
func TestPebbleBackendAndCrossBackendRestore(t *testing.T) {
	const n = 3000
	clean := weir.NewEnv(weir.Parallelism(2))
	want := weirtest.NewTxCollector[string]()
	sumJob(clean, n, func() error { return nil }, want)
	if err := clean.Execute(context.Background(), "clean"); err != nil {
		t.Fatal(err)
	}
	w := want.Records()
	slices.Sort(w)
	if len(w) != 200 {
		t.Fatalf("clean run: %d totals, want 200", len(w))
	}

	for _, c := range []struct{ first, second string }{{"pebble", "pebble"}, {"heap", "pebble"}, {"pebble", "heap"}} {
		t.Run(c.first+"-then-"+c.second, func(t *testing.T) {
			dir := t.TempDir()
			var seen atomic.Int64
			out := weirtest.NewTxCollector[string]()
			first := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, dir),
				weir.StateBackend(c.first, t.TempDir()), weir.Restart(weir.NoRestart()))
			sumJob(first, n, func() error {
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
				t.Fatal("the first run completed no checkpoint: nothing to restore")
			}
			second := weir.NewEnv(weir.Parallelism(3), weir.Checkpoints(20*time.Millisecond, dir), weir.StateBackend(c.second, t.TempDir()))
			sumJob(second, n, func() error { return nil }, out)
			if err := second.Execute(context.Background(), "second"); err != nil {
				t.Fatal(err)
			}
			g := out.Records()
			slices.Sort(g)
			if !slices.Equal(w, g) {
				t.Fatalf("totals differ: got %d, want %d", len(g), len(w))
			}
		})
	}
}

// TestWindowsMoveBetweenBackends fails a windowed job on one backend and
// restores it on the other, at another parallelism: the committed windows
// equal a clean run's.
func TestWindowsMoveBetweenBackends(t *testing.T) {
	const n = 3000
	clean := weir.NewEnv(weir.Parallelism(2))
	want := countJob(clean, n, func(kv) error { return nil })
	if err := clean.Execute(context.Background(), "clean"); err != nil {
		t.Fatal(err)
	}
	w := want.Records()
	slices.Sort(w)
	for _, c := range []struct{ first, second string }{{"heap", "pebble"}, {"pebble", "heap"}, {"pebble", "pebble"}} {
		t.Run(c.first+"-then-"+c.second, func(t *testing.T) {
			dir := t.TempDir()
			fail, failures := failEvery(900)
			out := weirtest.NewTxCollector[string]()
			first := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, dir),
				weir.StateBackend(c.first, t.TempDir()), weir.Restart(weir.FixedDelayRestart(2, time.Millisecond)))
			countJobInto(first, n, fail, out)
			if err := first.Execute(context.Background(), "first"); err == nil {
				t.Fatal("the first run did not give up")
			}
			second := weir.NewEnv(weir.Parallelism(3), weir.Checkpoints(20*time.Millisecond, dir), weir.StateBackend(c.second, t.TempDir()))
			countJobInto(second, n, func(kv) error { return nil }, out)
			if err := second.Execute(context.Background(), "second"); err != nil {
				t.Fatal(err)
			}
			g := out.Records()
			slices.Sort(g)
			if !slices.Equal(w, g) {
				t.Fatalf("after %d failures the windows differ: got %d, want %d", failures.Load(), len(g), len(w))
			}
		})
	}
}

// TestFailedStartClosesWhatItOpened: when a subtask cannot be built (here
// a sink's writer fails in its second subtask), the job fails at start and
// closes what the subtasks built so far opened: their pebble databases
// (goleak, in TestMain and here, finds their goroutines otherwise).
func TestFailedStartClosesWhatItOpened(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(2), weir.StateBackend("pebble", t.TempDir()))
	keyed := weir.KeyBy(weir.FromSource(env, weirtest.FromSlice(1, 2, 3)), func(v int) int { return v })
	sums := weir.ProcessKeyed(keyed, func(store *state.Store[int]) weir.KeyedProcessFunction[int, int, int] {
		return &summer{sum: state.ValueOf[int](store, "sum")}
	})
	weir.SinkTo(sums, failingSink{})
	err := env.Execute(context.Background(), "fails")
	if err == nil || !strings.Contains(err.Error(), "no writer for subtask 1") {
		t.Fatalf("Execute: %v, want the writer's error", err)
	}
	goleak.VerifyNone(t)
}

// failingSink has no writer for subtask 1.
type failingSink struct{}

func (failingSink) NewWriter(ctx sink.WriterContext) (sink.Writer[int], error) {
	if ctx.Subtask() == 1 {
		return nil, errors.New("no writer for subtask 1")
	}
	return sink.Func[int](func(context.Context, int) error { return nil }).NewWriter(ctx)
}
