package runtime

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirstream/weir/codec"
)

// The tests of the input task's loop run it over real exchange channels,
// fed by one Writer per input as upstream subtasks feed them, inside a
// synctest bubble: time is fake, and synctest.Wait returns once the task
// has processed what it was sent and waits for more.

// Elements a test sends besides records (plain ints).
type (
	wm               int64 // a watermark, or Idle
	barrier          int64 // an aligned barrier
	unalignedBarrier int64
	endOfInput       struct{}
)

// inputHarness is an InputTask reading inputs channels, and the writers
// that send into them.
type inputHarness struct {
	tr      *transcript
	senders []*Writer[int]
	inputs  []Input[int]
	notify  chan struct{}
	out     *fakeOutput
	task    *InputTask[int]
}

func newInputHarness(ctx context.Context, inputs int) *inputHarness {
	tr := &transcript{}
	notify := make(chan struct{}, 1)
	// BufferTimeout 0: every record leaves its writer at once.
	ex := NewExchange[int](Rebalance, inputs, []chan struct{}{notify}, nil, ExchangeOptions{Capacity: 16})
	h := &inputHarness{tr: tr, notify: notify, out: &fakeOutput{tr: tr}}
	for s := range inputs {
		h.senders = append(h.senders, ex.Writer(ctx, s, &Metrics{}))
	}
	h.inputs = ex.Inputs(0)
	h.task = &InputTask[int]{
		Gate:    NewGate(h.inputs, notify),
		Head:    recorder{tr},
		Clock:   NewClock(),
		Outputs: []Output{h.out},
		Metrics: &Metrics{},
		Codec:   codec.For[int](),
	}
	return h
}

// send has input i's upstream writer send elems in order, then waits until
// every goroutine of the bubble (the task among them) is blocked.
func (h *inputHarness) send(t *testing.T, i int, elems ...any) {
	t.Helper()
	w := h.senders[i]
	for _, e := range elems {
		var err error
		switch e := e.(type) {
		case int:
			err = w.Collect(&Record[int]{Value: e, Time: NoTimestamp})
		case wm:
			err = w.Watermark(int64(e))
		case barrier:
			err = w.Barrier(int64(e))
		case unalignedBarrier:
			err = w.UnalignedBarrier(int64(e))
		case endOfInput:
			err = w.End()
		default:
			t.Fatalf("cannot send %T", e)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	synctest.Wait()
}

// TestInputTaskRecordsInOrder: each input's records reach the head in the
// order they were sent, and the head hears the final watermark and the end
// once every input has ended, not before (invariant 4).
func TestInputTaskRecordsInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newInputHarness(t.Context(), 2)
		done := runAsync(t.Context(), h.task.Run)
		h.send(t, 0, 1, 2)
		h.send(t, 1, 3)
		h.send(t, 0, 4)
		h.tr.expect(t, "record 1", "record 2", "record 3", "record 4")
		h.send(t, 0, endOfInput{})
		h.tr.expect(t)
		h.send(t, 1, 5, endOfInput{})
		h.tr.expect(t, "record 5", "watermark end-of-time", "end")
		if err := returned(t, done); err != nil {
			t.Fatalf("Run = %v after the end of every input, want nil", err)
		}
		if n := h.task.Metrics.RecordsIn.Load(); n != 5 {
			t.Fatalf("RecordsIn = %d, want 5", n)
		}
	})
}

