package runtime

import (
	"math"
)

// NoTimestamp marks a record that has no event time yet.
const NoTimestamp int64 = math.MinInt64

// Idle is the watermark value that says "this input is idle": it sends no
// records for now and must not hold back the watermark downstream.
const Idle int64 = math.MinInt64

// EndOfTime is the watermark that follows the end of a bounded input: every
// event-time timer and window fires.
const EndOfTime int64 = math.MaxInt64

// Record is one data element with its event timestamp in Unix milliseconds
// (NoTimestamp if none).
type Record[T any] struct {
	Value T
	Time  int64
}

// Collector receives the elements that an operator emits. In a chain it is
// the next operator; at the end of a chain it is an exchange writer or a sink.
// All methods are called from the subtask's goroutine.
type Collector[T any] interface {
	// Collect takes one record. The record is lent for the call: Collect
	// neither changes *r nor keeps r once it returns (it copies what it
	// keeps), so that a sender can pass a record it owns to several
	// collectors, and fill it again for the next. Records are passed by
	// pointer because most are larger than Go passes in registers: a copy
	// at every step of a chain was a good part of its cost. One exception:
	// a source task lends each record to its chain's head alone, which may
	// stamp its time in place.
	Collect(r *Record[T]) error
	// Watermark says that no record with a timestamp at or below wm follows
	// (or, for wm == Idle, that the input went idle).
	Watermark(wm int64) error
	// End says that the input ended: no element follows.
	End() error
}

// Ticker is implemented by operators that act on processing time (periodic
// watermarks, processing-time timers, buffer timeouts). Tick is called when
// the time that the operator asked for through Clock.WakeAt has come; it
// returns the next time it wants to be called, or NoWakeup.
type Ticker interface {
	Tick(nowMillis int64) (nextMillis int64, err error)
}

// NoWakeup is what a Ticker returns when it needs no call.
const NoWakeup int64 = math.MaxInt64

type kind uint8

const (
	kindData kind = iota
	kindWatermark
	kindEnd
	kindBarrier
	// kindMarker marks where in a channel's data an unaligned checkpoint's
	// barrier was sent; the barrier itself travels ahead on the priority
	// channel.
	kindMarker
	// kindLatency is a latency marker (latency.go): value is its time,
	// origin its source and subtask.
	kindLatency
)

// envelope is what travels on a channel: a batch of records or one control
// element. It is small and passed by value.
type envelope[T any] struct {
	batch  *Batch[T]
	kind   kind
	origin uint32 // a latency marker's source and subtask; fits the padding after kind
	value  int64  // the watermark, the checkpoint id of a barrier, or a latency marker's time
}

// Batch is a recycled slice of records.
type Batch[T any] struct {
	Records []Record[T]
}
