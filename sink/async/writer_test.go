package async

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/weirstream/weir/sink"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

// wctx is the writer context of subtask 0 of 1.
type wctx struct{}

func (wctx) Subtask() int        { return 0 }
func (wctx) Parallelism() int    { return 1 }
func (wctx) Checkpointing() bool { return false }
func (wctx) Restored() []byte    { return nil }

// dest is an in-process destination: it records every request, can
// stall until released, and answers as answer says.
type dest struct {
	mu          sync.Mutex
	calls       []call
	acked       []int
	inFlight    int
	maxInFlight int
	stall       chan struct{} // while not nil, Submit waits for it to close
	// answer, if set, answers call number n (from 0) with batch; entries it
	// does not report as failed are acknowledged when err is nil.
	answer func(n int, batch []int) ([]int, error)
	// limit, if set, is read at the start of each call (the sink's
	// in-flight limit then).
	limit func() int64
	// limits are the values of limit, per call.
	limits []int64
}

type call struct {
	at    time.Time
	batch []int
}

func (d *dest) Submit(ctx context.Context, batch []int) ([]int, error) {
	d.mu.Lock()
	n := len(d.calls)
	d.calls = append(d.calls, call{time.Now(), slices.Clone(batch)})
	if d.limit != nil {
		d.limits = append(d.limits, d.limit())
	}
	d.inFlight++
	d.maxInFlight = max(d.maxInFlight, d.inFlight)
	stall, answer := d.stall, d.answer
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.inFlight--
		d.mu.Unlock()
	}()
	if stall != nil {
		select {
		case <-stall:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	var retry []int
	var err error
	if answer != nil {
		retry, err = answer(n, batch)
	}
	if err == nil {
		d.mu.Lock()
		for i, v := range batch {
			if !slices.Contains(retry, i) {
				d.acked = append(d.acked, v)
			}
		}
		d.mu.Unlock()
	}
	return retry, err
}

func (d *dest) release() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.stall != nil {
		close(d.stall)
		d.stall = nil
	}
}

func (d *dest) batchSizes() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []int
	for _, c := range d.calls {
		out = append(out, len(c.batch))
	}
	return out
}

func (d *dest) ackedSorted() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Clone(d.acked)
	slices.Sort(out)
	return out
}

func (d *dest) numCalls() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.calls)
}

func (d *dest) inFlightNow() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inFlight
}

func newTestSink(t *testing.T, d *dest, o Options[int]) (*Sink[int, int], sink.Writer[int]) {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quiet
	}
	s, err := NewSink(func(sink.WriterContext) (Submitter[int], error) { return d, nil },
		func(v int) (int, error) { return v, nil }, o)
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(wctx{})
	if err != nil {
		t.Fatal(err)
	}
	return s, w
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func writeAll(t *testing.T, w sink.Writer[int], vs []int) {
	t.Helper()
	for _, v := range vs {
		if err := w.Write(t.Context(), v); err != nil {
			t.Fatalf("Write(%d): %v", v, err)
		}
	}
}

// Full batches leave as soon as they fill; the rest waits for its time in
// the buffer or a Flush, which returns once all is acknowledged.
func TestBatchesByCount(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{}
		s, w := newTestSink(t, d, Options[int]{MaxBatchSize: 10})
		defer w.Close()
		writeAll(t, w, seq(95))
		synctest.Wait()
		if got := d.batchSizes(); !slices.Equal(got, []int{10, 10, 10, 10, 10, 10, 10, 10, 10}) {
			t.Fatalf("before Flush the batches are %v, want nine of 10 and the last 5 still buffered", got)
		}
		if err := w.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := d.batchSizes(); len(got) != 10 || got[9] != 5 {
			t.Fatalf("batches %v, want nine of 10 and one of 5", got)
		}
		if got := d.ackedSorted(); !slices.Equal(got, seq(95)) {
			t.Fatalf("acknowledged %v, want 0..94", got)
		}
		m := s.Metrics()
		if m.RecordsWritten != 95 || m.Requests != 10 || m.BatchRecords != 95 || m.MaxBatch != 10 || m.RecordsBuffered != 0 || m.RequestsInFlight != 0 {
			t.Fatalf("metrics %+v", m)
		}
		if m.InFlightLimit != DefaultMaxInFlightRequests || m.MeanBatchSize() != 9.5 {
			t.Fatalf("limit %d, mean batch %v", m.InFlightLimit, m.MeanBatchSize())
		}
	})
}

func TestBatchesByBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{}
		// Record i weighs 10+i bytes; batches hold at most 100.
		_, w := newTestSink(t, d, Options[int]{MaxBatchBytes: 100, Size: func(v int) int { return 10 + v }})
		defer w.Close()
		writeAll(t, w, seq(20))
		if err := w.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		// Requests run concurrently: put them in the order they were cut.
		slices.SortFunc(d.calls, func(a, b call) int { return a.batch[0] - b.batch[0] })
		var all []int
		for i, c := range d.calls {
			bytes := 0
			for _, v := range c.batch {
				bytes += 10 + v
			}
			if bytes > 100 {
				t.Errorf("batch %d %v has %d bytes, above MaxBatchBytes 100", i, c.batch, bytes)
			}
			// A batch is cut only when the next record would not fit.
			if i < len(d.calls)-1 && bytes+10+d.calls[i+1].batch[0] <= 100 {
				t.Errorf("batch %d %v has %d bytes and was cut before %d, which fits", i, c.batch, bytes, d.calls[i+1].batch[0])
			}
			all = append(all, c.batch...)
		}
		if !slices.Equal(all, seq(20)) {
			t.Fatalf("records sent %v, want 0..19 in order", all)
		}
	})
}

func TestMaxTimeInBuffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{}
		_, w := newTestSink(t, d, Options[int]{MaxTimeInBuffer: 100 * time.Millisecond})
		defer w.Close()
		start := time.Now()
		writeAll(t, w, seq(3))
		time.Sleep(99 * time.Millisecond)
		synctest.Wait()
		if n := d.numCalls(); n != 0 {
			t.Fatalf("%d requests before MaxTimeInBuffer passed", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if got := d.batchSizes(); !slices.Equal(got, []int{3}) {
			t.Fatalf("after MaxTimeInBuffer the batches are %v, want one of 3", got)
		}
		if at := d.calls[0].at.Sub(start); at != 100*time.Millisecond {
			t.Fatalf("the partial batch left after %v, want 100ms", at)
		}
	})
}

func TestRecordTooLarge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{}
		_, w := newTestSink(t, d, Options[int]{Name: "big", MaxRecordBytes: 50, Size: func(v int) int { return v }})
		defer w.Close()
		if err := w.Write(t.Context(), 50); err != nil {
			t.Fatalf("a record of MaxRecordBytes was refused: %v", err)
		}
		err := w.Write(t.Context(), 51)
		if err == nil || !strings.Contains(err.Error(), "MaxRecordBytes") || !strings.Contains(err.Error(), `"big"`) || !strings.Contains(err.Error(), "51 bytes") {
			t.Fatalf("Write of a record above MaxRecordBytes: %v, want an error naming the option, the size and the sink", err)
		}
		if ferr := w.Flush(t.Context()); ferr == nil || ferr.Error() != err.Error() {
			t.Fatalf("Flush after the fatal error returned %v, want %v", ferr, err)
		}
	})
}

// A destination that stalls fills the buffer up to MaxBufferedRecords;
// then Write blocks until the destination answers again.
func TestBackpressureBoundsMemory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{stall: make(chan struct{})}
		s, w := newTestSink(t, d, Options[int]{MaxBatchSize: 10, MaxInFlightRequests: 2, MaxBufferedRecords: 50})
		defer w.Close()
		var written sync.WaitGroup
		var mu sync.Mutex
		n := 0
		written.Go(func() {
			for i := range 500 {
				if err := w.Write(context.Background(), i); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
				mu.Lock()
				n++
				mu.Unlock()
			}
		})
		synctest.Wait() // the writing goroutine is blocked
		mu.Lock()
		if n != 50 {
			t.Fatalf("Write accepted %d records while the destination stalled, want MaxBufferedRecords = 50", n)
		}
		mu.Unlock()
		if m := s.Metrics(); m.RecordsBuffered != 50 || m.RequestsInFlight != 2 || d.inFlightNow() != 2 {
			t.Fatalf("buffered %d, in flight %d (destination: %d), want 50 and 2", m.RecordsBuffered, m.RequestsInFlight, d.inFlightNow())
		}
		d.release()
		written.Wait()
		if err := w.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := d.ackedSorted(); !slices.Equal(got, seq(500)) {
			t.Fatalf("acknowledged %d records, want 0..499", len(got))
		}
		if m := s.Metrics(); m.RecordsBufferedPeak != 50 || m.RecordsBuffered != 0 {
			t.Fatalf("buffered peak %d (now %d), want exactly the bound 50", m.RecordsBufferedPeak, m.RecordsBuffered)
		}
	})
}

func TestInFlightBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{stall: make(chan struct{})}
		_, w := newTestSink(t, d, Options[int]{MaxBatchSize: 10, MaxInFlightRequests: 4})
		defer w.Close()
		writeAll(t, w, seq(100))
		synctest.Wait()
		if got := d.inFlightNow(); got != 4 {
			t.Fatalf("%d requests in flight, want MaxInFlightRequests = 4", got)
		}
		d.release()
		if err := w.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if d.maxInFlight != 4 || len(d.ackedSorted()) != 100 {
			t.Fatalf("max in flight %d, acknowledged %d", d.maxInFlight, len(d.acked))
		}
	})
}

func TestFlushWaitsForAcknowledgements(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{stall: make(chan struct{})}
		_, w := newTestSink(t, d, Options[int]{MaxBatchSize: 10, MaxTimeInBuffer: time.Hour})
		defer w.Close()
		writeAll(t, w, seq(25))
		done := make(chan error, 1)
		go func() { done <- w.Flush(context.Background()) }()
		synctest.Wait()
		select {
		case err := <-done:
			t.Fatalf("Flush returned %v before the destination answered", err)
		default:
		}
		got := d.batchSizes()
		slices.Sort(got)
		if !slices.Equal(got, []int{5, 10, 10}) {
			t.Fatalf("during Flush the batches are %v, want the partial batch sent at once: 10, 10 and 5", got)
		}
		d.release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got := d.ackedSorted(); !slices.Equal(got, seq(25)) {
			t.Fatalf("Flush returned with %v acknowledged, want 0..24", got)
		}
	})
}

func TestFlushHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{stall: make(chan struct{})}
		_, w := newTestSink(t, d, Options[int]{})
		defer w.Close()
		writeAll(t, w, seq(5))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := w.Flush(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "5 records") {
			t.Fatalf("Flush with a stalled destination and a deadline: %v", err)
		}
	})
}

// Entries that fail, alone or with their whole batch, are sent again until
// acknowledged, and Flush waits for that.
func TestRetriesUntilAcknowledged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		var mu sync.Mutex
		d := &dest{answer: func(n int, batch []int) ([]int, error) {
			mu.Lock()
			defer mu.Unlock()
			switch x := r.IntN(10); {
			case x < 2:
				return nil, Retryable(errors.New("throttled"))
			case x < 5:
				var retry []int
				for i := range batch {
					if r.IntN(3) == 0 {
						retry = append(retry, i, i) // repeats count once
					}
				}
				return retry, nil
			}
			return nil, nil
		}}
		s, w := newTestSink(t, d, Options[int]{MaxBatchSize: 7, MaxInFlightRequests: 3, InitialBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
		defer w.Close()
		writeAll(t, w, seq(1000))
		if err := w.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := d.ackedSorted(); !slices.Equal(got, seq(1000)) {
			t.Fatalf("acknowledged %d records, want each of 0..999 once", len(got))
		}
		m := s.Metrics()
		if m.Retries == 0 || m.RequestsFailed == 0 || m.RecordsWritten != 1000 || m.BatchRecords != 1000+m.Retries || m.RecordsBuffered != 0 {
			t.Fatalf("metrics %+v", m)
		}
	})
}

