package weir_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

// timedSource makes n records, record i at i/perSecond seconds after t0.
func timedSource(n, perSecond int, record func(i int) kv) *weirtest.SliceSource[kv] {
	timed := make([]weirtest.Timed[kv], n)
	for i := range timed {
		timed[i] = weirtest.Timed[kv]{Value: record(i), Time: at(float64(i) / float64(perSecond))}
	}
	return weirtest.FromTimed(timed...)
}

// failEvery returns a map function for countJob and its kin that fails
// on every nth record it sees, and the count of failures it injected.
func failEvery(n int64) (fail func(kv) error, failures *atomic.Int64) {
	return failEveryUpTo(n, math.MaxInt64)
}

// failEveryUpTo is failEvery that stops failing after most failures. A job
// whose checkpoints are slow (pebble under the race detector) can fail
// again before its next checkpoint completes and restart from the same one
// a hundred times over; a few failures show what the test needs to see.
func failEveryUpTo(n, most int64) (fail func(kv) error, failures *atomic.Int64) {
	var seen atomic.Int64
	failures = new(atomic.Int64)
	return func(kv) error {
		if seen.Add(1)%n == 0 && failures.Load() < most {
			failures.Add(1)
			return errors.New("injected failure")
		}
		return nil
	}, failures
}

// countJob sums kv values per key and window from a slow source, with a
// map that fails now and then, into a transactional collector.
func countJob(env *weir.Env, n int, fail func(kv) error) *weirtest.TxCollector[string] {
	out := weirtest.NewTxCollector[string]()
	countJobInto(env, n, fail, out)
	return out
}

func countJobInto(env *weir.Env, n int, fail func(kv) error, out *weirtest.TxCollector[string]) {
	src := timedSource(n, 10, func(i int) kv { return kv{string(rune('a' + i%5)), 1} })
	src.BatchSize = 20
	src.Delay = 2 * time.Millisecond
	s := weir.FromSource(env, src, weir.Name("source"))
	s = weir.Process(s, func(_ *weir.Context, v kv, out weir.Emitter[kv]) error {
		if err := fail(v); err != nil {
			return err
		}
		out.Emit(v)
		return nil
	}, weir.Name("flaky"))
	s = weir.Watermarks(s, weir.BoundedOutOfOrderness[kv](time.Second, nil), weir.Name("wm"))
	counts := weir.AggregateWindow(weir.Window(weir.KeyBy(s, func(v kv) string { return v.K }), window.Tumbling(10*time.Second)), count, describe, weir.Name("count"))
	weir.SinkTo(counts, out, weir.Name("sink"), weir.Parallelism(1))
}

func TestCheckpointsComplete(t *testing.T) {
	dir := t.TempDir()
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(30*time.Millisecond, dir))
	out := countJob(env, 3000, func(kv) error { return nil })
	if err := env.Execute(context.Background(), "ckpt"); err != nil {
		t.Fatal(err)
	}
	completed := 0
	for _, s := range env.CheckpointStats() {
		if s.Status == weir.CheckpointCompleted {
			completed++
			if len(s.Acks) == 0 || s.Size == 0 {
				t.Fatalf("checkpoint %d has no acknowledgements or size: %+v", s.ID, s)
			}
		}
	}
	if completed < 3 {
		t.Fatalf("%d checkpoints completed, want at least 3: %+v", completed, env.CheckpointStats())
	}
	aligned := false
	for _, s := range env.CheckpointStats() {
		if _, ok := s.Alignments["count (subtask 0)"]; ok {
			aligned = true
		}
	}
	if !aligned {
		t.Fatalf("no alignment time recorded for the window operator, which has two inputs: %+v", env.CheckpointStats())
	}
	dirs, _ := filepath.Glob(filepath.Join(dir, "chk-*", "_metadata"))
	if len(dirs) == 0 || len(dirs) > 3 {
		t.Fatalf("%d checkpoints kept, want 1..3 (RetainCheckpoints default)", len(dirs))
	}
	if got := len(out.Records()); got != 3000/100*5 {
		t.Fatalf("%d window results, want %d", got, 3000/100*5)
	}
}

