package runtime

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirstream/weir/codec"
)

// transcript is the ordered list of what a task did, written by the fakes
// around it: its head, outputs, tickers, checkpoint hooks and reader. The
// task writes from its goroutine and the test reads from its own, so it
// locks.
type transcript struct {
	mu    sync.Mutex
	lines []string
}

func (tr *transcript) add(format string, args ...any) {
	tr.mu.Lock()
	tr.lines = append(tr.lines, fmt.Sprintf(format, args...))
	tr.mu.Unlock()
}

// take returns the lines written since the last take.
func (tr *transcript) take() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	lines := tr.lines
	tr.lines = nil
	return lines
}

// expect checks that the lines written since the last take are want.
func (tr *transcript) expect(t *testing.T, want ...string) {
	t.Helper()
	if got := tr.take(); !slices.Equal(got, want) {
		t.Fatalf("transcript:\n\t%s\nwant:\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

// recorder is a chain's head that writes what it receives to a
// transcript.
type recorder struct{ tr *transcript }

func (r recorder) Collect(rec *Record[int]) error {
	if rec.Time == NoTimestamp {
		r.tr.add("record %d", rec.Value)
	} else {
		r.tr.add("record %d@%d", rec.Value, rec.Time)
	}
	return nil
}

func (r recorder) Watermark(wm int64) error {
	r.tr.add("watermark %s", wmString(wm))
	return nil
}

func (r recorder) End() error {
	r.tr.add("end")
	return nil
}

func wmString(wm int64) string {
	switch wm {
	case Idle:
		return "idle"
	case EndOfTime:
		return "end-of-time"
	}
	return fmt.Sprint(wm)
}

// fakeOutput is a writer at the end of a chain: it writes the barriers it
// is asked to send to the transcript and counts flushes (a flush happens at
// every idle turn, so it stays out of the transcript).
type fakeOutput struct {
	tr      *transcript
	mu      sync.Mutex
	flushes int
	onFlush func() // called at the next flush, once
}

func (o *fakeOutput) Flush() error {
	o.mu.Lock()
	o.flushes++
	f := o.onFlush
	o.onFlush = nil
	o.mu.Unlock()
	if f != nil {
		f()
	}
	return nil
}

func (o *fakeOutput) flushCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flushes
}

func (o *fakeOutput) Barrier(id int64) error {
	o.tr.add("barrier %d", id)
	return nil
}

func (o *fakeOutput) UnalignedBarrier(id int64) error {
	o.tr.add("unaligned barrier %d", id)
	return nil
}

func (o *fakeOutput) LatencyMarker(m LatencyMarker) error {
	o.tr.add("latency marker from %d/%d", m.Source, m.Subtask)
	return nil
}

// fakeCheckpointing returns hooks that write to tr, and the channel that
// carries the coordinator's commands to the task. With unaligned, every
// checkpoint is unaligned; the channel state it finishes with is decoded
// into the transcript.
func fakeCheckpointing(tr *transcript, unaligned bool) (*Checkpointing, chan Command) {
	commands := make(chan Command, 4)
	c := &Checkpointing{
		Commands: commands,
		Snapshot: func(_ context.Context, id int64, alignment time.Duration) error {
			tr.add("snapshot %d (alignment %v)", id, alignment)
			return nil
		},
		Notify: func(_ context.Context, c Command) error {
			tr.add("notify %s %d", [...]string{"trigger", "complete", "abort"}[c.Kind], c.ID)
			return nil
		},
	}
	if unaligned {
		c.Unaligned = func(int64) bool { return true }
		c.SnapshotUnaligned = func(_ context.Context, id int64) (func([]byte) error, error) {
			tr.add("snapshot unaligned %d", id)
			return func(state []byte) error {
				recs, err := DecodeChannelState(codec.For[int](), state)
				if err != nil {
					return err
				}
				var vs []int
				for _, r := range recs {
					vs = append(vs, r.Value)
				}
				tr.add("channel state %d: %v", id, vs)
				return nil
			}, nil
		}
	}
	return c, commands
}

// fakeTicker is an operator that acts on processing time every period: it
// writes each call, as the time since start, to the transcript.
type fakeTicker struct {
	tr     *transcript
	start  int64 // Unix ms
	period int64
}

func (f *fakeTicker) Tick(now int64) (int64, error) {
	f.tr.add("tick at +%dms", now-f.start)
	return now + f.period, nil
}

// runAsync runs run on its own goroutine and returns where its error
// arrives.
func runAsync(ctx context.Context, run func(context.Context) error) <-chan error {
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	return done
}

// returned reports the error a task returned, or fails if it has not.
func returned(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	default:
		t.Fatal("the task has not returned")
		return nil
	}
}
