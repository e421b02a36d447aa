package keygroup

import (
	"testing"
	"unsafe"
)

func TestRangesCoverAndMatchSubtask(t *testing.T) {
	for _, m := range []int{1, 2, 7, 128, 1000, UpperBound} {
		for p := 1; p <= m && p <= 40; p++ {
			next := 0
			for s := 0; s < p; s++ {
				r := For(s, m, p)
				if r.Start != next {
					t.Fatalf("m=%d p=%d subtask %d: range %v does not start at %d", m, p, s, r, next)
				}
				for _, g := range []int{r.Start, r.End - 1} {
					if r.Len() > 0 && Subtask(g, m, p) != s {
						t.Fatalf("m=%d p=%d: group %d in range %v of subtask %d but Subtask says %d", m, p, g, r, s, Subtask(g, m, p))
					}
				}
				next = r.End
			}
			if next != m {
				t.Fatalf("m=%d p=%d: ranges end at %d, want %d", m, p, next, m)
			}
		}
	}
}

func TestEveryGroupInItsSubtaskRange(t *testing.T) {
	m, p := 128, 3
	for g := 0; g < m; g++ {
		s := Subtask(g, m, p)
		if !For(s, m, p).Contains(g) {
			t.Fatalf("group %d: subtask %d range %v does not contain it", g, s, For(s, m, p))
		}
	}
}

func TestOfSpreadsSmallIntegers(t *testing.T) {
	const m = 128
	counts := make([]int, m)
	for i := 0; i < 128*100; i++ {
		counts[Of(uint64(i), m)]++
	}
	for g, c := range counts {
		if c < 50 || c > 150 {
			t.Fatalf("group %d holds %d of 12800 consecutive keys; want about 100", g, c)
		}
	}
}

func TestHasherDeterministic(t *testing.T) {
	hs, err := Hasher[string]()
	if err != nil {
		t.Fatal(err)
	}
	// Fixed values: a change here moves state between key groups and breaks restores.
	if got := hs("10.0.0.1"); got != String("10.0.0.1") || String("") != 14695981039346656037 {
		t.Fatalf("string hash changed: %d", got)
	}
	if String("a") != 0xaf63dc4c8601ec8c {
		t.Fatalf("FNV-1a of \"a\" = %#x, want 0xaf63dc4c8601ec8c", String("a"))
	}
	hi, _ := Hasher[int64]()
	if hi(42) != 42 {
		t.Fatal("int64 hash is not the value")
	}
	type pair struct{ a, b int } //lint:ignore U1000 a struct without KeyHash, never used as a value
	if _, err := Hasher[pair](); err == nil {
		t.Fatal("struct key without KeyHash accepted")
	}
	if _, err := Hasher[hk](); err != nil {
		t.Fatal(err)
	}
}

type hk struct{ v uint64 }

func (k hk) KeyHash() uint64 { return k.v }

func TestValidate(t *testing.T) {
	if Validate(2, 128) != nil || Validate(0, 128) == nil || Validate(129, 128) == nil || Validate(1, 0) == nil {
		t.Fatal("Validate accepts or rejects the wrong values")
	}
}

type userID string

func TestNamedStringKeys(t *testing.T) {
	h, err := Hasher[userID]()
	if err != nil {
		t.Fatal(err)
	}
	if h("u1") != String("u1") {
		t.Fatal("a named string hashes differently from its string")
	}
	line := []byte("client-42 rest")
	k := userID(line[:9]) // a copy already, but check that Cloner copies again
	c := Cloner[userID]()(k)
	if c != k || unsafe.StringData(string(c)) == unsafe.StringData(string(k)) {
		t.Fatal("Cloner did not copy the string")
	}
	if Cloner[int]()(5) != 5 {
		t.Fatal("Cloner changed an int")
	}
}
