package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/types"
)

// twoInputs are the inputs of a join of two relations.
type twoInputs struct{ Left, Right Node }

// Inputs implements Node.
func (j *twoInputs) Inputs() []Node { return []Node{j.Left, j.Right} }

// WindowJoin joins two windowed relations on the same windows and keys.
type WindowJoin struct {
	nodeProps
	twoInputs
	Spec exec.WindowJoinSpec
}

// String implements Node.
func (j *WindowJoin) String() string {
	return fmt.Sprintf("WindowJoin(joinType=[%s], leftKeys=[%s], rightKeys=[%s])", j.Spec.Type, colNames(j.Left, j.Spec.LeftKeys), colNames(j.Right, j.Spec.RightKeys))
}

// IntervalJoin joins two relations on keys and a bounded distance between
// their time attributes.
type IntervalJoin struct {
	nodeProps
	twoInputs
	Spec exec.IntervalJoinSpec
}

// String implements Node.
func (j *IntervalJoin) String() string {
	return fmt.Sprintf("IntervalJoin(leftKeys=[%s], rightKeys=[%s], right.time - left.time in [%s, %s])",
		colNames(j.Left, j.Spec.LeftKeys), colNames(j.Right, j.Spec.RightKeys), j.Spec.Lower, j.Spec.Upper)
}

// RegularJoin is an inner join of two insert-only relations on equality
// keys without a time bound: both sides' rows are kept in keyed state.
type RegularJoin struct {
	nodeProps
	twoInputs
	Spec exec.RegularJoinSpec
}

// String implements Node.
func (j *RegularJoin) String() string {
	return fmt.Sprintf("Join(joinType=[%s], leftKeys=[%s], rightKeys=[%s])", j.Spec.Type, colNames(j.Left, j.Spec.LeftKeys), colNames(j.Right, j.Spec.RightKeys))
}

// LookupJoin enriches each row with the rows a lookup table finds by its
// keys (FOR SYSTEM_TIME AS OF a processing-time attribute).
type LookupJoin struct {
	nodeProps
	Input Node
	Table catalog.Table
	// Type is exec.Inner or exec.Left.
	Type exec.JoinType
	// Keys are the input's columns looked up, KeyNames the table's columns
	// they equal.
	Keys     []int
	KeyNames []string
	// Physical is the lookup table's row.
	Physical types.Schema
}

// Inputs implements Node.
func (j *LookupJoin) Inputs() []Node { return []Node{j.Input} }

// String implements Node.
func (j *LookupJoin) String() string {
	return fmt.Sprintf("LookupJoin(table=[%s], joinType=[%s], lookup=[%s], on=[%s])", j.Table.Name, j.Type,
		strings.Join(j.KeyNames, ", "), colNames(j.Input, j.Keys))
}

// conjuncts splits e at its ANDs.
func conjuncts(e ast.Expr) []ast.Expr {
	if bin, ok := e.(*ast.Binary); ok && bin.Op == ast.And {
		return append(conjuncts(bin.L), conjuncts(bin.R)...)
	}
	if e == nil {
		return nil
	}
	return []ast.Expr{e}
}

