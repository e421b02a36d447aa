package parser

import (
	"errors"
	"strings"

	"github.com/weirstream/weir/sql/ast"
)

// expr reads a whole expression.
func (p *parser) expr() ast.Expr { return p.exprBP(0) }

// binaryOps maps the infix operators written with punctuation.
var binaryOps = map[string]ast.BinaryOp{
	"=": ast.Eq, "<>": ast.Ne, "!=": ast.Ne, "<": ast.Lt, "<=": ast.Le, ">": ast.Gt, ">=": ast.Ge,
	"+": ast.Add, "-": ast.Sub, "*": ast.Mul, "/": ast.Div, "%": ast.Mod, "||": ast.Concat,
}

// exprBP reads an expression whose operators bind at least as tightly as
// min (a Pratt parser over Calcite's precedences).
func (p *parser) exprBP(min int) ast.Expr {
	p.enter()
	defer p.leave()
	left := p.prefix()
	for {
		t := p.peek()
		var op ast.BinaryOp
		switch {
		case t.kind == tPunct:
			op = binaryOps[t.text]
		case isWord(t, "AND"):
			op = ast.And
		case isWord(t, "OR"):
			op = ast.Or
		}
		if op != 0 {
			prec := op.Precedence()
			if prec < min {
				return left
			}
			p.next()
			left = &ast.Binary{Pos: left.Position(), Op: op, L: left, R: p.exprBP(prec + 1)}
			continue
		}
		if isWord(t, "IS") {
			if ast.PrecIs < min {
				return left
			}
			left = p.is(left)
			continue
		}
		not := isWord(t, "NOT")
		k := 0
		if not {
			k = 1
		}
		switch n := p.peekAt(k); {
		case isWord(n, "IN"), isWord(n, "LIKE"), isWord(n, "BETWEEN"), isWord(n, "SIMILAR"):
			if ast.PrecLike < min {
				return left
			}
			left = p.predicate(left, not)
			continue
		}
		if t.kind == tPunct && t.text == "[" {
			p.failAt(t, "indexing with […] is not supported")
		}
		return left
	}
}

func (p *parser) is(x ast.Expr) ast.Expr {
	p.next()
	e := &ast.Is{Pos: x.Position(), X: x, Not: p.acceptWord("NOT")}
	switch {
	case p.acceptWord("NULL"):
		e.What = ast.IsNull
	case p.acceptWord("TRUE"):
		e.What = ast.IsTrue
	case p.acceptWord("FALSE"):
		e.What = ast.IsFalse
	case p.acceptWord("UNKNOWN"):
		e.What = ast.IsUnknown
	case p.isWord("DISTINCT"):
		p.failAt(p.peek(), "IS [NOT] DISTINCT FROM is not supported: compare with = and IS NULL")
	default:
		p.expected("NULL, TRUE, FALSE or UNKNOWN after IS")
	}
	return e
}

// predicate reads [NOT] IN …, LIKE …, SIMILAR TO … or BETWEEN … after x.
func (p *parser) predicate(x ast.Expr, not bool) ast.Expr {
	if not {
		p.next()
	}
	t := p.next()
	switch strings.ToUpper(t.text) {
	case "IN":
		in := &ast.In{Pos: x.Position(), X: x, Not: not}
		if !p.isPunct("(") {
			p.expected("'(' after IN")
		}
		if q, ok := p.parenQuery("after the subquery of IN"); ok {
			in.Query = q
			return in
		}
		p.next()
		in.List = p.exprList()
		p.expectPunct(")", "or ',' after a value of the IN list")
		return in
	case "BETWEEN":
		b := &ast.Between{Pos: x.Position(), X: x, Not: not}
		if !p.acceptWord("SYMMETRIC") {
			p.acceptWord("ASYMMETRIC")
		} else {
			b.Symmetric = true
		}
		b.Lo = p.exprBP(ast.PrecLike + 1)
		p.expectWord("AND", "between the bounds of BETWEEN")
		b.Hi = p.exprBP(ast.PrecLike + 1)
		return b
	}
	l := &ast.Like{Pos: x.Position(), X: x, Not: not}
	if strings.EqualFold(t.text, "SIMILAR") {
		p.expectWord("TO", "after SIMILAR")
		l.Similar = true
	}
	l.Pattern = p.exprBP(ast.PrecLike + 1)
	if p.acceptWord("ESCAPE") {
		l.Escape = p.exprBP(ast.PrecLike + 1)
	}
	return l
}

// niladic are the functions called without parentheses.
var niladic = map[string]bool{
	"CURRENT_TIMESTAMP": true, "CURRENT_DATE": true, "CURRENT_TIME": true,
	"LOCALTIME": true, "LOCALTIMESTAMP": true,
}

