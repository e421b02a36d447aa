package parser_test

import (
	"fmt"

	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/parser"
)

func ExampleParseScript() {
	stmts, err := parser.ParseScript(`
		CREATE TABLE pvuv (window_start TIMESTAMP(3), pv BIGINT) WITH ('connector' = 'print');
		INSERT INTO pvuv
		SELECT window_start, COUNT(*) AS pv
		FROM TABLE(TUMBLE(TABLE access_log, DESCRIPTOR(time_local), INTERVAL '1' MINUTE))
		GROUP BY window_start, window_end;`)
	if err != nil {
		fmt.Println(err)
		return
	}
	create := stmts[0].(*ast.CreateTable)
	opt := create.Options[0]
	fmt.Println(create.Name, create.Columns[0].Type, opt.Key, "=", opt.Value, "at column", opt.Column)
	ins := stmts[1].(*ast.Insert)
	sel := ins.Query.Body.(*ast.Select)
	tvf := sel.From.(*ast.TableFunc)
	fmt.Println(tvf.Call.Name, len(tvf.Call.Args), "arguments; at line", ins.Position().Line)
	fmt.Println(sel.Items[1].Expr, "AS", sel.Items[1].Alias)
	// Output:
	// [pvuv] TIMESTAMP(3) connector = print at column 66
	// TUMBLE 3 arguments; at line 3
	// COUNT(*) AS pv
}

func ExampleError() {
	_, err := parser.Parse("SELECT a,\n  b FROM t WHERE a =")
	fmt.Println(err)
	// Output:
	// parser: line 2, column 21: expected an expression, found the end of the statement
	//     b FROM t WHERE a =
	//                       ^
}

func ExampleSplit() {
	pieces, err := parser.Split("SET 'a' = 'b;c'; -- one;\nSHOW TABLES;")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, pc := range pieces {
		fmt.Printf("line %d: %s\n", pc.Pos.Line, pc.Text)
	}
	// Output:
	// line 1: SET 'a' = 'b;c'
	// line 2: SHOW TABLES
}

func ExampleCaret() {
	src := "SELECT a\nFROM t\nGROUP BY ROLLUP_ALL(a)"
	s, _ := parser.Parse(src)
	group := s.(*ast.Query).Body.(*ast.Select).GroupBy[0]
	fmt.Printf("planner: line %d: function %s is not known\n%s\n", group.Position().Line, group.(*ast.Call).Name,
		parser.Caret(src, group.Position()))
	// Output:
	// planner: line 3: function ROLLUP_ALL is not known
	//   GROUP BY ROLLUP_ALL(a)
	//            ^
}
