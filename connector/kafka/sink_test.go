package kafka

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/weirtest"
)

// sinkEndKey marks the records sinkRead produces to find the end of a
// partition.
const sinkEndKey = "weir-test-end"

// sinkBroker starts a broker with topic of parts partitions. The caller
// closes it.
func sinkBroker(t testing.TB, topic string, parts int) *kafkatest.Broker {
	t.Helper()
	b, err := kafkatest.Start(kafkatest.Config{Partitions: parts, Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sinkRead returns every record of topic that a consumer with the given
// isolation sees, in partition order. To know where the partitions end it
// first appends a marker to each partition and reads until it has seen
// them all; markers are left out of the result. With read_committed it
// fails if a partition's last stable offset does not reach its marker.
func sinkRead(t *testing.T, addr, topic string, parts int, committed bool) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	marker := strconv.FormatInt(time.Now().UnixNano(), 10)
	p, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range parts {
		r := &kgo.Record{Topic: topic, Partition: int32(i), Key: []byte(sinkEndKey), Value: []byte(marker)}
		if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("append an end marker: %v", err)
		}
	}
	iso := kgo.ReadUncommitted()
	if committed {
		iso = kgo.ReadCommitted()
	}
	c, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(iso), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out []*kgo.Record
	ended := map[int32]bool{}
	for len(ended) < parts {
		fs := c.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s (committed %v): %d of %d partitions read to their end before the deadline; a transaction left open holds the last stable offset back", topic, committed, len(ended), parts)
		}
		if err := fs.Err(); err != nil {
			t.Fatalf("read %s: %v", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Key) == sinkEndKey {
				if string(r.Value) == marker {
					ended[r.Partition] = true
				}
				return
			}
			out = append(out, r)
		})
	}
	return out
}

// sinkValues returns the values of rs, sorted.
func sinkValues(rs []*kgo.Record) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, string(r.Value))
	}
	slices.Sort(out)
	return out
}

// sinkNumbers returns "0" .. "n-1", sorted as strings.
func sinkNumbers(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	slices.Sort(out)
	return out
}

// sinkStableOffsets returns per partition the high watermark and the last
// stable offset, which an open transaction holds back.
func sinkStableOffsets(t *testing.T, addr, topic string) (hwm, lso map[int32]int64) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	end, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	stable, err := adm.ListCommittedOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	hwm, lso = map[int32]int64{}, map[int32]int64{}
	end.Each(func(o kadm.ListedOffset) { hwm[o.Partition] = o.Offset })
	stable.Each(func(o kadm.ListedOffset) { lso[o.Partition] = o.Offset })
	return hwm, lso
}

// numberRecord is the record of v: v in decimal, without a key.
func numberRecord(v int) (*kgo.Record, error) {
	return &kgo.Record{Value: []byte(strconv.Itoa(v))}, nil
}

// sinkNumberSink returns a sink writing ints as decimal strings.
func sinkNumberSink(t *testing.T, addr, topic string, d Guarantee, opts ...SinkOption) *Sink[int] {
	t.Helper()
	return sinkNumberSinkFunc(t, addr, topic, d, numberRecord, opts...)
}

