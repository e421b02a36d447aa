package window

import (
	"testing"
	"time"
)

// TestCumulate checks Cumulate against the definition: for every
// timestamp, the windows are exactly those [s, s+k·step) of its period
// that hold it.
func TestCumulate(t *testing.T) {
	a := Cumulate(2*time.Second, 10*time.Second)
	if err := Validate(a); err != nil {
		t.Fatal(err)
	}
	for _, ts := range []int64{0, 1, 1999, 2000, 9999, 10_000, 12_345, -1, -10_001} {
		got := a.Assign(ts, nil)
		start := ts - mod(ts, 10_000)
		var want []Window
		for end := start + 2000; end <= start+10_000; end += 2000 {
			if ts < end {
				want = append(want, Window{start, end})
			}
		}
		if len(got) != len(want) {
			t.Fatalf("ts %d: %v, want %v", ts, got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("ts %d: %v, want %v", ts, got, want)
			}
		}
	}
	if Validate(Cumulate(3*time.Second, 10*time.Second)) == nil || Validate(Cumulate(0, time.Second)) == nil {
		t.Fatal("bad cumulate windows accepted")
	}
}
