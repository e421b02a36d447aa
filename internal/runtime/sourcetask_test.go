package runtime

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirstream/weir/source"
)

// The tests of the source task's loop drive it with a scripted reader
// inside a synctest bubble: the reader answers at once, so the task's only
// waits are its idle pauses, and time passes only there (or where the
// test's reader or head spends it).

// testSplit is a split whose records are its values.
type testSplit struct {
	id     string
	values []int
}

func (s testSplit) SplitID() string { return s.id }

// fakeReader emits its splits' values, all at once, on the next Poll; it
// ends once it has none left and was told that no more splits come.
type fakeReader struct {
	tr      *transcript
	cost    time.Duration // (fake) time a Poll that emits records takes
	pending []int
	noMore  bool
	polls   atomic.Int64
}

func (r *fakeReader) Start(context.Context) error {
	r.tr.add("start")
	return nil
}

func (r *fakeReader) AddSplits(splits []source.Split) {
	var ids []string
	for _, s := range splits {
		ids = append(ids, s.SplitID())
		r.pending = append(r.pending, s.(testSplit).values...)
	}
	r.tr.add("add splits %s", strings.Join(ids, " "))
}

func (r *fakeReader) NoMoreSplits() {
	r.noMore = true
	r.tr.add("no more splits")
}

func (r *fakeReader) Poll(_ context.Context, out source.Output[int]) (source.Status, error) {
	r.polls.Add(1)
	switch {
	case len(r.pending) > 0:
		time.Sleep(r.cost)
		for _, v := range r.pending {
			out.Collect(v)
		}
		r.pending = nil
		return source.MoreAvailable, nil
	case r.noMore:
		return source.EndOfInput, nil
	}
	return source.NothingAvailable, nil
}

func (r *fakeReader) Snapshot(int64) ([]source.Split, error) { return nil, nil }

func (r *fakeReader) Close() error {
	r.tr.add("close")
	return nil
}

// sourceHarness is a SourceTask over a fakeReader.
type sourceHarness struct {
	tr      *transcript
	reader  *fakeReader
	mailbox *SplitMailbox
	out     *fakeOutput
	task    *SourceTask[int]
}

func newSourceHarness() *sourceHarness {
	tr := &transcript{}
	h := &sourceHarness{tr: tr, reader: &fakeReader{tr: tr}, mailbox: &SplitMailbox{}, out: &fakeOutput{tr: tr}}
	h.task = &SourceTask[int]{
		Reader:  h.reader,
		Mailbox: h.mailbox,
		Head:    recorder{tr},
		Clock:   NewClock(),
		Outputs: []Output{h.out},
		Metrics: &Metrics{},
	}
	return h
}

// settle lets the task take at least one turn and waits until it pauses.
func settle() {
	time.Sleep(2 * idlePause)
	synctest.Wait()
}

// TestSourceTaskMailbox: the reader gets its splits in the order the
// enumerator assigned them, and a checkpoint marker between two
// assignments snapshots and emits the barrier exactly there; the task ends
// after the reader's end of input with the final watermark.
func TestSourceTaskMailbox(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSourceHarness()
		h.task.Checkpointing, _ = fakeCheckpointing(h.tr, false)
		h.mailbox.Assign(testSplit{"a", []int{1, 2}})
		h.mailbox.put(mailItem{checkpoint: 9})
		h.mailbox.Assign(testSplit{"b", []int{3}})
		h.mailbox.NoMoreSplits()
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // of fake time
		defer cancel()
		if err := h.task.Run(ctx); err != nil {
			t.Fatal(err)
		}
		h.tr.expect(t,
			"start",
			"add splits a", "snapshot 9 (alignment 0s)", "barrier 9", "add splits b", "no more splits",
			"record 1", "record 2", "record 3",
			"watermark end-of-time", "end", "close")
		if n := h.task.Metrics.RecordsIn.Load(); n != 3 {
			t.Fatalf("RecordsIn = %d, want 3", n)
		}
	})
}

// TestSourceTaskCommands: a trigger snapshots and emits the barrier;
// completions and aborts reach Notify; cancelling ends the loop and closes
// the reader.
func TestSourceTaskCommands(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newSourceHarness()
		var commands chan Command
		h.task.Checkpointing, commands = fakeCheckpointing(h.tr, false)
		done := runAsync(ctx, h.task.Run)
		synctest.Wait()
		h.tr.expect(t, "start")
		commands <- Command{Kind: Trigger, ID: 4}
		commands <- Command{Kind: Complete, ID: 4}
		commands <- Command{Kind: Abort, ID: 5}
		settle()
		h.tr.expect(t, "snapshot 4 (alignment 0s)", "barrier 4", "notify complete 4", "notify abort 5")
		cancel()
		synctest.Wait()
		if err := returned(t, done); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v after cancel, want context.Canceled", err)
		}
		h.tr.expect(t, "close")
	})
}

