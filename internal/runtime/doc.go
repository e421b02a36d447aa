// Package runtime runs the subtasks of a weir job: one goroutine per
// subtask, chains of operators called as plain functions, and batched,
// bounded exchanges between subtasks.
//
// The data plane, in the terms the rest of the code cites:
//
//  1. Records travel between subtasks in batches (Batch) over bounded Go
//     channels, one channel per (sending subtask, receiving subtask) pair. A
//     batch leaves when it is full, when the buffer timeout expires, when the
//     sender is about to wait for input, or before any control element.
//     Batches are recycled through a free list per exchange, so the steady state
//     allocates nothing per record.
//  2. Control elements (watermark, idle, end of input) travel in-band on the
//     same channels, so they never overtake the records sent before them.
//  3. A full channel blocks the sender: that is backpressure. Every subtask
//     accounts its wall time as busy, idle (waiting for input) or
//     backpressured (waiting to send).
//  4. A subtask with several input channels forwards the minimum of their
//     watermarks; idle and ended channels are excluded. When every input has
//     ended it forwards the final watermark (EndOfTime) and then end of input.
//  5. An operator's error or panic ends its task with an *OperatorError that
//     names the operator and subtask; the first error cancels every task.
package runtime
