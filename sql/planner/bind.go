package planner

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/parser"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
)

// Planner turns statements into logical plans and plans into weir jobs.
// Its fields are what it resolves names against; a Planner is cheap, and
// a session makes one per statement with its current settings.
type Planner struct {
	Catalog   catalog.Catalog
	Tables    *table.Registry
	Functions *expr.Functions
	// Location is the session time zone; nil means UTC.
	Location *time.Location
	// Stdout is where 'print' tables write; nil means os.Stdout.
	Stdout io.Writer
	// StateTTL, if positive, is how long a regular join keeps a key's rows
	// of one side after that side's last row for the key
	// ('table.exec.state.ttl'); zero keeps them for as long as the job
	// runs.
	StateTTL time.Duration
}

func (p *Planner) loc() *time.Location {
	if p.Location == nil {
		return time.UTC
	}
	return p.Location
}

// binder binds one statement; src is its text, for carets.
type binder struct {
	p   *Planner
	src string
	// views are the views being expanded, to refuse a view that reads
	// itself.
	views []string
}

// PlanQuery binds a query (src is the statement's text, for errors) into
// a logical plan.
func (p *Planner) PlanQuery(q *ast.Query, src string) (Node, error) {
	b := &binder{p: p, src: src}
	n, _, err := b.query(q)
	if err != nil {
		return nil, err
	}
	return n, b.checkRanks(n)
}

// PlanInsert binds INSERT INTO … into a plan ending in a *Sink, with the
// query's columns cast to the table's types.
func (p *Planner) PlanInsert(ins *ast.Insert, src string) (*Sink, error) {
	b := &binder{p: p, src: src}
	if ins.Overwrite {
		return nil, b.unsupported(ins, "INSERT OVERWRITE", "use INSERT INTO")
	}
	name := strings.Join(ins.Table, ".")
	t, err := p.Catalog.GetTable(name)
	if err != nil {
		return nil, b.errAt(ins, err, "INSERT INTO %s", name)
	}
	n, _, err := b.query(ins.Query)
	if err != nil {
		return nil, err
	}
	if err := b.checkRanks(n); err != nil {
		return nil, err
	}
	target := t.Physical().Flatten()
	cols := ins.Columns
	if cols == nil {
		cols = target.Names()
	}
	got := n.Schema()
	if len(got) != len(cols) {
		return nil, b.errAt(ins.Query, nil, "the query gives %d columns %s, and table %s takes %d (%s): select one value per column",
			len(got), got, name, len(cols), strings.Join(cols, ", "))
	}
	exprs := make([]expr.Expr, len(target))
	for i, f := range target {
		exprs[i] = expr.Null(f.Type)
	}
	for i, c := range cols {
		j := target.Index(c)
		if j < 0 {
			return nil, b.errAt(ins, nil, "table %s has no column %s: its columns are %s", name, c, strings.Join(target.Names(), ", "))
		}
		x, err := castTo(expr.NewColumn(i, got[i].Name, got[i].Type), f(target[j]))
		if err != nil {
			return nil, b.errAt(ins.Query, err, "column %s of table %s is %s, and the query gives %s", c, name, target[j].Type, got[i].Type)
		}
		exprs[j] = x
	}
	in := n
	if !isIdentity(exprs, got) {
		in = newCalc(n, exprs, target, nil)
	}
	return &Sink{nodeProps: nodeProps{schema: target, rowtime: -1, updating: n.props().updating}, Input: in, Table: t}, nil
}

func f(fl types.Field) types.Type { return fl.Type }

// castTo returns x as type t: unchanged when the kinds match, with an
// implicit cast when t is x's common type with t, else an error.
func castTo(x expr.Expr, t types.Type) (expr.Expr, error) {
	xt := x.Type()
	if xt.Kind == t.Kind && xt.Precision == t.Precision && xt.Scale == t.Scale {
		return x, nil
	}
	if xt.Kind == types.Unknown {
		return expr.Null(t), nil
	}
	if ct, err := expr.CommonType(xt, t); err == nil && ct.Kind == t.Kind {
		return expr.NewCast(x, t, false)
	}
	return nil, errors.New("no implicit cast: CAST it in the query")
}

func isIdentity(exprs []expr.Expr, in types.Schema) bool {
	if len(exprs) != len(in) {
		return false
	}
	for i, e := range exprs {
		if c, ok := e.(*expr.Column); !ok || c.Index != i {
			return false
		}
	}
	return true
}

