package runtime

import (
	"sync/atomic"
	"time"
)

// Metrics are the counters of one subtask. They are written by the subtask's
// goroutine and read by anyone (the web UI, progress lines) at any time.
type Metrics struct {
	Operator string // the chain's name, e.g. "parse -> watermarks"
	Subtask  int

	RecordsIn  atomic.Int64
	RecordsOut atomic.Int64

	started        atomic.Int64 // Unix nanoseconds; 0 before start
	finished       atomic.Int64
	idleNanos      atomic.Int64
	backpressNanos atomic.Int64
}

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
	bp := time.Duration(m.backpressNanos.Load())
	busy := time.Duration(end-start) - idle - bp
	if busy < 0 {
		busy = 0
	}
	return TimeShares{Busy: busy, Idle: idle, Backpressured: bp}
}

func (m *Metrics) addIdle(d time.Duration)          { m.idleNanos.Add(int64(d)) }
func (m *Metrics) addBackpressured(d time.Duration) { m.backpressNanos.Add(int64(d)) }
