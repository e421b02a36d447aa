package expr

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/types"
)

// Run-time errors. An evaluation that fails returns an error wrapping one of
// these (or, for a failed CAST, ErrCast), prefixed with the expression.
var (
	// ErrDivisionByZero: integer or DECIMAL division or MOD by zero, as
	// Flink's ArithmeticException. DOUBLE division by zero is ±Inf or NaN.
	ErrDivisionByZero = errors.New("division by zero")
	// ErrOverflow: an INT, BIGINT or DECIMAL result does not fit its type.
	// Flink wraps INT and BIGINT around silently; weir refuses to be
	// silently wrong.
	ErrOverflow = errors.New("numeric overflow")
	// ErrCast: CAST could not convert a value (TRY_CAST gives NULL instead).
	ErrCast = errors.New("cast failed")
)

// CompileEnv is what compilation needs besides the expression.
type CompileEnv struct {
	// Location is the session time zone (SET 'table.local-time-zone'), used
	// to convert between TIMESTAMP and TIMESTAMP_LTZ and to show an LTZ
	// value's fields (HOUR, DATE_FORMAT, …). nil means UTC.
	Location *time.Location
	// Now is the processing-time clock read by CURRENT_TIMESTAMP, NOW,
	// LOCALTIMESTAMP, PROCTIME and UNIX_TIMESTAMP(), once per evaluation.
	// nil means time.Now; tests pass a fixed clock.
	Now func() time.Time
}

// evalFn evaluates a compiled expression on one input row.
type evalFn func(row []types.Value) (types.Value, error)

// Evaluator is a compiled expression. It is immutable and safe for
// concurrent use, so one Evaluator may serve all parallel instances of an
// operator.
type Evaluator struct {
	fn    evalFn
	t     types.Type
	src   string
	konst bool
	val   types.Value
}

// Compile turns e into an Evaluator, once: the tree is walked here, never
// per record. Constant subexpressions are evaluated now (constant folding),
// LIKE patterns and regular expressions that are literals are compiled now,
// and a constant IN list becomes a hash set. Compilation errors (a bad
// literal pattern, an unsupported regular expression) name the expression.
func Compile(e Expr, env CompileEnv) (*Evaluator, error) {
	c := &compiler{loc: env.Location, now: env.Now}
	if c.loc == nil {
		c.loc = time.UTC
	}
	if c.now == nil {
		c.now = time.Now
	}
	cx, err := c.compile(e)
	if err != nil {
		return nil, err
	}
	return &Evaluator{fn: cx.fn, t: e.Type(), src: e.String(), konst: cx.konst, val: cx.val}, nil
}

// Eval evaluates the expression on row, the input row's values in the
// order the Column indexes refer to. It does not keep row. A run-time
// failure (see ErrDivisionByZero, ErrOverflow, ErrCast) is returned as an
// error naming the expression; it never panics on any value. What to do
// with the row — dead letters or failing the job, as Flink does — is the
// caller's choice.
func (ev *Evaluator) Eval(row []types.Value) (types.Value, error) {
	v, err := ev.fn(row)
	if err != nil {
		return types.Null, fmt.Errorf("expr: %s: %w", ev.src, err)
	}
	return v, nil
}

// Type is the result type of the expression.
func (ev *Evaluator) Type() types.Type { return ev.t }

// Constant returns the expression's value and true if it was folded to a
// constant at compile time.
func (ev *Evaluator) Constant() (types.Value, bool) { return ev.val, ev.konst }

// String returns the expression as SQL.
func (ev *Evaluator) String() string { return ev.src }

// Predicate is a compiled BOOLEAN expression used as a filter: NULL counts
// as false, as in WHERE and JOIN … ON.
type Predicate struct{ ev *Evaluator }

// CompilePredicate compiles a BOOLEAN expression as a filter.
func CompilePredicate(e Expr, env CompileEnv) (*Predicate, error) {
	if k := e.Type().Kind; k != types.Boolean && k != types.Unknown {
		return nil, fmt.Errorf("expr: a condition must be BOOLEAN, but %s is %s: compare it with something", e, typeName(e.Type()))
	}
	ev, err := Compile(e, env)
	if err != nil {
		return nil, err
	}
	return &Predicate{ev: ev}, nil
}

