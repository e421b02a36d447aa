package runtime

import (
	"testing"
	"testing/synctest"
	"time"
	"unsafe"
)

// TestEnvelopeSize: a latency marker's origin fits the padding of an
// envelope: the channels carry no more bytes per element than before.
func TestEnvelopeSize(t *testing.T) {
	if n := unsafe.Sizeof(envelope[int]{}); n != 24 {
		t.Fatalf("an envelope takes %d bytes, want 24", n)
	}
}

func sendMarker(t *testing.T, h *inputHarness, i int, m LatencyMarker) {
	t.Helper()
	if err := h.senders[i].LatencyMarker(m); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
}

// TestInputTaskLatencyMarker: a marker is recorded as now − its time,
// forwarded to an output, never reaches the operators, and is not counted
// as a record.
func TestInputTaskLatencyMarker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newInputHarness(t.Context(), 1)
		done := runAsync(t.Context(), h.task.Run)
		h.send(t, 0, 1)
		sendMarker(t, h, 0, LatencyMarker{Time: time.Now().Add(-3 * time.Second).UnixNano(), Source: 2, Subtask: 1})
		h.send(t, 0, 2)
		h.tr.expect(t, "record 1", "latency marker from 2/1", "record 2")
		if n := h.task.Metrics.RecordsIn.Load(); n != 2 {
			t.Fatalf("RecordsIn = %d, want 2: a marker is no record", n)
		}
		if n := h.task.Metrics.Latency.Count(); n != 1 {
			t.Fatalf("latency samples = %d, want 1", n)
		}
		if p50, _ := h.task.Metrics.Latency.Quantiles(); p50 < 2800*time.Millisecond || p50 > 3200*time.Millisecond {
			t.Fatalf("latency p50 = %v, want about 3s", p50)
		}
		h.send(t, 0, endOfInput{})
		h.tr.expect(t, "watermark end-of-time", "end")
		if err := returned(t, done); err != nil {
			t.Fatal(err)
		}
	})
}

// TestInputTaskLatencyMarkerAligned: a marker behind an aligned barrier
// waits with the records behind it until the checkpoint is aligned, no
// longer.
func TestInputTaskLatencyMarkerAligned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newInputHarness(t.Context(), 2)
		h.task.Checkpointing, _ = fakeCheckpointing(h.tr, false)
		done := runAsync(t.Context(), h.task.Run)
		h.send(t, 0, 1, barrier(7))
		sendMarker(t, h, 0, LatencyMarker{Time: time.Now().UnixNano(), Source: 0, Subtask: 0})
		h.send(t, 0, 2)
		h.send(t, 1, 3)
		h.tr.expect(t, "record 1", "record 3")
		time.Sleep(2 * time.Second)
		h.send(t, 1, barrier(7))
		h.tr.expect(t, "snapshot 7 (alignment 2s)", "barrier 7", "latency marker from 0/0", "record 2")
		if p50, _ := h.task.Metrics.Latency.Quantiles(); p50 < 1900*time.Millisecond {
			t.Fatalf("latency p50 = %v, want the 2s it waited for alignment", p50)
		}
		h.send(t, 0, endOfInput{})
		h.send(t, 1, endOfInput{})
		h.tr.expect(t, "watermark end-of-time", "end")
		if err := returned(t, done); err != nil {
			t.Fatal(err)
		}
	})
}

// TestInputTaskLatencyMarkerUnaligned: a marker among the records in
// flight at an unaligned checkpoint is not channel state: it is recorded
// and forwarded in its place among the records.
func TestInputTaskLatencyMarkerUnaligned(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newInputHarness(t.Context(), 1)
		h.task.Checkpointing, _ = fakeCheckpointing(h.tr, true)
		h.send(t, 0, 1)
		sendMarker(t, h, 0, LatencyMarker{Time: time.Now().UnixNano(), Source: 4, Subtask: 2})
		h.send(t, 0, 2, unalignedBarrier(5), 3)
		done := runAsync(t.Context(), h.task.Run)
		synctest.Wait()
		h.tr.expect(t, "snapshot unaligned 5", "unaligned barrier 5", "channel state 5: [1 2]",
			"record 1", "latency marker from 4/2", "record 2", "record 3")
		if n := h.task.Metrics.Latency.Count(); n != 1 {
			t.Fatalf("latency samples = %d, want 1", n)
		}
		h.send(t, 0, endOfInput{})
		h.tr.expect(t, "watermark end-of-time", "end")
		if err := returned(t, done); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLatencyEmitter: a source's emitter sends a marker at its first tick
// and then once per interval, with the wall-clock time, into an output.
func TestLatencyEmitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &transcript{}
		e := NewLatencyEmitter([]Output{&fakeOutput{tr: tr}}, 2*time.Second, 3, 1)
		now := time.Now().UnixMilli()
		next, err := e.Tick(now)
		if err != nil || next != now+2000 {
			t.Fatalf("Tick = %d, %v; want %d", next, err, now+2000)
		}
		if next, _ := e.Tick(now + 1000); next != now+2000 {
			t.Fatalf("an early tick: next = %d, want %d", next, now+2000)
		}
		e.Tick(now + 2000)
		tr.expect(t, "latency marker from 3/1", "latency marker from 3/1")
		if next, _ := NewLatencyEmitter(nil, time.Second, 0, 0).Tick(now); next != NoWakeup {
			t.Fatalf("without outputs: next = %d, want NoWakeup", next)
		}
	})
}
