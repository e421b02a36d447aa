// Package keygroup holds the key-group arithmetic that makes keyed state
// rescalable, as in Flink's KeyGroupRangeAssignment.
//
// A key is hashed to one of MaxParallelism key groups; key groups are assigned
// to subtasks in contiguous ranges. Keyed state is addressed by key group, so
// restoring with another parallelism moves whole key groups between subtasks
// and never splits one.
//
// Invariants:
//
//  1. A key's group depends only on the key's hash and maxParallelism, never
//     on parallelism: Of(h, m) is stable across restarts and rescaling.
//  2. Ranges of the subtasks of one operator are contiguous, disjoint, cover
//     [0, maxParallelism) and are ordered by subtask index.
//  3. Subtask(Of(h, m), m, p) is the subtask whose Range contains the group.
package keygroup

import "fmt"

// DefaultMaxParallelism is the number of key groups when none is configured.
const DefaultMaxParallelism = 128

// UpperBound is the largest supported max parallelism (as in Flink).
const UpperBound = 1 << 15

// Of returns the key group of a key with hash h, in [0, maxParallelism).
// The hash is mixed first so that weak hashes (small integers) still spread.
func Of(h uint64, maxParallelism int) int {
	return int(mix(h) % uint64(maxParallelism))
}

// Subtask returns the subtask that owns keyGroup.
func Subtask(keyGroup, maxParallelism, parallelism int) int {
	return keyGroup * parallelism / maxParallelism
}

// Range is a contiguous, inclusive-exclusive range of key groups.
type Range struct {
	Start, End int // [Start, End)
}

// Contains reports whether the range holds keyGroup.
func (r Range) Contains(keyGroup int) bool { return keyGroup >= r.Start && keyGroup < r.End }

// Len is the number of key groups in the range.
func (r Range) Len() int { return r.End - r.Start }

// String formats the range as "[start, end)".
func (r Range) String() string { return fmt.Sprintf("[%d, %d)", r.Start, r.End) }

// For returns the key groups owned by subtask of an operator with the given
// parallelism: the groups g with Subtask(g, maxParallelism, parallelism) ==
// subtask.
func For(subtask, maxParallelism, parallelism int) Range {
	// Smallest g with g*p/m >= subtask is ceil(subtask*m/p).
	start := (subtask*maxParallelism + parallelism - 1) / parallelism
	end := ((subtask+1)*maxParallelism + parallelism - 1) / parallelism
	return Range{Start: start, End: end}
}

// Validate checks a parallelism against a max parallelism.
func Validate(parallelism, maxParallelism int) error {
	switch {
	case maxParallelism < 1 || maxParallelism > UpperBound:
		return fmt.Errorf("max parallelism %d is out of range: use a value in [1, %d]", maxParallelism, UpperBound)
	case parallelism < 1:
		return fmt.Errorf("parallelism %d must be at least 1", parallelism)
	case parallelism > maxParallelism:
		return fmt.Errorf("parallelism %d exceeds max parallelism %d: raise the max parallelism or lower the parallelism", parallelism, maxParallelism)
	}
	return nil
}

// mix is the 64-bit finalizer of MurmurHash3: every input bit affects every
// output bit, so consecutive hashes land in different groups.
func mix(h uint64) uint64 {
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	return h
}