// Test reports whether the condition is TRUE for row (FALSE and NULL are
// false). Errors are as Evaluator.Eval's.
func (p *Predicate) Test(row []types.Value) (bool, error) {
	v, err := p.ev.Eval(row)
	return v.Bool(), err
}

// String returns the condition as SQL.
func (p *Predicate) String() string { return p.ev.src }

type compiler struct {
	loc *time.Location
	now func() time.Time
}

// cexpr is a compiled subexpression; konst marks one folded to val, and col
// is the input column it reads directly (−1 otherwise), for fast paths.
type cexpr struct {
	fn    evalFn
	konst bool
	val   types.Value
	col   int
}

func konst(v types.Value) cexpr {
	return cexpr{fn: func([]types.Value) (types.Value, error) { return v, nil }, konst: true, val: v, col: -1}
}

func dyn(fn evalFn) cexpr { return cexpr{fn: fn, col: -1} }

var nullC = konst(types.Null)

func (c *compiler) compile(e Expr) (cexpr, error) {
	switch n := e.(type) {
	case *Column:
		i := n.Index
		if i < 0 {
			return cexpr{}, fmt.Errorf("expr: column %s has the negative index %d", n, i)
		}
		return cexpr{fn: func(row []types.Value) (types.Value, error) {
			if i >= len(row) {
				return types.Null, fmt.Errorf("column %s: index %d outside a row of %d values", n, i, len(row))
			}
			return row[i], nil
		}, col: i}, nil
	case *Literal:
		return konst(n.V), nil
	}
	kidsE := e.Children()
	kids := make([]cexpr, len(kidsE))
	allConst := true
	for i, k := range kidsE {
		cx, err := c.compile(k)
		if err != nil {
			return cexpr{}, err
		}
		kids[i] = cx
		allConst = allConst && cx.konst
	}
	var fn evalFn
	var err error
	volatile := false
	switch n := e.(type) {
	case *Arith:
		fn, err = c.arith(n, kids[0], kids[1])
	case *Neg:
		fn = negate(n.X.Type(), kids[0])
	case *Compare:
		fn = compare(n.Op, n.L.Type(), kids[0], kids[1])
	case *Logic:
		fn = logic(n.Or, kids)
	case *Not:
		x := kids[0].fn
		fn = func(row []types.Value) (types.Value, error) {
			v, err := x(row)
			if err != nil || v.IsNull() {
				return types.Null, err
			}
			return types.BoolValue(!v.Bool()), nil
		}
	case *Is:
		fn = isTest(n.Test, n.Not, kids[0])
	case *Between:
		t := n.X.Type()
		ge := compare(Ge, t, kids[0], kids[1])
		le := compare(Le, t, kids[0], kids[2])
		and := logic(false, []cexpr{dyn(ge), dyn(le)})
		if n.Not {
			fn = func(row []types.Value) (types.Value, error) {
				v, err := and(row)
				if err != nil || v.IsNull() {
					return types.Null, err
				}
				return types.BoolValue(!v.Bool()), nil
			}
		} else {
			fn = and
		}
	case *In:
		fn = in(n, kids)
	case *Like:
		fn, err = like(n, kids[0], kids[1])
	case *Case:
		fn = caseWhen(n, kids)
	case *Cast:
		fn, err = c.cast(n, kids[0])
	case *Concat:
		l, r := kids[0].fn, kids[1].fn
		fn = func(row []types.Value) (types.Value, error) {
			a, err := l(row)
			if err != nil || a.IsNull() {
				return types.Null, err
			}
			b, err := r(row)
			if err != nil || b.IsNull() {
				return types.Null, err
			}
			return types.StringValue(a.Str() + b.Str()), nil
		}
	case *Call:
		volatile = n.Func.volatile
		fn, err = n.Func.compile(c, n, kids)
	default:
		return cexpr{}, fmt.Errorf("expr: cannot compile %T (%s): not an expression of this package", e, e)
	}
	if err != nil {
		return cexpr{}, fmt.Errorf("expr: %s: %w", e, err)
	}
	if allConst && !volatile {
		if v, err := fn(nil); err == nil {
			return konst(v), nil
		}
		// A constant that fails (1/0) fails per record, as Flink does.
	}
	return dyn(fn), nil
}

