package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirstream/weir/codec"
)

// wire connects channel [s][r] of exchange from, in the sending process,
// to channel [s][r] of exchange to, in the receiving one, as a transport
// does: Outbound → a pipe that holds depth elements per stream →
// Deliver. It stands for the network in the tests of the runtime.
type wire[T any] struct {
	from, to *Exchange[T]
	s, r     int
	data     chan []byte
	prio     chan []byte
	mu       sync.Mutex
	sent     int   // data elements handed to the pipe
	sizes    []int // their sizes
	wg       sync.WaitGroup
	errs     chan error
}

func connect[T any](ctx context.Context, from, to *Exchange[T], s, r, depth int) *wire[T] {
	w := &wire[T]{from: from, to: to, s: s, r: r, data: make(chan []byte, depth), prio: make(chan []byte, depth), errs: make(chan error, 3)}
	pipe := func(p chan []byte, count bool) func([]byte) error {
		return func(b []byte) error {
			if count {
				w.mu.Lock()
				w.sent++
				w.sizes = append(w.sizes, len(b))
				w.mu.Unlock()
			}
			select {
			case p <- bytes.Clone(b):
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	w.wg.Add(3)
	go func() {
		defer w.wg.Done()
		err := from.Outbound(ctx, s, r, pipe(w.data, true), pipe(w.prio, false))
		close(w.data)
		close(w.prio)
		w.errs <- err
	}()
	deliver := func(p chan []byte, prio bool) {
		defer w.wg.Done()
		for b := range p {
			if err := to.Deliver(ctx, s, r, b, prio); err != nil {
				w.errs <- err
				for range p {
				}
				return
			}
		}
	}
	go deliver(w.data, false)
	go deliver(w.prio, true)
	return w
}

// wait joins the wire's goroutines and returns the first error.
func (w *wire[T]) wait() error {
	w.wg.Wait()
	close(w.errs)
	var errs []error
	for err := range w.errs {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (w *wire[T]) elements() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent
}

// read takes one element from receiver r's input from sender s of ex,
// describes it as the tests expect it, and recycles its batch as a gate
// does.
func read[T any](ex *Exchange[T], s, r int) string {
	e := <-ex.chans[s][r]
	return describe(ex, e)
}

func describe[T any](ex *Exchange[T], e envelope[T]) string {
	switch e.kind {
	case kindData:
		var parts []string
		for _, rec := range e.batch.Records {
			if rec.Time == NoTimestamp {
				parts = append(parts, fmt.Sprint(rec.Value))
			} else {
				parts = append(parts, fmt.Sprintf("%v@%d", rec.Value, rec.Time))
			}
		}
		ex.putBatch(e.batch)
		return "batch " + strings.Join(parts, " ")
	case kindWatermark:
		return "watermark " + wmString(e.value)
	case kindEnd:
		return "end"
	case kindLatency:
		m := markerOf(e.value, e.origin)
		return fmt.Sprintf("latency marker %d from %d/%d", m.Time, m.Source, m.Subtask)
	}
	return fmt.Sprintf("%s %d", e.kind, e.value)
}

// TestRemoteChannelKeepsOrder: records (in batches, with their times),
// watermarks, idleness, aligned barriers, a latency marker (after the
// partial batch before it), an unaligned barrier's marker and end of input
// cross from one process's exchange to another's in the
// order the writer sent them; the unaligned barrier itself arrives on the
// priority channel.
func TestRemoteChannelKeepsOrder(t *testing.T) {
	ctx := context.Background()
	opts := ExchangeOptions{BatchSize: 3, BufferTimeout: time.Hour}
	// Two processes: the sender's has no local receiver, so nothing reads
	// its notify channel; the receiver's has no local sender.
	a := NewExchange[string](Rebalance, 1, []chan struct{}{make(chan struct{}, 1)}, nil, opts)
	notify := make(chan struct{}, 1)
	b := NewExchange[string](Rebalance, 1, []chan struct{}{notify}, nil, opts)
	link := connect(ctx, a, b, 0, 0, 2)

	w := a.Writer(ctx, 0, &Metrics{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i, v := range []string{"a", "b", "c", "d"} {
		must(w.Collect(&Record[string]{Value: v, Time: int64(1000 - i)}))
	}
	must(w.Watermark(990))
	must(w.Collect(&Record[string]{Value: "no time", Time: NoTimestamp}))
	must(w.Collect(&Record[string]{Value: "", Time: math.MaxInt64}))
	must(w.Watermark(Idle))
	must(w.Barrier(1))
	must(w.Collect(&Record[string]{Value: "e", Time: -5}))
	must(w.LatencyMarker(LatencyMarker{Time: 1_700_000_000_123_456_789, Source: 3, Subtask: 1}))
	must(w.UnalignedBarrier(2))
	must(w.Collect(&Record[string]{Value: "f", Time: 7}))
	must(w.Watermark(EndOfTime))
	must(w.End())

	var got []string
	for {
		got = append(got, read(b, 0, 0))
		if got[len(got)-1] == "end" {
			break
		}
	}
	want := []string{
		"batch a@1000 b@999 c@998",
		"batch d@997",
		"watermark 990",
		"batch no time @9223372036854775807",
		"watermark idle",
		"a barrier 1",
		"batch e@-5",
		"latency marker 1700000000123456789 from 3/1",
		"an unaligned barrier's marker 2",
		"batch f@7",
		"watermark end-of-time",
		"end",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("the receiver read\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if err := link.wait(); err != nil {
		t.Fatal(err)
	}
	if id := <-b.prio[0][0]; id != 2 {
		t.Fatalf("priority channel: checkpoint %d, want 2", id)
	}
	select {
	case <-notify:
	default:
		t.Fatal("the receiver was not woken")
	}
}

// TestRemoteChannelSplitsLargeBatches: a batch whose encoding passes
// ElementTarget leaves as several consecutive elements, each near the
// target, and arrives whole and in order.
func TestRemoteChannelSplitsLargeBatches(t *testing.T) {
	ctx := context.Background()
	opts := ExchangeOptions{BatchSize: 40, BufferTimeout: time.Hour}
	a := NewExchange[string](Forward, 1, []chan struct{}{nil}, nil, opts)
	b := NewExchange[string](Forward, 1, []chan struct{}{make(chan struct{}, 1)}, nil, opts)
	link := connect(ctx, a, b, 0, 0, 64)
	w := a.Writer(ctx, 0, &Metrics{})
	const size = 5000
	var want []string
	for i := range 40 {
		v := fmt.Sprintf("%04d", i) + strings.Repeat("x", size)
		want = append(want, v)
		if err := w.Collect(&Record[string]{Value: v, Time: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	var got []string
	batches := 0
	for e := range b.chans[0][0] {
		if e.kind == kindEnd {
			break
		}
		batches++
		for _, r := range e.batch.Records {
			if int64(len(got)) != r.Time {
				t.Fatalf("record %d has time %d", len(got), r.Time)
			}
			got = append(got, r.Value)
		}
	}
	if err := link.wait(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %d records, want %d in order", len(got), len(want))
	}
	if batches < 200_000/ElementTarget {
		t.Fatalf("a batch of 200 kB arrived in %d batches: it was not split", batches)
	}
	for i, n := range link.sizes[:len(link.sizes)-1] { // the last is end of input
		if n > ElementTarget+size+32 {
			t.Fatalf("element %d has %d bytes, more than the target %d and one record", i, n, ElementTarget)
		}
	}
}

// TestRemoteChannelBackpressure: a receiver that does not read fills its
// channel; Deliver then blocks, the transport's pipe fills, Outbound's
// send blocks, the sender's channel fills and its Writer blocks,
// accounting the wait as backpressured time. What left the sender is
// bounded by the buffers on the way. Once the receiver reads, everything
// arrives in order.
func TestRemoteChannelBackpressure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		opts := ExchangeOptions{BatchSize: 4, Capacity: 2, BufferTimeout: time.Hour}
		a := NewExchange[int](Hash, 1, []chan struct{}{nil}, func(int) uint64 { return 0 }, opts)
		b := NewExchange[int](Hash, 1, []chan struct{}{make(chan struct{}, 1)}, func(int) uint64 { return 0 }, opts)
		const depth = 1
		link := connect(ctx, a, b, 0, 0, depth)
		m := &Metrics{}
		m.started.Store(time.Now().UnixNano())
		w := a.Writer(ctx, 0, m)
		const n = 1000
		wrote := runAsync(ctx, func(context.Context) error {
			for i := range n {
				if err := w.Collect(&Record[int]{Value: i, Time: NoTimestamp}); err != nil {
					return err
				}
			}
			return w.End()
		})
		synctest.Wait()
		select {
		case err := <-wrote:
			t.Fatalf("the writer finished (%v) although the receiver reads nothing", err)
		default:
		}
		// The receiver's channel is full, Deliver holds one element, the
		// pipe depth, and Outbound one in send.
		if got, bound := link.elements(), opts.Capacity+1+depth+1; got > bound {
			t.Fatalf("%d elements left the sender, more than the %d the buffers hold", got, bound)
		}
		time.Sleep(time.Second) // a fake second: every goroutine is blocked
		if bp := m.Shares().Backpressured; bp < time.Second {
			t.Fatalf("backpressured time %v after a second blocked", bp)
		}

		for i := 0; ; {
			e := <-b.chans[0][0]
			if e.kind == kindEnd {
				break
			}
			for _, r := range e.batch.Records {
				if r.Value != i {
					t.Fatalf("record %d arrived where %d was due", r.Value, i)
				}
				i++
			}
			b.putBatch(e.batch)
		}
		if err := <-wrote; err != nil {
			t.Fatal(err)
		}
		if err := link.wait(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRemoteUnalignedBarrierOvertakesData: with every buffer between the
// sender and a receiver that does not read full, an unaligned barrier
// still reaches the receiver's priority channel; its marker arrives after
// the records sent before it.
func TestRemoteUnalignedBarrierOvertakesData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		opts := ExchangeOptions{BatchSize: 1, Capacity: 2} // every record at once
		a := NewExchange[int](Forward, 1, []chan struct{}{nil}, nil, opts)
		b := NewExchange[int](Forward, 1, []chan struct{}{make(chan struct{}, 1)}, nil, opts)
		link := connect(ctx, a, b, 0, 0, 1)
		w := a.Writer(ctx, 0, &Metrics{})
		// Receiver channel 2, Deliver 1, pipe 1, Outbound 1 (in send), the
		// sender's channel 1 of 2: everything but one place is full.
		const n = 6
		for i := range n {
			if err := w.Collect(&Record[int]{Value: i, Time: NoTimestamp}); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if link.elements() != 5 {
			t.Fatalf("%d elements left the sender, want 5: the set-up does not fill the buffers", link.elements())
		}
		sent := runAsync(ctx, func(context.Context) error { return w.UnalignedBarrier(9) })
		synctest.Wait()
		select {
		case id := <-b.prio[0][0]:
			if id != 9 {
				t.Fatalf("priority channel: checkpoint %d, want 9", id)
			}
		default:
			t.Fatal("the unaligned barrier did not overtake the data")
		}
		if got := read(b, 0, 0); got != "batch 0" {
			t.Fatalf("first data element %q, want the first record", got)
		}
		for i := 1; i < n; i++ {
			if got := read(b, 0, 0); got != fmt.Sprintf("batch %d", i) {
				t.Fatalf("data element %q, want record %d", got, i)
			}
		}
		if got := read(b, 0, 0); got != "an unaligned barrier's marker 9" {
			t.Fatalf("after the records: %q, want the marker", got)
		}
		if err := <-sent; err != nil {
			t.Fatal(err)
		}
		if err := w.End(); err != nil {
			t.Fatal(err)
		}
		if got := read(b, 0, 0); got != "end" {
			t.Fatalf("%q, want end", got)
		}
		if err := link.wait(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRemoteChannelCancel: Outbound waiting for the sender and Deliver
// waiting for room both return when their context ends.
func TestRemoteChannelCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		opts := ExchangeOptions{BatchSize: 1, Capacity: 1}
		a := NewExchange[int](Forward, 1, []chan struct{}{nil}, nil, opts)
		out := runAsync(ctx, func(ctx context.Context) error {
			return a.Outbound(ctx, 0, 0, func([]byte) error { return nil }, func([]byte) error { return nil })
		})
		b := NewExchange[int](Forward, 1, []chan struct{}{make(chan struct{}, 1)}, nil, opts)
		wm := appendControl(nil, wireWatermark, 5)
		if err := b.Deliver(ctx, 0, 0, wm, false); err != nil {
			t.Fatal(err)
		}
		in := runAsync(ctx, func(ctx context.Context) error { return b.Deliver(ctx, 0, 0, wm, false) })
		synctest.Wait()
		cancel()
		if err := <-out; !errors.Is(err, context.Canceled) {
			t.Fatalf("Outbound returned %v, want context.Canceled", err)
		}
		if err := <-in; !errors.Is(err, context.Canceled) {
			t.Fatalf("Deliver returned %v, want context.Canceled", err)
		}
	})
}

// TestRemoteSendFailure: an error from the transport's send ends Outbound
// with that error; one from sendPrio too, even while send is blocked
// (send returns when the transport is torn down).
func TestRemoteSendFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		a := NewExchange[int](Forward, 1, []chan struct{}{nil}, nil, ExchangeOptions{BatchSize: 1})
		w := a.Writer(ctx, 0, &Metrics{})
		broken := errors.New("connection reset")
		out := runAsync(ctx, func(ctx context.Context) error {
			return a.Outbound(ctx, 0, 0, func([]byte) error { return broken }, func([]byte) error { return nil })
		})
		if err := w.Collect(&Record[int]{Value: 1}); err != nil {
			t.Fatal(err)
		}
		if err := <-out; !errors.Is(err, broken) {
			t.Fatalf("Outbound returned %v, want the send error", err)
		}

		torn := make(chan struct{})
		out = runAsync(ctx, func(ctx context.Context) error {
			return a.Outbound(ctx, 0, 0,
				func([]byte) error {
					<-torn
					// The stream ends once sendPrio's failure is in: in the
					// bubble the sleep ends only when everything else
					// waits, after the failure was recorded.
					time.Sleep(time.Second)
					return errors.New("stream torn down")
				},
				func([]byte) error { close(torn); return broken })
		})
		if err := w.Collect(&Record[int]{Value: 2}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // Outbound is in send
		if err := w.UnalignedBarrier(3); err != nil {
			t.Fatal(err)
		}
		if err := <-out; !errors.Is(err, broken) {
			t.Fatalf("Outbound returned %v, want the sendPrio error", err)
		}
	})
}

// TestDeliverRefuses: elements on the wrong stream, for a channel the
// exchange does not have, or malformed, are errors.
func TestDeliverRefuses(t *testing.T) {
	ctx := context.Background()
	b := NewExchange[int](Forward, 2, []chan struct{}{nil, nil}, nil, ExchangeOptions{})
	unaligned := appendControl(nil, wireUnaligned, 4)
	barrier := appendControl(nil, wireBarrier, 4)
	for _, c := range []struct {
		name string
		s, r int
		b    []byte
		prio bool
		want string
	}{
		{"unaligned on data", 0, 0, unaligned, false, "an unaligned barrier on the data stream"},
		{"barrier on priority", 0, 0, barrier, true, "not a barrier"},
		{"not connected", 0, 1, barrier, false, "FORWARD exchange connects each sender to its own receiver"},
		{"out of range", 2, 0, barrier, false, "the exchange has 2 senders"},
		{"empty", 0, 0, nil, false, "an empty element"},
		{"other version", 0, 0, []byte{2<<4 | wireEnd}, false, "element version 2"},
		{"unknown kind", 0, 0, []byte{1<<4 | 9}, false, "unknown kind 9"},
		{"barrier 0", 0, 0, appendControl(nil, wireBarrier, 0), false, "checkpoint ids are positive"},
		{"trailing bytes", 0, 0, append(barrier, 0), false, "1 bytes after a control element"},
		{"empty batch", 0, 0, []byte{header(wireData), 0}, false, "an empty batch"},
		{"short batch", 0, 0, []byte{header(wireData), 3, 0, 0}, false, "a batch of 3 records in 2 bytes"},
		{"latency marker from source 65536", 0, 0, appendLatency(nil, LatencyMarker{Time: 1, Source: 1 << 16}), false, "sources and subtasks are below 65536"},
		{"short latency marker", 0, 0, []byte{header(wireLatency), 2, 1}, false, "a latency marker's origin"},
		{"latency marker on the priority stream", 0, 0, appendLatency(nil, LatencyMarker{Time: 1}), true, "not a latency marker"},
	} {
		err := b.Deliver(ctx, c.s, c.r, c.b, c.prio)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Deliver = %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// FuzzDecodeElement: decoding any bytes returns an element or an error,
// never panics; an element that decodes encodes again to one that decodes
// to the same.
func FuzzDecodeElement(f *testing.F) {
	c := codec.For[string]()
	recs := []Record[string]{{Value: "a", Time: 5}, {Value: "", Time: NoTimestamp}, {Value: "ü", Time: EndOfTime}}
	data, _, _ := appendData(nil, c, recs)
	f.Add(data)
	for _, w := range []byte{wireWatermark, wireBarrier, wireMarker, wireUnaligned} {
		f.Add(appendControl(nil, w, 42))
	}
	f.Add(appendControl(nil, wireWatermark, Idle))
	f.Add([]byte{header(wireEnd)})
	f.Add(appendLatency(nil, LatencyMarker{Time: 1_700_000_000_000_000_000, Source: 3, Subtask: 65535}))
	f.Add(appendLatency(nil, LatencyMarker{Time: -1}))
	f.Add([]byte{header(wireData), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := decodeElement(c, b, &Batch[string]{})
		if err != nil {
			return
		}
		var again []byte
		switch e.kind {
		case kindData:
			var n int
			again, n, err = appendData(nil, c, e.batch.Records)
			if err != nil || n != len(e.batch.Records) {
				return // a batch past ElementTarget splits: nothing to compare
			}
		case kindEnd:
			again = []byte{header(wireEnd)}
		case kindLatency:
			again = appendLatency(nil, markerOf(e.value, e.origin))
		default:
			w := map[kind]byte{kindWatermark: wireWatermark, kindBarrier: wireBarrier, kindMarker: wireMarker, kindUnaligned: wireUnaligned}[e.kind]
			again = appendControl(nil, w, e.value)
		}
		e2, err := decodeElement(c, again, &Batch[string]{})
		if err != nil {
			t.Fatalf("%x decodes to %+v, whose encoding %x does not decode: %v", b, e, again, err)
		}
		if e.kind != e2.kind || e.value != e2.value || e.origin != e2.origin || (e.batch != nil && !slices.Equal(e.batch.Records, e2.batch.Records)) {
			t.Fatalf("%x decodes to %+v, its encoding to %+v", b, e, e2)
		}
	})
}
