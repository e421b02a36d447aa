package checkpoint

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// trace renders actions as one line each, for transcript comparisons.
func trace(acts []Action[string]) string {
	var b strings.Builder
	for _, a := range acts {
		switch a.Kind {
		case TriggerSources:
			fmt.Fprintf(&b, "trigger %d %v;", a.ID, a.Tasks)
		case Persist:
			fmt.Fprintf(&b, "persist %d (%d states);", a.ID, len(a.States))
		case NotifyComplete:
			fmt.Fprintf(&b, "complete %d %v;", a.ID, a.Tasks)
		case NotifyAbort:
			fmt.Fprintf(&b, "abort %d %v: %s;", a.ID, a.Tasks, a.Reason)
		}
	}
	return b.String()
}

func TestCoordinatorTranscript(t *testing.T) {
	src, mid, snk := TaskID{0, 0}, TaskID{1, 0}, TaskID{2, 0}
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	stats := NewStats(10)
	c := NewCoordinator[string](Config{Interval: 100 * time.Millisecond, Timeout: time.Second}, []TaskID{src, mid, snk}, []TaskID{src}, 4, stats)

	steps := []struct {
		do   func() []Action[string]
		want string
	}{
		{func() []Action[string] { return c.Tick(at(0)) }, ""},  // first interval starts now
		{func() []Action[string] { return c.Tick(at(50)) }, ""}, // not due
		{func() []Action[string] { return c.Tick(at(100)) }, "trigger 5 [{0 0}];"},
		{func() []Action[string] { return c.Tick(at(150)) }, ""}, // one pending at a time
		{func() []Action[string] { return c.Ack(at(160), 5, src, "s") }, ""},
		{func() []Action[string] { return c.Ack(at(161), 5, src, "s") }, ""}, // duplicate ignored
		{func() []Action[string] { return c.Ack(at(170), 5, mid, "m") }, ""},
		{func() []Action[string] { return c.Ack(at(180), 5, snk, "k") }, "persist 5 (3 states);"},
		{func() []Action[string] { return c.Tick(at(300)) }, ""}, // persisting blocks the next
		{func() []Action[string] { return c.Persisted(at(190), 5, 42, nil) }, "complete 5 [{0 0} {1 0} {2 0}];"},
		{func() []Action[string] { return c.Tick(at(300)) }, "trigger 6 [{0 0}];"},
		{func() []Action[string] { return c.Decline(at(310), 6, mid, "disk full") }, "abort 6 [{0 0} {1 0} {2 0}]: task {1 0} declined: disk full;"},
		{func() []Action[string] { return c.Ack(at(320), 6, snk, "late") }, ""},
		{func() []Action[string] { return c.Tick(at(400)) }, "trigger 7 [{0 0}];"},
		{func() []Action[string] { return c.Tick(at(1400)) }, "abort 7 [{0 0} {1 0} {2 0}]: timed out after 1s with 0 of 3 tasks acknowledged;"},
		{func() []Action[string] { return c.Tick(at(1500)) }, "trigger 8 [{0 0}];"},
		{func() []Action[string] { return c.Ack(at(1510), 8, src, "s") }, ""},
		// mid ends before checkpoint 8's barrier reaches it (the last it
		// took was 6's): 8 holds its final state instead.
		{func() []Action[string] { return c.Finished(at(1520), mid, 6) }, ""},
		{func() []Action[string] { return c.Ack(at(1530), 8, snk, "k") }, "persist 8 (2 states);"},
		{func() []Action[string] { return c.Persisted(at(1540), 8, 1, errors.New("bucket gone")) }, "abort 8 [{0 0} {2 0}]: bucket gone;"},
		{func() []Action[string] { return c.Tick(at(1700)) }, "trigger 9 [{0 0}];"},
		{func() []Action[string] { return c.Ack(at(1710), 9, src, "s") }, ""},
		// snk took 9's barrier and ended, but its acknowledgement never
		// came: its final state is not its state at the barrier.
		{func() []Action[string] { return c.Finished(at(1720), snk, 9) }, "abort 9 [{0 0}]: task {2 0} ended without its acknowledgement of the checkpoint's barrier, which it took;"},
		{func() []Action[string] { return c.Finished(at(1800), src, 9) }, ""},
		{func() []Action[string] { return c.Tick(at(5000)) }, ""}, // no source left to carry a barrier
	}
	for i, s := range steps {
		if got := trace(s.do()); got != s.want {
			t.Fatalf("step %d: got %q, want %q", i, got, s.want)
		}
	}
	completed, failed := stats.Counts()
	if completed != 1 || failed != 4 {
		t.Fatalf("stats: %d completed, %d failed; want 1 and 4", completed, failed)
	}
	if st := stats.Recent()[0]; st.ID != 5 || st.Size != 42 || len(st.Acks) != 3 || st.Acks[mid] != 70*time.Millisecond {
		t.Fatalf("stats of checkpoint 5: %+v", st)
	}
}

func TestConfigValidate(t *testing.T) {
	if (Config{Interval: time.Millisecond}).Validate() == nil || (Config{Interval: time.Second}).Validate() != nil {
		t.Fatal("Validate accepts or rejects the wrong intervals")
	}
}
