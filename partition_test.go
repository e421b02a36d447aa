package weir_test

import (
	"context"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
)

type placed struct{ key, subtask int }

type wherePlaced struct{}

func (wherePlaced) ProcessElement(ctx *weir.KeyedContext[int, placed], v int) error {
	ctx.Emit(placed{ctx.Key(), ctx.Subtask()})
	return nil
}
func (wherePlaced) OnTimer(*weir.KeyedContext[int, placed], time.Time, weir.TimeDomain) error {
	return nil
}

// TestKeysGoToTheirKeyGroupsSubtask checks that every record of a key is
// processed by the subtask whose key-group range holds the key's group.
func TestKeysGoToTheirKeyGroupsSubtask(t *testing.T) {
	const p, maxP = 3, 16
	env := weir.NewEnv(weir.Parallelism(p), weir.MaxParallelism(maxP))
	src := weir.FromSource(env, weirtest.FromSlice(append(ints(500), ints(500)...)...))
	out := weir.ProcessKeyed(weir.KeyBy(src, func(v int) int { return v }),
		func(*state.Store[int]) weir.KeyedProcessFunction[int, int, placed] { return wherePlaced{} })
	got := weirtest.NewCollector[placed]()
	weir.SinkTo(out, got)
	if err := env.Execute(context.Background(), "placement"); err != nil {
		t.Fatal(err)
	}
	hash, _ := keygroup.Hasher[int]()
	seen := map[int]int{}
	for _, r := range got.Records() {
		g := keygroup.Of(hash(r.key), maxP)
		if want := keygroup.Subtask(g, maxP, p); r.subtask != want {
			t.Fatalf("key %d (group %d) ran in subtask %d, want %d", r.key, g, r.subtask, want)
		}
		if !keygroup.For(r.subtask, maxP, p).Contains(g) {
			t.Fatalf("key %d: group %d outside subtask %d's range", r.key, g, r.subtask)
		}
		seen[r.subtask]++
	}
	if len(got.Records()) != 1000 || len(seen) != p {
		t.Fatalf("%d records over %d subtasks, want 1000 over %d", len(got.Records()), len(seen), p)
	}
}

func TestBroadcastAndRebalance(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(3))
	src := weir.FromSource(env, weirtest.FromSlice(ints(90)...), weir.Parallelism(1))
	all := weir.Process(weir.Broadcast(src), func(ctx *weir.Context, v int, out weir.Emitter[int]) error {
		out.Emit(ctx.Subtask())
		return nil
	})
	spread := weir.Process(weir.Rebalance(src), func(ctx *weir.Context, v int, out weir.Emitter[int]) error {
		out.Emit(ctx.Subtask())
		return nil
	})
	gotAll, gotSpread := weirtest.NewCollector[int](), weirtest.NewCollector[int]()
	weir.SinkTo(all, gotAll)
	weir.SinkTo(spread, gotSpread)
	if err := env.Execute(context.Background(), "partitioning"); err != nil {
		t.Fatal(err)
	}
	count := func(rs []int) map[int]int {
		m := map[int]int{}
		for _, r := range rs {
			m[r]++
		}
		return m
	}
	if c := count(gotAll.Records()); len(c) != 3 || c[0] != 90 || c[1] != 90 || c[2] != 90 {
		t.Fatalf("broadcast: records per subtask %v, want 90 each", c)
	}
	if c := count(gotSpread.Records()); len(c) != 3 || c[0] != 30 || c[1] != 30 || c[2] != 30 {
		t.Fatalf("rebalance: records per subtask %v, want 30 each", c)
	}
}
