package exec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/axiomhq/hyperloglog"

	"github.com/weirstream/weir/sql/types"
)

// AggFunc names an aggregate function.
type AggFunc uint8

// The aggregate functions. Each is a small type with init, add, merge and
// result over one slot of an accumulator; merge makes them combinable, so
// that partial accumulators (local pre-aggregation, session windows that
// merge) give the same result.
const (
	// CountStar is COUNT(*): the rows. BIGINT NOT NULL.
	CountStar AggFunc = iota + 1
	// Count is COUNT(col): the rows whose argument is not NULL; with
	// AggCall.Distinct, COUNT(DISTINCT col): the distinct non-NULL values,
	// exactly (a set per key and window, in state). BIGINT NOT NULL.
	Count
	// Sum is SUM(col): INT and BIGINT sum to BIGINT, DOUBLE to DOUBLE,
	// DECIMAL(p, s) to DECIMAL(18, s). NULL when no argument was non-NULL.
	Sum
	// Min is MIN(col), of numbers, strings, booleans or timestamps; the
	// argument's type. NULL when no argument was non-NULL.
	Min
	// Max is MAX(col), as Min.
	Max
	// Avg is AVG(col) with Flink's result types: the argument's type, so
	// the AVG of an INT column is an INT (the quotient truncated toward
	// zero), of a DECIMAL(p, s) a DECIMAL(18, s). NULL when no argument was
	// non-NULL.
	Avg
	// ApproxCountDistinct is APPROX_COUNT_DISTINCT(col): the distinct
	// non-NULL values estimated by a HyperLogLog sketch of precision 14
	// (about 0.8% standard error, at most 16 KiB per key and window).
	// BIGINT NOT NULL.
	ApproxCountDistinct
)

var aggNames = [...]string{CountStar: "COUNT(*)", Count: "COUNT", Sum: "SUM", Min: "MIN", Max: "MAX", Avg: "AVG", ApproxCountDistinct: "APPROX_COUNT_DISTINCT"}

// String returns the function's SQL name.
func (f AggFunc) String() string {
	if int(f) < len(aggNames) && aggNames[f] != "" {
		return aggNames[f]
	}
	return fmt.Sprintf("AggFunc(%d)", f)
}

// AggCall is one aggregate of a query: a function over one column of the
// operator's input row, optionally DISTINCT and with a FILTER (WHERE …).
// The planner first projects each argument expression into a column.
type AggCall struct {
	Func AggFunc
	// Arg is the argument's column in the input row; CountStar ignores it.
	Arg int
	// ArgType is the argument's type; it decides Sum's, Min's, Max's and
	// Avg's result type and how Min and Max compare.
	ArgType types.Type
	// Distinct makes COUNT count distinct values. Other functions refuse
	// it (SUM(DISTINCT …) is not supported yet).
	Distinct bool
	// Filter, if set, is the aggregate's FILTER (WHERE …): rows for which
	// it returns false do not reach this aggregate. Compiled once by the
	// planner; called once per row.
	Filter func(types.Row) bool
}

// ResultType returns the SQL type of the aggregate's result, or an error
// naming what is not supported.
func (c AggCall) ResultType() (types.Type, error) {
	if _, err := c.fn(); err != nil {
		return types.Type{}, err
	}
	switch c.Func {
	case CountStar, Count, ApproxCountDistinct:
		return types.Type{Kind: types.BigInt, NotNull: true}, nil
	case Sum:
		switch c.ArgType.Kind {
		case types.Int, types.BigInt:
			return types.BigIntType, nil
		case types.Decimal:
			return types.DecimalType(types.MaxDecimalPrecision, c.ArgType.Scale), nil
		}
		return types.DoubleType, nil
	case Avg:
		if c.ArgType.Kind == types.Decimal {
			return types.DecimalType(types.MaxDecimalPrecision, c.ArgType.Scale), nil
		}
	}
	t := c.ArgType
	t.NotNull = false
	return t, nil
}

