package planner

import (
	"fmt"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/types"
)

// Node is a node of a logical plan: a relation with a schema, computed
// from its inputs. The node types are closed: [Scan], [Calc], [WindowTVF],
// [WindowAgg], [GroupAgg], [Rank], [Union] and [Sink].
type Node interface {
	// Schema returns the node's columns.
	Schema() types.Schema
	// Inputs returns the nodes it reads.
	Inputs() []Node
	// String describes the node on one line, as EXPLAIN shows it.
	String() string
	props() *nodeProps
}

// nodeProps are what the planner tracks of every node.
type nodeProps struct {
	schema types.Schema
	// rowtime is the column that holds the rows' event time (the time
	// attribute), or -1.
	rowtime int
	// win locates window_start and window_end of a windowed relation, or
	// is nil.
	win *windowCols
	// updating says the rows are an updating changelog.
	updating bool
}

func (p *nodeProps) Schema() types.Schema { return p.schema }
func (p *nodeProps) props() *nodeProps    { return p }

// windowCols are the window columns of a windowed relation.
type windowCols struct {
	start, end int
	zone       *time.Location
}

// Scan reads a table through its connector's factory. Its rows are the
// table's physical columns (ROW fields flattened); computed columns are
// a Calc above it.
type Scan struct {
	nodeProps
	Table catalog.Table
	// Physical is the flattened physical schema the factory produces.
	Physical types.Schema
	// Time is the rowtime expression over the physical row (the
	// WATERMARK's column, maybe computed), or nil without a watermark.
	Time expr.Expr
	// Delay is the watermark's delay behind Time.
	Delay time.Duration
}

// Inputs implements Node.
func (*Scan) Inputs() []Node { return nil }

// String implements Node.
func (s *Scan) String() string {
	out := fmt.Sprintf("Scan(table=[%s], fields=[%s]", s.Table.Name, strings.Join(s.Physical.Names(), ", "))
	if s.Time != nil {
		out += fmt.Sprintf(", watermark=[%s - %s]", s.Time, s.Delay)
	}
	return out + ")"
}

// Calc is a fused filter and projection: the rows where Filter holds,
// each computed into Exprs. It compiles to one operator.
type Calc struct {
	nodeProps
	Input  Node
	Exprs  []expr.Expr
	Filter expr.Expr // nil: every row
}

// Inputs implements Node.
func (c *Calc) Inputs() []Node { return []Node{c.Input} }

// String implements Node.
func (c *Calc) String() string {
	parts := make([]string, len(c.Exprs))
	for i, e := range c.Exprs {
		parts[i] = e.String()
		if name := c.schema[i].Name; name != parts[i] {
			parts[i] += " AS " + name
		}
	}
	s := "Calc(select=[" + strings.Join(parts, ", ") + "]"
	if c.Filter != nil {
		s += ", where=[" + c.Filter.String() + "]"
	}
	return s + ")"
}

// identity reports whether c passes its input's columns through unchanged.
func (c *Calc) identity() bool {
	if c.Filter != nil || len(c.Exprs) != len(c.Input.Schema()) {
		return false
	}
	for i, e := range c.Exprs {
		col, ok := e.(*expr.Column)
		if !ok || col.Index != i {
			return false
		}
	}
	return true
}

// WindowTVF is a windowing table-valued function over its input: the
// input's columns, then window_start, window_end and window_time. A
// window aggregate over it runs as one operator; otherwise it assigns
// each row its windows.
type WindowTVF struct {
	nodeProps
	Input  Node
	Window exec.WindowSpec
	// partition is SESSION's PARTITION BY columns.
	partition []string
}

// Inputs implements Node.
func (w *WindowTVF) Inputs() []Node { return []Node{w.Input} }

// String implements Node.
func (w *WindowTVF) String() string {
	return "WindowTableFunction(" + windowString(w.Window, w.Input) + ")"
}

func windowString(w exec.WindowSpec, in Node) string {
	s := fmt.Sprintf("%s(time_col=[%s], size=[%s]", w.Kind, in.Schema()[w.TimeCol].Name, w.Size)
	switch w.Kind {
	case exec.Hop:
		s += fmt.Sprintf(", slide=[%s]", w.Slide)
	case exec.Cumulate:
		s += fmt.Sprintf(", step=[%s]", w.Step)
	case exec.Session:
		s = fmt.Sprintf("%s(time_col=[%s], gap=[%s]", w.Kind, in.Schema()[w.TimeCol].Name, w.Gap)
	}
	if w.Offset != 0 {
		s += fmt.Sprintf(", offset=[%s]", w.Offset)
	}
	return s + ")"
}