// join binds a JOIN: a lookup join, a window join, an interval join, or
// else a regular inner join on equality keys, the state of which grows
// with its inputs unless 'table.exec.state.ttl' bounds it. Outer regular
// joins, joins of updating relations and joins without an equality key
// are refused.
func (b *binder) join(j *ast.Join) (Node, scope, error) {
	if j.Kind == ast.CrossJoin || j.Kind == ast.CommaJoin {
		return nil, nil, b.unsupported(j, "a cross join", "join ON keys and a time bound (a window or interval join)")
	}
	if j.Using != nil {
		return nil, nil, b.unsupported(j, "JOIN … USING", "write ON l.col = r.col")
	}
	left, lsc, err := b.from(j.Left)
	if err != nil {
		return nil, nil, err
	}
	if tn, ok := j.Right.(*ast.TableName); ok && tn.SystemTime != nil {
		return b.lookupJoin(j, tn, left, lsc)
	}
	right, rsc, err := b.from(j.Right)
	if err != nil {
		return nil, nil, err
	}
	if Updating(left) || Updating(right) {
		return nil, nil, b.unsupported(j, "a join of an updating relation", "join append-only relations")
	}
	sc := append(append(scope(nil), lsc...), rsc...)
	nl := len(lsc)
	schema := sc.schema()
	// Equalities between the sides, and the rest.
	var lkeys, rkeys []int
	var rest []ast.Expr
	for _, c := range conjuncts(j.On) {
		if l, r, ok := b.equiPair(c, sc, nl); ok {
			if sc[l].typ.Kind != sc[r].typ.Kind {
				return nil, nil, b.errAt(c, nil, "%s compares %s with %s: CAST one side", c, sc[l].typ, sc[r].typ)
			}
			lkeys, rkeys = append(lkeys, l), append(rkeys, r-nl)
			continue
		}
		rest = append(rest, c)
	}
	typ := map[ast.JoinKind]exec.JoinType{ast.InnerJoin: exec.Inner, ast.LeftJoin: exec.Left, ast.RightJoin: exec.Right, ast.FullJoin: exec.Full}[j.Kind]
	lw, rw := left.props().win, right.props().win
	if lw != nil && rw != nil {
		// A window join: window_start and window_end equal on both sides.
		var keepL, keepR []int
		var startOK, endOK bool
		for i := range lkeys {
			l, r := lkeys[i], rkeys[i]
			switch {
			case l == lw.start && r == rw.start:
				startOK = true
			case l == lw.end && r == rw.end:
				endOK = true
			default:
				keepL, keepR = append(keepL, l), append(keepR, r)
			}
		}
		if startOK && endOK {
			if len(rest) > 0 && typ != exec.Inner {
				return nil, nil, b.unsupported(rest[0], "a condition other than equalities in an outer window join", "filter the result in an outer query")
			}
			w := &WindowJoin{twoInputs: twoInputs{left, right}, Spec: exec.WindowJoinSpec{Type: typ, LeftKeys: keepL, RightKeys: keepR,
				LeftStart: lw.start, LeftEnd: lw.end, RightStart: rw.start, RightEnd: rw.end,
				LeftWidth: nl, RightWidth: len(rsc), Zone: lw.zone}}
			w.nodeProps = nodeProps{schema: schema, rowtime: -1, win: &windowCols{start: lw.start, end: lw.end, zone: lw.zone}}
			return b.joinFilter(w, sc, rest)
		}
	}
	lt, rt := left.props().rowtime, right.props().rowtime
	if lt >= 0 && rt >= 0 && len(rest) > 0 {
		var bounds, others []ast.Expr
		for _, c := range rest {
			if b.isTimeBound(c, sc, lt, nl+rt) {
				bounds = append(bounds, c)
			} else {
				others = append(others, c)
			}
		}
		if len(others) > 0 && typ != exec.Inner {
			return nil, nil, b.unsupported(others[0], "a condition other than keys and time bounds in an outer join", "filter the result in an outer query")
		}
		lower, upper, ok, err := b.timeBounds(bounds, sc, lt, nl+rt)
		if err != nil {
			return nil, nil, err
		}
		if ok {
			if typ != exec.Inner {
				return nil, nil, b.unsupported(j, "an outer interval join ("+j.Kind.String()+")", "use an inner JOIN")
			}
			if len(lkeys) == 0 {
				return nil, nil, b.unsupported(j, "an interval join without an equality key", "join ON l.key = r.key AND the time bound")
			}
			ij := &IntervalJoin{twoInputs: twoInputs{left, right}, Spec: exec.IntervalJoinSpec{LeftKeys: lkeys, RightKeys: rkeys,
				Lower: lower, Upper: upper, LeftWidth: nl, RightWidth: len(rsc)}}
			ij.nodeProps = nodeProps{schema: schema, rowtime: -1}
			return b.joinFilter(ij, sc, others)
		}
	}
	const bounded = "join windowed relations ON window_start and window_end (a window join), bound the time attributes (l.t BETWEEN r.t - INTERVAL … AND r.t + INTERVAL …), or look a table up FOR SYSTEM_TIME AS OF"
	if typ != exec.Inner {
		return nil, nil, b.unsupported(j, "an outer regular join ("+j.Kind.String()+" without a time bound)", "use an inner JOIN, or "+bounded)
	}
	if len(lkeys) == 0 {
		return nil, nil, b.unsupported(j, "a regular join without an equality key", "join ON l.key = r.key")
	}
	// A regular inner join: the conditions besides the keys filter its
	// output, which is the same for an inner join and fails the job on a
	// run-time error as a WHERE does.
	rj := &RegularJoin{twoInputs: twoInputs{left, right}, Spec: exec.RegularJoinSpec{Type: exec.Inner, LeftKeys: lkeys, RightKeys: rkeys,
		LeftWidth: nl, RightWidth: len(rsc), TTL: b.p.StateTTL}}
	rj.nodeProps = nodeProps{schema: schema, rowtime: -1}
	return b.joinFilter(rj, sc, rest)
}

