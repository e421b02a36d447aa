package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

// TestNewSourceValidation: NewSource reports every problem with its
// arguments and options at once, each naming what to fix.
func TestNewSourceValidation(t *testing.T) {
	ok := Client{Brokers: []string{"localhost:9092"}}
	t1 := Topics("t")
	for _, c := range []struct {
		name   string
		client Client
		topics Subscription
		opts   []SourceOption
		want   []string // each must appear in the error
	}{
		{"no brokers", Client{}, t1, nil, []string{"Client.Brokers"}},
		{"bad broker", Client{Brokers: []string{"nohost"}}, t1, nil, []string{"host:port"}},
		{"no topics", ok, Subscription{}, nil, []string{"kafka.Topics", "kafka.TopicPattern"}},
		{"no names", ok, Topics(), nil, []string{"Topics() names no topic"}},
		{"nil pattern", ok, TopicPattern(nil), nil, []string{"TopicPattern(nil)"}},
		{"bad topic", ok, Topics("a/b"), nil, []string{"Topics", `"a/b"`}},
		{"committed without group", ok, t1, []SourceOption{Start(Committed())}, []string{"Start(Committed())", "Group"}},
		{"zero time", ok, t1, []SourceOption{Start(AtTime(time.Time{}))}, []string{"AtTime"}},
		{"offsets of another topic", ok, t1, []SourceOption{Start(Offsets(map[string]map[int32]int64{"u": {0: 1}}))}, []string{`"u"`, "Topics"}},
		{"offsets not matching", ok, TopicPattern(regexp.MustCompile("^t")), []SourceOption{Start(Offsets(map[string]map[int32]int64{"u": {0: 1}}))}, []string{`"u"`, "TopicPattern"}},
		{"negative offset", ok, t1, []SourceOption{Start(Offsets(map[string]map[int32]int64{"t": {0: -1}}))}, []string{"offset -1"}},
		{"negative intervals", ok, t1, []SourceOption{DiscoveryInterval(-1), CommitInterval(-time.Second)}, []string{"DiscoveryInterval(-1ns)", "CommitInterval(-1s)"}},
		{"nil logger", ok, t1, []SourceOption{WithLogger(nil)}, []string{"WithLogger(nil)"}},
		{"everything", Client{}, Subscription{}, []SourceOption{Start(Committed())}, []string{"Client.Brokers", "no topics", "Group"}},
	} {
		_, err := NewSource(c.client, c.topics, StringValue, c.opts...)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %s", c.name, err, w)
			}
		}
	}
	type event struct{}
	if _, err := NewSource[event](ok, t1, nil); err == nil || !strings.Contains(err.Error(), "deserializer is nil") {
		t.Errorf("a source without a deserializer: %v", err)
	}
}

