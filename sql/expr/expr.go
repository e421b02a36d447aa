package expr

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/types"
)

// Expr is a resolved, typed scalar expression over the columns of an input
// row. Build one with the constructors of this package (NewColumn,
// NewArith, Functions.Call, …): they check the operand types, insert the
// implicit casts and compute the result type. The set of node types is
// closed; a switch over them may use a default case for "not supported".
type Expr interface {
	// Type is the result type; Type().NotNull says the expression never
	// yields NULL.
	Type() types.Type
	// String prints the expression as SQL, for EXPLAIN and error messages.
	String() string
	// Children returns the direct operands, in order.
	Children() []Expr
	node()
}

// Column reads the input row's value at Index.
type Column struct {
	Index int
	Name  string // for printing; "$Index" when empty
	T     types.Type
}

// NewColumn returns a reference to input column index, named name, of type t.
func NewColumn(index int, name string, t types.Type) *Column {
	return &Column{Index: index, Name: name, T: t}
}

// Type implements Expr.
func (c *Column) Type() types.Type { return c.T }

// Children implements Expr.
func (c *Column) Children() []Expr { return nil }

// String implements Expr: the expression as SQL.
func (c *Column) String() string {
	if c.Name == "" {
		return fmt.Sprintf("$%d", c.Index)
	}
	return c.Name
}
func (*Column) node() {}

// Literal is a constant value of type T. A NULL literal has a Null value and
// any type (Unknown for a bare NULL).
type Literal struct {
	V types.Value
	T types.Type
}

// NewLiteral returns the constant v of type t. A non-NULL value makes the
// type NOT NULL.
func NewLiteral(v types.Value, t types.Type) *Literal {
	t.NotNull = !v.IsNull()
	return &Literal{V: v, T: t}
}

// Convenience literals.

// Int returns an INT literal.
func Int(n int32) *Literal { return NewLiteral(types.IntValue(int64(n)), types.IntType) }

// BigInt returns a BIGINT literal.
func BigInt(n int64) *Literal { return NewLiteral(types.IntValue(n), types.BigIntType) }

// Double returns a DOUBLE literal.
func Double(f float64) *Literal { return NewLiteral(types.FloatValue(f), types.DoubleType) }

// String returns a STRING literal.
func String(s string) *Literal { return NewLiteral(types.StringValue(s), types.StringType) }

// Bool returns a BOOLEAN literal.
func Bool(b bool) *Literal { return NewLiteral(types.BoolValue(b), types.BooleanType) }

// Null returns a NULL literal of type t (types.Type{} for a bare NULL).
func Null(t types.Type) *Literal { return NewLiteral(types.Null, t) }

// Interval returns an INTERVAL literal of d, held in milliseconds.
func Interval(d time.Duration) *Literal {
	return NewLiteral(types.IntValue(d.Milliseconds()), types.IntervalType)
}

// Type implements Expr.
func (l *Literal) Type() types.Type { return l.T }

// Children implements Expr.
func (l *Literal) Children() []Expr { return nil }

// String implements Expr: the expression as SQL.
func (l *Literal) String() string {
	if l.V.IsNull() {
		if l.T.Kind == types.Unknown {
			return "NULL"
		}
		return "CAST(NULL AS " + typeName(l.T) + ")"
	}
	switch l.T.Kind {
	case types.String:
		return quote(l.V.Str())
	case types.Timestamp:
		return "TIMESTAMP " + quote(types.Format(l.V, l.T, nil))
	case types.TimestampLTZ:
		return "TO_TIMESTAMP_LTZ(" + fmt.Sprint(l.V.Int()) + ", 3)"
	case types.Interval:
		return fmt.Sprintf("INTERVAL '%s' SECOND(3)", formatDecimal(l.V.Int(), 3))
	case types.Double:
		return formatDouble(l.V.Float())
	}
	return types.Format(l.V, l.T, nil)
}
func (*Literal) node() {}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// typeName is t without NOT NULL.
func typeName(t types.Type) string {
	t.NotNull = false
	return t.String()
}

// ArithOp is an arithmetic operator.
type ArithOp uint8

// The arithmetic operators.
const (
	Add ArithOp = iota // +
	Sub                // -
	Mul                // *
	Div                // /
	Mod                // % and MOD
)

// String returns the operator as SQL writes it.
func (op ArithOp) String() string { return [...]string{"+", "-", "*", "/", "%"}[op] }

