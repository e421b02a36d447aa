package weir

import (
	"errors"

	"github.com/weirstream/weir/codec"
)

// encodeState and decodeState store small operator states.
func encodeState[T any](v T) ([]byte, error) { return codec.For[T]().Append(nil, v) }

func decodeState[T any](b []byte) (T, error) {
	v, n, err := codec.For[T]().Decode(b)
	if err == nil && n != len(b) {
		err = errors.New("trailing bytes")
	}
	return v, err
}
