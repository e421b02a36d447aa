package codec

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"time"
	"unsafe"

	"github.com/fxamacker/cbor/v2"
)

// MaxNestedLevels is the deepest nesting of arrays, maps and tags that the
// CBOR codec writes or reads.
const MaxNestedLevels = 128

// For returns the codec for T, chosen as the package documentation
// describes: exact built-in types, then BinaryMarshaler types, then named
// types by their underlying kind, then CBOR. Call it once per type, at set-up:
// it inspects T by reflection.
func For[T any]() Codec[T] {
	var zero T
	var c any
	switch any(zero).(type) {
	case bool:
		c = boolCodec{}
	case int:
		c = intCodec{}
	case int8:
		c = int8Codec{}
	case int16:
		c = int16Codec{}
	case int32:
		c = int32Codec{}
	case int64:
		c = int64Codec{}
	case uint:
		c = uintCodec{}
	case uint8:
		c = uint8Codec{}
	case uint16:
		c = uint16Codec{}
	case uint32:
		c = uint32Codec{}
	case uint64:
		c = uint64Codec{}
	case float32:
		c = float32Codec{}
	case float64:
		c = float64Codec{}
	case string:
		c = stringCodec{}
	case []byte:
		c = bytesCodec{}
	case time.Duration:
		c = reflected[time.Duration]{how: byKind, kind: reflect.Int64}
	case time.Time:
		c = timeCodec{}
	}
	if c != nil {
		return c.(Codec[T])
	}
	t := reflect.TypeFor[T]()
	var elem reflect.Kind
	if t.Kind() == reflect.Slice {
		elem = t.Elem().Kind()
	}
	switch {
	case isMarshaler(t):
		return reflected[T]{how: byMarshaler}
	case castKind(t.Kind(), elem):
		return reflected[T]{how: byKind, kind: t.Kind()}
	}
	cb, err := newCBOR(t)
	return reflected[T]{how: byCBOR, cbor: cb, err: err}
}

// How a reflected codec encodes its type.
const (
	byKind = iota
	byMarshaler
	byCBOR
)

// reflected is the codec of every type without an exact built-in one. It
// is the only codec generic in T, and thin: the work is done by functions
// compiled once (appendKind, appendMarshaler, cborModes.append, ...). One
// such codec per type, rather than one per way of encoding, keeps what a
// job's package compiles for each of its record types small.
type reflected[T any] struct {
	how  uint8
	kind reflect.Kind // byKind
	cbor *cborModes   // byCBOR
	err  error        // byCBOR: the type cannot be encoded; every call returns it
}

func (c reflected[T]) Append(dst []byte, v T) ([]byte, error) {
	switch c.how {
	case byKind:
		// v does not escape: no allocation for named basic types.
		return appendKind(dst, c.kind, unsafe.Pointer(&v))
	case byMarshaler:
		w := v
		return appendMarshaler(dst, &w)
	}
	if c.err != nil {
		return dst, c.err
	}
	return c.cbor.append(dst, v)
}

func (c reflected[T]) Decode(src []byte) (v T, n int, err error) {
	switch c.how {
	case byKind:
		n, err = decodeKind(src, c.kind, unsafe.Pointer(&v))
		return v, n, err
	case byMarshaler:
		var w T
		if n, err = decodeMarshaler(src, &w); err != nil {
			return v, 0, err
		}
		return w, n, nil
	}
	if c.err != nil {
		return v, 0, c.err
	}
	var w T
	if n, err = c.cbor.decode(src, &w); err != nil {
		return v, 0, err
	}
	return w, n, nil
}

// isMarshaler reports whether t is a non-pointer, non-interface type that
// marshals itself. Pointers and interfaces go to CBOR, which handles nil.
func isMarshaler(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
		return false
	}
	marshalerType := reflect.TypeFor[encoding.BinaryMarshaler]()
	pt := reflect.PointerTo(t)
	return (t.Implements(marshalerType) || pt.Implements(marshalerType)) && pt.Implements(reflect.TypeFor[encoding.BinaryUnmarshaler]())
}

// appendMarshaler frames the output of ptr's MarshalBinary (AppendBinary
// where it has one) with a uvarint length, since UnmarshalBinary takes
// exactly one value's bytes. ptr points to a value of a type isMarshaler
// accepted: its method set has the value's methods too.
func appendMarshaler(dst []byte, ptr any) ([]byte, error) {
	start := len(dst)
	if a, ok := ptr.(encoding.BinaryAppender); ok {
		out, err := a.AppendBinary(dst)
		if err != nil {
			return dst, fmt.Errorf("codec: %v.AppendBinary: %w", reflect.TypeOf(ptr).Elem(), err)
		}
		// Shift the body right to make room for its length prefix.
		var hdr [binary.MaxVarintLen64]byte
		h := binary.PutUvarint(hdr[:], uint64(len(out)-start))
		out = append(out, hdr[:h]...)
		copy(out[start+h:], out[start:len(out)-h])
		copy(out[start:], hdr[:h])
		return out, nil
	}
	b, err := ptr.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return dst, fmt.Errorf("codec: %v.MarshalBinary: %w", reflect.TypeOf(ptr).Elem(), err)
	}
	return AppendBytes(dst, b), nil
}

