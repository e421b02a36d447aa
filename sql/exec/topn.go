package exec

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/state"
)

// SortKey is one column of an ORDER BY.
type SortKey struct {
	Col int
	// Type decides how values compare: numbers, strings, booleans,
	// timestamps. NULL sorts first in ascending order, last in descending
	// order (Flink's default).
	Type types.Type
	Desc bool
}

// compareRows compares a and b by keys.
func compareRows(keys []SortKey, a, b types.Row) int {
	for _, k := range keys {
		x, y := a.Values[k.Col], b.Values[k.Col]
		var c int
		switch {
		case x.IsNull() && y.IsNull():
		case x.IsNull():
			c = -1
		case y.IsNull():
			c = 1
		case k.Type.Kind == types.Double:
			c = cmpFloat(x, y)
		case k.Type.Kind == types.String:
			c = strings.Compare(x.Str(), y.Str())
		default:
			c = cmpInt(x, y)
		}
		if k.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// WindowTopNSpec is a window Top-N: SELECT * FROM (SELECT *, ROW_NUMBER()
// OVER (PARTITION BY window_start, window_end, … ORDER BY …) AS rownum
// FROM <windowed rows>) WHERE rownum <= N.
type WindowTopNSpec struct {
	// PartitionBy are the partition columns: window_start, window_end and
	// any further keys.
	PartitionBy []int
	// WindowEnd is the window_end column: a partition is emitted when the
	// watermark passes it.
	WindowEnd int
	// Zone is the WindowSpec.Zone of the windows (window_end is then a
	// wall-clock time in it); nil when window_end is an instant.
	Zone *time.Location
	// OrderBy orders the rows of a partition; list further columns to break
	// ties (rows equal on every key keep their arrival order, which is not
	// deterministic at parallelism above 1).
	OrderBy []SortKey
	// N is how many rows of each partition are kept (rownum <= N).
	N int
	// RankColumn appends the row number (BIGINT, from 1) to each row, for a
	// query that selects rownum.
	RankColumn bool
}

// WindowTopN keeps the first N rows of each partition (window and keys) by
// OrderBy, in keyed state, and emits them as insert rows in rank order
// when the watermark passes the window's end: the input row, plus the row
// number if RankColumn. Rows that come after their window was emitted are
// dropped and counted (the returned Counter). The input is insert-only
// windowed rows (a WindowAggregate or WindowAssign); so is the output,
// with the window's last millisecond as event time. The operator is named
// and identified uid.
func WindowTopN(s weir.Stream[types.Row], spec WindowTopNSpec, uid string) (weir.Stream[types.Row], *Counter, error) {
	if spec.N < 1 {
		return weir.Stream[types.Row]{}, nil, fmt.Errorf("exec: window Top-N: N is %d: the query must bound ROW_NUMBER() by a positive number (rownum <= N)", spec.N)
	}
	if len(spec.OrderBy) == 0 {
		return weir.Stream[types.Row]{}, nil, fmt.Errorf("exec: window Top-N needs an ORDER BY in its OVER clause")
	}
	if err := checkCols("window Top-N", "partition", append([]int{spec.WindowEnd}, spec.PartitionBy...), -1); err != nil {
		return weir.Stream[types.Row]{}, nil, err
	}
	late := &Counter{}
	spec.PartitionBy = append([]int(nil), spec.PartitionBy...)
	spec.OrderBy = append([]SortKey(nil), spec.OrderBy...)
	ks := weir.KeyBy(s, keyFunc(spec.PartitionBy))
	return weir.ProcessKeyed(ks, func(store *state.Store[Key]) weir.KeyedProcessFunction[Key, types.Row, types.Row] {
		return &topN{spec: spec, rows: state.ValueOf[Rows](store, "top"), late: late}
	}, weir.Name(uid), weir.UID(uid)), late, nil
}

type topN struct {
	spec WindowTopNSpec
	rows state.Value[Rows]
	late *Counter
}

func (t *topN) ProcessElement(ctx *weir.KeyedContext[Key, types.Row], r types.Row) error {
	end := toInstant(t.spec.Zone, r.Values[t.spec.WindowEnd].Int()) - 1
	if wm := ctx.Watermark(); !wm.IsZero() && end <= wm.UnixMilli() {
		t.late.n.Add(1)
		return nil
	}
	top, had := t.rows.Get()
	// The first position whose row sorts after r: r goes there, after
	// its equals.
	i := sortPos(t.spec.OrderBy, top, r)
	if i >= t.spec.N {
		return nil
	}
	top = slices.Insert(top, i, r)
	if len(top) > t.spec.N {
		top = top[:t.spec.N]
	}
	t.rows.Set(top)
	if !had {
		ctx.RegisterEventTimer(time.UnixMilli(end))
	}
	return nil
}

func sortPos(keys []SortKey, rows []types.Row, r types.Row) int {
	lo, hi := 0, len(rows)
	for lo < hi {
		m := (lo + hi) / 2
		if compareRows(keys, rows[m], r) <= 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

func (t *topN) OnTimer(ctx *weir.KeyedContext[Key, types.Row], _ time.Time, _ weir.TimeDomain) error {
	top, _ := t.rows.Get()
	for i, r := range top {
		if t.spec.RankColumn {
			vals := make([]types.Value, len(r.Values), len(r.Values)+1)
			copy(vals, r.Values)
			r = types.Row{Values: append(vals, types.IntValue(int64(i+1)))}
		}
		r.Kind = types.Insert
		ctx.Emit(r)
	}
	t.rows.Clear()
	return nil
}

// DedupSpec is a deduplication: SELECT * FROM (SELECT *, ROW_NUMBER() OVER
// (PARTITION BY keys ORDER BY time ASC|DESC) AS rownum FROM t) WHERE
// rownum = 1.
type DedupSpec struct {
	// Keys are the PARTITION BY columns.
	Keys []int
	// TimeCol is the ORDER BY time attribute; -1 for a processing-time
	// attribute (arrival order).
	TimeCol int
	// Last keeps the last row (ORDER BY time DESC); false keeps the first
	// (ASC).
	Last bool
}

// Changelog returns the changelog Deduplicate emits: insert-only when it
// keeps the first row in arrival order, updating otherwise.
func (d DedupSpec) Changelog() Changelog {
	if !d.Last && d.TimeCol < 0 {
		return InsertOnly
	}
	return Updating
}

// Deduplicate keeps one row per key, in keyed state:
//
//   - first row, arrival order (TimeCol < 0): the first row of a key is
//     emitted (+I), the others are dropped. Insert-only.
//   - first row by event time: the first row is emitted (+I); a later-
//     arriving row with an earlier time replaces it (-U old, +U new).
//   - last row (Last): the first row is emitted (+I); each row that is not
//     older replaces it (-U old, +U new).
//
// The input is insert-only. The operator is named and identified uid.
func Deduplicate(s weir.Stream[types.Row], spec DedupSpec, uid string) (weir.Stream[types.Row], error) {
	if err := checkCols("deduplicate", "partition", spec.Keys, -1); err != nil {
		return weir.Stream[types.Row]{}, err
	}
	ks := weir.KeyBy(s, keyFunc(spec.Keys))
	return weir.ProcessKeyed(ks, func(store *state.Store[Key]) weir.KeyedProcessFunction[Key, types.Row, types.Row] {
		return &dedup{spec: spec, kept: state.ValueOf[types.Row](store, "kept")}
	}, weir.Name(uid), weir.UID(uid)), nil
}

type dedup struct {
	spec DedupSpec
	kept state.Value[types.Row]
}

func (d *dedup) ProcessElement(ctx *weir.KeyedContext[Key, types.Row], r types.Row) error {
	old, had := d.kept.Get()
	r.Kind = types.Insert
	if !had {
		d.kept.Set(r)
		ctx.Emit(r)
		return nil
	}
	replace := false
	switch {
	case d.spec.TimeCol < 0:
		replace = d.spec.Last
	case d.spec.Last:
		replace = r.Values[d.spec.TimeCol].Int() >= old.Values[d.spec.TimeCol].Int()
	default:
		replace = r.Values[d.spec.TimeCol].Int() < old.Values[d.spec.TimeCol].Int()
	}
	if !replace {
		return nil
	}
	d.kept.Set(r)
	old.Kind, r.Kind = types.UpdateBefore, types.UpdateAfter
	ctx.Emit(old)
	ctx.Emit(r)
	return nil
}

func (d *dedup) OnTimer(*weir.KeyedContext[Key, types.Row], time.Time, weir.TimeDomain) error {
	return nil
}

// Rows is a list of rows kept in state (a Top-N's, a join's buffered
// side). It checkpoints through MarshalBinary.
type Rows []types.Row

// MarshalBinary encodes the rows: their number, then each row's encoding
// framed by its length (uvarints).
func (rs Rows) MarshalBinary() ([]byte, error) {
	b := binary.AppendUvarint(nil, uint64(len(rs)))
	for _, r := range rs {
		enc, err := r.MarshalBinary()
		if err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	}
	return b, nil
}

// UnmarshalBinary decodes rows encoded by MarshalBinary; it never panics
// on bad input.
func (rs *Rows) UnmarshalBinary(data []byte) error {
	n, p := binary.Uvarint(data)
	if p <= 0 || n > uint64(len(data)) {
		return fmt.Errorf("exec: malformed rows: bad count")
	}
	out := make(Rows, n)
	for i := range out {
		l, u := binary.Uvarint(data[p:])
		if u <= 0 || l > uint64(len(data)-p-u) {
			return fmt.Errorf("exec: malformed rows: bad length")
		}
		p += u
		if err := out[i].UnmarshalBinary(data[p : p+int(l)]); err != nil {
			return fmt.Errorf("exec: malformed rows: %w", err)
		}
		p += int(l)
	}
	if p != len(data) {
		return fmt.Errorf("exec: malformed rows: %d bytes left over", len(data)-p)
	}
	*rs = out
	return nil
}
