package weir_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
)

// rule is a control record: set the factor called Name.
type rule struct {
	Name   string
	Factor int
}

// scaledSums sums the values of every key and 10 seconds of event time,
// and emits the sum times the broadcast factor when the watermark passes
// the 10 seconds.
type scaledSums struct{ sums state.Map[int64, int] }

func (f *scaledSums) ProcessElement(ctx *weir.KeyedContext[string, string], v kv, _ weir.ReadOnlyBroadcastState[string, int]) error {
	b := bucketOf(ctx)
	n, _ := f.sums.Get(b)
	f.sums.Put(b, n+v.V)
	ctx.RegisterEventTimer(time.UnixMilli(b + bucketMillis - 1))
	return nil
}

func (f *scaledSums) ProcessBroadcastElement(_ *weir.KeyedContext[string, string], r rule, bs *weir.BroadcastState[string, int]) error {
	bs.Put(r.Name, r.Factor)
	return nil
}

func (f *scaledSums) OnTimer(ctx *weir.KeyedContext[string, string], t time.Time, _ weir.TimeDomain, bs weir.ReadOnlyBroadcastState[string, int]) error {
	b := t.UnixMilli() + 1 - bucketMillis
	sum, _ := f.sums.Get(b)
	factor, _ := bs.Get("factor")
	ctx.Emit(fmt.Sprintf("%s %d %d", ctx.Key(), b, sum*factor))
	f.sums.Remove(b)
	return nil
}

// TestKeyedBroadcastStateRestores broadcasts the factor at the start, fails
// the job halfway and restores it at another parallelism. The restored
// run's control input sets another rule only, so its subtasks, the new
// ones included, know the factor from the checkpoint alone, and every
// result must still use it.
func TestKeyedBroadcastStateRestores(t *testing.T) {
	runs := 0
	checkJoinRestores(t, joinCase{
		name: "ProcessKeyedBroadcast",
		build: func(a, _ weir.Stream[kv]) weir.Stream[string] {
			r := rule{"factor", 3}
			if runs++; runs%3 == 0 { // the restored run, after a straight and a failing one
				r = rule{"other", 5}
			}
			rules := weir.FromSource(a.Env(), weirtest.FromTimed(weirtest.Timed[rule]{Value: r, Time: at(0)}),
				weir.Name("rules"), weir.Parallelism(1))
			return weir.ProcessKeyedBroadcast(weir.KeyBy(a, func(v kv) string { return v.K }), rules,
				func(s *state.Store[string]) weir.KeyedBroadcastProcessFunction[string, kv, rule, string, int, string] {
					return &scaledSums{sums: state.MapOf[int64, int](s, "sums")}
				}, weir.Name("scaled"))
		},
		exact: func(as, _ []weirtest.Timed[kv]) []string {
			type kb struct {
				k string
				b int64
			}
			sums := map[kb]int{}
			for _, a := range as {
				sums[kb{a.Value.K, a.Time.UnixMilli() / bucketMillis * bucketMillis}] += a.Value.V
			}
			var out []string
			for k, s := range sums {
				out = append(out, fmt.Sprintf("%s %d %d", k.k, k.b, 3*s))
			}
			return out
		},
	}, 1500)
}

// blocklist drops the words that the control stream blocked.
type blocklist struct{}

func (blocklist) ProcessElement(ctx *weir.Context, w string, bs weir.ReadOnlyBroadcastState[string, bool], out weir.Emitter[string]) error {
	if blocked, _ := bs.Get(w); !blocked {
		out.Emit(fmt.Sprintf("%s@%d", w, ctx.Subtask()))
	}
	return nil
}

func (blocklist) ProcessBroadcastElement(_ *weir.Context, w string, bs *weir.BroadcastState[string, bool], _ weir.Emitter[string]) error {
	bs.Put(w, true)
	return nil
}