// TestInputTaskWatermarks: the head gets the least watermark of the
// inputs; an idle input does not hold it back until it sends again, and
// when every input is idle the head hears Idle (invariant 4).
func TestInputTaskWatermarks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newInputHarness(t.Context(), 2)
		done := runAsync(t.Context(), h.task.Run)
		h.send(t, 0, wm(10))
		h.tr.expect(t) // input 1 has no watermark yet
		h.send(t, 1, wm(5))
		h.tr.expect(t, "watermark 5")
		h.send(t, 1, wm(Idle))
		h.tr.expect(t, "watermark 10")
		h.send(t, 0, wm(20))
		h.tr.expect(t, "watermark 20")
		h.send(t, 1, 7) // active again, at its old watermark 5
		h.send(t, 0, wm(30))
		h.tr.expect(t, "record 7")
		h.send(t, 1, wm(25))
		h.tr.expect(t, "watermark 25")
		h.send(t, 0, wm(Idle))
		h.send(t, 1, wm(Idle))
		h.tr.expect(t, "watermark idle")
		h.send(t, 1, 8) // active again: the head hears the watermark before the record
		h.tr.expect(t, "watermark 25", "record 8")
		h.send(t, 1, endOfInput{}) // what remains is idle
		h.tr.expect(t, "watermark idle")
		h.send(t, 0, endOfInput{})
		h.tr.expect(t, "watermark end-of-time", "end")
		if err := returned(t, done); err != nil {
			t.Fatal(err)
		}
	})
}

// TestInputTaskAlignedBarrier: an input that delivered a checkpoint's
// barrier is held back until every other input has delivered it (or
// ended); then the task snapshots, with the time it held the first input
// back as the alignment, and sends the barrier on before any later record.
func TestInputTaskAlignedBarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newInputHarness(t.Context(), 2)
		h.task.Checkpointing, _ = fakeCheckpointing(h.tr, false)
		done := runAsync(t.Context(), h.task.Run)
		h.send(t, 0, 1, barrier(7), 2)
		h.tr.expect(t, "record 1") // 2 waits behind the barrier
		h.send(t, 1, 3)
		h.tr.expect(t, "record 3")
		time.Sleep(2 * time.Second)
		h.send(t, 1, barrier(7))
		h.tr.expect(t, "snapshot 7 (alignment 2s)", "barrier 7", "record 2")

		// An input that ends no longer holds a checkpoint back.
		h.send(t, 1, barrier(8), 4)
		time.Sleep(time.Second)
		h.send(t, 0, endOfInput{})
		h.tr.expect(t, "snapshot 8 (alignment 1s)", "barrier 8", "record 4")
		h.send(t, 1, endOfInput{})
		h.tr.expect(t, "watermark end-of-time", "end")
		if err := returned(t, done); err != nil {
			t.Fatal(err)
		}
	})
}

// TestInputTaskUnalignedBarrier: an unaligned barrier overtakes the
// records in flight. The task snapshots and sends the barrier on at once,
// then reads each input up to its marker without waiting for the
// operators; those records are the checkpoint's channel state, and they
// are processed afterwards in order. The replayed records of a restore
// come before any input.
func TestInputTaskUnalignedBarrier(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newInputHarness(t.Context(), 2)
		h.task.Checkpointing, _ = fakeCheckpointing(h.tr, true)
		h.task.Replay = []Record[int]{{Value: 100, Time: NoTimestamp}}
		// In the channels before the task starts: in flight.
		h.send(t, 0, 1, 2, unalignedBarrier(5), 3)
		h.send(t, 1, 4)
		done := runAsync(t.Context(), h.task.Run)
		synctest.Wait()
		h.tr.expect(t,
			"record 100",
			"snapshot unaligned 5", "unaligned barrier 5",
			"record 1", "record 2", "record 3", "record 4")
		h.send(t, 1, 5) // sent before input 1's barrier: in flight too
		h.tr.expect(t, "record 5")
		h.send(t, 1, unalignedBarrier(5))
		h.tr.expect(t, "channel state 5: [1 2 4 5]")
		h.send(t, 0, endOfInput{})
		h.send(t, 1, endOfInput{})
		h.tr.expect(t, "watermark end-of-time", "end")
		if err := returned(t, done); err != nil {
			t.Fatal(err)
		}
	})
}

