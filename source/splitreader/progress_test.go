package splitreader_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/splitreader"
)

// progressReader is a memReader that reports its progress: the records
// read, and those left (-1 for an unbounded split).
type progressReader struct{ *memReader }

func (r progressReader) Progress() (int64, int64) {
	if r.pos.Unbounded {
		return int64(r.pos.Next), -1
	}
	return int64(r.pos.Next), int64(r.pos.End - r.pos.Next)
}

// newProgressReader returns a base whose split readers report progress,
// except those of the splits named in silent.
func newProgressReader(h *harness, o splitreader.Options, silent ...string) source.Reader[string] {
	return splitreader.New(h, func(ctx context.Context, s *memSplit) (splitreader.Reader[string, *memSplit], error) {
		r, err := h.open(ctx, s)
		if err != nil || slices.Contains(silent, s.ID) {
			return r, err
		}
		return progressReader{r.(*memReader)}, nil
	}, o)
}

func progressOf(r source.Reader[string]) []source.SplitProgress {
	return r.(source.ProgressReporter).AppendSplitProgress(nil)
}

func TestProgressOfOpenAndFinishedSplits(t *testing.T) {
	h := newHarness(t, 3)
	r := newProgressReader(h, splitreader.Options{})
	defer r.Close()
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := progressOf(r); len(got) != 0 {
		t.Fatalf("before any Read: %v, want nothing", got)
	}
	r.AddSplits([]source.Split{&memSplit{ID: "a", Next: 2, End: 10}, &memSplit{ID: "b", End: 4}})
	out := &plainOut{}
	poll(t, r, out) // a: 2 → 5
	want := []source.SplitProgress{{Split: "a", Position: 5, Lag: 5}}
	if got := progressOf(r); !slices.Equal(got, want) {
		t.Fatalf("after one Read: %v, want %v", got, want)
	}
	poll(t, r, out) // a: 5 → 8
	poll(t, r, out) // a: 8 → 10, finished
	poll(t, r, out) // b: 0 → 3
	want = []source.SplitProgress{{Split: "b", Position: 3, Lag: 1}, {Split: "a", Position: 10, Lag: 0}}
	if got := progressOf(r); !slices.Equal(got, want) {
		t.Fatalf("after a finished and b started: %v, want %v", got, want)
	}
	r.NoMoreSplits()
	drain(t, r, out)
	want = []source.SplitProgress{{Split: "a", Position: 10}, {Split: "b", Position: 4}}
	if got := progressOf(r); !slices.Equal(got, want) {
		t.Fatalf("at the end: %v, want %v", got, want)
	}
}

func TestProgressOnlyOfReadersThatReportIt(t *testing.T) {
	h := newHarness(t, 100)
	r := newProgressReader(h, splitreader.Options{Concurrent: true, Push: true}, "quiet")
	defer r.Close()
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.AddSplits([]source.Split{&memSplit{ID: "quiet", End: 5, Unbounded: true}, &memSplit{ID: "loud", End: 7, Unbounded: true}})
	out := &plainOut{}
	for range 4 {
		poll(t, r, out)
	}
	want := []source.SplitProgress{{Split: "loud", Position: 7, Lag: -1}}
	if got := progressOf(r); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// TestProgressKeepsTheLatestFinished: a bounded source of many splits
// reports a bounded number of finished ones, the latest.
func TestProgressKeepsTheLatestFinished(t *testing.T) {
	h := newHarness(t, 10)
	r := newProgressReader(h, splitreader.Options{})
	defer r.Close()
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	var splits []source.Split
	for i := range 40 {
		splits = append(splits, &memSplit{ID: fmt.Sprint("s", i), End: 1})
	}
	r.AddSplits(splits)
	r.NoMoreSplits()
	drain(t, r, &plainOut{})
	got := progressOf(r)
	if len(got) == 0 || len(got) > 16 {
		t.Fatalf("%d finished splits reported, want between 1 and 16", len(got))
	}
	if last := got[len(got)-1]; last.Split != "s39" || last.Lag != 0 || last.Position != 1 {
		t.Fatalf("the last reported split is %+v, want s39 at 1 with lag 0", last)
	}
}

// TestProgressWhilePolling: AppendSplitProgress is safe to call from
// another goroutine while the subtask polls (run with -race).
func TestProgressWhilePolling(t *testing.T) {
	h := newHarness(t, 1)
	r := newProgressReader(h, splitreader.Options{})
	defer r.Close()
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	r.AddSplits([]source.Split{&memSplit{ID: "a", End: 500}, &memSplit{ID: "b", End: 500}})
	r.NoMoreSplits()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		var buf []source.SplitProgress
		for {
			select {
			case <-stop:
				return
			default:
			}
			buf = r.(source.ProgressReporter).AppendSplitProgress(buf[:0])
			for _, p := range buf {
				if p.Position+p.Lag > 500 || p.Position < 0 {
					t.Errorf("inconsistent progress %+v", p)
				}
			}
		}
	})
	drain(t, r, &plainOut{})
	close(stop)
	wg.Wait()
}