func newCalc(in Node, exprs []expr.Expr, schema types.Schema, filter expr.Expr) *Calc {
	c := &Calc{Input: in, Exprs: exprs, Filter: filter}
	c.nodeProps = nodeProps{schema: schema, rowtime: -1}
	ip := in.props()
	c.updating = ip.updating
	// Keep the time attribute and window columns that pass through.
	from := map[int]int{}
	for i, e := range exprs {
		if col, ok := e.(*expr.Column); ok {
			if _, seen := from[col.Index]; !seen {
				from[col.Index] = i
			}
		}
	}
	if i, ok := from[ip.rowtime]; ok && ip.rowtime >= 0 {
		c.rowtime = i
	}
	if ip.win != nil {
		s, ok1 := from[ip.win.start]
		e, ok2 := from[ip.win.end]
		if ok1 && ok2 {
			c.win = &windowCols{start: s, end: e, zone: ip.win.zone}
		}
	}
	fuse(c)
	return c
}

// fuse merges c with a Calc below it into one operator, substituting the
// inner expressions into c's, unless that would compute an inner
// expression more than once per row.
func fuse(c *Calc) {
	inner, ok := c.Input.(*Calc)
	if !ok {
		return
	}
	uses := make([]int, len(inner.Exprs))
	count := func(e expr.Expr) {
		for _, i := range expr.Columns(e) {
			uses[i]++
		}
	}
	for _, e := range c.Exprs {
		count(e)
	}
	if c.Filter != nil {
		count(c.Filter)
	}
	for i, e := range inner.Exprs {
		if _, col := e.(*expr.Column); !col && uses[i] > 1 {
			return
		}
	}
	sub := func(col *expr.Column) expr.Expr { return inner.Exprs[col.Index] }
	exprs := make([]expr.Expr, len(c.Exprs))
	for i, e := range c.Exprs {
		exprs[i] = expr.MapColumns(e, sub)
	}
	filter := inner.Filter
	if c.Filter != nil {
		f := expr.MapColumns(c.Filter, sub)
		if filter != nil {
			both, err := expr.NewAnd(filter, f)
			if err != nil {
				return
			}
			f = both
		}
		filter = f
	}
	c.Input, c.Exprs, c.Filter = inner.Input, exprs, filter
}

// query binds a query; it returns its plan and its scope (column names
// for the enclosing query).
func (b *binder) query(q *ast.Query) (Node, scope, error) {
	if len(q.With) > 0 {
		return nil, nil, b.unsupported(q, "WITH", "define a view with CREATE VIEW")
	}
	if len(q.OrderBy) > 0 {
		return nil, nil, b.unsupported(q.OrderBy[0].Expr, "ORDER BY on an unbounded stream", "order within windows with ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY …)")
	}
	if q.Limit != nil {
		return nil, nil, b.unsupported(q.Limit, "LIMIT on an unbounded stream", "keep the first rows of each window with ROW_NUMBER() … <= N")
	}
	return b.body(q.Body)
}

func (b *binder) body(body ast.QueryBody) (Node, scope, error) {
	switch q := body.(type) {
	case *ast.Query:
		return b.query(q)
	case *ast.Select:
		return b.selectStmt(q)
	case *ast.SetOp:
		if q.Kind != ast.Union || !q.All {
			what := q.Kind.String()
			if !q.All {
				what += " (without ALL)"
			}
			return nil, nil, b.unsupported(q, what, "only UNION ALL is")
		}
		l, _, err := b.body(q.Left)
		if err != nil {
			return nil, nil, err
		}
		r, _, err := b.body(q.Right)
		if err != nil {
			return nil, nil, err
		}
		lt, rt := l.Schema(), r.Schema()
		if len(lt) != len(rt) {
			return nil, nil, b.errAt(q, nil, "UNION ALL of %d and %d columns: give both sides the same columns", len(lt), len(rt))
		}
		for i := range lt {
			if lt[i].Type.Kind != rt[i].Type.Kind {
				return nil, nil, b.errAt(q, nil, "UNION ALL: column %d is %s on the left and %s on the right: CAST one side", i+1, lt[i].Type, rt[i].Type)
			}
		}
		ins := []Node{l, r}
		if lu, ok := l.(*Union); ok {
			ins = append(lu.In, r)
		}
		u := &Union{In: ins}
		u.nodeProps = nodeProps{schema: lt, rowtime: -1, updating: l.props().updating || r.props().updating}
		return u, scopeOf("", lt), nil
	case *ast.Values:
		return nil, nil, b.unsupported(q, "VALUES", "read rows from a table (the 'datagen' or 'filesystem' connector)")
	}
	return nil, nil, b.unsupported(body, "this query", "")
}

