package planner_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/connectors"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/parser"
	"github.com/weirstream/weir/sql/planner"
)

// plannedQueries are the Nexmark queries of the parser's corpus the
// planner plans; the others must be refused with an *Error.
var plannedQueries = []string{"q0", "q1", "q2", "q3", "q4", "q7", "q8", "q10", "q11", "q15", "q16", "q17", "q18", "q20", "q21", "q22"}

// TestNexmarkCorpus plans every Nexmark query of the parser's corpus over
// its DDL: each either plans or is refused by an *Error that points at the
// construct; none panics or fails otherwise.
func TestNexmarkCorpus(t *testing.T) {
	p := &planner.Planner{Catalog: catalog.NewMemory(), Tables: connectors.Default(nil), Functions: expr.NewFunctions()}
	defineNexmark(t, p)
	files, _ := filepath.Glob("../parser/testdata/corpus/q*.sql")
	var planned []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sql")
		b, _ := os.ReadFile(f)
		stmts, err := parser.ParseScript(string(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ok := true
		for _, s := range stmts {
			err := define(p, s, string(b))
			var pe *planner.Error
			if err != nil && !errors.As(err, &pe) {
				t.Errorf("%s: not a planner error: %v", name, err)
			}
			if err != nil {
				ok = false
				t.Logf("%s: %v", name, err)
			}
		}
		if ok {
			planned = append(planned, name)
		}
	}
	slices.Sort(planned)
	want := slices.Clone(plannedQueries)
	slices.Sort(want)
	if !slices.Equal(planned, want) {
		t.Errorf("planned %v\nwant %v", planned, want)
	}
}

// defineNexmark defines the Nexmark tables of the parser's corpus in p,
// with a datagen source of ten rows.
func defineNexmark(t *testing.T, p *planner.Planner) {
	t.Helper()
	ddl, err := os.ReadFile("../parser/testdata/corpus/nexmark_ddl.sql")
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(ddl), "'events' = '10000000',\n  'rate' = '10000000'", "'number-of-rows' = '10'", 1)
	stmts, err := parser.ParseScript(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stmts {
		if err := define(p, s, src); err != nil {
			t.Fatal(err)
		}
	}
}

// define stores CREATE TABLE and CREATE VIEW, and plans INSERT and SELECT.
func define(p *planner.Planner, s ast.Statement, src string) error {
	switch s := s.(type) {
	case *ast.CreateTable:
		t, err := p.Table(s, src)
		if err != nil {
			return err
		}
		return p.Catalog.CreateTable(t, false)
	case *ast.CreateView:
		v, err := p.View(s, src)
		if err != nil {
			return err
		}
		return p.Catalog.CreateView(v, false)
	case *ast.Insert:
		_, err := p.PlanInsert(s, src)
		return err
	case *ast.Query:
		_, err := p.PlanQuery(s, src)
		return err
	}
	return nil
}
