package expr

import (
	"math"
	"math/bits"

	"github.com/weirstream/weir/sql/types"
)

// pow10[i] is 10^i, for i ≤ 18.
var pow10 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

func (c *compiler) arith(n *Arith, l, r cexpr) (evalFn, error) {
	lt, rt, t := n.L.Type(), n.R.Type(), n.T
	switch {
	case t.Kind == types.Unknown || lt.Kind == types.Unknown || rt.Kind == types.Unknown:
		return nullC.fn, nil
	case t.Kind == types.Double:
		return binFloat(l, r, floatOp(n.Op)), nil
	case t.Kind == types.Int:
		f := intOp(n.Op)
		return binInt(l, r, func(a, b int64) (int64, error) {
			v, err := f(a, b)
			if err == nil && (v < math.MinInt32 || v > math.MaxInt32) {
				err = ErrOverflow
			}
			return v, err
		}), nil
	case t.Kind == types.BigInt:
		return binInt(l, r, intOp(n.Op)), nil
	case t.Kind == types.Decimal:
		s1, s2, s, p := lt.Scale, rt.Scale, t.Scale, t.Precision
		var f func(a, b int64) (int64, error)
		switch n.Op {
		case Add, Sub:
			neg := n.Op == Sub
			f = func(a, b int64) (int64, error) { return decAdd(a, s1, b, s2, s, neg) }
		case Mul:
			f = func(a, b int64) (int64, error) { return decMul(a, s1, b, s2, s) }
		case Div:
			f = func(a, b int64) (int64, error) { return decDiv(a, s1, b, s2, s) }
		case Mod:
			f = func(a, b int64) (int64, error) { return decMod(a, s1, b, s2, s) }
		}
		limit := pow10[p]
		return binInt(l, r, func(a, b int64) (int64, error) {
			v, err := f(a, b)
			if err == nil && (v >= limit || v <= -limit) {
				err = ErrOverflow
			}
			return v, err
		}), nil
	case t.Kind == types.Interval && rt.Kind == types.BigInt:
		return binInt(l, r, intOp(n.Op)), nil
	default: // timestamps and intervals in milliseconds
		return binInt(l, r, intOp(n.Op)), nil
	}
}

func binInt(l, r cexpr, f func(a, b int64) (int64, error)) evalFn {
	lf, rf := l.fn, r.fn
	if r.konst {
		if r.val.IsNull() {
			return nullC.fn
		}
		b := r.val.Int()
		return func(row []types.Value) (types.Value, error) {
			a, err := lf(row)
			if err != nil || a.IsNull() {
				return types.Null, err
			}
			v, err := f(a.Int(), b)
			if err != nil {
				return types.Null, err
			}
			return types.IntValue(v), nil
		}
	}
	return func(row []types.Value) (types.Value, error) {
		a, err := lf(row)
		if err != nil || a.IsNull() {
			return types.Null, err
		}
		b, err := rf(row)
		if err != nil || b.IsNull() {
			return types.Null, err
		}
		v, err := f(a.Int(), b.Int())
		if err != nil {
			return types.Null, err
		}
		return types.IntValue(v), nil
	}
}

func binFloat(l, r cexpr, f func(a, b float64) float64) evalFn {
	lf, rf := l.fn, r.fn
	return func(row []types.Value) (types.Value, error) {
		a, err := lf(row)
		if err != nil || a.IsNull() {
			return types.Null, err
		}
		b, err := rf(row)
		if err != nil || b.IsNull() {
			return types.Null, err
		}
		return types.FloatValue(f(a.Float(), b.Float())), nil
	}
}

func floatOp(op ArithOp) func(a, b float64) float64 {
	switch op {
	case Add:
		return func(a, b float64) float64 { return a + b }
	case Sub:
		return func(a, b float64) float64 { return a - b }
	case Mul:
		return func(a, b float64) float64 { return a * b }
	case Div:
		return func(a, b float64) float64 { return a / b }
	}
	return math.Mod
}

func intOp(op ArithOp) func(a, b int64) (int64, error) {
	switch op {
	case Add:
		return addInt
	case Sub:
		return func(a, b int64) (int64, error) {
			v := a - b
			if (a >= 0) != (b >= 0) && (v >= 0) != (a >= 0) {
				return 0, ErrOverflow
			}
			return v, nil
		}
	case Mul:
		return mulInt
	case Div:
		return func(a, b int64) (int64, error) {
			if b == 0 {
				return 0, ErrDivisionByZero
			}
			if a == math.MinInt64 && b == -1 {
				return 0, ErrOverflow
			}
			return a / b, nil
		}
	}
	return func(a, b int64) (int64, error) {
		if b == 0 {
			return 0, ErrDivisionByZero
		}
		if b == -1 {
			return 0, nil
		}
		return a % b, nil
	}
}

