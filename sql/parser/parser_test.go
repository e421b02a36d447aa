package parser

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/weirstream/weir/sql/ast"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata")

// stripPos zeroes every position in the tree v points into, so that trees
// parsed from different text compare equal.
func stripPos(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			stripPos(v.Elem())
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[ast.Pos]() {
			if v.CanSet() {
				v.Set(reflect.Zero(v.Type()))
			}
			return
		}
		for i := range v.NumField() {
			stripPos(v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			stripPos(v.Index(i))
		}
	}
}

// sameTree reports whether a and b are equal, positions aside.
func sameTree(a, b ast.Node) bool {
	stripPos(reflect.ValueOf(a))
	stripPos(reflect.ValueOf(b))
	return reflect.DeepEqual(a, b)
}

// checkRoundTrip checks that s prints as SQL that parses to the same tree
// and prints the same again.
func checkRoundTrip(t testing.TB, s ast.Statement) {
	t.Helper()
	text := s.String()
	again, err := Parse(text)
	if err != nil {
		t.Fatalf("the printed statement does not parse:\n%s\n%v", text, err)
	}
	if again.String() != text {
		t.Fatalf("printing is not stable:\n%s\n%s", text, again.String())
	}
	if !sameTree(s, again) {
		t.Fatalf("parse → print → parse gives another tree for\n%s", text)
	}
}