// prefix reads an operand: a literal, a name, a call, a parenthesized
// expression or a prefix operator and its operand.
func (p *parser) prefix() ast.Expr {
	t := p.peek()
	switch t.kind {
	case tNumber:
		p.next()
		return &ast.NumberLit{Pos: t.pos, Text: t.text}
	case tString:
		p.next()
		return &ast.StringLit{Pos: t.pos, Value: t.text}
	case tQuoted:
		return p.nameOrCall()
	case tPunct:
		switch t.text {
		case "-", "+":
			p.next()
			op := ast.Neg
			if t.text == "+" {
				op = ast.Plus
			}
			return &ast.Unary{Pos: t.pos, Op: op, X: p.exprBP(ast.PrecUnary)}
		case "(":
			return p.paren()
		case "?":
			p.failAt(t, "parameters (?) are not supported: write the value")
		case "*":
			p.failAt(t, "'*' stands for all columns only in a select list and in COUNT(*)")
		}
		p.expected("an expression")
	case tEOF:
		p.expected("an expression")
	}
	w := strings.ToUpper(t.text)
	switch w {
	case "NULL":
		p.next()
		return &ast.NullLit{Pos: t.pos}
	case "TRUE", "FALSE":
		p.next()
		return &ast.BoolLit{Pos: t.pos, Value: w == "TRUE"}
	case "NOT":
		p.next()
		return &ast.Unary{Pos: t.pos, Op: ast.Not, X: p.exprBP(ast.PrecNot)}
	case "INTERVAL":
		return p.interval()
	case "DATE", "TIME", "TIMESTAMP":
		if p.peekAt(1).kind == tString {
			p.next()
			return &ast.TypedLit{Pos: t.pos, Type: w, Value: p.next().text}
		}
		p.failAt(p.peekAt(1), "expected a string after "+w+", as in "+w+" '…', found "+describe(p.peekAt(1)))
	case "CASE":
		return p.caseExpr()
	case "CAST", "TRY_CAST":
		p.next()
		p.expectPunct("(", "after "+w)
		c := &ast.Cast{Pos: t.pos, Try: w == "TRY_CAST", X: p.expr()}
		p.expectWord("AS", "after the value to "+w)
		c.Type = p.dataType()
		p.expectPunct(")", "after the type of "+w)
		return c
	case "EXTRACT":
		p.next()
		p.expectPunct("(", "after EXTRACT")
		u := p.peek()
		unit := ast.LookupUnit(u.text)
		if u.kind != tWord || unit == ast.NoUnit {
			p.expected("a time unit after EXTRACT(, such as HOUR")
		}
		p.next()
		p.expectWord("FROM", "after EXTRACT's unit")
		e := &ast.Extract{Pos: t.pos, Unit: unit, X: p.expr()}
		p.expectPunct(")", "after EXTRACT's value")
		return e
	case "TRIM":
		return p.trim()
	case "SUBSTRING":
		return p.substring()
	case "EXISTS":
		p.next()
		p.expectPunct("(", "after EXISTS")
		q := p.query()
		p.expectPunct(")", "after the subquery of EXISTS")
		return &ast.Exists{Pos: t.pos, Query: q}
	case "ROW":
		p.next()
		p.expectPunct("(", "after ROW")
		r := &ast.RowExpr{Pos: t.pos, Explicit: true}
		if !p.isPunct(")") {
			r.Fields = p.exprList()
		}
		p.expectPunct(")", "or ',' after a field of ROW")
		return r
	case "TABLE":
		p.next()
		a := &ast.TableArg{Pos: t.pos, Name: p.qualifiedName("a table name after TABLE")}
		if p.acceptWord("PARTITION") {
			p.expectWord("BY", "after PARTITION")
			if p.isPunct("(") {
				a.PartitionBy = p.identList("a column name", "after the PARTITION BY columns")
			} else {
				a.PartitionBy = []string{p.ident("a column name after PARTITION BY")}
			}
		}
		return a
	case "DESCRIPTOR":
		p.next()
		return &ast.Descriptor{Pos: t.pos, Columns: p.identList("a column name", "after DESCRIPTOR's columns")}
	}
	if niladic[w] {
		p.next()
		return &ast.Call{Pos: t.pos, Name: t.text, NoParens: true}
	}
	if ast.IsReserved(w) {
		p.expected("an expression")
	}
	return p.nameOrCall()
}

