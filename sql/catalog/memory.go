package catalog

import (
	"slices"
	"sort"
	"sync"
)

// Memory is a catalog held in memory. The zero Memory is empty and ready.
type Memory struct {
	mu    sync.Mutex
	state state
}

// state is a catalog's contents; File stores it as JSON.
type state struct {
	Tables    map[string]Table
	Views     map[string]View
	Functions map[string]Function
}

// NewMemory returns an empty in-memory catalog.
func NewMemory() *Memory { return &Memory{} }

func (s *state) init() {
	if s.Tables == nil {
		s.Tables = map[string]Table{}
	}
	if s.Views == nil {
		s.Views = map[string]View{}
	}
	if s.Functions == nil {
		s.Functions = map[string]Function{}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// relation returns what holds name in the tables' and views' namespace.
func (s *state) relation(name string) string {
	if _, ok := s.Tables[name]; ok {
		return "table"
	}
	if _, ok := s.Views[name]; ok {
		return "view"
	}
	return ""
}

func copyTable(t Table) Table {
	t.Columns = slices.Clone(t.Columns)
	t.PrimaryKey = slices.Clone(t.PrimaryKey)
	t.Options = slices.Clone(t.Options)
	if t.Watermark != nil {
		w := *t.Watermark
		t.Watermark = &w
	}
	return t
}

func (s *state) createTable(t Table, ifNotExists bool) (bool, error) {
	s.init()
	if err := validName("table", t.Name); err != nil {
		return false, err
	}
	if taken := s.relation(t.Name); taken != "" {
		if ifNotExists && taken == "table" {
			return false, nil
		}
		return false, exists("table", t.Name, taken)
	}
	s.Tables[t.Name] = copyTable(t)
	return true, nil
}

func (s *state) dropTable(name string, ifExists bool) (bool, error) {
	if _, ok := s.Tables[name]; !ok {
		if ifExists {
			return false, nil
		}
		return false, notExist("table", name)
	}
	delete(s.Tables, name)
	return true, nil
}

func (s *state) createView(v View, ifNotExists bool) (bool, error) {
	s.init()
	if err := validName("view", v.Name); err != nil {
		return false, err
	}
	if taken := s.relation(v.Name); taken != "" {
		if ifNotExists && taken == "view" {
			return false, nil
		}
		return false, exists("view", v.Name, taken)
	}
	v.Schema = slices.Clone(v.Schema)
	s.Views[v.Name] = v
	return true, nil
}

func (s *state) dropView(name string, ifExists bool) (bool, error) {
	if _, ok := s.Views[name]; !ok {
		if ifExists {
			return false, nil
		}
		return false, notExist("view", name)
	}
	delete(s.Views, name)
	return true, nil
}

func (s *state) createFunction(f Function, ifNotExists bool) (bool, error) {
	s.init()
	if err := validName("function", f.Name); err != nil {
		return false, err
	}
	if _, ok := s.Functions[f.Name]; ok {
		if ifNotExists {
			return false, nil
		}
		return false, exists("function", f.Name, "function")
	}
	s.Functions[f.Name] = f
	return true, nil
}

func (s *state) dropFunction(name string, ifExists bool) (bool, error) {
	if _, ok := s.Functions[name]; !ok {
		if ifExists {
			return false, nil
		}
		return false, notExist("function", name)
	}
	delete(s.Functions, name)
	return true, nil
}

func (s *state) getTable(name string) (Table, error) {
	t, ok := s.Tables[name]
	if !ok {
		return Table{}, notExist("table", name)
	}
	return copyTable(t), nil
}

func (s *state) getView(name string) (View, error) {
	v, ok := s.Views[name]
	if !ok {
		return View{}, notExist("view", name)
	}
	v.Schema = slices.Clone(v.Schema)
	return v, nil
}

func (s *state) getFunction(name string) (Function, error) {
	f, ok := s.Functions[name]
	if !ok {
		return Function{}, notExist("function", name)
	}
	return f, nil
}

// ListTables implements Catalog.
func (m *Memory) ListTables() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedKeys(m.state.Tables), nil
}

// GetTable implements Catalog.
func (m *Memory) GetTable(name string) (Table, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.getTable(name)
}

// CreateTable implements Catalog.
func (m *Memory) CreateTable(t Table, ifNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.state.createTable(t, ifNotExists)
	return err
}

// DropTable implements Catalog.
func (m *Memory) DropTable(name string, ifExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.state.dropTable(name, ifExists)
	return err
}

// ListViews implements Catalog.
func (m *Memory) ListViews() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedKeys(m.state.Views), nil
}

// GetView implements Catalog.
func (m *Memory) GetView(name string) (View, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.getView(name)
}

// CreateView implements Catalog.
func (m *Memory) CreateView(v View, ifNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.state.createView(v, ifNotExists)
	return err
}

// DropView implements Catalog.
func (m *Memory) DropView(name string, ifExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.state.dropView(name, ifExists)
	return err
}

// ListFunctions implements Catalog.
func (m *Memory) ListFunctions() ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return sortedKeys(m.state.Functions), nil
}

// GetFunction implements Catalog.
func (m *Memory) GetFunction(name string) (Function, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.state.getFunction(name)
}

// CreateFunction implements Catalog.
func (m *Memory) CreateFunction(f Function, ifNotExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.state.createFunction(f, ifNotExists)
	return err
}

// DropFunction implements Catalog.
func (m *Memory) DropFunction(name string, ifExists bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, err := m.state.dropFunction(name, ifExists)
	return err
}
