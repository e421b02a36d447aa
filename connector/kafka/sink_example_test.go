package kafka_test

import (
	"context"
	"encoding/json"
	"log"
	"time"

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
	out, err := kafka.NewSink(kafka.SinkConfig[Click]{
		Client:                kafka.Client{Brokers: []string{"127.0.0.1:9092"}},
		Topic:                 "clicks",
		Key:                   func(c Click) []byte { return []byte(c.User) },
		Value:                 func(c Click) ([]byte, error) { return json.Marshal(c) },
		TransactionalIDPrefix: "clicks-enricher", // unique per job writing to the topic
	})
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
