package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/metrics"
	"github.com/weirstream/weir/weirtest"
)

// BenchmarkScrape scrapes a running job of parallelism 4 with ten chains
// of operators (40 subtasks): the whole handler (with the Go and process
// collectors) and the job's collector alone.
func BenchmarkScrape(b *testing.B) {
	src := weirtest.FromSlice(make([]int, 10_000)...)
	src.Forever = true
	env := weir.NewEnv(weir.Parallelism(4), weir.Checkpoints(100*time.Millisecond, b.TempDir()))
	s := weir.FromSource(env, src, weir.Name("source"))
	for i := range 8 {
		s = weir.Map(weir.Rebalance(s), func(v int) int { return v + 1 }, weir.Name(fmt.Sprintf("map %d", i)))
	}
	weir.SinkTo(weir.Rebalance(s), weirtest.NewCollector[int](), weir.Name("sink"))

	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx, "bench") }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			b.Errorf("Execute: %v", err)
		}
	}()
	for len(env.Metrics()) < 40 {
		time.Sleep(time.Millisecond)
	}

	b.Run("handler", func(b *testing.B) {
		h := metrics.Handler(env, "bench")
		req := httptest.NewRequest("GET", "/metrics", nil)
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatal(rec.Code)
			}
			b.SetBytes(int64(rec.Body.Len()))
			io.Copy(io.Discard, rec.Body)
		}
	})
	b.Run("collector", func(b *testing.B) {
		reg := prometheus.NewRegistry()
		reg.MustRegister(metrics.NewCollector(env, "bench"))
		for b.Loop() {
			if _, err := reg.Gather(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