// joinFilter applies the conditions of an inner join that are neither
// keys nor time bounds as a filter after it.
func (b *binder) joinFilter(j Node, sc scope, rest []ast.Expr) (Node, scope, error) {
	if len(rest) == 0 {
		return j, sc, nil
	}
	ec := &exprCtx{b: b, sc: sc, where: "ON"}
	var conds []expr.Expr
	for _, c := range rest {
		x, err := ec.bind(c)
		if err != nil {
			return nil, nil, err
		}
		if x.Type().Kind != types.Boolean {
			return nil, nil, b.errAt(c, nil, "ON %s is %s, not BOOLEAN", c, x.Type())
		}
		conds = append(conds, x)
	}
	cond := conds[0]
	if len(conds) > 1 {
		all, err := expr.NewAnd(conds...)
		if err != nil {
			return nil, nil, b.errAt(rest[0], err, "ON")
		}
		cond = all
	}
	return b.filter(j, cond), sc, nil
}

// isTimeBound reports whether c bounds one time attribute by the other.
func (b *binder) isTimeBound(c ast.Expr, sc scope, lt, rt int) bool {
	_, _, ok, err := b.timeBounds([]ast.Expr{c}, sc, lt, rt)
	if err != nil {
		// One bound alone is an error of timeBounds; it is a bound.
		return strings.Contains(err.Error(), "both a lower and an upper bound")
	}
	return ok
}

// equiPair reports whether c is l = r between a left column and a right
// one; it returns their indexes in the joined scope, left first.
func (b *binder) equiPair(c ast.Expr, sc scope, nl int) (int, int, bool) {
	bin, ok := c.(*ast.Binary)
	if !ok || bin.Op != ast.Eq {
		return 0, 0, false
	}
	l, ok1 := bin.L.(*ast.ColumnRef)
	r, ok2 := bin.R.(*ast.ColumnRef)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	li, err1 := sc.lookup(l.Names)
	ri, err2 := sc.lookup(r.Names)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	if li >= nl && ri < nl {
		li, ri = ri, li
	}
	if li < nl && ri >= nl {
		return li, ri, true
	}
	return 0, 0, false
}

// timeBounds reads the bounds of right.time - left.time from the
// conjuncts rest, all of which must be bounds.
func (b *binder) timeBounds(rest []ast.Expr, sc scope, lt, rt int) (lower, upper time.Duration, ok bool, err error) {
	if len(rest) == 0 {
		return 0, 0, false, nil
	}
	// side reads "col", "col + INTERVAL" or "col - INTERVAL": the column
	// and the offset.
	side := func(e ast.Expr) (int, time.Duration, bool) {
		var off time.Duration
		if bin, ok := e.(*ast.Binary); ok && (bin.Op == ast.Add || bin.Op == ast.Sub) {
			iv, ok := bin.R.(*ast.IntervalLit)
			if !ok {
				return 0, 0, false
			}
			ms, err := iv.Millis()
			if err != nil {
				return 0, 0, false
			}
			off = time.Duration(ms) * time.Millisecond
			if bin.Op == ast.Sub {
				off = -off
			}
			e = bin.L
		}
		ref, ok := e.(*ast.ColumnRef)
		if !ok {
			return 0, 0, false
		}
		i, err := sc.lookup(ref.Names)
		if err != nil || (i != lt && i != rt) {
			return 0, 0, false
		}
		return i, off, true
	}
	const unset = time.Duration(1<<63 - 1)
	lower, upper = -unset, unset
	// bound applies x op y, x and y sides: x.col + xo op y.col + yo.
	bound := func(x ast.Expr, op ast.BinaryOp, y ast.Expr) bool {
		xc, xo, ok1 := side(x)
		yc, yo, ok2 := side(y)
		if !ok1 || !ok2 || xc == yc {
			return false
		}
		// Make it r op' l + c: d = r - l op' c.
		if xc == lt {
			// l + xo op r + yo  ⇔  r op⁻¹ l + xo - yo
			op = map[ast.BinaryOp]ast.BinaryOp{ast.Ge: ast.Le, ast.Gt: ast.Lt, ast.Le: ast.Ge, ast.Lt: ast.Gt}[op]
			xo, yo = yo, xo
		}
		c := yo - xo
		switch op {
		case ast.Ge:
			lower = max(lower, c)
		case ast.Gt:
			lower = max(lower, c+time.Millisecond)
		case ast.Le:
			upper = min(upper, c)
		case ast.Lt:
			upper = min(upper, c-time.Millisecond)
		default:
			return false
		}
		return true
	}
	for _, c := range rest {
		switch e := c.(type) {
		case *ast.Between:
			if e.Not || e.Symmetric || !bound(e.X, ast.Ge, e.Lo) || !bound(e.X, ast.Le, e.Hi) {
				return 0, 0, false, nil
			}
		case *ast.Binary:
			if !bound(e.L, e.Op, e.R) {
				return 0, 0, false, nil
			}
		default:
			return 0, 0, false, nil
		}
	}
	if lower == -unset || upper == unset {
		return 0, 0, false, b.errAt(rest[0], nil, "an interval join needs both a lower and an upper bound on the time attributes: write l.t BETWEEN r.t - INTERVAL … AND r.t + INTERVAL …")
	}
	if lower > upper {
		return 0, 0, false, b.errAt(rest[0], nil, "the time bounds of the join admit no row: the lower bound is above the upper one")
	}
	return lower, upper, true, nil
}

