package weir

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/state"
)

// The broadcast state pattern: a control stream (rules, thresholds,
// configuration) goes to every subtask of an operator that also reads a
// data stream. Each subtask keeps the same map, written only by the
// control side; the data side reads it. Since every subtask saw the same
// control records before a checkpoint's barrier, the copies are equal:
// subtask 0's alone is kept, and a restore gives it to every new subtask,
// at any parallelism.

// BroadcastState is the map a broadcast operator keeps in every subtask.
// ProcessBroadcastElement writes it; the data side reads it through
// ReadOnlyBroadcastState. Keys and values must be encodable (package codec)
// to be kept in checkpoints.
type BroadcastState[MK comparable, V any] struct {
	m     map[MK]V
	clone func(MK) MK
	codec codec.Codec[map[MK]V]
}

func newBroadcastState[MK comparable, V any]() *BroadcastState[MK, V] {
	return &BroadcastState[MK, V]{m: map[MK]V{}, clone: keygroup.Cloner[MK](), codec: codec.For[map[MK]V]()}
}

// Get returns the value of mk, and whether there is one.
func (s *BroadcastState[MK, V]) Get(mk MK) (V, bool) { v, ok := s.m[mk]; return v, ok }

// Put sets the value of mk.
func (s *BroadcastState[MK, V]) Put(mk MK, v V) { s.m[s.clone(mk)] = v }

// Remove deletes mk.
func (s *BroadcastState[MK, V]) Remove(mk MK) { delete(s.m, mk) }

// All yields every entry, in no particular order. Do not change the state
// while ranging over it.
func (s *BroadcastState[MK, V]) All(yield func(MK, V) bool) {
	for k, v := range s.m {
		if !yield(k, v) {
			return
		}
	}
}

// Len returns the number of entries.
func (s *BroadcastState[MK, V]) Len() int { return len(s.m) }

func (s *BroadcastState[MK, V]) snapshot() ([]byte, error) { return s.codec.Append(nil, s.m) }

func (s *BroadcastState[MK, V]) restore(b []byte) error {
	m, _, err := s.codec.Decode(b)
	if err != nil {
		return fmt.Errorf("broadcast state: %w", err)
	}
	if m == nil {
		m = map[MK]V{}
	}
	s.m = m
	return nil
}

// ReadOnlyBroadcastState is the data side's view of a BroadcastState.
type ReadOnlyBroadcastState[MK comparable, V any] struct{ s *BroadcastState[MK, V] }

// Get returns the value of mk, and whether there is one.
func (r ReadOnlyBroadcastState[MK, V]) Get(mk MK) (V, bool) { return r.s.Get(mk) }

// All yields every entry, in no particular order.
func (r ReadOnlyBroadcastState[MK, V]) All(yield func(MK, V) bool) { r.s.All(yield) }

// Len returns the number of entries.
func (r ReadOnlyBroadcastState[MK, V]) Len() int { return r.s.Len() }

// broadcastSnapshot is the broadcast state of an operator, as its
// checkpoints see it.
type broadcastSnapshot interface {
	snapshot() ([]byte, error)
	restore(b []byte) error
}

// broadcastStateFormat starts the operator state of an operator with
// broadcast state: the format byte, the watermark (8 bytes), and the
// broadcast state framed by its length (empty but on subtask 0). Other
// operators' state is the bare 8-byte watermark.
const broadcastStateFormat = 0xB1

// encodeOperatorState encodes the operator state of a process operator
// of subtask sub: its watermark and, on subtask 0, its broadcast state.
func encodeOperatorState(wm int64, bs broadcastSnapshot, sub int) ([]byte, error) {
	if bs == nil {
		return encodeState(wm)
	}
	b := appendInt64([]byte{broadcastStateFormat}, wm)
	var body []byte
	if sub == 0 {
		var err error
		if body, err = bs.snapshot(); err != nil {
			return nil, err
		}
	}
	return codec.AppendBytes(b, body), nil
}

// decodeOperatorState decodes what encodeOperatorState wrote.
func decodeOperatorState(b []byte) (wm int64, broadcast []byte, err error) {
	if len(b) == 8 {
		wm, err = decodeState[int64](b)
		return wm, nil, err
	}
	if len(b) < 10 || b[0] != broadcastStateFormat {
		return 0, nil, errors.New("operator state of an unknown format")
	}
	if wm, _, err = readInt64(b[1:9]); err != nil {
		return 0, nil, err
	}
	broadcast, n, err := codec.ReadBytes(b[9:])
	if err == nil && 9+n != len(b) {
		err = errors.New("trailing bytes after the broadcast state")
	}
	return wm, broadcast, err
}

