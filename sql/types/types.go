// Package types holds the vocabulary every part of weir's SQL shares: the
// SQL data types, a value of one of them, and the row that flows through a
// job planned from SQL.
//
// A [Value] is a small struct, not an interface, so that a row of values is
// one allocation and a number is never boxed. A [Row] is a changelog entry:
// its [RowKind] says whether it adds a row or, for updating queries, takes one
// back. Values carry their own tag, so a Row encodes without its schema
// (Row implements encoding.BinaryMarshaler, and codec.For[Row] uses it).
//
// Columns of type ROW<…> are flattened by the planner into their leaf
// columns, named "outer.inner"; a Value never holds a nested row.
package types

import (
	"fmt"
	"strings"
)

// Kind is the kind of a SQL data type.
type Kind uint8

// The kinds of SQL data types weir supports.
const (
	// Unknown is the zero Kind: no type, as of a bare NULL literal.
	Unknown Kind = iota
	Boolean
	Int    // INT: 32-bit, held in an int64
	BigInt // BIGINT
	Double // DOUBLE
	// Decimal is DECIMAL(p, s) with p ≤ 18: the value is the unscaled
	// integer (12.34 in DECIMAL(10,2) is 1234).
	Decimal
	String // STRING, VARCHAR(n), CHAR(n)
	// Timestamp is TIMESTAMP(p), a date and time without a zone, held as
	// milliseconds since 1970-01-01 00:00:00 as if that were UTC.
	Timestamp
	// TimestampLTZ is TIMESTAMP_LTZ(p), an instant, held as milliseconds
	// since the Unix epoch; it is shown in the session's time zone.
	TimestampLTZ
	// Interval is INTERVAL … DAY TO SECOND, held as milliseconds.
	Interval
	// Record is ROW<name type, …>; it is called Record so as not to
	// collide with the Row of values.
	Record
)

var kindNames = [...]string{
	Unknown: "NULL", Boolean: "BOOLEAN", Int: "INT", BigInt: "BIGINT", Double: "DOUBLE",
	Decimal: "DECIMAL", String: "STRING", Timestamp: "TIMESTAMP", TimestampLTZ: "TIMESTAMP_LTZ",
	Interval: "INTERVAL", Record: "ROW",
}

// String returns the kind's SQL name.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", k)
}

// MaxDecimalPrecision is the largest DECIMAL precision weir holds: the
// unscaled value must fit an int64.
const MaxDecimalPrecision = 18

// Type is a SQL data type.
type Type struct {
	Kind Kind
	// Precision is DECIMAL's p and TIMESTAMP's fractional digits (weir keeps
	// milliseconds, so at most 3 is exact).
	Precision int
	// Scale is DECIMAL's s.
	Scale int
	// NotNull is set for a type declared NOT NULL.
	NotNull bool
	// Fields are a ROW's fields, in order.
	Fields []Field
}

// Field is one named field of a ROW type, or a column of a table.
type Field struct {
	Name string
	Type Type
}

// The plain types, for convenience.
var (
	BooleanType      = Type{Kind: Boolean}
	IntType          = Type{Kind: Int}
	BigIntType       = Type{Kind: BigInt}
	DoubleType       = Type{Kind: Double}
	StringType       = Type{Kind: String}
	TimestampType    = Type{Kind: Timestamp, Precision: 3}
	TimestampLTZType = Type{Kind: TimestampLTZ, Precision: 3}
	IntervalType     = Type{Kind: Interval}
)

// DecimalType returns DECIMAL(p, s).
func DecimalType(p, s int) Type { return Type{Kind: Decimal, Precision: p, Scale: s} }

// String returns the type as SQL spells it.
func (t Type) String() string {
	var b strings.Builder
	switch t.Kind {
	case Decimal:
		fmt.Fprintf(&b, "DECIMAL(%d, %d)", t.Precision, t.Scale)
	case Timestamp, TimestampLTZ:
		fmt.Fprintf(&b, "%s(%d)", t.Kind, t.Precision)
	case Interval:
		b.WriteString("INTERVAL DAY TO SECOND")
	case Record:
		b.WriteString("ROW<")
		for i, f := range t.Fields {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s", f.Name, f.Type)
		}
		b.WriteString(">")
	default:
		b.WriteString(t.Kind.String())
	}
	if t.NotNull {
		b.WriteString(" NOT NULL")
	}
	return b.String()
}

// Numeric reports whether values of t are numbers.
func (t Type) Numeric() bool {
	switch t.Kind {
	case Int, BigInt, Double, Decimal:
		return true
	}
	return false
}

// Temporal reports whether t is TIMESTAMP or TIMESTAMP_LTZ.
func (t Type) Temporal() bool { return t.Kind == Timestamp || t.Kind == TimestampLTZ }

// Equal reports whether t and u are the same type, nullability included.
func (t Type) Equal(u Type) bool {
	if t.Kind != u.Kind || t.Precision != u.Precision || t.Scale != u.Scale ||
		t.NotNull != u.NotNull || len(t.Fields) != len(u.Fields) {
		return false
	}
	for i := range t.Fields {
		if t.Fields[i].Name != u.Fields[i].Name || !t.Fields[i].Type.Equal(u.Fields[i].Type) {
			return false
		}
	}
	return true
}

// Schema is the columns of a table or of a query's result, in order.
type Schema []Field

// Index returns the position of the column named name, or -1. Names are
// case-sensitive, as in Flink SQL.
func (s Schema) Index(name string) int {
	for i, f := range s {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// Names returns the column names in order.
func (s Schema) Names() []string {
	names := make([]string, len(s))
	for i, f := range s {
		names[i] = f.Name
	}
	return names
}

// Flatten returns s with every ROW column replaced by its leaf columns,
// named "outer.inner" (recursively), in order.
func (s Schema) Flatten() Schema {
	var out Schema
	var walk func(prefix string, fs []Field)
	walk = func(prefix string, fs []Field) {
		for _, f := range fs {
			if f.Type.Kind == Record {
				walk(prefix+f.Name+".", f.Type.Fields)
				continue
			}
			out = append(out, Field{Name: prefix + f.Name, Type: f.Type})
		}
	}
	walk("", s)
	return out
}

// String returns the schema as a column list: (a INT, b STRING).
func (s Schema) String() string {
	parts := make([]string, len(s))
	for i, f := range s {
		parts[i] = f.Name + " " + f.Type.String()
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