func negate(t types.Type, x cexpr) evalFn {
	f := x.fn
	if t.Kind == types.Double {
		return func(row []types.Value) (types.Value, error) {
			v, err := f(row)
			if err != nil || v.IsNull() {
				return types.Null, err
			}
			return types.FloatValue(-v.Float()), nil
		}
	}
	lo := int64(math.MinInt64)
	if t.Kind == types.Int {
		lo = math.MinInt32
	}
	return func(row []types.Value) (types.Value, error) {
		v, err := f(row)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		n := v.Int()
		if n == lo {
			return types.Null, ErrOverflow
		}
		return types.IntValue(-n), nil
	}
}

// compare compiles l op r for operands of type t (both have it).
func compare(op CmpOp, t types.Type, l, r cexpr) evalFn {
	if op == Distinct || op == NotDistinct {
		eq := compareValues(t)
		lf, rf := l.fn, r.fn
		distinct := op == Distinct
		return func(row []types.Value) (types.Value, error) {
			a, err := lf(row)
			if err != nil {
				return types.Null, err
			}
			b, err := rf(row)
			if err != nil {
				return types.Null, err
			}
			same := a.IsNull() && b.IsNull() || !a.IsNull() && !b.IsNull() && eq(a, b)
			return types.BoolValue(same != distinct), nil
		}
	}
	switch t.Kind {
	case types.Unknown:
		return nullC.fn
	case types.Int, types.BigInt, types.Decimal, types.Timestamp, types.TimestampLTZ, types.Interval, types.Boolean:
		test := intCmp(op)
		if l.col >= 0 && r.konst {
			if r.val.IsNull() {
				return nullC.fn
			}
			i, c := l.col, r.val.Int()
			return func(row []types.Value) (types.Value, error) {
				if i >= len(row) {
					return l.fn(row)
				}
				v := row[i]
				if v.IsNull() {
					return types.Null, nil
				}
				return types.BoolValue(test(v.Int(), c)), nil
			}
		}
		return cmpWith(l, r, func(a, b types.Value) bool { return test(a.Int(), b.Int()) })
	case types.Double:
		test := floatCmp(op)
		return cmpWith(l, r, func(a, b types.Value) bool { return test(a.Float(), b.Float()) })
	default:
		test := intCmp(op)
		return cmpWith(l, r, func(a, b types.Value) bool { return test(int64(strings.Compare(a.Str(), b.Str())), 0) })
	}
}

func cmpWith(l, r cexpr, test func(a, b types.Value) bool) evalFn {
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
		return types.BoolValue(test(a, b)), nil
	}
}

func intCmp(op CmpOp) func(a, b int64) bool {
	switch op {
	case Eq:
		return func(a, b int64) bool { return a == b }
	case Ne:
		return func(a, b int64) bool { return a != b }
	case Lt:
		return func(a, b int64) bool { return a < b }
	case Le:
		return func(a, b int64) bool { return a <= b }
	case Gt:
		return func(a, b int64) bool { return a > b }
	}
	return func(a, b int64) bool { return a >= b }
}

func floatCmp(op CmpOp) func(a, b float64) bool {
	switch op {
	case Eq:
		return func(a, b float64) bool { return a == b }
	case Ne:
		return func(a, b float64) bool { return a != b }
	case Lt:
		return func(a, b float64) bool { return a < b }
	case Le:
		return func(a, b float64) bool { return a <= b }
	case Gt:
		return func(a, b float64) bool { return a > b }
	}
	return func(a, b float64) bool { return a >= b }
}

