package exec

import (
	"fmt"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/state"
)

// RegularJoinSpec is a regular join: L JOIN R ON L.k = R.k … [AND other
// conditions], with no time bound, as Flink plans it.
type RegularJoinSpec struct {
	// Type must be Inner: outer regular joins would retract their
	// NULL-padded rows, and are not supported.
	Type JoinType
	// LeftKeys and RightKeys are the equality keys, pairwise: LeftKeys[i]
	// = RightKeys[i]. At least one is needed. A NULL key matches nothing.
	LeftKeys, RightKeys []int
	// Residual, if not nil, is the rest of the ON condition over the
	// joined row (the left columns, then the right ones): a pair leaves
	// only if it returns true.
	Residual func(types.Row) bool
	// LeftWidth and RightWidth are the number of columns of each side.
	LeftWidth, RightWidth int
	// TTL, if positive, forgets a key's rows of one side TTL after the
	// last row of that side with that key came, in processing time
	// ('table.exec.state.ttl'). Zero keeps every row for as long as the
	// job runs.
	TTL time.Duration
}

// RegularJoin is an inner join without a time bound: both inputs are keyed
// by their equality keys, every row of each side is kept in keyed state,
// and each new row is joined with the other side's rows of its key, each
// pair that passes Residual leaving as one insert row, the left columns
// then the right ones. Inputs must be insert-only, and so is the output:
// an inner join of insert-only inputs never retracts. Rows with a NULL
// key match nothing and are dropped first. The state grows with the
// number of rows unless spec.TTL is set. The operators are named and
// identified uid, with the NULL-key filters uid+"/left" and uid+"/right".
func RegularJoin(left, right weir.Stream[types.Row], spec RegularJoinSpec, uid string) (weir.Stream[types.Row], error) {
	none := weir.Stream[types.Row]{}
	if spec.Type != Inner {
		return none, fmt.Errorf("exec: regular join: a %v regular join is not supported: its NULL-padded rows would need retractions; use an inner JOIN, or a window or interval join", spec.Type)
	}
	if len(spec.LeftKeys) != len(spec.RightKeys) {
		return none, fmt.Errorf("exec: regular join: %d left keys and %d right keys: the equality keys must pair up", len(spec.LeftKeys), len(spec.RightKeys))
	}
	if len(spec.LeftKeys) == 0 {
		return none, fmt.Errorf("exec: regular join: no equality key: join ON l.key = r.key")
	}
	if spec.TTL < 0 {
		return none, fmt.Errorf("exec: regular join: TTL %v is negative: give a positive duration, or 0 to keep rows for ever", spec.TTL)
	}
	if err := checkCols("regular join", "left key", spec.LeftKeys, spec.LeftWidth); err != nil {
		return none, err
	}
	if err := checkCols("regular join", "right key", spec.RightKeys, spec.RightWidth); err != nil {
		return none, err
	}
	lkeys, rkeys := append([]int(nil), spec.LeftKeys...), append([]int(nil), spec.RightKeys...)
	left = weir.Filter(left, func(r types.Row) bool { return !hasNull(r, lkeys) }, weir.Name(uid+"/left"), weir.UID(uid+"/left"))
	right = weir.Filter(right, func(r types.Row) bool { return !hasNull(r, rkeys) }, weir.Name(uid+"/right"), weir.UID(uid+"/right"))
	var opts []state.Option
	if spec.TTL > 0 {
		opts = append(opts, state.TTL(spec.TTL))
	}
	return weir.ProcessKeyedCo(weir.KeyBy(left, keyFunc(lkeys)), weir.KeyBy(right, keyFunc(rkeys)), func(store *state.Store[Key]) weir.KeyedCoProcessFunction[Key, types.Row, types.Row, types.Row] {
		return &regularJoin{spec: spec, lefts: state.ValueOf[Rows](store, "left", opts...), rights: state.ValueOf[Rows](store, "right", opts...)}
	}, weir.Name(uid), weir.UID(uid)), nil
}

type regularJoin struct {
	spec          RegularJoinSpec
	lefts, rights state.Value[Rows]
}

// emit sends the pair l, r on if it passes the residual condition.
func (j *regularJoin) emit(ctx *weir.KeyedContext[Key, types.Row], l, r types.Row) {
	out := concat(l, r, j.spec.LeftWidth, j.spec.RightWidth)
	if j.spec.Residual == nil || j.spec.Residual(out) {
		ctx.Emit(out)
	}
}

// keep appends r to side's rows of the current key.
func keep(side state.Value[Rows], r types.Row) {
	rs, _ := side.Get()
	r.Kind = types.Insert
	side.Set(append(rs, r))
}

func (j *regularJoin) ProcessElement1(ctx *weir.KeyedContext[Key, types.Row], l types.Row) error {
	rs, _ := j.rights.Get()
	for _, r := range rs {
		j.emit(ctx, l, r)
	}
	keep(j.lefts, l)
	return nil
}

func (j *regularJoin) ProcessElement2(ctx *weir.KeyedContext[Key, types.Row], r types.Row) error {
	ls, _ := j.lefts.Get()
	for _, l := range ls {
		j.emit(ctx, l, r)
	}
	keep(j.rights, r)
	return nil
}

func (j *regularJoin) OnTimer(*weir.KeyedContext[Key, types.Row], time.Time, weir.TimeDomain) error {
	return nil
}