func TestNewSourceDefaults(t *testing.T) {
	cl := Client{Brokers: []string{"k:9092"}}
	s, err := NewSource(cl, Topics("b", "a", "b"), StringValue, Group("g"))
	if err != nil {
		t.Fatal(err)
	}
	if s.cfg.discoveryInterval != DefaultDiscoveryInterval || s.cfg.commitInterval != DefaultCommitInterval || s.log != slog.Default() {
		t.Fatalf("intervals %v, %v, logger %v; want the defaults", s.cfg.discoveryInterval, s.cfg.commitInterval, s.log)
	}
	if s.Boundedness() != source.Unbounded {
		t.Fatal("a source is unbounded by default")
	}
	want := "kafka source: topics a,b, brokers k:9092, start earliest, discovery every 10s, group \"g\" (without checkpoints: commit every 5s), read_committed"
	if got := s.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
	if v, err := s.deserialize(&kgo.Record{Value: []byte("hi")}); err != nil || v != "hi" {
		t.Fatalf("StringValue: %q, %v", v, err)
	}
	bs, err := NewSource(cl, Topics("a"), BytesValue, Bounded())
	if err != nil {
		t.Fatal(err)
	}
	if v, err := bs.deserialize(&kgo.Record{Value: []byte("hi")}); err != nil || string(v) != "hi" {
		t.Fatalf("BytesValue: %q, %v", v, err)
	}
	if bs.Boundedness() != source.Bounded {
		t.Fatal("Bounded is not bounded")
	}
	// Zero turns discovery and scheduled commits off.
	off, err := NewSource(cl, TopicPattern(regexp.MustCompile("^a")), StringValue, Group("g"), DiscoveryInterval(0), CommitInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	want = "kafka source: topics matching \"^a\", brokers k:9092, start earliest, no discovery, group \"g\", read_committed"
	if got := off.String(); got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

// srcRunJob runs a job that reads src at parallelism par into a collector and
// returns what it collected.
func srcRunJob(t *testing.T, src *Source[string], par int, opts ...weir.EnvOption) []string {
	t.Helper()
	env := weir.NewEnv(append([]weir.EnvOption{weir.Parallelism(par)}, opts...)...)
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.FromSource(env, src), out)
	if err := env.Execute(srcCtx(t), "kafka"); err != nil {
		t.Fatal(err)
	}
	return out.Records()
}

// srcStartJob runs a job in the background until the test ends or stop is
// called; stop returns the job's error, nil when it was cancelled.
func srcStartJob(t *testing.T, env *weir.Env) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(srcCtx(t))
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx, "kafka") }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
			if errors.Is(err, context.Canceled) {
				err = nil
			}
		}
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// TestSourceBoundedJobReadsEveryRecord: a bounded job reads exactly the
// records of a 4-partition topic, each once, and finishes, at parallelism
// 1 and 3.
func TestSourceBoundedJobReadsEveryRecord(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 4, "access")
	want := srcProduce(t, b, "access", 4, 250)
	for _, par := range []int{1, 3} {
		src := srcNew(t, b, Topics("access"), Bounded())
		srcSameMultiset(t, srcRunJob(t, src, par), want)
	}
}

// TestSourceJobDeadLetters: in a job, records the deserializer rejects
// reach weir.SourceDeadLetters with their partition and offset, are
// counted, and the job reads everything else and finishes.
func TestSourceJobDeadLetters(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 2, "mixed")
	var recs []*kgo.Record
	var want []string
	for p := range int32(2) {
		for i := range 20 {
			v := fmt.Sprintf("ok-%d-%d", p, i)
			if i%5 == 0 {
				v = fmt.Sprintf("bad-%d-%d", p, i)
			} else {
				want = append(want, v)
			}
			recs = append(recs, srcRecord("mixed", p, v))
		}
	}
	if err := b.Produce(srcCtx(t), recs...); err != nil {
		t.Fatal(err)
	}
	src := srcNewFunc(t, b, Topics("mixed"), func(r *kgo.Record) (string, error) {
		if strings.HasPrefix(string(r.Value), "bad") {
			return "", errors.New("not ok")
		}
		return string(r.Value), nil
	}, Bounded())
	env := weir.NewEnv(weir.Parallelism(2))
	good := weirtest.NewCollector[string]()
	dead := weirtest.NewCollector[source.DeadLetter]()
	s := weir.FromSource(env, src)
	weir.SinkTo(s, good)
	weir.SinkTo(weir.SourceDeadLetters(s), dead)
	if err := env.Execute(srcCtx(t), "dead"); err != nil {
		t.Fatal(err)
	}
	srcSameMultiset(t, good.Records(), want)
	var got []string
	for _, d := range dead.Records() {
		got = append(got, fmt.Sprintf("%s@%s:%s:%s", d.Split, d.Position, d.Raw, d.Reason))
	}
	var wantDead []string
	for p := range 2 {
		for i := 0; i < 20; i += 5 {
			wantDead = append(wantDead, fmt.Sprintf("mixed-%d@%d:bad-%d-%d:not ok", p, i, p, i))
		}
	}
	srcSameMultiset(t, got, wantDead)
	if src.DeadLetters() != 8 {
		t.Fatalf("counted %d dead letters, want 8", src.DeadLetters())
	}
}