// Arith is L op R. Its operands already have the types the operation works
// in (NewArith inserted the casts); T is the result type.
type Arith struct {
	Op   ArithOp
	L, R Expr
	T    types.Type
}

// Type implements Expr.
func (a *Arith) Type() types.Type { return a.T }

// Children implements Expr.
func (a *Arith) Children() []Expr { return []Expr{a.L, a.R} }

// String implements Expr: the expression as SQL.
func (a *Arith) String() string {
	if a.Op == Mod {
		return fmt.Sprintf("MOD(%s, %s)", a.L, a.R)
	}
	return fmt.Sprintf("(%s %s %s)", a.L, a.Op, a.R)
}
func (*Arith) node() {}

// Neg is -X.
type Neg struct{ X Expr }

// NewNeg returns -x for a number or an interval.
func NewNeg(x Expr) (Expr, error) {
	t := x.Type()
	if !t.Numeric() && t.Kind != types.Interval && t.Kind != types.Unknown {
		return nil, fmt.Errorf("expr: cannot negate %s of type %s: only numbers and intervals have a sign", x, typeName(t))
	}
	return &Neg{X: x}, nil
}

// Type implements Expr.
func (n *Neg) Type() types.Type { return n.X.Type() }

// Children implements Expr.
func (n *Neg) Children() []Expr { return []Expr{n.X} }

// String implements Expr: the expression as SQL.
func (n *Neg) String() string { return "-" + n.X.String() }
func (*Neg) node()            {}

// CmpOp is a comparison operator.
type CmpOp uint8

// The comparison operators.
const (
	Eq CmpOp = iota // =
	Ne              // <>
	Lt              // <
	Le              // <=
	Gt              // >
	Ge              // >=
	// Distinct is IS DISTINCT FROM: <> with NULL a value like any other
	// (never NULL itself).
	Distinct
	// NotDistinct is IS NOT DISTINCT FROM: = with NULL equal to NULL.
	NotDistinct
)

// String returns the operator as SQL writes it.
func (op CmpOp) String() string {
	return [...]string{"=", "<>", "<", "<=", ">", ">=", "IS DISTINCT FROM", "IS NOT DISTINCT FROM"}[op]
}

// Compare is L op R; its operands have a common type (NewCompare inserted
// the casts). It is NULL when either side is.
type Compare struct {
	Op   CmpOp
	L, R Expr
}

// NewCompare returns l op r, casting both sides to their common type.
func NewCompare(op CmpOp, l, r Expr) (Expr, error) {
	t, err := CommonType(l.Type(), r.Type())
	if err != nil {
		return nil, fmt.Errorf("expr: cannot compare %s %s %s: %w", l, op, r, err)
	}
	if t.Kind == types.Record {
		return nil, fmt.Errorf("expr: cannot compare ROW values in %s %s %s: compare their fields", l, op, r)
	}
	return &Compare{Op: op, L: Coerce(l, t), R: Coerce(r, t)}, nil
}

// Type implements Expr.
func (c *Compare) Type() types.Type {
	nn := c.Op >= Distinct || c.L.Type().NotNull && c.R.Type().NotNull
	return types.Type{Kind: types.Boolean, NotNull: nn}
}

// Children implements Expr.
func (c *Compare) Children() []Expr { return []Expr{c.L, c.R} }

// String implements Expr: the expression as SQL.
func (c *Compare) String() string { return fmt.Sprintf("(%s %s %s)", c.L, c.Op, c.R) }
func (*Compare) node()            {}

// Logic is AND or OR of its arguments, with SQL's three-valued logic:
// FALSE AND NULL is FALSE, TRUE OR NULL is TRUE, otherwise NULL wins.
// Arguments are evaluated left to right and evaluation stops as soon as the
// result is known.
type Logic struct {
	Or   bool // OR; AND when false
	Args []Expr
}

// NewAnd returns args[0] AND args[1] AND …; every argument must be BOOLEAN.
func NewAnd(args ...Expr) (Expr, error) { return newLogic(false, args) }

// NewOr returns args[0] OR args[1] OR …; every argument must be BOOLEAN.
func NewOr(args ...Expr) (Expr, error) { return newLogic(true, args) }

func newLogic(or bool, args []Expr) (Expr, error) {
	name := "AND"
	if or {
		name = "OR"
	}
	if len(args) < 2 {
		return nil, fmt.Errorf("expr: %s needs at least two operands, got %d", name, len(args))
	}
	for _, a := range args {
		if err := needBool(name, a); err != nil {
			return nil, err
		}
	}
	return &Logic{Or: or, Args: args}, nil
}

