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
//  2. Control elements (watermark, idle, end of input, barrier) travel
//     in-band on the same channels, so they never overtake the records sent
//     before them. The one exception is the barrier of an unaligned
//     checkpoint (invariant 7).
//  3. A full channel blocks the sender: that is backpressure. Every subtask
//     accounts its wall time as busy, idle (waiting for input) or
//     backpressured (waiting to send).
//  4. A subtask with several input channels forwards the minimum of their
//     watermarks; idle and ended channels are excluded. When every input has
//     ended it forwards the final watermark (EndOfTime) and then end of input.
//  5. An operator's error or panic ends its task with an *OperatorError that
//     names the operator and subtask; the first error cancels every task.
//  6. An aligned checkpoint's barrier splits each channel's records into
//     those before the checkpoint and those after. A subtask holds back each
//     input that delivered the barrier until every input that has not ended
//     has; then it snapshots its chain and sends the barrier on every output
//     before any later record. A source subtask takes the checkpoint where
//     the enumerator's marker lies among its split assignments: the
//     enumerator snapshotted before every assignment behind the marker, so
//     the two snapshots hold each split exactly once.
//  7. An unaligned checkpoint's barrier overtakes the data on a priority
//     channel, and a marker takes its place among the records. The subtask
//     snapshots and sends the barrier on at once; the records between the
//     barrier and each input's marker are in flight: they are read out
//     without waiting for the operators, stored with the checkpoint as
//     channel state, and processed afterwards in order. A restore replays
//     them before any input.
//  8. Everything the job asks of a subtask's chain happens on the subtask's
//     goroutine, one thing at a time: records, watermarks, ticks, the
//     coordinator's commands, snapshots. An operator needs no lock for its
//     own state; work that finishes on other goroutines comes back through
//     Drainer, and a snapshot only copies state (uploads run elsewhere).
//
// Where things are: loop.go holds what every task's loop does (tickers,
// commands, flushing, waiting, taking checkpoints); inputtask.go and
// sourcetask.go the two kinds of task; gate.go the input selection and
// barrier alignment of an input task, unaligned.go its unaligned
// checkpoints; enumeration.go the source enumerator's goroutine and the
// readers' mailboxes; exchange.go the channels and their writers;
// watermarks.go, clock.go, metrics.go and executor.go the rest.
package runtime
