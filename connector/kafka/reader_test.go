package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/source"
)

// srcStartReader creates and starts a reader of src for subtask 0 of 1, and
// closes it when the test ends.
func srcStartReader[T any](t *testing.T, src *Source[T], checkpointing bool) source.Reader[T] {
	t.Helper()
	r, err := src.NewReader(srcReaderCtx{subtask: 0, par: 1, checkpointing: checkpointing})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if err := r.Start(srcCtx(t)); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestReaderEmitsPerSplitWithTimestamps: each record goes out through its
// partition's output, in offset order, with its Kafka timestamp as event
// time; finished bounded partitions are released and the reader ends.
func TestReaderEmitsPerSplitWithTimestamps(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 3, "hits")
	ctx := srcCtx(t)
	base := time.UnixMilli(1_700_000_000_000)
	var recs []*kgo.Record
	for p := range int32(2) {
		for i := range 50 {
			r := srcRecord("hits", p, fmt.Sprintf("hits/%d/%d", p, i))
			r.Timestamp = base.Add(time.Duration(int(p)*1000+i) * time.Millisecond)
			recs = append(recs, r)
		}
	}
	if err := b.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	r := srcStartReader(t, srcNew(t, b, Topics("hits")), false)
	r.AddSplits([]source.Split{
		&Split{Topic: "hits", Partition: 0, Offset: 10, Stop: 50},
		&Split{Topic: "hits", Partition: 1, Offset: 0, Stop: 20},
		&Split{Topic: "hits", Partition: 2, Offset: 0, Stop: 0}, // an empty partition
	})
	r.NoMoreSplits()
	out := &srcOutput{}
	if st := srcPollUntil(t, ctx, r, out, nil); st != source.EndOfInput {
		t.Fatalf("status %v, want the end of input", st)
	}
	last := map[string]int{}
	count := map[string]int{}
	for _, e := range out.records {
		p := srcPartitionOf(e.value)
		if want := "hits-" + strconv.Itoa(p); e.split != want {
			t.Fatalf("%s came through output %q, want %q", e.value, e.split, want)
		}
		i, _ := strconv.Atoi(e.value[strings.LastIndex(e.value, "/")+1:])
		if wantTS := base.UnixMilli() + int64(p*1000+i); e.ts != wantTS {
			t.Fatalf("%s has time %d, want its record's timestamp %d", e.value, e.ts, wantTS)
		}
		if prev, ok := last[e.split]; ok && i != prev+1 {
			t.Fatalf("%s follows record %d of its partition", e.value, prev)
		}
		last[e.split] = i
		count[e.split]++
	}
	if count["hits-0"] != 40 || count["hits-1"] != 20 || last["hits-0"] != 49 || last["hits-1"] != 19 {
		t.Fatalf("read %v records up to %v, want 40 of hits-0 from 10 and 20 of hits-1 from 0", count, last)
	}
	released := slices.Sorted(slices.Values(out.released))
	if want := []string{"hits-0", "hits-1", "hits-2"}; !slices.Equal(released, want) {
		t.Fatalf("released %v, want %v", released, want)
	}
	if snap, err := r.Snapshot(1); err != nil || len(snap) != 0 {
		t.Fatalf("snapshot after every split finished: %v, %v; want none", snap, err)
	}
}

// TestReaderDeadLetters: records the deserializer rejects go to the dead
// letters with their partition, offset, bytes and reason, are counted, and
// do not stop the reader; every other record is emitted.
func TestReaderDeadLetters(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 1, "nums")
	ctx := srcCtx(t)
	var recs []*kgo.Record
	for i := range 100 {
		v := strconv.Itoa(i)
		if i%10 == 3 {
			v = "x" + v
		}
		recs = append(recs, srcRecord("nums", 0, v))
	}
	if err := b.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	src, err := NewSource(srcClient(b), Topics("nums"), func(r *kgo.Record) (int, error) { return strconv.Atoi(string(r.Value)) })
	if err != nil {
		t.Fatal(err)
	}
	r := srcStartReader(t, src, false)
	r.AddSplits([]source.Split{&Split{Topic: "nums", Partition: 0, Stop: 100}})
	r.NoMoreSplits()
	out := &srcIntOutput{}
	for {
		st, err := r.Poll(ctx, out)
		if err != nil {
			t.Fatal(err)
		}
		if st == source.EndOfInput {
			break
		}
	}
	if len(out.values) != 90 {
		t.Fatalf("emitted %d records, want the 90 good ones", len(out.values))
	}
	for _, v := range out.values {
		if v%10 == 3 {
			t.Fatalf("emitted %d, which was undecodable", v)
		}
	}
	if len(out.dead) != 10 || src.DeadLetters() != 10 {
		t.Fatalf("%d dead letters, %d counted; want 10", len(out.dead), src.DeadLetters())
	}
	for i, d := range out.dead {
		off := strconv.Itoa(10*i + 3)
		if d.Split != "nums-0" || d.Position != off || string(d.Raw) != "x"+off || !strings.Contains(d.Reason, "invalid syntax") {
			t.Fatalf("dead letter %d is %+v, want split nums-0, position %s, raw x%s and the parse error", i, d, off, off)
		}
	}
}

