package parser

import (
	"strconv"
	"strings"

	"github.com/weirstream/weir/sql/ast"
)

// maxDepth bounds how deeply expressions, queries and joins nest, so that
// no input can exhaust the stack.
const maxDepth = 200

// Parse parses one statement; a trailing ';' is allowed. Use [ParseScript]
// or [Split] for several statements. The error is an *Error.
func Parse(src string) (ast.Statement, error) {
	return parseRange(src, len(src), ast.Pos{Line: 1, Column: 1}, true)
}

// ParseExpr parses one scalar expression, such as a computed column's.
// The error is an *Error.
func ParseExpr(src string) (ast.Expr, error) {
	toks, lerr := lexAll(src, len(src), ast.Pos{Line: 1, Column: 1})
	if lerr != nil {
		return nil, lerr
	}
	return run(src, toks, func(p *parser) ast.Expr {
		e := p.expr()
		p.expectEnd()
		return e
	})
}

func parseRange(src string, end int, at ast.Pos, allowSemicolon bool) (ast.Statement, error) {
	toks, lerr := lexAll(src, end, at)
	if lerr != nil {
		return nil, lerr
	}
	return run(src, toks, func(p *parser) ast.Statement {
		s := p.statement()
		if allowSemicolon {
			p.acceptPunct(";")
		}
		p.expectEnd()
		return s
	})
}

// lexAll returns the tokens of src from at up to end, ending with tEOF.
func lexAll(src string, end int, at ast.Pos) ([]token, *Error) {
	l := newLexer(src, end, at)
	var toks []token
	for {
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		toks = append(toks, t)
		if t.kind == tEOF {
			return toks, nil
		}
	}
}

// run calls f on a parser over toks; a syntax error ends f by a panic of
// an *Error, which run returns. Other panics are bugs and go on.
func run[T any](src string, toks []token, f func(p *parser) T) (res T, err error) {
	p := &parser{src: src, toks: toks}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			var zero T
			res, err = zero, e
		}
	}()
	return f(p), nil
}

type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) peekAt(k int) token {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.failAt(p.peek(), "the statement nests too deeply (more than "+strconv.Itoa(maxDepth)+" levels); simplify it")
	}
}

func (p *parser) leave() { p.depth-- }

// failAt ends parsing with an error at t.
func (p *parser) failAt(t token, msg string) {
	panic(errorAt(p.src, t.pos, msg))
}

// expected ends parsing with "expected what, found <the next token>".
func (p *parser) expected(what string) {
	t := p.peek()
	msg := "expected " + what + ", found " + describe(t)
	if t.kind == tWord && ast.IsReserved(t.text) && strings.Contains(what, "name") {
		msg += " (" + strings.ToUpper(t.text) + " is a reserved word: write `" + t.text + "` to use it as a name)"
	}
	p.failAt(t, msg)
}

// describe names a token for an error message.
func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "the end of the statement"
	case tQuoted:
		return "the name " + ast.Ident(t.text)
	case tString:
		s := t.text
		if len(s) > 40 {
			s = s[:40] + "…"
		}
		return "the string " + ast.Quote(s)
	case tNumber:
		return "the number " + t.text
	}
	return "'" + t.text + "'"
}

func isWord(t token, w string) bool { return t.kind == tWord && strings.EqualFold(t.text, w) }

func (p *parser) isWord(w string) bool { return isWord(p.peek(), w) }

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tPunct && t.text == s
}

func (p *parser) acceptWord(w string) bool {
	if p.isWord(w) {
		p.next()
		return true
	}
	return false
}

func (p *parser) acceptPunct(s string) bool {
	if p.isPunct(s) {
		p.next()
		return true
	}
	return false
}

// expectWord consumes the keyword w; context says where, as in "after
// PRIMARY KEY".
func (p *parser) expectWord(w, context string) token {
	if !p.isWord(w) {
		p.expected(w + " " + context)
	}
	return p.next()
}

