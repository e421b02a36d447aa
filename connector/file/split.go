package file

import (
	"fmt"
	"slices"
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
}

// FileState is the position of a follow-mode reader in one file.
type FileState struct {
	// Path is the name the file had when last seen.
	Path string
	// Device and Inode identify the file across renames.
	Device, Inode uint64
	// Offset is the offset just after the last emitted line.
	Offset int64
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
