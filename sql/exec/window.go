package exec

import (
	"fmt"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/window"
)

// WindowKind names a windowing table-valued function.
type WindowKind uint8

// The windowing TVFs of Flink SQL.
const (
	// Tumble is TUMBLE(TABLE t, DESCRIPTOR(col), size [, offset]).
	Tumble WindowKind = iota + 1
	// Hop is HOP(TABLE t, DESCRIPTOR(col), slide, size).
	Hop
	// Cumulate is CUMULATE(TABLE t, DESCRIPTOR(col), step, size).
	Cumulate
	// Session is SESSION(TABLE t, DESCRIPTOR(col), gap): windows of a group
	// key that close after gap without rows. Only a window aggregate can
	// use it (WindowAssign refuses it: a session's bounds are known only
	// when it closes).
	Session
)

var windowNames = [...]string{Tumble: "TUMBLE", Hop: "HOP", Cumulate: "CUMULATE", Session: "SESSION"}

// String returns the TVF's SQL name.
func (k WindowKind) String() string {
	if int(k) < len(windowNames) && windowNames[k] != "" {
		return windowNames[k]
	}
	return fmt.Sprintf("WindowKind(%d)", k)
}

// WindowSpec is a windowing TVF over an event-time column.
type WindowSpec struct {
	Kind WindowKind
	// TimeCol is the time attribute the windows are computed on. A window
	// aggregate assigns windows by the rows' event time, so it must be the
	// column EventTime gave the rows their times from (or, after another
	// windowed operator, its window_time); WindowAssign reads the column.
	TimeCol int
	// Size is TUMBLE's and HOP's size and CUMULATE's max size.
	Size time.Duration
	// Slide is HOP's slide; Step is CUMULATE's step; Gap is SESSION's gap.
	Slide, Step, Gap time.Duration
	// Offset shifts TUMBLE's windows: they start at k·Size + Offset.
	Offset time.Duration
	// Zone is set when TimeCol is a TIMESTAMP_LTZ: windows then align to
	// the wall clock of this session time zone (a day is a local day), and
	// window_start and window_end are given as TIMESTAMP(3) wall-clock
	// values in it, as Flink gives them. Nil for a TIMESTAMP column, whose
	// values already are wall-clock times.
	Zone *time.Location
}

// Assigner returns the window assigner of w, or an error naming the
// option at fault.
func (w WindowSpec) Assigner() (window.Assigner, error) {
	var a window.Assigner
	switch w.Kind {
	case Tumble:
		a = window.Tumbling(w.Size)
	case Hop:
		if w.Slide <= 0 || w.Size%w.Slide != 0 {
			return nil, fmt.Errorf("exec: HOP size %v is not a positive multiple of its slide %v: use a slide that divides the size", w.Size, w.Slide)
		}
		a = window.Sliding(w.Size, w.Slide)
	case Cumulate:
		a = window.Cumulate(w.Step, w.Size)
	case Session:
		a = window.Session(w.Gap)
	default:
		return nil, fmt.Errorf("exec: window kind %v is not supported: use TUMBLE, HOP, CUMULATE or SESSION", w.Kind)
	}
	if err := window.Validate(a); err != nil {
		return nil, fmt.Errorf("exec: %s: %w", w.Kind, err)
	}
	if w.Offset != 0 && w.Kind != Tumble {
		return nil, fmt.Errorf("exec: %s takes no offset: only TUMBLE does", w.Kind)
	}
	if w.Offset != 0 || w.Zone != nil {
		a = shifted{inner: a, offset: w.Offset.Milliseconds(), zone: w.Zone}
	}
	return a, nil
}

// shifted aligns an assigner's windows to a time zone's wall clock and an
// offset: it assigns in wall-clock time and returns instants.
type shifted struct {
	inner  window.Assigner
	offset int64
	zone   *time.Location
}

func (s shifted) Assign(ts int64, dst []window.Window) []window.Window {
	d := zoneOffset(s.zone, ts) - s.offset
	n := len(dst)
	dst = s.inner.Assign(ts+d, dst)
	for i := n; i < len(dst); i++ {
		dst[i].Start -= d
		dst[i].End -= d
	}
	return dst
}

func (s shifted) Time() window.Time { return s.inner.Time() }
func (s shifted) Merging() bool     { return s.inner.Merging() }
func (s shifted) String() string {
	return fmt.Sprintf("%s in %v offset %dms", s.inner, s.zone, s.offset)
}

// wallClock returns the window's bounds as the TIMESTAMP(3) values SQL
// shows: wall-clock times in zone (the instants themselves without one).
func wallClock(zone *time.Location, w window.Window) (start, end types.Value) {
	return types.IntValue(w.Start + zoneOffset(zone, w.Start)), types.IntValue(w.End + zoneOffset(zone, w.End-1))
}

