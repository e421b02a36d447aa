package planner

import (
	"strconv"

	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/types"
)

// rank binds ROW_NUMBER() OVER (PARTITION BY … ORDER BY …) over in. Its
// bound N comes from the outer query's WHERE (bindRank).
func (b *binder) rank(call *ast.Call, in Node, sc scope) (*Rank, error) {
	w := call.Over
	if w.Frame != nil {
		return nil, b.unsupported(call, "a window frame in ROW_NUMBER()'s OVER", "remove it")
	}
	if in.props().updating {
		return nil, b.unsupported(call, "ROW_NUMBER() over an updating relation", "rank an append-only or windowed relation")
	}
	r := &Rank{Input: in, over: errPos{pos: call.Pos, src: b.src}}
	ec := &exprCtx{b: b, sc: sc, where: "OVER"}
	col := func(e ast.Expr) (int, error) {
		x, err := ec.bind(e)
		if err != nil {
			return -1, err
		}
		c, ok := x.(*expr.Column)
		if !ok {
			return -1, b.unsupported(e, "an expression in PARTITION BY or ORDER BY of ROW_NUMBER()", "compute it as a column in a subquery first")
		}
		return c.Index, nil
	}
	for _, p := range w.PartitionBy {
		i, err := col(p)
		if err != nil {
			return nil, err
		}
		r.PartitionBy = append(r.PartitionBy, i)
	}
	if len(w.OrderBy) == 0 {
		return nil, b.errAt(call, nil, "ROW_NUMBER() needs ORDER BY in its OVER clause")
	}
	for _, o := range w.OrderBy {
		i, err := col(o.Expr)
		if err != nil {
			return nil, err
		}
		r.OrderBy = append(r.OrderBy, exec.SortKey{Col: i, Type: sc[i].typ, Desc: o.Desc})
	}
	ip := in.props()
	schema := append(append(types.Schema(nil), in.Schema()...), types.Field{Name: rankColumn, Type: types.Type{Kind: types.BigInt, NotNull: true}})
	r.nodeProps = nodeProps{schema: schema, rowtime: ip.rowtime, win: ip.win}
	return r, nil
}

// bindRank finds, under in, a Rank the outer query must bound, and takes
// the conjunct of where that bounds it (rn <= N, rn < N, rn = 1). It
// returns the rest of where, or nil.
func (b *binder) bindRank(in Node, sc scope, where ast.Expr) (ast.Expr, error) {
	var conj []ast.Expr
	var split func(e ast.Expr)
	split = func(e ast.Expr) {
		if bin, ok := e.(*ast.Binary); ok && bin.Op == ast.And {
			split(bin.L)
			split(bin.R)
			return
		}
		conj = append(conj, e)
	}
	split(where)
	var rest []ast.Expr
	for _, c := range conj {
		r, n, ok, err := b.rankBound(in, sc, c)
		if err != nil {
			return nil, err
		}
		if ok {
			if r.N != 0 {
				return nil, b.errAt(c, nil, "the row number is bounded twice: keep one bound")
			}
			r.N = n
			continue
		}
		rest = append(rest, c)
	}
	if len(rest) == 0 {
		return nil, nil
	}
	out := rest[0]
	for _, c := range rest[1:] {
		out = &ast.Binary{Pos: c.Position(), Op: ast.And, L: out, R: c}
	}
	return out, nil
}

// rankBound reports whether c is rn <= N (or N >= rn, rn < N, rn = 1) on
// the row number of a pending Rank under in.
func (b *binder) rankBound(in Node, sc scope, c ast.Expr) (*Rank, int, bool, error) {
	bin, ok := c.(*ast.Binary)
	if !ok {
		return nil, 0, false, nil
	}
	ref, lref := bin.L.(*ast.ColumnRef)
	num, rnum := bin.R.(*ast.NumberLit)
	op := bin.Op
	if !lref || !rnum {
		ref, lref = bin.R.(*ast.ColumnRef)
		num, rnum = bin.L.(*ast.NumberLit)
		if !lref || !rnum {
			return nil, 0, false, nil
		}
		op = map[ast.BinaryOp]ast.BinaryOp{ast.Ge: ast.Le, ast.Gt: ast.Lt, ast.Eq: ast.Eq}[op]
	}
	idx, err := sc.lookup(ref.Names)
	if err != nil {
		return nil, 0, false, nil
	}
	r, ok := traceRank(in, idx)
	if !ok {
		return nil, 0, false, nil
	}
	n, err := strconv.Atoi(num.Text)
	if err != nil {
		return nil, 0, false, b.errAt(num, nil, "the bound of the row number must be an integer")
	}
	switch op {
	case ast.Le:
	case ast.Lt:
		n--
	case ast.Eq:
		if n != 1 {
			return nil, 0, false, b.unsupported(c, "a row number equal to "+num.Text, "keep rn <= N, or rn = 1")
		}
	default:
		return nil, 0, false, b.unsupported(c, "the bound "+c.String()+" on the row number", "keep rn <= N, or rn = 1")
	}
	if n < 1 {
		return nil, 0, false, b.errAt(c, nil, "%s keeps no row: bound the row number by 1 or more", c)
	}
	return r, n, true, nil
}

// traceRank follows column idx of n down through projections to the row
// number of a Rank that has no bound yet.
func traceRank(n Node, idx int) (*Rank, bool) {
	for {
		switch x := n.(type) {
		case *Calc:
			if x.Filter != nil {
				return nil, false
			}
			c, ok := x.Exprs[idx].(*expr.Column)
			if !ok {
				return nil, false
			}
			n, idx = x.Input, c.Index
		case *Rank:
			return x, x.N == 0 && idx == len(x.Input.Schema())
		default:
			return nil, false
		}
	}
}

// checkRanks refuses a Rank no outer query bounded, or one that is
// neither a window Top-N nor a deduplication.
func (b *binder) checkRanks(n Node) error {
	if r, ok := n.(*Rank); ok {
		at := &Error{Pos: r.over.pos, Src: r.over.src}
		switch {
		case r.N == 0:
			at.Msg = "ROW_NUMBER() is not supported without a bound: the outer query must keep rn <= N (Top-N) or rn = 1 (deduplication)"
			return at
		case r.Input.props().win != nil:
			w := r.Input.props().win
			has := map[int]bool{}
			for _, p := range r.PartitionBy {
				has[p] = true
			}
			if !has[w.start] || !has[w.end] {
				at.Msg = "a Top-N over windows whose PARTITION BY lacks window_start or window_end is not supported: PARTITION BY window_start, window_end, …"
				return at
			}
		case r.dedup():
		default:
			at.Msg = "a Top-N without windows (an updating rank) is not supported: rank within windows (PARTITION BY window_start, window_end over a windowing TVF), or deduplicate with rn = 1 ORDER BY a time attribute"
			if r.N == 1 {
				at.Msg = "deduplication needs ORDER BY the time attribute alone (" + timeName(r.Input) + "): it is not supported by other columns"
			}
			return at
		}
	}
	for _, in := range n.Inputs() {
		if err := b.checkRanks(in); err != nil {
			return err
		}
	}
	return nil
}

func timeName(n Node) string {
	if rt := n.props().rowtime; rt >= 0 {
		return n.Schema()[rt].Name
	}
	return "the input has none"
}
