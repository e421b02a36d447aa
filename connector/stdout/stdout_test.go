package stdout

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

type wctx struct{ subtask, parallelism int }

func (c wctx) Subtask() int        { return c.subtask }
func (c wctx) Parallelism() int    { return c.parallelism }
func (c wctx) Checkpointing() bool { return false }
func (c wctx) Restored() []byte    { return nil }

type fast struct{ N int }

func (f fast) AppendJSON(dst []byte) []byte {
	return append(strconv.AppendInt(append(dst, `{"f":`...), int64(f.N), 10), '}')
}

type plain struct {
	S string `json:"s"`
}

// lockedBuffer fails the test on concurrent writes instead of relying on
// the race detector alone.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	if !b.mu.TryLock() {
		panic("concurrent Write")
	}
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// mustSink is NewSink for writers that are not nil.
func mustSink[T any](t *testing.T, w io.Writer, opts ...SinkOption) *Sink[T] {
	t.Helper()
	s, err := NewSink[T](w, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSinkSharedWriter(t *testing.T) {
	var out lockedBuffer
	s := mustSink[fast](t, &out)
	const par, per = 4, 20000
	var wg sync.WaitGroup
	for i := range par {
		w, err := s.NewWriter(wctx{i, par})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			ctx := context.Background()
			for j := range per {
				if err := w.Write(ctx, fast{i*per + j}); err != nil {
					t.Error(err)
				}
			}
			if err := w.Flush(ctx); err != nil {
				t.Error(err)
			}
			w.Close()
		})
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(out.buf.String(), "\n"), "\n")
	var got []int
	for _, l := range lines {
		var n int
		if _, err := fmt.Sscanf(l, `{"f":%d}`, &n); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, n)
	}
	slices.Sort(got)
	if len(got) != par*per || got[0] != 0 || got[len(got)-1] != par*per-1 || len(slices.Compact(got)) != par*per {
		t.Fatalf("got %d distinct records, want %d", len(slices.Compact(got)), par*per)
	}
}

func TestSinkEncodingAndClose(t *testing.T) {
	var out bytes.Buffer
	w, err := mustSink[plain](t, &out).NewWriter(wctx{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	w.Write(ctx, plain{"a<b>&c"})
	w.Flush(ctx)
	w.Write(ctx, plain{"dropped"})
	w.Close()
	if got, want := out.String(), "{\"s\":\"a<b>&c\"}\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if err := w.Write(ctx, plain{}); err == nil {
		t.Fatal("Write after Close succeeded")
	}
	bad, _ := mustSink[any](t, &out).NewWriter(wctx{0, 1})
	if err := bad.Write(ctx, func() {}); err == nil || !strings.HasPrefix(err.Error(), "stdout: ") {
		t.Fatalf("unencodable record: %v", err)
	}
	// NewSink reports a nil writer, before any job runs.
	if _, err := NewSink[int](nil); err == nil || !strings.Contains(err.Error(), "io.Writer is nil") {
		t.Fatalf("NewSink(nil): %v", err)
	}
}

// TestSinkLineBuffered: with LineBuffered every record reaches the
// io.Writer as one whole line when Write returns, without Flush, and
// Close has nothing left to drop.
func TestSinkLineBuffered(t *testing.T) {
	var out lockedBuffer
	w, err := mustSink[fast](t, &out, LineBuffered()).NewWriter(wctx{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if err := w.Write(ctx, fast{i}); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(out.buf.String(), "\n"); got != i+1 {
			t.Fatalf("after Write %d the io.Writer holds %d lines, want %d:\n%s", i, got, i+1, out.buf.String())
		}
	}
	w.Close()
	if got, want := out.buf.String(), "{\"f\":0}\n{\"f\":1}\n{\"f\":2}\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
