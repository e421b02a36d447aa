package parser

import (
	"strings"

	"github.com/weirstream/weir/sql/ast"
)

// query reads [WITH …] body [ORDER BY …] [LIMIT n].
func (p *parser) query() *ast.Query {
	p.enter()
	defer p.leave()
	q := &ast.Query{Pos: p.peek().pos}
	if p.acceptWord("WITH") {
		for {
			c := ast.CTE{Pos: p.peek().pos, Name: p.ident("the name of a WITH query")}
			if p.isPunct("(") {
				c.Columns = p.identList("a column name", "after the WITH query's column names")
			}
			p.expectWord("AS", "after the WITH query's name")
			p.expectPunct("(", "before the WITH query")
			c.Query = p.query()
			p.expectPunct(")", "after the WITH query")
			q.With = append(q.With, c)
			if !p.acceptPunct(",") {
				break
			}
		}
	}
	q.Body = p.union()
	if p.acceptWord("ORDER") {
		p.expectWord("BY", "after ORDER")
		q.OrderBy = p.orderItems()
	}
	if p.acceptWord("LIMIT") {
		q.Limit = p.expr()
	}
	switch {
	case p.isWord("OFFSET"):
		p.failAt(p.peek(), "OFFSET is not supported")
	case p.isWord("FETCH"):
		p.failAt(p.peek(), "FETCH is not supported: use LIMIT")
	}
	if inner, ok := q.Body.(*ast.Query); ok && q.With == nil && q.OrderBy == nil && q.Limit == nil {
		return inner
	}
	return q
}

func (p *parser) orderItems() []ast.OrderItem {
	var items []ast.OrderItem
	for {
		o := ast.OrderItem{Expr: p.expr()}
		if p.acceptWord("DESC") {
			o.Desc = true
		} else {
			p.acceptWord("ASC")
		}
		if p.isWord("NULLS") {
			p.next()
			switch {
			case p.acceptWord("FIRST"):
				o.Nulls = "FIRST"
			case p.acceptWord("LAST"):
				o.Nulls = "LAST"
			default:
				p.expected("FIRST or LAST after NULLS")
			}
		}
		items = append(items, o)
		if !p.acceptPunct(",") {
			return items
		}
	}
}

// union reads bodies joined by UNION and EXCEPT, left to right.
func (p *parser) union() ast.QueryBody {
	left := p.intersect()
	for {
		t := p.peek()
		var kind ast.SetOpKind
		switch {
		case isWord(t, "UNION"):
			kind = ast.Union
		case isWord(t, "EXCEPT") || isWord(t, "MINUS"):
			kind = ast.Except
		default:
			return left
		}
		p.next()
		all := p.setQuantifier()
		left = &ast.SetOp{Pos: left.Position(), Kind: kind, All: all, Left: left, Right: p.intersect()}
	}
}

// intersect reads bodies joined by INTERSECT, which binds tighter.
func (p *parser) intersect() ast.QueryBody {
	left := p.queryTerm()
	for p.isWord("INTERSECT") {
		p.next()
		all := p.setQuantifier()
		left = &ast.SetOp{Pos: left.Position(), Kind: ast.Intersect, All: all, Left: left, Right: p.queryTerm()}
	}
	return left
}

func (p *parser) setQuantifier() bool {
	if p.acceptWord("ALL") {
		return true
	}
	p.acceptWord("DISTINCT")
	return false
}

// queryTerm reads SELECT …, VALUES … or (query).
func (p *parser) queryTerm() ast.QueryBody {
	t := p.peek()
	switch {
	case isWord(t, "SELECT"):
		return p.selectBody()
	case isWord(t, "VALUES"):
		p.next()
		v := &ast.Values{Pos: t.pos}
		for {
			p.expectPunct("(", "before a row of VALUES")
			row := p.exprList()
			p.expectPunct(")", "after a row of VALUES")
			v.Rows = append(v.Rows, row)
			if !p.acceptPunct(",") {
				return v
			}
		}
	case t.kind == tPunct && t.text == "(":
		p.next()
		q := p.query()
		p.expectPunct(")", "after the query in parentheses")
		if q.With == nil && q.OrderBy == nil && q.Limit == nil {
			return q.Body
		}
		return q
	}
	p.expected("SELECT, VALUES or '('")
	return nil
}

func (p *parser) exprList() []ast.Expr {
	list := []ast.Expr{p.expr()}
	for p.acceptPunct(",") {
		list = append(list, p.expr())
	}
	return list
}

func (p *parser) selectBody() *ast.Select {
	s := &ast.Select{Pos: p.next().pos}
	if p.acceptWord("DISTINCT") {
		s.Distinct = true
	} else {
		p.acceptWord("ALL")
	}
	for {
		s.Items = append(s.Items, p.selectItem())
		if !p.acceptPunct(",") {
			break
		}
	}
	if p.acceptWord("FROM") {
		s.From = p.from()
	}
	if p.acceptWord("WHERE") {
		s.Where = p.expr()
	}
	if p.acceptWord("GROUP") {
		p.expectWord("BY", "after GROUP")
		for {
			t := p.peek()
			if isWord(t, "GROUPING") && isWord(p.peekAt(1), "SETS") ||
				(isWord(t, "ROLLUP") || isWord(t, "CUBE")) && p.peekAt(1).text == "(" {
				what := strings.ToUpper(t.text)
				if what == "GROUPING" {
					what = "GROUPING SETS"
				}
				p.failAt(t, what+" is not supported: GROUP BY lists plain expressions")
			}
			s.GroupBy = append(s.GroupBy, p.expr())
			if !p.acceptPunct(",") {
				break
			}
		}
	}
	if p.acceptWord("HAVING") {
		s.Having = p.expr()
	}
	if p.isWord("WINDOW") {
		p.failAt(p.peek(), "the WINDOW clause is not supported: write the window in OVER (…)")
	}
	return s
}

