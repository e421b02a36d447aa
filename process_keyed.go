package weir

import (
	"context"
	"errors"
	"time"

	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/state"
)

// TimeDomain says which clock a timer follows.
type TimeDomain int

const (
	// EventTimeDomain timers fire when the watermark passes them.
	EventTimeDomain TimeDomain = iota
	// ProcessingTimeDomain timers fire when the wall clock passes them.
	ProcessingTimeDomain
)

// KeyedProcessFunction processes the records of a KeyedStream one key at a
// time, with keyed state (through the Store its factory received) and
// timers. Both methods are called from one goroutine per subtask.
type KeyedProcessFunction[K comparable, T, U any] interface {
	// ProcessElement is called for every record.
	ProcessElement(ctx *KeyedContext[K, U], v T) error
	// OnTimer is called when a timer of ctx.Key() fires, at time t.
	OnTimer(ctx *KeyedContext[K, U], t time.Time, domain TimeDomain) error
}

// KeyedContext is what a KeyedProcessFunction can see and do.
type KeyedContext[K comparable, U any] struct {
	*Context
	key   K
	out   *emitter[U]
	event *timerQueue[K]
	proc  *timerQueue[K]
	clock *runtime.Clock
}

// Key returns the key of the record or timer being processed.
func (c *KeyedContext[K, U]) Key() K { return c.key }

// Emit sends v downstream with the current record's (or timer's) time.
func (c *KeyedContext[K, U]) Emit(v U) { c.out.Emit(v) }

// RegisterEventTimer asks for OnTimer when the watermark reaches t.
// Registering the same time twice for a key yields one call.
func (c *KeyedContext[K, U]) RegisterEventTimer(t time.Time) { c.event.add(t.UnixMilli(), c.key) }

// DeleteEventTimer cancels an event-time timer of the current key.
func (c *KeyedContext[K, U]) DeleteEventTimer(t time.Time) { c.event.remove(t.UnixMilli(), c.key) }

// RegisterProcessingTimer asks for OnTimer when the wall clock reaches t.
func (c *KeyedContext[K, U]) RegisterProcessingTimer(t time.Time) {
	ms := t.UnixMilli()
	c.proc.add(ms, c.key)
	c.clock.WakeAt(ms)
}

// DeleteProcessingTimer cancels a processing-time timer of the current key.
func (c *KeyedContext[K, U]) DeleteProcessingTimer(t time.Time) { c.proc.remove(t.UnixMilli(), c.key) }

// Now returns the processing time.
func (c *KeyedContext[K, U]) Now() time.Time { return time.UnixMilli(c.clock.Now()) }

// ProcessKeyed runs a KeyedProcessFunction on every record of ks. newFn is
// called once per parallel subtask with that subtask's state store; create
// the state handles there (state.ValueOf and friends).
func ProcessKeyed[K comparable, T, U any](ks KeyedStream[K, T], newFn func(store *state.Store[K]) KeyedProcessFunction[K, T, U], opts ...OpOption) Stream[U] {
	n := newNode[U](ks.s.env, "process-keyed", opts)
	connectKeyed(ks, n)
	n.Operator = keyedProcessOperator(ks.s.env, n, ks.key, ks.hash, func(store *state.Store[K]) (KeyedProcessFunction[K, T, U], broadcastSnapshot) {
		return newFn(store), nil
	})
	return Stream[U]{ks.s.env, n}
}

// keyedProcessOperator builds the subtasks of node n, a keyed process
// operator whose function build makes (with its broadcast state, if it
// has one).
func keyedProcessOperator[K comparable, T, U any](env *Env, n *plan.Node, key func(T) K, hash func(K) uint64, build func(store *state.Store[K]) (KeyedProcessFunction[K, T, U], broadcastSnapshot)) plan.Operator {
	return operator[T, U](func(t *plan.Subtask, out runtime.Collector[U], _ plan.Outputs) (runtime.Collector[T], error) {
		store, err := newStore(env.backend, t, n.UID, hash)
		if err != nil {
			return nil, err
		}
		p := &keyedProcessOp[K, T, U]{
			op:    opOf(t, n.Name),
			base:  newKeyedBase(n.UID, hash, t),
			key:   key,
			store: store,
			em:    emitter[U]{out: out},
		}
		p.fn, p.bcast = build(store.Store())
		p.ctx = KeyedContext[K, U]{Context: &Context{subtask: t.Index, watermark: runtime.NoTimestamp},
			out: &p.em, event: newTimerQueue[K](), proc: newTimerQueue[K](), clock: t.Clock}
		if t.Restore != nil {
			if err := p.restore(t.Ctx, t.Restore); err != nil {
				return nil, err
			}
		}
		t.AddState(n.UID, p)
		t.OnTick(p)
		return p, nil
	})
}

type keyedProcessOp[K comparable, T, U any] struct {
	op
	base  keyedBase[K]
	key   func(T) K
	store *keyedstate.Engine[K]
	fn    KeyedProcessFunction[K, T, U]
	em    emitter[U]
	ctx   KeyedContext[K, U]
	bcast broadcastSnapshot // nil without broadcast state

	_ runtime.Pad // apart from the next subtask's
}