// selectStmt binds SELECT … FROM … WHERE … GROUP BY … HAVING ….
func (b *binder) selectStmt(s *ast.Select) (Node, scope, error) {
	if s.From == nil {
		return nil, nil, b.unsupported(s, "SELECT without FROM", "read rows from a table")
	}
	if s.Distinct {
		return nil, nil, b.unsupported(s, "SELECT DISTINCT", "GROUP BY the columns instead")
	}
	from, where := s.From, s.Where
	if j, ok := from.(*ast.Join); ok && j.Kind == ast.InnerJoin && where != nil && j.On != nil {
		// WHERE of an inner join holds its time bounds as often as ON does.
		j2 := *j
		j2.On = &ast.Binary{Pos: j.On.Position(), Op: ast.And, L: j.On, R: where}
		from, where = &j2, nil
	}
	if j, ok := from.(*ast.Join); ok && j.Kind == ast.CommaJoin && where != nil {
		// FROM a, b WHERE a.k = b.k …: an inner join ON the WHERE.
		j2 := *j
		j2.Kind, j2.On = ast.InnerJoin, where
		from, where = &j2, nil
	}
	in, sc, err := b.from(from)
	if err != nil {
		return nil, nil, err
	}
	// The outer query of a Top-N or deduplication bounds the rank.
	if where != nil {
		if where, err = b.bindRank(in, sc, where); err != nil {
			return nil, nil, err
		}
	}
	if where != nil {
		ec := &exprCtx{b: b, sc: sc, where: "WHERE"}
		cond, err := ec.bind(where)
		if err != nil {
			return nil, nil, err
		}
		if cond.Type().Kind != types.Boolean {
			return nil, nil, b.errAt(where, nil, "WHERE %s is %s, not BOOLEAN", where, cond.Type())
		}
		in = b.filter(in, cond)
	}
	if len(s.GroupBy) > 0 || hasAggregate(s) {
		return b.aggregate(s, in, sc)
	}
	if s.Having != nil {
		return nil, nil, b.errAt(s.Having, nil, "HAVING without GROUP BY or aggregates: use WHERE")
	}
	// ROW_NUMBER() OVER (…) in the select list: a Top-N or deduplication
	// that the outer query bounds.
	for i, it := range s.Items {
		if call, ok := it.Expr.(*ast.Call); ok && call.Over != nil && strings.EqualFold(call.Name, "ROW_NUMBER") {
			rank, err := b.rank(call, in, sc)
			if err != nil {
				return nil, nil, err
			}
			items := append([]ast.SelectItem(nil), s.Items...)
			items[i].Expr = &ast.ColumnRef{Pos: call.Pos, Names: []string{rankColumn}}
			if items[i].Alias == "" {
				items[i].Alias = "rn"
			}
			rsc := append(append(scope(nil), sc...), scopeCol{name: rankColumn, typ: types.Type{Kind: types.BigInt, NotNull: true}})
			return b.project(items, rank, rsc)
		}
	}
	return b.project(s.Items, in, sc)
}

// rankColumn names the row number inside the planner; no SQL name can
// take it.
const rankColumn = "$rownum"

// filter returns in filtered by cond, fused into in when in is a Calc.
func (b *binder) filter(in Node, cond expr.Expr) Node {
	if c, ok := in.(*Calc); ok && c.Filter == nil && c.identity() {
		c.Filter = cond
		return c
	}
	exprs := make([]expr.Expr, len(in.Schema()))
	for i, f := range in.Schema() {
		exprs[i] = expr.NewColumn(i, f.Name, f.Type)
	}
	return newCalc(in, exprs, in.Schema(), cond)
}

// project binds a select list over in.
func (b *binder) project(items []ast.SelectItem, in Node, sc scope) (Node, scope, error) {
	ec := &exprCtx{b: b, sc: sc, where: "SELECT"}
	var exprs []expr.Expr
	var out scope
	for _, it := range items {
		if star, ok := it.Expr.(*ast.Star); ok {
			n := 0
			for i, c := range sc {
				if c.name == rankColumn || (star.Table != nil && c.rel != strings.Join(star.Table, ".")) {
					continue
				}
				exprs = append(exprs, expr.NewColumn(i, c.name, c.typ))
				out = append(out, scopeCol{name: c.name, typ: c.typ})
				n++
			}
			if n == 0 {
				return nil, nil, b.errAt(star, nil, "%s matches no columns", star)
			}
			continue
		}
		x, err := ec.bind(it.Expr)
		if err != nil {
			return nil, nil, err
		}
		exprs = append(exprs, x)
		out = append(out, scopeCol{name: itemName(it, len(out)), typ: x.Type()})
	}
	if err := checkUnique(b, items, out); err != nil {
		return nil, nil, err
	}
	if isIdentity(exprs, in.Schema()) && sameNames(out, in.Schema()) {
		return in, out, nil
	}
	return newCalc(in, exprs, out.schema(), nil), out, nil
}

