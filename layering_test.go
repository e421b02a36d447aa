package weir_test

import (
	"bytes"
	"encoding/json"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The layering rules of the design: imports go downward only. Each rule
// names the packages it applies to (a path under the module, "" for the
// root package; a trailing "/" covers a whole subtree) and the packages
// they must not import. Test files are free to import what they need.
var layers = []struct {
	name     string
	packages []string
	never    []string
	except   []string // allowed although never covers them
}{
	{
		name:     "connectors use the public SPI, never the engine",
		packages: []string{"connector/"},
		never:    append([]string{"", "app/", "cmd/", "web", "metrics"}, engine...),
	},
	{
		name:     "the engine and the API never know a connector or an application",
		packages: append([]string{"", "web", "metrics"}, engine...),
		never:    []string{"connector/", "app/", "cmd/", "bench"},
	},
	{
		name:     "the SPI and the user-facing leaf packages import no engine package",
		packages: []string{"source/", "sink/", "state", "window", "codec", "weirtest"},
		never:    append([]string{"", "connector/", "app/", "cmd/"}, engine...),
		except:   []string{"state -> internal/keyedstate"}, // state's own engine
	},
	{
		name:     "applications are built on the public API",
		packages: []string{"app/"},
		never:    append([]string{"cmd/"}, engine...),
	},
	{
		name:     "the job runner knows neither the planner nor the user API",
		packages: []string{"internal/job", "internal/checkpoint/", "internal/snapshot", "internal/runtime"},
		never:    []string{"", "internal/plan"},
	},
}

// engine is the machinery under the user API.
var engine = []string{
	"internal/runtime", "internal/job", "internal/plan", "internal/cluster",
	"internal/checkpoint/", "internal/snapshot", "internal/keyedstate", "internal/backend/",
}

const module = "github.com/weirstream/weir"

// TestLayering fails when an import breaks the layering of the design
// (DESIGN.md, "Layers"): connectors never import the runtime, the runtime
// and the API never import a connector, the SPI imports no engine package.
func TestLayering(t *testing.T) {
	out, err := exec.Command("go", "list", "-json", "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	checked := 0
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		pkg := rel(p.ImportPath)
		for _, l := range layers {
			if !matchAny(pkg, l.packages) {
				continue
			}
			checked++
			for _, imp := range p.Imports {
				if !strings.HasPrefix(imp, module) {
					continue
				}
				dep := rel(imp)
				if matchAny(dep, l.never) && !contains(l.except, pkg+" -> "+dep) {
					t.Errorf("%s imports %s: %s", show(pkg), show(dep), l.name)
				}
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d package checks ran: the rules match too little", checked)
	}
}

// rel returns a package's path inside the module: "" for the root.
func rel(path string) string {
	if path == module {
		return ""
	}
	return strings.TrimPrefix(path, module+"/")
}

func show(pkg string) string {
	if pkg == "" {
		return "the root package"
	}
	return pkg
}

func matchAny(pkg string, patterns []string) bool {
	for _, p := range patterns {
		if pkg == p || (strings.HasSuffix(p, "/") && (strings.HasPrefix(pkg, p) || pkg == strings.TrimSuffix(p, "/"))) {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestImportsGrouped checks every Go file's imports as goimports -local
// groups them: the standard library, then other modules, then weir's own
// packages, each group apart and none mixed.
func TestImportsGrouped(t *testing.T) {
	out, err := exec.Command("git", "ls-files", "*.go").Output()
	if err != nil {
		t.Skipf("git ls-files: %v", err)
	}
	files := strings.Fields(string(out))
	if len(files) < 100 {
		t.Fatalf("only %d Go files found", len(files))
	}
	for _, name := range files {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		last, prevLine, prevKind := -1, 0, -1
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			kind := importKind(path)
			line := fset.Position(imp.Pos()).Line
			newGroup := prevKind >= 0 && line > prevLine+1
			switch {
			case prevKind >= 0 && !newGroup && kind != prevKind:
				t.Errorf("%s:%d: %q shares a group with imports of another kind: put the standard library, other modules and weir's packages in groups of their own", name, line, path)
			case kind < last:
				t.Errorf("%s:%d: %q comes after a later group: order the standard library, other modules, then weir's packages", name, line, path)
			}
			last, prevLine, prevKind = max(last, kind), fset.Position(imp.End()).Line, kind
		}
	}
}

// importKind orders import paths: 0 the standard library, 1 other modules,
// 2 weir's packages.
func importKind(path string) int {
	switch {
	case path == module || strings.HasPrefix(path, module+"/"):
		return 2
	case strings.Contains(strings.SplitN(path, "/", 2)[0], "."):
		return 1
	}
	return 0
}
