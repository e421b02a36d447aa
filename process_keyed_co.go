package weir

import (
	"time"

	"github.com/weirstream/weir/state"
)

// KeyedCoProcessFunction processes the records of two keyed streams with
// one key type, one key at a time: both inputs share the key's state (the
// Store its factory received) and timers. All three methods are called
// from one goroutine per subtask, never at once.
type KeyedCoProcessFunction[K comparable, A, B, U any] interface {
	// ProcessElement1 is called for every record of the first input.
	ProcessElement1(ctx *KeyedContext[K, U], v A) error
	// ProcessElement2 is called for every record of the second input.
	ProcessElement2(ctx *KeyedContext[K, U], v B) error
	// OnTimer is called when a timer of ctx.Key() fires, at time t.
	OnTimer(ctx *KeyedContext[K, U], t time.Time, domain TimeDomain) error
}

// ProcessKeyedCo runs a KeyedCoProcessFunction on the records of a and b:
// the records of both with one key go to one subtask, which keeps that
// key's state and timers, in checkpoints and through a restore at another
// parallelism (key groups move as they do for ProcessKeyed). newFn is
// called once per parallel subtask with that subtask's state store.
//
// The operator's event time is the smaller of the inputs' watermarks; an
// idle input does not hold it back. Checkpoint barriers align across both
// inputs, and unaligned checkpoints restore each input's records in
// flight to that input.
func ProcessKeyedCo[K comparable, A, B, U any](a KeyedStream[K, A], b KeyedStream[K, B], newFn func(store *state.Store[K]) KeyedCoProcessFunction[K, A, B, U], opts ...OpOption) Stream[U] {
	ks := keyConnected(a.s, b.s, a.key, b.key)
	return ProcessKeyed(ks, func(store *state.Store[K]) KeyedProcessFunction[K, coRecord[A, B], U] {
		return keyedCoAdapter[K, A, B, U]{newFn(store)}
	}, append([]OpOption{kindOption("process-keyed-co")}, opts...)...)
}

// keyConnected connects a and b and keys the tagged records by keyA or
// keyB, whichever input they come from.
func keyConnected[K comparable, A, B any](a Stream[A], b Stream[B], keyA func(A) K, keyB func(B) K) KeyedStream[K, coRecord[A, B]] {
	return KeyBy(connectTagged(a, b), func(v coRecord[A, B]) K {
		if v.Two {
			return keyB(v.In2)
		}
		return keyA(v.In1)
	})
}

// keyedCoAdapter is a KeyedCoProcessFunction seen as a
// KeyedProcessFunction of tagged records.
type keyedCoAdapter[K comparable, A, B, U any] struct {
	fn KeyedCoProcessFunction[K, A, B, U]
}

func (c keyedCoAdapter[K, A, B, U]) ProcessElement(ctx *KeyedContext[K, U], v coRecord[A, B]) error {
	if v.Two {
		return c.fn.ProcessElement2(ctx, v.In2)
	}
	return c.fn.ProcessElement1(ctx, v.In1)
}

func (c keyedCoAdapter[K, A, B, U]) OnTimer(ctx *KeyedContext[K, U], t time.Time, domain TimeDomain) error {
	return c.fn.OnTimer(ctx, t, domain)
}