// lookupJoin binds left JOIN t FOR SYSTEM_TIME AS OF left.proctime ON
// t.k = left.k ….
func (b *binder) lookupJoin(j *ast.Join, tn *ast.TableName, left Node, lsc scope) (Node, scope, error) {
	typ := exec.Inner
	switch j.Kind {
	case ast.InnerJoin:
	case ast.LeftJoin:
		typ = exec.Left
	default:
		return nil, nil, b.unsupported(j, "a lookup join of kind "+j.Kind.String(), "use JOIN or LEFT JOIN")
	}
	name := strings.Join(tn.Name, ".")
	t, err := b.p.Catalog.GetTable(name)
	if err != nil {
		return nil, nil, b.errAt(tn, err, "FOR SYSTEM_TIME AS OF needs a table")
	}
	for _, c := range t.Columns {
		if c.Computed() {
			return nil, nil, b.unsupported(tn, "a lookup table with computed columns", "declare "+name+" without them")
		}
	}
	ec := &exprCtx{b: b, sc: lsc, where: "FOR SYSTEM_TIME AS OF"}
	at, err := ec.bind(tn.SystemTime)
	if err != nil {
		return nil, nil, err
	}
	if c, ok := at.(interface{ Type() types.Type }); ok && !c.Type().Temporal() {
		return nil, nil, b.errAt(tn.SystemTime, nil, "FOR SYSTEM_TIME AS OF %s: it is %s, not a time", tn.SystemTime, c.Type())
	}
	if ref, ok := tn.SystemTime.(*ast.ColumnRef); ok {
		if i, err := lsc.lookup(ref.Names); err == nil && i == left.props().rowtime {
			return nil, nil, b.unsupported(tn.SystemTime, "an event-time temporal join (FOR SYSTEM_TIME AS OF the event time)", "look up AS OF a processing-time attribute (a column AS PROCTIME())")
		}
	}
	phys := t.Physical().Flatten()
	rel := tn.Alias
	if rel == "" {
		rel = tn.Name[len(tn.Name)-1]
	}
	rsc := scopeOf(rel, phys)
	sc := append(append(scope(nil), lsc...), rsc...)
	nl := len(lsc)
	var keys []int
	var keyNames []string
	for _, c := range conjuncts(j.On) {
		l, r, ok := b.equiPair(c, sc, nl)
		if !ok {
			return nil, nil, b.unsupported(c, "a lookup join condition other than l.col = "+rel+".col", "filter in an outer query")
		}
		if sc[l].typ.Kind != sc[r].typ.Kind {
			return nil, nil, b.errAt(c, nil, "%s compares %s with %s: CAST one side", c, sc[l].typ, sc[r].typ)
		}
		keys, keyNames = append(keys, l), append(keyNames, phys[r-nl].Name)
	}
	if len(keys) == 0 {
		return nil, nil, b.errAt(j, nil, "a lookup join needs ON %s.key = …", rel)
	}
	lj := &LookupJoin{Input: left, Table: t, Type: typ, Keys: keys, KeyNames: keyNames, Physical: phys}
	ip := left.props()
	lj.nodeProps = nodeProps{schema: sc.schema(), rowtime: ip.rowtime, win: ip.win}
	return lj, sc, nil
}
