package runtime

import (
	"context"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/keygroup"
)

// TestBufferTimeoutSendsPartialBatch: a record waits in its partial batch
// until the batch fills or the buffer timeout's tick flushes it; with a
// zero timeout it leaves at once.
func TestBufferTimeoutSendsPartialBatch(t *testing.T) {
	notify := []chan struct{}{make(chan struct{}, 1)}
	ex := NewExchange[int](Forward, 1, notify, nil, ExchangeOptions{BatchSize: 4, BufferTimeout: 5 * time.Millisecond})
	w := ex.Writer(context.Background(), 0, &Metrics{})
	in := ex.Inputs(0)[0].ch
	w.Collect(&Record[int]{Value: 1})
	if len(in) != 0 {
		t.Fatal("a partial batch left before its timeout")
	}
	next, err := w.Tick(0)
	if err != nil || next != 5 {
		t.Fatalf("Tick = %d, %v; want the next tick 5ms later", next, err)
	}
	if e := <-in; len(e.batch.Records) != 1 || e.batch.Records[0].Value != 1 {
		t.Fatalf("flushed batch %+v", e.batch)
	}
	for v := range 4 {
		w.Collect(&Record[int]{Value: v})
	}
	if e := <-in; len(e.batch.Records) != 4 {
		t.Fatalf("a full batch of %d records, want 4", len(e.batch.Records))
	}

	now := NewExchange[int](Forward, 1, notify, nil, ExchangeOptions{BatchSize: 4, BufferTimeout: 0})
	w0 := now.Writer(context.Background(), 0, &Metrics{})
	w0.Collect(&Record[int]{Value: 7})
	if len(now.Inputs(0)[0].ch) != 1 {
		t.Fatal("with no buffer timeout a record did not leave at once")
	}
}

// TestRecycledBatchesHoldNoRecords: a batch back on the free list points to
// none of the records it carried, which would keep what they point to (a
// source's line blocks) alive until a batch as long overwrote them.
func TestRecycledBatchesHoldNoRecords(t *testing.T) {
	notify := []chan struct{}{make(chan struct{}, 1)}
	ex := NewExchange[*[1 << 10]byte](Forward, 1, notify, nil, ExchangeOptions{BatchSize: 4, BufferTimeout: 0})
	w := ex.Writer(context.Background(), 0, &Metrics{})
	for range 4 {
		w.Collect(&Record[*[1 << 10]byte]{Value: new([1 << 10]byte)})
	}
	e := <-ex.Inputs(0)[0].ch
	ex.putBatch(e.batch)
	b := ex.getBatch()
	if b != e.batch {
		t.Fatal("the batch was not recycled")
	}
	for i, r := range b.Records[:cap(b.Records)] {
		if r.Value != nil {
			t.Errorf("slot %d of a recycled batch still points to a record's value", i)
		}
	}
}

// TestBatchesSizedByTheirRecords: without a batch size, a batch holds about
// BatchBytes of records, 16 to 512 of them.
func TestBatchesSizedByTheirRecords(t *testing.T) {
	type partial struct {
		Key  string
		Acc  [20]int64
		Time int64
	}
	notify := []chan struct{}{make(chan struct{}, 1)}
	for _, tc := range []struct {
		name string
		got  int
		want int
	}{
		{"int", NewExchange[int](Forward, 1, notify, nil, ExchangeOptions{}).opts.BatchSize, 512},
		{"a 192-byte partial", NewExchange[partial](Forward, 1, notify, nil, ExchangeOptions{}).opts.BatchSize, BatchBytes / 192},
		{"a 4 KiB array", NewExchange[[4096]byte](Forward, 1, notify, nil, ExchangeOptions{}).opts.BatchSize, 16},
		{"set by the job", NewExchange[partial](Forward, 1, notify, nil, ExchangeOptions{BatchSize: 1000}).opts.BatchSize, 1000},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %d records a batch, want %d", tc.name, tc.got, tc.want)
		}
	}
}

// TestHashToOneReceiverSkipsTheHash: every key group of a Hash exchange
// with one receiver is that receiver's, so its records go there without a
// call of the hash; with two receivers each record goes where its hash
// says.
func TestHashToOneReceiverSkipsTheHash(t *testing.T) {
	calls := 0
	hash := func(v int) uint64 { calls++; return uint64(v) * 0x9e3779b97f4a7c15 }
	opts := ExchangeOptions{BatchSize: 1, BufferTimeout: 0, MaxParallelism: 128}
	one := NewExchange[int](Hash, 1, []chan struct{}{make(chan struct{}, 1)}, hash, opts)
	w := one.Writer(context.Background(), 0, &Metrics{})
	for v := range 3 {
		if err := w.Collect(&Record[int]{Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(one.Inputs(0)[0].ch); n != 3 || calls != 0 {
		t.Fatalf("one receiver: %d of 3 records arrived, the hash was called %d times; want all, and none", n, calls)
	}

	two := NewExchange[int](Hash, 1, []chan struct{}{make(chan struct{}, 1), make(chan struct{}, 1)}, hash, opts)
	w = two.Writer(context.Background(), 0, &Metrics{})
	want := [2]int{}
	for v := range 3 {
		want[keygroup.Subtask(keygroup.Of(hash(v), 128), 128, 2)]++
		if err := w.Collect(&Record[int]{Value: v}); err != nil {
			t.Fatal(err)
		}
	}
	for r := range 2 {
		if n := len(two.Inputs(r)[0].ch); n != want[r] {
			t.Fatalf("two receivers: receiver %d got %d records, want %d", r, n, want[r])
		}
	}
}
