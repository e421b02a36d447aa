package planner

import (
	"strconv"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/types"
)

// errPos is a position and the text it points into.
type errPos struct {
	pos ast.Pos
	src string
}

// scopeCol is a column a name can resolve to: its relation's name
// (alias) and its own.
type scopeCol struct {
	rel, name string
	typ       types.Type
}

// scope is the columns visible to an expression, in the input row's order.
type scope []scopeCol

func scopeOf(rel string, s types.Schema) scope {
	sc := make(scope, len(s))
	for i, f := range s {
		sc[i] = scopeCol{rel: rel, name: f.Name, typ: f.Type}
	}
	return sc
}

func (s scope) schema() types.Schema {
	out := make(types.Schema, len(s))
	for i, c := range s {
		out[i] = types.Field{Name: c.name, Type: c.typ}
	}
	return out
}

// lookup resolves a column reference: a, t.a, a.b (the field b of ROW
// column a, flattened as "a.b") or t.a.b. It returns the column's index.
func (s scope) lookup(names []string) (int, error) {
	try := func(rel, name string) []int {
		var hits []int
		for i, c := range s {
			if c.name == name && (rel == "" || c.rel == rel) {
				hits = append(hits, i)
			}
		}
		return hits
	}
	var hits []int
	if len(names) > 1 {
		hits = try(names[0], strings.Join(names[1:], "."))
	}
	if len(hits) == 0 {
		hits = try("", strings.Join(names, "."))
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		return -1, errNoColumn
	}
	return -1, errAmbiguous
}

type scopeErr string

func (e scopeErr) Error() string { return string(e) }

const (
	errNoColumn  scopeErr = "no such column"
	errAmbiguous scopeErr = "ambiguous column"
)

// exprCtx binds the expressions of one query block.
type exprCtx struct {
	b  *binder
	sc scope
	// hook, if set, may bind a node itself (an aggregate, a group key);
	// ok false lets the usual rules bind it.
	hook func(e ast.Expr) (x expr.Expr, ok bool, err error)
	// where names the clause, for errors ("WHERE", "SELECT").
	where string
}