// TestSourceStartModesInJob: bounded jobs that start from the latest
// offsets, the group's committed offsets, a time, and given offsets read
// exactly the records from there to the end.
func TestSourceStartModesInJob(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 2, "modes")
	ctx := srcCtx(t)
	base := time.UnixMilli(1_700_000_000_000)
	var recs []*kgo.Record
	for p := range int32(2) {
		for i := range 10 {
			r := srcRecord("modes", p, fmt.Sprintf("modes/%d/%d", p, i))
			r.Timestamp = base.Add(time.Duration(i) * time.Minute)
			recs = append(recs, r)
		}
	}
	if err := b.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	cl, err := b.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := srcCommit(ctx, cl, "resume", "modes", map[int32]int64{0: 8, 1: 3}); err != nil {
		t.Fatal(err)
	}
	from := func(starts ...int) []string {
		var v []string
		for p, s := range starts {
			for i := s; i < 10; i++ {
				v = append(v, fmt.Sprintf("modes/%d/%d", p, i))
			}
		}
		return v
	}
	for _, c := range []struct {
		start StartOffsets
		want  []string
	}{
		{Latest(), nil},
		{Committed(), from(8, 3)},
		{AtTime(base.Add(6*time.Minute - time.Second)), from(6, 6)},
		{Offsets(map[string]map[int32]int64{"modes": {0: 9}}), from(9, 0)},
	} {
		src := srcNew(t, b, Topics("modes"), Group("resume"), Start(c.start), Bounded())
		got := srcRunJob(t, src, 2)
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		srcSameMultiset(t, got, c.want)
	}
}

