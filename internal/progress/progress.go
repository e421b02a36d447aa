// Package progress tells the person running a job how it is doing.
//
// On a terminal a Reporter keeps one status line up to date, rewritten in
// place with '\r' and cleared when it stops:
//
//	48,210 lines/s  1,204,331 lines  watermark 2026-11-24T07:59:00Z  19 windows  12 bad  busiest count-clients 87%
//
// Elsewhere (a file, a pipe, a log collector) it writes one log/slog line per
// interval with the same figures as attributes.
//
// The figures come from a Sample function the caller supplies, typically
// reading the job's own atomic counters and weir's Env.Metrics; it is called
// from the Reporter's goroutine and must be safe to call while the job runs.
package progress

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Task is the accounted time of one subtask of one chain of operators, as
// weir's Env.Metrics reports it.
type Task struct {
	Name                      string
	Subtask                   int
	Busy, Idle, Backpressured time.Duration
}

// Sample is what a job has done so far. Counts only grow.
type Sample struct {
	Lines    int64 // input lines read
	BadLines int64 // lines that were not records
	Windows  int64 // window results emitted
	// Watermark is the event time the results have reached; zero before
	// the first result.
	Watermark time.Time
	// Tasks are the job's subtasks; the busiest chain is shown.
	Tasks []Task
}

// Options configure a Reporter. Zero values take the documented defaults.
type Options struct {
	// Terminal selects the live status line; otherwise log lines are
	// written. Default false; see IsTerminal.
	Terminal bool
	// Interval is how often the figures are shown. Default
	// DefaultInterval(Terminal).
	Interval time.Duration
	// Logger receives the log lines when Terminal is false. Default a
	// slog text logger writing to the Reporter's output.
	Logger *slog.Logger
}

// DefaultInterval is 1s for a terminal, where a person watches, and 10s
// otherwise, where lines accumulate.
func DefaultInterval(terminal bool) time.Duration {
	if terminal {
		return time.Second
	}
	return 10 * time.Second
}

// IsTerminal reports whether f is a terminal (a character device).
func IsTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Reporter shows a job's progress until its Run's context ends. Create it
// with New. Its methods are safe for concurrent use.
type Reporter struct {
	out      io.Writer
	sample   func() Sample
	terminal bool
	interval time.Duration
	logger   *slog.Logger

	mu struct {
		sync.Mutex
		drawn  bool   // a status line is on the terminal
		status string // the last status shown
		prev   Sample
		prevAt time.Time
	}
}

// New returns a Reporter that writes to out the figures sample returns.
// It starts nothing; call Run.
func New(out io.Writer, sample func() Sample, opts Options) *Reporter {
	r := &Reporter{out: out, sample: sample, terminal: opts.Terminal, interval: opts.Interval, logger: opts.Logger}
	if r.interval <= 0 {
		r.interval = DefaultInterval(r.terminal)
	}
	if r.logger == nil {
		r.logger = slog.New(slog.NewTextHandler(out, nil))
	}
	return r
}

// Interval returns the effective interval.
func (r *Reporter) Interval() time.Duration { return r.interval }

// Run shows the figures every interval until ctx is done, then clears the
// status line and returns. It blocks; run it in a goroutine and wait for it
// to return after cancelling ctx.
func (r *Reporter) Run(ctx context.Context) {
	r.mu.Lock()
	r.mu.prev = r.sample()
	r.mu.prevAt = time.Now()
	r.mu.Unlock()
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			r.mu.Lock()
			r.clearLocked()
			r.mu.Unlock()
			return
		case now := <-t.C:
			r.report(now)
		}
	}
}

func (r *Reporter) report(now time.Time) {
	s := r.sample()
	r.mu.Lock()
	defer r.mu.Unlock()
	secs := now.Sub(r.mu.prevAt).Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(s.Lines-r.mu.prev.Lines) / secs
	}
	name, share := busiest(r.mu.prev.Tasks, s.Tasks)
	r.mu.prev, r.mu.prevAt = s, now
	if !r.terminal {
		attrs := []any{
			"lines_per_sec", int64(rate + 0.5), "lines", s.Lines, "bad_lines", s.BadLines,
			"windows", s.Windows, "watermark", formatWatermark(s.Watermark),
		}
		if name != "" {
			attrs = append(attrs, "busiest", name, "busy", strconv.Itoa(int(share*100+0.5))+"%")
		}
		r.logger.Info("progress", attrs...)
		return
	}
	line := fmt.Sprintf("%s lines/s  %s  watermark %s  %s  %s bad",
		Count(int64(rate+0.5)), Plural(s.Lines, "line"), formatWatermark(s.Watermark), Plural(s.Windows, "window"), Count(s.BadLines))
	if name != "" {
		line += fmt.Sprintf("  busiest %s %d%%", name, int(share*100+0.5))
	}
	r.mu.status = line
	r.drawLocked()
}

// Println writes line and a newline to w, above the status line: the
// status line is cleared first and drawn again after. Use it for output
// that shares the terminal with the status line.
func (r *Reporter) Println(w io.Writer, line string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	wasDrawn := r.mu.drawn
	r.clearLocked()
	_, err := io.WriteString(w, line+"\n")
	if wasDrawn {
		r.drawLocked()
	}
	return err
}

func (r *Reporter) drawLocked() {
	if !r.terminal || r.mu.status == "" {
		return
	}
	// '\r' goes back to the start of the line; ESC[K erases what a longer
	// line before left to the right.
	io.WriteString(r.out, "\r"+r.mu.status+"\x1b[K")
	r.mu.drawn = true
}

func (r *Reporter) clearLocked() {
	if r.mu.drawn {
		io.WriteString(r.out, "\r\x1b[K")
		r.mu.drawn = false
	}
}

// busiest returns the chain with the largest share of busy time between
// two samples, and that share; "" when nothing was accounted.
func busiest(prev, cur []Task) (string, float64) {
	type key struct {
		name    string
		subtask int
	}
	before := make(map[key]Task, len(prev))
	for _, t := range prev {
		before[key{t.Name, t.Subtask}] = t
	}
	type total struct{ busy, all time.Duration }
	chains := map[string]*total{}
	var names []string
	for _, t := range cur {
		p := before[key{t.Name, t.Subtask}]
		c := chains[t.Name]
		if c == nil {
			c = &total{}
			chains[t.Name] = c
			names = append(names, t.Name)
		}
		c.busy += t.Busy - p.Busy
		c.all += (t.Busy - p.Busy) + (t.Idle - p.Idle) + (t.Backpressured - p.Backpressured)
	}
	slices.Sort(names)
	best, bestShare := "", 0.0
	for _, n := range names {
		c := chains[n]
		if c.all <= 0 {
			continue
		}
		if sh := float64(c.busy) / float64(c.all); sh > bestShare {
			best, bestShare = n, sh
		}
	}
	return best, bestShare
}

func formatWatermark(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// Count formats n with commas between thousands: 1234567 is "1,234,567".
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	b := make([]byte, 0, len(s)+len(s)/3+1)
	if neg {
		b = append(b, '-')
	}
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	return string(b)
}

// Plural formats n as Count does, followed by word, with an "s" unless n
// is 1: "1 window", "1,204 windows".
func Plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return Count(n) + " " + word + "s"
}