// TestFailuresRestoreExactlyOnce fails an operator again and again; the job
// restarts from its latest checkpoint each time, and the committed output
// equals a run without failures.
func TestFailuresRestoreExactlyOnce(t *testing.T) {
	const n = 3000
	clean := weir.NewEnv(weir.Parallelism(2))
	want := countJob(clean, n, func(kv) error { return nil })
	if err := clean.Execute(context.Background(), "clean"); err != nil {
		t.Fatal(err)
	}

	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, t.TempDir()),
		weir.Restart(weir.FixedDelayRestart(-1, time.Millisecond)))
	fail, failures := failEvery(700)
	got := countJob(env, n, fail)
	if err := env.Execute(context.Background(), "flaky"); err != nil {
		t.Fatal(err)
	}
	if failures.Load() < 3 {
		t.Fatalf("only %d failures injected", failures.Load())
	}
	w, g := want.Records(), got.Records()
	slices.Sort(w)
	slices.Sort(g)
	if !slices.Equal(w, g) {
		t.Fatalf("after %d failures the output differs:\n got %d results\nwant %d results", failures.Load(), len(g), len(w))
	}
}

func TestCorruptLatestCheckpointFallsBack(t *testing.T) {
	dir := t.TempDir()
	env := weir.NewEnv(weir.Checkpoints(20*time.Millisecond, dir), weir.RetainCheckpoints(5))
	countJob(env, 1500, func(kv) error { return nil })
	if err := env.Execute(context.Background(), "a"); err != nil {
		t.Fatal(err)
	}
	metas, _ := filepath.Glob(filepath.Join(dir, "chk-*", "_metadata"))
	if len(metas) < 2 {
		t.Skipf("only %d checkpoints to fall back on", len(metas))
	}
	slices.Sort(metas)
	newest := metas[len(metas)-1]
	b, _ := os.ReadFile(newest)
	b[len(b)/2] ^= 0xff
	os.WriteFile(newest, b, 0o644)
	// A new run restores the previous checkpoint: the job's input is
	// finished there too, so it completes at once with the right output.
	env2 := weir.NewEnv(weir.Checkpoints(20*time.Millisecond, dir))
	countJob(env2, 1500, func(kv) error { return nil })
	if err := env2.Execute(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
}

// TestRescaleOnRestore stops a job at parallelism 2 after some checkpoints
// and restores it at parallelism 1 and 3: key groups and splits move to the
// new subtasks, and the committed output equals a clean run.
func TestRescaleOnRestore(t *testing.T) {
	const n = 3000
	clean := weir.NewEnv(weir.Parallelism(2))
	want := countJob(clean, n, func(kv) error { return nil })
	if err := clean.Execute(context.Background(), "clean"); err != nil {
		t.Fatal(err)
	}
	w := want.Records()
	slices.Sort(w)
	for _, p := range []int{1, 3} {
		dir := t.TempDir()
		var seen atomic.Int64
		first := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, dir), weir.Restart(weir.NoRestart()))
		out := countJob(first, n, func(kv) error {
			if seen.Add(1) == n/2 {
				return errors.New("stop here")
			}
			return nil
		})
		if err := first.Execute(context.Background(), "first"); err == nil {
			t.Fatal("the first run did not fail")
		}
		second := weir.NewEnv(weir.Parallelism(p), weir.Checkpoints(20*time.Millisecond, dir))
		// The same collector: committables the first run published and the
		// restored checkpoint still lists count once, as a real sink's do.
		countJobInto(second, n, func(kv) error { return nil }, out)
		if err := second.Execute(context.Background(), "second"); err != nil {
			t.Fatal(err)
		}
		got := out.Records()
		slices.Sort(got)
		if !slices.Equal(w, got) {
			for i := range w {
				if i < len(got) && w[i] != got[i] {
					t.Logf("first difference at %d: got %q want %q", i, got[i], w[i])
					break
				}
			}
			t.Fatalf("2 -> %d: output differs: got %d results, want %d", p, len(got), len(w))
		}
	}
}