// paren reads (expr), (a, b, …), or a scalar subquery.
func (p *parser) paren() ast.Expr {
	open := p.peek()
	if q, ok := p.parenQuery("after the subquery"); ok {
		return &ast.SubqueryExpr{Pos: open.pos, Query: q}
	}
	p.next()
	e := p.expr()
	if p.isPunct(",") {
		r := &ast.RowExpr{Pos: open.pos, Fields: []ast.Expr{e}}
		for p.acceptPunct(",") {
			r.Fields = append(r.Fields, p.expr())
		}
		p.expectPunct(")", "or ',' after a field of the row")
		return r
	}
	p.expectPunct(")", "to close the '(' of line "+itoa(open.pos.Line)+", column "+itoa(open.pos.Column))
	return e
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// nameOrCall reads a name a.b.c, or a function call name(…).
func (p *parser) nameOrCall() ast.Expr {
	t := p.next()
	if p.isPunct("(") {
		return p.call(t)
	}
	ref := &ast.ColumnRef{Pos: t.pos, Names: []string{t.text}}
	for p.isPunct(".") {
		p.next()
		ref.Names = append(ref.Names, p.ident("a name after '.'"))
	}
	return ref
}

// call reads the arguments, FILTER and OVER of the function name.
func (p *parser) call(name token) ast.Expr {
	p.next() // (
	c := &ast.Call{Pos: name.pos, Name: name.text}
	upperName := strings.ToUpper(name.text)
	switch {
	case p.isPunct("*") && p.peekAt(1).text == ")":
		p.next()
		c.Star = true
	case p.isPunct(")"):
	default:
		if p.acceptWord("DISTINCT") {
			c.Distinct = true
		} else {
			p.acceptWord("ALL")
		}
		for {
			c.Args = append(c.Args, p.arg(upperName, len(c.Args)))
			if !p.acceptPunct(",") {
				break
			}
		}
	}
	p.expectPunct(")", "or ',' after an argument of "+name.text)
	if p.isWord("FILTER") {
		p.next()
		p.expectPunct("(", "after FILTER")
		p.expectWord("WHERE", "after FILTER (")
		c.Filter = p.expr()
		p.expectPunct(")", "after FILTER's condition")
	}
	if p.isWord("OVER") {
		p.next()
		c.Over = p.window()
	}
	return c
}

// arg reads the i-th argument of a call of name: an expression, a named
// argument (name => value) or a time unit (TIMESTAMPADD's first).
func (p *parser) arg(name string, i int) ast.Expr {
	t := p.peek()
	// A named argument's name may be a keyword: OFFSET => INTERVAL …
	if (t.kind == tWord || t.kind == tQuoted) && p.peekAt(1).kind == tPunct && p.peekAt(1).text == "=>" {
		p.next()
		p.next()
		return &ast.NamedArg{Pos: t.pos, Name: t.text, Value: p.expr()}
	}
	if i == 0 && (name == "TIMESTAMPADD" || name == "TIMESTAMPDIFF") && t.kind == tWord {
		if u := ast.LookupUnit(t.text); u != ast.NoUnit && p.peekAt(1).text == "," {
			p.next()
			return &ast.UnitArg{Pos: t.pos, Unit: u}
		}
	}
	return p.expr()
}

// window reads the (…) of OVER.
func (p *parser) window() *ast.Window {
	open := p.peek()
	if isIdent(open) {
		p.failAt(open, "named windows (OVER name) are not supported: write the window in OVER (…)")
	}
	p.expectPunct("(", "after OVER")
	w := &ast.Window{Pos: open.pos}
	if p.acceptWord("PARTITION") {
		p.expectWord("BY", "after PARTITION")
		w.PartitionBy = p.exprList()
	}
	if p.acceptWord("ORDER") {
		p.expectWord("BY", "after ORDER")
		w.OrderBy = p.orderItems()
	}
	if t := p.peek(); isWord(t, "ROWS") || isWord(t, "RANGE") {
		p.next()
		f := &ast.Frame{Rows: isWord(t, "ROWS")}
		if p.acceptWord("BETWEEN") {
			f.Start = p.frameBound()
			p.expectWord("AND", "between the bounds of the window frame")
			f.End = p.frameBound()
		} else {
			f.Start = p.frameBound()
		}
		w.Frame = f
	}
	p.expectPunct(")", "after the window of OVER")
	return w
}

func (p *parser) frameBound() ast.FrameBound {
	switch {
	case p.acceptWord("UNBOUNDED"):
		if p.acceptWord("PRECEDING") {
			return ast.FrameBound{Kind: ast.UnboundedPreceding}
		}
		p.expectWord("FOLLOWING", "or PRECEDING after UNBOUNDED")
		return ast.FrameBound{Kind: ast.UnboundedFollowing}
	case p.isWord("CURRENT") && isWord(p.peekAt(1), "ROW"):
		p.next()
		p.next()
		return ast.FrameBound{Kind: ast.CurrentRow}
	}
	off := p.expr()
	if p.acceptWord("PRECEDING") {
		return ast.FrameBound{Kind: ast.Preceding, Offset: off}
	}
	p.expectWord("FOLLOWING", "or PRECEDING after the frame's offset")
	return ast.FrameBound{Kind: ast.Following, Offset: off}
}

// interval reads INTERVAL 'value' unit [TO unit].
func (p *parser) interval() ast.Expr {
	t := p.next()
	v := p.peek()
	if v.kind != tString && v.kind != tNumber {
		p.expected("the interval's value in quotes after INTERVAL, as in INTERVAL '5' SECOND")
	}
	p.next()
	e := &ast.IntervalLit{Pos: t.pos, Value: v.text}
	e.Unit = p.intervalUnit("after INTERVAL " + ast.Quote(v.text))
	if p.acceptWord("TO") {
		e.To = p.intervalUnit("after TO")
	}
	// Day-time intervals are checked here, to point at a malformed value;
	// the planner refuses intervals of years and months.
	if _, err := e.Millis(); err != nil && !errors.Is(err, ast.ErrYearMonthInterval) {
		p.failAt(v, strings.TrimPrefix(err.Error(), "ast: "))
	}
	return e
}

// intervalUnit reads YEAR, MONTH, DAY, HOUR, MINUTE or SECOND, with an
// optional precision, which weir does not need.
func (p *parser) intervalUnit(context string) ast.TimeUnit {
	t := p.peek()
	u := ast.LookupUnit(t.text)
	switch u {
	case ast.Year, ast.Month, ast.Day, ast.Hour, ast.Minute, ast.Second:
	default:
		p.expected("a unit (SECOND, MINUTE, HOUR, DAY, MONTH or YEAR) " + context)
	}
	if t.kind != tWord {
		p.expected("a unit (SECOND, MINUTE, HOUR, DAY, MONTH or YEAR) " + context)
	}
	p.next()
	if p.isPunct("(") && p.peekAt(1).kind == tNumber {
		p.next()
		p.next()
		if p.acceptPunct(",") {
			if p.peek().kind != tNumber {
				p.expected("a number")
			}
			p.next()
		}
		p.expectPunct(")", "after the unit's precision")
	}
	return u
}

func (p *parser) caseExpr() ast.Expr {
	t := p.next()
	c := &ast.Case{Pos: t.pos}
	if !p.isWord("WHEN") {
		c.Operand = p.expr()
	}
	for p.acceptWord("WHEN") {
		w := ast.When{Cond: p.expr()}
		p.expectWord("THEN", "after WHEN's condition")
		w.Result = p.expr()
		c.Whens = append(c.Whens, w)
	}
	if len(c.Whens) == 0 {
		p.expected("WHEN after CASE")
	}
	if p.acceptWord("ELSE") {
		c.Else = p.expr()
	}
	p.expectWord("END", "or WHEN or ELSE to end the CASE")
	return c
}

func (p *parser) trim() ast.Expr {
	t := p.next()
	p.expectPunct("(", "after TRIM")
	e := &ast.Trim{Pos: t.pos}
	for _, side := range [...]string{"BOTH", "LEADING", "TRAILING"} {
		if p.acceptWord(side) {
			e.Side = side
		}
	}
	switch {
	case e.Side != "" && p.acceptWord("FROM"):
		e.X = p.expr()
	default:
		x := p.expr()
		if p.acceptWord("FROM") {
			e.Chars, e.X = x, p.expr()
		} else if e.Side != "" {
			p.expected("FROM after TRIM(" + e.Side + " …")
		} else {
			e.X = x
		}
	}
	p.expectPunct(")", "after TRIM's value")
	return e
}

// substring reads SUBSTRING(x FROM a [FOR b]) or SUBSTRING(x, a [, b]).
func (p *parser) substring() ast.Expr {
	t := p.next()
	p.expectPunct("(", "after SUBSTRING")
	c := &ast.Call{Pos: t.pos, Name: t.text, Args: []ast.Expr{p.expr()}}
	if p.acceptWord("FROM") {
		c.Args = append(c.Args, p.expr())
		if p.acceptWord("FOR") {
			c.Args = append(c.Args, p.expr())
		}
	} else {
		p.expectPunct(",", "or FROM after SUBSTRING's string")
		c.Args = append(c.Args, p.expr())
		if p.acceptPunct(",") {
			c.Args = append(c.Args, p.expr())
		}
	}
	p.expectPunct(")", "after SUBSTRING's arguments")
	return c
}