// restoreBroadcast restores bs, if the operator has broadcast state, from
// the copy of the old subtask that kept it.
func restoreBroadcast(r job.Restorer, uid string, bs broadcastSnapshot) error {
	if bs == nil {
		return nil
	}
	for _, sub := range r.OperatorStates(uid, 0, 1) {
		_, b, err := decodeOperatorState(sub.OperatorState)
		if err != nil {
			return fmt.Errorf("restore the broadcast state of %q: %w", uid, err)
		}
		if len(b) > 0 {
			return bs.restore(b)
		}
	}
	return nil
}

// BroadcastProcessFunction processes a data stream with the broadcast
// state that a control stream writes. Both methods are called from one
// goroutine per subtask, never at once.
type BroadcastProcessFunction[T, C any, MK comparable, V, U any] interface {
	// ProcessElement is called for every record of the data stream.
	ProcessElement(ctx *Context, v T, bs ReadOnlyBroadcastState[MK, V], out Emitter[U]) error
	// ProcessBroadcastElement is called, in every subtask, for every
	// record of the control stream. It must update bs the same way in
	// every subtask: subtask 0's copy is the one checkpoints keep.
	ProcessBroadcastElement(ctx *Context, c C, bs *BroadcastState[MK, V], out Emitter[U]) error
}

// KeyedBroadcastProcessFunction processes a keyed stream, with keyed state
// and timers, and the broadcast state that a control stream writes. All
// methods are called from one goroutine per subtask, never at once.
type KeyedBroadcastProcessFunction[K comparable, T, C any, MK comparable, V, U any] interface {
	// ProcessElement is called for every record of the keyed stream.
	ProcessElement(ctx *KeyedContext[K, U], v T, bs ReadOnlyBroadcastState[MK, V]) error
	// ProcessBroadcastElement is called, in every subtask, for every
	// record of the control stream. It must update bs the same way in
	// every subtask. A control record has no key: ctx.Key() is K's zero
	// value there, so leave keyed state and timers alone.
	ProcessBroadcastElement(ctx *KeyedContext[K, U], c C, bs *BroadcastState[MK, V]) error
	// OnTimer is called when a timer of ctx.Key() fires, at time t.
	OnTimer(ctx *KeyedContext[K, U], t time.Time, domain TimeDomain, bs ReadOnlyBroadcastState[MK, V]) error
}

// ProcessBroadcast sends every record of control to every subtask of an
// operator that reads s, and calls fn for the records of both. The
// operator's watermark is the smaller of the inputs': give the control
// stream watermarks, or idleness, or let it end, so that it does not hold
// event time back.
func ProcessBroadcast[T, C any, MK comparable, V, U any](s Stream[T], control Stream[C], fn BroadcastProcessFunction[T, C, MK, V, U], opts ...OpOption) Stream[U] {
	env := s.env
	n := newNode[U](env, "process-broadcast", opts)
	connect(tagInput(s, "input1", func(v T) coRecord[T, C] { return coRecord[T, C]{In1: v} }), n, runtime.Forward, nil)
	connectBroadcastSide[C, T](control, n)
	n.Operator = operator[coRecord[T, C], U](func(t *plan.Subtask, out runtime.Collector[U], _ plan.Outputs) (runtime.Collector[coRecord[T, C]], error) {
		p := &broadcastOp[T, C, MK, V, U]{op: opOf(t, n.Name), uid: n.UID,
			fn: fn, em: emitter[U]{out: out}, bs: newBroadcastState[MK, V](),
			ctx: Context{subtask: t.Index, watermark: runtime.NoTimestamp}}
		if t.Restore != nil && t.Restore.Has(n.UID) {
			p.ctx.watermark = restoredWatermark(t.Restore, n.UID)
			if err := restoreBroadcast(t.Restore, n.UID, p.bs); err != nil {
				return nil, err
			}
		}
		t.AddState(n.UID, p)
		return p, nil
	})
	return Stream[U]{env, n}
}

