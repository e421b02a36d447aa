package format

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/types"
)

// Decoder turns one record (a line of a file, a Kafka record's value) into
// a row of the schema it was made for, values in schema order. An error
// says why the record is not a row; the caller sends the record to the
// dead letters with the error's text as the reason. A Decoder never
// panics, whatever its input, and the row never aliases data.
type Decoder func(data []byte) (types.Row, error)

// Encoder appends the encoding of row, a row of the schema it was made
// for, to dst and returns the extended slice. It adds no record
// separator: a line sink adds the '\n'.
type Encoder func(dst []byte, row types.Row) []byte

// Config is what a format is given to make a decoder or an encoder.
type Config struct {
	// Table names the table, for errors.
	Table string
	// Schema is the physical schema, flattened (types.Schema.Flatten):
	// ROW fields are leaf columns named "outer.inner".
	Schema types.Schema
	// Options are the table's options that belong to the format: those
	// whose key starts with the format's name and a dot
	// ("csv.field-delimiter"). The table layer has already refused keys
	// the format does not declare.
	Options map[string]string
	// Location is the session time zone; nil means UTC.
	Location *time.Location
}

// Format is one format, found by the value of a table's 'format' option.
type Format interface {
	// Name is the value of 'format' that selects it: "json", "csv".
	Name() string
	// Options lists the option keys the format takes, each starting with
	// Name() and a dot.
	Options() []string
	// Decoder returns the decoder of rows of c.Schema, or an error naming
	// the table and the column or option that does not fit.
	Decoder(c Config) (Decoder, error)
	// Encoder returns the encoder of rows of c.Schema. A format that
	// cannot write (combined-log) returns an error that says so.
	Encoder(c Config) (Encoder, error)
}

// Registry is a set of formats by name. It is a value: a program builds
// its own, usually with Default. The zero Registry is empty and ready.
type Registry struct {
	formats map[string]Format
}

// Default returns a registry of the built-in formats: json, csv, raw and
// combined-log.
func Default() *Registry {
	r := &Registry{}
	for _, f := range []Format{JSON{}, CSV{}, Raw{}, CombinedLog{}} {
		if err := r.Register(f); err != nil {
			panic(err) // the built-in names are distinct
		}
	}
	return r
}

// Register adds f. It fails if a format of that name is registered.
func (r *Registry) Register(f Format) error {
	if r.formats == nil {
		r.formats = map[string]Format{}
	}
	if _, ok := r.formats[f.Name()]; ok {
		return fmt.Errorf("format: a format named %q is already registered: choose another name", f.Name())
	}
	r.formats[f.Name()] = f
	return nil
}

// Lookup returns the format named name, or an error for table that lists
// the formats there are.
func (r *Registry) Lookup(table, name string) (Format, error) {
	if f, ok := r.formats[name]; ok {
		return f, nil
	}
	return nil, fmt.Errorf("format: table %s: unknown format '%s': the formats are: %s", table, name, strings.Join(r.Names(), ", "))
}

// Names returns the registered formats' names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.formats))
	for n := range r.formats {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// checkOptions refuses keys of opts that f does not declare; the table
// layer does this first, so this only guards direct callers.
func checkOptions(f Format, c Config) error {
	for k := range c.Options {
		if !slices.Contains(f.Options(), k) {
			return fmt.Errorf("format: table %s: unknown option '%s' for format '%s'; its options are: %s",
				c.Table, k, f.Name(), strings.Join(f.Options(), ", "))
		}
	}
	return nil
}

// oneChar parses an option whose value is a single character (a CSV
// delimiter), accepting the escapes '\t' and '\\t' a SQL string may hold.
func oneChar(c Config, key string, def byte) (byte, error) {
	v, ok := c.Options[key]
	if !ok {
		return def, nil
	}
	switch v {
	case `\t`:
		return '\t', nil
	}
	if len(v) != 1 {
		return 0, fmt.Errorf("format: table %s: option '%s' is %q: it must be one ASCII character, such as ',' or '\\t'", c.Table, key, v)
	}
	return v[0], nil
}
