package parser

import (
	"math/rand/v2"
	"testing"

	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/types"
)

// genExpr returns a random expression tree of the shapes the parser
// builds, at most depth deep.
func genExpr(r *rand.Rand, depth int) ast.Expr {
	if depth <= 0 {
		switch r.IntN(9) {
		case 5:
			return &ast.NullLit{}
		case 6:
			return &ast.BoolLit{Value: r.IntN(2) == 0}
		case 7:
			return &ast.TypedLit{Type: "TIMESTAMP", Value: "2026-12-07 00:00:00"}
		case 8:
			return &ast.Call{Name: "CURRENT_TIMESTAMP", NoParens: true}
		case 0:
			return &ast.NumberLit{Text: []string{"1", "2.5", ".5", "1e3"}[r.IntN(4)]}
		case 1:
			return &ast.StringLit{Value: []string{"x", "it's", ""}[r.IntN(3)]}
		case 2:
			return &ast.IntervalLit{Value: "5", Unit: ast.Second}
		default:
			names := [][]string{{"a"}, {"t", "b"}, {"day"}, {"select"}, {"unbounded"}}
			return &ast.ColumnRef{Names: names[r.IntN(len(names))]}
		}
	}
	sub := func() ast.Expr { return genExpr(r, r.IntN(depth)) }
	switch r.IntN(18) {
	case 12:
		return &ast.Extract{Unit: ast.Hour, X: sub()}
	case 13:
		return &ast.Trim{Side: []string{"", "BOTH", "LEADING"}[r.IntN(3)], Chars: sub(), X: sub()}
	case 14:
		return &ast.Call{Name: "SUBSTRING", Args: []ast.Expr{sub(), sub(), sub()}}
	case 15:
		return &ast.Call{Name: "TIMESTAMPADD", Args: []ast.Expr{&ast.UnitArg{Unit: ast.Minute}, sub(), sub()}}
	case 16:
		return &ast.Call{Name: "TUMBLE", Args: []ast.Expr{
			&ast.NamedArg{Name: "DATA", Value: &ast.TableArg{Name: []string{"t"}, PartitionBy: []string{"a", "b"}}},
			&ast.NamedArg{Name: "TIMECOL", Value: &ast.Descriptor{Columns: []string{"ts"}}},
			&ast.NamedArg{Name: "OFFSET", Value: sub()}}}
	case 17:
		q := &ast.Query{Body: &ast.Select{Items: []ast.SelectItem{{Expr: sub(), Alias: "x"}},
			From: &ast.TableName{Name: []string{"t"}}, Where: sub()}}
		if r.IntN(2) == 0 {
			return &ast.Exists{Query: q}
		}
		return &ast.SubqueryExpr{Query: q}
	case 0:
		return &ast.Unary{Op: []ast.UnaryOp{ast.Neg, ast.Plus, ast.Not}[r.IntN(3)], X: sub()}
	case 1, 2, 3:
		return &ast.Binary{Op: ast.BinaryOp(1 + r.IntN(int(ast.Concat))), L: sub(), R: sub()}
	case 4:
		return &ast.Is{X: sub(), Not: r.IntN(2) == 0, What: ast.IsWhat(1 + r.IntN(4))}
	case 5:
		return &ast.Between{X: sub(), Not: r.IntN(2) == 0, Lo: sub(), Hi: sub()}
	case 6:
		return &ast.In{X: sub(), Not: r.IntN(2) == 0, List: []ast.Expr{sub(), sub()}}
	case 7:
		l := &ast.Like{X: sub(), Not: r.IntN(2) == 0, Pattern: sub()}
		if r.IntN(2) == 0 {
			l.Escape = sub()
		}
		return l
	case 8:
		c := &ast.Case{Whens: []ast.When{{Cond: sub(), Result: sub()}}}
		if r.IntN(2) == 0 {
			c.Operand = sub()
		}
		if r.IntN(2) == 0 {
			c.Else = sub()
		}
		return c
	case 9:
		return &ast.Cast{X: sub(), Type: types.DecimalType(10, 2), Try: r.IntN(2) == 0}
	case 10:
		c := &ast.Call{Name: "f", Args: []ast.Expr{sub()}}
		if r.IntN(2) == 0 {
			c.Filter = sub()
		}
		if r.IntN(2) == 0 {
			c.Over = &ast.Window{PartitionBy: []ast.Expr{sub()}, OrderBy: []ast.OrderItem{{Expr: sub(), Desc: true}},
				Frame: &ast.Frame{Rows: true, Start: ast.FrameBound{Kind: ast.Preceding, Offset: sub()},
					End: ast.FrameBound{Kind: ast.CurrentRow}}}
		}
		return c
	default:
		return &ast.RowExpr{Fields: []ast.Expr{sub(), sub()}, Explicit: r.IntN(2) == 0}
	}
}

// TestPrintedTreesParseBack builds random expression trees, prints them
// and parses the text: the printer must put in every parenthesis that
// precedence needs, and no input should be needed that the fuzzer's byte
// mutations would rarely make.
func TestPrintedTreesParseBack(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		e := genExpr(r, 5)
		text := e.String()
		got, err := ParseExpr(text)
		if err != nil {
			t.Fatalf("%s\ndoes not parse: %v", text, err)
		}
		if !sameTree(e, got) {
			t.Fatalf("%s\nparses to another tree, printed %s", text, got)
		}
	}
}
