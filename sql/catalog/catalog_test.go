package catalog_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/types"
)

var accessLog = catalog.Table{
	Name: "access_log",
	Columns: []catalog.Column{
		{Name: "remote_addr", Type: types.StringType},
		{Name: "time_local", Type: types.TimestampLTZType, Comment: "when"},
		{Name: "bid", Type: types.Type{Kind: types.Record, Fields: []types.Field{
			{Name: "price", Type: types.DecimalType(10, 2)},
			{Name: "at", Type: types.Type{Kind: types.Timestamp, Precision: 3, NotNull: true}},
		}}},
		{Name: "minute", Type: types.TimestampLTZType, Expr: "FLOOR(time_local TO MINUTE)"},
	},
	Watermark:  &catalog.Watermark{Column: "time_local", Expr: "time_local - INTERVAL '5' SECOND"},
	PrimaryKey: []string{"remote_addr"},
	Options:    []catalog.Option{{Key: "connector", Value: "filesystem"}, {Key: "path", Value: "logs/*.log"}, {Key: "format", Value: "combined-log"}},
	Comment:    "nginx",
}

// conformance runs what every Catalog must do.
func conformance(t *testing.T, cat catalog.Catalog) {
	if err := cat.CreateTable(accessLog, false); err != nil {
		t.Fatal(err)
	}
	err := cat.CreateTable(accessLog, false)
	if !errors.Is(err, catalog.ErrExists) || !strings.Contains(err.Error(), "table access_log already exists: use CREATE TABLE IF NOT EXISTS") {
		t.Fatalf("duplicate table: %v", err)
	}
	if err := cat.CreateTable(catalog.Table{Name: "access_log"}, true); err != nil {
		t.Fatalf("IF NOT EXISTS: %v", err)
	}
	got, err := cat.GetTable("access_log")
	if err != nil || !reflect.DeepEqual(got, accessLog) {
		t.Fatalf("got %+v, %v\nwant %+v", got, err, accessLog)
	}
	if s := got.Physical(); len(s) != 3 || s[2].Name != "bid" {
		t.Fatalf("physical schema %s", s)
	}
	got.Options[0].Value = "changed" // a copy: the catalog keeps its own
	if again, _ := cat.GetTable("access_log"); again.Options[0].Value != "filesystem" {
		t.Fatal("GetTable returned the catalog's own slice")
	}

	view := catalog.View{Name: "pages", Query: "SELECT uri FROM access_log", Schema: types.Schema{{Name: "uri", Type: types.StringType}}}
	if err := cat.CreateView(catalog.View{Name: "access_log", Query: "SELECT 1"}, true); !errors.Is(err, catalog.ErrExists) ||
		!strings.Contains(err.Error(), "cannot create view access_log: a table of that name exists") {
		t.Fatalf("view over a table's name: %v", err)
	}
	if err := cat.CreateView(view, false); err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateTable(catalog.Table{Name: "pages"}, true); !errors.Is(err, catalog.ErrExists) {
		t.Fatalf("table over a view's name: %v", err)
	}
	if v, err := cat.GetView("pages"); err != nil || !reflect.DeepEqual(v, view) {
		t.Fatalf("view %+v, %v", v, err)
	}
	fn := catalog.Function{Name: "geo", GoName: "example.com/geo.Lookup"}
	if err := cat.CreateFunction(fn, false); err != nil {
		t.Fatal(err)
	}
	if err := cat.CreateFunction(fn, false); !errors.Is(err, catalog.ErrExists) {
		t.Fatalf("duplicate function: %v", err)
	}
	if f, err := cat.GetFunction("geo"); err != nil || f != fn {
		t.Fatalf("function %+v, %v", f, err)
	}
	if err := cat.CreateTable(catalog.Table{Name: "b"}, false); err != nil {
		t.Fatal(err)
	}
	if names, err := cat.ListTables(); err != nil || strings.Join(names, ",") != "access_log,b" {
		t.Fatalf("tables %v, %v", names, err)
	}
	if names, _ := cat.ListViews(); strings.Join(names, ",") != "pages" {
		t.Fatalf("views %v", names)
	}
	if names, _ := cat.ListFunctions(); strings.Join(names, ",") != "geo" {
		t.Fatalf("functions %v", names)
	}

	if err := cat.DropTable("b", false); err != nil {
		t.Fatal(err)
	}
	err = cat.DropTable("b", false)
	if !errors.Is(err, catalog.ErrNotExist) || !strings.Contains(err.Error(), "table b does not exist") {
		t.Fatalf("drop twice: %v", err)
	}
	if err := cat.DropTable("b", true); err != nil {
		t.Fatalf("IF EXISTS: %v", err)
	}
	if _, err := cat.GetView("nope"); !errors.Is(err, catalog.ErrNotExist) || !strings.Contains(err.Error(), "view nope does not exist") {
		t.Fatalf("get missing view: %v", err)
	}
	if err := cat.DropFunction("nope", false); !errors.Is(err, catalog.ErrNotExist) {
		t.Fatalf("drop missing function: %v", err)
	}
}

func TestMemory(t *testing.T) { conformance(t, catalog.NewMemory()) }

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.json")
	cat, err := catalog.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	conformance(t, cat)

	// What was created survives a reopen, as a new process would see it.
	again, err := catalog.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, err := again.GetTable("access_log")
	if err != nil || !reflect.DeepEqual(got, accessLog) {
		t.Fatalf("after reopen: %+v, %v", got, err)
	}
	if err := again.CreateTable(accessLog, false); !errors.Is(err, catalog.ErrExists) {
		t.Fatalf("duplicate after reopen: %v", err)
	}
	if names, _ := again.ListViews(); strings.Join(names, ",") != "pages" {
		t.Fatalf("views after reopen: %v", names)
	}
	// A change by one handle is seen by the other.
	if err := again.DropView("pages", false); err != nil {
		t.Fatal(err)
	}
	if _, err := cat.GetView("pages"); !errors.Is(err, catalog.ErrNotExist) {
		t.Fatalf("drop by another handle: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("files left in the directory: %v", entries)
	}
}

func TestFileRefuses(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	if _, err := catalog.OpenFile(bad); err == nil || !strings.Contains(err.Error(), "is not a catalog file") {
		t.Fatalf("corrupt file: %v", err)
	}
	newer := filepath.Join(dir, "newer.json")
	os.WriteFile(newer, []byte(`{"format": 2}`), 0o644)
	if _, err := catalog.OpenFile(newer); err == nil || !strings.Contains(err.Error(), "has format 2; this weir reads format 1") {
		t.Fatalf("newer file: %v", err)
	}
	if _, err := catalog.OpenFile(filepath.Join(dir, "missing", "c.json")); err == nil || !strings.Contains(err.Error(), "check that the directory exists") {
		t.Fatalf("missing directory: %v", err)
	}
}