// srcIntOutput is an Output of ints that takes dead letters.
type srcIntOutput struct {
	values []int
	dead   []source.DeadLetter
}

func (o *srcIntOutput) Collect(v int)                  { o.values = append(o.values, v) }
func (o *srcIntOutput) CollectAt(v int, _ int64)       { o.values = append(o.values, v) }
func (o *srcIntOutput) DeadLetter(d source.DeadLetter) { o.dead = append(o.dead, d) }

// TestReaderFetchesAheadWhileEmitting: the reader takes a whole fetch from
// the client at once and emits it a bounded poll at a time, so that the
// client sends the next fetch while the task is still emitting this one
// (franz-go fetches again only once its buffer is empty). The records
// taken but not emitted yet are not in a checkpoint: the snapshot holds the
// position after the last record emitted.
func TestReaderFetchesAheadWhileEmitting(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 1, "big")
	ctx := srcCtx(t)
	total := 3*maxPollRecords + 100 // one fetch: well under 1 MiB
	want := srcProduce(t, b, "big", 1, total)
	var fetchReqs atomic.Int64
	b.Cluster().ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		b.Cluster().KeepControl()
		fetchReqs.Add(1)
		return nil, nil, false // only count; the broker answers
	})
	r := srcStartReader(t, srcNew(t, b, Topics("big")), true)
	r.AddSplits([]source.Split{&Split{Topic: "big", Partition: 0, Stop: NoStop}})
	out := &srcOutput{}
	srcPollUntil(t, ctx, r, out, func() bool { return len(out.records) > 0 })
	emitted := len(out.records)
	if emitted > maxPollRecords {
		t.Fatalf("one poll emitted %d records, want at most %d", emitted, maxPollRecords)
	}
	if emitted == total {
		t.Fatalf("one poll emitted all %d records; the test needs a fetch that takes several", total)
	}
	if n := r.(*reader[string]).cl.BufferedFetchRecords(); n != 0 {
		t.Fatalf("after a poll that emitted %d of %d records the client still buffers %d: the reader took part of the fetch, so the client cannot fetch ahead", emitted, total, n)
	}
	// The client asks for more while the rest of the fetch waits to be
	// emitted: the broker sees a second fetch request without a poll.
	srcWaitFor(t, ctx, "the next fetch request while records are still to emit", func() bool { return fetchReqs.Load() >= 2 })
	snap, err := r.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap) != 1 || snap[0].(*Split).Offset != int64(emitted) {
		t.Fatalf("snapshot %v after emitting %d records, want big-0 at offset %d", snap, emitted, emitted)
	}
	srcPollUntil(t, ctx, r, out, func() bool { return len(out.records) >= total })
	if got := out.values(); !slices.Equal(got, want) {
		t.Fatalf("read %d records, want %d in offset order", len(got), len(want))
	}
	if snap, err := r.Snapshot(2); err != nil || len(snap) != 1 || snap[0].(*Split).Offset != int64(total) {
		t.Fatalf("snapshot at the end: %v, %v; want big-0 at offset %d", snap, err, total)
	}
}

// TestReaderCommitsSnapshottedOffsets: when a checkpoint completes, the
// reader commits to its group exactly the positions it snapshotted for
// that checkpoint; a skipped notification is covered by the next.
func TestReaderCommitsSnapshottedOffsets(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 2, "pv")
	ctx := srcCtx(t)
	srcProduce(t, b, "pv", 2, 300)
	r := srcStartReader(t, srcNew(t, b, Topics("pv"), Group("lag")), true)
	r.AddSplits([]source.Split{
		&Split{Topic: "pv", Partition: 0, Stop: NoStop},
		&Split{Topic: "pv", Partition: 1, Offset: 100, Stop: NoStop},
	})
	out := &srcOutput{}
	snapshot := func(id int64) map[string]map[int32]int64 {
		splits, err := r.Snapshot(id)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]map[int32]int64{"pv": {}}
		for _, s := range splits {
			ks := s.(*Split)
			m[ks.Topic][ks.Partition] = ks.Offset
		}
		return m
	}
	srcPollUntil(t, ctx, r, out, func() bool { return len(out.records) >= 100 })
	first := snapshot(1)
	perSplit := map[string]int64{}
	for _, e := range out.records {
		perSplit[e.split]++
	}
	if first["pv"][0] != perSplit["pv-0"] || first["pv"][1] != 100+perSplit["pv-1"] {
		t.Fatalf("snapshot 1 %v does not match what was emitted before it (%v)", first, perSplit)
	}
	srcPollUntil(t, ctx, r, out, func() bool { return len(out.records) >= 300 })
	snapshot(2)
	srcPollUntil(t, ctx, r, out, func() bool { return len(out.records) == 500 })
	third := snapshot(3)
	if !maps.Equal(third["pv"], map[int32]int64{0: 300, 1: 300}) {
		t.Fatalf("snapshot after everything was read: %v, want the end offsets", third)
	}
	commitWait := func(id int64, want map[string]map[int32]int64) {
		t.Helper()
		if err := r.(source.CheckpointListener).NotifyCheckpointComplete(ctx, id); err != nil {
			t.Fatal(err)
		}
		var got map[string]map[int32]int64
		srcWaitFor(t, ctx, fmt.Sprintf("the offsets of checkpoint %d in the group", id), func() bool {
			var err error
			got, err = b.CommittedOffsets(ctx, "lag")
			return err == nil && maps.Equal(got["pv"], want["pv"])
		})
	}
	commitWait(1, first)
	// Checkpoint 2's notification is skipped; 3's covers it.
	commitWait(3, third)
	// A late notification for 2 commits nothing older.
	if err := r.(source.CheckpointListener).NotifyCheckpointComplete(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if got, err := b.CommittedOffsets(ctx, "lag"); err != nil || !maps.Equal(got["pv"], third["pv"]) {
		t.Fatalf("after a stale notification the group has %v, %v; want %v", got, err, third)
	}
}

