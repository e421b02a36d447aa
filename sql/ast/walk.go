package ast

// Inspect walks the tree under n in depth-first order: it calls f(n), and
// if f returns true, Inspect walks each child of n in source order. Nodes
// that are not interfaces of this package (a CTE, a Column, an Option)
// are not passed to f, but their children are walked. nil children are
// skipped.
func Inspect(n Node, f func(Node) bool) {
	if n == nil || isNilNode(n) || !f(n) {
		return
	}
	for _, c := range children(n) {
		Inspect(c, f)
	}
}

func isNilNode(n Node) bool {
	switch n := n.(type) {
	case *Query:
		return n == nil
	case *Call:
		return n == nil
	case *Window:
		return n == nil
	case *Watermark:
		return n == nil
	}
	return false
}

func exprs(es ...Expr) []Node {
	out := make([]Node, 0, len(es))
	for _, e := range es {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

func orderNodes(items []OrderItem) []Node {
	out := make([]Node, 0, len(items))
	for _, o := range items {
		out = append(out, o.Expr)
	}
	return out
}

// children returns the child nodes of n in source order.
func children(n Node) []Node {
	switch n := n.(type) {
	case *CreateTable:
		var out []Node
		for _, c := range n.Columns {
			if c.Computed != nil {
				out = append(out, c.Computed)
			}
		}
		if n.Watermark != nil {
			out = append(out, n.Watermark)
		}
		return out
	case *Watermark:
		return exprs(n.Expr)
	case *CreateView:
		return []Node{n.Query}
	case *Insert:
		return []Node{n.Query}
	case *Explain:
		return []Node{n.Statement}
	case *Query:
		var out []Node
		for _, c := range n.With {
			out = append(out, c.Query)
		}
		out = append(out, n.Body)
		out = append(out, orderNodes(n.OrderBy)...)
		return append(out, exprs(n.Limit)...)
	case *Select:
		var out []Node
		for _, it := range n.Items {
			out = append(out, it.Expr)
		}
		if n.From != nil {
			out = append(out, n.From)
		}
		out = append(out, exprs(n.Where)...)
		out = append(out, exprs(n.GroupBy...)...)
		return append(out, exprs(n.Having)...)
	case *SetOp:
		return []Node{n.Left, n.Right}
	case *Values:
		var out []Node
		for _, r := range n.Rows {
			out = append(out, exprs(r...)...)
		}
		return out
	case *TableName:
		return exprs(n.SystemTime)
	case *Subquery:
		return []Node{n.Query}
	case *TableFunc:
		return []Node{n.Call}
	case *Join:
		return append([]Node{n.Left, n.Right}, exprs(n.On)...)
	case *Unary:
		return exprs(n.X)
	case *Binary:
		return exprs(n.L, n.R)
	case *Is:
		return exprs(n.X)
	case *Between:
		return exprs(n.X, n.Lo, n.Hi)
	case *In:
		out := exprs(n.X)
		out = append(out, exprs(n.List...)...)
		if n.Query != nil {
			out = append(out, n.Query)
		}
		return out
	case *Like:
		return exprs(n.X, n.Pattern, n.Escape)
	case *Case:
		out := exprs(n.Operand)
		for _, w := range n.Whens {
			out = append(out, exprs(w.Cond, w.Result)...)
		}
		return append(out, exprs(n.Else)...)
	case *Cast:
		return exprs(n.X)
	case *Call:
		out := exprs(n.Args...)
		out = append(out, exprs(n.Filter)...)
		if n.Over != nil {
			out = append(out, n.Over)
		}
		return out
	case *Window:
		out := exprs(n.PartitionBy...)
		out = append(out, orderNodes(n.OrderBy)...)
		if n.Frame != nil {
			out = append(out, exprs(n.Frame.Start.Offset, n.Frame.End.Offset)...)
		}
		return out
	case *NamedArg:
		return exprs(n.Value)
	case *Extract:
		return exprs(n.X)
	case *Trim:
		return exprs(n.Chars, n.X)
	case *RowExpr:
		return exprs(n.Fields...)
	case *SubqueryExpr:
		return []Node{n.Query}
	case *Exists:
		return []Node{n.Query}
	}
	return nil
}