func (p *parser) expectPunct(s, context string) token {
	if !p.isPunct(s) {
		p.expected("'" + s + "' " + context)
	}
	return p.next()
}

func (p *parser) expectEnd() {
	if p.peek().kind != tEOF {
		if p.isPunct(";") {
			p.expected("the end of the statement (separate statements of a script with ';' and run them as a script)")
		}
		p.expected("the end of the statement")
	}
}

// isIdent reports whether t can be a name: a quoted name or a word that
// is not reserved.
func isIdent(t token) bool {
	return t.kind == tQuoted || t.kind == tWord && !ast.IsReserved(t.text)
}

// ident consumes a name; what says which, as in "the table's name".
func (p *parser) ident(what string) string {
	if !isIdent(p.peek()) {
		p.expected(what)
	}
	return p.next().text
}

// qualifiedName reads name[.name…].
func (p *parser) qualifiedName(what string) []string {
	names := []string{p.ident(what)}
	for p.isPunct(".") {
		p.next()
		names = append(names, p.ident(what))
	}
	return names
}

// identList reads '(' name, … ')'.
func (p *parser) identList(what, context string) []string {
	p.expectPunct("(", "before "+what)
	names := []string{p.ident(what)}
	for p.acceptPunct(",") {
		names = append(names, p.ident(what))
	}
	p.expectPunct(")", context)
	return names
}

// stringLit consumes a string literal.
func (p *parser) stringLit(what string) string {
	if p.peek().kind != tString {
		p.expected(what)
	}
	return p.next().text
}

// parenQuery reads '(' query ')' if the parenthesis at the next token
// holds a query (see isQueryAt), and reports whether it did.
func (p *parser) parenQuery(context string) (*ast.Query, bool) {
	if !p.isPunct("(") || !p.isQueryAt(p.i, 0) {
		return nil, false
	}
	p.next()
	q := p.query()
	p.expectPunct(")", context)
	return q, true
}

// isQueryAt reports whether the '(' at toks[i] holds a query rather than
// an expression or joined tables: it does if SELECT, WITH or VALUES comes
// next, or if another '(' that holds a query comes next and what follows
// its ')' can only continue a query: ')', UNION, INTERSECT, EXCEPT,
// MINUS, ORDER or LIMIT. ((SELECT 1) + 1) is an expression. Deciding
// ahead, without backtracking, keeps parsing linear in the depth of
// parentheses; level counts the '(' looked through, up to maxDepth.
func (p *parser) isQueryAt(i, level int) bool {
	next := p.toks[min(i+1, len(p.toks)-1)]
	if isWord(next, "SELECT") || isWord(next, "WITH") || isWord(next, "VALUES") {
		return true
	}
	if next.kind != tPunct || next.text != "(" || level >= maxDepth || !p.isQueryAt(i+1, level+1) {
		return false
	}
	after := p.toks[min(p.matchParen(i+1)+1, len(p.toks)-1)]
	if after.kind == tPunct {
		return after.text == ")"
	}
	for _, w := range [...]string{"UNION", "INTERSECT", "EXCEPT", "MINUS", "ORDER", "LIMIT"} {
		if isWord(after, w) {
			return true
		}
	}
	return false
}

// matchParen returns the index of the ')' that closes the '(' at
// toks[i], or of the final tEOF.
func (p *parser) matchParen(i int) int {
	depth := 0
	for j := i; j < len(p.toks); j++ {
		switch t := p.toks[j]; {
		case t.kind == tPunct && t.text == "(":
			depth++
		case t.kind == tPunct && t.text == ")":
			depth--
			if depth == 0 {
				return j
			}
		}
	}
	return len(p.toks) - 1
}

// ---- Statements ----

const statementKinds = "a statement (SELECT, INSERT INTO, CREATE TABLE, CREATE VIEW, CREATE FUNCTION, DROP, EXPLAIN, SET, RESET, SHOW, DESCRIBE, BEGIN STATEMENT SET, END)"

