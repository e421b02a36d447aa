package source

import "unsafe"

// DefaultStringsBlock is the block size of a Strings whose BlockSize is 0.
const DefaultStringsBlock = 32 << 10

// Strings makes the strings of the records a reader emits, copied from the
// reader's buffer into blocks it allocates: one allocation per block
// instead of one per string, which at millions of records a second is
// much of a decoder's cost and most of the garbage collector's work. Bytes
// are only ever appended to a block, so a string taken from it never
// changes; a block is freed when its last string is.
//
// The price is that a string kept for long keeps its whole block alive.
// Weir copies the keys it stores (of windows, keyed state and timers) and
// what pre-aggregation holds; values are kept as they are, in heap state
// as in a function's own fields, so a function that keeps a record's
// strings there should strings.Clone them.
//
// A Strings is not safe for concurrent use: give each reader (each
// subtask) its own, as file.DecodedPerReader does with its decoders. The
// zero value is ready to use.
type Strings struct {
	// BlockSize is the size of the blocks strings are carved from; 0 means
	// DefaultStringsBlock. A string longer than a quarter of it gets an
	// allocation of its own, so that it does not cut a block short.
	BlockSize int

	block []byte
}

// String returns a string holding a copy of b.
func (s *Strings) String(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	size := s.BlockSize
	if size <= 0 {
		size = DefaultStringsBlock
	}
	if len(b) > size/4 {
		return string(b)
	}
	if len(b) > cap(s.block)-len(s.block) {
		s.block = make([]byte, 0, size)
	}
	start := len(s.block)
	s.block = append(s.block, b...)
	return unsafe.String(&s.block[start], len(b))
}
