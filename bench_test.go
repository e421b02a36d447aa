package weir_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

type event struct {
	user  int64
	value int64
}

// BenchmarkMapFilterKeyBy measures the engine's per-record cost on the
// Map -> Filter -> KeyBy -> keyed function path; b.N is the record count, so
// allocs/op is allocations per record (the target is 0 in steady state).
func BenchmarkMapFilterKeyBy(b *testing.B) {
	for _, p := range []int{1, 2} {
		b.Run(map[int]string{1: "p1", 2: "p2"}[p], func(b *testing.B) {
			executeRecords(b, mapFilterKeyBy(p, b.N))
		})
	}
}

// mapFilterKeyBy returns the job of BenchmarkMapFilterKeyBy at parallelism
// p over n records.
func mapFilterKeyBy(p, n int) *weir.Env {
	env := weir.NewEnv(weir.Parallelism(p))
	s := events(env, n)
	s = weir.Map(s, func(e event) event { e.value *= 2; return e })
	s = weir.Filter(s, func(e event) bool { return e.value%3 != 1 })
	keyed := weir.ProcessKeyed(weir.KeyBy(s, func(e event) int64 { return e.user }),
		func(*state.Store[int64]) weir.KeyedProcessFunction[int64, event, int64] { return passThrough{} })
	weir.SinkTo(keyed, sink.Func[int64](func(context.Context, int64) error { return nil }))
	return env
}

// events is a source of n events in env: 1,000 users in turn, values 0 to
// n-1, read in batches of 1,024.
func events(env *weir.Env, n int) weir.Stream[event] {
	records := make([]event, n)
	for i := range records {
		records[i] = event{user: int64(i % 1000), value: int64(i)}
	}
	src := weirtest.FromSlice(records...)
	src.BatchSize = 1024
	return weir.FromSource(env, src)
}

// TestMapFilterKeyByAllocatesNothingPerRecord keeps BenchmarkMapFilterKeyBy's
// promise: the same job over ten times the records makes no more
// allocations than a fixed cost (the job's set-up, batches, the keys'
// state) and well under one per hundred records.
func TestMapFilterKeyByAllocatesNothingPerRecord(t *testing.T) {
	for _, p := range []int{1, 2} {
		if perRecord := allocationsPerRecord(t, func(n int) *weir.Env { return mapFilterKeyBy(p, n) }); perRecord > 0.01 {
			t.Errorf("p%d: %.3f allocations a record, want 0", p, perRecord)
		}
	}
}

// allocationsPerRecord runs the job that job builds over 20,000 and over
// 200,000 records and returns the allocations each record added: what the
// job allocates once (set-up, batches, keys' state) cancels out.
func allocationsPerRecord(t *testing.T, job func(n int) *weir.Env) float64 {
	t.Helper()
	mallocs := func(n int) uint64 {
		env := job(n)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		if err := env.Execute(t.Context(), "allocs"); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&m1)
		return m1.Mallocs - m0.Mallocs
	}
	const small, large = 20_000, 200_000
	few, many := mallocs(small), mallocs(large)
	return (float64(many) - float64(few)) / (large - small)
}