func (p *parser) statement() ast.Statement {
	t := p.peek()
	if t.kind == tPunct && t.text == "(" {
		return p.query()
	}
	if t.kind != tWord {
		p.expected(statementKinds)
	}
	switch strings.ToUpper(t.text) {
	case "SELECT", "WITH", "VALUES":
		return p.query()
	case "CREATE":
		return p.create()
	case "DROP":
		return p.drop()
	case "INSERT":
		return p.insert()
	case "EXPLAIN":
		return p.explain()
	case "SET":
		p.next()
		s := &ast.Set{Pos: t.pos}
		if p.peek().kind == tEOF || p.isPunct(";") {
			return s
		}
		kt := p.peek()
		s.Key = p.stringLit("the key in quotes after SET, as in SET 'table.local-time-zone' = 'UTC'")
		if s.Key == "" {
			p.failAt(kt, "the key of SET is empty: write SET 'key' = 'value', or SET alone to list the settings")
		}
		p.expectPunct("=", "after SET's key")
		s.Value = p.stringLit("the value in quotes after SET 'key' =")
		return s
	case "RESET":
		p.next()
		r := &ast.Reset{Pos: t.pos}
		if kt := p.peek(); kt.kind == tString {
			r.Key = p.next().text
			if r.Key == "" {
				p.failAt(kt, "the key of RESET is empty: write RESET 'key', or RESET alone to reset every key")
			}
		}
		return r
	case "SHOW":
		p.next()
		s := &ast.Show{Pos: t.pos}
		switch {
		case p.acceptWord("TABLES"):
			s.Kind = ast.TableObject
		case p.acceptWord("VIEWS"):
			s.Kind = ast.ViewObject
		case p.acceptWord("FUNCTIONS"):
			s.Kind = ast.FunctionObject
		default:
			p.expected("TABLES, VIEWS or FUNCTIONS after SHOW")
		}
		return s
	case "BEGIN":
		p.next()
		p.expectWord("STATEMENT", "after BEGIN")
		p.expectWord("SET", "after BEGIN STATEMENT")
		return &ast.BeginStatementSet{Pos: t.pos}
	case "END":
		p.next()
		return &ast.EndStatementSet{Pos: t.pos}
	case "DESCRIBE", "DESC":
		p.next()
		return &ast.Describe{Pos: t.pos, Name: p.qualifiedName("the name of a table or view after DESCRIBE")}
	}
	p.expected(statementKinds)
	return nil
}

// temporary reads [TEMPORARY [SYSTEM]].
func (p *parser) temporary() (temp, system bool) {
	if p.acceptWord("TEMPORARY") {
		return true, p.acceptWord("SYSTEM")
	}
	return false, false
}

func (p *parser) create() ast.Statement {
	start := p.next()
	temp, system := p.temporary()
	switch {
	case p.acceptWord("TABLE"):
		if system {
			p.failAt(start, "CREATE TEMPORARY SYSTEM is only for functions")
		}
		return p.createTable(start, temp)
	case p.acceptWord("VIEW"):
		if system {
			p.failAt(start, "CREATE TEMPORARY SYSTEM is only for functions")
		}
		v := &ast.CreateView{Pos: start.pos, Temporary: temp}
		v.IfNotExists = p.ifNotExists()
		v.Name = p.qualifiedName("the view's name")
		if p.isPunct("(") {
			v.Columns = p.identList("a column name", "after the view's column names")
		}
		p.expectWord("AS", "before the view's query")
		v.Query = p.query()
		return v
	case p.acceptWord("FUNCTION"):
		f := &ast.CreateFunction{Pos: start.pos, Temporary: temp, System: system}
		f.IfNotExists = p.ifNotExists()
		f.Name = p.qualifiedName("the function's name")
		p.expectWord("AS", "after the function's name, as in CREATE FUNCTION f AS 'GoName'")
		f.GoName = p.stringLit("the name the program registered the Go function under, in quotes, after AS")
		if p.acceptWord("LANGUAGE") {
			lang := p.peek()
			if !isWord(lang, "GO") {
				p.failAt(lang, "expected GO after LANGUAGE, found "+describe(lang)+": weir runs only Go functions that the program registers")
			}
			p.next()
			f.Language = "GO"
		}
		return f
	}
	p.expected("TABLE, VIEW or FUNCTION after CREATE")
	return nil
}

