package exec

import (
	"fmt"

	"github.com/weirstream/weir/sql/types"
)

// Key is the compact, comparable form of a row's key columns: what keyed
// state and the exchange between subtasks use. Two rows have the same Key
// exactly when their key columns hold equal values (NULL equal to NULL, as
// GROUP BY compares). It is the values' encoding by types.AppendValue, one
// after another; DecodeKey turns it back into the values. No key columns
// give the empty Key.
type Key string

// KeyOf encodes the values of row's columns cols into a Key, with one
// allocation (the string) for keys of up to 128 bytes. It is safe for
// concurrent use (subtasks share key functions).
func KeyOf(row types.Row, cols []int) Key {
	if len(cols) == 0 {
		return ""
	}
	var buf [128]byte
	b := buf[:0]
	for _, c := range cols {
		b = types.AppendValue(b, row.Values[c])
	}
	return Key(b)
}

// DecodeKey returns the values a Key was made of.
func DecodeKey(k Key) ([]types.Value, error) {
	var vals []types.Value
	b := []byte(k)
	for len(b) > 0 {
		v, n, err := types.DecodeValue(b)
		if err != nil {
			return nil, fmt.Errorf("exec: a key does not decode: %w", err)
		}
		vals = append(vals, v)
		b = b[n:]
	}
	return vals, nil
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
