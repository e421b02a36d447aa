package planner

import (
	"strings"

	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/types"
)

// Table checks CREATE TABLE and returns the table to store: its
// connector and options are checked against the registry, its computed
// columns and watermark bound, so that a table that would not run is
// refused when it is created.
func (p *Planner) Table(ct *ast.CreateTable, src string) (catalog.Table, error) {
	b := &binder{p: p, src: src}
	t := catalog.Table{Name: strings.Join(ct.Name, "."), PrimaryKey: ct.PrimaryKey}
	if ct.Comment != nil {
		t.Comment = *ct.Comment
	}
	seen := map[string]bool{}
	for _, c := range ct.Columns {
		if c.Metadata {
			return t, b.unsupported(c, "the METADATA column "+c.Name, "declare it as a physical column")
		}
		if seen[c.Name] {
			return t, b.errAt(c, nil, "column %s is declared twice: rename one", c.Name)
		}
		seen[c.Name] = true
		col := catalog.Column{Name: c.Name, Type: c.Type}
		if c.Computed != nil {
			col.Expr = c.Computed.String()
		}
		if c.Comment != nil {
			col.Comment = *c.Comment
		}
		t.Columns = append(t.Columns, col)
	}
	for _, k := range ct.PrimaryKey {
		if !seen[k] {
			return t, b.errAt(ct, nil, "PRIMARY KEY (%s): %s is not a column", strings.Join(ct.PrimaryKey, ", "), k)
		}
	}
	for _, o := range ct.Options {
		t.Options = append(t.Options, catalog.Option{Key: o.Key, Value: o.Value})
	}
	if ct.Watermark != nil {
		t.Watermark = &catalog.Watermark{Column: ct.Watermark.Column, Expr: ct.Watermark.Expr.String()}
	}
	if _, _, err := p.Tables.Resolve(t.Name, tableOptions(t)); err != nil {
		return t, b.errAt(ct, err, "CREATE TABLE %s", t.Name)
	}
	// Bind a scan of it, which checks the computed columns and watermark.
	if _, err := b.scan(ct, t); err != nil {
		return t, err
	}
	return t, nil
}

// View checks CREATE VIEW and returns the view to store, with the
// schema of its query.
func (p *Planner) View(cv *ast.CreateView, src string) (catalog.View, error) {
	b := &binder{p: p, src: src}
	v := catalog.View{Name: strings.Join(cv.Name, "."), Query: cv.Query.String()}
	n, _, err := b.query(cv.Query)
	if err != nil {
		return v, err
	}
	if err := b.checkRanks(n); err != nil {
		return v, err
	}
	v.Schema = append(types.Schema(nil), n.Schema()...)
	if cv.Columns != nil {
		if len(cv.Columns) != len(v.Schema) {
			return v, b.errAt(cv, nil, "view %s names %d columns and its query gives %d: name each column once", v.Name, len(cv.Columns), len(v.Schema))
		}
		for i := range v.Schema {
			v.Schema[i].Name = cv.Columns[i]
		}
	}
	return v, nil
}

// Describe returns the rows of DESCRIBE: name, type, null, key,
// computed expression and watermark of each column.
func Describe(t catalog.Table) (types.Schema, []types.Row) {
	schema := types.Schema{
		{Name: "name", Type: types.StringType}, {Name: "type", Type: types.StringType},
		{Name: "null", Type: types.BooleanType}, {Name: "key", Type: types.StringType},
		{Name: "extras", Type: types.StringType}, {Name: "watermark", Type: types.StringType},
	}
	var rows []types.Row
	for _, c := range t.Columns {
		key, extras, wm := types.Null, types.Null, types.Null
		for _, k := range t.PrimaryKey {
			if k == c.Name {
				key = types.StringValue("PRI(" + strings.Join(t.PrimaryKey, ", ") + ")")
			}
		}
		typ := c.Type.String()
		if c.Computed() {
			extras = types.StringValue("AS " + c.Expr)
			typ = ""
		}
		if t.Watermark != nil && t.Watermark.Column == c.Name {
			wm = types.StringValue(t.Watermark.Expr)
		}
		rows = append(rows, types.NewRow(types.StringValue(c.Name), types.StringValue(typ), types.BoolValue(!c.Type.NotNull), key, extras, wm))
	}
	return schema, rows
}
