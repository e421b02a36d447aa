package weir

import (
	"slices"
	"testing"

	"github.com/weirstream/weir/internal/runtime"
)

// TestTimerQueueRegistersATimerOnceUntilItFires registers the same timers
// again and again around firings and cancellations: each must fire once
// per registration that was not yet set, none after it was cancelled.
func TestTimerQueueRegistersATimerOnceUntilItFires(t *testing.T) {
	q := newTimerQueue[string]()
	fire := func(until int64) []string {
		var got []string
		for {
			e, ok := q.popDue(until)
			if !ok {
				return got
			}
			got = append(got, e.key)
		}
	}
	q.add(10, "a")
	q.add(10, "a")
	q.add(10, "b")
	q.add(10, "a")
	if got := fire(10); !slices.Equal(got, []string{"a", "b"}) && !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("fired %q, want a and b once each", got)
	}
	// The timers fired: registering one again (b, the last one added)
	// sets it again.
	q.add(10, "b")
	q.add(10, "b")
	if got := fire(10); !slices.Equal(got, []string{"b"}) {
		t.Fatalf("after re-registering a fired timer, fired %q, want [b]", got)
	}
	// Cancelled right after it was registered, then registered again.
	q.add(20, "c")
	q.remove(20, "c")
	if got := fire(20); len(got) != 0 {
		t.Fatalf("a cancelled timer fired: %q", got)
	}
	q.add(20, "c")
	q.add(20, "c")
	if got := fire(20); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("a timer registered again after its cancellation fired %q, want [c]", got)
	}
	if q.next() != runtime.NoWakeup {
		t.Fatalf("timers left: next %d", q.next())
	}
}