func needBool(what string, e Expr) error {
	if k := e.Type().Kind; k != types.Boolean && k != types.Unknown {
		return fmt.Errorf("expr: %s needs a BOOLEAN operand, but %s is %s: compare it with something (x = …)", what, e, typeName(e.Type()))
	}
	return nil
}

// Type implements Expr.
func (l *Logic) Type() types.Type {
	nn := true
	for _, a := range l.Args {
		nn = nn && a.Type().NotNull
	}
	return types.Type{Kind: types.Boolean, NotNull: nn}
}

// Children implements Expr.
func (l *Logic) Children() []Expr { return l.Args }

// String implements Expr: the expression as SQL.
func (l *Logic) String() string {
	sep := " AND "
	if l.Or {
		sep = " OR "
	}
	parts := make([]string, len(l.Args))
	for i, a := range l.Args {
		parts[i] = a.String()
	}
	return "(" + strings.Join(parts, sep) + ")"
}
func (*Logic) node() {}

// Not is NOT X: NULL stays NULL.
type Not struct{ X Expr }

// NewNot returns NOT x for a BOOLEAN x.
func NewNot(x Expr) (Expr, error) {
	if err := needBool("NOT", x); err != nil {
		return nil, err
	}
	return &Not{X: x}, nil
}

// Type implements Expr.
func (n *Not) Type() types.Type {
	return types.Type{Kind: types.Boolean, NotNull: n.X.Type().NotNull}
}

// Children implements Expr.
func (n *Not) Children() []Expr { return []Expr{n.X} }

// String implements Expr: the expression as SQL.
func (n *Not) String() string { return "NOT " + n.X.String() }
func (*Not) node()            {}

// IsTest is what IS tests for.
type IsTest uint8

// The IS tests.
const (
	IsNull  IsTest = iota // IS NULL
	IsTrue                // IS TRUE
	IsFalse               // IS FALSE
)

// Is is X IS [NOT] NULL/TRUE/FALSE; it is never NULL.
type Is struct {
	X    Expr
	Test IsTest
	Not  bool
}

// NewIs returns x IS [NOT] test. IS TRUE and IS FALSE need a BOOLEAN x.
func NewIs(x Expr, test IsTest, not bool) (Expr, error) {
	if test != IsNull {
		if err := needBool("IS TRUE/FALSE", x); err != nil {
			return nil, err
		}
	}
	return &Is{X: x, Test: test, Not: not}, nil
}

// Type implements Expr.
func (i *Is) Type() types.Type { return types.Type{Kind: types.Boolean, NotNull: true} }

// Children implements Expr.
func (i *Is) Children() []Expr { return []Expr{i.X} }

// String implements Expr: the expression as SQL.
func (i *Is) String() string {
	not := ""
	if i.Not {
		not = "NOT "
	}
	return fmt.Sprintf("(%s IS %s%s)", i.X, not, [...]string{"NULL", "TRUE", "FALSE"}[i.Test])
}
func (*Is) node() {}

// Between is X [NOT] BETWEEN Lo AND Hi (ASYMMETRIC): Lo <= X AND X <= Hi,
// with three-valued logic. The three operands have a common type.
type Between struct {
	X, Lo, Hi Expr
	Not       bool
}

// NewBetween returns x [NOT] BETWEEN lo AND hi.
func NewBetween(x, lo, hi Expr, not bool) (Expr, error) {
	t, err := commonOf([]Expr{x, lo, hi})
	if err != nil {
		return nil, fmt.Errorf("expr: BETWEEN: %w", err)
	}
	return &Between{X: Coerce(x, t), Lo: Coerce(lo, t), Hi: Coerce(hi, t), Not: not}, nil
}

// Type implements Expr.
func (b *Between) Type() types.Type {
	return types.Type{Kind: types.Boolean, NotNull: b.X.Type().NotNull && b.Lo.Type().NotNull && b.Hi.Type().NotNull}
}

// Children implements Expr.
func (b *Between) Children() []Expr { return []Expr{b.X, b.Lo, b.Hi} }

// String implements Expr: the expression as SQL.
func (b *Between) String() string {
	not := ""
	if b.Not {
		not = "NOT "
	}
	return fmt.Sprintf("(%s %sBETWEEN %s AND %s)", b.X, not, b.Lo, b.Hi)
}
func (*Between) node() {}