// Retries back off exponentially within their jitter, and never sooner
// than RetryAfter asks.
func TestBackoffAndRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{answer: func(n int, batch []int) ([]int, error) {
			switch {
			case n < 4:
				return nil, Retryable(errors.New("unavailable"))
			case n == 4:
				return nil, RetryAfter(errors.New("slow down"), 3*time.Second)
			}
			return nil, nil
		}}
		_, w := newTestSink(t, d, Options[int]{InitialBackoff: 100 * time.Millisecond, MaxBackoff: 500 * time.Millisecond})
		defer w.Close()
		writeAll(t, w, seq(1))
		if err := w.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if len(d.calls) != 6 {
			t.Fatalf("%d calls, want 6", len(d.calls))
		}
		for i, base := range []time.Duration{100, 200, 400, 500} {
			base *= time.Millisecond
			gap := d.calls[i+1].at.Sub(d.calls[i].at)
			if gap < base/2 || gap > base {
				t.Errorf("retry %d came %v after the failure, want within [%v, %v]", i+1, gap, base/2, base)
			}
		}
		if gap := d.calls[5].at.Sub(d.calls[4].at); gap < 3*time.Second {
			t.Errorf("the retry after RetryAfter(3s) came after %v", gap)
		}
	})
}

func TestBackoffBounds(t *testing.T) {
	for attempts := 1; attempts < 70; attempts++ {
		want := min(10*time.Millisecond<<min(attempts-1, 20), time.Second)
		for range 50 {
			if d := backoff(10*time.Millisecond, time.Second, attempts); d < want/2 || d > want {
				t.Fatalf("backoff after %d attempts = %v, want within [%v, %v]", attempts, d, want/2, want)
			}
		}
	}
}

func TestFatalError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cause := errors.New("400 bad request: field x")
		d := &dest{answer: func(n int, batch []int) ([]int, error) { return nil, cause }}
		_, w := newTestSink(t, d, Options[int]{Name: "orders"})
		defer w.Close()
		writeAll(t, w, seq(3))
		err := w.Flush(t.Context())
		if !errors.Is(err, cause) || !strings.Contains(err.Error(), `"orders"`) || !strings.Contains(err.Error(), "not retryable") {
			t.Fatalf("Flush: %v, want the cause, the sink's name and why", err)
		}
		if werr := w.Write(t.Context(), 4); werr == nil || werr.Error() != err.Error() {
			t.Fatalf("Write after the fatal error: %v", werr)
		}
		if d.numCalls() != 1 {
			t.Fatalf("%d calls, want 1: a fatal error is not retried", d.numCalls())
		}
	})
}

func TestMaxAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{answer: func(n int, batch []int) ([]int, error) { return []int{0}, nil }}
		_, w := newTestSink(t, d, Options[int]{MaxAttempts: 3, InitialBackoff: time.Millisecond})
		defer w.Close()
		writeAll(t, w, seq(2))
		err := w.Flush(t.Context())
		if err == nil || !strings.Contains(err.Error(), "MaxAttempts") || !strings.Contains(err.Error(), "failed 3 times") {
			t.Fatalf("Flush: %v, want an error naming MaxAttempts", err)
		}
		if n := d.numCalls(); n != 3 {
			t.Fatalf("%d calls, want 3", n)
		}
	})
}

func TestSubmitterBugsAreFatal(t *testing.T) {
	for name, answer := range map[string]func(int, []int) ([]int, error){
		"index out of range": func(int, []int) ([]int, error) { return []int{5}, nil },
		"panic":              func(int, []int) ([]int, error) { panic("boom") },
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				_, w := newTestSink(t, &dest{answer: answer}, Options[int]{})
				defer w.Close()
				writeAll(t, w, seq(2))
				err := w.Flush(t.Context())
				if err == nil || !(strings.Contains(err.Error(), "entry 5") || strings.Contains(err.Error(), "panicked: boom")) {
					t.Fatalf("Flush: %v", err)
				}
			})
		})
	}
}