// decodeMarshaler reads one framed value into ptr with UnmarshalBinary.
func decodeMarshaler(src []byte, ptr any) (int, error) {
	b, n, err := ReadBytes(src)
	if err != nil {
		return 0, err
	}
	if err := ptr.(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
		return 0, fmt.Errorf("%w: %v.UnmarshalBinary: %w", ErrInvalid, reflect.TypeOf(ptr).Elem(), err)
	}
	return n, nil
}

// cborModes holds immutable CBOR modes.
type cborModes struct {
	em cbor.UserBufferEncMode
	dm cbor.DecMode
}

// newCBOR returns the CBOR modes for t, or why t cannot be encoded.
func newCBOR(t reflect.Type) (*cborModes, error) {
	if err := hiddenFields(t, map[reflect.Type]bool{}); err != nil {
		// CBOR would silently drop the field: state would come back from a
		// checkpoint without it.
		return nil, err
	}
	em, err := cbor.EncOptions{
		Sort:          cbor.SortCoreDeterministic, // same value, same bytes
		ShortestFloat: cbor.ShortestFloatNone,
		NaNConvert:    cbor.NaNConvertPreserveSignal,
		InfConvert:    cbor.InfConvertNone,
		Time:          cbor.TimeRFC3339Nano, // keeps nanoseconds and the UTC offset
		TimeTag:       cbor.EncTagRequired,
		IndefLength:   cbor.IndefLengthForbidden,
	}.UserBufferEncMode()
	if err != nil {
		return nil, fmt.Errorf("codec: CBOR encoding options: %w", err)
	}
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  MaxNestedLevels,
		MaxArrayElements: math.MaxInt32, // bounded by the input: it is checked before decoding
		MaxMapPairs:      math.MaxInt32,
		IndefLength:      cbor.IndefLengthForbidden,
		UTF8:             cbor.UTF8DecodeInvalid, // Go strings may hold any bytes
	}.DecMode()
	if err != nil {
		return nil, fmt.Errorf("codec: CBOR decoding options: %w", err)
	}
	return &cborModes{em: em, dm: dm}, nil
}

func (c *cborModes) append(dst []byte, v any) ([]byte, error) {
	start := len(dst)
	buf := bytes.NewBuffer(dst)
	if err := c.em.MarshalToBuffer(v, buf); err != nil {
		return dst, fmt.Errorf("codec: encoding %T as CBOR: %w", v, err)
	}
	out := buf.Bytes()
	// Refuse now what Decode would refuse later (nesting too deep).
	if err := c.dm.Wellformed(out[start:]); err != nil {
		return dst, fmt.Errorf("codec: %T encodes to CBOR that cannot be decoded: %w", v, err)
	}
	return out, nil
}

// decode decodes one value into ptr.
func (c *cborModes) decode(src []byte, ptr any) (int, error) {
	rest, err := c.dm.UnmarshalFirst(src, ptr)
	if err != nil {
		kind := ErrInvalid
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			kind = ErrTruncated
		}
		return 0, fmt.Errorf("%w: CBOR %v: %w", kind, reflect.TypeOf(ptr).Elem(), err)
	}
	return len(src) - len(rest), nil
}

// hiddenFields reports a struct field that CBOR would not store: an
// unexported field in t or in a type t holds, unless a type encodes itself
// (time.Time, marshalers).
func hiddenFields(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	pt := reflect.PointerTo(t)
	for _, m := range []reflect.Type{reflect.TypeFor[encoding.BinaryMarshaler](), reflect.TypeFor[encoding.TextMarshaler](), reflect.TypeFor[cbor.Marshaler]()} {
		if t.Implements(m) || pt.Implements(m) {
			return nil
		}
	}
	if t == reflect.TypeFor[time.Time]() {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return hiddenFields(t.Elem(), seen)
	case reflect.Map:
		if err := hiddenFields(t.Key(), seen); err != nil {
			return err
		}
		return hiddenFields(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" || f.Tag.Get("cbor") == "-" {
				continue
			}
			if !f.IsExported() && !f.Anonymous {
				return fmt.Errorf("codec: %v has the unexported field %s, which CBOR cannot store, so it would be lost in checkpoints: export it, tag it `cbor:\"-\"` if it need not be kept, or implement encoding.BinaryMarshaler", t, f.Name)
			}
			if err := hiddenFields(f.Type, seen); err != nil {
				return err
			}
		}
	}
	return nil
}
