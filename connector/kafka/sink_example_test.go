package kafka_test

import (
	"context"
	"encoding/json"
	"log"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/weirtest"
)

// A job that writes JSON records to Kafka exactly once: each checkpoint's
// records become visible to read_committed consumers when the checkpoint
// completes. Records are keyed by user, so one user's clicks stay in
// order in one partition.
func ExampleNewSink() {
	type Click struct {
		User string `json:"user"`
		Page string `json:"page"`
	}
	cluster := kafka.Client{Brokers: []string{"127.0.0.1:9092"}}
	record := func(c Click) (*kgo.Record, error) {
		v, err := json.Marshal(c)
		return &kgo.Record{Key: []byte(c.User), Value: v}, err
	}
	out, err := kafka.NewSink(cluster, "clicks", record,
		kafka.TransactionalIDPrefix("clicks-enricher")) // unique per job writing to the topic
	if err != nil {
		log.Fatal(err)
	}
	env := weir.NewEnv(weir.Checkpoints(5*time.Second, "/var/lib/weir/clicks"))
	clicks := weir.FromSource(env, weirtest.FromSlice(Click{"ann", "/"}, Click{"bob", "/about"}))
	weir.SinkTo(clicks, out)
	if err := env.Execute(context.Background(), "clicks"); err != nil {
		log.Fatal(err)
	}
}
