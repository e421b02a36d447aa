package web

import (
	"context"
	"sync"
	"time"
)

// HistoryOptions size a History. Zero values take the defaults.
type HistoryOptions struct {
	// Interval is the time between two samples. Default 2s.
	Interval time.Duration
	// Span is how far back the history reaches: it keeps Span/Interval
	// samples. Default 1h (1800 samples at the default interval).
	Span time.Duration
	// MaxSubtasks bounds the subtasks one sample keeps (the first ones in
	// the job's order). Default 256.
	MaxSubtasks int
}

func (o HistoryOptions) withDefaults() HistoryOptions {
	if o.Interval <= 0 {
		o.Interval = 2 * time.Second
	}
	if o.Span <= 0 {
		o.Span = time.Hour
	}
	if o.MaxSubtasks <= 0 {
		o.MaxSubtasks = 256
	}
	return o
}

// History keeps the recent metrics of a job in memory, so that a page
// opened (or refreshed) now draws its charts from the past hour, not from
// the moment it opened. It is a ring of samples of every subtask's
// counters, the newest HistoryOptions.Span of them.
//
// A sample costs about 90 bytes per subtask (TestHistoryMemory measures
// it): the ring of the defaults holds 1800 samples, so a job of 20
// subtasks keeps about 3.3 MB, and the bound of 256 subtasks caps it at
// about 42 MB.
//
// Run samples on a timer; a History that does not run samples only when
// Handler's pages ask (at most once per Interval), so it fills while a
// page is open and pauses while none is.
type History struct {
	job  Job
	opts HistoryOptions
	size int // samples kept

	mu struct {
		sync.Mutex
		ring  []Sample // size long once full
		next  int      // where the next sample goes once full
		chain map[string]string
	}
}

// Sample is the counters of every subtask at one time.
type Sample struct {
	// Time is when the sample was taken, in Unix milliseconds.
	Time int64
	// Subtasks are the subtasks' cumulative counters: rates are the
	// differences between two samples. A restart sets them back to zero.
	Subtasks []SubtaskSample
}

// SubtaskSample is one subtask's counters in a Sample.
type SubtaskSample struct {
	Chain                           string // the chain, as SubtaskMetrics.Operator
	Subtask                         int
	RecordsIn, RecordsOut           int64
	BusyMs, IdleMs, BackpressuredMs int64
	// InputWatermark and OutputWatermark are in Unix milliseconds; 0
	// when the subtask has none yet.
	InputWatermark, OutputWatermark int64
}

// NewHistory returns an empty history of job's metrics.
func NewHistory(job Job, opts HistoryOptions) *History {
	opts = opts.withDefaults()
	h := &History{job: job, opts: opts, size: max(int(opts.Span/opts.Interval), 2)}
	h.mu.chain = map[string]string{}
	return h
}

// Run takes a sample every Interval until ctx ends, and returns ctx's
// error. Run it on a goroutine of its own, once.
func (h *History) Run(ctx context.Context) error {
	t := time.NewTicker(h.opts.Interval)
	defer t.Stop()
	h.maybeSample(time.Now())
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case now := <-t.C:
			h.maybeSample(now)
		}
	}
}

// Interval returns the time between two samples.
func (h *History) Interval() time.Duration { return h.opts.Interval }

// maybeSample takes a sample unless the newest one is younger than half
// an interval (the timer and a page's request may both ask).
func (h *History) maybeSample(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if last, ok := h.newestLocked(); ok && now.UnixMilli()-last.Time < h.opts.Interval.Milliseconds()/2 {
		return
	}
	h.addLocked(h.take(now))
}

// take reads the job's counters now. Chain names are interned, so that a
// sample shares them with its predecessors instead of keeping copies.
func (h *History) take(now time.Time) Sample {
	ms := subtasksOf(h.job)
	s := Sample{Time: now.UnixMilli(), Subtasks: make([]SubtaskSample, 0, min(len(ms), h.opts.MaxSubtasks))}
	for _, m := range ms[:min(len(ms), h.opts.MaxSubtasks)] {
		s.Subtasks = append(s.Subtasks, SubtaskSample{
			Chain: m.Operator, Subtask: m.Subtask, RecordsIn: m.RecordsIn, RecordsOut: m.RecordsOut,
			BusyMs: m.Busy.Milliseconds(), IdleMs: m.Idle.Milliseconds(), BackpressuredMs: m.Backpressured.Milliseconds(),
			InputWatermark: unixMilli(m.InputWatermark), OutputWatermark: unixMilli(m.OutputWatermark),
		})
	}
	return s
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func (h *History) addLocked(s Sample) {
	for i := range s.Subtasks {
		c := s.Subtasks[i].Chain
		if in, ok := h.mu.chain[c]; ok {
			s.Subtasks[i].Chain = in
		} else if len(h.mu.chain) < 4*h.opts.MaxSubtasks {
			h.mu.chain[c] = c
		}
	}
	if len(h.mu.ring) < h.size {
		h.mu.ring = append(h.mu.ring, s)
		return
	}
	h.mu.ring[h.mu.next] = s
	h.mu.next = (h.mu.next + 1) % h.size
}

func (h *History) newestLocked() (Sample, bool) {
	n := len(h.mu.ring)
	if n == 0 {
		return Sample{}, false
	}
	if n < h.size {
		return h.mu.ring[n-1], true
	}
	return h.mu.ring[(h.mu.next+h.size-1)%h.size], true
}

// Samples returns the samples taken after since (Unix milliseconds; 0 for
// all), oldest first. The samples are shared: do not modify them.
func (h *History) Samples(since int64) []Sample {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Sample, 0, len(h.mu.ring))
	if len(h.mu.ring) < h.size {
		out = append(out, h.mu.ring...)
	} else {
		out = append(append(out, h.mu.ring[h.mu.next:]...), h.mu.ring[:h.mu.next]...)
	}
	for i, s := range out {
		if s.Time > since {
			return out[i:]
		}
	}
	return out[:0]
}