// TestCorpus parses every script of testdata/corpus — the PV/UV job, the
// Nexmark DDL and queries q0–q22, and the rest of the dialect — checks the
// round trip of each statement, and compares the printed statements with
// the .golden file beside each script.
func TestCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*.sql")
	if err != nil || len(files) < 25 {
		t.Fatalf("corpus: %d files, %v", len(files), err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			stmts, err := ParseScript(string(src))
			if err != nil {
				t.Fatalf("%s:\n%v", file, err)
			}
			var out strings.Builder
			for _, s := range stmts {
				out.WriteString(s.String() + ";\n")
				checkRoundTrip(t, s)
			}
			golden(t, strings.TrimSuffix(file, ".sql")+".golden", out.String())
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// TestErrors runs the error cases of testdata/errors.txt: each input, then
// a line "----", then the error it must give (message, source line and
// caret), then a line "====".
func TestErrors(t *testing.T) {
	src, err := os.ReadFile("testdata/errors.txt")
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for _, c := range strings.Split(string(src), "====\n") {
		if strings.TrimSpace(c) == "" {
			continue
		}
		input, want, ok := strings.Cut(c, "----\n")
		if !ok {
			t.Fatalf("case without ----: %q", c)
		}
		input = strings.TrimSuffix(input, "\n")
		_, err := ParseScript(input)
		got := "(no error)"
		if err != nil {
			got = err.Error()
			var perr *Error
			if !errors.As(err, &perr) {
				t.Errorf("%q: the error is a %T, not an *Error", input, err)
			}
		}
		if !*update && strings.TrimSuffix(want, "\n") != got {
			t.Errorf("input:\n%s\ngot:\n%s\nwant:\n%s", input, got, want)
		}
		out.WriteString(input + "\n----\n" + got + "\n====\n")
	}
	if *update {
		if err := os.WriteFile("testdata/errors.txt", []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// parens prints e with every operator's operands in parentheses, to show
// how the parser grouped them.
func parens(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Binary:
		return "(" + parens(e.L) + " " + e.Op.String() + " " + parens(e.R) + ")"
	case *ast.Unary:
		op := map[ast.UnaryOp]string{ast.Neg: "-", ast.Plus: "+", ast.Not: "NOT "}[e.Op]
		return "(" + op + parens(e.X) + ")"
	case *ast.Is:
		return "(" + parens(e.X) + " IS ...)"
	case *ast.Between:
		return "(" + parens(e.X) + " BETWEEN " + parens(e.Lo) + " AND " + parens(e.Hi) + ")"
	case *ast.Like:
		return "(" + parens(e.X) + " LIKE " + parens(e.Pattern) + ")"
	case *ast.In:
		return "(" + parens(e.X) + " IN ...)"
	}
	return e.String()
}

// TestPrecedence checks Calcite's precedences and left associativity.
func TestPrecedence(t *testing.T) {
	for in, want := range map[string]string{
		"a OR b AND c":                    "(a OR (b AND c))",
		"a AND b OR c":                    "((a AND b) OR c)",
		"NOT a = b":                       "(NOT (a = b))",
		"NOT a AND b":                     "((NOT a) AND b)",
		"a = b AND c <> d":                "((a = b) AND (c <> d))",
		"a - b - c":                       "((a - b) - c)",
		"a / b * c":                       "((a / b) * c)",
		"a + b * c":                       "(a + (b * c))",
		"a || b + c":                      "((a || b) + c)",
		"-a * b":                          "((-a) * b)",
		"- - a":                           "(-(-a))",
		"a = b IS NULL":                   "((a = b) IS ...)",
		"a + 1 BETWEEN b AND c + 1 AND d": "(((a + 1) BETWEEN b AND (c + 1)) AND d)",
		"a < b BETWEEN c AND d":           "(a < (b BETWEEN c AND d))",
		"a LIKE b || 'x' OR c":            "((a LIKE (b || 'x')) OR c)",
		"a NOT IN (1) AND b":              "((a IN ...) AND b)",
		"x - INTERVAL '5' SECOND":         "(x - INTERVAL '5' SECOND)",
		"(a OR b) AND c":                  "((a OR b) AND c)",
		"a % b % c":                       "((a % b) % c)",
	} {
		e, err := ParseExpr(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if got := parens(e); got != want {
			t.Errorf("%s: got %s, want %s", in, got, want)
		}
		again, err := ParseExpr(e.String())
		if err != nil || !sameTree(e, again) {
			t.Errorf("%s: printed as %s, which parses to another tree (%v)", in, e.String(), err)
		}
	}
}

// TestKeywordsAndNames checks that keywords are case-insensitive, that
// names keep their case, and that quoted names may be keywords.
func TestKeywordsAndNames(t *testing.T) {
	s, err := Parse("select `Select`, MyCol from `My Table` As T where t.`from` = 'X'")
	if err != nil {
		t.Fatal(err)
	}
	sel := s.(*ast.Query).Body.(*ast.Select)
	if got := sel.Items[0].Expr.(*ast.ColumnRef).Names; !reflect.DeepEqual(got, []string{"Select"}) {
		t.Errorf("quoted keyword: %q", got)
	}
	if got := sel.Items[1].Expr.(*ast.ColumnRef).Names; !reflect.DeepEqual(got, []string{"MyCol"}) {
		t.Errorf("name case: %q", got)
	}
	tn := sel.From.(*ast.TableName)
	if !reflect.DeepEqual(tn.Name, []string{"My Table"}) || tn.Alias != "T" {
		t.Errorf("table: %q alias %q", tn.Name, tn.Alias)
	}
	const want = "SELECT `Select`, MyCol FROM `My Table` AS T WHERE t.`from` = 'X'"
	if s.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", s.String(), want)
	}
}

// TestPositions checks the line, column and offset of nodes, counted from
// the start of the script for statements after the first.
func TestPositions(t *testing.T) {
	const src = "SET 'a' = 'b';\n-- a comment; with a semicolon\nSELECT x,\n\t  y + 1 AS z\nFROM t;"
	stmts, err := ParseScript(src)
	if err != nil {
		t.Fatal(err)
	}
	q := stmts[1].(*ast.Query)
	if want := (ast.Pos{Offset: 46, Line: 3, Column: 1}); q.Position() != want {
		t.Errorf("query at %+v, want %+v", q.Position(), want)
	}
	sel := q.Body.(*ast.Select)
	plus := sel.Items[1].Expr.(*ast.Binary)
	if want := (ast.Pos{Offset: 59, Line: 4, Column: 4}); plus.Position() != want {
		t.Errorf("y + 1 at %+v, want %+v", plus.Position(), want)
	}
	if want := (ast.Pos{Offset: 63, Line: 4, Column: 8}); plus.R.Position() != want {
		t.Errorf("1 at %+v, want %+v", plus.R.Position(), want)
	}
	if got := sel.From.Position(); got.Line != 5 || got.Column != 6 {
		t.Errorf("t at %+v", got)
	}
}

// TestSplit checks that only the ';' outside strings, quoted names and
// comments end a statement, and where each statement starts.
func TestSplit(t *testing.T) {
	const src = "  SELECT ';' AS `a;b` -- c;\n ; /* ; */ ;\nSHOW TABLES\n"
	pieces, err := Split(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(pieces) != 2 {
		t.Fatalf("%d pieces: %+v", len(pieces), pieces)
	}
	if pieces[0].Text != "SELECT ';' AS `a;b`" || pieces[0].Pos != (ast.Pos{Offset: 2, Line: 1, Column: 3}) {
		t.Errorf("first: %q at %+v", pieces[0].Text, pieces[0].Pos)
	}
	if pieces[1].Text != "SHOW TABLES" || pieces[1].Pos != (ast.Pos{Offset: 41, Line: 3, Column: 1}) {
		t.Errorf("second: %q at %+v", pieces[1].Text, pieces[1].Pos)
	}
	for _, pc := range pieces {
		if _, err := pc.Parse(); err != nil {
			t.Error(err)
		}
	}
	// An error in a later statement points into the script.
	_, err = ParseScript("SHOW TABLES;\n\nSELECT FROM t")
	var perr *Error
	if !errors.As(err, &perr) || perr.Line != 3 || perr.Column != 8 || perr.SourceLine != "SELECT FROM t" {
		t.Errorf("error: %#v", err)
	}
}

// TestParseOneStatement checks that Parse takes one statement, with or
// without its ';', and refuses a second.
func TestParseOneStatement(t *testing.T) {
	for _, src := range []string{"SHOW TABLES", "SHOW TABLES;", " show tables ; -- done"} {
		if _, err := Parse(src); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
	if _, err := Parse("SHOW TABLES; SHOW VIEWS"); err == nil {
		t.Error("two statements parsed as one")
	}
}

// TestTypes checks the column types and their defaults.
func TestTypes(t *testing.T) {
	s, err := Parse(`CREATE TABLE t (a VARCHAR(5) NOT NULL, b DECIMAL, c TIMESTAMP, d TIMESTAMP_LTZ(3),
		e ROW(x INT, y ROW<z DOUBLE>), f INTEGER NULL, g DOUBLE PRECISION, h TIMESTAMP(3) WITHOUT TIME ZONE)`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range s.(*ast.CreateTable).Columns {
		got = append(got, ast.TypeString(c.Type))
	}
	want := []string{"STRING NOT NULL", "DECIMAL(10, 0)", "TIMESTAMP(6)", "TIMESTAMP_LTZ(3)",
		"ROW<x INT, y ROW<z DOUBLE>>", "INT", "DOUBLE", "TIMESTAMP(3)"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("types:\n%q\nwant\n%q", got, want)
	}
}

// FuzzParse checks that no input makes the parser panic or loop, and that
// every statement it accepts prints as SQL that parses to the same tree
// and prints the same again.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*.sql")
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		pieces, err := Split(string(src))
		if err != nil {
			f.Fatal(err)
		}
		for _, pc := range pieces {
			f.Add(pc.Text)
		}
	}
	errs, err := os.ReadFile("testdata/errors.txt")
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range strings.Split(string(errs), "====\n") {
		if input, _, ok := strings.Cut(c, "----\n"); ok {
			f.Add(strings.TrimSuffix(input, "\n"))
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		s, err := Parse(src)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("the error is a %T, not an *Error", err)
			}
			_ = perr.Error()
			return
		}
		checkRoundTrip(t, s)
	})
}

// reachableNodes counts the pointers to nodes under v, by reflection: the
// oracle for ast.Inspect.
func reachableNodes(v reflect.Value, seen map[uintptr]bool) int {
	n := 0
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			n += reachableNodes(v.Elem(), seen)
		}
	case reflect.Pointer:
		if v.IsNil() || seen[v.Pointer()] {
			return 0
		}
		seen[v.Pointer()] = true
		if _, ok := v.Interface().(ast.Node); ok {
			n++
		}
		n += reachableNodes(v.Elem(), seen)
	case reflect.Struct:
		for i := range v.NumField() {
			n += reachableNodes(v.Field(i), seen)
		}
	case reflect.Slice:
		for i := range v.Len() {
			n += reachableNodes(v.Index(i), seen)
		}
	}
	return n
}

// TestInspect checks that ast.Inspect visits every node of the corpus,
// against a count by reflection.
func TestInspect(t *testing.T) {
	files, _ := filepath.Glob("testdata/corpus/*.sql")
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		stmts, err := ParseScript(string(src))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stmts {
			visited := 0
			ast.Inspect(s, func(ast.Node) bool { visited++; return true })
			if want := reachableNodes(reflect.ValueOf(s), map[uintptr]bool{}); visited != want {
				t.Errorf("%s: Inspect visits %d nodes of %d in\n%s", file, visited, want, s)
			}
		}
	}
	// Returning false skips the children.
	s, _ := Parse("SELECT (SELECT 1) FROM t")
	visited := 0
	ast.Inspect(s, func(n ast.Node) bool { visited++; _, sub := n.(*ast.SubqueryExpr); return !sub })
	if visited != 4 { // Query, Select, SubqueryExpr, TableName
		t.Errorf("visited %d nodes, want 4", visited)
	}
}

