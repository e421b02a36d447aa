package codec

import (
	"encoding/binary"
	"fmt"
	"math"
	"reflect"
	"time"
	"unsafe"
)

const signBit64 = 1 << 63

// need reports a truncated input when src is shorter than n bytes.
func need(src []byte, n int, what string) error {
	if len(src) < n {
		return fmt.Errorf("%w: %s needs %d bytes, got %d", ErrTruncated, what, n, len(src))
	}
	return nil
}

type boolCodec struct{}

func (boolCodec) Append(dst []byte, v bool) ([]byte, error) {
	if v {
		return append(dst, 1), nil
	}
	return append(dst, 0), nil
}

func (boolCodec) Decode(src []byte) (bool, int, error) {
	if err := need(src, 1, "bool"); err != nil {
		return false, 0, err
	}
	switch src[0] {
	case 0:
		return false, 1, nil
	case 1:
		return true, 1, nil
	}
	// Only 0 and 1, so that every value has exactly one encoding.
	return false, 0, fmt.Errorf("%w: bool byte %#x", ErrInvalid, src[0])
}

// Unsigned integers are big-endian, so byte order is numeric order.

type uint8Codec struct{}

func (uint8Codec) Append(dst []byte, v uint8) ([]byte, error) { return append(dst, v), nil }

func (uint8Codec) Decode(src []byte) (uint8, int, error) {
	if err := need(src, 1, "uint8"); err != nil {
		return 0, 0, err
	}
	return src[0], 1, nil
}

type uint16Codec struct{}

func (uint16Codec) Append(dst []byte, v uint16) ([]byte, error) {
	return binary.BigEndian.AppendUint16(dst, v), nil
}

func (uint16Codec) Decode(src []byte) (uint16, int, error) {
	if err := need(src, 2, "uint16"); err != nil {
		return 0, 0, err
	}
	return binary.BigEndian.Uint16(src), 2, nil
}

type uint32Codec struct{}

func (uint32Codec) Append(dst []byte, v uint32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(dst, v), nil
}

func (uint32Codec) Decode(src []byte) (uint32, int, error) {
	if err := need(src, 4, "uint32"); err != nil {
		return 0, 0, err
	}
	return binary.BigEndian.Uint32(src), 4, nil
}

type uint64Codec struct{}

func (uint64Codec) Append(dst []byte, v uint64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(dst, v), nil
}

func (uint64Codec) Decode(src []byte) (uint64, int, error) {
	if err := need(src, 8, "uint64"); err != nil {
		return 0, 0, err
	}
	return binary.BigEndian.Uint64(src), 8, nil
}

// uintCodec writes uint as 8 bytes on every platform, so files move between
// 32- and 64-bit machines; a 32-bit decoder rejects values it cannot hold.
type uintCodec struct{}

func (uintCodec) Append(dst []byte, v uint) ([]byte, error) {
	return binary.BigEndian.AppendUint64(dst, uint64(v)), nil
}

func (uintCodec) Decode(src []byte) (uint, int, error) {
	u, n, err := uint64Codec{}.Decode(src)
	if err != nil {
		return 0, 0, err
	}
	if u > math.MaxUint {
		return 0, 0, fmt.Errorf("%w: uint %d overflows this platform's uint", ErrInvalid, u)
	}
	return uint(u), n, nil
}

// Signed integers flip the sign bit, so negatives sort before positives
// under unsigned byte comparison.

type int8Codec struct{}

func (int8Codec) Append(dst []byte, v int8) ([]byte, error) { return append(dst, uint8(v)^0x80), nil }

func (int8Codec) Decode(src []byte) (int8, int, error) {
	if err := need(src, 1, "int8"); err != nil {
		return 0, 0, err
	}
	return int8(src[0] ^ 0x80), 1, nil
}

type int16Codec struct{}

func (int16Codec) Append(dst []byte, v int16) ([]byte, error) {
	return binary.BigEndian.AppendUint16(dst, uint16(v)^0x8000), nil
}

func (int16Codec) Decode(src []byte) (int16, int, error) {
	if err := need(src, 2, "int16"); err != nil {
		return 0, 0, err
	}
	return int16(binary.BigEndian.Uint16(src) ^ 0x8000), 2, nil
}

type int32Codec struct{}

func (int32Codec) Append(dst []byte, v int32) ([]byte, error) {
	return binary.BigEndian.AppendUint32(dst, uint32(v)^0x80000000), nil
}