// logic is AND (or OR) with three-valued logic and short-circuit.
func logic(or bool, args []cexpr) evalFn {
	fns := make([]evalFn, len(args))
	for i, a := range args {
		fns[i] = a.fn
	}
	// The value that decides the result on its own: FALSE for AND, TRUE for OR.
	decisive := or
	return func(row []types.Value) (types.Value, error) {
		sawNull := false
		for _, f := range fns {
			v, err := f(row)
			if err != nil {
				return types.Null, err
			}
			if v.IsNull() {
				sawNull = true
				continue
			}
			if v.Bool() == decisive {
				return types.BoolValue(decisive), nil
			}
		}
		if sawNull {
			return types.Null, nil
		}
		return types.BoolValue(!decisive), nil
	}
}

func isTest(test IsTest, not bool, x cexpr) evalFn {
	f := x.fn
	return func(row []types.Value) (types.Value, error) {
		v, err := f(row)
		if err != nil {
			return types.Null, err
		}
		var r bool
		switch test {
		case IsNull:
			r = v.IsNull()
		case IsTrue:
			r = !v.IsNull() && v.Bool()
		case IsFalse:
			r = !v.IsNull() && !v.Bool()
		}
		return types.BoolValue(r != not), nil
	}
}

// bigIn is the list length from which a constant IN list becomes a hash set.
const bigIn = 8

func in(n *In, kids []cexpr) evalFn {
	x, list := kids[0], kids[1:]
	t := n.X.Type()
	allConst := true
	for _, e := range list {
		allConst = allConst && e.konst
	}
	result := func(found, sawNull bool) types.Value {
		switch {
		case found:
			return types.BoolValue(!n.Not)
		case sawNull:
			return types.Null
		}
		return types.BoolValue(n.Not)
	}
	if allConst && len(list) >= bigIn && t.Kind != types.Double {
		set := make(map[types.Value]struct{}, len(list))
		hasNull := false
		for _, e := range list {
			if e.val.IsNull() {
				hasNull = true
				continue
			}
			set[e.val] = struct{}{}
		}
		xf := x.fn
		return func(row []types.Value) (types.Value, error) {
			v, err := xf(row)
			if err != nil || v.IsNull() {
				return types.Null, err
			}
			_, ok := set[v]
			return result(ok, hasNull), nil
		}
	}
	eqs := make([]evalFn, len(list))
	for i, e := range list {
		// x is evaluated once per row below; compare against a slot.
		eqs[i] = e.fn
	}
	eq := compareValues(t)
	xf := x.fn
	return func(row []types.Value) (types.Value, error) {
		v, err := xf(row)
		if err != nil || v.IsNull() {
			return types.Null, err
		}
		sawNull := false
		for _, f := range eqs {
			w, err := f(row)
			if err != nil {
				return types.Null, err
			}
			if w.IsNull() {
				sawNull = true
				continue
			}
			if eq(v, w) {
				return result(true, false), nil
			}
		}
		return result(false, sawNull), nil
	}
}

// compareValues returns equality of two non-NULL values of type t.
func compareValues(t types.Type) func(a, b types.Value) bool {
	if t.Kind == types.Double {
		return func(a, b types.Value) bool { return a.Float() == b.Float() }
	}
	return func(a, b types.Value) bool { return a == b }
}

func caseWhen(n *Case, kids []cexpr) evalFn {
	k := 0
	var operand evalFn
	var eq func(a, b types.Value) bool
	if n.Operand != nil {
		operand = kids[0].fn
		eq = compareValues(n.Operand.Type())
		k = 1
	}
	conds := make([]evalFn, len(n.Whens))
	thens := make([]evalFn, len(n.Whens))
	for i := range n.Whens {
		conds[i], thens[i] = kids[k].fn, kids[k+1].fn
		k += 2
	}
	els := nullC.fn
	if n.Else != nil {
		els = kids[k].fn
	}
	return func(row []types.Value) (types.Value, error) {
		var op types.Value
		if operand != nil {
			var err error
			if op, err = operand(row); err != nil {
				return types.Null, err
			}
		}
		for i, cond := range conds {
			v, err := cond(row)
			if err != nil {
				return types.Null, err
			}
			hit := false
			if operand != nil {
				hit = !op.IsNull() && !v.IsNull() && eq(op, v)
			} else {
				hit = v.Bool()
			}
			if hit {
				return thens[i](row)
			}
		}
		return els(row)
	}
}