// In is X [NOT] IN (List…). It is TRUE when X equals an element, NULL when
// X is NULL or no element matched but one is NULL, FALSE otherwise (NOT IN
// negates that). A list of constants compiles to a hash set.
type In struct {
	X    Expr
	List []Expr
	Not  bool
}

// NewIn returns x [NOT] IN (list…), casting all to their common type.
func NewIn(x Expr, list []Expr, not bool) (Expr, error) {
	if len(list) == 0 {
		return nil, fmt.Errorf("expr: IN needs at least one value in its list")
	}
	t, err := commonOf(append([]Expr{x}, list...))
	if err != nil {
		return nil, fmt.Errorf("expr: IN: %w", err)
	}
	l := make([]Expr, len(list))
	for i, e := range list {
		l[i] = Coerce(e, t)
	}
	return &In{X: Coerce(x, t), List: l, Not: not}, nil
}

// Type implements Expr.
func (in *In) Type() types.Type {
	nn := in.X.Type().NotNull
	for _, e := range in.List {
		nn = nn && e.Type().NotNull
	}
	return types.Type{Kind: types.Boolean, NotNull: nn}
}

// Children implements Expr.
func (in *In) Children() []Expr { return append([]Expr{in.X}, in.List...) }

// String implements Expr: the expression as SQL.
func (in *In) String() string {
	parts := make([]string, len(in.List))
	for i, e := range in.List {
		parts[i] = e.String()
	}
	not := ""
	if in.Not {
		not = "NOT "
	}
	return fmt.Sprintf("(%s %sIN (%s))", in.X, not, strings.Join(parts, ", "))
}
func (*In) node() {}

// Like is X [NOT] LIKE Pattern [ESCAPE Escape]: % matches any run of
// characters, _ exactly one, and Escape (if not 0) makes the next %, _ or
// Escape literal. Matching is case-sensitive. A constant pattern compiles
// once, to a prefix, suffix, substring or equality test where it can.
type Like struct {
	X, Pattern Expr
	Escape     rune // 0: none
	Not        bool
}

// NewLike returns x [NOT] LIKE pattern [ESCAPE escape]; escape "" means
// none. A constant pattern is checked here (a dangling escape is an error).
func NewLike(x, pattern Expr, escape string, not bool) (Expr, error) {
	for _, e := range []Expr{x, pattern} {
		if k := e.Type().Kind; k != types.String && k != types.Unknown {
			return nil, fmt.Errorf("expr: LIKE needs STRING operands, but %s is %s: CAST it to STRING", e, typeName(e.Type()))
		}
	}
	var esc rune
	if escape != "" {
		r := []rune(escape)
		if len(r) != 1 {
			return nil, fmt.Errorf("expr: LIKE ESCAPE %s must be a single character", quote(escape))
		}
		esc = r[0]
	}
	if lit, ok := pattern.(*Literal); ok && !lit.V.IsNull() {
		if _, err := compileLike(lit.V.Str(), esc); err != nil {
			return nil, err
		}
	}
	return &Like{X: x, Pattern: pattern, Escape: esc, Not: not}, nil
}

// Type implements Expr.
func (l *Like) Type() types.Type {
	return types.Type{Kind: types.Boolean, NotNull: l.X.Type().NotNull && l.Pattern.Type().NotNull}
}

// Children implements Expr.
func (l *Like) Children() []Expr { return []Expr{l.X, l.Pattern} }

// String implements Expr: the expression as SQL.
func (l *Like) String() string {
	not := ""
	if l.Not {
		not = "NOT "
	}
	s := fmt.Sprintf("(%s %sLIKE %s", l.X, not, l.Pattern)
	if l.Escape != 0 {
		s += " ESCAPE " + quote(string(l.Escape))
	}
	return s + ")"
}
func (*Like) node() {}

// When is one WHEN … THEN … branch of a CASE.
type When struct{ Cond, Then Expr }

// Case is CASE [Operand] WHEN … THEN … [ELSE …] END. Without an Operand
// (searched CASE) each Cond is BOOLEAN and the first TRUE one wins; with one
// (simple CASE) the first Cond equal to the Operand wins. No winner gives
// Else, or NULL without one. All Thens and Else have type T.
type Case struct {
	Operand Expr // nil for a searched CASE
	Whens   []When
	Else    Expr // nil: NULL
	T       types.Type
}

