package table

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/weirstream/weir/sql/format"
)

// OptionSpec is what a factory declares about its options. The registry
// refuses any other key, and a table that lacks a required one.
type OptionSpec struct {
	// Required keys must be set ('connector' is implied).
	Required []string
	// Optional keys may be set.
	Optional []string
	// Prefixes are key prefixes the connector passes on as they are, as
	// Kafka's 'properties.' ones.
	Prefixes []string
	// Format says the connector reads or writes through a format: the
	// table may set 'format' and that format's own options.
	Format bool
	// DefaultFormat is the format of a table that sets none; "" makes
	// 'format' required when Format is set.
	DefaultFormat string
}

// Factory makes the tables of one connector. A factory implements one or
// more of [ScanFactory], [SinkFactory] and [LookupFactory]; the planner
// refuses, by name, a use of a table whose factory lacks it.
type Factory interface {
	// Connector is the value of the 'connector' option that selects it.
	Connector() string
	// Options declares the options the connector takes.
	Options() OptionSpec
}

// IdleTimeoutOption is the option every scanned table may set: how long a
// split (a Kafka partition, a file) may go without records before it no
// longer holds the watermark back. AddSource applies it when the planner's
// Watermark sets no Idleness.
const IdleTimeoutOption = "scan.watermark.idle-timeout"

// Registry holds the factories of the connectors a program knows, by their
// 'connector' name, and the formats they may use. It is a value; the zero
// Registry has no connectors and the built-in formats.
type Registry struct {
	factories map[string]Factory
	formats   *format.Registry
}

// NewRegistry returns an empty registry whose tables find their formats in
// formats (nil: format.Default()).
func NewRegistry(formats *format.Registry) *Registry {
	if formats == nil {
		formats = format.Default()
	}
	return &Registry{formats: formats}
}

// Formats returns the registry's formats.
func (r *Registry) Formats() *format.Registry {
	if r.formats == nil {
		r.formats = format.Default()
	}
	return r.formats
}

// Register adds f. It fails if a factory for the same connector is there.
func (r *Registry) Register(f Factory) error {
	if r.factories == nil {
		r.factories = map[string]Factory{}
	}
	name := f.Connector()
	if _, ok := r.factories[name]; ok {
		return fmt.Errorf("table: a factory for connector '%s' is already registered: give yours another name", name)
	}
	r.factories[name] = f
	return nil
}

// Connectors returns the registered connectors' names, sorted.
func (r *Registry) Connectors() []string {
	names := make([]string, 0, len(r.factories))
	for n := range r.factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Resolve finds the factory of a table by its 'connector' option and checks
// the table's options against what the factory (and its format) declare.
// The error joins one error per problem, each naming the table and the
// option and listing the valid ones.
func (r *Registry) Resolve(table string, options []Option) (Factory, Options, error) {
	opts := Options{table: table, list: options}
	connector, ok := opts.Lookup("connector")
	if !ok {
		return nil, opts, fmt.Errorf("table %s: no 'connector' option: add 'connector' = '…', one of: %s",
			table, strings.Join(r.Connectors(), ", "))
	}
	f, ok := r.factories[connector]
	if !ok {
		return nil, opts, fmt.Errorf("table %s: unknown connector '%s': the connectors are: %s",
			table, connector, strings.Join(r.Connectors(), ", "))
	}
	spec := f.Options()
	valid := append([]string{"connector"}, spec.Required...)
	valid = append(valid, spec.Optional...)
	var errs []error
	if _, scans := f.(ScanFactory); scans {
		valid = append(valid, IdleTimeoutOption)
		if _, err := opts.Duration(IdleTimeoutOption, 0); err != nil {
			errs = append(errs, err)
		}
	}
	if spec.Format {
		valid = append(valid, "format")
		name, set := opts.Lookup("format")
		if !set {
			name = spec.DefaultFormat
		}
		if name != "" {
			if ft, err := r.Formats().Lookup(table, name); err != nil {
				errs = append(errs, err)
			} else {
				valid = append(valid, ft.Options()...)
			}
		}
	}
	seen := map[string]bool{}
	for _, op := range options {
		if seen[op.Key] {
			errs = append(errs, fmt.Errorf("table %s: option '%s' is set twice: keep one", table, op.Key))
		}
		seen[op.Key] = true
		if slices.Contains(valid, op.Key) || hasAnyPrefix(op.Key, spec.Prefixes) {
			continue
		}
		list := slices.Clone(valid)
		for _, p := range spec.Prefixes {
			list = append(list, p+"*")
		}
		errs = append(errs, fmt.Errorf("table %s: unknown option '%s' for connector '%s'; its options are: %s",
			table, op.Key, connector, strings.Join(list, ", ")))
	}
	required := spec.Required
	if spec.Format && spec.DefaultFormat == "" {
		required = append(slices.Clone(required), "format")
	}
	for _, k := range required {
		if !seen[k] {
			hint := ""
			if k == "format" {
				hint = " (one of: " + strings.Join(r.Formats().Names(), ", ") + ")"
			}
			errs = append(errs, fmt.Errorf("table %s: connector '%s' needs option '%s'%s: add it to the WITH clause", table, connector, k, hint))
		}
	}
	if len(errs) > 0 {
		return nil, opts, errors.Join(errs...)
	}
	return f, opts, nil
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}