// A destination that takes only two requests at once throttles the rest:
// the in-flight limit comes down from 16, and every record arrives.
func TestThrottlingNarrowsLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var s *Sink[int, int]
		d := &dest{}
		d.answer = func(n int, batch []int) ([]int, error) {
			time.Sleep(10 * time.Millisecond)
			d.mu.Lock()
			busy := d.inFlight
			d.mu.Unlock()
			if busy > 2 {
				return nil, Retryable(errors.New("429 too many requests"))
			}
			return nil, nil
		}
		d.limit = func() int64 { return s.Metrics().InFlightLimit }
		s, w := newTestSink(t, d, Options[int]{MaxBatchSize: 10, InitialBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond})
		defer w.Close()
		writeAll(t, w, seq(2000))
		if err := w.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := d.ackedSorted(); len(got) != 2000 {
			t.Fatalf("acknowledged %d records, want 2000", len(got))
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if low := slices.Min(d.limits); low > 4 {
			t.Fatalf("the in-flight limit never came below %d though the destination throttled %d requests", low, s.Metrics().RequestsFailed)
		}
		if d.limits[0] != 16 {
			t.Fatalf("the first request was sent at limit %d, want MaxInFlightRequests", d.limits[0])
		}
	})
}

func TestAIMD(t *testing.T) {
	a := newAIMD(8, 1, 0.5)
	steps := []struct {
		op    string
		epoch uint64
		want  int
	}{
		{"throttled", 0, 4},
		{"throttled", 0, 4}, // sent before the decrease: no new decrease
		{"throttled", 1, 2},
		{"throttled", 2, 1},
		{"throttled", 3, 1}, // never below 1
		{"succeeded", 0, 2},
		{"succeeded", 0, 3},
		{"succeeded", 0, 4},
		{"throttled", 4, 2},
		{"succeeded", 0, 3},
	}
	for i, s := range steps {
		if s.op == "throttled" {
			a.throttled(s.epoch)
		} else {
			a.succeeded()
		}
		if got := a.allowed(); got != s.want {
			t.Fatalf("step %d (%s, epoch %d): limit %d, want %d", i, s.op, s.epoch, got, s.want)
		}
	}
	for range 20 {
		a.succeeded()
	}
	if a.allowed() != 8 {
		t.Fatalf("limit %d after many successes, want the maximum 8", a.allowed())
	}
}

// In synchronous mode each Write sends its record alone and returns when
// it is acknowledged, retries included.
func TestSynchronous(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{answer: func(n int, batch []int) ([]int, error) {
			if n%3 == 0 {
				return nil, Retryable(errors.New("try again"))
			}
			return nil, nil
		}}
		s, w := newTestSink(t, d, Options[int]{Synchronous: true, InitialBackoff: time.Millisecond})
		defer w.Close()
		for i := range 10 {
			if err := w.Write(t.Context(), i); err != nil {
				t.Fatal(err)
			}
			if got := d.ackedSorted(); !slices.Equal(got, seq(i+1)) {
				t.Fatalf("after Write(%d) the destination has %v", i, got)
			}
		}
		if d.maxInFlight != 1 || slices.Max(d.batchSizes()) != 1 {
			t.Fatalf("max in flight %d, batch sizes %v: want one record at a time", d.maxInFlight, d.batchSizes())
		}
		if m := s.Metrics(); m.Retries != 5 || m.RecordsWritten != 10 || m.InFlightLimit != 1 {
			t.Fatalf("metrics %+v", m)
		}
	})
}

func TestCloseStopsRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{stall: make(chan struct{})}
		s, w := newTestSink(t, d, Options[int]{MaxBatchSize: 10})
		writeAll(t, w, seq(100))
		synctest.Wait()
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if n := d.inFlightNow(); n != 0 {
			t.Fatalf("%d Submit calls still run after Close", n)
		}
		if err := w.Write(t.Context(), 1); !errors.Is(err, ErrClosed) {
			t.Fatalf("Write after Close: %v, want ErrClosed", err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if m := s.Metrics(); m.RecordsBuffered != 0 || m.RequestsInFlight != 0 || m.InFlightLimit != 0 {
			t.Fatalf("gauges after Close: %+v", m)
		}
	})
}

func TestWriteHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &dest{stall: make(chan struct{})}
		_, w := newTestSink(t, d, Options[int]{MaxBatchSize: 10, MaxBufferedRecords: 10})
		defer w.Close()
		writeAll(t, w, seq(10))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := w.Write(ctx, 10); !errors.Is(err, context.Canceled) {
			t.Fatalf("Write into a full buffer with a cancelled context: %v", err)
		}
	})
}