// ifNotExists reads IF NOT EXISTS; IF alone may be a name.
func (p *parser) ifNotExists() bool {
	if p.isWord("IF") && isWord(p.peekAt(1), "NOT") {
		p.next()
		p.next()
		p.expectWord("EXISTS", "after IF NOT")
		return true
	}
	return false
}

func (p *parser) createTable(start token, temp bool) ast.Statement {
	t := &ast.CreateTable{Pos: start.pos, Temporary: temp}
	t.IfNotExists = p.ifNotExists()
	t.Name = p.qualifiedName("the table's name")
	p.expectPunct("(", "before the table's columns")
	for {
		p.tableElement(t)
		if p.acceptPunct(",") {
			continue
		}
		p.expectPunct(")", "or ',' after a column")
		break
	}
	if p.acceptWord("COMMENT") {
		c := p.stringLit("the comment in quotes after COMMENT")
		t.Comment = &c
	}
	if p.isWord("PARTITIONED") {
		p.failAt(p.peek(), "PARTITIONED BY is not supported: weir's file sink does not partition")
	}
	if p.acceptWord("WITH") {
		p.expectPunct("(", "after WITH")
		t.Options = []ast.Option{}
		seen := map[string]bool{}
		for !p.isPunct(")") {
			kt := p.peek()
			k := p.stringLit("an option's key in quotes, as in 'connector' = 'kafka'")
			p.expectPunct("=", "after the option's key")
			v := p.stringLit("the option's value in quotes")
			if seen[k] {
				p.failAt(kt, "the option "+ast.Quote(k)+" is given twice")
			}
			seen[k] = true
			t.Options = append(t.Options, ast.Option{Pos: kt.pos, Key: k, Value: v})
			if !p.acceptPunct(",") {
				break
			}
		}
		p.expectPunct(")", "or ',' after an option")
	}
	if p.isWord("LIKE") {
		p.failAt(p.peek(), "CREATE TABLE … LIKE is not supported: declare the columns and options")
	}
	return t
}

// tableElement reads one column, WATERMARK or PRIMARY KEY of CREATE
// TABLE into t.
func (p *parser) tableElement(t *ast.CreateTable) {
	at := p.peek()
	switch {
	case isWord(at, "WATERMARK") && isWord(p.peekAt(1), "FOR"):
		p.next()
		p.next()
		if t.Watermark != nil {
			p.failAt(at, "a table has at most one WATERMARK")
		}
		w := &ast.Watermark{Pos: at.pos, Column: p.ident("the name of the time attribute column after WATERMARK FOR")}
		p.expectWord("AS", "after WATERMARK FOR column")
		w.Expr = p.expr()
		t.Watermark = w
		return
	case isWord(at, "CONSTRAINT") && isIdent(p.peekAt(1)):
		p.next()
		p.next()
		if !p.isWord("PRIMARY") {
			p.expected("PRIMARY KEY after CONSTRAINT name")
		}
		fallthrough
	case isWord(p.peek(), "PRIMARY") && isWord(p.peekAt(1), "KEY"):
		pk := p.peek()
		p.next()
		p.next()
		cols := p.identList("a column name", "after the primary key's columns")
		p.primaryKey(t, pk, cols)
		return
	}
	c := ast.Column{Pos: at.pos, Name: p.ident("a column name, WATERMARK FOR or PRIMARY KEY")}
	if p.acceptWord("AS") {
		c.Computed = p.expr()
	} else {
		c.Type = p.dataType()
		if pk := p.peek(); isWord(pk, "PRIMARY") {
			p.next()
			p.expectWord("KEY", "after PRIMARY")
			p.primaryKey(t, pk, []string{c.Name})
		}
		if p.acceptWord("METADATA") {
			c.Metadata = true
			if p.acceptWord("FROM") {
				c.MetadataKey = p.stringLit("the metadata key in quotes after METADATA FROM")
			}
			c.Virtual = p.acceptWord("VIRTUAL")
		}
	}
	if p.acceptWord("COMMENT") {
		s := p.stringLit("the comment in quotes after COMMENT")
		c.Comment = &s
	}
	t.Columns = append(t.Columns, c)
}