func (int32Codec) Decode(src []byte) (int32, int, error) {
	if err := need(src, 4, "int32"); err != nil {
		return 0, 0, err
	}
	return int32(binary.BigEndian.Uint32(src) ^ 0x80000000), 4, nil
}

type int64Codec struct{}

func (int64Codec) Append(dst []byte, v int64) ([]byte, error) {
	return binary.BigEndian.AppendUint64(dst, uint64(v)^signBit64), nil
}

func (int64Codec) Decode(src []byte) (int64, int, error) {
	if err := need(src, 8, "int64"); err != nil {
		return 0, 0, err
	}
	return int64(binary.BigEndian.Uint64(src) ^ signBit64), 8, nil
}

// intCodec writes int as 8 bytes on every platform (see uintCodec).
type intCodec struct{}

func (intCodec) Append(dst []byte, v int) ([]byte, error) {
	return int64Codec{}.Append(dst, int64(v))
}

func (intCodec) Decode(src []byte) (int, int, error) {
	i, n, err := int64Codec{}.Decode(src)
	if err != nil {
		return 0, 0, err
	}
	if i < math.MinInt || i > math.MaxInt {
		return 0, 0, fmt.Errorf("%w: int %d overflows this platform's int", ErrInvalid, i)
	}
	return int(i), n, nil
}

// Floats: flipping all bits of negatives and the sign bit of the rest makes
// the unsigned big-endian order the numeric order (-0 sorts just before +0,
// NaNs sort at the ends). The bits round-trip exactly, NaN payloads included.

type float32Codec struct{}

func (float32Codec) Append(dst []byte, v float32) ([]byte, error) {
	u := math.Float32bits(v)
	if u&(1<<31) != 0 {
		u = ^u
	} else {
		u |= 1 << 31
	}
	return binary.BigEndian.AppendUint32(dst, u), nil
}

func (float32Codec) Decode(src []byte) (float32, int, error) {
	if err := need(src, 4, "float32"); err != nil {
		return 0, 0, err
	}
	u := binary.BigEndian.Uint32(src)
	if u&(1<<31) != 0 {
		u &^= 1 << 31
	} else {
		u = ^u
	}
	return math.Float32frombits(u), 4, nil
}

type float64Codec struct{}

func (float64Codec) Append(dst []byte, v float64) ([]byte, error) {
	u := math.Float64bits(v)
	if u&signBit64 != 0 {
		u = ^u
	} else {
		u |= signBit64
	}
	return binary.BigEndian.AppendUint64(dst, u), nil
}

func (float64Codec) Decode(src []byte) (float64, int, error) {
	if err := need(src, 8, "float64"); err != nil {
		return 0, 0, err
	}
	u := binary.BigEndian.Uint64(src)
	if u&signBit64 != 0 {
		u &^= signBit64
	} else {
		u = ^u
	}
	return math.Float64frombits(u), 8, nil
}

type stringCodec struct{}

func (stringCodec) Append(dst []byte, v string) ([]byte, error) {
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...), nil
}

func (stringCodec) Decode(src []byte) (string, int, error) {
	l, n, err := readLen(src)
	if err != nil {
		return "", 0, err
	}
	return string(src[n : n+l]), n + l, nil
}

// bytesCodec decodes an empty slice as nil: nil and empty encode alike.
type bytesCodec struct{}

func (bytesCodec) Append(dst []byte, v []byte) ([]byte, error) { return AppendBytes(dst, v), nil }

func (bytesCodec) Decode(src []byte) ([]byte, int, error) {
	b, n, err := ReadBytes(src)
	if err != nil {
		return nil, 0, err
	}
	if len(b) == 0 {
		return nil, n, nil
	}
	return append([]byte(nil), b...), n, nil
}

// maxZoneOffset bounds a decoded UTC offset; real offsets are within ±15h.
const maxZoneOffset = 24 * 60 * 60

// timeCodec writes seconds first, so encodings of times sort by instant.
type timeCodec struct{}

func (timeCodec) Append(dst []byte, v time.Time) ([]byte, error) {
	_, off := v.Zone()
	dst = binary.BigEndian.AppendUint64(dst, uint64(v.Unix())^signBit64)
	dst = binary.BigEndian.AppendUint32(dst, uint32(v.Nanosecond()))
	return binary.BigEndian.AppendUint32(dst, uint32(int32(off))^0x80000000), nil
}

