package cluster

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/runtime"
)

// countingHead is a chain that only counts its records.
type countingHead struct{ n *int }

func (h countingHead) Collect(*runtime.Record[string]) error { *h.n++; return nil }
func (h countingHead) Watermark(int64) error                 { return nil }
func (h countingHead) End() error                            { return nil }

// BenchmarkChannel measures records per second through one channel of an
// exchange, from a Writer to the receiving task's chain: in one process,
// and across two workers over the transport on loopback (encode, gRPC,
// decode, the receiver's channel). Records are 40-byte strings in batches
// of 512.
func BenchmarkChannel(b *testing.B) {
	opts := runtime.ExchangeOptions{BatchSize: 512, Capacity: 4, BufferTimeout: time.Hour}
	value := strings.Repeat("x", 40)
	run := func(b *testing.B, w *runtime.Writer[string], recv *runtime.Exchange[string], notify chan struct{}) {
		var got int
		task := &runtime.InputTask[string]{Gate: runtime.NewGate(recv.Inputs(0), notify), Head: countingHead{&got},
			Clock: runtime.NewClock(), Metrics: &runtime.Metrics{}}
		done := make(chan error, 1)
		b.ResetTimer()
		go func() { done <- task.Run(context.Background()) }()
		for i := range b.N {
			if err := w.Collect(&runtime.Record[string]{Value: value, Time: int64(i)}); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.End(); err != nil {
			b.Fatal(err)
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if got != b.N {
			b.Fatalf("%d records arrived, want %d", got, b.N)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	}

	b.Run("memory", func(b *testing.B) {
		notify := make(chan struct{}, 1)
		ex := runtime.NewExchange[string](runtime.Forward, 1, []chan struct{}{notify}, nil, opts)
		run(b, ex.Writer(context.Background(), 0, &runtime.Metrics{}), ex, notify)
	})

	b.Run("grpc", func(b *testing.B) {
		ctx := context.Background()
		srv, addr := startServer(b, ServerConfig{})
		srv.SetEpoch(1)
		p := newProcesses(opts)
		key := ChannelKey{Epoch: 1}
		if _, err := srv.Register(key, p.recv); err != nil {
			b.Fatal(err)
		}
		c := dial(b, addr, Security{})
		sent := make(chan error, 1)
		go func() {
			sent <- c.Channel(ctx, key, func(send, sendPrio func([]byte) error) error {
				return p.send.Outbound(ctx, 0, 0, send, sendPrio)
			})
		}()
		run(b, p.send.Writer(ctx, 0, &runtime.Metrics{}), p.recv, p.notify)
		if err := <-sent; err != nil {
			b.Fatal(err)
		}
	})
}