func (p *keyedProcessOp[K, T, U]) Collect(r *runtime.Record[T]) error {
	prev := p.enter()
	err := p.collectEntered(r)
	p.leave(prev)
	return err
}

// collectEntered is Collect, run with the operator entered (see op.enter).
func (p *keyedProcessOp[K, T, U]) collectEntered(r *runtime.Record[T]) (err error) {
	k := p.key(r.Value)
	p.store.SetKey(k)
	p.ctx.key, p.ctx.time, p.em.time = k, r.Time, r.Time
	if err := p.fn.ProcessElement(&p.ctx, r.Value); err != nil {
		return p.wrap(err)
	}
	if err := p.store.Err(); err != nil {
		return p.wrap(err)
	}
	return p.take()
}

func (p *keyedProcessOp[K, T, U]) take() error {
	if err := p.em.take(); err != nil {
		return err
	}
	err := p.ctx.err
	p.ctx.err = nil
	return err
}

func (p *keyedProcessOp[K, T, U]) fire(q *timerQueue[K], until int64, domain TimeDomain) error {
	prev := p.enter()
	err := p.fireEntered(q, until, domain)
	p.leave(prev)
	return err
}

// fireEntered is fire, run with the operator entered (see op.enter).
func (p *keyedProcessOp[K, T, U]) fireEntered(q *timerQueue[K], until int64, domain TimeDomain) (err error) {
	for {
		tm, ok := q.popDue(until)
		if !ok {
			return nil
		}
		p.store.SetKey(tm.key)
		p.ctx.key, p.ctx.time, p.em.time = tm.key, tm.ts, tm.ts
		if err := p.fn.OnTimer(&p.ctx, time.UnixMilli(tm.ts).UTC(), domain); err != nil {
			return p.wrap(err)
		}
		if err := p.store.Err(); err != nil {
			return p.wrap(err)
		}
		if err := p.take(); err != nil {
			return err
		}
	}
}

func (p *keyedProcessOp[K, T, U]) Watermark(wm int64) error {
	if wm != runtime.Idle {
		p.ctx.watermark = wm
		if err := p.fire(p.ctx.event, wm, EventTimeDomain); err != nil {
			return err
		}
	}
	return p.em.out.Watermark(wm)
}

func (p *keyedProcessOp[K, T, U]) Tick(now int64) (int64, error) {
	if err := p.fire(p.ctx.proc, now, ProcessingTimeDomain); err != nil {
		return runtime.NoWakeup, err
	}
	return p.ctx.proc.next(), nil
}

func (p *keyedProcessOp[K, T, U]) End() error { return p.em.out.End() }

// SnapshotState implements job.Stateful for ProcessKeyed.
func (p *keyedProcessOp[K, T, U]) SnapshotState(_ context.Context, _ int64, s *job.OperatorSnapshot) error {
	p.base.begin(s)
	err := p.store.Snapshot(p.base.groupOf, func(g int, name string, key, value []byte) {
		s.AddKeyed(g, snapshot.Entry{State: name, Key: key, Value: value})
	})
	if err == nil {
		err = p.base.snapshotTimers(s, eventTimerState, p.ctx.event)
	}
	if err == nil {
		err = p.base.snapshotTimers(s, procTimerState, p.ctx.proc)
	}
	if err == nil {
		s.State, err = encodeOperatorState(p.ctx.watermark, p.bcast, p.subtask)
	}
	return err
}

func (p *keyedProcessOp[K, T, U]) NotifyCheckpoint(context.Context, runtime.Command) error {
	return nil
}

// restore loads the operator's keyed state from the restored checkpoint.
func (p *keyedProcessOp[K, T, U]) restore(ctx context.Context, run job.Restorer) error {
	if !run.Has(p.base.uid) {
		return nil
	}
	p.ctx.watermark = restoredWatermark(run, p.base.uid)
	if err := restoreBroadcast(run, p.base.uid, p.bcast); err != nil {
		return err
	}
	warned := map[string]bool{}
	err := run.Keyed(ctx, p.base.uid, p.base.groups, func(e snapshot.Entry) error {
		switch e.State {
		case eventTimerState, procTimerState:
			k, err := p.base.decodeKey(e.Key)
			if err != nil {
				return err
			}
			ts, _, err := readInt64(e.Value)
			if err != nil {
				return err
			}
			if e.State == eventTimerState {
				p.ctx.event.add(ts, k)
			} else {
				p.ctx.proc.add(ts, k)
				p.ctx.clock.WakeAt(ts)
			}
			return nil
		}
		if err := p.store.Restore(e.State, e.Key, e.Value); err != nil {
			if !errors.Is(err, keyedstate.ErrUnknownState) {
				return err
			}
			if !warned[e.State] {
				warned[e.State] = true
				p.base.log.Warn("dropping restored state that the job no longer has", "uid", p.base.uid, "state", e.State)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return p.store.Err() // a restore into pebble writes in batches
}
