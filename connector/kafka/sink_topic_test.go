package kafka

import (
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/weirtest"
)

// TestSinkMissingTopic: a sink checks its topic when it starts. Brokers
// that create topics on first use (auto.create.topics.enable) create it,
// and every record arrives, with each delivery. Brokers that do not make
// the job fail at the sink's first barrier, while the source still holds
// most of its input, with an error that names the topic and says to
// create it: not with UNKNOWN_TOPIC_OR_PARTITION from records that
// failed after the producer's retries.
func TestSinkMissingTopic(t *testing.T) {
	srcLeakCheck(t)
	const parts, n = 2, 200
	for _, d := range []Guarantee{ExactlyOnce, AtLeastOnce} {
		t.Run("auto-create "+d.String(), func(t *testing.T) {
			c := cliBroker(t, parts, nil, kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(parts))
			topic := "created-" + strings.ToLower(d.String())
			if err := cliWriteJob(t, Client{Brokers: c.ListenAddrs()}, topic, d, n); err != nil {
				t.Fatalf("the job failed: %v", err)
			}
			if got := cliRead(t, c, topic, parts); !slices.Equal(got, sinkNumbers(n)) {
				t.Fatalf("the topic holds %d records, want each of 0..%d once", len(got), n-1)
			}
		})
		t.Run("no auto-create "+d.String(), func(t *testing.T) {
			c := cliBroker(t, parts, nil)
			snk := sinkNumberSink(t, c.ListenAddrs()[0], "missing", d)
			// A slow input, of 8s or more: the job must fail long before
			// its end.
			src := weirtest.FromSlice(sinkSeq(20_000)...)
			src.BatchSize, src.Delay = 10, 4*time.Millisecond
			var read atomic.Int64
			env := weir.NewEnv(weir.Checkpoints(20*time.Millisecond, t.TempDir()), weir.Restart(weir.NoRestart()))
			s := weir.Map(weir.FromSource(env, src, weir.Parallelism(1)), func(v int) int { read.Add(1); return v })
			weir.SinkTo(s, snk)
			start := time.Now()
			err := cliExecute(t, env)
			t.Logf("failed after %v, %d records read: %v", time.Since(start).Round(time.Millisecond), read.Load(), err)
			if err == nil {
				t.Fatal("the job succeeded without its topic")
			}
			for _, want := range []string{`topic "missing"`, "does not exist", "create the topic", "auto.create.topics.enable"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error lacks %q: %v", want, err)
				}
			}
		})
	}
}