// fn returns the function's implementation, or an error naming what is not
// supported.
func (c AggCall) fn() (aggImpl, error) {
	if c.Distinct && c.Func != Count {
		return nil, fmt.Errorf("exec: %s(DISTINCT …) is not supported: only COUNT(DISTINCT …) is", c.Func)
	}
	numeric := c.ArgType.Numeric()
	switch c.Func {
	case CountStar:
		return countStar{}, nil
	case Count:
		if c.Distinct {
			return countDistinct{}, nil
		}
		return count{}, nil
	case Sum, Avg:
		if !numeric {
			return nil, fmt.Errorf("exec: %s of a %s column is not supported: give a number column, or CAST it", c.Func, c.ArgType)
		}
		return sum{float: c.ArgType.Kind == types.Double, avg: c.Func == Avg}, nil
	case Min, Max:
		var cmp func(a, b types.Value) int
		switch {
		case c.ArgType.Kind == types.Double:
			cmp = cmpFloat
		case c.ArgType.Kind == types.String:
			cmp = func(a, b types.Value) int { return strings.Compare(a.Str(), b.Str()) }
		case numeric || c.ArgType.Temporal() || c.ArgType.Kind == types.Boolean || c.ArgType.Kind == types.Interval:
			cmp = cmpInt
		default:
			return nil, fmt.Errorf("exec: %s of a %s column is not supported", c.Func, c.ArgType)
		}
		return minMax{cmp: cmp, max: c.Func == Max}, nil
	case ApproxCountDistinct:
		return approxDistinct{}, nil
	}
	return nil, fmt.Errorf("exec: aggregate function %s is not supported", c.Func)
}