// WindowAssign is a windowing TVF on its own (TUMBLE, HOP or CUMULATE not
// directly followed by an aggregate, as before a window join or a window
// Top-N of raw rows): every input row leaves once per window it belongs
// to, with three columns appended — window_start, window_end (TIMESTAMP(3))
// and window_time (window_end − 1 ms, the time attribute of the result).
// The output row keeps the input's event time. Input and output are
// insert-only. The operator is named and identified uid.
func WindowAssign(s weir.Stream[types.Row], w WindowSpec, uid string) (weir.Stream[types.Row], error) {
	if w.Kind == Session {
		return weir.Stream[types.Row]{}, fmt.Errorf("exec: SESSION windows without an aggregate are not supported: aggregate them with GROUP BY window_start, window_end")
	}
	a, err := w.Assigner()
	if err != nil {
		return weir.Stream[types.Row]{}, err
	}
	if err := checkCols("window", "time", []int{w.TimeCol}, -1); err != nil {
		return weir.Stream[types.Row]{}, err
	}
	col, zone := w.TimeCol, w.Zone
	return weir.FlatMap(s, func(r types.Row, out weir.Emitter[types.Row]) {
		var buf [8]window.Window
		for _, win := range a.Assign(r.Values[col].Int(), buf[:0]) {
			vals := make([]types.Value, len(r.Values), len(r.Values)+3)
			copy(vals, r.Values)
			start, end := wallClock(zone, win)
			out.Emit(types.Row{Kind: r.Kind, Values: append(vals, start, end, types.IntValue(end.Int()-1))})
		}
	}, weir.Name(uid), weir.UID(uid)), nil
}

// WindowAggregateSpec is a window aggregate: SELECT keys…, window_start,
// window_end, aggregates… FROM TABLE(<window TVF>) GROUP BY window_start,
// window_end, keys….
type WindowAggregateSpec struct {
	Window WindowSpec
	// Keys are the group key columns besides the window, in output order.
	Keys []int
	// Aggs are the aggregates, in output order.
	Aggs []AggCall
	// Parallelism, if positive, sets the operator's parallelism (0: the
	// job's). A window aggregate without Keys runs every window in one
	// subtask whatever it is.
	Parallelism int
}

// WindowAggregate aggregates the rows of s per window and group key, with
// weir's window operator: one accumulator per key and window holds all the
// aggregates, in the job's state backend and checkpoints. When the
// watermark passes a window's end it emits one insert row per key:
//
//	keys…, window_start, window_end, aggregate results…
//
// with window_start and window_end as TIMESTAMP(3) (see WindowSpec.Zone)
// and the window's last millisecond (window_end − 1) as the row's event
// time, so that a window Top-N or another windowed operator can follow.
// The input must be insert-only and carry event times (EventTime); rows
// later than their window are dropped and counted
// (weir.Env.DroppedLateRecords). The output is insert-only. The window
// operator is named and identified uid.
func WindowAggregate(s weir.Stream[types.Row], spec WindowAggregateSpec, uid string) (weir.Stream[types.Row], error) {
	a, err := spec.Window.Assigner()
	if err != nil {
		return weir.Stream[types.Row]{}, err
	}
	if err := checkCols("window aggregate", "group key", spec.Keys, -1); err != nil {
		return weir.Stream[types.Row]{}, err
	}
	aggs, err := CompileAggs(spec.Aggs, -1)
	if err != nil {
		return weir.Stream[types.Row]{}, err
	}
	opts := []weir.OpOption{weir.Name(uid), weir.UID(uid)}
	if spec.Parallelism > 0 {
		opts = append(opts, weir.Parallelism(spec.Parallelism))
	}
	keys, zone := append([]int(nil), spec.Keys...), spec.Window.Zone
	agg := weir.AggregateFunc[types.Row, Acc, Acc]{
		Init:   aggs.New,
		Add:    aggs.Add,
		Merge:  aggs.Merge,
		Result: func(acc Acc) Acc { return acc },
	}
	ks := weir.KeyBy(s, keyFunc(keys))
	width := len(keys) + 2 + aggs.Len()
	return weir.AggregateWindow(weir.Window(ks, a), agg, func(k Key, w window.Window, acc Acc, out weir.Emitter[types.Row]) error {
		vals := make([]types.Value, 0, width)
		if len(keys) > 0 {
			kv, err := DecodeKey(k)
			if err != nil {
				return err
			}
			vals = append(vals, kv...)
		}
		start, end := wallClock(zone, w)
		vals = append(vals, start, end)
		out.Emit(types.Row{Values: aggs.AppendResults(vals, acc)})
		return nil
	}, opts...), nil
}
