package file

import "unsafe"

// arenaBlock is the size of the blocks lines are carved from.
const arenaBlock = 256 << 10

// arena hands out line strings carved from large blocks: one allocation per
// block instead of one per line, which keeps the garbage collector quiet at
// millions of lines a second. Bytes are only ever appended to a block, so a
// string cut from it never changes; a block is freed when its last line is.
//
// The price: a line kept for long keeps its whole block alive. Operators
// that store strings as keys (windows, keyed state) keep their own copies;
// a job that keeps lines themselves in state should strings.Clone them.
type arena struct {
	block []byte
}

// String returns a string holding a copy of b.
func (a *arena) String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > cap(a.block)-len(a.block) {
		a.block = make([]byte, 0, max(arenaBlock, len(b)))
	}
	start := len(a.block)
	a.block = append(a.block, b...)
	return unsafe.String(&a.block[start], len(b))
}
