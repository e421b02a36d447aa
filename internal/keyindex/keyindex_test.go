package keyindex

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAgainstAMap adds and finds random keys, many of them more than
// once, through resets, and checks every answer against a Go map and the
// order of the keys against a slice.
func TestAgainstAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var x Index[string]
	for round := range 6 {
		want := map[string]int32{}
		var order []string
		n := []int{0, 1, 7, 100, 5000, 40000}[round]
		if round == 3 {
			x.Grow(300)
		}
		for range 3 * n {
			k := fmt.Sprint(r.IntN(n + 1))
			if r.IntN(4) == 0 {
				k = "" // the zero key is a key like any other
			}
			pos, ok := x.Find(k)
			wpos, wok := want[k]
			if ok != wok || pos != map[bool]int32{true: wpos, false: -1}[wok] {
				t.Fatalf("round %d: Find(%q) = %d, %v, want %d, %v", round, k, pos, ok, wpos, wok)
			}
			if !ok {
				if got := x.Add(k); got != int32(len(order)) {
					t.Fatalf("round %d: Add(%q) = %d, want %d", round, k, got, len(order))
				}
				want[k] = int32(len(order))
				order = append(order, k)
			}
		}
		if x.Len() != len(order) || !slices.Equal(x.Keys(), order) {
			t.Fatalf("round %d: keys %d, out of order", round, x.Len())
		}
		for k, pos := range want {
			if got, ok := x.Find(k); !ok || got != pos {
				t.Fatalf("round %d: Find(%q) = %d, %v at the end, want %d", round, k, got, ok, pos)
			}
		}
		if _, ok := x.Find("absent"); ok {
			t.Fatalf("round %d: found a key never added", round)
		}
		x.Reset()
		if x.Len() != 0 {
			t.Fatal("Reset left keys")
		}
		if _, ok := x.Find("0"); ok {
			t.Fatalf("round %d: found a key after Reset", round)
		}
	}
}

// TestIntegerAndStructKeys: keys of other comparable types, among them
// integers that differ only in their high bits.
func TestIntegerAndStructKeys(t *testing.T) {
	var ints Index[int64]
	for i := range int64(10000) {
		ints.Add(i << 40)
	}
	for i := range int64(10000) {
		if pos, ok := ints.Find(i << 40); !ok || pos != int32(i) {
			t.Fatalf("Find(%d<<40) = %d, %v", i, pos, ok)
		}
	}
	type key struct {
		Page string
		Day  int
	}
	var structs Index[key]
	structs.Add(key{"/a", 1})
	structs.Add(key{"/a", 2})
	if pos, ok := structs.Find(key{"/a", 2}); !ok || pos != 1 {
		t.Fatalf("Find = %d, %v", pos, ok)
	}
	if _, ok := structs.Find(key{"/b", 1}); ok {
		t.Fatal("found a key never added")
	}
}

// TestNoAllocations: finding and adding string, struct and integer keys
// allocates nothing once the index has room.
func TestNoAllocations(t *testing.T) {
	var s Index[string]
	s.Grow(1000)
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = fmt.Sprint("10.0.", i)
	}
	i := 0
	if a := testing.AllocsPerRun(1000, func() {
		if _, ok := s.Find(keys[i%len(keys)]); !ok {
			s.Add(keys[i%len(keys)])
		}
		i++
	}); a != 0 {
		t.Errorf("string keys: %v allocations a key", a)
	}
	type key struct {
		Page string
		Day  int
	}
	var st Index[key]
	st.Grow(1100)
	d := 0
	if a := testing.AllocsPerRun(1000, func() {
		k := key{keys[d%len(keys)], d}
		if _, ok := st.Find(k); !ok {
			st.Add(k)
		}
		d++
	}); a != 0 {
		t.Errorf("struct keys: %v allocations a key", a)
	}
	var n Index[int64]
	n.Grow(1100)
	j := int64(0)
	if a := testing.AllocsPerRun(1000, func() {
		if _, ok := n.Find(j); !ok {
			n.Add(j)
		}
		j++
	}); a != 0 {
		t.Errorf("integer keys: %v allocations a key", a)
	}
}

func BenchmarkFind(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("10.%d.%d.%d", i>>16, i>>8&255, i&255)
		}
		b.Run(fmt.Sprintf("index/%d", n), func(b *testing.B) {
			var x Index[string]
			for _, k := range keys {
				x.Add(k)
			}
			i := 0
			for b.Loop() {
				x.Find(keys[i%n])
				i += 7919
			}
		})
		b.Run(fmt.Sprintf("map/%d", n), func(b *testing.B) {
			m := map[string]int32{}
			for i, k := range keys {
				m[k] = int32(i)
			}
			i := 0
			for b.Loop() {
				_ = m[keys[i%n]]
				i += 7919
			}
		})
	}
}
