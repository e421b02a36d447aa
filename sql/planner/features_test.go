package planner_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/connectors"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/parser"
	"github.com/weirstream/weir/sql/planner"
)

// TestFeaturesNoPanic plans every statement of the parser's feature corpus
// (each construct the parser reads) over the Nexmark tables: each plans
// or is refused; none panics.
func TestFeaturesNoPanic(t *testing.T) {
	p := &planner.Planner{Catalog: catalog.NewMemory(), Tables: connectors.Default(nil), Functions: expr.NewFunctions()}
	ddl, err := os.ReadFile("../parser/testdata/corpus/nexmark_ddl.sql")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(ddl), "'events' = '10000000',\n  'rate' = '10000000'", "'number-of-rows' = '10'", 1)
	stmts, _ := parser.ParseScript(src)
	for _, s := range stmts {
		if err := define(p, s, src); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"features.sql", "pvuv.sql"} {
		b, err := os.ReadFile("../parser/testdata/corpus/" + f)
		if err != nil {
			t.Fatal(err)
		}
		pieces, err := parser.Split(string(b))
		if err != nil {
			t.Fatal(err)
		}
		planned := 0
		for _, pc := range pieces {
			st, err := pc.Parse()
			if err != nil {
				continue
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Errorf("%s, line %d: panic: %v\n%s", f, pc.Pos.Line, r, pc.Text)
					}
				}()
				if err := define(p, st, string(b)); err == nil {
					planned++
				} else {
					t.Logf("%s, line %d: %v", f, pc.Pos.Line, firstLine(err))
				}
			}()
		}
		t.Logf("%s: %d of %d statements planned", f, planned, len(pieces))
	}
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(fmt.Sprint(err), "\n")
	return s
}
