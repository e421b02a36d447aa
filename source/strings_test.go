package source_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/weirstream/weir/source"
)

// TestStringsNeverChange cuts strings across several blocks, reusing the
// caller's buffer as a reader does, and checks that every string handed
// out still holds its bytes, strings longer than a block and than a
// quarter of one included.
func TestStringsNeverChange(t *testing.T) {
	for _, size := range []int{0, 4 << 10, 256 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s := source.Strings{BlockSize: size}
			block := size
			if block == 0 {
				block = source.DefaultStringsBlock
			}
			var got, want []string
			buf := make([]byte, 0, 64)
			for i := range 30_000 {
				buf = fmt.Appendf(buf[:0], "line %d %s", i, strings.Repeat("x", i%50))
				switch i {
				case 12_345:
					buf = append(buf, bytes.Repeat([]byte{'y'}, 2*block)...)
				case 23_456:
					buf = append(buf, bytes.Repeat([]byte{'z'}, block/4)...)
				}
				got = append(got, s.String(buf))
				want = append(want, string(buf))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("string %d changed: %.40q, want %.40q", i, got[i], want[i])
				}
			}
			if s.String(nil) != "" {
				t.Error("no bytes is not the empty string")
			}
		})
	}
}

// TestStringsAllocatePerBlock checks the point of Strings: strings cost no
// allocation of their own, and a long one does not cut a block short.
func TestStringsAllocatePerBlock(t *testing.T) {
	var s source.Strings
	short := []byte(strings.Repeat("z", 20))
	long := bytes.Repeat([]byte{'l'}, source.DefaultStringsBlock/4+1)
	const n = 10 * source.DefaultStringsBlock / 20
	allocs := testing.AllocsPerRun(3, func() {
		for i := range n {
			s.String(short)
			if i%1000 == 0 {
				s.String(long) // its own allocation, and the block goes on
			}
		}
	})
	if want := 10.0 + n/1000; allocs > want+2 {
		t.Errorf("%v allocations for %d strings of 20 bytes and %d long ones; want about %v (one per block and long string)", allocs, n, n/1000, want)
	}
}