func addInt(a, b int64) (int64, error) {
	v := a + b
	if (a >= 0) == (b >= 0) && (v >= 0) != (a >= 0) {
		return 0, ErrOverflow
	}
	return v, nil
}

func mulInt(a, b int64) (int64, error) {
	if a == 0 || b == 0 {
		return 0, nil
	}
	v := a * b
	if v/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, ErrOverflow
	}
	return v, nil
}

// rescale converts an unscaled decimal from scale from to scale to,
// rounding half away from zero when scale is lost.
func rescale(v int64, from, to int) (int64, error) {
	switch {
	case to == from:
		return v, nil
	case to > from:
		if to-from > 18 {
			if v == 0 {
				return 0, nil
			}
			return 0, ErrOverflow
		}
		return mulInt(v, pow10[to-from])
	}
	d := from - to
	if d > 18 {
		return 0, nil
	}
	return divRound(v, pow10[d]), nil
}

// divRound is v/d rounded half away from zero (Java's HALF_UP), d > 0.
func divRound(v, d int64) int64 {
	q, r := v/d, v%d
	if r < 0 {
		r = -r
	}
	if r >= d-r { // 2r ≥ d without overflow
		if v < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

func decAdd(a int64, s1 int, b int64, s2, s int, neg bool) (int64, error) {
	m := max(s1, s2)
	a, err := rescale(a, s1, m)
	if err != nil {
		return 0, err
	}
	b, err = rescale(b, s2, m)
	if err != nil {
		return 0, err
	}
	if neg {
		if b == math.MinInt64 {
			return 0, ErrOverflow
		}
		b = -b
	}
	v, err := addInt(a, b)
	if err != nil {
		return 0, err
	}
	return rescale(v, m, s)
}

// mulDiv returns |a|·|b| / d rounded half up, with the sign of a·b, using
// 128 bits for the product; d > 0.
func mulDiv(a, b, d int64) (int64, error) {
	neg := (a < 0) != (b < 0)
	ua, ub := abs64(a), abs64(b)
	hi, lo := bits.Mul64(ua, ub)
	ud := uint64(d)
	if hi >= ud {
		return 0, ErrOverflow
	}
	q, rem := bits.Div64(hi, lo, ud)
	if rem >= ud-rem {
		q++
	}
	if q > math.MaxInt64 {
		return 0, ErrOverflow
	}
	if neg {
		return -int64(q), nil
	}
	return int64(q), nil
}

func abs64(a int64) uint64 {
	if a < 0 {
		return uint64(-a) // MinInt64 wraps to 1<<63, its magnitude
	}
	return uint64(a)
}

func decMul(a int64, s1 int, b int64, s2, s int) (int64, error) {
	d := s1 + s2 - s
	if d < 0 {
		v, err := mulInt(a, b)
		if err != nil {
			return 0, err
		}
		return rescale(v, s1+s2, s)
	}
	if d > 18 {
		v, err := mulDiv(a, b, pow10[18])
		if err != nil {
			return 0, err
		}
		return rescale(v, d-18, 0)
	}
	return mulDiv(a, b, pow10[d])
}

func decDiv(a int64, s1 int, b int64, s2, s int) (int64, error) {
	if b == 0 {
		return 0, ErrDivisionByZero
	}
	if b < 0 {
		if b == math.MinInt64 || a == math.MinInt64 {
			return 0, ErrOverflow
		}
		a, b = -a, -b
	}
	// a/10^s1 ÷ b/10^s2 at scale s is a·10^(s−s1+s2) / b.
	k := s - s1 + s2
	if k < 0 || k > 18 {
		x, err := rescale(a, s1, s+s2)
		if err != nil {
			return 0, err
		}
		return mulDiv(x, 1, b)
	}
	return mulDiv(a, pow10[k], b)
}

func decMod(a int64, s1 int, b int64, s2, s int) (int64, error) {
	m := max(s1, s2)
	a, err := rescale(a, s1, m)
	if err != nil {
		return 0, err
	}
	b, err = rescale(b, s2, m)
	if err != nil {
		return 0, err
	}
	if b == 0 {
		return 0, ErrDivisionByZero
	}
	if b == -1 {
		return rescale(0, m, s)
	}
	return rescale(a%b, m, s)
}
