package exec_test

import (
	"math"
	"testing"

	"github.com/weirstream/weir/sql/exec"
	"github.com/weirstream/weir/sql/types"
)

// TestKeyOf: keys of equal values are equal, of different values
// (NULL, "", 0, false, 0.0 included) differ, and decode to the values.
func TestKeyOf(t *testing.T) {
	vals := []types.Value{types.Null, types.StringValue(""), types.StringValue("a"), types.StringValue("\x00"),
		types.IntValue(0), types.IntValue(-1), types.IntValue(math.MaxInt64), types.BoolValue(false), types.BoolValue(true),
		types.FloatValue(0), types.FloatValue(-2.5), types.FloatValue(math.Inf(1))}
	seen := map[exec.Key]string{}
	for _, a := range vals {
		for _, b := range vals {
			row := types.NewRow(a, types.IntValue(9), b)
			k := exec.KeyOf(row, []int{0, 2})
			if k != exec.KeyOf(types.NewRow(a, types.Null, b), []int{0, 2}) {
				t.Fatalf("keys of (%v, %v) differ", a, b)
			}
			name := a.String() + "|" + b.String()
			if other, dup := seen[k]; dup {
				t.Fatalf("(%s) and (%s) have the same key", name, other)
			}
			seen[k] = name
			back, err := exec.DecodeKey(k)
			if err != nil || len(back) != 2 || !back[0].Equal(a) || !back[1].Equal(b) {
				t.Fatalf("key of (%s) decodes to %v, %v", name, back, err)
			}
		}
	}
	if exec.KeyOf(types.NewRow(types.IntValue(1)), nil) != "" {
		t.Fatal("no key columns must give the empty key")
	}
}

// FuzzDecodeKey: DecodeKey never panics, and what decodes re-encodes to
// the same key.
func FuzzDecodeKey(f *testing.F) {
	f.Add(string(exec.KeyOf(types.NewRow(types.StringValue("x"), types.IntValue(3), types.Null, types.FloatValue(1.5), types.BoolValue(true)), []int{0, 1, 2, 3, 4})))
	f.Fuzz(func(t *testing.T, s string) {
		vals, err := exec.DecodeKey(exec.Key(s))
		if err != nil {
			return
		}
		cols := make([]int, len(vals))
		for i := range cols {
			cols[i] = i
		}
		if again := exec.KeyOf(types.Row{Values: vals}, cols); string(again) != s {
			// Only a non-canonical encoding (a bool byte other than 0
			// or 1, an overlong length) may differ.
			back, err := exec.DecodeKey(again)
			if err != nil || len(back) != len(vals) {
				t.Fatalf("%q re-encodes to %q, which decodes to %v, %v", s, again, back, err)
			}
		}
	})
}
