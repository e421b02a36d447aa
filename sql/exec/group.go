package exec

import (
	"fmt"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/state"
)

// GroupAggregateSpec is an aggregate without windows: SELECT keys…,
// aggregates… FROM t GROUP BY keys… (an updating query).
type GroupAggregateSpec struct {
	// Keys are the group key columns, in output order; none for a global
	// aggregate (one group, one subtask).
	Keys []int
	// Aggs are the aggregates, in output order.
	Aggs []AggCall
	// Input is the changelog of the input. An updating input needs
	// aggregates that take rows back (COUNT, SUM, AVG).
	Input Changelog
}

// GroupAggregate keeps one accumulator per group key in keyed state (the
// job's backend, checkpointed, rescalable) and emits Flink's retract
// changelog of the result, rows keys…, aggregates…:
//
//	the first row of a key:      +I new
//	each row that changes it:    -U old, then +U new
//	a row that does not change:  nothing
//
// With an updating input, a -U or -D row is taken back from the
// accumulator; when a key's rows are all taken back, its result is taken
// back with -D. The output is Updating. The keyed operator is named and
// identified uid.
func GroupAggregate(s weir.Stream[types.Row], spec GroupAggregateSpec, uid string) (weir.Stream[types.Row], error) {
	if err := checkCols("group aggregate", "group key", spec.Keys, -1); err != nil {
		return weir.Stream[types.Row]{}, err
	}
	aggs, err := CompileAggs(spec.Aggs, -1)
	if err != nil {
		return weir.Stream[types.Row]{}, err
	}
	if spec.Input == Updating {
		if err := aggs.Retractable(); err != nil {
			return weir.Stream[types.Row]{}, err
		}
	}
	keys := append([]int(nil), spec.Keys...)
	ks := weir.KeyBy(s, keyFunc(keys))
	return weir.ProcessKeyed(ks, func(store *state.Store[Key]) weir.KeyedProcessFunction[Key, types.Row, types.Row] {
		return &groupAgg{aggs: aggs, keys: keys, acc: state.ValueOf[Acc](store, "acc"), rows: state.ValueOf[int64](store, "rows")}
	}, weir.Name(uid), weir.UID(uid)), nil
}

type groupAgg struct {
	aggs *Aggs
	keys []int
	acc  state.Value[Acc]
	rows state.Value[int64] // rows in the group, for the -D of an emptied one
}

func (g *groupAgg) ProcessElement(ctx *weir.KeyedContext[Key, types.Row], r types.Row) error {
	acc, had := g.acc.Get()
	n, _ := g.rows.Get()
	var old types.Row
	if had {
		old = g.result(r, acc)
	} else {
		acc = g.aggs.New()
	}
	if r.Kind.Retracts() {
		if !had {
			return nil // nothing to take back from: a retraction of a row this state never saw
		}
		if !g.aggs.Retract(acc, r) {
			return fmt.Errorf("exec: group aggregate: an aggregate cannot take rows back")
		}
		n--
	} else {
		acc = g.aggs.Add(acc, r)
		n++
	}
	if n <= 0 {
		g.acc.Clear()
		g.rows.Clear()
		old.Kind = types.Delete
		ctx.Emit(old)
		return nil
	}
	g.acc.Set(acc)
	g.rows.Set(n)
	cur := g.result(r, acc)
	if !had {
		ctx.Emit(cur)
		return nil
	}
	if rowsEqual(old, cur) {
		return nil
	}
	old.Kind, cur.Kind = types.UpdateBefore, types.UpdateAfter
	ctx.Emit(old)
	ctx.Emit(cur)
	return nil
}

// result returns the result row of a group: its key columns (taken from
// r, a row of the group) and the aggregates.
func (g *groupAgg) result(r types.Row, acc Acc) types.Row {
	vals := make([]types.Value, 0, len(g.keys)+g.aggs.Len())
	for _, c := range g.keys {
		vals = append(vals, r.Values[c])
	}
	return types.Row{Values: g.aggs.AppendResults(vals, acc)}
}

func (g *groupAgg) OnTimer(*weir.KeyedContext[Key, types.Row], time.Time, weir.TimeDomain) error {
	return nil
}

// rowsEqual reports whether a and b hold equal values (kinds aside).
func rowsEqual(a, b types.Row) bool {
	if len(a.Values) != len(b.Values) {
		return false
	}
	for i := range a.Values {
		if !a.Values[i].Equal(b.Values[i]) {
			return false
		}
	}
	return true
}
