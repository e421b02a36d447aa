package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirstream/weir/connector/kafka/kafkatest"
)

// TestConsumeIdleCountsFromTheBrokersAnswer: weir consume --idle counts
// the time without records from when the brokers first answer, not from
// its start. Here the broker answers metadata requests only after 3 s, as
// a slow login or a loaded machine may: the consumer must still print
// the topic's records rather than exit at once with none after its 1 s.
func TestConsumeIdleCountsFromTheBrokersAnswer(t *testing.T) {
	t.Parallel()
	b, err := kafkatest.Start(kafkatest.Config{Partitions: 1, Topics: []string{"windows"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := []string{"a", "b", "c"}
	var recs []*kgo.Record
	for _, v := range want {
		recs = append(recs, &kgo.Record{Topic: "windows", Value: []byte(v)})
	}
	if err := b.Produce(t.Context(), recs...); err != nil {
		t.Fatal(err)
	}

	const hold = 3 * time.Second
	released := time.Now().Add(hold)
	b.Delay(func(req kmsg.Request) time.Duration {
		if req.Key() != int16(kmsg.Metadata) {
			return 0
		}
		return time.Until(released)
	})

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	r := runCtx(ctx, "consume", "--topic", "kafka://"+b.Addr()+"/windows", "--idle", "1s")
	if r.code != exitOK || r.stdout != strings.Join(want, "\n")+"\n" {
		t.Fatalf("weir consume --idle 1s: exit %d, printed %q, want %q\n%s", r.code, r.stdout, want, r.stderr)
	}
}
