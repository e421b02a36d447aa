package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/weirstream/weir/sql/types"
)

// FileFormat is the version of the JSON a File catalog writes. A file of a
// later version is refused rather than misread.
const FileFormat = 1

// maxFileSize bounds the catalog file read: a catalog is definitions, not
// data.
const maxFileSize = 64 << 20

// File is a catalog kept in a JSON file. Every change rereads the file,
// applies itself and writes the whole file to a temporary file in the same
// directory, which it syncs and renames over the old one: a crash leaves
// the old or the new catalog, never a torn one. Reads reread the file, so
// a process sees what another wrote. When two processes change the file
// at the same instant, the last rename wins and the other change is lost.
type File struct {
	path string
	mu   sync.Mutex
}

// OpenFile opens the catalog in the file at path, creating the file (not
// its directory) when it does not exist, and checks that it can be read.
func OpenFile(path string) (*File, error) {
	f := &File{path: path}
	if _, err := f.load(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if err := f.save(&state{}); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Path returns the catalog's file.
func (f *File) Path() string { return f.path }

// The file's JSON. Types are written by their kind's SQL name, so that the
// file does not depend on the order of types.Kind.
type fileState struct {
	Format    int         `json:"format"`
	Tables    []fileTable `json:"tables"`
	Views     []fileView  `json:"views"`
	Functions []Function  `json:"functions"`
}

type fileTable struct {
	Name       string       `json:"name"`
	Columns    []fileColumn `json:"columns"`
	Watermark  *Watermark   `json:"watermark,omitempty"`
	PrimaryKey []string     `json:"primary_key,omitempty"`
	Options    []Option     `json:"options"`
	Comment    string       `json:"comment,omitempty"`
}

type fileColumn struct {
	Name    string   `json:"name"`
	Type    fileType `json:"type"`
	Expr    string   `json:"expr,omitempty"`
	Comment string   `json:"comment,omitempty"`
}

type fileView struct {
	Name    string      `json:"name"`
	Query   string      `json:"query"`
	Schema  []fileField `json:"schema"`
	Comment string      `json:"comment,omitempty"`
}

type fileField struct {
	Name string   `json:"name"`
	Type fileType `json:"type"`
}

type fileType struct {
	Kind      string      `json:"kind"`
	Precision int         `json:"precision,omitempty"`
	Scale     int         `json:"scale,omitempty"`
	NotNull   bool        `json:"not_null,omitempty"`
	Fields    []fileField `json:"fields,omitempty"`
}

func toFileType(t types.Type) fileType {
	ft := fileType{Kind: t.Kind.String(), Precision: t.Precision, Scale: t.Scale, NotNull: t.NotNull}
	for _, f := range t.Fields {
		ft.Fields = append(ft.Fields, fileField{Name: f.Name, Type: toFileType(f.Type)})
	}
	return ft
}

func fromFileType(ft fileType) (types.Type, error) {
	t := types.Type{Precision: ft.Precision, Scale: ft.Scale, NotNull: ft.NotNull}
	found := false
	for k := types.Unknown; k <= types.Record; k++ {
		if k.String() == ft.Kind {
			t.Kind, found = k, true
		}
	}
	if !found {
		return types.Type{}, fmt.Errorf("unknown type %q", ft.Kind)
	}
	for _, f := range ft.Fields {
		ftype, err := fromFileType(f.Type)
		if err != nil {
			return types.Type{}, err
		}
		t.Fields = append(t.Fields, types.Field{Name: f.Name, Type: ftype})
	}
	return t, nil
}

func (f *File) load() (*state, error) {
	st := &state{}
	st.init()
	file, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return nil, fmt.Errorf("catalog: open %s: %w", f.path, err)
	}
	defer file.Close()
	var fst fileState
	dec := json.NewDecoder(&limitedReader{r: file, n: maxFileSize})
	if err := dec.Decode(&fst); err != nil {
		return nil, fmt.Errorf("catalog: %s is not a catalog file: %w: move it away or fix it", f.path, err)
	}
	if fst.Format != FileFormat {
		return nil, fmt.Errorf("catalog: %s has format %d; this weir reads format %d: use the weir that wrote it", f.path, fst.Format, FileFormat)
	}
	for _, ft := range fst.Tables {
		t := Table{Name: ft.Name, Watermark: ft.Watermark, PrimaryKey: ft.PrimaryKey, Options: ft.Options, Comment: ft.Comment}
		for _, c := range ft.Columns {
			typ, err := fromFileType(c.Type)
			if err != nil {
				return nil, fmt.Errorf("catalog: %s: table %s, column %s: %w", f.path, ft.Name, c.Name, err)
			}
			t.Columns = append(t.Columns, Column{Name: c.Name, Type: typ, Expr: c.Expr, Comment: c.Comment})
		}
		st.Tables[t.Name] = t
	}
	for _, fv := range fst.Views {
		v := View{Name: fv.Name, Query: fv.Query, Comment: fv.Comment}
		for _, c := range fv.Schema {
			typ, err := fromFileType(c.Type)
			if err != nil {
				return nil, fmt.Errorf("catalog: %s: view %s, column %s: %w", f.path, fv.Name, c.Name, err)
			}
			v.Schema = append(v.Schema, types.Field{Name: c.Name, Type: typ})
		}
		st.Views[v.Name] = v
	}
	for _, fn := range fst.Functions {
		st.Functions[fn.Name] = fn
	}
	return st, nil
}

func (f *File) save(st *state) error {
	fst := fileState{Format: FileFormat, Tables: []fileTable{}, Views: []fileView{}, Functions: []Function{}}
	for _, name := range sortedKeys(st.Tables) {
		t := st.Tables[name]
		ft := fileTable{Name: t.Name, Watermark: t.Watermark, PrimaryKey: t.PrimaryKey, Options: t.Options, Comment: t.Comment}
		if ft.Options == nil {
			ft.Options = []Option{}
		}
		for _, c := range t.Columns {
			ft.Columns = append(ft.Columns, fileColumn{Name: c.Name, Type: toFileType(c.Type), Expr: c.Expr, Comment: c.Comment})
		}
		fst.Tables = append(fst.Tables, ft)
	}
	for _, name := range sortedKeys(st.Views) {
		v := st.Views[name]
		fv := fileView{Name: v.Name, Query: v.Query, Comment: v.Comment, Schema: []fileField{}}
		for _, c := range v.Schema {
			fv.Schema = append(fv.Schema, fileField{Name: c.Name, Type: toFileType(c.Type)})
		}
		fst.Views = append(fst.Views, fv)
	}
	for _, name := range sortedKeys(st.Functions) {
		fst.Functions = append(fst.Functions, st.Functions[name])
	}
	data, err := json.MarshalIndent(fst, "", "  ")
	if err != nil {
		return fmt.Errorf("catalog: encode %s: %w", f.path, err)
	}
	data = append(data, '\n')
	dir := filepath.Dir(f.path)
	tmp, err := os.CreateTemp(dir, filepath.Base(f.path)+".tmp*")
	if err != nil {
		return fmt.Errorf("catalog: write %s: %w: check that the directory exists and is writable", f.path, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("catalog: write %s: %w", f.path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the rename's durability; not every system can sync a directory
		d.Close()
	}
	return nil
}

// change applies op to the file's latest contents and writes them when op
// changed something.
func (f *File) change(op func(*state) (bool, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := f.load()
	if err != nil {
		return err
	}
	changed, err := op(st)
	if err != nil || !changed {
		return err
	}
	return f.save(st)
}

func (f *File) read() (*state, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.load()
}

// ListTables implements Catalog.
func (f *File) ListTables() ([]string, error) {
	st, err := f.read()
	if err != nil {
		return nil, err
	}
	return sortedKeys(st.Tables), nil
}

// GetTable implements Catalog.
func (f *File) GetTable(name string) (Table, error) {
	st, err := f.read()
	if err != nil {
		return Table{}, err
	}
	return st.getTable(name)
}

// CreateTable implements Catalog.
func (f *File) CreateTable(t Table, ifNotExists bool) error {
	return f.change(func(st *state) (bool, error) { return st.createTable(t, ifNotExists) })
}

// DropTable implements Catalog.
func (f *File) DropTable(name string, ifExists bool) error {
	return f.change(func(st *state) (bool, error) { return st.dropTable(name, ifExists) })
}

// ListViews implements Catalog.
func (f *File) ListViews() ([]string, error) {
	st, err := f.read()
	if err != nil {
		return nil, err
	}
	return sortedKeys(st.Views), nil
}

// GetView implements Catalog.
func (f *File) GetView(name string) (View, error) {
	st, err := f.read()
	if err != nil {
		return View{}, err
	}
	return st.getView(name)
}

// CreateView implements Catalog.
func (f *File) CreateView(v View, ifNotExists bool) error {
	return f.change(func(st *state) (bool, error) { return st.createView(v, ifNotExists) })
}

// DropView implements Catalog.
func (f *File) DropView(name string, ifExists bool) error {
	return f.change(func(st *state) (bool, error) { return st.dropView(name, ifExists) })
}

// ListFunctions implements Catalog.
func (f *File) ListFunctions() ([]string, error) {
	st, err := f.read()
	if err != nil {
		return nil, err
	}
	return sortedKeys(st.Functions), nil
}

// GetFunction implements Catalog.
func (f *File) GetFunction(name string) (Function, error) {
	st, err := f.read()
	if err != nil {
		return Function{}, err
	}
	return st.getFunction(name)
}

// CreateFunction implements Catalog.
func (f *File) CreateFunction(fn Function, ifNotExists bool) error {
	return f.change(func(st *state) (bool, error) { return st.createFunction(fn, ifNotExists) })
}

// DropFunction implements Catalog.
func (f *File) DropFunction(name string, ifExists bool) error {
	return f.change(func(st *state) (bool, error) { return st.dropFunction(name, ifExists) })
}

// limitedReader fails, instead of ending, past n bytes: a catalog file
// that large is refused, not cut.
type limitedReader struct {
	r interface{ Read([]byte) (int, error) }
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

var (
	_ Catalog = (*Memory)(nil)
	_ Catalog = (*File)(nil)
)
