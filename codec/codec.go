// Package codec turns typed values into bytes and back, for state, timers and
// in-flight records in checkpoints.
//
// A [Codec] is chosen once per type with [For] and then used on the hot path.
// Every encoding is self-delimiting: Decode reports how many bytes it used,
// so values can be concatenated without extra framing.
//
// # Encodings
//
// The built-in codecs are fast, allocation-free on Append, and
// order-preserving where that is cheap, so that an encoded key sorts as the
// key does (a Pebble backend scans keys in byte order):
//
//	type                      encoding                                         order-preserving
//	bool                      1 byte, 0 or 1                                   yes
//	int8..int64, int          fixed width big-endian, sign bit flipped         yes
//	                          (int: always 8 bytes, on every platform)
//	uint8..uint64, uint       fixed width big-endian (uint: 8 bytes)           yes
//	float32, float64          IEEE 754 bits, big-endian; negatives have all    yes, except NaN
//	                          bits flipped, others only the sign bit
//	string, []byte            uvarint length, then the bytes                   no
//	time.Duration             as int64                                         yes
//	time.Time                 int64 Unix seconds, uint32 nanoseconds,          by instant
//	                          int32 UTC offset in seconds (16 bytes)
//
// Named types whose underlying type is one of these (type UserID string,
// type Level int8, type Blob []byte) use the codec of that underlying type.
//
// A time.Time keeps its instant and its UTC offset, not its Location: it
// decodes in UTC when the offset is zero, otherwise in a fixed zone with that
// offset and no name. The monotonic clock reading is dropped.
//
// Non-pointer types that implement [encoding.BinaryMarshaler] (on the value
// or the pointer) and whose pointer implements [encoding.BinaryUnmarshaler]
// are encoded by those methods, framed by a uvarint length. This takes
// precedence over the underlying-kind rule, but not over the exact built-in
// types above (time.Time uses its built-in codec).
//
// Every other type is encoded as CBOR (RFC 8949) by github.com/fxamacker/cbor.
// Encoding is deterministic (map keys sorted, core deterministic encoding),
// keeps floats and NaN payloads exactly, and writes time.Time as an RFC 3339
// string with nanoseconds. Decoding is strict: indefinite lengths and
// duplicate map keys are rejected, nesting deeper than [MaxNestedLevels] is
// rejected, and the input must be well-formed before any value is built, so a
// corrupt length cannot make the decoder allocate more than the input's size.
// Array and map sizes are limited only by the input's length. Unknown struct
// fields are ignored, so a field can be removed from a state type. Append
// checks its own output against the decoder's limits, so a value that could
// not be restored fails when it is written, not when it is read.
//
// # Contract
//
// Decode never panics on bad or short input; it returns an error wrapping
// [ErrTruncated] or [ErrInvalid]. Decoded values never alias the input.
// Append errors only for CBOR and BinaryMarshaler values, and wraps the cause.
//
// Encodings are durable: they appear in checkpoints and savepoints, so a
// change to any of them is a change to the checkpoint format version.
package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Codec encodes values of one type. Implementations are stateless and safe
// for concurrent use.
type Codec[T any] interface {
	// Append appends v's encoding to dst and returns the extended slice. It
	// fails only for values the type's encoding cannot represent (CBOR and
	// BinaryMarshaler types); on error the returned slice is dst unchanged.
	Append(dst []byte, v T) ([]byte, error)
	// Decode decodes one value from the start of src and returns it with the
	// number of bytes used (at most len(src)). Bad or short input gives an
	// error, never a panic. The value does not alias src.
	Decode(src []byte) (T, int, error)
}

// ErrTruncated is wrapped by Decode and ReadBytes errors when the input ends
// inside a value.
var ErrTruncated = errors.New("codec: input truncated")

// ErrInvalid is wrapped by Decode and ReadBytes errors when the input is not
// a valid encoding (a bad bool byte, an overlong varint, malformed CBOR).
var ErrInvalid = errors.New("codec: invalid encoding")

// AppendBytes appends b framed by its length: a uvarint length, then the
// bytes. [ReadBytes] reads it back.
func AppendBytes(dst, b []byte) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b...)
}

// ReadBytes reads one value written by [AppendBytes] from the start of src
// and returns the bytes with the number of bytes used. b aliases src: copy it
// to keep it beyond src's lifetime.
func ReadBytes(src []byte) (b []byte, n int, err error) {
	l, n, err := readLen(src)
	if err != nil {
		return nil, 0, err
	}
	return src[n : n+l : n+l], n + l, nil
}

// readLen reads a uvarint length and checks that that many bytes follow it.
func readLen(src []byte) (l, n int, err error) {
	u, n := binary.Uvarint(src)
	switch {
	case n == 0:
		return 0, 0, fmt.Errorf("%w: length missing", ErrTruncated)
	case n < 0:
		return 0, 0, fmt.Errorf("%w: length varint overflows 64 bits", ErrInvalid)
	case u > math.MaxInt || int(u) > len(src)-n:
		return 0, 0, fmt.Errorf("%w: length %d, but %d bytes follow", ErrTruncated, u, len(src)-n)
	}
	return int(u), n, nil
}