func (p *parser) primaryKey(t *ast.CreateTable, at token, cols []string) {
	if !p.isWord("NOT") || !isWord(p.peekAt(1), "ENFORCED") {
		p.failAt(p.peek(), "expected NOT ENFORCED after PRIMARY KEY (…), found "+describe(p.peek())+
			": weir, as Flink, does not check primary keys, so it takes only keys declared NOT ENFORCED")
	}
	p.next()
	p.next()
	if t.PrimaryKey != nil {
		p.failAt(at, "a table has at most one PRIMARY KEY")
	}
	t.PrimaryKey = cols
}

func (p *parser) drop() ast.Statement {
	start := p.next()
	d := &ast.Drop{Pos: start.pos}
	d.Temporary, d.System = p.temporary()
	switch {
	case p.acceptWord("TABLE"):
		d.Kind = ast.TableObject
	case p.acceptWord("VIEW"):
		d.Kind = ast.ViewObject
	case p.acceptWord("FUNCTION"):
		d.Kind = ast.FunctionObject
	default:
		p.expected("TABLE, VIEW or FUNCTION after DROP")
	}
	if d.System && d.Kind != ast.FunctionObject {
		p.failAt(start, "DROP TEMPORARY SYSTEM is only for functions")
	}
	if p.isWord("IF") && isWord(p.peekAt(1), "EXISTS") {
		p.next()
		p.next()
		d.IfExists = true
	}
	d.Name = p.qualifiedName("the name of what to drop")
	return d
}

func (p *parser) insert() ast.Statement {
	start := p.next()
	ins := &ast.Insert{Pos: start.pos}
	switch {
	case p.acceptWord("INTO"):
	case p.acceptWord("OVERWRITE"):
		ins.Overwrite = true
	default:
		p.expected("INTO after INSERT")
	}
	ins.Table = p.qualifiedName("the name of the table to insert into")
	if p.isWord("PARTITION") {
		p.failAt(p.peek(), "INSERT … PARTITION is not supported")
	}
	if p.isPunct("(") && !p.isQueryAt(p.i, 0) {
		ins.Columns = p.identList("a column name", "after the columns to insert into")
	}
	ins.Query = p.query()
	return ins
}

func (p *parser) explain() ast.Statement {
	start := p.next()
	e := &ast.Explain{Pos: start.pos}
	if p.acceptWord("PLAN") {
		p.expectWord("FOR", "after EXPLAIN PLAN")
	} else {
		for {
			t := p.peek()
			w := strings.ToUpper(t.text)
			if t.kind != tWord || w != "ESTIMATED_COST" && w != "CHANGELOG_MODE" && w != "JSON_EXECUTION_PLAN" {
				break
			}
			p.next()
			e.Details = append(e.Details, w)
			if !p.acceptPunct(",") {
				break
			}
		}
	}
	t := p.peek()
	if !isWord(t, "SELECT") && !isWord(t, "WITH") && !isWord(t, "VALUES") && !isWord(t, "INSERT") && !p.isPunct("(") {
		p.expected("a query or INSERT to explain")
	}
	e.Statement = p.statement()
	return e
}
