package kafka

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/source"
)

// srcLeakCheck fails the test if it leaves goroutines behind. Call it first,
// so that its check runs after every other cleanup.
func srcLeakCheck(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// srcCtx returns a context that ends with the test, or after a minute:
// a test that waits for something that never comes fails instead of
// hanging.
func srcCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// srcBroker starts an in-process broker with the given topics, each with
// partitions partitions.
func srcBroker(t *testing.T, partitions int, topics ...string) *kafkatest.Broker {
	t.Helper()
	b, err := kafkatest.Start(kafkatest.Config{Partitions: partitions, Topics: topics})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// srcRecord is a record for partition p of topic, with value v.
func srcRecord(topic string, p int32, v string) *kgo.Record {
	return &kgo.Record{Topic: topic, Partition: p, Value: []byte(v)}
}

// srcProduce writes n records to each of partitions partitions of topic, with
// values "TOPIC/P/I", and returns the values.
func srcProduce(t *testing.T, b *kafkatest.Broker, topic string, partitions, n int) []string {
	t.Helper()
	recs, vals := srcRecords(topic, partitions, n)
	if err := b.Produce(srcCtx(t), recs...); err != nil {
		t.Fatal(err)
	}
	return vals
}

// srcRecords returns n records for each of partitions partitions of
// topic, with values "TOPIC/P/I", and the values.
func srcRecords(topic string, partitions, n int) ([]*kgo.Record, []string) {
	var recs []*kgo.Record
	var vals []string
	for p := range partitions {
		for i := range n {
			v := fmt.Sprintf("%s/%d/%d", topic, p, i)
			recs = append(recs, srcRecord(topic, int32(p), v))
			vals = append(vals, v)
		}
	}
	return recs, vals
}

// srcClient returns the connection options of b.
func srcClient(b *kafkatest.Broker) Client { return Client{Brokers: []string{b.Addr()}} }

// srcNew returns a string source of b.
func srcNew(t *testing.T, b *kafkatest.Broker, topics Subscription, opts ...SourceOption) *Source[string] {
	t.Helper()
	return srcNewFunc(t, b, topics, StringValue, opts...)
}

// srcNewFunc returns a source of b with the deserializer des.
func srcNewFunc[T any](t *testing.T, b *kafkatest.Broker, topics Subscription, des func(*kgo.Record) (T, error), opts ...SourceOption) *Source[T] {
	t.Helper()
	s, err := NewSource(srcClient(b), topics, des, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// srcSorted returns the values sorted.
func srcSorted(v []string) []string {
	c := slices.Clone(v)
	slices.Sort(c)
	return c
}

// srcSameMultiset fails the test unless got and want hold the same values
// the same number of times.
func srcSameMultiset(t *testing.T, got, want []string) {
	t.Helper()
	g, w := srcSorted(got), srcSorted(want)
	if slices.Equal(g, w) {
		return
	}
	seen := map[string]int{}
	for _, v := range g {
		seen[v]++
	}
	var dup, extra []string
	for v, n := range seen {
		if n > 1 {
			dup = append(dup, v)
		}
		if !slices.Contains(w, v) {
			extra = append(extra, v)
		}
	}
	var missing []string
	for _, v := range w {
		if seen[v] == 0 {
			missing = append(missing, v)
		}
	}
	t.Fatalf("got %d records, want %d: %d missing (first %v), %d duplicated (first %v), %d unexpected (first %v)",
		len(g), len(w), len(missing), srcFirst(missing), len(dup), srcFirst(dup), len(extra), srcFirst(extra))
}

func srcFirst(v []string) []string { return v[:min(3, len(v))] }

// srcWaitFor polls cond until it holds or ctx ends.
func srcWaitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// srcEnumCtx is an EnumeratorContext that records what the enumerator
// does; with restored set it is a RestoringContext.
type srcEnumCtx struct {
	par int

	mu       sync.Mutex
	assigned map[int][]*Split
	noMore   map[int]bool
}

func newSrcEnumCtx(par int) *srcEnumCtx {
	return &srcEnumCtx{par: par, assigned: map[int][]*Split{}, noMore: map[int]bool{}}
}

func (c *srcEnumCtx) Parallelism() int { return c.par }
func (c *srcEnumCtx) Assign(subtask int, splits ...source.Split) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noMore[subtask] {
		panic(fmt.Sprintf("split assigned to subtask %d after NoMoreSplits", subtask))
	}
	for _, s := range splits {
		c.assigned[subtask] = append(c.assigned[subtask], s.(*Split).clone())
	}
}
func (c *srcEnumCtx) NoMoreSplits(subtask int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noMore[subtask] = true
}

// all returns every assigned split as "ID@OFFSET..STOP", sorted.
func (c *srcEnumCtx) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, splits := range c.assigned {
		for _, s := range splits {
			out = append(out, s.String())
		}
	}
	slices.Sort(out)
	return out
}

// srcRestoringCtx is a srcEnumCtx of a job that restores a checkpoint.
type srcRestoringCtx struct {
	*srcEnumCtx
	restored []source.Split
}

func (c srcRestoringCtx) Restored() ([]source.Split, bool) { return c.restored, true }

// srcReaderCtx is the ReaderContext of a reader driven by a test.
type srcReaderCtx struct {
	subtask, par  int
	checkpointing bool
}

func (c srcReaderCtx) Subtask() int        { return c.subtask }
func (c srcReaderCtx) Parallelism() int    { return c.par }
func (c srcReaderCtx) RequestSplit()       {}
func (c srcReaderCtx) Checkpointing() bool { return c.checkpointing }

// srcOutput is an Output with per-split outputs and dead letters, as the
// runtime's.
type srcOutput struct {
	records  []srcEmitted
	released []string
	dead     []source.DeadLetter
	splits   map[string]*srcSplitOut
}

type srcEmitted struct {
	value, split string
	ts           int64
}

type srcSplitOut struct {
	o  *srcOutput
	id string
}

func (s *srcSplitOut) Collect(v string) { s.CollectAt(v, -1) }
func (s *srcSplitOut) CollectAt(v string, ts int64) {
	s.o.records = append(s.o.records, srcEmitted{v, s.id, ts})
}

func (o *srcOutput) Collect(v string) { o.CollectAt(v, -1) }
func (o *srcOutput) CollectAt(v string, ts int64) {
	o.records = append(o.records, srcEmitted{v, "", ts})
}
func (o *srcOutput) DeadLetter(d source.DeadLetter) { o.dead = append(o.dead, d) }
func (o *srcOutput) ReleaseSplit(id string)         { o.released = append(o.released, id) }
func (o *srcOutput) ForSplit(id string) source.Output[string] {
	if o.splits == nil {
		o.splits = map[string]*srcSplitOut{}
	}
	if o.splits[id] == nil {
		o.splits[id] = &srcSplitOut{o, id}
	}
	return o.splits[id]
}

func (o *srcOutput) values() []string {
	var v []string
	for _, r := range o.records {
		v = append(v, r.value)
	}
	return v
}

// srcPollUntil polls r into out until done holds or the reader ends, and
// returns the last status.
func srcPollUntil(t *testing.T, ctx context.Context, r source.Reader[string], out source.Output[string], done func() bool) source.Status {
	t.Helper()
	for {
		if done != nil && done() {
			return source.MoreAvailable
		}
		st, err := r.Poll(ctx, out)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		if st == source.EndOfInput {
			return st
		}
		if ctx.Err() != nil {
			t.Fatal("gave up polling")
		}
	}
}

// srcPartitionOf returns P of a value "TOPIC/P/I".
func srcPartitionOf(v string) int {
	parts := strings.Split(v, "/")
	p, _ := strconv.Atoi(parts[len(parts)-2])
	return p
}