func (p *parser) selectItem() ast.SelectItem {
	t := p.peek()
	if t.kind == tPunct && t.text == "*" {
		p.next()
		return ast.SelectItem{Expr: &ast.Star{Pos: t.pos}}
	}
	// name.name….* ?
	if isIdent(t) {
		k := 1
		for p.peekAt(k).text == "." && p.peekAt(k).kind == tPunct {
			n := p.peekAt(k + 1)
			if n.kind == tPunct && n.text == "*" {
				var names []string
				for j := 0; j < k; j += 2 {
					names = append(names, p.peekAt(j).text)
				}
				p.i += k + 2
				return ast.SelectItem{Expr: &ast.Star{Pos: t.pos, Table: names}}
			}
			if !isIdent(n) {
				break
			}
			k += 2
		}
	}
	item := ast.SelectItem{Expr: p.expr()}
	item.Alias = p.alias()
	return item
}

// alias reads [AS] name; it returns "" if there is none.
func (p *parser) alias() string {
	if p.acceptWord("AS") {
		return p.ident("a name after AS")
	}
	if isIdent(p.peek()) {
		return p.next().text
	}
	return ""
}

// tableAlias reads [AS] name [(cols)].
func (p *parser) tableAlias() (string, []string) {
	a := p.alias()
	if a != "" && p.isPunct("(") {
		return a, p.identList("a column name", "after the column aliases")
	}
	return a, nil
}

// from reads the FROM items and their joins, left to right.
func (p *parser) from() ast.TableExpr {
	p.enter()
	defer p.leave()
	left := p.tableRef()
	for {
		t := p.peek()
		var kind ast.JoinKind
		switch {
		case t.kind == tPunct && t.text == ",":
			p.next()
			left = &ast.Join{Pos: left.Position(), Kind: ast.CommaJoin, Left: left, Right: p.tableRef()}
			continue
		case isWord(t, "JOIN"):
			kind = ast.InnerJoin
		case isWord(t, "INNER"):
			p.next()
			kind = ast.InnerJoin
		case isWord(t, "LEFT"):
			p.next()
			p.acceptWord("OUTER")
			kind = ast.LeftJoin
		case isWord(t, "RIGHT"):
			p.next()
			p.acceptWord("OUTER")
			kind = ast.RightJoin
		case isWord(t, "FULL"):
			p.next()
			p.acceptWord("OUTER")
			kind = ast.FullJoin
		case isWord(t, "CROSS"):
			p.next()
			kind = ast.CrossJoin
		case isWord(t, "NATURAL"):
			p.failAt(t, "NATURAL JOIN is not supported: write the join condition with ON")
		default:
			return left
		}
		p.expectWord("JOIN", "after "+strings.ToUpper(t.text))
		j := &ast.Join{Pos: left.Position(), Kind: kind, Left: left, Right: p.tableRef()}
		switch {
		case kind == ast.CrossJoin:
		case p.acceptWord("ON"):
			j.On = p.expr()
		case p.isWord("USING"):
			p.next()
			j.Using = p.identList("a column name", "after the USING columns")
		default:
			p.expected("ON or USING after the joined table")
		}
		left = j
	}
}

// tableRef reads one FROM item.
func (p *parser) tableRef() ast.TableExpr {
	p.enter()
	defer p.leave()
	t := p.peek()
	switch {
	case isWord(t, "LATERAL") || isWord(t, "TABLE"):
		lateral := p.acceptWord("LATERAL")
		p.expectWord("TABLE", "after LATERAL")
		p.expectPunct("(", "after TABLE, as in TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE))")
		ct := p.peek()
		e := p.expr()
		call, ok := e.(*ast.Call)
		if !ok || call.NoParens {
			p.failAt(ct, "expected a call of a table-valued function inside TABLE(…), such as TUMBLE(…), found "+e.String())
		}
		p.expectPunct(")", "after the table-valued function's call")
		f := &ast.TableFunc{Pos: t.pos, Lateral: lateral, Call: call}
		f.Alias, f.ColumnAliases = p.tableAlias()
		return f
	case t.kind == tPunct && t.text == "(":
		if q, ok := p.parenQuery("after the subquery"); ok {
			s := &ast.Subquery{Pos: t.pos, Query: q}
			s.Alias, s.ColumnAliases = p.tableAlias()
			return s
		}
		p.next()
		inner := p.from()
		p.expectPunct(")", "after the joined tables in parentheses")
		return inner
	}
	n := &ast.TableName{Pos: t.pos, Name: p.qualifiedName("a table name")}
	if p.isWord("FOR") {
		p.next()
		p.expectWord("SYSTEM_TIME", "after FOR")
		p.expectWord("AS", "after FOR SYSTEM_TIME")
		p.expectWord("OF", "after FOR SYSTEM_TIME AS")
		n.SystemTime = p.expr()
	}
	n.Alias, n.ColumnAliases = p.tableAlias()
	return n
}
