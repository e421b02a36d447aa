package weir_test

import (
	"context"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
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
			records := make([]event, b.N)
			for i := range records {
				records[i] = event{user: int64(i % 1000), value: int64(i)}
			}
			env := weir.NewEnv(weir.Parallelism(p))
			src := weirtest.FromSlice(records...)
			src.BatchSize = 1024
			s := weir.FromSource(env, src)
			s = weir.Map(s, func(e event) event { e.value *= 2; return e })
			s = weir.Filter(s, func(e event) bool { return e.value%3 != 1 })
			keyed := weir.ProcessKeyed(weir.KeyBy(s, func(e event) int64 { return e.user }),
				func(*state.Store[int64]) weir.KeyedProcessFunction[int64, event, int64] { return passThrough{} })
			weir.SinkTo(keyed, sink.Func[int64](func(context.Context, int64) error { return nil }))
			b.ReportAllocs()
			b.ResetTimer()
			if err := env.Execute(context.Background(), "bench"); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

type passThrough struct{}

func (passThrough) ProcessElement(ctx *weir.KeyedContext[int64, int64], e event) error {
	ctx.Emit(e.value)
	return nil
}
func (passThrough) OnTimer(*weir.KeyedContext[int64, int64], time.Time, weir.TimeDomain) error {
	return nil
}
