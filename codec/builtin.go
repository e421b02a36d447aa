package codec

import (
	"encoding/binary"
	"fmt"
	"math"
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

// castCodec reuses the codec of B for a type T whose underlying type is B
// (same memory layout), as in type UserID string.
type castCodec[T, B any] struct{ base Codec[B] }

func (c castCodec[T, B]) Append(dst []byte, v T) ([]byte, error) {
	return c.base.Append(dst, *(*B)(unsafe.Pointer(&v)))
}

func (c castCodec[T, B]) Decode(src []byte) (T, int, error) {
	b, n, err := c.base.Decode(src)
	return *(*T)(unsafe.Pointer(&b)), n, err
}
