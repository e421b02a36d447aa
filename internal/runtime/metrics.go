package runtime

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir/internal/histogram"
	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/source"
)

// Metrics are the counters of one subtask. They are written by the subtask's
// goroutine and read by anyone (the web UI, progress lines) at any time.
type Metrics struct {
	Operator string // the chain's name, e.g. "parse -> watermarks"
	Subtask  int
	// Unobserved turns the timing of state accesses off (weir.Observe):
	// StateAccess returns nil.
	Unobserved bool

	RecordsIn  atomic.Int64
	RecordsOut atomic.Int64
	// DeadLetters counts the records a source's reader could not decode.
	DeadLetters atomic.Int64

	// The latest watermark the subtask's chain received on its inputs (the
	// combined one) and sent on its outputs, stored as wm^math.MinInt64 so
	// that the zero value means "none yet" (see setWatermark). Written once
	// per watermark, which advances a few times a second, not per record.
	inputWM, outputWM atomic.Int64

	started        atomic.Int64 // Unix nanoseconds; 0 before start
	finished       atomic.Int64
	idleNanos      atomic.Int64
	backpressNanos atomic.Int64
	// The start of the wait in progress (Unix ns; 0 when none), so that a
	// long wait counts as idle or backpressured while it lasts, not only
	// once it ends.
	idleSince atomic.Int64
	bpSince   atomic.Int64

	// Latency holds how long the latency markers took from their source
	// to this subtask (latency.go); empty when none came.
	Latency histogram.Histogram
	// StateBytes is the size of the subtask's keyed state in its last
	// checkpoint.
	StateBytes atomic.Int64
	// stateAccess times the subtask's keyed state; nil without one.
	stateAccess atomic.Pointer[keyedstate.Access]

	// progress is the source reader of the subtask when it reports its
	// splits' progress; set once, when the source task starts.
	progress atomic.Pointer[source.ProgressReporter]
}

// Splits appends to dst the progress of the splits the subtask's source
// reader holds, when it reports it (source.ProgressReporter); dst as it
// is for any other subtask. It asks the reader now, from the caller's
// goroutine: the reader's contract makes that safe.
func (m *Metrics) Splits(dst []source.SplitProgress) []source.SplitProgress {
	if p := m.progress.Load(); p != nil {
		return (*p).AppendSplitProgress(dst)
	}
	return dst
}

// StateAccess returns the access timing of the subtask's keyed state on
// backend, made on the first call: the operators of the subtask call it
// while they are built, and share it. It returns nil for a nil or an
// Unobserved m.
func (m *Metrics) StateAccess(backend string) *keyedstate.Access {
	if m == nil || m.Unobserved {
		return nil
	}
	if a := m.stateAccess.Load(); a != nil {
		return a
	}
	a := &keyedstate.Access{Backend: backend}
	m.stateAccess.Store(a)
	return a
}

// StateAccessStats returns the access timing of the subtask's keyed state,
// or nil when it has none.
func (m *Metrics) StateAccessStats() *keyedstate.Access { return m.stateAccess.Load() }

// TimeShares is the split of a subtask's wall time, as in Flink's
// busyTimeMsPerSecond, idleTimeMsPerSecond and backPressuredTimeMsPerSecond.
type TimeShares struct {
	Busy, Idle, Backpressured time.Duration
}

// Shares returns the subtask's accounted time so far.
func (m *Metrics) Shares() TimeShares {
	start := m.started.Load()
	if start == 0 {
		return TimeShares{}
	}
	end := m.finished.Load()
	if end == 0 {
		end = time.Now().UnixNano()
	}
	idle := time.Duration(m.idleNanos.Load())
	if since := m.idleSince.Load(); since != 0 && since < end {
		idle += time.Duration(end - since)
	}
	bp := time.Duration(m.backpressNanos.Load())
	if since := m.bpSince.Load(); since != 0 && since < end {
		bp += time.Duration(end - since)
	}
	busy := time.Duration(end-start) - idle - bp
	if busy < 0 {
		busy = 0
	}
	return TimeShares{Busy: busy, Idle: idle, Backpressured: bp}
}

// Watermarks returns the latest input and output watermarks in Unix
// milliseconds; ok is false for one the subtask has not seen yet. A chain
// that ends in a sink has no output watermark; a source's chain has no
// input one. The final watermark (EndOfTime) does not count: after a
// bounded input ended they stay at the last event time.
func (m *Metrics) Watermarks() (in int64, inOK bool, out int64, outOK bool) {
	i, o := m.inputWM.Load(), m.outputWM.Load()
	return i ^ math.MinInt64, i != 0, o ^ math.MinInt64, o != 0
}

// setWatermark keeps wm in w unless it is Idle or EndOfTime, which say
// nothing about event time.
func setWatermark(w *atomic.Int64, wm int64) {
	if wm != Idle && wm != EndOfTime {
		w.Store(wm ^ math.MinInt64)
	}
}

// beginIdle marks the start of a wait for input; endIdle accounts it.
func (m *Metrics) beginIdle(start time.Time) { m.idleSince.Store(start.UnixNano()) }

func (m *Metrics) endIdle(start time.Time) {
	m.idleNanos.Add(int64(time.Since(start)))
	m.idleSince.Store(0)
}

// beginBackpressure marks the start of a blocked send; endBackpressure
// accounts it.
func (m *Metrics) beginBackpressure(start time.Time) { m.bpSince.Store(start.UnixNano()) }

func (m *Metrics) endBackpressure(start time.Time) {
	m.backpressNanos.Add(int64(time.Since(start)))
	m.bpSince.Store(0)
}
