package connectors_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

var bidSchema = types.Schema{
	{Name: "auction", Type: types.BigIntType},
	{Name: "bid", Type: types.Type{Kind: types.Record, Fields: []types.Field{
		{Name: "price", Type: types.DecimalType(10, 2)}, {Name: "at", Type: types.TimestampType}}}},
	{Name: "channel", Type: types.StringType},
}

// TestKafka writes JSON records to a topic over TCP with the real client,
// reads them as a table with a watermark per partition and writes them,
// exactly once, to another topic as csv; a second job reads that topic
// back. A record that is not JSON is a dead letter of the source.
func TestKafka(t *testing.T) {
	b, err := kafkatest.Start(kafkatest.Config{Partitions: 2, Topics: []string{"in", "out"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 20 {
		v := fmt.Sprintf(`{"auction": %d, "bid": {"price": "%d.25", "at": "2026-12-07 03:00:%02d"}, "channel": "c%d"}`, i, i, i, i%3)
		want = append(want, fmt.Sprintf("%d,%d.25,2026-12-07 03:00:%02d.000,c%d", i, i, i, i%3))
		if err := p.ProduceSync(ctx, &kgo.Record{Topic: "in", Partition: int32(i % 2), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.ProduceSync(ctx, &kgo.Record{Topic: "in", Value: []byte("not json")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	p.Close()

	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(50*time.Millisecond, "file://"+t.TempDir()))
	f, c := resolve(t, env, "bids", bidSchema, "connector", "kafka", "topic", "in", "properties.bootstrap.servers", b.Addr(),
		"format", "json", "scan.startup.mode", "earliest-offset", "scan.bounded.mode", "latest-offset")
	wm := &table.Watermark{Column: "bid.at", Time: func(r types.Row) int64 { return r.Values[2].Int() }}
	sc, err := f.(table.ScanFactory).Scan(table.ScanContext{Context: c, Watermark: wm})
	if err != nil {
		t.Fatal(err)
	}
	dead := weirtest.NewCollector[source.DeadLetter]()
	weir.SinkTo(sc.DeadLetters, dead)
	f, c = resolve(t, env, "copy", bidSchema, "connector", "kafka", "topic", "out", "properties.bootstrap.servers", b.Addr(),
		"format", "csv", "sink.delivery-guarantee", "exactly-once", "sink.transactional-id-prefix", "sql-test")
	if err := f.(table.SinkFactory).Sink(table.SinkContext{Context: c}, sc.Rows); err != nil {
		t.Fatal(err)
	}
	run(t, env)
	if d := dead.Records(); len(d) != 1 || string(d[0].Raw) != "not json" || d[0].Reason == "" {
		t.Fatalf("dead letters %+v", d)
	}

	rows, dead2 := scan(t, types.Schema{{Name: "line", Type: types.StringType}}, nil, "connector", "kafka", "topic", "out",
		"properties.bootstrap.servers", b.Addr(), "format", "raw", "properties.group.id", "g", "scan.startup.mode", "earliest-offset",
		"scan.bounded.mode", "latest-offset")
	var got []string
	for _, r := range rows {
		got = append(got, r.Values[0].Str())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || len(dead2) != 0 {
		t.Fatalf("read back\n%q\nwant\n%q", got, want)
	}
}

func TestKafkaOptions(t *testing.T) {
	env := weir.NewEnv()
	f, c := resolve(t, env, "k", bidSchema, "connector", "kafka", "topic", "in", "properties.bootstrap.servers", "127.0.0.1:9092",
		"format", "json", "scan.startup.mode", "group-offsets")
	_, err := f.(table.ScanFactory).Scan(table.ScanContext{Context: c})
	wantErr(t, err, "table k: option 'scan.startup.mode' is 'group-offsets' but the table sets no 'properties.group.id'")

	f, c = resolve(t, env, "k", bidSchema, "connector", "kafka", "topic", "in", "properties.bootstrap.servers", "127.0.0.1:9092",
		"format", "json", "security.sasl", "plain")
	_, err = f.(table.ScanFactory).Scan(table.ScanContext{Context: c})
	wantErr(t, err, "table k: options 'properties.bootstrap.servers', 'topic' and 'security.*'", "sasl")

	f, c = resolve(t, env, "k", bidSchema, "connector", "kafka", "topic", "in", "properties.bootstrap.servers", "127.0.0.1:9092",
		"format", "json", "sink.delivery-guarantee", "twice")
	err = f.(table.SinkFactory).Sink(table.SinkContext{Context: c}, weir.Stream[types.Row]{})
	wantErr(t, err, "option 'sink.delivery-guarantee' is 'twice': use exactly-once, at-least-once or none")
	err = f.(table.SinkFactory).Sink(table.SinkContext{Context: c, Updating: true}, weir.Stream[types.Row]{})
	wantErr(t, err, "connector 'kafka' only appends rows")
}
