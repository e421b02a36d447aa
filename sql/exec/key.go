package exec

import (
	"fmt"

	"github.com/weirstream/weir/sql/types"
)

// Key is the compact, comparable form of a row's key columns: what keyed
// state and the exchange between subtasks use. Two rows have the same Key
// exactly when their key columns hold equal values (NULL equal to NULL, as
// GROUP BY compares). It is the types.Row encoding of the key values, so
// it decodes back to them (DecodeKey).
type Key string

// KeyOf encodes the values of row's columns cols into a Key. It allocates
// only the key's string for keys of up to 8 columns and 128 bytes, and is
// safe for concurrent use (subtasks share key functions).
func KeyOf(row types.Row, cols []int) Key {
	var vals [8]types.Value
	var buf [128]byte
	kr := types.Row{Values: vals[:0]}
	for _, c := range cols {
		kr.Values = append(kr.Values, row.Values[c])
	}
	b, _ := kr.AppendBinary(buf[:0])
	return Key(b)
}

// DecodeKey returns the values a Key was made of.
func DecodeKey(k Key) ([]types.Value, error) {
	var r types.Row
	if err := r.UnmarshalBinary([]byte(k)); err != nil {
		return nil, fmt.Errorf("exec: a key does not decode: %w", err)
	}
	return r.Values, nil
}

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
