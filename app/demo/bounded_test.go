package demo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/app/demo"
	"github.com/weirstream/weir/app/pvuv/dashboard"
	"github.com/weirstream/weir/connector/redis"
)

// TestDemoStaysBounded runs the embedded pipeline (broker and Redis in
// the process) at a high rate with a retention of two seconds and windows
// that live three: the broker deletes records (the start offsets of the
// access topic and of the shipper's positions topic advance, never past
// what the job committed), the first windows expire from Redis while
// newer ones come, and the process's memory is served.
func TestDemoStaysBounded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan demo.Addresses, 1)
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Config{
			HTTP: "127.0.0.1:0", Window: time.Second, Rate: 3000,
			Retention: 2 * time.Second, WindowTTL: 3 * time.Second,
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
			Ready:  func(a demo.Addresses) { ready <- a },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the demo stopped with %v", err)
		}
	})
	var a demo.Addresses
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("the demo did not start: %v", err)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(a.Kafka))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	server, err := redis.ParseURL(a.Redis)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := redis.NewClient(server)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	positions := a.Topic + ".positions"

	// The deadline is a safety net for a broken machine, not a measure of
	// speed.
	deadline := time.Now().Add(3 * time.Minute)
	var first string // the first window seen in Redis
	var startsSeen kadm.ListedOffsets
	for {
		if time.Now().After(deadline) {
			t.Fatalf("in three minutes: start offsets %s, first window %q still in Redis", describe(startsSeen), first)
		}
		time.Sleep(100 * time.Millisecond)

		// Start offsets first: the committed offsets only grow, so a
		// start offset past the committed one read after it is a record
		// deleted before the job read it.
		starts, err := adm.ListStartOffsets(ctx, a.Topic, positions)
		if err != nil || starts.Error() != nil {
			continue
		}
		startsSeen = starts
		committed, err := adm.FetchOffsets(ctx, "weir-demo")
		if err != nil {
			continue
		}
		deleted := true
		starts.Each(func(o kadm.ListedOffset) {
			if o.Offset == 0 {
				deleted = false
			}
			if o.Topic != a.Topic {
				return
			}
			// A partition the job has committed nothing of yet must
			// still start at 0.
			if c, _ := committed.Lookup(o.Topic, o.Partition); o.Offset > c.At {
				t.Fatalf("partition %d starts at %d, past the job's committed offset %v: records the job had not read were deleted", o.Partition, o.Offset, c.At)
			}
		})

		windows, err := rc.Do(ctx, rc.B().Zrange().Key("weir:pvuv:windows").Min("0").Max("-1").Build()).AsStrSlice()
		if err != nil || len(windows) == 0 {
			continue
		}
		if first == "" {
			first = windows[0]
			continue
		}
		exists, err := rc.Do(ctx, rc.B().Exists().Key("weir:pvuv:window:"+first, "weir:pvuv:pages:"+first).Build()).AsInt64()
		if err != nil {
			continue
		}
		expired := exists == 0 && windows[0] > first
		if deleted && expired {
			t.Logf("start offsets %s; windows in Redis %s..%s, the first seen (%s) expired", describe(starts), windows[0], windows[len(windows)-1], first)
			break
		}
	}

	resp, err := http.Get(a.Memory)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m dashboard.Memory
	if err := json.Unmarshal(body, &m); err != nil || resp.StatusCode != http.StatusOK || m.HeapInUse <= 0 || m.Goroutines <= 0 {
		t.Fatalf("GET %s: %d %s (%v); want the process's memory", a.Memory, resp.StatusCode, body, err)
	}
}

// describe writes offsets as topic/partition=offset.
func describe(l kadm.ListedOffsets) string {
	var parts []string
	for _, o := range l.Offsets().Sorted() {
		parts = append(parts, fmt.Sprintf("%s/%d=%d", o.Topic, o.Partition, o.At))
	}
	return strings.Join(parts, " ")
}
