package state_test

import (
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/state"
)

// userAPI is everything package state exports: what user functions need to
// keep keyed state, and no runtime call. The engine behind it (setting the
// current key, checking failures, snapshot and restore, the KV contract of
// the backends) lives in internal/keyedstate. Adding a name here is a change
// of the user API: it needs a doc comment and a reason users need it.
var userAPI = []string{
	"List", "ListOf",
	"Map", "MapOf",
	"Option", "TTL",
	"Reducing", "ReducingOf",
	"Store",
	"Value", "ValueOf",
}

// TestUserAPI checks that package state exports only the user API, each
// name with a doc comment.
func TestUserAPI(t *testing.T) {
	fset := token.NewFileSet()
	var files []*ast.File
	names, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range names {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, e.Name(), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	pkg, err := doc.NewFromFiles(fset, files, "github.com/weirstream/weir/state")
	if err != nil {
		t.Fatal(err)
	}
	if pkg.Doc == "" {
		t.Error("package state has no package doc")
	}
	var got []string
	needDoc := func(name, d string) {
		if strings.TrimSpace(d) == "" {
			t.Errorf("%s has no doc comment", name)
		}
	}
	for _, f := range pkg.Funcs {
		got = append(got, f.Name)
		needDoc(f.Name, f.Doc)
	}
	for _, v := range slices.Concat(pkg.Consts, pkg.Vars) {
		got = append(got, v.Names...)
		needDoc(strings.Join(v.Names, ", "), v.Doc)
	}
	for _, ty := range pkg.Types {
		got = append(got, ty.Name)
		needDoc(ty.Name, ty.Doc)
		for _, f := range slices.Concat(ty.Funcs, ty.Methods) {
			got = append(got, f.Name)
			needDoc(f.Name, f.Doc)
		}
		for _, v := range slices.Concat(ty.Consts, ty.Vars) {
			got = append(got, v.Names...)
			needDoc(strings.Join(v.Names, ", "), v.Doc)
		}
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(userAPI))
	if !slices.Equal(got, want) {
		t.Errorf("package state exports %v,\nwant only the user API %v:\nruntime calls belong in internal/keyedstate", got, want)
	}
}

// TestStoreHasNoMethods checks that the Store users get offers no runtime
// call: user code only passes it to ValueOf and friends, and the runtime
// drives it through keyedstate.Engine. Store is an alias of the engine's
// type, so its method set is not in this package's source: look at it.
func TestStoreHasNoMethods(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeFor[*state.Store[string]](), reflect.TypeFor[state.Store[string]]()} {
		var methods []string
		for m := range typ.Methods() {
			methods = append(methods, m.Name)
		}
		if len(methods) > 0 {
			t.Errorf("%v has methods %v: users must not set keys, snapshot or restore; put runtime calls on keyedstate.Engine", typ, methods)
		}
	}
}

// visits is user code: the state of a keyed function, written with nothing
// but the user API. That it compiles is the check.
type visits struct {
	count   state.Value[int64]
	pages   state.Map[string, int64]
	recent  state.List[string]
	longest state.Reducing[time.Duration]
}

// newVisits is what a function passed to weir.ProcessKeyed does with the
// Store it is given.
func newVisits(s *state.Store[string]) *visits {
	return &visits{
		count:   state.ValueOf[int64](s, "count"),
		pages:   state.MapOf[string, int64](s, "pages", state.TTL(24*time.Hour)),
		recent:  state.ListOf[string](s, "recent"),
		longest: state.ReducingOf[time.Duration](s, "longest", func(a, b time.Duration) time.Duration { return max(a, b) }),
	}
}

// add is what the function does for each record, on the current key.
func (v *visits) add(page string, took time.Duration) int64 {
	n, _ := v.count.Get()
	v.count.Set(n + 1)
	p, _ := v.pages.Get(page)
	v.pages.Put(page, p+1)
	v.recent.Add(page)
	if len(v.recent.Get()) > 10 {
		v.recent.Update(v.recent.Get()[1:])
	}
	v.longest.Add(took)
	return n + 1
}

// TestUserCode runs the user code above on a store, as the runtime would.
func TestUserCode(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		e := newStore[string](t, b, nil)
		v := newVisits(e.Store())
		e.SetKey("client-1")
		v.add("/", time.Second)
		v.add("/a", 3*time.Second)
		e.SetKey("client-2")
		if n := v.add("/", 2*time.Second); n != 1 {
			t.Fatalf("client-2's first visit counts %d", n)
		}
		e.SetKey("client-1")
		if n, _ := v.count.Get(); n != 2 || v.pages.Len() != 2 || len(v.recent.Get()) != 2 {
			t.Fatalf("client-1: %d visits, %d pages, recent %v", n, v.pages.Len(), v.recent.Get())
		}
		if d, _ := v.longest.Get(); d != 3*time.Second {
			t.Fatalf("client-1's longest visit %v", d)
		}
		checkErr(t, e)
	})
}