func sameNames(sc scope, s types.Schema) bool {
	for i := range sc {
		if sc[i].name != s[i].Name {
			return false
		}
	}
	return true
}

// checkUnique renames the later of two output columns of one name as
// Flink does (n, n0, n1 …), so that every column has its own name.
func checkUnique(_ *binder, _ []ast.SelectItem, out scope) error {
	seen := map[string]bool{}
	for i := range out {
		name := out[i].name
		for k := 0; seen[name]; k++ {
			name = out[i].name + strconv.Itoa(k)
		}
		out[i].name = name
		seen[name] = true
	}
	return nil
}

// itemName is a select item's column name: its alias, a column's own
// name, else EXPR$i as Flink names it.
func itemName(it ast.SelectItem, i int) string {
	if it.Alias != "" {
		return it.Alias
	}
	if c, ok := it.Expr.(*ast.ColumnRef); ok {
		return c.Names[len(c.Names)-1]
	}
	return "EXPR$" + strconv.Itoa(i)
}

// from binds a FROM item.
func (b *binder) from(te ast.TableExpr) (Node, scope, error) {
	switch t := te.(type) {
	case *ast.TableName:
		if t.SystemTime != nil {
			return nil, nil, b.unsupported(t, "FOR SYSTEM_TIME AS OF (a lookup join)", "")
		}
		n, err := b.table(t, t.Name)
		if err != nil {
			return nil, nil, err
		}
		rel := t.Alias
		if rel == "" {
			rel = t.Name[len(t.Name)-1]
		}
		return b.alias(t, n, rel, t.ColumnAliases)
	case *ast.Subquery:
		n, _, err := b.query(t.Query)
		if err != nil {
			return nil, nil, err
		}
		return b.alias(t, n, t.Alias, t.ColumnAliases)
	case *ast.TableFunc:
		n, err := b.windowTVF(t)
		if err != nil {
			return nil, nil, err
		}
		return b.alias(t, n, t.Alias, t.ColumnAliases)
	case *ast.Join:
		return b.join(t)
	}
	return nil, nil, b.unsupported(te, "this FROM item", "")
}

// alias names n's columns for the enclosing query.
func (b *binder) alias(at ast.Node, n Node, rel string, cols []string) (Node, scope, error) {
	sc := scopeOf(rel, n.Schema())
	if cols != nil {
		if len(cols) != len(sc) {
			return nil, nil, b.errAt(at, nil, "%d column aliases for %d columns: name each column once", len(cols), len(sc))
		}
		for i := range sc {
			sc[i].name = cols[i]
		}
	}
	return n, sc, nil
}

// table binds a table or view name.
func (b *binder) table(at ast.Node, parts []string) (Node, error) {
	name := strings.Join(parts, ".")
	if t, err := b.p.Catalog.GetTable(name); err == nil {
		return b.scan(at, t)
	}
	if v, err := b.p.Catalog.GetView(name); err == nil {
		for _, seen := range b.views {
			if seen == name {
				return nil, b.errAt(at, nil, "view %s reads itself", name)
			}
		}
		stmt, err := parser.Parse(v.Query)
		if err != nil {
			return nil, b.errAt(at, err, "the query of view %s", name)
		}
		q, ok := stmt.(*ast.Query)
		if !ok {
			return nil, b.errAt(at, nil, "view %s holds no query", name)
		}
		vb := &binder{p: b.p, src: v.Query, views: append(b.views, name)}
		n, _, err := vb.query(q)
		if err != nil {
			return nil, b.errAt(at, err, "view %s", name)
		}
		if len(v.Schema) == len(n.Schema()) {
			// The view's declared column names.
			exprs := make([]expr.Expr, len(v.Schema))
			for i, f := range n.Schema() {
				exprs[i] = expr.NewColumn(i, f.Name, f.Type)
			}
			if !sameNames(scopeOf("", v.Schema), n.Schema()) {
				s := n.Schema()
				renamed := make(types.Schema, len(s))
				for i := range s {
					renamed[i] = types.Field{Name: v.Schema[i].Name, Type: s[i].Type}
				}
				return newCalc(n, exprs, renamed, nil), nil
			}
		}
		return n, nil
	}
	tables, _ := b.p.Catalog.ListTables()
	views, _ := b.p.Catalog.ListViews()
	known := append(tables, views...)
	if len(known) == 0 {
		return nil, b.errAt(at, nil, "no table or view %s: there are none; create it with CREATE TABLE", name)
	}
	return nil, b.errAt(at, nil, "no table or view %s: the known ones are %s", name, strings.Join(known, ", "))
}

