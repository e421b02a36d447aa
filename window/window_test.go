package window

import (
	"testing"
	"time"
)

func TestTumblingAligned(t *testing.T) {
	a := Tumbling(time.Minute)
	for _, ts := range []int64{0, 1, 59_999, 60_000, 1_764_000_000_123, -1} {
		ws := a.Assign(ts, nil)
		if len(ws) != 1 {
			t.Fatalf("ts %d: %d windows", ts, len(ws))
		}
		w := ws[0]
		if w.Start%60_000 != 0 || ts < w.Start || ts >= w.End || w.End-w.Start != 60_000 {
			t.Fatalf("ts %d: window %+v", ts, w)
		}
		if got := a.(Tumbler).Window(ts); got != w {
			t.Fatalf("ts %d: Window %+v, Assign %+v", ts, got, w)
		}
	}
	if _, ok := OnProcessingTime(a).(Tumbler); !ok {
		t.Fatal("OnProcessingTime(Tumbling) is no Tumbler")
	}
	if _, ok := Sliding(time.Minute, time.Second).(Tumbler); ok {
		t.Fatal("Sliding is a Tumbler")
	}
}

func TestSlidingCount(t *testing.T) {
	a := Sliding(10*time.Second, 2*time.Second)
	ws := a.Assign(12_345, nil)
	if len(ws) != 5 {
		t.Fatalf("%d windows, want 5: %v", len(ws), ws)
	}
	for _, w := range ws {
		if 12_345 < w.Start || 12_345 >= w.End {
			t.Fatalf("window %v does not hold the record", w)
		}
	}
}

func TestValidate(t *testing.T) {
	if Validate(Sliding(time.Second, 2*time.Second)) == nil || Validate(Tumbling(0)) == nil || Validate(Session(0)) == nil || Validate(nil) == nil {
		t.Fatal("bad assigners accepted")
	}
	if Validate(Tumbling(time.Minute)) != nil || Validate(OnProcessingTime(Session(time.Second))) != nil {
		t.Fatal("good assigners rejected")
	}
	if OnProcessingTime(Tumbling(time.Second)).Time() != ProcessingTime {
		t.Fatal("OnProcessingTime ignored")
	}
}
