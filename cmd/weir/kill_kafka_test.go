package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaKillAndResumeExactlyOnce is the kill test over Kafka: the
// generated access log is produced to a four-partition topic on a broker
// of its own (weir kafka, see accessBroker), weir pvuv reads it (bounded)
// and writes its windows to another topic with transactions, with
// checkpoints every 200 ms, and is killed with SIGKILL at random moments
// (4 times in all, WEIR_SOAK_KILLS times when set; see killRounds).
// A read_committed consumer must then see exactly the expected windows,
// and the job's consumer group must have committed offsets.
func TestKafkaKillAndResumeExactlyOnce(t *testing.T) {
	t.Parallel()
	takeTurn(t, cpuTurn)
	if testing.Short() {
		t.Skip("kill test: skipped with -short")
	}
	bin := plainBinary(t)
	in := sharedInput(t, killInputLines(1_000_000))
	want := sharedBaseline(t, in, time.Minute, 10)

	broker, adm := accessBroker(t, bin, in)

	killRounds(t, bin, in.files, 500*time.Millisecond, func(round int, dir string) ([]string, func(int)) {
		topic, group := fmt.Sprint("pvuv-", round+1), fmt.Sprint("pvuv-", round+1)
		if _, err := adm.CreateTopic(context.Background(), 1, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		args := []string{"pvuv",
			"--source", "kafka://" + broker + "/access?bounded=true&group=" + group,
			"--sink", "kafka://" + broker + "/" + topic,
			"--checkpoint-dir", filepath.Join(dir, "checkpoints"), "--checkpoint-interval", "200ms", "--parallelism", "2", "--progress", "off"}
		writeLines(t, filepath.Join(dir, "want.jsonl"), want)
		return args, func(kills int) {
			got := consumeCommitted(t, broker, topic, len(want))
			writeLines(t, filepath.Join(dir, "got.jsonl"), got)
			if len(got) != len(want) {
				t.Fatalf("after %d kills: %d windows in the topic, want %d", kills, len(got), len(want))
			}
			for i := range want {
				if asJSON(t, got[i]) != asJSON(t, want[i]) {
					t.Fatalf("after %d kills, window %d:\n got %s\nwant %s", kills, i, got[i], want[i])
				}
			}
			// The offsets of completed checkpoints went to the group.
			offsets, err := adm.FetchOffsets(context.Background(), group)
			if err != nil {
				t.Fatal(err)
			}
			var committed int64
			offsets.Each(func(o kadm.OffsetResponse) {
				if o.Topic == "access" && o.At > 0 {
					committed += o.At
				}
			})
			if committed == 0 {
				t.Fatal("the job committed no offsets to its consumer group")
			}
		}
	})
}

// accessBroker starts weir kafka from the plain binary bin, with the
// input's lines in the four partitions of topic access (see
// produceLines), and returns its address; it is killed when the test
// ends. flags go to weir kafka. The broker is kfake over TCP, as in the other tests, but in a
// process of its own without the race detector: it serves the job's many
// restarts, and takes the million records, faster than one in the
// race-instrumented test process, which other tests share.
func accessBroker(t *testing.T, bin string, in input, flags ...string) (string, *kadm.Client) {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(bin, append([]string{"kafka", "--listen", addr, "--topics", "access", "--partitions", "4"}, flags...)...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	for !listening(addr) {
		select {
		case err := <-exited:
			t.Fatalf("weir kafka --listen %s: %v\n%s", addr, err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	adm := newAdmin(t, addr)
	produceLines(t, addr, "access", 4, in.files)
	return addr, adm
}

// listening reports whether something accepts connections on addr.
func listening(addr string) bool {
	c, err := net.Dial("tcp", addr)
	if err == nil {
		c.Close()
	}
	return err == nil
}

func newAdmin(t *testing.T, addr string) *kadm.Client {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return kadm.NewClient(cl)
}

// produceLines produces the files' lines in order, line i to partition
// i mod partitions: each partition is in event-time order, as the lines of
// a shipped log are. opts add to the producer's options (as
// kgo.ProducerBatchMaxBytes for smaller record batches).
func produceLines(t *testing.T, addr, topic string, partitions int32, files []string, opts ...kgo.Opt) {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var i int32
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			r := &kgo.Record{Topic: topic, Partition: i % partitions, Value: append([]byte(nil), sc.Bytes()...)}
			i++
			cl.Produce(context.Background(), r, func(_ *kgo.Record, err error) {
				if err != nil {
					t.Errorf("produce: %v", err)
				}
			})
		}
		f.Close()
	}
	if err := cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// consumeCommitted reads a topic with read_committed isolation until it
// has want records and no more arrive for a while.
func consumeCommitted(t *testing.T, addr, topic string, want int) []string {
	t.Helper()
	return readCommitted(t, []kgo.Opt{kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic)}, want)
}

// readCommitted reads with read_committed isolation, through a client of
// opts, from the start until it has want records and no more arrive for
// a while, at most 90 s.
func readCommitted(t *testing.T, opts []kgo.Opt, want int) []string {
	t.Helper()
	cl, err := kgo.NewClient(append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var got []string
	deadline := time.Now().Add(90 * time.Second)
	quiet := 0
	for time.Now().Before(deadline) && (len(got) < want || quiet < 3) {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		fs := cl.PollFetches(ctx)
		cancel()
		n := 0
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)); n++ })
		if n == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	return got
}