// TestReaderFinishesWhenTailIsAborted: a bounded partition whose records
// before the stop offset are of a transaction that aborted, with its abort
// marker past the stop offset (another transaction held the last stable
// offset back), reads none of them and finishes once the marker can be
// read.
func TestReaderFinishesWhenTailIsAborted(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 1, "tx")
	ctx := srcCtx(t)
	srcProduce(t, b, "tx", 1, 2) // offsets 0, 1
	aborted := srcTxnProducer(t, b, "aborter")
	held := srcTxnProducer(t, b, "holder")
	srcProduceTxn(t, ctx, aborted, "tx", "aborted-1", "aborted-2") // offsets 2, 3
	srcProduceTxn(t, ctx, held, "tx", "held")                      // offset 4, open
	if err := aborted.EndTransaction(ctx, kgo.TryAbort); err != nil {
		t.Fatal(err)
	}
	// The abort marker is at 5; the open transaction holds the last
	// stable offset at 4, which is where a bounded source stops.
	adm, err := b.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	if lso, err := kadm.NewClient(adm).ListCommittedOffsets(ctx, "tx"); err != nil {
		t.Fatal(err)
	} else if o, _ := lso.Lookup("tx", 0); o.Offset != 4 {
		t.Fatalf("the last stable offset is %d, want 4: the test's premise does not hold", o.Offset)
	}
	r := srcStartReader(t, srcNew(t, b, Topics("tx")), false)
	r.AddSplits([]source.Split{&Split{Topic: "tx", Partition: 0, Stop: 4}})
	r.NoMoreSplits()
	out := &srcOutput{}
	srcPollUntil(t, ctx, r, out, func() bool { return len(out.records) == 2 })
	// Until the holder ends, nothing past offset 1 can be read.
	for range 5 {
		if st, err := r.Poll(ctx, out); err != nil || st == source.EndOfInput {
			t.Fatalf("the reader ended (%v, %v) before it could know the split was finished", st, err)
		}
	}
	if err := held.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if st := srcPollUntil(t, ctx, r, out, nil); st != source.EndOfInput {
		t.Fatal("the reader did not end")
	}
	if got := out.values(); !slices.Equal(got, []string{"tx/0/0", "tx/0/1"}) {
		t.Fatalf("read %v, want only the two records before the transactions", got)
	}
}

// srcTxnProducer returns a transactional producer of b that the test closes.
func srcTxnProducer(t *testing.T, b *kafkatest.Broker, id string) *kgo.Client {
	t.Helper()
	cl, err := b.NewClient(kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

// srcProduceTxn begins a transaction and writes values to partition 0 of
// topic in it, leaving it open.
func srcProduceTxn(t *testing.T, ctx context.Context, cl *kgo.Client, topic string, values ...string) {
	t.Helper()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		if err := cl.ProduceSync(ctx, srcRecord(topic, 0, v)).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReaderPollReturnsWhenIdle: with nothing to read, Poll returns
// NothingAvailable instead of waiting for data; after Close it fails.
func TestReaderPollReturnsWhenIdle(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 1, "quiet")
	ctx := srcCtx(t)
	r := srcStartReader(t, srcNew(t, b, Topics("quiet")), false)
	out := &srcOutput{}
	if st, err := r.Poll(ctx, out); err != nil || st != source.NothingAvailable {
		t.Fatalf("Poll without splits: %v, %v", st, err)
	}
	r.AddSplits([]source.Split{&Split{Topic: "quiet", Partition: 0, Stop: NoStop}})
	for range 3 {
		if st, err := r.Poll(ctx, out); err != nil || st != source.NothingAvailable {
			t.Fatalf("Poll of an empty partition: %v, %v", st, err)
		}
	}
	r.Close()
	if _, err := r.Poll(ctx, out); !errors.Is(err, source.ErrClosed) {
		t.Fatalf("Poll after Close: %v, want ErrClosed", err)
	}
}