// sinkNumberSinkFunc returns a sink writing the records ser makes of ints.
func sinkNumberSinkFunc(t *testing.T, addr, topic string, d Guarantee, ser func(int) (*kgo.Record, error), opts ...SinkOption) *Sink[int] {
	t.Helper()
	s, err := NewSink(Client{Brokers: []string{addr}}, topic, ser, append([]SinkOption{Delivery(d)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sinkFlakyJob reads 0..n-1 slowly at the job's parallelism, fails every
// failEvery-th record it sees (0: never) and writes to snk with sinkPar
// subtasks (0: the job's parallelism).
func sinkFlakyJob(env *weir.Env, n, failEvery, sinkPar int, hold time.Duration, seen, failures *atomic.Int64, snk *Sink[int]) {
	src := weirtest.FromSlice(sinkSeq(n)...)
	src.BatchSize = 10
	src.Delay = 4 * time.Millisecond
	s := weir.FromSource(env, src, weir.Name("numbers"))
	s = weir.Process(s, func(_ *weir.Context, v int, out weir.Emitter[int]) error {
		if k := seen.Add(1); failEvery > 0 && k%int64(failEvery) == 0 {
			failures.Add(1)
			// No barrier passes this operator while it holds, so the
			// records it emitted since the last one stay in the sink's
			// open transaction, and the sink has time to send them.
			time.Sleep(hold)
			return errors.New("injected failure")
		}
		out.Emit(v)
		return nil
	}, weir.Name("flaky"))
	opts := []weir.OpOption{weir.Name("kafka")}
	if sinkPar > 0 {
		opts = append(opts, weir.Parallelism(sinkPar))
	}
	weir.SinkTo(s, snk, opts...)
}

func sinkSeq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// TestNewSinkValidation: NewSink reports every problem with its arguments
// and options at once, each naming the argument or the option as it was
// called, and without options the defaults are in effect.
func TestNewSinkValidation(t *testing.T) {
	cl := Client{Brokers: []string{"127.0.0.1:9092"}}
	for _, tc := range []struct {
		name   string
		client Client
		topic  string
		ser    func(int) (*kgo.Record, error)
		opts   []SinkOption
		want   []string // every fragment must appear
	}{
		{"no brokers", Client{}, "t", numberRecord, nil, []string{"Client.Brokers"}},
		{"no topic", cl, "", numberRecord, nil, []string{"the topic is empty"}},
		{"bad topic", cl, "a b", numberRecord, nil, []string{"topic", "ASCII letters"}},
		{"no serializer", cl, "t", nil, nil, []string{"serializer is nil"}},
		{"delivery", cl, "t", numberRecord, []SinkOption{Delivery(7)}, []string{"Delivery(7)", "AtLeastOnce"}},
		{"timeout", cl, "t", numberRecord, []SinkOption{TransactionTimeout(time.Millisecond)}, []string{"TransactionTimeout(1ms)", "below 1s"}},
		{"pool", cl, "t", numberRecord, []SinkOption{TransactionPool(1)}, []string{"TransactionPool(1)", "below 2"}},
		{"prefix", cl, "t", numberRecord, []SinkOption{TransactionalIDPrefix("")}, []string{`TransactionalIDPrefix("")`}},
		{"buffer", cl, "t", numberRecord, []SinkOption{MaxBufferedRecords(0)}, []string{"MaxBufferedRecords(0)"}},
		{"bytes", cl, "t", numberRecord, []SinkOption{MaxBufferedBytes(-1)}, []string{"MaxBufferedBytes(-1)"}},
		{"delivery timeout", cl, "t", numberRecord, []SinkOption{DeliveryTimeout(-time.Second)}, []string{"DeliveryTimeout(-1s)"}},
		{"logger", cl, "t", numberRecord, []SinkOption{WithLogger(nil)}, []string{"WithLogger(nil)"}},
		{"all at once", Client{}, "t", nil, []SinkOption{TransactionPool(-3), DeliveryTimeout(0)}, []string{"Client.Brokers", "serializer is nil", "TransactionPool(-3)", "DeliveryTimeout(0s)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSink(tc.client, tc.topic, tc.ser, tc.opts...)
			if err == nil {
				t.Fatal("NewSink accepted an invalid configuration")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "kafka: "); n != len(tc.want) && tc.name != "delivery" && tc.name != "timeout" && tc.name != "pool" && tc.name != "bad topic" {
				t.Errorf("%d problems reported, want %d:\n%v", n, len(tc.want), err)
			}
		})
	}
	s, err := NewSink(cl, "t", numberRecord)
	if err != nil {
		t.Fatal(err)
	}
	got := s.cfg
	if got.delivery != ExactlyOnce || got.prefix != "weir-t" || got.txnTimeout != DefaultTransactionTimeout ||
		got.txnPool != DefaultTransactionPool || got.maxBufferedRecords != DefaultMaxBufferedRecords ||
		got.maxBufferedBytes != DefaultMaxBufferedBytes || got.deliveryTimeout != DefaultDeliveryTimeout || got.log == nil {
		t.Fatalf("defaults not in effect: %+v", got)
	}
	want := "kafka sink: topic t, brokers 127.0.0.1:9092, delivery ExactlyOnce, transactional ids weir-t-<subtask>-<0..7> (-a<epoch> after them in a cluster), transaction timeout 15m0s, max buffered 10000 records or 33554432 bytes, delivery timeout 2m0s"
	if got := s.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	// The last of an option given twice counts.
	if s, err = NewSink(cl, "t", numberRecord, Delivery(AtLeastOnce), TransactionPool(3), Delivery(DeliveryNone)); err != nil || s.cfg.delivery != DeliveryNone || s.cfg.txnPool != 3 {
		t.Fatalf("options in order: %+v, %v", s.cfg, err)
	}
}

// TestSinkExactlyOnceNeedsCheckpoints: a job without checkpoints cannot
// commit transactions, and says so at start.
func TestSinkExactlyOnceNeedsCheckpoints(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	snk := sinkNumberSink(t, "127.0.0.1:1", "t", ExactlyOnce)
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(1, 2, 3)), snk)
	err := env.Execute(context.Background(), "no-checkpoints")
	if err == nil || !strings.Contains(err.Error(), "weir.Checkpoints") || !strings.Contains(err.Error(), "AtLeastOnce") {
		t.Fatalf("Execute = %v, want an error that says to enable checkpoints or choose AtLeastOnce", err)
	}
}

// TestSinkKeyPartitioning: records with the same key land in one
// partition, and the keys spread over several.
func TestSinkKeyPartitioning(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic, parts, n = "keyed", 4, 400
	b := sinkBroker(t, topic, parts)
	defer b.Close()
	snk := sinkNumberSinkFunc(t, b.Addr(), topic, AtLeastOnce, func(v int) (*kgo.Record, error) {
		return &kgo.Record{Key: []byte("user-" + strconv.Itoa(v%13)), Value: []byte(strconv.Itoa(v))}, nil
	})
	env := weir.NewEnv(weir.Parallelism(2))
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(sinkSeq(n)...)), snk)
	if err := env.Execute(context.Background(), "keyed"); err != nil {
		t.Fatal(err)
	}
	rs := sinkRead(t, b.Addr(), topic, parts, false)
	if got := sinkValues(rs); !slices.Equal(got, sinkNumbers(n)) {
		t.Fatalf("read %d records, want each of %d once", len(got), n)
	}
	partOf := map[string]int32{}
	used := map[int32]bool{}
	for _, r := range rs {
		k := string(r.Key)
		if p, ok := partOf[k]; ok && p != r.Partition {
			t.Fatalf("key %s is in partitions %d and %d", k, p, r.Partition)
		}
		partOf[k] = r.Partition
		used[r.Partition] = true
		if v, _ := strconv.Atoi(string(r.Value)); "user-"+strconv.Itoa(v%13) != k {
			t.Fatalf("record %s has key %s", r.Value, k)
		}
	}
	if len(partOf) != 13 || len(used) < 2 {
		t.Fatalf("%d keys over %d partitions: the keys should spread over several", len(partOf), len(used))
	}
}

