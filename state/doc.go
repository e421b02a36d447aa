// Package state holds the keyed state that user functions keep between
// records: values, lists, maps and reducing values, kept per key, with an
// optional time to live.
//
// # Keyed state
//
// A keyed operator (weir.ProcessKeyed) runs in parallel subtasks, and
// weir.KeyBy sends every record with one key to the same subtask. Each
// subtask has a Store, which holds the state of the keys it owns. The
// function that makes the subtask's user function receives the Store and
// creates the state handles there, once:
//
//	func newCounter(s *state.Store[string]) weir.KeyedProcessFunction[string, Hit, string] {
//		return &counter{
//			hits:  state.ValueOf[int64](s, "hits"),
//			pages: state.MapOf[string, int64](s, "pages", state.TTL(24*time.Hour)),
//		}
//	}
//
// A state is known by its kind and name: handles made twice with one name
// share one state (with another value type, the second call panics). The
// name identifies the state in checkpoints, so renaming it loses the state
// on restore; a state that the job no longer registers is dropped on
// restore, with a warning.
//
// # The current key
//
// A handle is not bound to one key. It reads and writes the entry of the
// current key: the key of the record, or of the timer, being processed,
// which the runtime sets before each call into the user function:
//
//	func (c *counter) ProcessElement(ctx *weir.KeyedContext[string, string], h Hit) error {
//		n, _ := c.hits.Get() // this client's count: the record's key is h.Client
//		c.hits.Set(n + 1)
//		return nil
//	}
//
// Use handles only from those calls, on the subtask's goroutine: not from a
// goroutine of your own, and not in between calls, when the current key is
// whichever came last.
//
// # Time to live
//
// A state made with the TTL option forgets an entry a fixed time after it
// was last written, in processing time. An expired entry reads as absent,
// is left out of checkpoints, and is removed when it is next touched.
//
// # Backends and checkpoints
//
// The job's state backend (weir.StateBackend) decides where state lives:
// on the heap, in Go maps (fastest, bounded by memory), or in pebble, an LSM
// tree on local disk (for state larger than memory; each Get decodes the
// entry and each write encodes it, with the type's codec.For). Handles
// behave the same on both. A checkpoint holds every entry in one format,
// whatever the backend, and grouped by key group: a job restores on either
// backend, and at another parallelism.
//
// A disk can fail, but handles return no errors: the runtime checks for a
// failure after each call into the user function and fails the job, which
// restarts from its last checkpoint.
package state