// TestWindowWithValueAccumulatorsAllocatesNothingPerRecord keeps
// AggregateWindowAcc's promise of no allocation per record with a plain
// value accumulator, with and without pre-aggregation: a window operator
// that let the window function see the address of a local moved every
// accumulator to the heap, one allocation a record. 1,000 int64 keys, a
// record a millisecond, ten-second windows: what a window costs (its
// pane, its results) is a few allocations per 10,000 records.
func TestWindowWithValueAccumulatorsAllocatesNothingPerRecord(t *testing.T) {
	agg := weir.AggregateFunc[event, int64, int64]{
		Init:  func() int64 { return 0 },
		Add:   func(a int64, e event) int64 { return a + e.value },
		Merge: func(a, b int64) int64 { return a + b },
	}
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	for _, preAgg := range []int{weir.DefaultPreAggregate, 0} {
		for _, p := range []int{1, 2} {
			perRecord := allocationsPerRecord(t, func(n int) *weir.Env {
				env := weir.NewEnv(weir.Parallelism(p))
				s := weir.Watermarks(events(env, n), weir.BoundedOutOfOrderness(0, func(e event) time.Time {
					return start.Add(time.Duration(e.value) * time.Millisecond)
				}))
				w := weir.Window(weir.KeyBy(s, func(e event) int64 { return e.user }), window.Tumbling(10*time.Second), weir.PreAggregate(preAgg))
				sums := weir.AggregateWindowAcc(w, agg, func(_ int64, _ window.Window, sum *int64, out weir.Emitter[int64]) error {
					out.Emit(*sum)
					return nil
				})
				weir.SinkTo(sums, sink.Func[int64](func(context.Context, int64) error { return nil }))
				return env
			})
			if perRecord > 0.05 {
				t.Errorf("pre-aggregation %d, p%d: %.3f allocations a record, want 0", preAgg, p, perRecord)
			}
		}
	}
}

// executeRecords runs a benchmark's job of b.N records and reports its
// allocations, its records per second and its CPU time per record.
func executeRecords(b *testing.B, env *weir.Env) {
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	if err := env.Execute(context.Background(), "bench"); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N), "cpu-ns/record")
}

// cpuTime returns the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type passThrough struct{}

func (passThrough) ProcessElement(ctx *weir.KeyedContext[int64, int64], e event) error {
	ctx.Emit(e.value)
	return nil
}
func (passThrough) OnTimer(*weir.KeyedContext[int64, int64], time.Time, weir.TimeDomain) error {
	return nil
}

type hit struct {
	client string
	at     time.Time
}

type views struct{ n int64 }

// BenchmarkWindowCount measures a keyed event-time window count with string
// keys, as PV/UV's count of visitors: 5,000 or 50,000 keys drawn by Zipf's
// law, a record every millisecond, one-minute tumbling windows,
// pre-aggregated (the default) or not; b.N is the record count, so
// allocs/op is allocations per record. cpu-ns/record is the process's CPU
// time per record, over every core: pre-aggregation moves work from the
// window's subtask into the source's, so records/s and CPU can move apart.
// With 50,000 keys, too few repeat within the pre-aggregation bound for
// folding to pay, and the writers step aside.
func BenchmarkWindowCount(b *testing.B) {
	count := weir.AggregateFunc[hit, *views, int64]{
		Init:   func() *views { return &views{} },
		Add:    func(a *views, _ hit) *views { a.n++; return a },
		Result: func(a *views) int64 { return a.n },
		Merge:  func(a, b *views) *views { a.n += b.n; return a },
	}
	for _, keys := range []int{5_000, 50_000} {
		clients := make([]string, keys)
		for i := range clients {
			clients[i] = fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)
		}
		for _, c := range []struct {
			name   string
			preAgg int
		}{{"preagg", weir.DefaultPreAggregate}, {"records", 0}} {
			b.Run(fmt.Sprintf("keys=%d/%s", keys, c.name), func(b *testing.B) {
				start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
				records := make([]hit, b.N)
				rng := rand.New(rand.NewPCG(1, 2))
				zipf := rand.NewZipf(rng, 1.1, 8, uint64(len(clients)-1))
				for i := range records {
					records[i] = hit{client: clients[zipf.Uint64()], at: start.Add(time.Duration(i) * time.Millisecond)}
				}
				env := weir.NewEnv()
				src := weirtest.FromSlice(records...)
				src.BatchSize = 1024
				s := weir.Watermarks(weir.FromSource(env, src), weir.BoundedOutOfOrderness(0, func(h hit) time.Time { return h.at }))
				w := weir.Window(weir.KeyBy(s, func(h hit) string { return h.client }), window.Tumbling(time.Minute), weir.PreAggregate(c.preAgg))
				weir.SinkTo(weir.Aggregate(w, count), sink.Func[int64](func(context.Context, int64) error { return nil }))
				executeRecords(b, env)
			})
		}
	}
}