func cmpInt(a, b types.Value) int {
	x, y := a.Int(), b.Int()
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

func cmpFloat(a, b types.Value) int {
	x, y := a.Float(), b.Float()
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// slot is one aggregate's part of an accumulator; each function uses the
// fields it needs.
type slot struct {
	n    int64   // rows counted (COUNT; SUM's and AVG's non-NULL arguments)
	i    int64   // integer sum
	f    float64 // DOUBLE sum
	v    types.Value
	set  map[types.Value]struct{}
	hll  *hyperloglog.Sketch
	used bool // v is set (MIN, MAX)
}

// aggImpl is one aggregate function over a slot.
type aggImpl interface {
	add(s *slot, v types.Value)
	merge(dst, src *slot)
	result(s *slot) types.Value
	// retract takes a value back (for updating input); false if the
	// function cannot.
	retract(s *slot, v types.Value) bool
}

type countStar struct{}

func (countStar) add(s *slot, _ types.Value)          { s.n++ }
func (countStar) merge(d, s *slot)                    { d.n += s.n }
func (countStar) result(s *slot) types.Value          { return types.IntValue(s.n) }
func (countStar) retract(s *slot, _ types.Value) bool { s.n--; return true }

type count struct{}

func (count) add(s *slot, v types.Value) {
	if !v.IsNull() {
		s.n++
	}
}
func (count) merge(d, s *slot)           { d.n += s.n }
func (count) result(s *slot) types.Value { return types.IntValue(s.n) }
func (count) retract(s *slot, v types.Value) bool {
	if !v.IsNull() {
		s.n--
	}
	return true
}

type countDistinct struct{}

func (countDistinct) add(s *slot, v types.Value) {
	if v.IsNull() {
		return
	}
	if s.set == nil {
		s.set = make(map[types.Value]struct{})
	}
	s.set[v] = struct{}{}
}
func (countDistinct) merge(d, s *slot) {
	for v := range s.set {
		countDistinct{}.add(d, v)
	}
}
func (countDistinct) result(s *slot) types.Value      { return types.IntValue(int64(len(s.set))) }
func (countDistinct) retract(*slot, types.Value) bool { return false }

type sum struct{ float, avg bool }

func (f sum) add(s *slot, v types.Value) {
	if v.IsNull() {
		return
	}
	s.n++
	if f.float {
		s.f += v.Float()
	} else {
		s.i += v.Int()
	}
}
func (sum) merge(d, s *slot) { d.n, d.i, d.f = d.n+s.n, d.i+s.i, d.f+s.f }
func (f sum) result(s *slot) types.Value {
	switch {
	case s.n == 0:
		return types.Null
	case f.float && f.avg:
		return types.FloatValue(s.f / float64(s.n))
	case f.float:
		return types.FloatValue(s.f)
	case f.avg:
		return types.IntValue(s.i / s.n)
	}
	return types.IntValue(s.i)
}
func (f sum) retract(s *slot, v types.Value) bool {
	if v.IsNull() {
		return true
	}
	s.n--
	if f.float {
		s.f -= v.Float()
	} else {
		s.i -= v.Int()
	}
	return true
}

type minMax struct {
	cmp func(a, b types.Value) int
	max bool
}

func (f minMax) add(s *slot, v types.Value) {
	if v.IsNull() {
		return
	}
	if !s.used {
		s.v, s.used = v, true
		return
	}
	c := f.cmp(v, s.v)
	if (f.max && c > 0) || (!f.max && c < 0) {
		s.v = v
	}
}
func (f minMax) merge(d, s *slot) {
	if s.used {
		f.add(d, s.v)
	}
}
func (minMax) result(s *slot) types.Value      { return s.v }
func (minMax) retract(*slot, types.Value) bool { return false }

type approxDistinct struct{}

func (approxDistinct) add(s *slot, v types.Value) {
	if v.IsNull() {
		return
	}
	if s.hll == nil {
		s.hll = hyperloglog.New14()
	}
	// Hash the value's encoding, so that values of different kinds differ.
	var vals [1]types.Value
	var buf [64]byte
	vals[0] = v
	b, _ := types.Row{Values: vals[:]}.AppendBinary(buf[:0])
	s.hll.Insert(b)
}
func (approxDistinct) merge(d, s *slot) {
	if s.hll == nil {
		return
	}
	if d.hll == nil {
		d.hll = s.hll.Clone()
		return
	}
	_ = d.hll.Merge(s.hll) // same precision: never fails
}
func (approxDistinct) result(s *slot) types.Value {
	if s.hll == nil {
		return types.IntValue(0)
	}
	return types.IntValue(int64(s.hll.Estimate()))
}
func (approxDistinct) retract(*slot, types.Value) bool { return false }

// Aggs is the compiled form of several aggregates that share one
// accumulator: one state entry per key (and window) holds them all.
type Aggs struct {
	calls []AggCall
	impls []aggImpl
	args  []int
}

// CompileAggs checks calls and compiles them, for an input row of width
// columns (width < 0: not checked).
func CompileAggs(calls []AggCall, width int) (*Aggs, error) {
	a := &Aggs{calls: append([]AggCall(nil), calls...)}
	var errs []error
	for i, c := range calls {
		impl, err := c.fn()
		if err != nil {
			errs = append(errs, fmt.Errorf("aggregate %d: %w", i, err))
			continue
		}
		if c.Func != CountStar {
			if err := checkCols("aggregate", c.Func.String()+" argument", []int{c.Arg}, width); err != nil {
				errs = append(errs, err)
			}
		}
		a.impls = append(a.impls, impl)
		a.args = append(a.args, c.Arg)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return a, nil
}

// Len returns the number of aggregates.
func (a *Aggs) Len() int { return len(a.calls) }

// New returns an empty accumulator.
func (a *Aggs) New() Acc { return Acc{slots: make([]slot, len(a.calls))} }

// Add folds row into acc and returns acc (changed in place). An
// accumulator restored from a checkpoint of another query (other
// aggregates under the same uid) panics with an error that says so; the
// job fails with it.
func (a *Aggs) Add(acc Acc, row types.Row) Acc {
	if len(acc.slots) != len(a.impls) {
		panic(fmt.Errorf("exec: an accumulator holds %d aggregates where the query has %d: its state comes from a checkpoint of another query under the same uid; give the changed query new operator uids", len(acc.slots), len(a.impls)))
	}
	for i, impl := range a.impls {
		if f := a.calls[i].Filter; f != nil && !f(row) {
			continue
		}
		var v types.Value
		if a.args[i] >= 0 && a.args[i] < len(row.Values) {
			v = row.Values[a.args[i]]
		}
		impl.add(&acc.slots[i], v)
	}
	return acc
}

// Retract takes row back from acc; false if an aggregate cannot (MIN,
// MAX, COUNT DISTINCT, APPROX_COUNT_DISTINCT).
func (a *Aggs) Retract(acc Acc, row types.Row) bool {
	for i, impl := range a.impls {
		if f := a.calls[i].Filter; f != nil && !f(row) {
			continue
		}
		var v types.Value
		if a.args[i] >= 0 && a.args[i] < len(row.Values) {
			v = row.Values[a.args[i]]
		}
		if !impl.retract(&acc.slots[i], v) {
			return false
		}
	}
	return true
}

// Retractable reports whether every aggregate can take rows back, so that
// it can aggregate an updating input.
func (a *Aggs) Retractable() error {
	for i, impl := range a.impls {
		var s slot
		if !impl.retract(&s, types.Null) {
			return fmt.Errorf("exec: %s over an updating input is not supported (aggregate %d): it cannot take rows back", a.calls[i].Func, i)
		}
	}
	return nil
}

// Merge folds src into dst and returns dst.
func (a *Aggs) Merge(dst, src Acc) Acc {
	for i, impl := range a.impls {
		impl.merge(&dst.slots[i], &src.slots[i])
	}
	return dst
}

// AppendResults appends the aggregates' results to dst, in call order.
func (a *Aggs) AppendResults(dst []types.Value, acc Acc) []types.Value {
	for i, impl := range a.impls {
		dst = append(dst, impl.result(&acc.slots[i]))
	}
	return dst
}

// Acc is the accumulator of several aggregates (Aggs): one value per key
// and window in state. It refers to its contents, so Add changes it in
// place without allocating; it checkpoints through MarshalBinary.
type Acc struct{ slots []slot }

// accVersion is the first byte of an encoded Acc.
const accVersion = 1

// MarshalBinary encodes the accumulator: a version byte, the number of
// slots, then per slot n and i (varints), f (8 bytes), the encoded
// types.Row of its value and its distinct set (uvarint length first), and
// the HyperLogLog sketch (uvarint length, 0 for none).
func (a Acc) MarshalBinary() ([]byte, error) {
	b := []byte{accVersion}
	b = binary.AppendUvarint(b, uint64(len(a.slots)))
	for i := range a.slots {
		s := &a.slots[i]
		b = binary.AppendVarint(b, s.n)
		b = binary.AppendVarint(b, s.i)
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(s.f))
		vals := make([]types.Value, 0, 2+len(s.set))
		vals = append(vals, types.BoolValue(s.used), s.v)
		for v := range s.set {
			vals = append(vals, v)
		}
		row, err := types.Row{Values: vals}.MarshalBinary()
		if err != nil {
			return nil, err
		}
		b = binary.AppendUvarint(b, uint64(len(row)))
		b = append(b, row...)
		var sk []byte
		if s.hll != nil {
			if sk, err = s.hll.MarshalBinary(); err != nil {
				return nil, fmt.Errorf("exec: encoding a HyperLogLog sketch: %w", err)
			}
		}
		b = binary.AppendUvarint(b, uint64(len(sk)))
		b = append(b, sk...)
	}
	return b, nil
}

var errAcc = errors.New("exec: malformed accumulator encoding")

// UnmarshalBinary decodes an accumulator encoded by MarshalBinary; it
// never panics on bad input.
func (a *Acc) UnmarshalBinary(data []byte) error {
	if len(data) < 2 || data[0] != accVersion {
		return fmt.Errorf("%w: unknown version", errAcc)
	}
	p := 1
	n, used := binary.Uvarint(data[p:])
	if used <= 0 || n > uint64(len(data)) {
		return fmt.Errorf("%w: bad slot count", errAcc)
	}
	p += used
	slots := make([]slot, n)
	for i := range slots {
		s := &slots[i]
		var u int
		if s.n, u = binary.Varint(data[p:]); u <= 0 {
			return fmt.Errorf("%w: truncated", errAcc)
		}
		p += u
		if s.i, u = binary.Varint(data[p:]); u <= 0 {
			return fmt.Errorf("%w: truncated", errAcc)
		}
		p += u
		if len(data)-p < 8 {
			return fmt.Errorf("%w: truncated", errAcc)
		}
		s.f = math.Float64frombits(binary.BigEndian.Uint64(data[p:]))
		p += 8
		l, u := binary.Uvarint(data[p:])
		if u <= 0 || l > uint64(len(data)-p-u) {
			return fmt.Errorf("%w: bad value length", errAcc)
		}
		p += u
		var row types.Row
		if err := row.UnmarshalBinary(data[p : p+int(l)]); err != nil {
			return fmt.Errorf("%w: %w", errAcc, err)
		}
		p += int(l)
		if len(row.Values) < 2 {
			return fmt.Errorf("%w: short slot", errAcc)
		}
		s.used, s.v = row.Values[0].Bool(), row.Values[1]
		if len(row.Values) > 2 {
			s.set = make(map[types.Value]struct{}, len(row.Values)-2)
			for _, v := range row.Values[2:] {
				s.set[v] = struct{}{}
			}
		}
		if l, u = binary.Uvarint(data[p:]); u <= 0 || l > uint64(len(data)-p-u) {
			return fmt.Errorf("%w: bad sketch length", errAcc)
		}
		p += u
		if l > 0 {
			s.hll = hyperloglog.New14()
			if err := s.hll.UnmarshalBinary(data[p : p+int(l)]); err != nil {
				return fmt.Errorf("%w: sketch: %w", errAcc, err)
			}
			p += int(l)
		}
	}
	if p != len(data) {
		return fmt.Errorf("%w: %d bytes left over", errAcc, len(data)-p)
	}
	a.slots = slots
	return nil
}