// TestSourceLatestReadsOnlyNewRecords: an unbounded job that starts at the
// latest offsets reads what is written after it started, and nothing
// written before.
func TestSourceLatestReadsOnlyNewRecords(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 2, "live")
	ctx := srcCtx(t)
	srcProduce(t, b, "live", 2, 50)
	env := weir.NewEnv(weir.Parallelism(2))
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.FromSource(env, srcNew(t, b, Topics("live"), Start(Latest()))), out)
	stop := srcStartJob(t, env)
	// The job's start is not observable from here: write until it reads.
	var written []string
	for i := 0; out.Len() == 0; i++ {
		v := fmt.Sprintf("new/%d/%d", i%2, i)
		if err := b.Produce(ctx, srcRecord("live", int32(i%2), v)); err != nil {
			t.Fatal(err)
		}
		written = append(written, v)
		select {
		case <-ctx.Done():
			t.Fatal("the job read nothing")
		case <-time.After(10 * time.Millisecond):
		}
	}
	// Then the last record written must come too.
	last := written[len(written)-1]
	srcWaitFor(t, ctx, "the last record", func() bool { return slices.Contains(out.Records(), last) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for _, v := range out.Records() {
		if !strings.HasPrefix(v, "new/") {
			t.Fatalf("read %s, written before the job started", v)
		}
	}
}

// TestSourceDiscoversNewPartitions: partitions added to a topic while an
// unbounded job runs are found and read from their start.
func TestSourceDiscoversNewPartitions(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 2, "grow")
	ctx := srcCtx(t)
	want := srcProduce(t, b, "grow", 2, 10)
	env := weir.NewEnv(weir.Parallelism(2))
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.FromSource(env, srcNew(t, b, Topics("grow"), DiscoveryInterval(30*time.Millisecond))), out)
	stop := srcStartJob(t, env)
	srcWaitFor(t, ctx, "the first partitions", func() bool { return out.Len() == len(want) })
	if err := b.AddPartitions(ctx, "grow", 2); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for p := int32(2); p < 4; p++ {
		for i := range 10 {
			v := fmt.Sprintf("grow/%d/%d", p, i)
			recs = append(recs, srcRecord("grow", p, v))
			want = append(want, v)
		}
	}
	if err := b.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	srcWaitFor(t, ctx, "the new partitions", func() bool { return out.Len() >= len(want) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	srcSameMultiset(t, out.Records(), want)
}

// TestSourceCommitsOffsetsOnCheckpoints: with checkpoints on, the readers
// commit the offsets of completed checkpoints to the group, which reach
// the end of every partition once everything was read.
func TestSourceCommitsOffsetsOnCheckpoints(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 4, "pvuv")
	ctx := srcCtx(t)
	want := srcProduce(t, b, "pvuv", 4, 100)
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, t.TempDir()))
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.FromSource(env, srcNew(t, b, Topics("pvuv"), Group("dash"))), out)
	stop := srcStartJob(t, env)
	ends, err := b.EndOffsets(ctx, "pvuv")
	if err != nil {
		t.Fatal(err)
	}
	srcWaitFor(t, ctx, "the group's offsets at the ends", func() bool {
		c, err := b.CommittedOffsets(ctx, "dash")
		return err == nil && maps.Equal(c["pvuv"], ends)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	srcSameMultiset(t, out.Records(), want)
	completed := 0
	for _, s := range env.CheckpointStats() {
		if s.Status == "completed" {
			completed++
		}
	}
	if completed == 0 {
		t.Fatal("offsets were committed without a completed checkpoint")
	}
}

// TestSourceCommitsOffsetsAtTheEndOfABoundedJob: a bounded job whose
// checkpoints never come (the first is due in an hour) still leaves its
// group at the ends of the partitions, so lag tools do not show a finished
// job behind.
func TestSourceCommitsOffsetsAtTheEndOfABoundedJob(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 3, "done")
	ctx := srcCtx(t)
	want := srcProduce(t, b, "done", 3, 50)
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(time.Hour, t.TempDir()))
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.FromSource(env, srcNew(t, b, Topics("done"), Group("batch"), Bounded())), out)
	if err := env.Execute(ctx, "bounded"); err != nil {
		t.Fatal(err)
	}
	srcSameMultiset(t, out.Records(), want)
	c, err := b.CommittedOffsets(ctx, "batch")
	if err != nil {
		t.Fatal(err)
	}
	if want := map[int32]int64{0: 50, 1: 50, 2: 50}; !maps.Equal(c["done"], want) {
		t.Fatalf("the group committed %v, want %v", c["done"], want)
	}
}

