package runtime

// Pad ends a struct that a subtask writes for every record. Subtasks
// build their operators one after the other, so the same struct of two
// subtasks often lies side by side in memory: without a gap, the last
// fields of one share a cache line with the first fields of the next, and
// the two cores running them take the line from each other at every write
// (false sharing; it cost a PV/UV job at parallelism 2 about 6% of its
// CPU). Two lines, since processors fetch them in pairs.
type Pad [128]byte
