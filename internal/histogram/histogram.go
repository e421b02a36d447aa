// Package histogram is a fixed-size, lock-free histogram of durations for
// the metrics of a running job: latency markers and state access times.
package histogram

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Histogram is a fixed-size histogram of durations with log-linear buckets
// (as HdrHistogram's): every power of two from 8ns up is split into
// histSub equal buckets, so a quantile is within about 6% of the true
// value, from nanoseconds (state access) to minutes (latency). Durations
// past histMax count in the last bucket.
//
// It covers a sliding window of the recent past, not the whole run: two
// halves of HistogramPeriod each, the older one cleared when a new period
// starts, so the quantiles describe the last one to two periods.
//
// One goroutine records (a subtask's); any goroutine may
// read. A read that races with the clearing of a half may miss that half's
// samples once; no sample is counted twice. Its size is fixed (about 5 KiB),
// whatever it records.
type Histogram struct {
	halves [2][histBuckets]atomic.Int64
	count  atomic.Int64 // every sample ever recorded
	epoch  int64        // the period the writer records into; writer only
}

// HistogramPeriod is half the window a Histogram's quantiles cover.
const HistogramPeriod = 30 * time.Second

const (
	histSubBits = 3
	histSub     = 1 << histSubBits
	histMaxBits = 42 // durations up to 2^42 ns, about 73 minutes
	histMax     = 1<<histMaxBits - 1
	histBuckets = (histMaxBits - histSubBits + 1) * histSub
)

// histIndex returns the bucket of v nanoseconds.
func histIndex(v int64) int {
	if v < histSub {
		return int(max(v, 0))
	}
	v = min(v, histMax)
	e := bits.Len64(uint64(v)) - 1 // >= histSubBits
	shift := e - histSubBits
	return (shift+1)*histSub + int(v>>shift)&(histSub-1)
}

// histValue returns the middle of bucket i in nanoseconds.
func histValue(i int) int64 {
	if i < histSub {
		return int64(i)
	}
	g, m := i/histSub, int64(i%histSub)
	lower := (histSub + m) << (g - 1)
	return lower + int64(1)<<(g-1)/2
}

// Record adds a sample of d, recorded at wall time now (Unix nanoseconds).
// A negative d (clocks of two processes that disagree) counts as 0.
func (h *Histogram) Record(d time.Duration, now int64) {
	if ep := now / int64(HistogramPeriod); ep != h.epoch {
		if ep != h.epoch+1 {
			h.clear(ep + 1) // the window moved past both halves
		}
		h.clear(ep)
		h.epoch = ep
	}
	h.halves[h.epoch&1][histIndex(int64(d))].Add(1)
	h.count.Add(1)
}

func (h *Histogram) clear(epoch int64) {
	half := &h.halves[epoch&1]
	for i := range half {
		if half[i].Load() != 0 {
			half[i].Store(0)
		}
	}
}

// Count returns the number of samples recorded since the histogram was
// made, in or out of the window.
func (h *Histogram) Count() int64 { return h.count.Load() }

// Quantiles returns the 50th and 99th percentiles of the samples in the
// window; zeros when it holds none.
func (h *Histogram) Quantiles() (p50, p99 time.Duration) {
	var sum [histBuckets]int64
	var n int64
	for k := range h.halves {
		for i := range h.halves[k] {
			c := h.halves[k][i].Load()
			sum[i] += c
			n += c
		}
	}
	if n == 0 {
		return 0, 0
	}
	return time.Duration(histRank(&sum, (n+1)/2)), time.Duration(histRank(&sum, n-n/100))
}

// histRank returns the value of the sample of rank r (from 1) in ascending
// order.
func histRank(sum *[histBuckets]int64, r int64) int64 {
	var seen int64
	for i, c := range sum {
		if seen += c; seen >= r {
			return histValue(i)
		}
	}
	return histValue(histBuckets - 1)
}
