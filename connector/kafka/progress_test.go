package kafka

import (
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/source"
)

// srcProgress returns the reader's progress by split.
func srcProgress(r source.Reader[string]) map[string]source.SplitProgress {
	out := map[string]source.SplitProgress{}
	for _, p := range r.(source.ProgressReporter).AppendSplitProgress(nil) {
		out[p.Split] = p
	}
	return out
}

// TestReaderReportsLagPerPartition reads a topic of known size a poll at a
// time: after every poll each partition's position is the next offset to
// read and its lag the partition's end minus that, down to 0 at the end.
// Another goroutine reads the progress all along (the race detector checks
// that it may).
func TestReaderReportsLagPerPartition(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 3, "hits", "old")
	ctx := srcCtx(t)
	// hits-0 holds more than one poll returns (maxPollRecords), so that
	// it is seen partly read; hits-2 stays empty.
	size := map[string]int64{"hits-0": maxPollRecords + 904, "hits-1": 300}
	var recs []*kgo.Record
	for p := range int32(2) {
		for i := range size[splitID("hits", p)] {
			recs = append(recs, srcRecord("hits", p, fmt.Sprintf("hits/%d/%d", p, i)))
		}
	}
	for i := range 50 {
		recs = append(recs, srcRecord("old", 0, fmt.Sprintf("old/0/%d", i)))
	}
	if err := b.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}

	r := srcStartReader(t, srcNew(t, b, Topics("hits")), false)
	if got := srcProgress(r); len(got) != 0 {
		t.Fatalf("progress before any split: %v, want none", got)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var buf []source.SplitProgress
		for {
			select {
			case <-stop:
				return
			default:
			}
			buf = r.(source.ProgressReporter).AppendSplitProgress(buf[:0])
			for _, p := range buf {
				if p.Lag < -1 || p.Position < 0 {
					t.Errorf("progress %+v read concurrently, want a position ≥ 0 and a lag ≥ -1", p)
				}
			}
		}
	})
	defer wg.Wait()
	defer close(stop)

	r.AddSplits([]source.Split{
		&Split{Topic: "hits", Partition: 0, Stop: NoStop},
		&Split{Topic: "hits", Partition: 1, Stop: NoStop},
		&Split{Topic: "hits", Partition: 2, Stop: NoStop},
		&Split{Topic: "old", Partition: 0, Offset: 10, Stop: 40},
	})
	// Before any fetch: an unbounded partition's end is unknown; a
	// bounded one's is its stop offset.
	want := map[string]source.SplitProgress{
		"hits-0": {Split: "hits-0", Position: 0, Lag: -1},
		"hits-1": {Split: "hits-1", Position: 0, Lag: -1},
		"hits-2": {Split: "hits-2", Position: 0, Lag: -1},
		"old-0":  {Split: "old-0", Position: 10, Lag: 30},
	}
	if got := srcProgress(r); !maps.Equal(got, want) {
		t.Fatalf("progress before the first poll: %v, want %v", got, want)
	}

	out := &srcOutput{}
	read := map[string]int64{"old-0": 10}
	seen := 0
	sawPartial := false
	total := int(size["hits-0"] + size["hits-1"] + 30)
	for len(out.records) < total {
		if _, err := r.Poll(ctx, out); err != nil {
			t.Fatal(err)
		}
		for _, e := range out.records[seen:] {
			read[e.split]++
		}
		seen = len(out.records)
		for id, p := range srcProgress(r) {
			if p.Position != read[id] {
				t.Fatalf("%s: position %d after %d records from offset 0 (old-0: 10)", id, p.Position, read[id])
			}
			end := size[id]
			if id == "old-0" {
				end = 40
			}
			switch {
			case p.Lag == -1 && read[id] == 0 && id != "old-0":
				// Not fetched yet.
			case p.Lag != end-p.Position:
				t.Fatalf("%s: lag %d at position %d, want the end %d minus the position", id, p.Lag, p.Position, end)
			}
			if id == "hits-0" && p.Lag > 0 && p.Position > 0 {
				sawPartial = true
			}
		}
		if ctx.Err() != nil {
			t.Fatal("gave up polling")
		}
	}
	if !sawPartial {
		t.Error("hits-0 was never seen partly read: the test's premise does not hold")
	}
	want = map[string]source.SplitProgress{
		"hits-0": {Split: "hits-0", Position: size["hits-0"], Lag: 0},
		"hits-1": {Split: "hits-1", Position: size["hits-1"], Lag: 0},
		"hits-2": {Split: "hits-2", Position: 0, Lag: -1}, // empty: no fetch brought its end
		"old-0":  {Split: "old-0", Position: 40, Lag: 0},
	}
	if got := srcProgress(r); !maps.Equal(got, want) {
		t.Fatalf("progress at the end: %v, want %v", got, want)
	}

	// Records written later: the lag follows the partition's new end,
	// and is back at 0 once they are read.
	srcProduceTo(t, b, "hits", 1, 10)
	srcPollUntil(t, ctx, r, out, func() bool { return len(out.records) == total+10 })
	if got := srcProgress(r)["hits-1"]; got.Position != size["hits-1"]+10 || got.Lag != 0 {
		t.Fatalf("hits-1 after 10 more records were read: %+v, want position %d, lag 0", got, size["hits-1"]+10)
	}
}

// TestReaderLagEndsAtLastStableOffset: the reader reads committed records
// only, so a partition's lag counts up to its last stable offset, not its
// high watermark, while a transaction is open.
func TestReaderLagEndsAtLastStableOffset(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 1, "tx")
	ctx := srcCtx(t)
	srcProduce(t, b, "tx", 1, 3) // offsets 0..2
	open := srcTxnProducer(t, b, "open")
	srcProduceTxn(t, ctx, open, "tx", "open-1", "open-2") // offsets 3, 4: the high watermark is 5
	r := srcStartReader(t, srcNew(t, b, Topics("tx")), false)
	r.AddSplits([]source.Split{&Split{Topic: "tx", Partition: 0, Stop: NoStop}})
	out := &srcOutput{}
	srcPollUntil(t, ctx, r, out, func() bool { return len(out.records) == 3 })
	if got := srcProgress(r)["tx-0"]; got.Position != 3 || got.Lag != 0 {
		t.Fatalf("tx-0 with a transaction open past offset 3: %+v, want position 3, lag 0 (to the last stable offset, 3)", got)
	}
	if err := open.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	srcPollUntil(t, ctx, r, out, func() bool { return len(out.records) == 5 })
	// The commit marker at 5 comes in the same batch as the records.
	if got := srcProgress(r)["tx-0"]; got.Position != 6 || got.Lag != 0 {
		t.Fatalf("tx-0 after the commit: %+v, want position 6 (past the marker), lag 0", got)
	}
}

// srcProduceTo writes n more records to partition p of topic.
func srcProduceTo(t *testing.T, b *kafkatest.Broker, topic string, p int32, n int) {
	t.Helper()
	var recs []*kgo.Record
	for i := range n {
		recs = append(recs, srcRecord(topic, p, fmt.Sprintf("%s/%d/more-%d", topic, p, i)))
	}
	if err := b.Produce(srcCtx(t), recs...); err != nil {
		t.Fatal(err)
	}
}