// WindowAgg is a window aggregate: keys…, window_start, window_end,
// aggregates… per window and key.
type WindowAgg struct {
	nodeProps
	Input  Node
	Window exec.WindowSpec
	Keys   []int
	Aggs   []exec.AggCall
	// AggText are the aggregates as written, for EXPLAIN.
	AggText []string
}

// Inputs implements Node.
func (w *WindowAgg) Inputs() []Node { return []Node{w.Input} }

// String implements Node.
func (w *WindowAgg) String() string {
	return fmt.Sprintf("WindowAggregate(window=[%s], groupBy=[%s], select=[%s])",
		windowString(w.Window, w.Input), colNames(w.Input, w.Keys), strings.Join(w.AggText, ", "))
}

// GroupAgg is an aggregate without windows, an updating relation: keys…,
// aggregates….
type GroupAgg struct {
	nodeProps
	Input   Node
	Keys    []int
	Aggs    []exec.AggCall
	AggText []string
}

// Inputs implements Node.
func (g *GroupAgg) Inputs() []Node { return []Node{g.Input} }

// String implements Node.
func (g *GroupAgg) String() string {
	return fmt.Sprintf("GroupAggregate(groupBy=[%s], select=[%s], changelog=[updating])",
		colNames(g.Input, g.Keys), strings.Join(g.AggText, ", "))
}

// Rank is ROW_NUMBER() OVER (PARTITION BY … ORDER BY …) bounded by an
// outer rn <= N: a window Top-N when the partition holds window_start
// and window_end, a deduplication when N is 1 and the order is a time
// attribute. Its rows are the input's and the row number.
type Rank struct {
	nodeProps
	Input       Node
	PartitionBy []int
	OrderBy     []exec.SortKey
	N           int // 0 until the outer query bounds it
	// over is where ROW_NUMBER() was written, for errors.
	over errPos
}

// Inputs implements Node.
func (r *Rank) Inputs() []Node { return []Node{r.Input} }

// String implements Node.
func (r *Rank) String() string {
	order := make([]string, len(r.OrderBy))
	for i, k := range r.OrderBy {
		order[i] = r.Input.Schema()[k.Col].Name
		if k.Desc {
			order[i] += " DESC"
		}
	}
	kind := "Rank"
	switch {
	case r.Input.props().win != nil:
		kind = "WindowRank"
	case r.dedup():
		kind = "Deduplicate"
	}
	return fmt.Sprintf("%s(partitionBy=[%s], orderBy=[%s], rankRange=[1..%d])", kind, colNames(r.Input, r.PartitionBy), strings.Join(order, ", "), r.N)
}

// dedup reports whether r keeps the first or last row per key by a time
// attribute.
func (r *Rank) dedup() bool {
	return r.N == 1 && len(r.OrderBy) == 1 && r.OrderBy[0].Col == r.Input.props().rowtime
}

// Union is UNION ALL of its inputs.
type Union struct {
	nodeProps
	In []Node
}

// Inputs implements Node.
func (u *Union) Inputs() []Node { return u.In }

// String implements Node.
func (u *Union) String() string { return "Union(all=[true])" }

// Sink writes its input into a table.
type Sink struct {
	nodeProps
	Input Node
	Table catalog.Table
}

// Inputs implements Node.
func (s *Sink) Inputs() []Node { return []Node{s.Input} }

// String implements Node.
func (s *Sink) String() string {
	return fmt.Sprintf("Sink(table=[%s], fields=[%s])", s.Table.Name, strings.Join(s.schema.Names(), ", "))
}

func colNames(n Node, cols []int) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = n.Schema()[c].Name
	}
	return strings.Join(names, ", ")
}

// Explain returns the plan as an indented tree, one node a line.
func Explain(n Node) string {
	var b strings.Builder
	var walk func(n Node, depth int)
	walk = func(n Node, depth int) {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(n.String())
		b.WriteByte('\n')
		for _, in := range n.Inputs() {
			walk(in, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}
