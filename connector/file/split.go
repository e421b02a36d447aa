package file

import (
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/weirstream/weir/internal/tail"
)

// Split is a unit of work of a file source. It is a value: readers copy the
// splits they are given, and Snapshot returns fresh copies.
//
// In bounded mode a split is the byte range [Start, End) of the file at
// Path and owns the lines that start inside it (see the package doc).
// In follow mode there is one split for the whole pattern: Path is the
// pattern, Start is 0, End is -1 and Files holds the tracked files.
type Split struct {
	// Path is the file (bounded mode) or the pattern (follow mode).
	Path string
	// Start is the first byte of the range.
	Start int64
	// End is the byte after the range, or -1 for the end of the file
	// as it is when the reader gets there.
	End int64
	// Offset is where reading continues: Start before the first line was
	// emitted, then the offset just after the last emitted line.
	Offset int64
	// Follow is true for the split of a follow-mode source.
	Follow bool
	// Files are the files a follow-mode reader tracks, in the order it
	// reads them; nil in bounded mode.
	Files []FileState
	// Scanned is when a follow-mode reader last listed the pattern: a
	// file it had not seen then was created after it. A restored reader
	// reads, from their start, the files that left the pattern since
	// without being read (see the package doc). Zero in bounded mode, and
	// in the splits of older weirs.
	Scanned time.Time `json:",omitzero"`
}

// FileState is the position of a follow-mode reader in one file.
type FileState struct {
	// Path is the name the file had when last seen.
	Path string
	// Device and Inode identify the file across renames.
	Device, Inode uint64
	// Offset is the offset just after the last emitted line.
	Offset int64
	// HeadLen and Head fingerprint the file: Head is the hex SHA-256 of
	// its first HeadLen bytes, which cover every byte before Offset or
	// the first 256. A file with the same identity but another head is
	// another file (the inode was reused) or was rewritten: it is read
	// from its start. Empty in the splits of older weirs, whose files are
	// trusted by identity.
	HeadLen int    `json:",omitempty"`
	Head    string `json:",omitempty"`
	// Size is how long the file was known to be: a reader that finds it
	// shorter than Offset logs at least Size-Offset bytes lost.
	Size int64 `json:",omitempty"`
	// Done says the file left the pattern and was read to its end. It is
	// kept while it lies in its directory, so that a restored reader does
	// not take it for a rotated file nobody read, and reads on if it grows.
	Done bool `json:",omitempty"`
}

// fileState returns the stored form of a tailer's position.
func fileState(p tail.Position) FileState {
	st := FileState{Path: p.Path, Device: p.ID.Dev, Inode: p.ID.Ino, Offset: p.Offset, HeadLen: p.Head.N, Size: p.Size, Done: p.Done}
	if p.Head.N > 0 {
		st.Head = hex.EncodeToString(p.Head.Sum[:])
	}
	return st
}

// position returns the tailer's form of a stored position. A head that
// does not decode keeps its length and a zero sum, which no file's first
// bytes have: the file is read again.
func (st FileState) position() tail.Position {
	p := tail.Position{Path: st.Path, ID: tail.ID{Dev: st.Device, Ino: st.Inode}, Offset: st.Offset, Size: st.Size, Head: tail.Head{N: max(0, st.HeadLen)}, Done: st.Done}
	if sum, err := hex.DecodeString(st.Head); err == nil && len(sum) == len(p.Head.Sum) {
		copy(p.Head.Sum[:], sum)
	}
	return p
}

// SplitID returns "PATH[START:END]" in bounded mode and "follow:PATTERN" in
// follow mode; it does not change as the split is read.
func (s *Split) SplitID() string {
	if s.Follow {
		return "follow:" + s.Path
	}
	return fmt.Sprintf("%s[%d:%d]", s.Path, s.Start, s.End)
}

// clone returns a deep copy of s, so that a reader never shares state with
// the enumerator or with a snapshot.
func (s *Split) clone() *Split {
	c := *s
	c.Files = slices.Clone(s.Files)
	return &c
}

func newFollowSplit(pattern string) *Split {
	return &Split{Path: pattern, End: -1, Follow: true}
}