func TestOptionsValidate(t *testing.T) {
	_, err := NewSink[int, int](nil, nil, Options[int]{
		MaxBatchSize: -1, MaxBatchBytes: -1, MaxRecordBytes: -1, MaxTimeInBuffer: -1, MaxInFlightRequests: -1,
		MaxBufferedRecords: -1, InitialBackoff: -1, MaxBackoff: -1, MaxAttempts: -1, AdditiveIncrease: -1, DecreaseFactor: 1,
	})
	if err == nil {
		t.Fatal("NewSink accepted negative options")
	}
	for _, f := range []string{"newSubmitter", "convert", "MaxBatchSize", "MaxBatchBytes", "MaxRecordBytes", "MaxTimeInBuffer", "MaxInFlightRequests",
		"MaxBufferedRecords", "InitialBackoff", "MaxBackoff", "MaxAttempts", "AdditiveIncrease", "DecreaseFactor"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("the error does not name %s:\n%v", f, err)
		}
	}
	newSub := func(sink.WriterContext) (Submitter[int], error) { return &dest{}, nil }
	id := func(v int) (int, error) { return v, nil }
	for _, c := range []struct {
		o    Options[int]
		want string
	}{
		{Options[int]{MaxBatchBytes: 100, MaxRecordBytes: 200}, "MaxRecordBytes (200) is above MaxBatchBytes (100)"},
		{Options[int]{MaxBatchSize: 1000, MaxBufferedRecords: 999}, "MaxBufferedRecords (999) is below MaxBatchSize (1000)"},
		{Options[int]{InitialBackoff: time.Second, MaxBackoff: time.Millisecond}, "MaxBackoff (1ms) is below InitialBackoff (1s)"},
	} {
		if _, err := NewSink(newSub, id, c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewSink(%+v): %v, want %q", c.o, err, c.want)
		}
	}
	s, err := NewSink(newSub, id, Options[int]{})
	if err != nil {
		t.Fatal(err)
	}
	o := s.Options()
	if o.MaxBatchSize != 500 || o.MaxBatchBytes != 1<<20 || o.MaxRecordBytes != 1<<20 || o.MaxTimeInBuffer != 100*time.Millisecond ||
		o.MaxInFlightRequests != 16 || o.MaxBufferedRecords != 10_000 || o.MaxAttempts != 0 || o.Name != "async" {
		t.Fatalf("effective defaults: %s", o)
	}
	if !strings.Contains(o.String(), "max-attempts=unlimited") {
		t.Fatalf("String: %s", o)
	}
}

func TestNewWriterErrors(t *testing.T) {
	cause := errors.New("no credentials")
	s, err := NewSink(func(sink.WriterContext) (Submitter[int], error) { return nil, cause },
		func(v int) (int, error) { return v, nil }, Options[int]{Name: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewWriter(wctx{}); !errors.Is(err, cause) || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("NewWriter: %v", err)
	}
}

func TestConvertError(t *testing.T) {
	cause := errors.New("cannot encode")
	s, err := NewSink(func(sink.WriterContext) (Submitter[int], error) { return &dest{}, nil },
		func(v int) (int, error) { return 0, fmt.Errorf("record %d: %w", v, cause) }, Options[int]{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(wctx{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(t.Context(), 7); !errors.Is(err, cause) || !strings.Contains(err.Error(), "record 7") {
		t.Fatalf("Write: %v", err)
	}
}

// TestDeque checks the ring buffer against a slice on random operations.
func TestDeque(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var d deque[int]
	var want []int
	for i := range 20000 {
		switch x := r.IntN(10); {
		case x < 4:
			d.pushBack(i)
			want = append(want, i)
		case x < 6:
			d.pushFront(i)
			want = append([]int{i}, want...)
		case len(want) > 0:
			if got := d.popFront(); got != want[0] {
				t.Fatalf("op %d: popFront = %d, want %d", i, got, want[0])
			}
			want = want[1:]
		}
		if d.len() != len(want) {
			t.Fatalf("op %d: len %d, want %d", i, d.len(), len(want))
		}
		if len(want) > 0 && (*d.at(0) != want[0] || *d.at(len(want) - 1) != want[len(want)-1]) {
			t.Fatalf("op %d: ends differ", i)
		}
	}
}