// TestInputTaskUnalignedLateArrival: a record that arrives on an input
// whose marker has not come yet, after the capture read that input ahead
// and before the task reads it, is in flight too.
func TestInputTaskUnalignedLateArrival(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newInputHarness(t.Context(), 2)
		h.task.Checkpointing, _ = fakeCheckpointing(h.tr, true)
		h.send(t, 0, unalignedBarrier(5))
		// The flush before the task waits falls between the capture's read
		// ahead and the task's last look at its inputs.
		h.out.onFlush = func() { h.senders[1].Collect(&Record[int]{Value: 9, Time: NoTimestamp}) }
		done := runAsync(t.Context(), h.task.Run)
		synctest.Wait()
		h.tr.expect(t, "snapshot unaligned 5", "unaligned barrier 5", "record 9")
		h.send(t, 1, unalignedBarrier(5))
		h.tr.expect(t, "channel state 5: [9]")
		h.send(t, 0, endOfInput{})
		h.send(t, 1, endOfInput{})
		h.tr.expect(t, "watermark end-of-time", "end")
		if err := returned(t, done); err != nil {
			t.Fatal(err)
		}
	})
}

// TestInputTaskUnalignedMarkerFirst: a marker read from the data before
// its barrier was seen on the priority channel starts the checkpoint too,
// with nothing in flight on that input.
func TestInputTaskUnalignedMarkerFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newInputHarness(t.Context(), 2)
		h.task.Checkpointing, _ = fakeCheckpointing(h.tr, true)
		h.send(t, 0, 1)
		h.inputs[0].ch <- envelope[int]{kind: kindMarker, value: 5} // its barrier is late
		h.send(t, 0, 2)
		h.send(t, 1, 3)
		done := runAsync(t.Context(), h.task.Run)
		synctest.Wait()
		h.tr.expect(t, "record 1", "snapshot unaligned 5", "unaligned barrier 5", "record 2", "record 3")
		h.send(t, 1, unalignedBarrier(5))
		h.tr.expect(t, "channel state 5: [3]")
		h.inputs[0].prio <- 5 // the late barrier starts nothing
		h.send(t, 0, endOfInput{})
		h.send(t, 1, endOfInput{})
		h.tr.expect(t, "watermark end-of-time", "end")
		if err := returned(t, done); err != nil {
			t.Fatal(err)
		}
	})
}

// TestInputTaskCommands: the coordinator's completions and aborts reach
// Notify in order, also while the task waits for input.
func TestInputTaskCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newInputHarness(ctx, 1)
		var commands chan Command
		h.task.Checkpointing, commands = fakeCheckpointing(h.tr, false)
		done := runAsync(ctx, h.task.Run)
		synctest.Wait()
		commands <- Command{Kind: Complete, ID: 3}
		commands <- Command{Kind: Abort, ID: 4}
		synctest.Wait()
		h.tr.expect(t, "notify complete 3", "notify abort 4")
		cancel()
		synctest.Wait()
		if err := returned(t, done); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v after cancel, want context.Canceled", err)
		}
	})
}

// TestInputTaskTickers: an idle task wakes when the clock's next wake-up
// is due and calls its tickers with the time; they set the next one.
func TestInputTaskTickers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newInputHarness(ctx, 1)
		start := time.Now().UnixMilli()
		h.task.Tickers = []Ticker{&fakeTicker{tr: h.tr, start: start, period: 100}}
		h.task.Clock.WakeAt(start + 100)
		done := runAsync(ctx, h.task.Run)
		time.Sleep(250 * time.Millisecond)
		h.send(t, 0, 1)
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		h.tr.expect(t, "tick at +100ms", "tick at +200ms", "record 1", "tick at +300ms")
		cancel()
		synctest.Wait()
		if err := returned(t, done); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v after cancel, want context.Canceled", err)
		}
	})
}

// slowHead spends cost of (fake) time on every record, then passes it on.
type slowHead struct {
	Collector[int]
	cost time.Duration
}

func (s slowHead) Collect(r *Record[int]) error {
	time.Sleep(s.cost)
	return s.Collector.Collect(r)
}