// NewCase returns a CASE expression, casting the operand and conditions of
// a simple CASE to their common type, and the results to theirs.
func NewCase(operand Expr, whens []When, els Expr) (Expr, error) {
	if len(whens) == 0 {
		return nil, fmt.Errorf("expr: CASE needs at least one WHEN")
	}
	out := make([]When, len(whens))
	copy(out, whens)
	if operand != nil {
		all := []Expr{operand}
		for _, w := range whens {
			all = append(all, w.Cond)
		}
		t, err := commonOf(all)
		if err != nil {
			return nil, fmt.Errorf("expr: CASE %s WHEN: %w", operand, err)
		}
		operand = Coerce(operand, t)
		for i := range out {
			out[i].Cond = Coerce(out[i].Cond, t)
		}
	} else {
		for _, w := range whens {
			if err := needBool("CASE WHEN", w.Cond); err != nil {
				return nil, err
			}
		}
	}
	results := make([]Expr, 0, len(whens)+1)
	for _, w := range whens {
		results = append(results, w.Then)
	}
	if els != nil {
		results = append(results, els)
	}
	t, err := commonOf(results)
	if err != nil {
		return nil, fmt.Errorf("expr: CASE results: %w", err)
	}
	if els == nil {
		t.NotNull = false
	}
	for i := range out {
		out[i].Then = Coerce(out[i].Then, t)
	}
	if els != nil {
		els = Coerce(els, t)
	}
	return &Case{Operand: operand, Whens: out, Else: els, T: t}, nil
}

// Type implements Expr.
func (c *Case) Type() types.Type { return c.T }

// Children implements Expr.
func (c *Case) Children() []Expr {
	var out []Expr
	if c.Operand != nil {
		out = append(out, c.Operand)
	}
	for _, w := range c.Whens {
		out = append(out, w.Cond, w.Then)
	}
	if c.Else != nil {
		out = append(out, c.Else)
	}
	return out
}

// String implements Expr: the expression as SQL.
func (c *Case) String() string {
	var b strings.Builder
	b.WriteString("CASE")
	if c.Operand != nil {
		b.WriteString(" " + c.Operand.String())
	}
	for _, w := range c.Whens {
		fmt.Fprintf(&b, " WHEN %s THEN %s", w.Cond, w.Then)
	}
	if c.Else != nil {
		fmt.Fprintf(&b, " ELSE %s", c.Else)
	}
	b.WriteString(" END")
	return b.String()
}
func (*Case) node() {}

// Concat is L || R: NULL if either side is NULL.
type Concat struct{ L, R Expr }

// NewConcat returns l || r; both must be STRING (CAST others).
func NewConcat(l, r Expr) (Expr, error) {
	for _, e := range []Expr{l, r} {
		if k := e.Type().Kind; k != types.String && k != types.Unknown {
			return nil, fmt.Errorf("expr: || needs STRING operands, but %s is %s: CAST it to STRING", e, typeName(e.Type()))
		}
	}
	return &Concat{L: l, R: r}, nil
}

// Type implements Expr.
func (c *Concat) Type() types.Type {
	return types.Type{Kind: types.String, NotNull: c.L.Type().NotNull && c.R.Type().NotNull}
}

// Children implements Expr.
func (c *Concat) Children() []Expr { return []Expr{c.L, c.R} }

// String implements Expr: the expression as SQL.
func (c *Concat) String() string { return fmt.Sprintf("(%s || %s)", c.L, c.R) }
func (*Concat) node()            {}

// Call is a call of a scalar function from a Functions registry, its
// arguments already cast to what the function takes.
type Call struct {
	Func *Function
	Args []Expr
	T    types.Type
}

// Type implements Expr.
func (c *Call) Type() types.Type { return c.T }

// Children implements Expr.
func (c *Call) Children() []Expr { return c.Args }

// String implements Expr: the expression as SQL.
func (c *Call) String() string {
	parts := make([]string, len(c.Args))
	for i, a := range c.Args {
		parts[i] = a.String()
	}
	return c.Func.name + "(" + strings.Join(parts, ", ") + ")"
}
func (*Call) node() {}

// Columns returns the input columns e reads, ascending and without
// duplicates, so the planner can push projections down to the source.
func Columns(e Expr) []int {
	seen := map[int]bool{}
	var walk func(Expr)
	walk = func(e Expr) {
		if c, ok := e.(*Column); ok {
			seen[c.Index] = true
		}
		for _, ch := range e.Children() {
			walk(ch)
		}
	}
	walk(e)
	out := make([]int, 0, len(seen))
	for i := range seen {
		out = append(out, i)
	}
	sort.Ints(out)
	return out
}
