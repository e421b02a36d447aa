// Package job runs a weir job: once without checkpoints, or with them as a
// sequence of runs — start (fresh or restored), fail, restart from the
// latest completed checkpoint — until the job finishes, is stopped or gives
// up.
//
// The parts, one file each:
//
//   - job.go: Job, the restart loop over runs (Execute), and the choice of
//     the checkpoint a run restores.
//   - run.go: Run, one attempt: the registry of its tasks, and its driver.
//   - task.go: the task side of a checkpoint: snapshot the operators of a
//     chain on the task's goroutine, upload their keyed state in the
//     background, acknowledge.
//   - driver.go: the driver, a thin loop over the pure checkpoint
//     coordinator (internal/checkpoint): it owns the clock, the storage and
//     the conversation with the tasks, and nothing else.
//   - tasks.go: Tasks, how the driver reaches tasks (in-process channels
//     here; over the network in a cluster).
//   - persist.go: the checkpoint's files: keyed state and _metadata.
//   - restore.go: Restore, what operators read of the checkpoint a run
//     restores (Restorer).
//   - savepoint.go: savepoints on demand and stop-with-savepoint.
//   - final.go: what sinks pre-committed at the end of their input, kept in
//     later checkpoints and published when the job has finished.
//   - restart.go: the restart strategy.
//
// Goroutines: the task goroutines (snapshot, notify), upload goroutines
// (one per task and checkpoint), the driver goroutine (coordinator,
// metadata, notifications, savepoints), and the caller of Execute and of
// Savepoint. Lock order: Job.mu, then Run.finalMu; neither is held while
// sending on a channel.
//
// Invariants (cited in comments as job invariant N):
//
//  1. A checkpoint's _metadata is written last, after every state file it
//     names; a checkpoint without it does not exist (storage retention
//     removes the leftovers).
//  2. Sinks publish output only once the checkpoint that covers it is
//     complete, or once the whole job has finished (final commits): a
//     restore never replays output that was published.
//  3. A task that has returned takes no more commands; the driver never
//     waits for it.
//  4. A finished job leaves a record (_finished) naming the checkpoint its
//     end followed; a start that finds it with that checkpoint still the
//     newest publishes the end again (idempotent) and does nothing else.
//  5. A task that ended its input stands in every later checkpoint with
//     its final state, but only in those whose barrier it never took: its
//     acknowledgements and its end reach the driver in the order it sent
//     them (Run.reports), and its end names the last barrier it took
//     (Ended.Barrier): a checkpoint still waiting for the acknowledgement
//     of that barrier, lost between processes, aborts.
package job