// TestInputTaskFlushesBeforeWaiting: the records a task emitted leave its
// partial batches when it runs out of input, not at the buffer timeout
// (invariant 1).
func TestInputTaskFlushesBeforeWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newInputHarness(ctx, 1)
		down := NewExchange[int](Forward, 1, []chan struct{}{make(chan struct{}, 1)}, nil,
			ExchangeOptions{BatchSize: 100, BufferTimeout: time.Hour})
		w := down.Writer(ctx, 0, h.task.Metrics)
		h.task.Head, h.task.Outputs = w, []Output{w}
		h.send(t, 0, 1, 2, 3)
		done := runAsync(ctx, h.task.Run)
		synctest.Wait()
		select {
		case e := <-down.Inputs(0)[0].ch:
			if len(e.batch.Records) != 3 {
				t.Fatalf("the batch that left has %d records, want 3", len(e.batch.Records))
			}
		default:
			t.Fatal("the task waits for input with its records in a partial batch")
		}
		cancel()
		synctest.Wait()
		if err := returned(t, done); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v after cancel, want context.Canceled", err)
		}
	})
}

// TestInputTaskTimeShares: the task's wall time splits into busy (in the
// operators), backpressured (blocked sending downstream) and idle (waiting
// for input) (invariant 3).
func TestInputTaskTimeShares(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newInputHarness(ctx, 1)
		down := NewExchange[int](Forward, 1, []chan struct{}{make(chan struct{}, 1)}, nil,
			ExchangeOptions{Capacity: 1})
		w := down.Writer(ctx, 0, h.task.Metrics)
		h.task.Head, h.task.Outputs = slowHead{w, 10 * time.Millisecond}, []Output{w}
		h.send(t, 0, 1, 2)
		start := time.Now()
		done := runAsync(ctx, h.task.Run)
		// Record 1 fills the downstream channel; record 2 waits for room.
		time.Sleep(300 * time.Millisecond)
		out := down.Inputs(0)[0].ch
		<-out
		<-out
		time.Sleep(700 * time.Millisecond)
		cancel()
		synctest.Wait()
		if err := returned(t, done); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v after cancel, want context.Canceled", err)
		}
		if elapsed := time.Since(start); elapsed != time.Second {
			t.Fatalf("the test ran %v, want 1s", elapsed)
		}
		want := TimeShares{Busy: 20 * time.Millisecond, Backpressured: 280 * time.Millisecond, Idle: 700 * time.Millisecond}
		if got := h.task.Metrics.Shares(); got != want {
			t.Fatalf("Shares = %+v, want %+v", got, want)
		}
	})
}

// asyncHead is the head of a chain whose work finishes on other
// goroutines: what finished waits in done until the task calls Drain.
type asyncHead struct {
	recorder
	mu   sync.Mutex
	done []int
}

func (a *asyncHead) finish(v int, notify chan struct{}) {
	a.mu.Lock()
	a.done = append(a.done, v)
	a.mu.Unlock()
	select {
	case notify <- struct{}{}:
	default:
	}
}

func (a *asyncHead) Drain() error {
	a.mu.Lock()
	done := a.done
	a.done = nil
	a.mu.Unlock()
	for _, v := range done {
		a.tr.add("finished %d", v)
	}
	return nil
}

// TestInputTaskDrainer: a head that implements Drainer is drained before
// the task reads input, and a signal on the gate's notify channel wakes an
// idle task to drain it.
func TestInputTaskDrainer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newInputHarness(ctx, 1)
		head := &asyncHead{recorder: recorder{h.tr}}
		h.task.Head = head
		head.finish(0, h.notify)
		h.send(t, 0, 1)
		done := runAsync(ctx, h.task.Run)
		synctest.Wait()
		h.tr.expect(t, "finished 0", "record 1")
		head.finish(2, h.notify)
		synctest.Wait()
		h.tr.expect(t, "finished 2")
		cancel()
		synctest.Wait()
		if err := returned(t, done); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v after cancel, want context.Canceled", err)
		}
	})
}