// TestSinkAtLeastOnceAcrossFailures: after failures and restores, every
// record is in the topic; the ones written again after a restore are
// duplicates, which at-least-once allows.
func TestSinkAtLeastOnceAcrossFailures(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic, parts, n = "alo", 3, 1500
	b := sinkBroker(t, topic, parts)
	defer b.Close()
	var seen, failures atomic.Int64
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(40*time.Millisecond, t.TempDir()),
		weir.Restart(weir.FixedDelayRestart(-1, time.Millisecond)))
	sinkFlakyJob(env, n, 500, 0, 0, &seen, &failures, sinkNumberSink(t, b.Addr(), topic, AtLeastOnce))
	if err := env.Execute(context.Background(), "alo"); err != nil {
		t.Fatal(err)
	}
	if failures.Load() < 2 {
		t.Fatalf("only %d failures injected", failures.Load())
	}
	got := sinkValues(sinkRead(t, b.Addr(), topic, parts, false))
	if distinct := slices.Compact(slices.Clone(got)); !slices.Equal(distinct, sinkNumbers(n)) {
		t.Fatalf("after %d failures the topic holds %d distinct records, want all %d", failures.Load(), len(distinct), n)
	}
	t.Logf("%d failures: %d records for %d inputs (%d duplicates)", failures.Load(), len(got), n, len(got)-n)
}

