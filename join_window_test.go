package weir_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

// TestWindowJoinOutOfOrderAndLate joins two scripted inputs in tumbling,
// sliding and session windows on both backends: out-of-order records on
// both sides, a window with one side only (no output), the windows' last
// millisecond as the time, and a late record that is dropped and counted.
func TestWindowJoinOutOfOrderAndLate(t *testing.T) {
	cases := []struct {
		name     string
		assigner window.Assigner
		want     []string
	}{
		{"tumbling", window.Tumbling(10 * time.Second),
			[]string{"a 1-100@9.999", "a 1-101@9.999", "a 2-102@19.999"}},
		{"sliding", window.Sliding(10*time.Second, 5*time.Second),
			[]string{"a 1-100@4.999", "a 1-100@9.999", "a 1-101@9.999", "a 2-101@14.999", "a 2-102@19.999", "b 3-103@14.999"}},
		{"session", window.Session(3 * time.Second),
			[]string{"a 1-100@5.999", "a 2-101@17.999", "a 2-102@17.999"}},
	}
	for _, c := range cases {
		for _, backend := range []string{"heap", "pebble"} {
			t.Run(c.name+"/"+backend, func(t *testing.T) {
				env := weir.NewEnv(weir.Parallelism(2), weir.StateBackend(backend, t.TempDir()))
				a := weirtest.NewScript[kv]().
					Record(kv{"a", 2}, at(12)).
					Record(kv{"a", 1}, at(1)). // out of order
					Record(kv{"b", 3}, at(5)).
					Wait(100*time.Millisecond).
					Watermark(at(20)).
					Wait(100*time.Millisecond).
					Record(kv{"a", 4}, at(8)) // late: its windows fired
				b := weirtest.NewScript[kv]().
					Record(kv{"a", 100}, at(3)).
					Record(kv{"a", 102}, at(15)).
					Record(kv{"a", 101}, at(9.999)). // out of order
					Record(kv{"b", 103}, at(11)).
					Watermark(at(20))
				byKey := func(v kv) string { return v.K }
				joined := weir.WindowJoin(weir.FromSource(env, a, weir.Parallelism(1)), weir.FromSource(env, b, weir.Parallelism(1)),
					byKey, byKey, c.assigner, pair)
				got := weirtest.NewCollector[string]()
				weir.SinkTo(joinedWithTime(joined), got)
				if err := env.Execute(context.Background(), "window join"); err != nil {
					t.Fatal(err)
				}
				r := got.Records()
				slices.Sort(r)
				if !slices.Equal(r, c.want) {
					t.Fatalf("results\n got %q\nwant %q", r, c.want)
				}
				if d := env.DroppedLateRecords(); d != 1 {
					t.Fatalf("%d late records dropped, want 1", d)
				}
			})
		}
	}
}

// exactWindowJoin joins the pairs of one key that share a window of a
// (non-merging) assigner, once per window they share.
func exactWindowJoin(a window.Assigner) func(as, bs []weirtest.Timed[kv]) []string {
	return func(as, bs []weirtest.Timed[kv]) []string {
		var out []string
		for _, x := range as {
			wx := a.Assign(x.Time.UnixMilli(), nil)
			for _, y := range bs {
				if x.Value.K != y.Value.K {
					continue
				}
				for _, w := range a.Assign(y.Time.UnixMilli(), nil) {
					if slices.Contains(wx, w) {
						out = append(out, pair(x.Value, y.Value))
					}
				}
			}
		}
		return out
	}
}

// exactSessionJoin cuts each key's records of both inputs into sessions
// (a record at t covers [t, t+gap); covers that meet merge) and joins the
// pairs of each session.
func exactSessionJoin(gap time.Duration) func(as, bs []weirtest.Timed[kv]) []string {
	type rec struct {
		t   int64
		two bool
		v   kv
	}
	return func(as, bs []weirtest.Timed[kv]) []string {
		byKey := map[string][]rec{}
		for _, x := range as {
			byKey[x.Value.K] = append(byKey[x.Value.K], rec{x.Time.UnixMilli(), false, x.Value})
		}
		for _, y := range bs {
			byKey[y.Value.K] = append(byKey[y.Value.K], rec{y.Time.UnixMilli(), true, y.Value})
		}
		var out []string
		flush := func(s []rec) {
			for _, x := range s {
				for _, y := range s {
					if !x.two && y.two {
						out = append(out, pair(x.v, y.v))
					}
				}
			}
		}
		for _, rs := range byKey {
			sort.Slice(rs, func(i, j int) bool { return rs[i].t < rs[j].t })
			var cur []rec
			var end int64
			for _, r := range rs {
				if len(cur) > 0 && r.t > end {
					flush(cur)
					cur = nil
				}
				cur = append(cur, r)
				end = max(end, r.t+gap.Milliseconds())
			}
			flush(cur)
		}
		return out
	}
}

// TestWindowJoinRestores: the windows' records of both inputs survive a
// failure and a restore at another parallelism, on both backends.
func TestWindowJoinRestores(t *testing.T) {
	for _, c := range []struct {
		name     string
		assigner window.Assigner
		exact    func(as, bs []weirtest.Timed[kv]) []string
	}{
		{"tumbling", window.Tumbling(2 * time.Second), exactWindowJoin(window.Tumbling(2 * time.Second))},
		{"sliding", window.Sliding(2*time.Second, time.Second), exactWindowJoin(window.Sliding(2*time.Second, time.Second))},
		{"session", window.Session(300 * time.Millisecond), exactSessionJoin(300 * time.Millisecond)},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkJoinRestores(t, joinCase{
				name: "WindowJoin " + c.name,
				build: func(a, b weir.Stream[kv]) weir.Stream[string] {
					byKey := func(v kv) string { return v.K }
					return weir.WindowJoin(a, b, byKey, byKey, c.assigner, pair, weir.Name("window-join"))
				},
				exact: c.exact,
			}, 1000)
		})
	}
}

// TestWindowJoinCleansUp: once the watermark passed its windows, the
// checkpoints hold none of their records.
func TestWindowJoinCleansUp(t *testing.T) {
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
			a := weir.Watermarks(weir.FromSource(env, srcA, weir.Parallelism(1)), weir.BoundedOutOfOrderness[kv](0, nil), weir.Parallelism(1))
			b := weir.Watermarks(weir.FromSource(env, srcB, weir.Parallelism(1)), weir.BoundedOutOfOrderness[kv](0, nil), weir.Parallelism(1))
			got := weirtest.NewCollector[string]()
			weir.SinkTo(weir.WindowJoin(a, b, byKey, byKey, window.Tumbling(time.Second), pair, weir.Name("join")), got)
			// Every record joins its twin: 100 results before the last window.
			runUntilCheckpointed(t, env, got, 100)
			held := keyedKeys(t, dir, "join")
			if len(held) == 0 {
				t.Fatal("the checkpoint holds no state of the join: the test reads the wrong state")
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