// ProcessKeyedBroadcast sends every record of control to every subtask of
// a keyed operator that reads ks, and runs the function newFn makes (once
// per subtask, with its keyed state store) on the records of both. Keyed
// state and timers behave as in ProcessKeyed; the broadcast state as in
// ProcessBroadcast, whose note on watermarks applies too.
func ProcessKeyedBroadcast[K comparable, T, C any, MK comparable, V, U any](ks KeyedStream[K, T], control Stream[C], newFn func(store *state.Store[K]) KeyedBroadcastProcessFunction[K, T, C, MK, V, U], opts ...OpOption) Stream[U] {
	env := ks.s.env
	n := newNode[U](env, "process-keyed-broadcast", opts)
	key, hash := ks.key, ks.hash
	connect(tagInput(ks.s, "input1", func(v T) coRecord[T, C] { return coRecord[T, C]{In1: v} }), n, runtime.Hash,
		func(v coRecord[T, C]) uint64 { return hash(key(v.In1)) })
	connectBroadcastSide[C, T](control, n)
	recordKey := func(v coRecord[T, C]) K {
		if v.Two {
			var zero K
			return zero
		}
		return key(v.In1)
	}
	n.Operator = keyedProcessOperator(env, n, recordKey, hash, func(store *state.Store[K]) (KeyedProcessFunction[K, coRecord[T, C], U], broadcastSnapshot) {
		bs := newBroadcastState[MK, V]()
		return keyedBroadcastAdapter[K, T, C, MK, V, U]{fn: newFn(store), bs: bs}, bs
	})
	return Stream[U]{env, n}
}

// connectBroadcastSide sends every record of control, tagged as the
// second input, to every subtask of n.
func connectBroadcastSide[C, T any](control Stream[C], n *plan.Node) {
	tc := tagInput(control, "broadcast", func(v C) coRecord[T, C] { return coRecord[T, C]{Two: true, In2: v} })
	connect(tc, n, runtime.Broadcast, nil)
}

// keyedBroadcastAdapter is a KeyedBroadcastProcessFunction seen as a
// KeyedProcessFunction of tagged records.
type keyedBroadcastAdapter[K comparable, T, C any, MK comparable, V, U any] struct {
	fn KeyedBroadcastProcessFunction[K, T, C, MK, V, U]
	bs *BroadcastState[MK, V]
}

func (a keyedBroadcastAdapter[K, T, C, MK, V, U]) ProcessElement(ctx *KeyedContext[K, U], v coRecord[T, C]) error {
	if v.Two {
		return a.fn.ProcessBroadcastElement(ctx, v.In2, a.bs)
	}
	return a.fn.ProcessElement(ctx, v.In1, ReadOnlyBroadcastState[MK, V]{a.bs})
}

func (a keyedBroadcastAdapter[K, T, C, MK, V, U]) OnTimer(ctx *KeyedContext[K, U], t time.Time, domain TimeDomain) error {
	return a.fn.OnTimer(ctx, t, domain, ReadOnlyBroadcastState[MK, V]{a.bs})
}

// broadcastOp runs a BroadcastProcessFunction in one subtask.
type broadcastOp[T, C any, MK comparable, V, U any] struct {
	op
	uid string
	fn  BroadcastProcessFunction[T, C, MK, V, U]
	em  emitter[U]
	bs  *BroadcastState[MK, V]
	ctx Context

	_ runtime.Pad // apart from the next subtask's
}

func (p *broadcastOp[T, C, MK, V, U]) Collect(r *runtime.Record[coRecord[T, C]]) error {
	prev := p.enter()
	err := p.collectEntered(r)
	p.leave(prev)
	return err
}

// collectEntered is Collect, run with the operator entered (see op.enter).
func (p *broadcastOp[T, C, MK, V, U]) collectEntered(r *runtime.Record[coRecord[T, C]]) (err error) {
	p.ctx.time, p.em.time = r.Time, r.Time
	if r.Value.Two {
		err = p.fn.ProcessBroadcastElement(&p.ctx, r.Value.In2, p.bs, &p.em)
	} else {
		err = p.fn.ProcessElement(&p.ctx, r.Value.In1, ReadOnlyBroadcastState[MK, V]{p.bs}, &p.em)
	}
	if err != nil {
		return p.wrap(err)
	}
	if err := p.em.take(); err != nil {
		return err
	}
	err, p.ctx.err = p.ctx.err, nil
	return err
}

func (p *broadcastOp[T, C, MK, V, U]) Watermark(wm int64) error {
	if wm != runtime.Idle {
		p.ctx.watermark = wm
	}
	return p.em.out.Watermark(wm)
}

func (p *broadcastOp[T, C, MK, V, U]) End() error { return p.em.out.End() }

// SnapshotState implements job.Stateful: the watermark, and on subtask 0
// the broadcast state.
func (p *broadcastOp[T, C, MK, V, U]) SnapshotState(_ context.Context, _ int64, s *job.OperatorSnapshot) (err error) {
	s.State, err = encodeOperatorState(p.ctx.watermark, p.bs, p.subtask)
	return err
}

func (p *broadcastOp[T, C, MK, V, U]) NotifyCheckpoint(context.Context, runtime.Command) error {
	return nil
}
