package weir_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/weirtest"
)

// joinedWithTime renders the join's output with its event time.
func joinedWithTime(s weir.Stream[string]) weir.Stream[string] {
	return weir.Process(s, func(ctx *weir.Context, v string, out weir.Emitter[string]) error {
		ts, _ := ctx.Timestamp()
		out.Emit(fmt.Sprintf("%s@%g", v, ts.Sub(t0).Seconds()))
		return nil
	})
}

func pair(x, y kv) string { return fmt.Sprintf("%s %d-%d", x.K, x.V, y.V) }

// TestIntervalJoinOutOfOrderAndLate checks the bounds (both included, the
// lower one negative), out-of-order input on both sides, the time of the
// joined records (the later of the two), and a late record that joins
// nothing although its partner is still kept.
func TestIntervalJoinOutOfOrderAndLate(t *testing.T) {
	for _, backend := range []string{"heap", "pebble"} {
		t.Run(backend, func(t *testing.T) {
			env := weir.NewEnv(weir.Parallelism(2), weir.StateBackend(backend, t.TempDir()))
			a := weirtest.NewScript[kv]().
				Record(kv{"a", 2}, at(20)).
				Record(kv{"a", 1}, at(10)). // out of order
				Record(kv{"b", 3}, at(10)).
				Wait(100*time.Millisecond).
				Watermark(at(30)).
				Wait(100*time.Millisecond).
				Record(kv{"a", 4}, at(29)) // late: 106 at 31 would match it
			b := weirtest.NewScript[kv]().
				Record(kv{"a", 100}, at(9)).  // 10-1: joins 1
				Record(kv{"a", 102}, at(13)). // 10+3: too far from 1
				Record(kv{"a", 101}, at(12)). // 10+2: joins 1
				Record(kv{"a", 103}, at(19)). // 20-1: joins 2
				Record(kv{"b", 104}, at(11)). // joins 3
				Record(kv{"b", 99}, at(8.999)).
				Record(kv{"a", 106}, at(31)).
				Watermark(at(30))
			byKey := func(v kv) string { return v.K }
			joined := weir.IntervalJoin(weir.FromSource(env, a, weir.Parallelism(1)), weir.FromSource(env, b, weir.Parallelism(1)),
				byKey, byKey, -time.Second, 2*time.Second, pair)
			got := weirtest.NewCollector[string]()
			weir.SinkTo(joinedWithTime(joined), got)
			if err := env.Execute(context.Background(), "interval"); err != nil {
				t.Fatal(err)
			}
			r := got.Records()
			slices.Sort(r)
			want := []string{"a 1-100@10", "a 1-101@12", "a 2-103@20", "b 3-104@11"}
			if !slices.Equal(r, want) {
				t.Fatalf("results\n got %q\nwant %q", r, want)
			}
			if d := env.DroppedLateRecords(); d != 1 {
				t.Fatalf("%d late records dropped, want 1", d)
			}
		})
	}
}

// TestIntervalJoinRestores: the buffered records of both sides survive a
// failure and a restore at another parallelism, on both backends.
func TestIntervalJoinRestores(t *testing.T) {
	lower, upper := -500*time.Millisecond, 250*time.Millisecond
	checkJoinRestores(t, joinCase{
		name: "IntervalJoin",
		build: func(a, b weir.Stream[kv]) weir.Stream[string] {
			byKey := func(v kv) string { return v.K }
			return weir.IntervalJoin(a, b, byKey, byKey, lower, upper, pair, weir.Name("interval-join"))
		},
		exact: func(as, bs []weirtest.Timed[kv]) []string {
			var out []string
			for _, x := range as {
				for _, y := range bs {
					if x.Value.K == y.Value.K && !y.Time.Before(x.Time.Add(lower)) && !y.Time.After(x.Time.Add(upper)) {
						out = append(out, pair(x.Value, y.Value))
					}
				}
			}
			return out
		},
	}, 1000)
}

// TestIntervalJoinRejectsBadBounds: a lower bound above the upper one is
// a configuration error.
func TestIntervalJoinRejectsBadBounds(t *testing.T) {
	env := weir.NewEnv()
	s := weir.FromSource(env, weirtest.FromSlice(kv{"a", 1}))
	byKey := func(v kv) string { return v.K }
	weir.SinkTo(weir.IntervalJoin(s, s, byKey, byKey, time.Second, -time.Second, pair), weirtest.NewCollector[string]())
	err := env.Execute(context.Background(), "bad")
	if err == nil || !strings.Contains(err.Error(), "lower bound") {
		t.Fatalf("err = %v, want one about the lower bound", err)
	}
}

