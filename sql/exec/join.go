package exec

import (
	"fmt"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/state"
)

// JoinType is the kind of a join.
type JoinType uint8

// The join types.
const (
	Inner JoinType = iota
	// Left keeps every left row: one without a partner leaves with NULLs
	// for the right columns.
	Left
	// Right keeps every right row, with NULLs for the left columns.
	Right
	// Full keeps every row of both sides.
	Full
)

var joinNames = [...]string{Inner: "INNER", Left: "LEFT", Right: "RIGHT", Full: "FULL"}

// String returns the join type as SQL spells it.
func (j JoinType) String() string {
	if int(j) < len(joinNames) {
		return joinNames[j]
	}
	return fmt.Sprintf("JoinType(%d)", j)
}

// WindowJoinSpec is a window join: two windowed inputs (each a
// WindowAssign or WindowAggregate of the same window TVF) joined ON
// L.window_start = R.window_start AND L.window_end = R.window_end AND
// L.k = R.k ….
type WindowJoinSpec struct {
	Type JoinType
	// LeftKeys and RightKeys are the equality keys besides the window,
	// pairwise: LeftKeys[i] = RightKeys[i]. A NULL key matches nothing.
	LeftKeys, RightKeys []int
	// LeftStart, LeftEnd, RightStart, RightEnd are the window_start and
	// window_end columns of each side.
	LeftStart, LeftEnd, RightStart, RightEnd int
	// LeftWidth and RightWidth are the number of columns of each side, for
	// the NULLs of an outer join's padding.
	LeftWidth, RightWidth int
	// Zone is the windows' WindowSpec.Zone; nil when window_end is an
	// instant.
	Zone *time.Location
}

// WindowJoin keeps the rows of both inputs per window and key in keyed
// state and, when the watermark passes the window's end, emits each pair
// of a left and a right row as one insert row, the left columns then the
// right ones; then, for Left, Right and Full joins, each row without a
// partner with the other side's columns NULL. The window's last
// millisecond is the rows' event time. Rows later than their window are
// dropped and counted (the returned Counter). Inputs and output are
// insert-only. The operator is named and identified uid.
func WindowJoin(left, right weir.Stream[types.Row], spec WindowJoinSpec, uid string) (weir.Stream[types.Row], *Counter, error) {
	if len(spec.LeftKeys) != len(spec.RightKeys) {
		return weir.Stream[types.Row]{}, nil, fmt.Errorf("exec: window join: %d left keys and %d right keys: the equality keys must pair up", len(spec.LeftKeys), len(spec.RightKeys))
	}
	if spec.Type > Full {
		return weir.Stream[types.Row]{}, nil, fmt.Errorf("exec: window join: join type %v is not supported", spec.Type)
	}
	if err := checkCols("window join", "left", append([]int{spec.LeftStart, spec.LeftEnd}, spec.LeftKeys...), spec.LeftWidth); err != nil {
		return weir.Stream[types.Row]{}, nil, err
	}
	if err := checkCols("window join", "right", append([]int{spec.RightStart, spec.RightEnd}, spec.RightKeys...), spec.RightWidth); err != nil {
		return weir.Stream[types.Row]{}, nil, err
	}
	late := &Counter{}
	lk := keyFunc(append([]int{spec.LeftStart, spec.LeftEnd}, spec.LeftKeys...))
	rk := keyFunc(append([]int{spec.RightStart, spec.RightEnd}, spec.RightKeys...))
	return weir.ProcessKeyedCo(weir.KeyBy(left, lk), weir.KeyBy(right, rk), func(store *state.Store[Key]) weir.KeyedCoProcessFunction[Key, types.Row, types.Row, types.Row] {
		return &windowJoin{spec: spec, late: late, lefts: state.ValueOf[Rows](store, "left"), rights: state.ValueOf[Rows](store, "right")}
	}, weir.Name(uid), weir.UID(uid)), late, nil
}

type windowJoin struct {
	spec          WindowJoinSpec
	late          *Counter
	lefts, rights state.Value[Rows]
}

func (j *windowJoin) add(ctx *weir.KeyedContext[Key, types.Row], side state.Value[Rows], r types.Row, endCol int) {
	end := toInstant(j.spec.Zone, r.Values[endCol].Int()) - 1
	if wm := ctx.Watermark(); !wm.IsZero() && end <= wm.UnixMilli() {
		j.late.n.Add(1)
		return
	}
	rs, _ := side.Get()
	r.Kind = types.Insert
	side.Set(append(rs, r))
	// Registering twice is harmless: timers are per key and time.
	ctx.RegisterEventTimer(time.UnixMilli(end))
}

func (j *windowJoin) ProcessElement1(ctx *weir.KeyedContext[Key, types.Row], r types.Row) error {
	j.add(ctx, j.lefts, r, j.spec.LeftEnd)
	return nil
}

