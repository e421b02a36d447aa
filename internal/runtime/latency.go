package runtime

import (
	"math/rand/v2"
	"time"
)

// LatencyMarker is Flink's latency marker: a source subtask emits one every
// latency tracking interval with its wall-clock time, and every subtask
// that receives one records how long it took to come (the time records wait
// in channels and behind the records ahead of them), then forwards it to one
// output chosen at random. Markers never reach user functions and are not
// records: RecordsIn and RecordsOut do not count them.
//
// A marker travels in band, as a watermark does, but on one channel only,
// the one a random choice picked: a broadcast sends it to one receiver
// too. It waits behind an aligned checkpoint's barrier as the records do;
// an unaligned checkpoint does not store it in its channel state.
type LatencyMarker struct {
	Time    int64 // when the source emitted it, Unix nanoseconds
	Source  int   // the source chain's id in the job graph, < 1<<16
	Subtask int   // the source's subtask, < 1<<16
}

// origin packs the marker's source and subtask into an envelope's origin.
func (m LatencyMarker) origin() uint32 { return uint32(m.Source&0xffff)<<16 | uint32(m.Subtask&0xffff) }

// markerOf unpacks the marker an envelope of kindLatency carries.
func markerOf(time int64, origin uint32) LatencyMarker {
	return LatencyMarker{Time: time, Source: int(origin >> 16), Subtask: int(origin & 0xffff)}
}

// LatencyMarker sends m to one receiver chosen at random (the sender's
// own for Forward), after the records its batch holds for that receiver:
// the marker waits where the next record would.
func (w *Writer[T]) LatencyMarker(m LatencyMarker) error {
	to := w.next
	if w.ex.pattern != Forward {
		to = rand.IntN(len(w.outs))
	}
	if w.outs[to] == nil {
		return nil
	}
	if b := w.batches[to]; b != nil && len(b.Records) > 0 {
		if err := w.sendBatch(to); err != nil {
			return err
		}
	}
	return w.send(to, envelope[T]{kind: kindLatency, value: m.Time, origin: m.origin()})
}

// latency records the marker that reached the task and forwards it to one
// of the chain's outputs, chosen at random; a chain without outputs (one
// that ends in a sink) keeps it.
func (l *taskLoop) latency(m LatencyMarker) error {
	now := time.Now().UnixNano()
	l.metrics.Latency.Record(time.Duration(now-m.Time), now)
	return forwardMarker(l.outputs, m)
}

func forwardMarker(outputs []Output, m LatencyMarker) error {
	switch len(outputs) {
	case 0:
		return nil
	case 1:
		return outputs[0].LatencyMarker(m)
	}
	return outputs[rand.IntN(len(outputs))].LatencyMarker(m)
}

// LatencyEmitter is the Ticker of a source subtask that emits a latency
// marker every interval into one of the chain's outputs.
type LatencyEmitter struct {
	outputs []Output
	every   int64 // milliseconds
	next    int64
	source  int
	subtask int
}

// NewLatencyEmitter returns the emitter of source chain source's subtask,
// which emits into outputs (the writers at the end of the chain) every
// interval, from the first tick on.
func NewLatencyEmitter(outputs []Output, every time.Duration, source, subtask int) *LatencyEmitter {
	return &LatencyEmitter{outputs: outputs, every: max(every.Milliseconds(), 1), source: source, subtask: subtask}
}

// Tick emits a marker when one is due.
func (e *LatencyEmitter) Tick(now int64) (int64, error) {
	if len(e.outputs) == 0 {
		return NoWakeup, nil
	}
	if now < e.next {
		return e.next, nil
	}
	e.next = now + e.every
	m := LatencyMarker{Time: time.Now().UnixNano(), Source: e.source, Subtask: e.subtask}
	return e.next, forwardMarker(e.outputs, m)
}