// scan binds a table: its physical columns read by its connector, then
// its computed columns as a Calc.
func (b *binder) scan(at ast.Node, t catalog.Table) (Node, error) {
	phys := t.Physical().Flatten()
	s := &Scan{Table: t, Physical: phys}
	s.nodeProps = nodeProps{schema: phys, rowtime: -1}
	// The full row: physical columns flattened, with the computed ones in
	// their declared places.
	var exprs []expr.Expr
	var schema types.Schema
	psc := scopeOf(t.Name, phys)
	ec := &exprCtx{b: &binder{p: b.p}, sc: psc, where: "a computed column of " + t.Name}
	pi := 0
	computed := false
	for _, c := range t.Columns {
		if !c.Computed() {
			for _, leaf := range (types.Schema{{Name: c.Name, Type: c.Type}}).Flatten() {
				exprs = append(exprs, expr.NewColumn(pi, leaf.Name, leaf.Type))
				schema = append(schema, leaf)
				pi++
			}
			continue
		}
		computed = true
		ax, err := parser.ParseExpr(c.Expr)
		if err != nil {
			return nil, b.errAt(at, err, "computed column %s of table %s", c.Name, t.Name)
		}
		ec.b.src = c.Expr
		x, err := ec.bind(ax)
		if err != nil {
			return nil, b.errAt(at, err, "computed column %s of table %s", c.Name, t.Name)
		}
		exprs = append(exprs, x)
		schema = append(schema, types.Field{Name: c.Name, Type: x.Type()})
	}
	var n Node = s
	if computed {
		n = newCalc(s, exprs, schema, nil)
	}
	if t.Watermark == nil {
		return n, nil
	}
	wm := t.Watermark
	col := schema.Index(wm.Column)
	if col < 0 {
		return nil, b.errAt(at, nil, "table %s: the WATERMARK is for %s, which is not a column", t.Name, wm.Column)
	}
	if k := schema[col].Type.Kind; k != types.Timestamp && k != types.TimestampLTZ {
		return nil, b.errAt(at, nil, "table %s: the WATERMARK column %s is %s: it must be TIMESTAMP(3) or TIMESTAMP_LTZ(3)", t.Name, wm.Column, schema[col].Type)
	}
	delay, err := watermarkDelay(wm)
	if err != nil {
		return nil, b.errAt(at, err, "table %s: WATERMARK FOR %s AS %s", t.Name, wm.Column, wm.Expr)
	}
	s.Time, s.Delay = exprs[col], delay
	n.props().rowtime = col
	if c, ok := exprs[col].(*expr.Column); ok && !computed {
		s.rowtime = c.Index
	}
	return n, nil
}

// watermarkDelay reads the delay of WATERMARK FOR c AS c [- INTERVAL …].
func watermarkDelay(wm *catalog.Watermark) (time.Duration, error) {
	e, err := parser.ParseExpr(wm.Expr)
	if err != nil {
		return 0, err
	}
	isCol := func(e ast.Expr) bool {
		c, ok := e.(*ast.ColumnRef)
		return ok && len(c.Names) == 1 && c.Names[0] == wm.Column
	}
	if isCol(e) {
		return 0, nil
	}
	if bin, ok := e.(*ast.Binary); ok && bin.Op == ast.Sub && isCol(bin.L) {
		if iv, ok := bin.R.(*ast.IntervalLit); ok {
			ms, err := iv.Millis()
			if err != nil {
				return 0, err
			}
			if ms < 0 {
				return 0, fmt.Errorf("the interval is negative: write a positive one")
			}
			return time.Duration(ms) * time.Millisecond, nil
		}
	}
	return 0, fmt.Errorf("only `%s` and `%s - INTERVAL '…' unit` are supported as a watermark", wm.Column, wm.Column)
}
