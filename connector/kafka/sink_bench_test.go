package kafka

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/weirtest"
)

// BenchmarkSinkDelivery writes the same records through the sink with each
// delivery, with a checkpoint every 50 ms, to the embedded broker over
// TCP: what exactly-once (a transaction per checkpoint and subtask, each
// on a new producer client, committed when the checkpoint completes)
// costs against at-least-once (a flush per checkpoint). One op is one job
// of 3,000,000 records at parallelism 2.
//
//	go test -run '^$' -bench BenchmarkSinkDelivery -benchtime 3x ./connector/kafka/
func BenchmarkSinkDelivery(b *testing.B) {
	const n = 3_000_000
	broker := sinkBroker(b, "bench", 4)
	defer broker.Close()
	vals := sinkSeq(n)
	for _, d := range []Guarantee{AtLeastOnce, ExactlyOnce} {
		b.Run(d.String(), func(b *testing.B) {
			var checkpoints int
			for i := 0; b.Loop(); i++ {
				snk, err := NewSink(Client{Brokers: []string{broker.Addr()}}, "bench",
					func(v int) (*kgo.Record, error) { return &kgo.Record{Value: strconv.AppendInt(nil, int64(v), 10)}, nil },
					Delivery(d), TransactionalIDPrefix("bench-"+strconv.Itoa(i)))
				if err != nil {
					b.Fatal(err)
				}
				env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(50*time.Millisecond, b.TempDir()))
				weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(vals...)), snk)
				if err := env.Execute(context.Background(), "bench"); err != nil {
					b.Fatal(err)
				}
				for _, s := range env.CheckpointStats() {
					if s.Status == "completed" {
						checkpoints++
					}
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(checkpoints)/float64(b.N), "checkpoints/op")
		})
	}
}
