// Package keyedstate is the engine behind package state: where keyed state
// is stored, on which backend, and how it is snapshotted and restored.
//
// One keyed operator subtask has one Store, seen from two sides. User code
// sees the Store itself (re-exported as state.Store), which has no methods:
// it only registers states on it, through package state's ValueOf and
// friends, which build their handles on a Cell. The runtime holds the
// Engine, which owns the Store and makes the calls user code must not:
//
//	e := keyedstate.NewHeap[string](clock) // or NewKV(clock, db, hash, maxParallelism)
//	fn := newFn(e.Store())                 // user code registers its states
//	for each record:
//		e.SetKey(key(record))              // every handle now reads and writes this key
//		fn.ProcessElement(ctx, record)
//		if err := e.Err(); err != nil { fail the task }
//	on a checkpoint: e.Snapshot(groupOf, emit)
//	on a restore:    e.Restore(state, key, value), for each entry
//
// A registered state is a column: one entry per key, with the time it was
// last written (for time to live). The heap backend keeps a column in a Go
// map (heap.go); the KV backend keeps every column in one ordered key-value
// store off the Go heap, such as pebble (kv.go, which draws its layout),
// where a map or list state's column holds a pair per map entry or list
// element (mapcell.go, listcell.go). Handles are written once against
// Cell, MapCell or ListCell, whatever the backend.
//
// Errors and panics begin with "state:", the package users know.
//
// Invariants:
//
//  1. State is addressed by key; a key belongs to exactly one key group, so
//     state can be moved between subtasks one key group at a time.
//  2. An entry whose time to live has passed reads as absent and is removed
//     when it is next touched or when Engine.Expire runs.
//  3. Snapshot entries are the same bytes on every backend: restoring a
//     snapshot on either backend and snapshotting again gives them back
//     (snapshot.go describes the entries).
//  4. A Store, its Engine and its handles are used from one goroutine, the
//     subtask's; nothing in this package locks.
//  5. A KV can fail but handles cannot return errors: the Store keeps the
//     first failure, for Engine.Err, and afterwards reads see absent values
//     and writes are dropped.
package keyedstate
