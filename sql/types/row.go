package types

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// RowKind is what a row does to a query's result: add a row, or, in the
// changelog of an updating query, take one back or replace one.
type RowKind uint8

// The row kinds, as Flink's RowKind.
const (
	Insert       RowKind = iota // +I
	UpdateBefore                // -U: the old value of an updated row
	UpdateAfter                 // +U: its new value
	Delete                      // -D
)

// String returns the kind's short form: +I, -U, +U or -D.
func (k RowKind) String() string {
	switch k {
	case Insert:
		return "+I"
	case UpdateBefore:
		return "-U"
	case UpdateAfter:
		return "+U"
	case Delete:
		return "-D"
	}
	return fmt.Sprintf("RowKind(%d)", k)
}

// Retracts reports whether a row of kind k takes a row back (-U, -D).
func (k RowKind) Retracts() bool { return k == UpdateBefore || k == Delete }

// Row is one row of a table or a query's result, with its changelog kind.
// Its values are in the order of the schema the plan gives it.
type Row struct {
	Kind   RowKind
	Values []Value
}

// NewRow returns an insert row of vs.
func NewRow(vs ...Value) Row { return Row{Values: vs} }

// MaxRowValues bounds the number of values a decoded row may have, so that a
// corrupt count cannot make the decoder allocate more than the input allows.
const MaxRowValues = 1 << 16

var errRow = errors.New("types: malformed row encoding")

// MarshalBinary encodes r: its kind, the number of values, then each value
// as a tag byte and its payload (8 bytes big-endian for numbers, a uvarint
// length and the bytes for strings, nothing for NULL).
func (r Row) MarshalBinary() ([]byte, error) { return r.AppendBinary(nil) }

// AppendBinary appends r's encoding (see MarshalBinary) to dst.
func (r Row) AppendBinary(dst []byte) ([]byte, error) {
	dst = append(dst, byte(r.Kind))
	dst = binary.AppendUvarint(dst, uint64(len(r.Values)))
	for _, v := range r.Values {
		dst = AppendValue(dst, v)
	}
	return dst, nil
}

// UnmarshalBinary decodes a row encoded by MarshalBinary; it never panics on
// bad input and the row does not alias data.
func (r *Row) UnmarshalBinary(data []byte) error {
	if len(data) < 1 || data[0] > byte(Delete) {
		return fmt.Errorf("%w: bad row kind", errRow)
	}
	kind := RowKind(data[0])
	n, used := binary.Uvarint(data[1:])
	if used <= 0 || n > MaxRowValues || n > uint64(len(data)) {
		return fmt.Errorf("%w: bad value count", errRow)
	}
	p := 1 + used
	values := make([]Value, n)
	for i := range values {
		v, used, err := DecodeValue(data[p:])
		if err != nil {
			return err
		}
		values[i] = v
		p += used
	}
	if p != len(data) {
		return fmt.Errorf("%w: %d bytes left over", errRow, len(data)-p)
	}
	r.Kind, r.Values = kind, values
	return nil
}

// AppendValue appends v's encoding to dst: a tag byte, then 8 bytes
// big-endian for a boolean or a number, a uvarint length and the bytes for
// a string, nothing for NULL. Equal values encode to equal bytes, so the
// encoding of several values is a map key for them (GROUP BY, joins); Row's
// encoding is its values' in turn.
func AppendValue(dst []byte, v Value) []byte {
	dst = append(dst, byte(v.t))
	switch v.t {
	case tagBool, tagInt, tagFloat:
		dst = binary.BigEndian.AppendUint64(dst, uint64(v.n))
	case tagString:
		dst = binary.AppendUvarint(dst, uint64(len(v.s)))
		dst = append(dst, v.s...)
	}
	return dst
}

// DecodeValue decodes one value encoded by AppendValue from the start of
// src and returns it with the number of bytes used. It never panics on bad
// input, and the value does not alias src.
func DecodeValue(src []byte) (Value, int, error) {
	if len(src) == 0 {
		return Value{}, 0, fmt.Errorf("%w: truncated", errRow)
	}
	t, p := tag(src[0]), 1
	switch t {
	case tagNull:
		return Value{}, p, nil
	case tagBool, tagInt, tagFloat:
		if len(src)-p < 8 {
			return Value{}, 0, fmt.Errorf("%w: truncated", errRow)
		}
		v := Value{n: int64(binary.BigEndian.Uint64(src[p:])), t: t}
		if t == tagBool && v.n > 1 {
			return Value{}, 0, fmt.Errorf("%w: bad boolean", errRow)
		}
		return v, p + 8, nil
	case tagString:
		l, used := binary.Uvarint(src[p:])
		if used <= 0 || l > uint64(len(src)-p-used) {
			return Value{}, 0, fmt.Errorf("%w: bad string length", errRow)
		}
		p += used
		return StringValue(string(src[p : p+int(l)])), p + int(l), nil
	}
	return Value{}, 0, fmt.Errorf("%w: bad value tag %d", errRow, t)
}
