package cluster

import "testing"

// TestEarlyStart: a Start of a generation the worker has not been assigned
// yet waits for that generation's Assigned (the newest one, if several
// came); one of the worker's generation or an older one starts at once.
func TestEarlyStart(t *testing.T) {
	var e earlyStart
	if e.hold(Start{Epoch: epochID(3, 1)}, 3) || e.hold(Start{Epoch: epochID(2, 5)}, 3) {
		t.Fatal("held a Start of the worker's own or an older generation")
	}
	if _, ok := e.take(3); ok {
		t.Fatal("took a Start nobody held")
	}
	if !e.hold(Start{Epoch: epochID(4, 7)}, 3) || !e.hold(Start{Epoch: epochID(4, 9)}, 3) || !e.hold(Start{Epoch: epochID(4, 8)}, 3) {
		t.Fatal("did not hold a Start of the next generation")
	}
	if _, ok := e.take(3); ok {
		t.Fatal("took generation 4's Start when generation 3 was assigned")
	}
	st, ok := e.take(4)
	if !ok || st.Epoch != epochID(4, 9) {
		t.Fatalf("take(4) = %d, %v; want the newest Start of generation 4, epoch %d", st.Epoch, ok, epochID(4, 9))
	}
	if _, ok := e.take(4); ok {
		t.Fatal("took the same Start twice")
	}
	// A Start held while the membership skipped its generation is taken
	// at the next one; startEpoch then refuses it as older.
	e.hold(Start{Epoch: epochID(5, 1)}, 4)
	if st, ok := e.take(6); !ok || st.Epoch != epochID(5, 1) {
		t.Fatalf("take(6) = %d, %v; want the held Start", st.Epoch, ok)
	}
}