// TestComplete checks when a shell has a whole statement to run.
func TestComplete(t *testing.T) {
	for src, want := range map[string]bool{
		"SELECT 1;":                 true,
		"SELECT 1; -- done":         true,
		"SELECT 1":                  false,
		"SELECT ';'":                false,
		"SELECT 'a;\n":              false,
		"SELECT 1 /* ; */":          false,
		"SELECT 1 /* ;":             false,
		"SELECT `a;`":               false,
		"SELECT 1;\nSELECT 2;":      true,
		";":                         false,
		"  ; ;":                     false,
		"SELECT 1 ;;":               true,
		"SELECT \"x\";":             true,
		"CREATE TABLE t (\n  a INT": false,
	} {
		if got := Complete(src); got != want {
			t.Errorf("Complete(%q) = %v, want %v", src, got, want)
		}
	}
}

// BenchmarkParseCorpus parses every script of the corpus.
func BenchmarkParseCorpus(b *testing.B) {
	files, _ := filepath.Glob("testdata/corpus/*.sql")
	var srcs []string
	size := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			b.Fatal(err)
		}
		srcs = append(srcs, string(src))
		size += len(src)
	}
	b.SetBytes(int64(size))
	for b.Loop() {
		for _, src := range srcs {
			if _, err := ParseScript(src); err != nil {
				b.Fatal(err)
			}
		}
	}
}
