package exec

import (
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/sql/types"
)

// Counter counts rows an operator set aside (dead letters, late rows,
// cache hits). It is safe for concurrent use; every subtask of the
// operator adds to it.
type Counter struct{ n atomic.Int64 }

// Load returns the count so far.
func (c *Counter) Load() int64 { return c.n.Load() }

// EventTimeSpec is a table's time attribute and watermark: WATERMARK FOR
// col AS col - INTERVAL … in Flink SQL.
type EventTimeSpec struct {
	// Col is the TIMESTAMP(3) or TIMESTAMP_LTZ(3) column (milliseconds)
	// that gives each row its event time.
	Col int
	// Delay is the bounded out-of-orderness: the watermark trails the
	// largest time seen by Delay (the INTERVAL of the WATERMARK clause).
	Delay time.Duration
	// Idleness, if positive, marks an input subtask idle when it has had
	// no row for this long, so that it does not hold back the watermark.
	Idleness time.Duration
}

// Timed is the result of EventTime: the rows with event times, and the
// rows that could not have one.
type Timed struct {
	// Rows are the input rows, unchanged, each with the event time of its
	// time column, followed by watermarks.
	Rows weir.Stream[types.Row]
	// DeadLetters are the rows whose time column was NULL, with the reason;
	// Raw is the row as text (values separated by commas). Union it with
	// the source's dead letters.
	DeadLetters weir.Stream[source.DeadLetter]
	// Dropped counts the rows sent to DeadLetters.
	Dropped *Counter
}

// EventTime gives every row of s the event time of its column spec.Col and
// emits watermarks spec.Delay behind the largest time seen. A row whose
// time is NULL is not dropped and does not fail the job: it leaves by
// Timed.DeadLetters with its reason, and Timed.Dropped counts it. The
// operators are named and identified uid+"/time" and uid+"/watermarks".
// Insert-only and updating inputs alike keep their changelog.
func EventTime(s weir.Stream[types.Row], spec EventTimeSpec, uid string) (Timed, error) {
	if spec.Col < 0 {
		return Timed{}, fmt.Errorf("exec: EventTime: time column %d is out of range: give the index of the TIMESTAMP or TIMESTAMP_LTZ column", spec.Col)
	}
	if spec.Delay < 0 || spec.Idleness < 0 {
		return Timed{}, fmt.Errorf("exec: EventTime: the watermark delay %v and idleness %v must not be negative", spec.Delay, spec.Idleness)
	}
	tag := weir.NewOutputTag[source.DeadLetter](uid + "/null-time")
	dropped := &Counter{}
	col := spec.Col
	checked := weir.Process(s, func(ctx *weir.Context, r types.Row, out weir.Emitter[types.Row]) error {
		if col >= len(r.Values) || r.Values[col].IsNull() {
			dropped.n.Add(1)
			tag.Emit(ctx, source.DeadLetter{Split: uid, Raw: []byte(rowText(r)),
				Reason: fmt.Sprintf("exec: the time attribute (column %d) is NULL: the row has no event time", col)})
			return nil
		}
		out.Emit(r)
		return nil
	}, weir.Name(uid+"/time"), weir.UID(uid+"/time"))
	strategy := weir.BoundedOutOfOrderness(spec.Delay, func(r types.Row) time.Time {
		return time.UnixMilli(r.Values[col].Int())
	})
	if spec.Idleness > 0 {
		strategy = strategy.WithIdleness(spec.Idleness)
	}
	rows := weir.Watermarks(checked, strategy, weir.Name(uid+"/watermarks"), weir.UID(uid+"/watermarks"))
	return Timed{Rows: rows, DeadLetters: weir.SideOutput(checked, tag), Dropped: dropped}, nil
}

// rowText formats a row's values for people, separated by commas.
func rowText(r types.Row) string {
	parts := make([]string, len(r.Values))
	for i, v := range r.Values {
		parts[i] = v.String()
	}
	return strings.Join(parts, ",")
}

// zoneOffset returns loc's offset from UTC at instant ms, in milliseconds;
// 0 for a nil loc.
func zoneOffset(loc *time.Location, ms int64) int64 {
	if loc == nil {
		return 0
	}
	_, off := time.UnixMilli(ms).In(loc).Zone()
	return int64(off) * 1000
}

// toInstant turns a wall-clock time in loc (milliseconds as if UTC, as a
// TIMESTAMP holds it) into the instant it names.
func toInstant(loc *time.Location, wall int64) int64 {
	if loc == nil {
		return wall
	}
	t := time.UnixMilli(wall).UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), loc).UnixMilli()
}
