// Package connector_test checks that every connector is configured the way
// docs/connectors.md ("Configuring a connector") says, so that a connector
// that breaks the rule fails a test instead of a review.
package connector_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// connectorPackage is the exported API of one connector, parsed.
type connectorPackage struct {
	name  string
	funcs []*ast.FuncDecl          // exported functions, not methods
	types map[string]*ast.TypeSpec // exported types
}

// connectorPackages parses the non-test files of every connector package
// (the test kits, such as kafkatest, are not connectors).
func connectorPackages(t *testing.T) []connectorPackage {
	t.Helper()
	dirs, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []connectorPackage
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		p := connectorPackage{name: d.Name(), types: map[string]*ast.TypeSpec{}}
		files, err := filepath.Glob(filepath.Join(d.Name(), "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		fset := token.NewFileSet()
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, decl := range f.Decls {
				switch decl := decl.(type) {
				case *ast.FuncDecl:
					if decl.Recv == nil && decl.Name.IsExported() {
						p.funcs = append(p.funcs, decl)
					}
				case *ast.GenDecl:
					for _, spec := range decl.Specs {
						if ts, ok := spec.(*ast.TypeSpec); ok && ts.Name.IsExported() {
							p.types[ts.Name.Name] = ts
						}
					}
				}
			}
		}
		if len(p.funcs) > 0 {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) < 6 {
		t.Fatalf("found %d connector packages, want at least 6: run the test from connector/", len(pkgs))
	}
	return pkgs
}

// isOption reports whether name is an option type: Option, SourceOption,
// SinkOption, ...
func isOption(name string) bool { return strings.HasSuffix(name, "Option") }

// typeName returns the name of a type expression without its package,
// pointer, type arguments or ellipsis: "SinkOption" for ...SinkOption.
func typeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.StarExpr:
		return typeName(e.X)
	case *ast.Ellipsis:
		return typeName(e.Elt)
	case *ast.IndexExpr:
		return typeName(e.X)
	case *ast.IndexListExpr:
		return typeName(e.X)
	}
	return ""
}

// TestConstructorsFollowTheRule: a constructor (New...) takes its required
// inputs as arguments, none of them a configuration struct, takes what is
// optional as options of its own option type, and returns an error.
func TestConstructorsFollowTheRule(t *testing.T) {
	for _, p := range connectorPackages(t) {
		for _, fn := range p.funcs {
			name := fn.Name.Name
			if !strings.HasPrefix(name, "New") {
				continue
			}
			where := p.name + "." + name
			res := fn.Type.Results
			if res == nil || typeName(res.List[len(res.List)-1].Type) != "error" {
				t.Errorf("%s returns no error: a constructor reports every problem with its arguments and options", where)
			}
			for _, field := range fn.Type.Params.List {
				tn := typeName(field.Type)
				if strings.HasSuffix(tn, "Config") || strings.HasSuffix(tn, "Options") {
					t.Errorf("%s takes a %s: required inputs are arguments, everything optional an option", where, tn)
				}
				if _, variadic := field.Type.(*ast.Ellipsis); !variadic {
					continue
				}
				kind := strings.TrimSuffix(tn, "Option")
				if !isOption(tn) || (kind != "" && !strings.Contains(name, kind)) {
					t.Errorf("%s takes ...%s: a constructor's options are of the type named for it (%sOption) or Option", where, tn, strings.TrimPrefix(name, "New"))
				}
			}
		}
	}
}

// TestOptionsFollowTheRule: an option type is an interface with unexported
// methods only, so that only its package makes options; every option says
// its default; an option that hands over a collaborator (a pointer, a
// function) is named With....
func TestOptionsFollowTheRule(t *testing.T) {
	for _, p := range connectorPackages(t) {
		for name, ts := range p.types {
			if !isOption(name) {
				continue
			}
			it, ok := ts.Type.(*ast.InterfaceType)
			if !ok {
				t.Errorf("%s.%s is not an interface: an option type is an interface with an unexported apply", p.name, name)
				continue
			}
			for _, m := range it.Methods.List {
				for _, n := range m.Names {
					if n.IsExported() {
						t.Errorf("%s.%s has the exported method %s: only the package may make options", p.name, name, n.Name)
					}
				}
			}
		}
		for _, fn := range p.funcs {
			res := fn.Type.Results
			if res == nil || len(res.List) != 1 || !isOption(typeName(res.List[0].Type)) {
				continue
			}
			where := p.name + "." + fn.Name.Name
			if doc := strings.ToLower(fn.Doc.Text()); !strings.Contains(doc, "default") {
				t.Errorf("%s: its doc does not state the default it overrides", where)
			}
			params := fn.Type.Params.List
			if len(params) != 1 || len(params[0].Names) > 1 {
				continue
			}
			switch params[0].Type.(type) {
			case *ast.StarExpr, *ast.FuncType:
				if !strings.HasPrefix(fn.Name.Name, "With") {
					t.Errorf("%s takes a collaborator: name it With%s", where, fn.Name.Name)
				}
			}
		}
	}
}
