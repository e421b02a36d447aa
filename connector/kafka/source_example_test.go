package kafka_test

import (
	"context"
	"encoding/json"
	"log"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/source"
)

// A job that reads JSON page views from Kafka, with per-partition
// watermarks, exactly-once state through checkpoints, its offsets
// committed to a consumer group for lag monitoring, and the records it
// cannot decode set aside.
func ExampleNewSource() {
	type view struct {
		Page string    `json:"page"`
		At   time.Time `json:"at"`
	}
	cluster := kafka.Client{Brokers: []string{"localhost:9092"}} // or kafka.ParseURL(...).Client
	decode := func(r *kgo.Record) (view, error) {
		var v view
		err := json.Unmarshal(r.Value, &v)
		return v, err
	}
	src, err := kafka.NewSource(cluster, kafka.Topics("page-views"), decode,
		kafka.Group("pvuv"), kafka.Start(kafka.Committed()))
	if err != nil {
		log.Fatal(err) // every problem with the arguments and options, each with its fix
	}
	env := weir.NewEnv(weir.Parallelism(4), weir.Checkpoints(10*time.Second, "/var/lib/weir"))
	views := weir.FromSourceWithWatermarks(env, src, weir.BoundedOutOfOrderness(5*time.Second, func(v view) time.Time { return v.At }))
	weir.SinkTo(weir.SourceDeadLetters(views), sink.Func[source.DeadLetter](func(_ context.Context, d source.DeadLetter) error {
		log.Printf("bad record at %s offset %s: %s", d.Split, d.Position, d.Reason)
		return nil
	}))
	// ... window and count the views, then:
	_ = env.Execute(context.Background(), "page-views")
}