// TestSourceCommitsOffsetsWithoutCheckpoints: without checkpoints, the
// readers commit their offsets every CommitInterval.
func TestSourceCommitsOffsetsWithoutCheckpoints(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 2, "auto")
	ctx := srcCtx(t)
	srcProduce(t, b, "auto", 2, 100)
	env := weir.NewEnv(weir.Parallelism(2))
	weir.SinkTo(weir.FromSource(env, srcNew(t, b, Topics("auto"), Group("auto"), CommitInterval(10*time.Millisecond))), weirtest.NewCollector[string]())
	stop := srcStartJob(t, env)
	srcWaitFor(t, ctx, "the group's offsets at the ends", func() bool {
		c, err := b.CommittedOffsets(ctx, "auto")
		return err == nil && maps.Equal(c["auto"], map[int32]int64{0: 100, 1: 100})
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// srcFailOnce passes s on through an operator that fails once, on the
// first record that fail picks; failures counts the failures injected.
func srcFailOnce(s weir.Stream[string], fail func(string) bool) (_ weir.Stream[string], failures *atomic.Int64) {
	failures = new(atomic.Int64)
	return weir.Process(s, func(_ *weir.Context, v string, o weir.Emitter[string]) error {
		if fail(v) && failures.CompareAndSwap(0, 1) {
			return errors.New("injected failure")
		}
		o.Emit(v)
		return nil
	}, weir.Name("flaky")), failures
}

// srcSecondWave produces n records "second/P/I" to each of topic's
// partitions and returns their values.
func srcSecondWave(t *testing.T, ctx context.Context, b *kafkatest.Broker, topic string, partitions int32, n int) []string {
	t.Helper()
	var recs []*kgo.Record
	var values []string
	for p := range partitions {
		for i := range n {
			v := fmt.Sprintf("second/%d/%d", p, i)
			recs = append(recs, srcRecord(topic, p, v))
			values = append(values, v)
		}
	}
	if err := b.Produce(ctx, recs...); err != nil {
		t.Fatal(err)
	}
	return values
}

// TestSourceExactlyOnceAcrossFailure: a job with checkpoints reads a first
// wave of records and commits some of its exactly-once output; then it
// fails on the first record of a second wave and restarts from its latest
// checkpoint. Its output holds every record exactly once: each partition
// resumed at the checkpoint's offset, neither before it (records twice)
// nor after it (records lost), and the restored enumerator did not find
// the partitions it knew again (which would read them twice from the
// start).
func TestSourceExactlyOnceAcrossFailure(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 4, "orders")
	ctx := srcCtx(t)
	want := srcProduce(t, b, "orders", 4, 200)
	env := weir.NewEnv(weir.Parallelism(3), weir.Checkpoints(15*time.Millisecond, t.TempDir()),
		weir.Restart(weir.FixedDelayRestart(3, time.Millisecond)))
	out := weirtest.NewTxCollector[string]()
	s, failures := srcFailOnce(weir.FromSource(env, srcNew(t, b, Topics("orders"), DiscoveryInterval(10*time.Millisecond))),
		func(v string) bool { return strings.HasPrefix(v, "second/") })
	weir.SinkTo(s, out, weir.Parallelism(1))
	stop := srcStartJob(t, env)
	srcWaitFor(t, ctx, "output committed by a checkpoint", func() bool { return len(out.Records()) > 0 })
	want = append(want, srcSecondWave(t, ctx, b, "orders", 4, 200)...)
	srcWaitFor(t, ctx, "every record in the committed output", func() bool {
		got := map[string]bool{}
		for _, v := range out.Records() {
			got[v] = true
		}
		return len(got) == len(want)
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if failures.Load() != 1 {
		t.Fatal("no failure was injected")
	}
	srcSameMultiset(t, out.Records(), want)
}

// TestSourceExactlyOnceAcrossFailureMidFetch: the reader takes fetches
// larger than one poll emits, so checkpoints fall while it holds records
// it has not emitted yet, and the failure comes in the middle of such a
// fetch. The checkpoints hold the positions after the records emitted, not
// after those taken from the client: the output has every record exactly
// once.
func TestSourceExactlyOnceAcrossFailureMidFetch(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 2, "big")
	ctx := srcCtx(t)
	want := srcProduce(t, b, "big", 2, 100)
	env := weir.NewEnv(weir.Parallelism(1), weir.Checkpoints(15*time.Millisecond, t.TempDir()),
		weir.Restart(weir.FixedDelayRestart(3, time.Millisecond)))
	out := weirtest.NewTxCollector[string]()
	failAt := fmt.Sprintf("second/1/%d", 2*maxPollRecords+17)
	s, failures := srcFailOnce(weir.FromSource(env, srcNew(t, b, Topics("big"))), func(v string) bool { return v == failAt })
	weir.SinkTo(s, out)
	stop := srcStartJob(t, env)
	srcWaitFor(t, ctx, "output committed by a checkpoint", func() bool { return len(out.Records()) > 0 })
	// Each partition's second batch comes in fetches of several polls.
	want = append(want, srcSecondWave(t, ctx, b, "big", 2, 3*maxPollRecords)...)
	srcWaitFor(t, ctx, "every record in the committed output", func() bool { return len(out.Records()) >= len(want) })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if failures.Load() != 1 {
		t.Fatal("no failure was injected")
	}
	srcSameMultiset(t, out.Records(), want)
}

// TestSourceReadCommitted: records of aborted transactions are not read,
// those of committed ones are, and a bounded job ends although the last
// offsets of the log are a transaction's abort marker.
func TestSourceReadCommitted(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 1, "txns")
	ctx := srcCtx(t)
	want := srcProduce(t, b, "txns", 1, 3)
	cl := srcTxnProducer(t, b, "writer")
	for i, commit := range []bool{true, false, true, false} {
		var vals []string
		for j := range 5 {
			vals = append(vals, fmt.Sprintf("txn-%d-%d", i, j))
		}
		srcProduceTxn(t, ctx, cl, "txns", vals...)
		end := kgo.TryAbort
		if commit {
			end = kgo.TryCommit
			want = append(want, vals...)
		}
		if err := cl.EndTransaction(ctx, end); err != nil {
			t.Fatal(err)
		}
	}
	got := srcRunJob(t, srcNew(t, b, Topics("txns"), Bounded()), 1)
	srcSameMultiset(t, got, want)
}

// TestSourcePerPartitionWatermarks: with a watermark strategy, each
// partition has its own watermark, and a partition that has not been read
// yet holds the source's back. Records of a lagging partition, read after
// another partition ran an hour ahead, are counted in their windows
// instead of being dropped as late.
func TestSourcePerPartitionWatermarks(t *testing.T) {
	srcLeakCheck(t)
	b := srcBroker(t, 2, "wm")
	ctx := srcCtx(t)
	t0 := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	produceAt := func(p int32, at time.Time, n int) {
		t.Helper()
		var recs []*kgo.Record
		for i := range n {
			r := srcRecord("wm", p, fmt.Sprintf("p%d", p))
			r.Timestamp = at.Add(time.Duration(i) * time.Second)
			recs = append(recs, r)
		}
		if err := b.Produce(ctx, recs...); err != nil {
			t.Fatal(err)
		}
	}
	env := weir.NewEnv(weir.Parallelism(1), weir.WatermarkInterval(5*time.Millisecond))
	s := weir.FromSourceWithWatermarks(env, srcNew(t, b, Topics("wm")), weir.BoundedOutOfOrderness[string](0, nil))
	raw := weirtest.NewCollector[string]()
	weir.SinkTo(s, raw)
	counts := weir.AggregateWindow(weir.Window(weir.KeyBy(s, func(v string) string { return v }), window.Tumbling(time.Minute)),
		weir.AggregateFunc[string, int, int]{
			Init:   func() int { return 0 },
			Add:    func(a int, _ string) int { return a + 1 },
			Result: func(a int) int { return a },
			Merge:  func(a, b int) int { return a + b },
		},
		func(k string, w window.Window, n int, out weir.Emitter[string]) error {
			out.Emit(fmt.Sprintf("%s %s %d", k, w.StartTime().Format("15:04"), n))
			return nil
		})
	results := weirtest.NewCollector[string]()
	weir.SinkTo(counts, results)
	stop := srcStartJob(t, env)

	produceAt(0, t0.Add(time.Hour), 5)
	srcWaitFor(t, ctx, "partition 0's records", func() bool { return raw.Len() == 5 })
	produceAt(1, t0, 5)
	// Both partitions move past both windows.
	produceAt(0, t0.Add(3*time.Hour), 1)
	produceAt(1, t0.Add(3*time.Hour), 1)
	srcWaitFor(t, ctx, "the window of partition 0", func() bool { return slices.Contains(results.Records(), "p0 11:00 5") })
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	// Windows fire in time order: the earlier one came first.
	if got := results.Records(); !slices.Contains(got, "p1 10:00 5") {
		t.Fatalf("window results %v lack partition 1's 5 records at 10:00: they were dropped as late", got)
	}
}