// TestSourceTaskFlushesAndAccountsIdle: when the reader has nothing, the
// task flushes its partial batches before it pauses (invariant 1), and the
// pauses, with the polls that found nothing, count as idle (invariant 3).
func TestSourceTaskFlushesAndAccountsIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newSourceHarness()
		h.reader.cost = 10 * time.Millisecond
		down := NewExchange[int](Forward, 1, []chan struct{}{make(chan struct{}, 1)}, nil,
			ExchangeOptions{BatchSize: 100, BufferTimeout: time.Hour})
		w := down.Writer(ctx, 0, h.task.Metrics)
		h.task.Head, h.task.Outputs = w, []Output{w}
		h.mailbox.Assign(testSplit{"a", []int{1, 2, 3}})
		start := time.Now()
		done := runAsync(ctx, h.task.Run)
		settle()
		select {
		case e := <-down.Inputs(0)[0].ch:
			if len(e.batch.Records) != 3 {
				t.Fatalf("the batch that left has %d records, want 3", len(e.batch.Records))
			}
		default:
			t.Fatal("the task pauses with its records in a partial batch")
		}
		time.Sleep(time.Second - time.Since(start))
		cancel()
		synctest.Wait()
		if err := returned(t, done); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v after cancel, want context.Canceled", err)
		}
		want := TimeShares{Busy: 10 * time.Millisecond, Idle: 990 * time.Millisecond}
		if got := h.task.Metrics.Shares(); got != want {
			t.Fatalf("Shares = %+v, want %+v", got, want)
		}
	})
}

// TestSourceTaskPausedAndTickers: a paused source is not polled, but its
// splits, timers and flushes are still served; a pause ends early when a
// wake-up is due sooner.
func TestSourceTaskPausedAndTickers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newSourceHarness()
		var paused atomic.Bool
		paused.Store(true)
		h.task.Paused = paused.Load
		start := time.Now().UnixMilli()
		h.task.Tickers = []Ticker{&fakeTicker{tr: h.tr, start: start, period: 100}}
		h.task.Clock.WakeAt(start + 102) // between two idle pauses
		h.mailbox.Assign(testSplit{"a", []int{1}})
		done := runAsync(ctx, h.task.Run)
		time.Sleep(250 * time.Millisecond)
		synctest.Wait()
		h.tr.expect(t, "start", "add splits a", "tick at +102ms", "tick at +202ms")
		if n := h.reader.polls.Load(); n != 0 {
			t.Fatalf("a paused reader was polled %d times", n)
		}
		if h.out.flushCount() == 0 {
			t.Fatal("a paused task did not flush its outputs")
		}
		paused.Store(false)
		settle()
		h.tr.expect(t, "record 1")
		cancel()
		synctest.Wait()
		if err := returned(t, done); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v after cancel, want context.Canceled", err)
		}
	})
}

// TestSourceTaskOperatorError: an error from the chain, which the reader's
// output cannot return, ends the loop after the Poll.
func TestSourceTaskOperatorError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSourceHarness()
		boom := errors.New("boom")
		h.task.Head = failing{recorder{h.tr}, boom}
		h.mailbox.Assign(testSplit{"a", []int{1, 2}})
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // of fake time
		defer cancel()
		if err := h.task.Run(ctx); !errors.Is(err, boom) {
			t.Fatalf("Run = %v, want the operator's error", err)
		}
		h.tr.expect(t, "start", "add splits a", "close")
	})
}

// splitRecorder is a head that keeps splits apart.
type splitRecorder struct{ recorder }

func (s splitRecorder) Split(id string) Collector[int] {
	return splitCollector{s.recorder, id}
}

func (s splitRecorder) ReleaseSplit(id string) { s.tr.add("release %s", id) }

func (s splitRecorder) DeadLetter(d source.DeadLetter) error {
	s.tr.add("dead letter from %s: %s", d.Split, d.Reason)
	return nil
}

type splitCollector struct {
	recorder
	id string
}

func (c splitCollector) Collect(r *Record[int]) error {
	c.tr.add("%s: record %d@%d", c.id, r.Value, r.Time)
	return nil
}

// TestSourceOutputSplits: a reader's per-split outputs reach the head's
// per-split collectors, dead letters are counted and routed, and records
// count once whichever output took them.
func TestSourceOutputSplits(t *testing.T) {
	tr := &transcript{}
	m := &Metrics{}
	out := &sourceOutput[int]{head: recorder{tr}, splitHead: splitRecorder{recorder{tr}}, metrics: m}
	a := out.ForSplit("a")
	if out.ForSplit("a") != a {
		t.Fatal("ForSplit returned a new output for the same split")
	}
	a.CollectAt(1, 10)
	out.ForSplit("b").CollectAt(2, 20)
	out.Collect(3)
	a.(source.DeadLetterOutput).DeadLetter(source.DeadLetter{Split: "a", Reason: "bad"})
	out.ReleaseSplit("a")
	tr.expect(t, "a: record 1@10", "b: record 2@20", "record 3", "dead letter from a: bad", "release a")
	if out.n != 3 || m.DeadLetters.Load() != 1 {
		t.Fatalf("counted %d records and %d dead letters, want 3 and 1", out.n, m.DeadLetters.Load())
	}
}