// TestStopWithSavepointAndResume stops a running job with a savepoint and
// starts it again from the savepoint at another parallelism, with its
// checkpoints in another place: the output is that of one clean run.
func TestStopWithSavepointAndResume(t *testing.T) {
	const n = 3000
	clean := weir.NewEnv(weir.Parallelism(2))
	want := countJob(clean, n, func(kv) error { return nil })
	if err := clean.Execute(context.Background(), "clean"); err != nil {
		t.Fatal(err)
	}

	var seen atomic.Int64
	first := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(time.Hour, t.TempDir()))
	out := weirtest.NewTxCollector[string]()
	countJobInto(first, n, func(kv) error { seen.Add(1); return nil }, out)
	done := make(chan error, 1)
	go func() { done <- first.Execute(context.Background(), "first") }()
	for seen.Load() < n/3 {
		time.Sleep(time.Millisecond)
	}
	path, err := first.StopWithSavepoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Execute after StopWithSavepoint: %v", err)
	}
	if seen.Load() >= n {
		t.Fatal("the job finished before the savepoint: make the source slower")
	}
	if _, err := os.Stat(filepath.Join(path, "_metadata")); err != nil {
		t.Fatalf("savepoint at %s: %v", path, err)
	}

	second := weir.NewEnv(weir.Parallelism(3), weir.Checkpoints(time.Hour, t.TempDir()), weir.RestoreFrom(path))
	countJobInto(second, n, func(kv) error { return nil }, out)
	if err := second.Execute(context.Background(), "second"); err != nil {
		t.Fatal(err)
	}
	w, g := want.Records(), out.Records()
	slices.Sort(w)
	slices.Sort(g)
	if !slices.Equal(w, g) {
		t.Fatalf("output differs: got %d results, want %d", len(g), len(w))
	}
}

// TestEndOfInputPublishedOnceAfterALaterFailure lets one sink subtask reach
// the end of its input while the other still runs and then fails: the job
// restores its last checkpoint and replays the first subtask's tail, which
// must not have been published already.
func TestEndOfInputPublishedOnceAfterALaterFailure(t *testing.T) {
	const n = 2000
	var vals []int
	for i := range n {
		vals = append(vals, i)
	}
	var failed atomic.Bool
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, t.TempDir()),
		weir.Restart(weir.FixedDelayRestart(-1, time.Millisecond)))
	slow := weir.Map(weir.FromSource(env, weirtest.FromSlice(vals...)), func(v int) int {
		if v >= n/2 { // the second subtask's half: slow, and it fails once near its end
			time.Sleep(200 * time.Microsecond)
			if v == n-10 && failed.CompareAndSwap(false, true) {
				panic("injected failure after the other subtask ended")
			}
		}
		return v
	})
	got := weirtest.NewTxCollector[int]()
	weir.SinkTo(slow, got)
	if err := env.Execute(context.Background(), "tail"); err != nil {
		t.Fatal(err)
	}
	if !failed.Load() {
		t.Fatal("the failure was not injected")
	}
	recs := got.Records()
	slices.Sort(recs)
	if !slices.Equal(recs, vals) {
		missing := 0
		first := -1
		for _, v := range vals {
			if _, ok := slices.BinarySearch(recs, v); !ok {
				missing++
				if first < 0 {
					first = v
				}
			}
		}
		t.Fatalf("%d records published for %d inputs (%d missing from %d on): the end of the input was published twice or lost", len(recs), n, missing, first)
	}
}