// TestInputTaskOperatorError: an error from the chain ends the loop with
// that error.
func TestInputTaskOperatorError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newInputHarness(t.Context(), 1)
		boom := errors.New("boom")
		h.task.Head = failing{recorder{h.tr}, boom}
		done := runAsync(t.Context(), h.task.Run)
		h.send(t, 0, 1)
		if err := returned(t, done); !errors.Is(err, boom) {
			t.Fatalf("Run = %v, want the operator's error", err)
		}
	})
}

// failing is a head whose Collect fails.
type failing struct {
	recorder
	err error
}

func (f failing) Collect(*Record[int]) error { return f.err }

// box is a record that points to what it carries, as a pre-aggregated
// window's partial points to its accumulator.
type box struct{ N *int }

// growing is an operator that adds 100 to what each record points to, as
// a window that adopts a partial's accumulator and adds to it.
type growing struct{ seen chan int }

func (g growing) Collect(r *Record[box]) error {
	*r.Value.N += 100
	g.seen <- *r.Value.N
	return nil
}
func (growing) Watermark(int64) error { return nil }
func (growing) End() error            { return nil }

// TestInputTaskUnalignedStateIsTakenAsCaptured: the operators may process
// an in-flight record before the capture ends (here input 1 delivers one
// while input 0's marker has not come), and change what it points to; the
// channel state must hold the record as it was in flight.
func TestInputTaskUnalignedStateIsTakenAsCaptured(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		notify := make(chan struct{}, 1)
		ex := NewExchange[box](Rebalance, 2, []chan struct{}{notify}, nil, ExchangeOptions{Capacity: 16})
		senders := []*Writer[box]{ex.Writer(ctx, 0, &Metrics{}), ex.Writer(ctx, 1, &Metrics{})}
		seen := make(chan int, 16)
		states := make(chan []int, 1)
		task := &InputTask[box]{
			Gate: NewGate(ex.Inputs(0), notify), Head: growing{seen}, Clock: NewClock(),
			Outputs: []Output{&fakeOutput{tr: &transcript{}}}, Metrics: &Metrics{}, Codec: codec.For[box](),
			Checkpointing: &Checkpointing{
				Commands:  make(chan Command),
				Snapshot:  func(context.Context, int64, time.Duration) error { return nil },
				Notify:    func(context.Context, Command) error { return nil },
				Unaligned: func(int64) bool { return true },
				SnapshotUnaligned: func(context.Context, int64) (func([]byte) error, error) {
					return func(state []byte) error {
						recs, err := DecodeChannelState(codec.For[box](), state)
						var ns []int
						for _, r := range recs {
							ns = append(ns, *r.Value.N)
						}
						states <- ns
						return err
					}, nil
				},
			},
		}
		send := func(w *Writer[box], n int) {
			if err := w.Collect(&Record[box]{Value: box{N: &n}, Time: NoTimestamp}); err != nil {
				t.Fatal(err)
			}
		}
		// Input 1's record is in flight before the barrier overtakes it.
		send(senders[1], 1)
		if err := senders[0].UnalignedBarrier(5); err != nil {
			t.Fatal(err)
		}
		done := runAsync(ctx, task.Run)
		synctest.Wait()
		send(senders[1], 2) // still before input 1's marker: in flight
		synctest.Wait()
		if got := []int{<-seen, <-seen}; got[0] != 101 || got[1] != 102 {
			t.Fatalf("the operator saw %v, want [101 102]", got)
		}
		if err := senders[1].UnalignedBarrier(5); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := <-states; !slices.Equal(got, []int{1, 2}) {
			t.Fatalf("channel state %v, want the records as they were in flight: [1 2]", got)
		}
		for _, w := range senders {
			if err := w.End(); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if err := returned(t, done); err != nil {
			t.Fatal(err)
		}
	})
}
