package planner_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/connectors"
	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/parser"
	"github.com/weirstream/weir/sql/planner"
)

// TestRegularJoinPlan: an inner join ON a key without a time bound (or a
// comma join with the key in WHERE) plans as a RegularJoin with the keys of each side and the planner's state TTL,
// and its other conditions as a filter above it.
func TestRegularJoinPlan(t *testing.T) {
	p := &planner.Planner{Catalog: catalog.NewMemory(), Tables: connectors.Default(nil), Functions: expr.NewFunctions(), StateTTL: time.Hour}
	defineNexmark(t, p)
	for _, q := range []string{
		"SELECT a.id, p.name FROM auction AS a JOIN person AS p ON a.seller = p.id AND a.reserve > p.id",
		"SELECT a.id, p.name FROM auction AS a, person AS p WHERE a.seller = p.id AND a.reserve > p.id",
	} {
		t.Run(q, func(t *testing.T) { checkRegularJoin(t, p, q) })
	}
}

func checkRegularJoin(t *testing.T, p *planner.Planner, q string) {
	stmt, err := parser.Parse(q)
	if err != nil {
		t.Fatal(err)
	}
	n, err := p.PlanQuery(stmt.(*ast.Query), q)
	if err != nil {
		t.Fatal(err)
	}
	var found []*planner.RegularJoin
	var walk func(planner.Node, bool)
	filtered := false
	walk = func(n planner.Node, above bool) {
		if j, ok := n.(*planner.RegularJoin); ok {
			found = append(found, j)
			filtered = above
		}
		c, isCalc := n.(*planner.Calc)
		for _, in := range n.Inputs() {
			walk(in, above || isCalc && c.Filter != nil)
		}
	}
	walk(n, false)
	if len(found) != 1 {
		t.Fatalf("want one RegularJoin in\n%s", planner.Explain(n))
	}
	spec := found[0].Spec
	if spec.Type != exec.Inner || spec.TTL != time.Hour || len(spec.LeftKeys) != 1 || len(spec.RightKeys) != 1 {
		t.Fatalf("spec %+v", spec)
	}
	if l, r := found[0].Left.Schema()[spec.LeftKeys[0]].Name, found[0].Right.Schema()[spec.RightKeys[0]].Name; l != "seller" || r != "id" {
		t.Fatalf("keys %s = %s, want seller = id", l, r)
	}
	if !filtered {
		t.Fatalf("a.reserve > p.id is not filtered above the join:\n%s", planner.Explain(n))
	}
	if !strings.Contains(planner.Explain(n), "Join(joinType=[INNER], leftKeys=[seller], rightKeys=[id])") {
		t.Fatalf("EXPLAIN:\n%s", planner.Explain(n))
	}
}