// keyedKeys returns, per state name, the keys that the newest checkpoint
// in dir holds of operator uid.
func keyedKeys(t *testing.T, dir, uid string) map[string][]string {
	t.Helper()
	metas, _ := filepath.Glob(filepath.Join(dir, "chk-*", "_metadata"))
	if len(metas) == 0 {
		t.Fatal("no checkpoint")
	}
	slices.Sort(metas)
	b, err := os.ReadFile(metas[len(metas)-1])
	if err != nil {
		t.Fatal(err)
	}
	m, err := snapshot.DecodeMetadata(b)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, op := range m.Operators {
		if op.UID != uid {
			continue
		}
		for _, sub := range op.Subtasks {
			if sub.KeyedFile == "" {
				continue
			}
			f, err := os.Open(filepath.Join(filepath.Dir(metas[len(metas)-1]), filepath.FromSlash(sub.KeyedFile)))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := snapshot.NewKeyedReader(f, sub.KeyedSize, sub.KeyGroups, sub.GroupOffsets)
			if err != nil {
				t.Fatal(err)
			}
			for g := sub.KeyGroups[0]; g < sub.KeyGroups[1]; g++ {
				for e, err := range r.Group(g) {
					if err != nil {
						t.Fatal(err)
					}
					out[e.State] = append(out[e.State], string(e.Key))
				}
			}
		}
	}
	return out
}

// runUntilCheckpointed runs env until got holds n records and a checkpoint
// completed after that, then cancels it.
func runUntilCheckpointed(t *testing.T, env *weir.Env, got *weirtest.Collector[string], n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx, "cleanup") }()
	completed := func() int {
		c := 0
		for _, s := range env.CheckpointStats() {
			if s.Status == weir.CheckpointCompleted {
				c++
			}
		}
		return c
	}
	deadline := time.Now().Add(20 * time.Second)
	for got.Len() < n && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Two more: the first may have started before the last records.
	for before := completed(); completed() < before+2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if got.Len() < n {
		t.Fatalf("%d results, want %d", got.Len(), n)
	}
}

// TestIntervalJoinCleansUp runs a join over an input that stays open: once
// the watermark passed the records' intervals, the checkpoints hold none
// of their keys, only those of the newest records.
func TestIntervalJoinCleansUp(t *testing.T) {
	for _, backend := range []string{"heap", "pebble"} {
		t.Run(backend, func(t *testing.T) {
			dir := t.TempDir()
			env := weir.NewEnv(weir.Parallelism(2), weir.StateBackend(backend, t.TempDir()),
				weir.Checkpoints(10*time.Millisecond, dir), weir.WatermarkInterval(5*time.Millisecond))
			var as, bs []weirtest.Timed[kv]
			for i := range 100 {
				k := string(rune('a' + i%5))
				as = append(as, weirtest.Timed[kv]{Value: kv{k, i}, Time: at(float64(i) / 10)})
				bs = append(bs, weirtest.Timed[kv]{Value: kv{k, 1000 + i}, Time: at(float64(i) / 10)})
			}
			as = append(as, weirtest.Timed[kv]{Value: kv{"z", 1}, Time: at(100)})
			bs = append(bs, weirtest.Timed[kv]{Value: kv{"z", 2}, Time: at(100)})
			srcA, srcB := weirtest.FromTimed(as...), weirtest.FromTimed(bs...)
			srcA.Forever, srcB.Forever = true, true
			byKey := func(v kv) string { return v.K }
			// One watermark subtask per input: a second one would see no
			// record at 100s and hold the watermark back.
			a := weir.Watermarks(weir.FromSource(env, srcA, weir.Parallelism(1)), weir.BoundedOutOfOrderness[kv](0, nil), weir.Parallelism(1))
			b := weir.Watermarks(weir.FromSource(env, srcB, weir.Parallelism(1)), weir.BoundedOutOfOrderness[kv](0, nil), weir.Parallelism(1))
			got := weirtest.NewCollector[string]()
			weir.SinkTo(weir.IntervalJoin(a, b, byKey, byKey, 0, 0, pair, weir.Name("join")), got)
			runUntilCheckpointed(t, env, got, 101)
			held := keyedKeys(t, dir, "join")
			if len(held["map:interval-join/left"]) == 0 {
				t.Fatalf("the checkpoint holds no records of the join at all (%v): the test reads the wrong state", held)
			}
			for name, keys := range held {
				for _, k := range keys {
					if !strings.HasSuffix(k, "z") {
						t.Errorf("state %q still holds key %q behind the watermark", name, k)
					}
				}
			}
		})
	}
}