func (j *windowJoin) ProcessElement2(ctx *weir.KeyedContext[Key, types.Row], r types.Row) error {
	j.add(ctx, j.rights, r, j.spec.RightEnd)
	return nil
}

func (j *windowJoin) OnTimer(ctx *weir.KeyedContext[Key, types.Row], _ time.Time, _ weir.TimeDomain) error {
	ls, _ := j.lefts.Get()
	rs, _ := j.rights.Get()
	j.lefts.Clear()
	j.rights.Clear()
	matches := len(ls) > 0 && len(rs) > 0
	if matches && (hasNull(ls[0], j.spec.LeftKeys) || hasNull(rs[0], j.spec.RightKeys)) {
		matches = false
	}
	if matches {
		for _, l := range ls {
			for _, r := range rs {
				ctx.Emit(concat(l, r, j.spec.LeftWidth, j.spec.RightWidth))
			}
		}
		return nil
	}
	if j.spec.Type == Left || j.spec.Type == Full {
		for _, l := range ls {
			ctx.Emit(concat(l, types.Row{}, j.spec.LeftWidth, j.spec.RightWidth))
		}
	}
	if j.spec.Type == Right || j.spec.Type == Full {
		for _, r := range rs {
			ctx.Emit(concat(types.Row{}, r, j.spec.LeftWidth, j.spec.RightWidth))
		}
	}
	return nil
}

// concat returns the insert row of l's values then r's, each padded with
// NULLs (or cut) to its side's width.
func concat(l, r types.Row, lw, rw int) types.Row {
	vals := make([]types.Value, lw+rw)
	copy(vals[:lw], l.Values)
	copy(vals[lw:], r.Values)
	return types.Row{Values: vals}
}

// IntervalJoinSpec is an interval join: L JOIN R ON L.k = R.k AND R.time
// BETWEEN L.time + Lower AND L.time + Upper, on the rows' event times
// (each side's time attribute, given by EventTime). The planner turns
// "L.time BETWEEN R.time - x AND R.time + y" into Lower = -y, Upper = x.
type IntervalJoinSpec struct {
	// LeftKeys and RightKeys are the equality keys, pairwise. A NULL key
	// matches nothing.
	LeftKeys, RightKeys []int
	// Lower and Upper bound the right row's time relative to the left
	// row's, both included.
	Lower, Upper time.Duration
	// LeftWidth and RightWidth are the number of columns of each side.
	LeftWidth, RightWidth int
}

// IntervalJoin is an inner interval join on weir.IntervalJoin: each pair
// leaves as one insert row, the left columns then the right ones, with
// the later of the two event times. Rows at or behind the watermark are
// late: they join nothing and are counted (weir.Env.DroppedLateRecords).
// Inputs and output are insert-only. Outer interval joins are not
// supported yet. The operators are named and identified uid, with the
// NULL-key filters uid+"/left" and uid+"/right".
func IntervalJoin(left, right weir.Stream[types.Row], spec IntervalJoinSpec, uid string) (weir.Stream[types.Row], error) {
	if len(spec.LeftKeys) != len(spec.RightKeys) {
		return weir.Stream[types.Row]{}, fmt.Errorf("exec: interval join: %d left keys and %d right keys: the equality keys must pair up", len(spec.LeftKeys), len(spec.RightKeys))
	}
	if spec.Lower > spec.Upper {
		return weir.Stream[types.Row]{}, fmt.Errorf("exec: interval join: the lower bound %v is above the upper bound %v: the BETWEEN bounds are reversed", spec.Lower, spec.Upper)
	}
	if err := checkCols("interval join", "left key", spec.LeftKeys, spec.LeftWidth); err != nil {
		return weir.Stream[types.Row]{}, err
	}
	if err := checkCols("interval join", "right key", spec.RightKeys, spec.RightWidth); err != nil {
		return weir.Stream[types.Row]{}, err
	}
	lkeys, rkeys := append([]int(nil), spec.LeftKeys...), append([]int(nil), spec.RightKeys...)
	left = weir.Filter(left, func(r types.Row) bool { return !hasNull(r, lkeys) }, weir.Name(uid+"/left"), weir.UID(uid+"/left"))
	right = weir.Filter(right, func(r types.Row) bool { return !hasNull(r, rkeys) }, weir.Name(uid+"/right"), weir.UID(uid+"/right"))
	lw, rw := spec.LeftWidth, spec.RightWidth
	return weir.IntervalJoin(left, right, keyFunc(lkeys), keyFunc(rkeys), spec.Lower, spec.Upper, func(l, r types.Row) types.Row {
		return concat(l, r, lw, rw)
	}, weir.Name(uid), weir.UID(uid)), nil
}
