package progress

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lockedBuffer is a bytes.Buffer safe for the Reporter's goroutine and the
// test's.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fakeJob reads 1,000 lines per second of (fake) time, of which one in a
// hundred is bad, and a window every 10 seconds.
func fakeJob(start time.Time) func() Sample {
	return func() Sample {
		secs := time.Since(start).Seconds()
		lines := int64(secs * 1000)
		wm := time.Time{}
		if w := int64(secs / 10); w > 0 {
			wm = time.Date(2026, 11, 24, 7, 40, 0, 0, time.UTC).Add(time.Duration(w) * 10 * time.Second)
		}
		return Sample{
			Lines: lines, BadLines: lines / 100, Windows: int64(secs / 10), Watermark: wm,
			Tasks: []Task{
				{Name: "source -> parse", Busy: time.Duration(secs * 0.9 * float64(time.Second)), Idle: time.Duration(secs * 0.1 * float64(time.Second))},
				{Name: "merge", Busy: time.Duration(secs * 0.2 * float64(time.Second)), Idle: time.Duration(secs * 0.8 * float64(time.Second))},
			},
		}
	}
}

// run runs r for d of fake time, then stops it and waits for it.
func run(r *Reporter, d time.Duration) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	time.Sleep(d)
	cancel()
	<-done
}

func TestTerminalLine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		r := New(&out, fakeJob(time.Now()), Options{Terminal: true})
		if r.Interval() != time.Second {
			t.Fatalf("interval %v, want 1s on a terminal", r.Interval())
		}
		run(r, 11500*time.Millisecond)
		got := out.String()
		if strings.Contains(got, "\n") {
			t.Fatalf("the status line has a newline: %q", got)
		}
		if !strings.HasSuffix(got, "\r\x1b[K") {
			t.Fatalf("the status line was not cleared at the end: %q", got)
		}
		draws := strings.Split(strings.TrimSuffix(got, "\r\x1b[K"), "\x1b[K")
		if len(draws) != 12 { // 11 status lines, and the rest after the last ESC[K
			t.Fatalf("got %d draws, want 11: %q", len(draws)-1, got)
		}
		last := draws[len(draws)-2]
		want := "\r1,000 lines/s  11,000 lines  watermark 2026-11-24T07:40:10Z  1 window  110 bad  busiest source -> parse 90%"
		if last != want {
			t.Fatalf("last status line\n %q\nwant\n %q", last, want)
		}
	})
}

func TestLogLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out lockedBuffer
		r := New(&out, fakeJob(time.Now()), Options{})
		if r.Interval() != 10*time.Second {
			t.Fatalf("interval %v, want 10s off a terminal", r.Interval())
		}
		run(r, 25*time.Second)
		lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
		if len(lines) != 2 {
			t.Fatalf("got %d log lines, want 2:\n%s", len(lines), out.String())
		}
		for _, want := range []string{"msg=progress", "lines_per_sec=1000", "lines=20000", "bad_lines=200", "windows=2",
			"watermark=2026-11-24T07:40:20Z", `busiest="source -> parse"`, "busy=90%"} {
			if !strings.Contains(lines[1], want) {
				t.Errorf("log line lacks %s:\n%s", want, lines[1])
			}
		}
		if strings.Contains(out.String(), "\r") {
			t.Error("log output holds a carriage return")
		}
	})
}

func TestPrintlnAboveStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var status, results lockedBuffer
		var n atomic.Int64
		r := New(&status, func() Sample { return Sample{Lines: n.Add(100)} }, Options{Terminal: true, Interval: time.Second})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { r.Run(ctx); close(done) }()
		time.Sleep(1500 * time.Millisecond)
		before := status.String()
		r.Println(&results, "window 1")
		after := status.String()[len(before):]
		cancel()
		<-done
		if results.String() != "window 1\n" {
			t.Fatalf("results %q", results.String())
		}
		if !strings.HasPrefix(after, "\r\x1b[K\r") || !strings.Contains(after, "lines/s") {
			t.Fatalf("Println did not clear and redraw the status line: %q", after)
		}
	})
}

func TestPrintlnWithoutStatus(t *testing.T) {
	var status, results bytes.Buffer
	r := New(&status, func() Sample { return Sample{} }, Options{Terminal: true})
	r.Println(&results, "hello")
	if status.Len() != 0 || results.String() != "hello\n" {
		t.Fatalf("status %q, results %q", status.String(), results.String())
	}
}

func TestCount(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {123456, "123,456"}, {1234567, "1,234,567"}, {-1234, "-1,234"}} {
		if got := Count(c.n); got != c.want {
			t.Errorf("Count(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestPlural(t *testing.T) {
	if got := Plural(1, "window"); got != "1 window" {
		t.Errorf("Plural(1) = %q", got)
	}
	if got := Plural(1234, "line"); got != "1,234 lines" {
		t.Errorf("Plural(1234) = %q", got)
	}
	if got := Plural(0, "window"); got != "0 windows" {
		t.Errorf("Plural(0) = %q", got)
	}
}

func TestBusiestSumsSubtasks(t *testing.T) {
	prev := []Task{{Name: "a", Subtask: 0}, {Name: "a", Subtask: 1}, {Name: "b"}}
	cur := []Task{
		{Name: "a", Subtask: 0, Busy: 6 * time.Second, Idle: 4 * time.Second},
		{Name: "a", Subtask: 1, Busy: 2 * time.Second, Backpressured: 8 * time.Second},
		{Name: "b", Busy: 5 * time.Second, Idle: 5 * time.Second},
	}
	if name, share := busiest(prev, cur); name != "b" || share != 0.5 {
		t.Fatalf("busiest = %s %v, want b 0.5 (a is 8s busy of 20s)", name, share)
	}
	if name, _ := busiest(nil, nil); name != "" {
		t.Fatalf("busiest of nothing = %q", name)
	}
}

func TestIsTerminal(t *testing.T) {
	f, err := openNotTerminal(t)
	if err != nil {
		t.Fatal(err)
	}
	if IsTerminal(f) {
		t.Fatal("a regular file is a terminal")
	}
}

func openNotTerminal(t *testing.T) (*os.File, error) {
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err == nil {
		t.Cleanup(func() { f.Close() })
	}
	return f, err
}