// TestCheckpointsKeepCompletingWhileIdle runs an unbounded job for many
// checkpoints: every record must be committed by a checkpoint while the
// job runs, and checkpoints must go on completing once the source has
// nothing more to read. The coordinator tells every task, the source's
// enumerator included, when a checkpoint completes; a task that never takes
// these notifications once stopped all checkpoints after the sixteenth.
func TestCheckpointsKeepCompletingWhileIdle(t *testing.T) {
	const n = 100
	vals := make([]int, n)
	for i := range vals {
		vals[i] = i
	}
	slice := weirtest.FromSlice(vals...)
	slice.BatchSize, slice.Delay, slice.Forever = 1, 5*time.Millisecond, true
	src := &listeningSource{SliceSource: slice}
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(10*time.Millisecond, t.TempDir()))
	out := weirtest.NewTxCollector[int]()
	weir.SinkTo(weir.FromSource(env, src), out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx, "idle") }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("job: %v", err)
		}
	}()
	newest := func() int64 {
		var id int64
		for _, s := range env.CheckpointStats() {
			if s.Status == weir.CheckpointCompleted {
				id = max(id, s.ID)
			}
		}
		return id
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(out.Records()) < n {
		select {
		case err := <-done:
			done <- err // for the deferred wait
			t.Fatalf("the job ended: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d records committed after 60s; newest completed checkpoint %d", len(out.Records()), n, newest())
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Idle now: checkpoints must still complete, well past the sixteenth.
	after := max(newest(), 16) + 20
	for newest() < after {
		if time.Now().After(deadline) {
			t.Fatalf("newest completed checkpoint is %d after 60s, want %d: checkpoints stopped while the job was idle", newest(), after)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := out.Records(); len(got) != n {
		t.Fatalf("%d records committed, want %d", len(got), n)
	}
	if got := src.notified.Load(); got < 20 {
		t.Fatalf("the enumerator heard of checkpoint %d last, want one past the twentieth (newest completed: %d)", got, newest())
	}
}

// listeningSource is a SliceSource whose enumerator keeps the newest
// checkpoint it was told is complete.
type listeningSource struct {
	*weirtest.SliceSource[int]
	notified atomic.Int64
}

func (s *listeningSource) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	e, err := s.SliceSource.NewEnumerator(ctx)
	return &listeningEnumerator{Enumerator: e, src: s}, err
}

type listeningEnumerator struct {
	source.Enumerator
	src *listeningSource
}

func (e *listeningEnumerator) Snapshot() ([]source.Split, error) {
	return e.Enumerator.(source.SnapshottingEnumerator).Snapshot()
}

func (e *listeningEnumerator) NotifyCheckpointComplete(_ context.Context, id int64) error {
	e.src.notified.Store(id)
	return nil
}

// TestDamagedStateFileFallsBack damages a keyed-state file of the newest
// checkpoint of a killed job — truncated, one bit flipped, or deleted —
// and starts the job again: it restores the checkpoint before, and the
// committed output equals a clean run (contract 4).
func TestDamagedStateFileFallsBack(t *testing.T) {
	const n = 1500
	clean := weir.NewEnv()
	want := countJob(clean, n, func(kv) error { return nil })
	if err := clean.Execute(context.Background(), "clean"); err != nil {
		t.Fatal(err)
	}
	damages := map[string]func(path string) error{
		"truncated": func(p string) error {
			fi, err := os.Stat(p)
			if err != nil {
				return err
			}
			return os.Truncate(p, fi.Size()/2)
		},
		"bit flipped": func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x10
			return os.WriteFile(p, b, 0o644)
		},
		"deleted": os.Remove,
	}
	for name, damage := range damages {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first := weir.NewEnv(weir.Checkpoints(20*time.Millisecond, dir), weir.RetainCheckpoints(100))
			out := countJob(first, n, func(kv) error { return nil })
			go func() {
				// Kill the job once a few checkpoints completed.
				for ctx.Err() == nil {
					completed := 0
					for _, s := range first.CheckpointStats() {
						if s.Status == weir.CheckpointCompleted {
							completed++
						}
					}
					if completed >= 4 {
						cancel()
						return
					}
					time.Sleep(5 * time.Millisecond)
				}
			}()
			if err := first.Execute(ctx, "first"); !errors.Is(err, context.Canceled) {
				t.Fatalf("first run: %v, want it cancelled (make the source slower if it finished)", err)
			}
			chks, _ := filepath.Glob(filepath.Join(dir, "chk-*", "_metadata"))
			slices.Sort(chks)
			if len(chks) < 2 {
				t.Fatalf("%d checkpoints, want at least 2", len(chks))
			}
			if err := damage(filepath.Join(filepath.Dir(chks[len(chks)-1]), "count.0.keyed")); err != nil {
				t.Fatal(err)
			}

			// The job falls back to the checkpoint before the damaged one:
			// what the damaged one published is replayed, so cut the
			// output back to it, as weir's own file sink does itself.
			var before int64
			if _, err := fmt.Sscanf(filepath.Base(filepath.Dir(chks[len(chks)-2])), "chk-%d", &before); err != nil {
				t.Fatal(err)
			}
			out.CutBack(before)
			second := weir.NewEnv(weir.Checkpoints(20*time.Millisecond, dir), weir.Restart(weir.NoRestart()))
			countJobInto(second, n, func(kv) error { return nil }, out)
			if err := second.Execute(context.Background(), "second"); err != nil {
				t.Fatalf("second run: %v", err)
			}
			w, g := want.Records(), out.Records()
			slices.Sort(w)
			slices.Sort(g)
			if !slices.Equal(w, g) {
				t.Fatalf("output differs after the fallback: got %d results, want %d", len(g), len(w))
			}
		})
	}
}