// TestSinkValueErrorFailsJob: an encoding error fails the job and names
// the sink's topic.
func TestSinkValueErrorFailsJob(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic = "bad-values"
	b := sinkBroker(t, topic, 1)
	defer b.Close()
	snk := sinkNumberSinkFunc(t, b.Addr(), topic, AtLeastOnce, func(v int) (*kgo.Record, error) {
		if v == 3 {
			return nil, fmt.Errorf("cannot encode %d", v)
		}
		return numberRecord(v)
	})
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(sinkSeq(10)...)), snk)
	err := env.Execute(context.Background(), "bad")
	if err == nil || !strings.Contains(err.Error(), `topic "bad-values"`) || !strings.Contains(err.Error(), "cannot encode 3") {
		t.Fatalf("Execute = %v, want the encoding error naming the topic", err)
	}
}

// TestSinkSerializerMakesTheRecord: what the serializer sets (key,
// headers, timestamp) reaches the topic; a record for another topic, or
// none, fails the job with a message that says what to do.
func TestSinkSerializerMakesTheRecord(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic = "records"
	b := sinkBroker(t, topic, 1)
	defer b.Close()
	at := time.UnixMilli(time.Now().UnixMilli())
	snk := sinkNumberSinkFunc(t, b.Addr(), topic, AtLeastOnce, func(v int) (*kgo.Record, error) {
		return &kgo.Record{Key: []byte("k"), Value: []byte(strconv.Itoa(v)), Timestamp: at,
			Headers: []kgo.RecordHeader{{Key: "n", Value: []byte(strconv.Itoa(v))}}}, nil
	})
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(sinkSeq(5)...)), snk)
	if err := env.Execute(context.Background(), "records"); err != nil {
		t.Fatal(err)
	}
	rs := sinkRead(t, b.Addr(), topic, 1, false)
	if len(rs) != 5 {
		t.Fatalf("read %d records, want 5", len(rs))
	}
	for _, r := range rs {
		if string(r.Key) != "k" || !r.Timestamp.Equal(at) || len(r.Headers) != 1 || string(r.Headers[0].Value) != string(r.Value) {
			t.Fatalf("record %q: key %q, time %v, headers %v; want what the serializer set", r.Value, r.Key, r.Timestamp, r.Headers)
		}
	}

	for _, c := range []struct {
		name string
		ser  func(int) (*kgo.Record, error)
		want string
	}{
		{"other topic", func(v int) (*kgo.Record, error) { return &kgo.Record{Topic: "elsewhere", Value: []byte("x")}, nil }, `set the record's Topic to "elsewhere"`},
		{"no record", func(int) (*kgo.Record, error) { return nil, nil }, "returned no record"},
		{"old timestamp", func(int) (*kgo.Record, error) {
			return &kgo.Record{Value: []byte("x"), Timestamp: time.Now().Add(-DefaultDeliveryTimeout)}, nil
		}, "leave Timestamp zero"},
	} {
		env := weir.NewEnv()
		weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(1)), sinkNumberSinkFunc(t, b.Addr(), topic, AtLeastOnce, c.ser))
		if err := env.Execute(context.Background(), "bad-records"); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `topic "records"`) {
			t.Errorf("%s: Execute = %v, want an error naming the topic and saying %q", c.name, err, c.want)
		}
	}
}

// TestSinkDeliveryNone: without acknowledgements the records still reach
// a healthy broker, and the job needs no checkpoints.
func TestSinkDeliveryNone(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic, parts, n = "none", 2, 300
	b := sinkBroker(t, topic, parts)
	defer b.Close()
	env := weir.NewEnv(weir.Parallelism(2))
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(sinkSeq(n)...)), sinkNumberSink(t, b.Addr(), topic, DeliveryNone))
	if err := env.Execute(context.Background(), "none"); err != nil {
		t.Fatal(err)
	}
	if got := sinkValues(sinkRead(t, b.Addr(), topic, parts, false)); !slices.Equal(got, sinkNumbers(n)) {
		t.Fatalf("read %d records, want each of %d once", len(got), n)
	}
}