// TestProcessBroadcast: every subtask of a non-keyed operator gets every
// control record.
func TestProcessBroadcast(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(3))
	control := weirtest.NewScript[string]().Record("spam", at(0)).Record("junk", at(0))
	words := weirtest.NewScript[string]().Wait(100 * time.Millisecond) // after the control records
	for range 10 {
		words.Record("spam", at(1)).Record("ham", at(1)).Record("junk", at(1)).Record("ham", at(1))
	}
	data := weir.Rebalance(weir.FromSource(env, words, weir.Parallelism(1)))
	out := weir.ProcessBroadcast(data, weir.FromSource(env, control, weir.Parallelism(1)), blocklist{})
	got := weirtest.NewCollector[string]()
	weir.SinkTo(out, got)
	if err := env.Execute(context.Background(), "blocklist"); err != nil {
		t.Fatal(err)
	}
	subtasks := map[string]bool{}
	for _, r := range got.Records() {
		w, sub, _ := strings.Cut(r, "@")
		if w != "ham" {
			t.Fatalf("%q passed the blocklist", r)
		}
		subtasks[sub] = true
	}
	if len(got.Records()) != 20 || len(subtasks) != 3 {
		t.Fatalf("%d words through %d subtasks, want 20 through 3: %q", len(got.Records()), len(subtasks), got.Records())
	}
}

// factorTagger emits, for every record, the factor its subtask knows.
type factorTagger struct{}

func (factorTagger) ProcessElement(ctx *weir.Context, _ kv, bs weir.ReadOnlyBroadcastState[string, int], out weir.Emitter[string]) error {
	f, _ := bs.Get("factor")
	out.Emit(fmt.Sprintf("%d@%d", f, ctx.Subtask()))
	return nil
}

func (factorTagger) ProcessBroadcastElement(_ *weir.Context, r rule, bs *weir.BroadcastState[string, int], _ weir.Emitter[string]) error {
	bs.Put(r.Name, r.Factor)
	return nil
}

// TestBroadcastStateRestores fails a non-keyed broadcast job halfway and
// restores it at parallelism 3 with a control input that sets another rule
// only: every subtask, the new one included, knows the factor from the
// checkpoint.
func TestBroadcastStateRestores(t *testing.T) {
	const n = 1500
	job := func(env *weir.Env, r rule, fail func() error) *weirtest.Collector[string] {
		as, _ := joinInputs(n)
		src := weirtest.FromTimed(as...)
		src.BatchSize, src.Delay = 20, 2*time.Millisecond
		data := weir.Process(weir.FromSource(env, src, weir.Name("data")), func(_ *weir.Context, v kv, out weir.Emitter[kv]) error {
			if err := fail(); err != nil {
				return err
			}
			out.Emit(v)
			return nil
		}, weir.Name("flaky"))
		rules := weir.FromSource(env, weirtest.FromTimed(weirtest.Timed[rule]{Value: r, Time: at(0)}), weir.Name("rules"), weir.Parallelism(1))
		got := weirtest.NewCollector[string]()
		weir.SinkTo(weir.ProcessBroadcast(weir.Rebalance(data, weir.Name("spread")), rules, factorTagger{}, weir.Name("tagger")), got, weir.Name("sink"))
		return got
	}
	dir := t.TempDir()
	var seen atomic.Int64
	var failed atomic.Bool
	first := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, dir), weir.Restart(weir.NoRestart()))
	job(first, rule{"factor", 3}, func() error {
		if seen.Add(1) < n/2 || failed.Load() {
			return nil
		}
		if completed(first) >= 2 {
			failed.Store(true)
			return errors.New("stop here")
		}
		time.Sleep(5 * time.Millisecond) // until two checkpoints completed
		return nil
	})
	if err := first.Execute(context.Background(), "first"); err == nil {
		t.Fatal("the first run did not fail")
	}
	second := weir.NewEnv(weir.Parallelism(3), weir.Checkpoints(20*time.Millisecond, dir))
	got := job(second, rule{"other", 5}, func() error { return nil })
	if err := second.Execute(context.Background(), "second"); err != nil {
		t.Fatal(err)
	}
	subtasks := map[string]bool{}
	for _, r := range got.Records() {
		f, sub, _ := strings.Cut(r, "@")
		if f != "3" {
			t.Fatalf("subtask %s saw factor %s after the restore, want 3", sub, f)
		}
		subtasks[sub] = true
	}
	if len(got.Records()) == 0 || len(subtasks) != 3 {
		t.Fatalf("%d records through %d subtasks after the restore: want some through each of 3", len(got.Records()), len(subtasks))
	}
}