// bind turns a syntax-tree expression into a resolved, typed expr.Expr.
func (c *exprCtx) bind(e ast.Expr) (expr.Expr, error) {
	if c.hook != nil {
		x, ok, err := c.hook(e)
		if err != nil || ok {
			return x, err
		}
	}
	b := c.b
	wrap := func(x expr.Expr, err error) (expr.Expr, error) {
		if err != nil {
			return nil, b.errAt(e, err, "%s", e.String())
		}
		return x, nil
	}
	switch e := e.(type) {
	case *ast.NumberLit:
		return wrap(numberLit(e.Text))
	case *ast.StringLit:
		return expr.String(e.Value), nil
	case *ast.BoolLit:
		return expr.Bool(e.Value), nil
	case *ast.NullLit:
		return expr.Null(types.Type{}), nil
	case *ast.IntervalLit:
		if e.Unit == ast.Year || e.Unit == ast.Month || e.Unit == ast.Quarter {
			return nil, b.unsupported(e, "the year-month interval "+e.String(), "write it in days, hours, minutes or seconds")
		}
		ms, err := e.Millis()
		if err != nil {
			return nil, b.errAt(e, err, "interval %s", e.String())
		}
		return expr.Interval(time.Duration(ms) * time.Millisecond), nil
	case *ast.TypedLit:
		if strings.EqualFold(e.Type, "TIMESTAMP") {
			return wrap(expr.ParseTimestamp(e.Value, false, b.p.Location))
		}
		return nil, b.unsupported(e, e.Type+" literals", "weir has no "+e.Type+" type: use a TIMESTAMP '…' literal")
	case *ast.ColumnRef:
		i, err := c.sc.lookup(e.Names)
		if err != nil {
			return nil, b.errAt(e, nil, "%s %s in %s: the columns are %s", err, e.String(), c.where, strings.Join(c.sc.schema().Names(), ", "))
		}
		return expr.NewColumn(i, c.sc[i].name, c.sc[i].typ), nil
	case *ast.Unary:
		x, err := c.bind(e.X)
		if err != nil {
			return nil, err
		}
		switch e.Op {
		case ast.Neg:
			return wrap(expr.NewNeg(x))
		case ast.Not:
			return wrap(expr.NewNot(x))
		}
		return x, nil
	case *ast.Binary:
		l, err := c.bind(e.L)
		if err != nil {
			return nil, err
		}
		r, err := c.bind(e.R)
		if err != nil {
			return nil, err
		}
		switch e.Op {
		case ast.Or:
			return wrap(expr.NewOr(l, r))
		case ast.And:
			return wrap(expr.NewAnd(l, r))
		case ast.Eq:
			return wrap(expr.NewCompare(expr.Eq, l, r))
		case ast.Ne:
			return wrap(expr.NewCompare(expr.Ne, l, r))
		case ast.Lt:
			return wrap(expr.NewCompare(expr.Lt, l, r))
		case ast.Le:
			return wrap(expr.NewCompare(expr.Le, l, r))
		case ast.Gt:
			return wrap(expr.NewCompare(expr.Gt, l, r))
		case ast.Ge:
			return wrap(expr.NewCompare(expr.Ge, l, r))
		case ast.Add:
			return wrap(expr.NewArith(expr.Add, l, r))
		case ast.Sub:
			return wrap(expr.NewArith(expr.Sub, l, r))
		case ast.Mul:
			return wrap(expr.NewArith(expr.Mul, l, r))
		case ast.Div:
			return wrap(expr.NewArith(expr.Div, l, r))
		case ast.Mod:
			return wrap(expr.NewArith(expr.Mod, l, r))
		case ast.Concat:
			return wrap(expr.NewConcat(l, r))
		}
	case *ast.Is:
		x, err := c.bind(e.X)
		if err != nil {
			return nil, err
		}
		t := map[ast.IsWhat]expr.IsTest{ast.IsNull: expr.IsNull, ast.IsTrue: expr.IsTrue, ast.IsFalse: expr.IsFalse, ast.IsUnknown: expr.IsNull}[e.What]
		return wrap(expr.NewIs(x, t, e.Not))
	case *ast.Between:
		if e.Symmetric {
			return nil, b.unsupported(e, "BETWEEN SYMMETRIC", "order the bounds and write BETWEEN")
		}
		xs, err := c.bindAll(e.X, e.Lo, e.Hi)
		if err != nil {
			return nil, err
		}
		return wrap(expr.NewBetween(xs[0], xs[1], xs[2], e.Not))
	case *ast.In:
		if e.Query != nil {
			return nil, b.unsupported(e, "IN with a subquery", "join the tables instead, with time bounds")
		}
		xs, err := c.bindAll(append([]ast.Expr{e.X}, e.List...)...)
		if err != nil {
			return nil, err
		}
		return wrap(expr.NewIn(xs[0], xs[1:], e.Not))
	case *ast.Like:
		if e.Similar {
			return nil, b.unsupported(e, "SIMILAR TO", "use LIKE or REGEXP")
		}
		xs, err := c.bindAll(e.X, e.Pattern)
		if err != nil {
			return nil, err
		}
		esc := ""
		if e.Escape != nil {
			s, ok := e.Escape.(*ast.StringLit)
			if !ok {
				return nil, b.unsupported(e.Escape, "an ESCAPE that is not a string literal", "")
			}
			esc = s.Value
		}
		return wrap(expr.NewLike(xs[0], xs[1], esc, e.Not))
	case *ast.Case:
		var operand, els expr.Expr
		var err error
		if e.Operand != nil {
			if operand, err = c.bind(e.Operand); err != nil {
				return nil, err
			}
		}
		whens := make([]expr.When, len(e.Whens))
		for i, w := range e.Whens {
			xs, err := c.bindAll(w.Cond, w.Result)
			if err != nil {
				return nil, err
			}
			whens[i] = expr.When{Cond: xs[0], Then: xs[1]}
		}
		if e.Else != nil {
			if els, err = c.bind(e.Else); err != nil {
				return nil, err
			}
		}
		return wrap(expr.NewCase(operand, whens, els))
	case *ast.Cast:
		x, err := c.bind(e.X)
		if err != nil {
			return nil, err
		}
		return wrap(expr.NewCast(x, e.Type, e.Try))
	case *ast.Extract:
		x, err := c.bind(e.X)
		if err != nil {
			return nil, err
		}
		return wrap(b.p.Functions.Call("EXTRACT", expr.String(e.Unit.String()), x))
	case *ast.UnitArg:
		return expr.String(e.Unit.String()), nil
	case *ast.Trim:
		x, err := c.bind(e.X)
		if err != nil {
			return nil, err
		}
		name := map[string]string{"": "TRIM", "BOTH": "TRIM", "LEADING": "LTRIM", "TRAILING": "RTRIM"}[e.Side]
		if e.Chars == nil {
			return wrap(b.p.Functions.Call(name, x))
		}
		chars, err := c.bind(e.Chars)
		if err != nil {
			return nil, err
		}
		return wrap(b.p.Functions.Call(name, x, chars))
	case *ast.Call:
		return c.bindCall(e)
	case *ast.SubqueryExpr:
		return nil, b.unsupported(e, "a subquery in an expression", "join the tables instead, with time bounds")
	case *ast.Exists:
		return nil, b.unsupported(e, "EXISTS", "join the tables instead, with time bounds")
	case *ast.Star:
		return nil, b.unsupported(e, "* here", "list the columns")
	case *ast.RowExpr:
		return nil, b.unsupported(e, "a ROW constructor", "list the fields as columns")
	}
	return nil, b.unsupported(e, "the expression "+e.String(), "")
}

