package kafka_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/hybrid"
	"github.com/weirstream/weir/weirtest"
)

// TestHybridFileBacklogThenKafka reads a file backlog, then the topic from
// the time the backlog ends: the topic's records from before that time
// (already in the backlog) are not read again, the later ones are.
func TestHybridFileBacklogThenKafka(t *testing.T) {
	b, err := kafkatest.Start(kafkatest.Config{Partitions: 2, Topics: []string{"access"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	dir := t.TempDir()
	backlog := filepath.Join(dir, "access.log")
	var lines []string
	for i := range 50 {
		lines = append(lines, fmt.Sprint("backlog-", i))
	}
	if err := os.WriteFile(backlog, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	if err := os.Chtimes(backlog, end, end); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	var want []string
	for i := range 40 {
		ts, v := end.Add(-time.Duration(40-i)*time.Second), fmt.Sprint("shipped-before-", i) // also in the backlog
		if i >= 20 {
			ts, v = end.Add(time.Duration(i)*time.Second), fmt.Sprint("live-", i)
			want = append(want, v)
		}
		recs = append(recs, &kgo.Record{Topic: "access", Partition: int32(i % 2), Value: []byte(v), Timestamp: ts})
	}
	if err := b.Produce(context.Background(), recs...); err != nil {
		t.Fatal(err)
	}
	want = append(want, lines...)

	files, err := file.NewSource(backlog)
	if err != nil {
		t.Fatal(err)
	}
	src, err := hybrid.New[string](files, hybrid.ThenFunc(source.Bounded, func(prev hybrid.End) (source.Source[string], error) {
		if !prev.Timestamp.Equal(end) {
			return nil, fmt.Errorf("the backlog ended at %v, want %v", prev.Timestamp, end)
		}
		return kafka.NewSource(kafka.Client{Brokers: []string{b.Addr()}}, kafka.Topics("access"), kafka.StringValue,
			kafka.Start(kafka.AtTime(prev.Timestamp)), kafka.Bounded())
	}))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv(weir.Parallelism(2))
	got := weirtest.NewCollector[string]()
	weir.SinkTo(weir.FromSource(env, src), got)
	if err := env.Execute(context.Background(), "hybrid"); err != nil {
		t.Fatal(err)
	}
	g := got.Records()
	slices.Sort(g)
	slices.Sort(want)
	if !slices.Equal(g, want) {
		t.Fatalf("read %d records %v…, want the backlog's %d and the %d later ones", len(g), g[:min(5, len(g))], len(lines), 20)
	}
}
