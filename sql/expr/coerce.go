package expr

import (
	"fmt"

	"github.com/weirstream/weir/sql/types"
)

// CommonType returns the type two values are compared, combined or unified
// in (comparisons, CASE branches, IN lists, COALESCE, UNION): numbers widen
// INT < BIGINT < DECIMAL < DOUBLE, DECIMALs keep the larger integer part
// and the larger scale, TIMESTAMP and TIMESTAMP_LTZ meet in TIMESTAMP_LTZ
// (through the session time zone), and a bare NULL takes the other type.
// It is NOT NULL only if both are. Other pairs are an error that names both
// types; the fix is an explicit CAST.
func CommonType(a, b types.Type) (types.Type, error) {
	nn := a.NotNull && b.NotNull
	a.NotNull, b.NotNull = false, false
	t, ok := common(a, b)
	if !ok {
		return types.Type{}, fmt.Errorf("expr: %s and %s have no common type: CAST one of them", a, b)
	}
	t.NotNull = nn
	return t, nil
}

func common(a, b types.Type) (types.Type, bool) {
	switch {
	case a.Kind == types.Unknown:
		return b, true
	case b.Kind == types.Unknown:
		return a, true
	case a.Kind == b.Kind:
		switch a.Kind {
		case types.Decimal:
			s := max(a.Scale, b.Scale)
			p := max(a.Precision-a.Scale, b.Precision-b.Scale) + s
			return types.DecimalType(min(p, types.MaxDecimalPrecision), s), true
		case types.Timestamp, types.TimestampLTZ:
			a.Precision = max(a.Precision, b.Precision)
			return a, true
		case types.Record:
			return a, a.Equal(b)
		}
		return a, true
	case a.Numeric() && b.Numeric():
		if a.Kind == types.Double || b.Kind == types.Double {
			return types.DoubleType, true
		}
		if a.Kind == types.Decimal || b.Kind == types.Decimal {
			return common(asDecimal(a), asDecimal(b))
		}
		return types.BigIntType, true // INT and BIGINT
	case a.Temporal() && b.Temporal():
		return types.Type{Kind: types.TimestampLTZ, Precision: max(a.Precision, b.Precision)}, true
	}
	return types.Type{}, false
}

// asDecimal is the DECIMAL an integer type widens to (Flink: INT is
// DECIMAL(10, 0), BIGINT DECIMAL(19, 0), capped at weir's 18 digits).
func asDecimal(t types.Type) types.Type {
	switch t.Kind {
	case types.Int:
		return types.DecimalType(10, 0)
	case types.BigInt:
		return types.DecimalType(types.MaxDecimalPrecision, 0)
	}
	return t
}

func commonOf(es []Expr) (types.Type, error) {
	t := es[0].Type()
	for _, e := range es[1:] {
		u, err := CommonType(t, e.Type())
		if err != nil {
			return types.Type{}, fmt.Errorf("%s is %s, but %s is %s: %w", es[0], typeName(t), e, typeName(e.Type()), err)
		}
		t = u
	}
	return t, nil
}

// Coerce returns e cast implicitly to t, or e itself when it already has
// t's kind, precision and scale. The caller has checked that the cast is
// allowed (CommonType does). Nullability follows e.
func Coerce(e Expr, t types.Type) Expr {
	et := e.Type()
	if et.Kind == t.Kind && et.Precision == t.Precision && et.Scale == t.Scale {
		return e
	}
	if l, ok := e.(*Literal); ok && l.V.IsNull() {
		return Null(t)
	}
	t.NotNull = et.NotNull
	return &Cast{X: e, To: t}
}

// Cast is CAST(X AS To), or TRY_CAST when Try: a value that does not
// convert is an error for CAST and NULL for TRY_CAST.
type Cast struct {
	X   Expr
	To  types.Type
	Try bool
}

// NewCast returns CAST(x AS to) or TRY_CAST. Every pair of the scalar kinds
// converts except numbers to and from timestamps (use TO_TIMESTAMP_LTZ and
// UNIX_TIMESTAMP) and anything to or from ROW.
func NewCast(x Expr, to types.Type, try bool) (Expr, error) {
	from := x.Type()
	if !castable(from.Kind, to.Kind) {
		hint := "this conversion is not supported"
		if from.Numeric() && to.Temporal() {
			hint = "use TO_TIMESTAMP_LTZ(n, 0) for epoch seconds or TO_TIMESTAMP_LTZ(n, 3) for milliseconds"
		} else if from.Temporal() && to.Numeric() {
			hint = "use UNIX_TIMESTAMP(CAST(ts AS STRING)) for epoch seconds"
		}
		return nil, fmt.Errorf("expr: cannot CAST %s from %s to %s: %s", x, typeName(from), typeName(to), hint)
	}
	if to.Kind == types.Decimal && (to.Precision < 1 || to.Precision > types.MaxDecimalPrecision || to.Scale < 0 || to.Scale > to.Precision) {
		return nil, fmt.Errorf("expr: CAST to %s: DECIMAL precision must be 1 to %d and scale 0 to the precision", to, types.MaxDecimalPrecision)
	}
	to.NotNull = from.NotNull && !try && nullSafeCast(from.Kind, to.Kind)
	return &Cast{X: x, To: to, Try: try}, nil
}

func nullSafeCast(from, to types.Kind) bool {
	// TRY_CAST and casts that may fail never promise NOT NULL; the rest keep
	// their operand's nullability.
	return from != types.String || to == types.String
}