// TestFinishedTasksKeepTheirStateInLaterCheckpoints runs a short bounded
// pipeline beside a long one: once the short one's keyed operator has
// ended its input, the checkpoints that the long one goes on taking hold
// the keyed operator's final state, every key group of it, marked
// finished (as Flink's FLIP-147 does), so that a restore of one of them
// finds the whole job.
func TestFinishedTasksKeepTheirStateInLaterCheckpoints(t *testing.T) {
	dir := t.TempDir()
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, dir), weir.RetainCheckpoints(1))
	short := weir.KeyBy(weir.FromSource(env, weirtest.FromSlice(1, 2, 3, 4, 5, 6), weir.Name("short")), func(v int) int { return v })
	sums := weir.ProcessKeyed(short, func(store *state.Store[int]) weir.KeyedProcessFunction[int, int, int] {
		return &summer{sum: state.ValueOf[int](store, "sum")}
	}, weir.Name("sums"))
	weir.SinkTo(sums, weirtest.NewTxCollector[int](), weir.Name("short-sink"))
	countJob(env, 1500, func(kv) error { return nil })
	if err := env.Execute(context.Background(), "both"); err != nil {
		t.Fatal(err)
	}
	_, m := newestMetadata(t, dir)
	found := operatorState(m, "sums")
	if found == nil {
		t.Fatalf("the newest checkpoint holds no state of the finished keyed operator: %+v", m.Operators)
	}
	if len(found.Subtasks) != 2 {
		t.Fatalf("the finished keyed operator has %d subtasks in the checkpoint, want 2", len(found.Subtasks))
	}
	for _, s := range found.Subtasks {
		if !s.Finished || s.KeyedFile == "" {
			t.Errorf("subtask %d of the finished keyed operator: finished %v, keyed file %q: want its final keyed state, marked finished", s.Index, s.Finished, s.KeyedFile)
		}
	}
}

