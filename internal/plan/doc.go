// Package plan turns a job's logical graph into the tasks of a run.
//
// The graph (graph.go) is built by the generic functions of the root
// package: every node and edge is non-generic here, and what depends on a
// record type is reached through the small interfaces of contracts.go,
// which the root package implements with generic structs. The planner
// never looks at a record.
//
// Planning a run takes three steps, one file each:
//
//  1. resolve.go: each operator's parallelism, each edge's partitioning
//     (a forward edge between operators of different parallelism
//     rebalances), and which operators chain into one task (a forward edge
//     of equal parallelism into an operator with one input, unless it asks
//     for a task of its own). Pure: Resolve has no side effects and is
//     tested on its own.
//  2. build.go: the exchanges between chains (one per edge that is not
//     chained), then each subtask of each chain, built from its last
//     operator back to its first, so that every operator is given the
//     collector of what follows it.
//  3. the checkpoint registration of every task with the run (job.Run),
//     and a source's enumerator (source.go).
package plan