func castable(from, to types.Kind) bool {
	if from == types.Unknown || from == to {
		return true
	}
	if from == types.Record || to == types.Record || to == types.Unknown {
		return false
	}
	num := func(k types.Kind) bool {
		return k == types.Int || k == types.BigInt || k == types.Double || k == types.Decimal
	}
	tmp := func(k types.Kind) bool { return k == types.Timestamp || k == types.TimestampLTZ }
	switch {
	case to == types.String:
		return true
	case from == types.String:
		return to != types.Interval
	case num(from) && num(to), num(from) && to == types.Boolean, from == types.Boolean && num(to):
		return true
	case tmp(from) && tmp(to):
		return true
	case from == types.Interval && (to == types.BigInt || to == types.Int):
		return true
	}
	return false
}

// Type implements Expr.
func (c *Cast) Type() types.Type { return c.To }

// Children implements Expr.
func (c *Cast) Children() []Expr { return []Expr{c.X} }

// String implements Expr: the expression as SQL.
func (c *Cast) String() string {
	name := "CAST"
	if c.Try {
		name = "TRY_CAST"
	}
	return fmt.Sprintf("%s(%s AS %s)", name, c.X, typeName(c.To))
}
func (*Cast) node() {}

// NewArith returns l op r with Flink's result types: INT op INT is INT,
// with BIGINT it is BIGINT, with DOUBLE it is DOUBLE, and DECIMAL(p1, s1)
// op DECIMAL(p2, s2) follows Flink's rules (+ and -: scale max(s1, s2);
// *: scale s1+s2; /: scale max(6, s1+p2+1)), capped at 18 digits by giving
// up scale first. A timestamp ± INTERVAL is the timestamp's type, an
// INTERVAL ± INTERVAL an INTERVAL, and timestamp − timestamp of the same
// kind the INTERVAL between them.
//
// At run time integer and DECIMAL overflow and division (or MOD) by zero
// are errors (ErrOverflow, ErrDivisionByZero); DOUBLE follows IEEE 754.
func NewArith(op ArithOp, l, r Expr) (Expr, error) {
	lt, rt := l.Type(), r.Type()
	nn := lt.NotNull && rt.NotNull
	if lt.Kind == types.Unknown {
		lt = rt
	}
	if rt.Kind == types.Unknown {
		rt = lt
	}
	bad := func(hint string) (Expr, error) {
		return nil, fmt.Errorf("expr: cannot apply %s to %s (%s) and %s (%s): %s", op, l, typeName(l.Type()), r, typeName(r.Type()), hint)
	}
	var t types.Type
	switch {
	case lt.Kind == types.Unknown:
		t = types.Type{Kind: types.Unknown}
	case lt.Numeric() && rt.Numeric():
		ct, _ := common(stripNN(lt), stripNN(rt))
		switch ct.Kind {
		case types.Int, types.BigInt, types.Double:
			if lt.Kind == types.Int && rt.Kind == types.Int {
				ct = types.IntType
			}
			t = ct
			l, r = Coerce(l, t), Coerce(r, t)
		case types.Decimal:
			ld, rd := asDecimal(stripNN(lt)), asDecimal(stripNN(rt))
			t = decimalResult(op, ld, rd)
			// Operands keep their own scale; the evaluator aligns them.
			l, r = Coerce(l, ld), Coerce(r, rd)
		}
	case lt.Temporal() && rt.Kind == types.Interval && (op == Add || op == Sub):
		t = stripNN(lt)
	case lt.Kind == types.Interval && rt.Temporal() && op == Add:
		l, r = r, l
		t = stripNN(rt)
	case lt.Kind == types.Interval && rt.Kind == types.Interval && (op == Add || op == Sub):
		t = types.IntervalType
	case lt.Temporal() && rt.Temporal() && op == Sub:
		if lt.Kind != rt.Kind {
			return bad("CAST one side so both are TIMESTAMP or both TIMESTAMP_LTZ")
		}
		t = types.IntervalType
	case lt.Kind == types.Interval && (rt.Kind == types.Int || rt.Kind == types.BigInt) && (op == Mul || op == Div):
		t = types.IntervalType
		r = Coerce(r, types.BigIntType)
	default:
		return bad("both must be numbers, or a timestamp and an INTERVAL")
	}
	t.NotNull = nn
	return &Arith{Op: op, L: l, R: r, T: t}, nil
}

func stripNN(t types.Type) types.Type { t.NotNull = false; return t }

func decimalResult(op ArithOp, a, b types.Type) types.Type {
	p1, s1, p2, s2 := a.Precision, a.Scale, b.Precision, b.Scale
	var p, s int
	switch op {
	case Add, Sub:
		s = max(s1, s2)
		p = max(p1-s1, p2-s2) + s + 1
	case Mul:
		p, s = p1+p2, s1+s2
	case Div:
		s = max(6, s1+p2+1)
		p = p1 - s1 + s2 + s
	case Mod:
		s = max(s1, s2)
		p = min(p1-s1, p2-s2) + s
	}
	p, s = adjustDecimal(p, s)
	return types.DecimalType(p, s)
}

// adjustDecimal caps a result precision at 18 digits the way Flink caps at
// 38: the integer digits are kept and the scale gives way, down to
// min(s, 6).
func adjustDecimal(p, s int) (int, int) {
	const maxP = types.MaxDecimalPrecision
	if p <= maxP {
		return p, s
	}
	intDigits := p - s
	s = max(maxP-intDigits, min(s, 6))
	return maxP, min(s, maxP)
}
