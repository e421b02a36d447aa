package histogram

import (
	"testing"
	"time"
)

// TestHistogramQuantiles: the quantiles of 1..1000 µs come out within a
// bucket's error (6.25%) of the true ones, every sample is counted, and
// the window forgets what is older than two periods.
func TestHistogramQuantiles(t *testing.T) {
	var h Histogram
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i)*time.Microsecond, now)
	}
	p50, p99 := h.Quantiles()
	near := func(name string, got, want time.Duration) {
		t.Helper()
		if d := float64(got-want) / float64(want); d < -0.0625 || d > 0.0625 {
			t.Errorf("%s = %v, want %v within 6.25%%", name, got, want)
		}
	}
	near("p50", p50, 500*time.Microsecond)
	near("p99", p99, 990*time.Microsecond)
	if n := h.Count(); n != 1000 {
		t.Fatalf("Count = %d, want 1000", n)
	}

	// One period later the old samples still count; two later they do not.
	h.Record(time.Second, now+int64(HistogramPeriod))
	if _, p99 := h.Quantiles(); p99 != 990*time.Microsecond && (p99 < 900*time.Microsecond || p99 > 1100*time.Microsecond) {
		t.Fatalf("one period on: p99 = %v, want about 990µs", p99)
	}
	h.Record(time.Second, now+3*int64(HistogramPeriod))
	p50, p99 = h.Quantiles()
	near("p50 after the window moved", p50, time.Second)
	near("p99 after the window moved", p99, time.Second)

	// Out of range: negative counts as 0, huge as the largest bucket.
	var e Histogram
	e.Record(-time.Second, now)
	if p50, _ := e.Quantiles(); p50 != 0 {
		t.Fatalf("a negative duration: p50 = %v, want 0", p50)
	}
	e.Record(100*time.Hour, now)
	if _, p99 := e.Quantiles(); p99 < time.Hour {
		t.Fatalf("a duration past the range: p99 = %v, want the largest bucket", p99)
	}
	if p50, p99 := (&Histogram{}).Quantiles(); p50 != 0 || p99 != 0 {
		t.Fatalf("empty: %v %v, want zeros", p50, p99)
	}
}

// TestHistogramBuckets: every bucket's middle maps back to that bucket,
// and buckets grow monotonically.
func TestHistogramBuckets(t *testing.T) {
	prev := int64(-1)
	for i := range histBuckets {
		v := histValue(i)
		if got := histIndex(v); got != i {
			t.Fatalf("histIndex(histValue(%d) = %d) = %d", i, v, got)
		}
		if v <= prev {
			t.Fatalf("bucket %d's value %d is not above the previous %d", i, v, prev)
		}
		prev = v
	}
}
