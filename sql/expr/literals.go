package expr

import (
	"fmt"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/types"
)

// ParseDecimal returns the DECIMAL literal written text ("0.908" is
// DECIMAL(3, 3)), as SQL types an exact numeric literal with a point. A
// literal of more than 18 digits is an error: write it as a DOUBLE (with an
// exponent, 1.5E0) or CAST it.
func ParseDecimal(text string) (*Literal, error) {
	t := strings.TrimLeft(text, "+-")
	intPart, frac, _ := strings.Cut(t, ".")
	digits := len(strings.TrimLeft(intPart, "0")) + len(frac)
	if digits == 0 {
		digits = 1
	}
	p, s := max(digits, len(frac), 1), len(frac)
	if p > types.MaxDecimalPrecision {
		return nil, fmt.Errorf("expr: the number %s has %d digits, more than DECIMAL holds (%d): write it as a DOUBLE (%sE0)", text, p, types.MaxDecimalPrecision, text)
	}
	n, ok := parseDecimal(text, s)
	if !ok {
		return nil, fmt.Errorf("expr: %s is not a number", quote(text))
	}
	return NewLiteral(types.IntValue(n), types.DecimalType(p, s)), nil
}

// ParseTimestamp returns the literal TIMESTAMP 'text' ('yyyy-MM-dd
// HH:mm:ss[.SSS]'), or TIMESTAMP_LTZ when ltz, read in loc (nil: UTC).
func ParseTimestamp(text string, ltz bool, loc *time.Location) (*Literal, error) {
	ms, ok := parseTimestamp(strings.TrimSpace(text))
	if !ok {
		return nil, fmt.Errorf("expr: TIMESTAMP %s: write it as 'yyyy-MM-dd HH:mm:ss[.SSS]'", quote(text))
	}
	if !ltz {
		return NewLiteral(types.IntValue(ms), types.TimestampType), nil
	}
	if loc == nil {
		loc = time.UTC
	}
	return NewLiteral(types.IntValue(wallToInstant(ms, loc)), types.TimestampLTZType), nil
}

// MapColumns returns a copy of e with every column reference replaced by
// f's result, for the planner to renumber columns after it pushed a
// projection down or to substitute a view's expressions. The operators keep
// their types; f must return an expression of the column's type.
func MapColumns(e Expr, f func(c *Column) Expr) Expr {
	m := func(x Expr) Expr {
		if x == nil {
			return nil
		}
		return MapColumns(x, f)
	}
	ms := func(xs []Expr) []Expr {
		out := make([]Expr, len(xs))
		for i, x := range xs {
			out[i] = m(x)
		}
		return out
	}
	switch n := e.(type) {
	case *Column:
		return f(n)
	case *Literal:
		return n
	case *Arith:
		return &Arith{Op: n.Op, L: m(n.L), R: m(n.R), T: n.T}
	case *Neg:
		return &Neg{X: m(n.X)}
	case *Compare:
		return &Compare{Op: n.Op, L: m(n.L), R: m(n.R)}
	case *Logic:
		return &Logic{Or: n.Or, Args: ms(n.Args)}
	case *Not:
		return &Not{X: m(n.X)}
	case *Is:
		return &Is{X: m(n.X), Test: n.Test, Not: n.Not}
	case *Between:
		return &Between{X: m(n.X), Lo: m(n.Lo), Hi: m(n.Hi), Not: n.Not}
	case *In:
		return &In{X: m(n.X), List: ms(n.List), Not: n.Not}
	case *Like:
		return &Like{X: m(n.X), Pattern: m(n.Pattern), Escape: n.Escape, Not: n.Not}
	case *Case:
		ws := make([]When, len(n.Whens))
		for i, w := range n.Whens {
			ws[i] = When{Cond: m(w.Cond), Then: m(w.Then)}
		}
		return &Case{Operand: m(n.Operand), Whens: ws, Else: m(n.Else), T: n.T}
	case *Cast:
		return &Cast{X: m(n.X), To: n.To, Try: n.Try}
	case *Concat:
		return &Concat{L: m(n.L), R: m(n.R)}
	case *Call:
		return &Call{Func: n.Func, Args: ms(n.Args), T: n.T}
	}
	return e
}