// TestFinishedSourceIsNotReadAgain: a checkpoint taken after a source
// finished restores it as finished, and the restored run reads none of
// it again; also from a checkpoint that holds only its enumerator's state,
// as those written before finished readers kept theirs do.
func TestFinishedSourceIsNotReadAgain(t *testing.T) {
	for _, readers := range []bool{true, false} {
		t.Run(map[bool]string{true: "readers", false: "enumerator only"}[readers], func(t *testing.T) {
			dir := t.TempDir()
			var shortRead atomic.Int64
			job := func(env *weir.Env, fail func(kv) error) *weirtest.TxCollector[string] {
				short := weir.FromSource(env, weirtest.FromSlice(1, 2, 3, 4, 5, 6), weir.Name("short"), weir.UID("short"))
				short = weir.Map(short, func(v int) int { shortRead.Add(1); return v }, weir.Name("short-read"))
				weir.SinkTo(short, weirtest.NewCollector[int](), weir.Name("short-sink"))
				return countJob(env, 1500, fail)
			}
			first := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, dir), weir.Restart(weir.NoRestart()))
			job(first, func(kv) error {
				// Fail once a checkpoint completed that the short source's
				// tasks took no part in: they had finished. Until then,
				// each record waits a little, so that the long source
				// outlasts the checkpoints however slow the run.
				for _, s := range first.CheckpointStats() {
					if s.Status == weir.CheckpointCompleted && shortRead.Load() == 6 && !acked(s, "short (subtask") {
						return errors.New("stop here")
					}
				}
				time.Sleep(time.Millisecond)
				return nil
			})
			if err := first.Execute(context.Background(), "first"); err == nil {
				t.Fatal("the first run did not fail")
			}
			if readers {
				_, m := newestMetadata(t, dir)
				op := operatorState(m, "short")
				if op == nil || len(op.Subtasks) != 2 || !op.Subtasks[0].Finished || !op.Subtasks[1].Finished {
					t.Fatalf("the newest checkpoint holds %+v of the finished source's readers, want both subtasks, marked finished", op)
				}
			} else {
				dropOperator(t, dir, "short")
			}
			shortRead.Store(0)
			second := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, dir))
			out := job(second, func(kv) error { return nil })
			if err := second.Execute(context.Background(), "second"); err != nil {
				t.Fatal(err)
			}
			if n := shortRead.Load(); n != 0 {
				t.Fatalf("the restored run read %d records of the source that had finished before the checkpoint, want 0", n)
			}
			if len(out.Records()) == 0 {
				t.Fatal("the restored run's other source produced nothing: the test proves nothing")
			}
		})
	}
}

// acked reports whether a task whose name starts with prefix
// acknowledged checkpoint s.
func acked(s weir.CheckpointStat, prefix string) bool {
	for task := range s.Acks {
		if strings.HasPrefix(task, prefix) {
			return true
		}
	}
	return false
}

// newestMetadata returns the path and the metadata of the newest
// checkpoint in dir.
func newestMetadata(t *testing.T, dir string) (string, *snapshot.Metadata) {
	t.Helper()
	chks, _ := filepath.Glob(filepath.Join(dir, "chk-*", "_metadata"))
	if len(chks) == 0 {
		t.Fatal("no checkpoint completed")
	}
	slices.Sort(chks)
	b, err := os.ReadFile(chks[len(chks)-1])
	if err != nil {
		t.Fatal(err)
	}
	m, err := snapshot.DecodeMetadata(b)
	if err != nil {
		t.Fatal(err)
	}
	return chks[len(chks)-1], m
}

// operatorState returns the state of operator uid in m, or nil.
func operatorState(m *snapshot.Metadata, uid string) *snapshot.Operator {
	for i := range m.Operators {
		if m.Operators[i].UID == uid {
			return &m.Operators[i]
		}
	}
	return nil
}

// dropOperator removes the state of operator uid from the newest
// checkpoint in dir.
func dropOperator(t *testing.T, dir, uid string) {
	t.Helper()
	path, m := newestMetadata(t, dir)
	if operatorState(m, uid) == nil {
		t.Fatalf("the newest checkpoint holds no state of %q", uid)
	}
	m.Operators = slices.DeleteFunc(m.Operators, func(op snapshot.Operator) bool { return op.UID == uid })
	b, err := snapshot.EncodeMetadata(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// summer keeps a sum per key.
type summer struct{ sum state.Value[int] }

func (s *summer) ProcessElement(ctx *weir.KeyedContext[int, int], v int) error {
	n, _ := s.sum.Get()
	s.sum.Set(n + v)
	ctx.Emit(n + v)
	return nil
}

func (s *summer) OnTimer(*weir.KeyedContext[int, int], time.Time, weir.TimeDomain) error { return nil }
