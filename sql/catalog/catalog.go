// Package catalog keeps the tables, views and functions that SQL
// statements define, so that a table declared once is known to every later
// statement, and, with a [File] catalog, to every later run.
//
// Objects are stored as data, SQL kept as text: a computed column's
// expression, a watermark's expression and a view's query are the SQL the
// user wrote, which the planner parses again when it uses them. The
// catalog thus does not depend on the syntax tree.
//
// Tables and views share one namespace, as in Flink: a view cannot take
// the name of a table. Functions have their own. Names are case-sensitive.
//
// [Memory] keeps objects for the life of the process; [File] keeps them in
// a JSON file, written atomically (a temporary file renamed over it) after
// every change. Two processes that change the same file: each change
// rereads the file first, so each applies to the latest contents, but two
// changes at the same instant race and the last rename wins.
//
// Example:
//
//	cat, err := catalog.OpenFile("weir-catalog.json")
//	if err != nil {
//		return err
//	}
//	err = cat.CreateTable(catalog.Table{
//		Name:    "access_log",
//		Columns: []catalog.Column{{Name: "uri", Type: types.StringType}},
//		Options: []catalog.Option{{Key: "connector", Value: "filesystem"}},
//	}, false)
package catalog

import (
	"errors"
	"fmt"

	"github.com/weirstream/weir/sql/types"
)

// ErrNotExist is matched (errors.Is) by the errors Get and Drop return for
// an object that is not there.
var ErrNotExist = errors.New("catalog: no such object")

// ErrExists is matched (errors.Is) by the errors Create returns for a name
// that is taken.
var ErrExists = errors.New("catalog: object exists")

// Column is one declared column of a table.
type Column struct {
	Name string
	Type types.Type
	// Expr is the SQL of a computed column (`total AS price * qty` holds
	// "price * qty"); "" for a physical column.
	Expr string
	// Comment is the column's COMMENT.
	Comment string
}

// Computed reports whether the column is computed (`name AS expr`).
func (c Column) Computed() bool { return c.Expr != "" }

// Watermark is a table's WATERMARK clause.
type Watermark struct {
	// Column is the rowtime column.
	Column string `json:"column"`
	// Expr is the SQL of the watermark ("time_local - INTERVAL '5' SECOND").
	Expr string `json:"expr"`
}

// Option is one key and value of a table's WITH clause.
type Option struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Table is a table as CREATE TABLE declared it.
type Table struct {
	Name    string
	Columns []Column
	// Watermark is nil for a table without one.
	Watermark *Watermark
	// PrimaryKey holds the columns of PRIMARY KEY (…) NOT ENFORCED.
	PrimaryKey []string
	// Options are the WITH options, in the order declared.
	Options []Option
	Comment string
}

// Physical returns the table's physical schema: its columns that are not
// computed, in order, not flattened.
func (t Table) Physical() types.Schema {
	var s types.Schema
	for _, c := range t.Columns {
		if !c.Computed() {
			s = append(s, types.Field{Name: c.Name, Type: c.Type})
		}
	}
	return s
}

// View is a view as CREATE VIEW declared it.
type View struct {
	Name string
	// Query is the SQL of the view's query.
	Query string
	// Schema is the query's result schema when the view was created.
	Schema  types.Schema
	Comment string
}

// Function is a function CREATE FUNCTION declared: a SQL name for a Go
// function the host program registered under GoName.
type Function struct {
	Name   string `json:"name"`
	GoName string `json:"go_name"`
}

// Catalog stores tables, views and functions. Implementations are safe for
// concurrent use.
//
// Create with ifNotExists set does nothing when the name is taken (as
// CREATE … IF NOT EXISTS); without it, it fails with an error matching
// ErrExists. Drop with ifExists set does nothing when the object is not
// there; without it, it fails with ErrNotExist. Get fails with
// ErrNotExist. Every error names the object and says what to do. List
// returns names sorted.
type Catalog interface {
	ListTables() ([]string, error)
	GetTable(name string) (Table, error)
	CreateTable(t Table, ifNotExists bool) error
	DropTable(name string, ifExists bool) error

	ListViews() ([]string, error)
	GetView(name string) (View, error)
	CreateView(v View, ifNotExists bool) error
	DropView(name string, ifExists bool) error

	ListFunctions() ([]string, error)
	GetFunction(name string) (Function, error)
	CreateFunction(f Function, ifNotExists bool) error
	DropFunction(name string, ifExists bool) error
}

func notExist(kind, name string) error {
	return fmt.Errorf("%w: %s %s does not exist: create it first, or use DROP %s IF EXISTS", ErrNotExist, kind, name, upper(kind))
}

func exists(kind, name, taken string) error {
	if taken != kind {
		return fmt.Errorf("%w: cannot create %s %s: a %s of that name exists: choose another name", ErrExists, kind, name, taken)
	}
	return fmt.Errorf("%w: %s %s already exists: use CREATE %s IF NOT EXISTS, or DROP %s %s first", ErrExists, kind, name, upper(kind), upper(kind), name)
}

func upper(kind string) string {
	switch kind {
	case "table":
		return "TABLE"
	case "view":
		return "VIEW"
	}
	return "FUNCTION"
}

func validName(kind, name string) error {
	if name == "" {
		return fmt.Errorf("catalog: a %s needs a name", kind)
	}
	return nil
}