func (timeCodec) Decode(src []byte) (time.Time, int, error) {
	if err := need(src, 16, "time.Time"); err != nil {
		return time.Time{}, 0, err
	}
	sec := int64(binary.BigEndian.Uint64(src) ^ signBit64)
	nsec := binary.BigEndian.Uint32(src[8:])
	off := int(int32(binary.BigEndian.Uint32(src[12:]) ^ 0x80000000))
	if nsec >= 1e9 {
		return time.Time{}, 0, fmt.Errorf("%w: time.Time nanoseconds %d out of range", ErrInvalid, nsec)
	}
	if off <= -maxZoneOffset || off >= maxZoneOffset {
		return time.Time{}, 0, fmt.Errorf("%w: time.Time UTC offset %ds out of range", ErrInvalid, off)
	}
	t := time.Unix(sec, int64(nsec))
	if off == 0 {
		return t.UTC(), 16, nil
	}
	return t.In(time.FixedZone("", off)), 16, nil
}

// castKind reports whether a named type of kind k (and, for a slice,
// element kind elem) is encoded as its underlying type, by appendKind and
// decodeKind.
func castKind(k, elem reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return true
	case reflect.Slice:
		return elem == reflect.Uint8
	}
	return false
}

// appendKind appends the encoding of the value of kind k at p.
func appendKind(dst []byte, k reflect.Kind, p unsafe.Pointer) ([]byte, error) {
	switch k {
	case reflect.Bool:
		return boolCodec{}.Append(dst, *(*bool)(p))
	case reflect.Int:
		return intCodec{}.Append(dst, *(*int)(p))
	case reflect.Int8:
		return int8Codec{}.Append(dst, *(*int8)(p))
	case reflect.Int16:
		return int16Codec{}.Append(dst, *(*int16)(p))
	case reflect.Int32:
		return int32Codec{}.Append(dst, *(*int32)(p))
	case reflect.Int64:
		return int64Codec{}.Append(dst, *(*int64)(p))
	case reflect.Uint:
		return uintCodec{}.Append(dst, *(*uint)(p))
	case reflect.Uint8:
		return uint8Codec{}.Append(dst, *(*uint8)(p))
	case reflect.Uint16:
		return uint16Codec{}.Append(dst, *(*uint16)(p))
	case reflect.Uint32:
		return uint32Codec{}.Append(dst, *(*uint32)(p))
	case reflect.Uint64:
		return uint64Codec{}.Append(dst, *(*uint64)(p))
	case reflect.Float32:
		return float32Codec{}.Append(dst, *(*float32)(p))
	case reflect.Float64:
		return float64Codec{}.Append(dst, *(*float64)(p))
	case reflect.String:
		return stringCodec{}.Append(dst, *(*string)(p))
	case reflect.Slice:
		return bytesCodec{}.Append(dst, *(*[]byte)(p))
	}
	panic(fmt.Sprintf("codec: no built-in codec for kind %v", k))
}

// decodeKind decodes a value of kind k into p (the zero value on error,
// as the built-in codecs return).
func decodeKind(src []byte, k reflect.Kind, p unsafe.Pointer) (n int, err error) {
	switch k {
	case reflect.Bool:
		*(*bool)(p), n, err = boolCodec{}.Decode(src)
	case reflect.Int:
		*(*int)(p), n, err = intCodec{}.Decode(src)
	case reflect.Int8:
		*(*int8)(p), n, err = int8Codec{}.Decode(src)
	case reflect.Int16:
		*(*int16)(p), n, err = int16Codec{}.Decode(src)
	case reflect.Int32:
		*(*int32)(p), n, err = int32Codec{}.Decode(src)
	case reflect.Int64:
		*(*int64)(p), n, err = int64Codec{}.Decode(src)
	case reflect.Uint:
		*(*uint)(p), n, err = uintCodec{}.Decode(src)
	case reflect.Uint8:
		*(*uint8)(p), n, err = uint8Codec{}.Decode(src)
	case reflect.Uint16:
		*(*uint16)(p), n, err = uint16Codec{}.Decode(src)
	case reflect.Uint32:
		*(*uint32)(p), n, err = uint32Codec{}.Decode(src)
	case reflect.Uint64:
		*(*uint64)(p), n, err = uint64Codec{}.Decode(src)
	case reflect.Float32:
		*(*float32)(p), n, err = float32Codec{}.Decode(src)
	case reflect.Float64:
		*(*float64)(p), n, err = float64Codec{}.Decode(src)
	case reflect.String:
		*(*string)(p), n, err = stringCodec{}.Decode(src)
	case reflect.Slice:
		*(*[]byte)(p), n, err = bytesCodec{}.Decode(src)
	default:
		panic(fmt.Sprintf("codec: no built-in codec for kind %v", k))
	}
	return n, err
}