func (c *exprCtx) bindAll(es ...ast.Expr) ([]expr.Expr, error) {
	out := make([]expr.Expr, len(es))
	for i, e := range es {
		x, err := c.bind(e)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

// bindCall binds a scalar function call; aggregates reach here only
// where they are not allowed.
func (c *exprCtx) bindCall(e *ast.Call) (expr.Expr, error) {
	b := c.b
	name := strings.ToUpper(e.Name)
	if e.Over != nil {
		if name == "ROW_NUMBER" {
			return nil, b.unsupported(e, "ROW_NUMBER() here", "use it as a select item of a subquery whose outer query keeps rn <= N (Top-N) or rn = 1 (deduplication)")
		}
		return nil, b.unsupported(e, "the OVER aggregate "+name, "only ROW_NUMBER() for Top-N and deduplication is")
	}
	if isAggregate(name) {
		return nil, b.errAt(e, nil, "aggregate %s is not allowed in %s: aggregate in the SELECT list or HAVING of a GROUP BY query", name, c.where)
	}
	if e.Distinct || e.Filter != nil || e.Star {
		return nil, b.unsupported(e, "DISTINCT, FILTER or * in the call of "+name, "only aggregates take them")
	}
	if fn, err := b.p.Catalog.GetFunction(e.Name); err == nil {
		name = fn.GoName
	}
	args, err := c.bindAll(e.Args...)
	if err != nil {
		return nil, err
	}
	x, err := b.p.Functions.Call(name, args...)
	if err != nil {
		return nil, b.errAt(e, err, "%s", e.String())
	}
	return x, nil
}

// aggNames are the aggregate functions exec runs.
var aggNames = map[string]bool{"COUNT": true, "SUM": true, "MIN": true, "MAX": true, "AVG": true, "APPROX_COUNT_DISTINCT": true}

// isAggregate reports whether name is an aggregate function, supported
// or not.
func isAggregate(name string) bool {
	switch name {
	case "STDDEV", "STDDEV_POP", "STDDEV_SAMP", "VAR_POP", "VAR_SAMP", "VARIANCE", "COLLECT", "LISTAGG", "FIRST_VALUE", "LAST_VALUE":
		return true
	}
	return aggNames[name]
}

// numberLit types a numeric literal as SQL does: an integer is INT, or
// BIGINT when it does not fit; one with a point DECIMAL; one with an
// exponent DOUBLE.
func numberLit(text string) (expr.Expr, error) {
	if strings.ContainsAny(text, "eE") {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return nil, err
		}
		return expr.Double(f), nil
	}
	if strings.Contains(text, ".") {
		return expr.ParseDecimal(text)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return nil, err
	}
	if n >= -1<<31 && n < 1<<31 {
		return expr.Int(int32(n)), nil
	}
	return expr.BigInt(n), nil
}
