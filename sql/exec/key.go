package exec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/weirstream/weir/sql/types"
)

// Key is the compact, comparable form of a row's key columns: what keyed
// state and the exchange between subtasks use. Two rows have the same Key
// exactly when their key columns hold equal values (NULL equal to NULL, as
// GROUP BY compares). DecodeKey turns it back into the values.
//
// Its format: per value a tag byte, then the payload — nothing for NULL
// (0), one byte for a boolean (1), 8 bytes big-endian for an integer (2)
// or a DOUBLE's bits (3), a uvarint length and the bytes for a string (4).
// No key columns give the empty Key.
type Key string

// The tags of a Key's values.
const (
	keyNull = iota
	keyBool
	keyInt
	keyFloat
	keyString
)

// kindOf returns the Key tag of v. A Value does not expose how it is held,
// but it is a comparable struct: v equals the value rebuilt from one of
// its accessors exactly when it is held that way.
func kindOf(v types.Value) byte {
	switch {
	case v.IsNull():
		return keyNull
	case v == types.IntValue(v.Int()):
		return keyInt
	case v == types.StringValue(v.Str()):
		return keyString
	case v == types.BoolValue(v.Bool()):
		return keyBool
	}
	return keyFloat
}

// KeyOf encodes the values of row's columns cols into a Key, with one
// allocation of the key's size. It is safe for concurrent use (subtasks
// share key functions).
func KeyOf(row types.Row, cols []int) Key {
	if len(cols) == 0 {
		return ""
	}
	n := 0
	for _, c := range cols {
		v := row.Values[c]
		switch kindOf(v) {
		case keyNull:
			n++
		case keyBool:
			n += 2
		case keyInt, keyFloat:
			n += 9
		case keyString:
			n += 1 + uvarintLen(uint64(len(v.Str()))) + len(v.Str())
		}
	}
	var b strings.Builder
	b.Grow(n)
	var num [binary.MaxVarintLen64]byte
	for _, c := range cols {
		v := row.Values[c]
		k := kindOf(v)
		b.WriteByte(k)
		switch k {
		case keyBool:
			b.WriteByte(byte(v.Int()))
		case keyInt:
			binary.BigEndian.PutUint64(num[:], uint64(v.Int()))
			b.Write(num[:8])
		case keyFloat:
			binary.BigEndian.PutUint64(num[:], math.Float64bits(v.Float()))
			b.Write(num[:8])
		case keyString:
			b.Write(num[:binary.PutUvarint(num[:], uint64(len(v.Str())))])
			b.WriteString(v.Str())
		}
	}
	return Key(b.String())
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// DecodeKey returns the values a Key was made of.
func DecodeKey(k Key) ([]types.Value, error) {
	var vals []types.Value
	for p := 0; p < len(k); {
		tag := k[p]
		p++
		switch tag {
		case keyNull:
			vals = append(vals, types.Null)
		case keyBool:
			if p >= len(k) {
				return nil, errKey
			}
			vals = append(vals, types.BoolValue(k[p] != 0))
			p++
		case keyInt, keyFloat:
			if len(k)-p < 8 {
				return nil, errKey
			}
			x := binary.BigEndian.Uint64([]byte(k[p : p+8]))
			p += 8
			if tag == keyInt {
				vals = append(vals, types.IntValue(int64(x)))
			} else {
				vals = append(vals, types.FloatValue(math.Float64frombits(x)))
			}
		case keyString:
			l, u := binary.Uvarint([]byte(k[p:min(len(k), p+binary.MaxVarintLen64)]))
			if u <= 0 || l > uint64(len(k)-p-u) {
				return nil, errKey
			}
			p += u
			vals = append(vals, types.StringValue(string(k[p:p+int(l)])))
			p += int(l)
		default:
			return nil, errKey
		}
	}
	return vals, nil
}

var errKey = errors.New("exec: a key does not decode: malformed key")

// keyFunc returns the function that keys rows by cols, for weir.KeyBy.
func keyFunc(cols []int) func(types.Row) Key {
	cols = append([]int(nil), cols...)
	return func(r types.Row) Key { return KeyOf(r, cols) }
}

// hasNull reports whether any of row's columns cols is NULL: such a key
// matches nothing in an equi-join.
func hasNull(row types.Row, cols []int) bool {
	for _, c := range cols {
		if row.Values[c].IsNull() {
			return true
		}
	}
	return false
}

// checkCols reports a column index outside a row of width columns (width
// < 0: unknown, only negative indexes are refused).
func checkCols(op, what string, cols []int, width int) error {
	for _, c := range cols {
		if c < 0 || (width >= 0 && c >= width) {
			return fmt.Errorf("exec: %s: %s column %d is out of range: the planner must give indexes of the input row", op, what, c)
		}
	}
	return nil
}
