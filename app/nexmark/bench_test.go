package nexmark

import (
	"testing"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
)

// BenchmarkQuery runs each query over 200,000 generated events into a
// discarding sink, with checkpoints every second, for CPU profiles:
//
//	go test -run '^$' -bench 'Query/q18$' -cpuprofile cpu.out ./app/nexmark
func BenchmarkQuery(b *testing.B) {
	const events = 200_000
	for _, q := range Queries() {
		b.Run(q.Name, func(b *testing.B) {
			for b.Loop() {
				src, err := nexmark.NewSource(nexmark.Events(events))
				if err != nil {
					b.Fatal(err)
				}
				env := weir.NewEnv(weir.Checkpoints(1e9, b.TempDir()))
				q.Discard(Events(env, src))
				if err := env.Execute(b.Context(), q.Name); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
