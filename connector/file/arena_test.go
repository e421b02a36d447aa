package file

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// TestArenaStringsNeverChange cuts lines across several blocks, reusing the
// caller's buffer as a reader does, and checks every string handed out
// still holds its line, a line longer than a block included.
func TestArenaStringsNeverChange(t *testing.T) {
	var a arena
	var got, want []string
	buf := make([]byte, 0, 64)
	for i := range 30_000 {
		buf = fmt.Appendf(buf[:0], "line %d %s", i, strings.Repeat("x", i%50))
		if i == 12_345 {
			buf = append(buf, bytes.Repeat([]byte{'y'}, 2*arenaBlock)...)
		}
		got = append(got, a.String(buf))
		want = append(want, string(buf))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("line %d changed: %.40q, want %.40q", i, got[i], want[i])
		}
	}
	if a.String(nil) != "" {
		t.Error("an empty line is not the empty string")
	}
}

// TestArenaAllocatesPerBlock checks the arena's point: lines cost no
// allocation of their own.
func TestArenaAllocatesPerBlock(t *testing.T) {
	var a arena
	line := []byte(strings.Repeat("z", 100))
	const lines = 10 * arenaBlock / 100
	allocs := testing.AllocsPerRun(3, func() {
		for range lines {
			a.String(line)
		}
	})
	if allocs > 12 {
		t.Errorf("%v allocations for %d lines of 100 bytes; want about 10 (one per block)", allocs, lines)
	}
}
