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
		c = castCodec[time.Duration, int64]{int64Codec{}}
	case time.Time:
		c = timeCodec{}
	}
	if c != nil {
		return c.(Codec[T])
	}
	t := reflect.TypeFor[T]()
	if isMarshaler(t) {
		return marshalerCodec[T]{}
	}
	if c := kindCodec[T](t); c != nil {
		return c
	}
	return newCBORCodec[T]()
}

// kindCodec returns the built-in codec of t's underlying kind, or nil.
func kindCodec[T any](t reflect.Type) Codec[T] {
	switch t.Kind() {
	case reflect.Bool:
		return castCodec[T, bool]{boolCodec{}}
	case reflect.Int:
		return castCodec[T, int]{intCodec{}}
	case reflect.Int8:
		return castCodec[T, int8]{int8Codec{}}
	case reflect.Int16:
		return castCodec[T, int16]{int16Codec{}}
	case reflect.Int32:
		return castCodec[T, int32]{int32Codec{}}
	case reflect.Int64:
		return castCodec[T, int64]{int64Codec{}}
	case reflect.Uint:
		return castCodec[T, uint]{uintCodec{}}
	case reflect.Uint8:
		return castCodec[T, uint8]{uint8Codec{}}
	case reflect.Uint16:
		return castCodec[T, uint16]{uint16Codec{}}
	case reflect.Uint32:
		return castCodec[T, uint32]{uint32Codec{}}
	case reflect.Uint64:
		return castCodec[T, uint64]{uint64Codec{}}
	case reflect.Float32:
		return castCodec[T, float32]{float32Codec{}}
	case reflect.Float64:
		return castCodec[T, float64]{float64Codec{}}
	case reflect.String:
		return castCodec[T, string]{stringCodec{}}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return castCodec[T, []byte]{bytesCodec{}}
		}
	}
	return nil
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

// marshalerCodec frames MarshalBinary's output with a uvarint length, since
// UnmarshalBinary takes exactly one value's bytes.
type marshalerCodec[T any] struct{}

func (marshalerCodec[T]) Append(dst []byte, v T) ([]byte, error) {
	var m any = v
	if _, ok := m.(encoding.BinaryMarshaler); !ok {
		m = &v
	}
	start := len(dst)
	if a, ok := m.(encoding.BinaryAppender); ok {
		out, err := a.AppendBinary(dst)
		if err != nil {
			return dst, fmt.Errorf("codec: %T.AppendBinary: %w", v, err)
		}
		// Shift the body right to make room for its length prefix.
		var hdr [binary.MaxVarintLen64]byte
		h := binary.PutUvarint(hdr[:], uint64(len(out)-start))
		out = append(out, hdr[:h]...)
		copy(out[start+h:], out[start:len(out)-h])
		copy(out[start:], hdr[:h])
		return out, nil
	}
	b, err := m.(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		return dst, fmt.Errorf("codec: %T.MarshalBinary: %w", v, err)
	}
	return AppendBytes(dst, b), nil
}

func (marshalerCodec[T]) Decode(src []byte) (T, int, error) {
	var v T
	b, n, err := ReadBytes(src)
	if err != nil {
		return v, 0, err
	}
	if err := any(&v).(encoding.BinaryUnmarshaler).UnmarshalBinary(b); err != nil {
		var zero T
		return zero, 0, fmt.Errorf("%w: %T.UnmarshalBinary: %w", ErrInvalid, v, err)
	}
	return v, n, nil
}

// cborCodec holds immutable CBOR modes; err is set only if the options
// were rejected, which would be a bug here, and is returned by every call.
type cborCodec[T any] struct {
	em  cbor.UserBufferEncMode
	dm  cbor.DecMode
	err error
}

func newCBORCodec[T any]() cborCodec[T] {
	if err := hiddenFields(reflect.TypeFor[T](), map[reflect.Type]bool{}); err != nil {
		// CBOR would silently drop the field: state would come back from a
		// checkpoint without it.
		return cborCodec[T]{err: err}
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
		return cborCodec[T]{err: fmt.Errorf("codec: CBOR encoding options: %w", err)}
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
		return cborCodec[T]{err: fmt.Errorf("codec: CBOR decoding options: %w", err)}
	}
	return cborCodec[T]{em: em, dm: dm}
}

func (c cborCodec[T]) Append(dst []byte, v T) ([]byte, error) {
	if c.err != nil {
		return dst, c.err
	}
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

func (c cborCodec[T]) Decode(src []byte) (T, int, error) {
	var v T
	if c.err != nil {
		return v, 0, c.err
	}
	rest, err := c.dm.UnmarshalFirst(src, &v)
	if err != nil {
		var zero T
		kind := ErrInvalid
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			kind = ErrTruncated
		}
		return zero, 0, fmt.Errorf("%w: CBOR %T: %w", kind, v, err)
	}
	return v, len(src) - len(rest), nil
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
