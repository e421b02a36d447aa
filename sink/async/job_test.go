package async_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/sink/async"
	"github.com/weirstream/weir/weirtest"
)

// flakyStore fails about 30% of requests: some whole (half of those after
// storing the batch, as a destination that fails to answer does), some in
// part. It counts how often it stored each record and which records it
// acknowledged.
type flakyStore struct {
	mu     sync.Mutex
	r      *rand.Rand
	stored map[int]int
	acked  map[int]bool
	failed int
}

func (f *flakyStore) Submit(ctx context.Context, batch []int) ([]int, error) {
	time.Sleep(time.Millisecond)
	f.mu.Lock()
	defer f.mu.Unlock()
	x := f.r.IntN(100)
	if x < 30 {
		f.failed++
	}
	switch {
	case x < 10:
		return nil, async.Retryable(errors.New("503 service unavailable"))
	case x < 20:
		for _, id := range batch {
			f.stored[id]++
		}
		return nil, async.Retryable(errors.New("connection reset after the write"))
	case x < 30:
		var retry []int
		for i, id := range batch {
			if i%2 == 0 {
				retry = append(retry, i)
			} else {
				f.stored[id]++
				f.acked[id] = true
			}
		}
		return retry, nil
	}
	for _, id := range batch {
		f.stored[id]++
		f.acked[id] = true
	}
	return nil, nil
}

func (f *flakyStore) isAcked(id int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.acked[id]
}

// checkedSink wraps a sink: after each Flush of a writer it checks that the
// store acknowledged every record written to that writer before.
type checkedSink struct {
	inner   sink.Sink[int]
	store   *flakyStore
	flushes atomic.Int64
	missing atomic.Int64
}

func (c *checkedSink) NewWriter(ctx sink.WriterContext) (sink.Writer[int], error) {
	w, err := c.inner.NewWriter(ctx)
	return &checkedWriter{Writer: w, s: c}, err
}

type checkedWriter struct {
	sink.Writer[int]
	s       *checkedSink
	pending []int
}

func (w *checkedWriter) Write(ctx context.Context, v int) error {
	w.pending = append(w.pending, v)
	return w.Writer.Write(ctx, v)
}

func (w *checkedWriter) Flush(ctx context.Context) error {
	if err := w.Writer.Flush(ctx); err != nil {
		return err
	}
	for _, id := range w.pending {
		if !w.s.store.isAcked(id) {
			w.s.missing.Add(1)
		}
	}
	w.pending = w.pending[:0]
	w.s.flushes.Add(1)
	return nil
}

// A job with checkpoints writes through a destination that fails often:
// every record arrives at least once, and at every checkpoint Flush
// returns only after the destination acknowledged everything before it.
func TestJobAtLeastOnceWithFlakyDestination(t *testing.T) {
	const n = 20_000
	ids := make([]int, n)
	for i := range ids {
		ids[i] = i
	}
	store := &flakyStore{r: rand.New(rand.NewPCG(7, 8)), stored: map[int]int{}, acked: map[int]bool{}}
	s, err := async.NewSink(func(sink.WriterContext) (async.Submitter[int], error) { return store, nil },
		func(v int) (int, error) { return v, nil },
		async.Options[int]{Name: "flaky", MaxBatchSize: 20, MaxInFlightRequests: 4, MaxBufferedRecords: 200,
			MaxTimeInBuffer: 5 * time.Millisecond, InitialBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
			Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	checked := &checkedSink{inner: s, store: store}

	src := weirtest.FromSlice(ids...)
	src.BatchSize = 100
	src.Delay = time.Millisecond
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, t.TempDir()))
	weir.SinkTo(weir.FromSource(env, src, weir.Name("ids")), sink.Sink[int](checked), weir.Name("flaky"))
	if err := env.Execute(t.Context(), "at-least-once"); err != nil {
		t.Fatal(err)
	}

	completed := 0
	for _, c := range env.CheckpointStats() {
		if c.Status == "completed" {
			completed++
		}
	}
	if completed < 3 {
		t.Fatalf("%d checkpoints completed, want at least 3", completed)
	}
	// Each writer flushes at the end of its input and at every checkpoint
	// while it runs; the one that ends last took part in every checkpoint
	// (one that ended first misses those that complete after it).
	if f := checked.flushes.Load(); f < int64(completed+2) {
		t.Fatalf("%d flushes for %d checkpoints", f, completed)
	}
	if m := checked.missing.Load(); m != 0 {
		t.Fatalf("%d records were not acknowledged when Flush returned", m)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	dups := 0
	for _, id := range ids {
		switch c := store.stored[id]; {
		case c == 0:
			t.Fatalf("record %d never arrived", id)
		case c > 1:
			dups += c - 1
		}
	}
	if len(store.stored) != n {
		t.Fatalf("the store has %d distinct records, want %d", len(store.stored), n)
	}
	m := s.Metrics()
	if store.failed == 0 || m.Retries == 0 || m.RecordsWritten != n || m.RecordsBuffered != 0 || m.InFlightLimit != 0 {
		t.Fatalf("failed requests %d, metrics %+v", store.failed, m)
	}
	t.Logf("%d records, %d checkpoints, %d failed requests, %d retried entries, %d duplicates, mean batch %.1f",
		n, completed, store.failed, m.Retries, dups, m.MeanBatchSize())
}

// Example shows a sink on the base: the Submitter prints each batch it is
// given. One request in flight keeps the output in order.
func Example() {
	print := async.SubmitterFunc[string](func(ctx context.Context, batch []string) ([]int, error) {
		fmt.Println(batch)
		return nil, nil
	})
	s, err := async.NewSink(func(sink.WriterContext) (async.Submitter[string], error) { return print, nil },
		func(v int) (string, error) { return fmt.Sprint("#", v), nil },
		async.Options[string]{Name: "print", MaxBatchSize: 2, MaxInFlightRequests: 1})
	if err != nil {
		panic(err)
	}
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(1, 2, 3, 4, 5)), s)
	if err := env.Execute(context.Background(), "example"); err != nil {
		panic(err)
	}
	fmt.Println("written:", s.Metrics().RecordsWritten)
	// Output:
	// [#1 #2]
	// [#3 #4]
	// [#5]
	// written: 5
}
