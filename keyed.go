package weir

import (
	"container/heap"
	"fmt"
	"path/filepath"
	"time"

	"github.com/weirstream/weir/internal/backend/pebble"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/state"
)

// KeyedStream is a stream partitioned by key: every record with the same
// key goes to the same subtask, which keeps that key's state and timers.
type KeyedStream[K comparable, T any] struct {
	s    Stream[T]
	key  func(T) K
	hash func(K) uint64
}

// KeyBy partitions s by the key that key returns. Keys must hash the same
// in every process (so that state can be restored): strings, numbers and
// booleans do; other key types implement KeyHash() uint64.
func KeyBy[T any, K comparable](s Stream[T], key func(T) K) KeyedStream[K, T] {
	h, err := keygroup.Hasher[K]()
	if err != nil {
		s.env.errs = append(s.env.errs, fmt.Errorf("weir: KeyBy after %q: %w", s.n.Name, err))
		h = func(K) uint64 { return 0 }
	}
	return KeyedStream[K, T]{s: s, key: key, hash: h}
}

// connectKeyed adds a hash-partitioned edge from ks to n.
func connectKeyed[K comparable, T any](ks KeyedStream[K, T], n *plan.Node) {
	key, hash := ks.key, ks.hash
	connect(ks.s, n, runtime.Hash, func(v T) uint64 { return hash(key(v)) })
}

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
	env := ks.s.env
	n := newNode[U](env, "process-keyed", opts)
	connectKeyed(ks, n)
	n.Operator = operator[T, U](func(t *plan.Subtask, out runtime.Collector[U], _ plan.Outputs) (runtime.Collector[T], error) {
		store, err := newStore(env, t, n.Name, ks.hash)
		if err != nil {
			return nil, err
		}
		p := &keyedProcessOp[K, T, U]{
			op:    op{name: n.Name, subtask: t.Index, par: t.Parallelism},
			base:  newKeyedBase(n.Name, ks.hash, t),
			key:   ks.key,
			store: store,
			fn:    newFn(store),
			em:    emitter[U]{out: out},
		}
		p.ctx = KeyedContext[K, U]{Context: &Context{subtask: t.Index, watermark: runtime.NoTimestamp},
			out: &p.em, event: newTimerQueue[K](), proc: newTimerQueue[K](), clock: t.Clock}
		if t.Restore != nil {
			if err := p.restore(t.Ctx, t.Restore); err != nil {
				return nil, err
			}
		}
		t.AddState(n.Name, p)
		t.OnTick(p)
		return p, nil
	})
	return Stream[U]{env, n}
}

type keyedProcessOp[K comparable, T, U any] struct {
	op
	base  keyedBase[K]
	key   func(T) K
	store *state.Store[K]
	fn    KeyedProcessFunction[K, T, U]
	em    emitter[U]
	ctx   KeyedContext[K, U]
}

func (p *keyedProcessOp[K, T, U]) Collect(r runtime.Record[T]) (err error) {
	defer runtime.Recover(&err, p.name, p.subtask, p.par)
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

func (p *keyedProcessOp[K, T, U]) fire(q *timerQueue[K], until int64, domain TimeDomain) (err error) {
	defer runtime.Recover(&err, p.name, p.subtask, p.par)
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

// newStore makes the state store of one keyed subtask on the configured
// backend.
func newStore[K comparable](env *Env, t *plan.Subtask, uid string, hash func(K) uint64) (*state.Store[K], error) {
	if env.cfg.backend != "pebble" {
		return state.NewStore[K](t.Clock.Now), nil
	}
	dir := filepath.Join(env.cfg.backendDir, fmt.Sprintf("%s.%d", job.FileSafe(uid), t.Index))
	db, err := pebble.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("state backend pebble: %w", err)
	}
	t.OnClose(db.Close)
	return state.NewKVStore(t.Clock.Now, db, hash, t.MaxParallelism), nil
}

// timerQueue is a min-heap of (time, key) timers without duplicates.
type timerQueue[K comparable] struct {
	h     timerHeap[K]
	set   map[timerEntry[K]]struct{}
	clone func(K) K
}

type timerEntry[K comparable] struct {
	ts  int64
	key K
}

func newTimerQueue[K comparable]() *timerQueue[K] {
	return &timerQueue[K]{set: map[timerEntry[K]]struct{}{}, clone: keygroup.Cloner[K]()}
}

func (q *timerQueue[K]) add(ts int64, key K) {
	e := timerEntry[K]{ts, key}
	if _, ok := q.set[e]; ok {
		return
	}
	e.key = q.clone(key)
	q.set[e] = struct{}{}
	heap.Push(&q.h, e)
}

// remove cancels a timer; its heap entry is skipped when it surfaces.
func (q *timerQueue[K]) remove(ts int64, key K) { delete(q.set, timerEntry[K]{ts, key}) }

func (q *timerQueue[K]) popDue(until int64) (timerEntry[K], bool) {
	for len(q.h) > 0 && q.h[0].ts <= until {
		e := heap.Pop(&q.h).(timerEntry[K])
		if _, ok := q.set[e]; ok {
			delete(q.set, e)
			return e, true
		}
	}
	return timerEntry[K]{}, false
}

func (q *timerQueue[K]) next() int64 {
	for len(q.h) > 0 {
		if _, ok := q.set[q.h[0]]; ok {
			return q.h[0].ts
		}
		heap.Pop(&q.h)
	}
	return runtime.NoWakeup
}

type timerHeap[K comparable] []timerEntry[K]

func (h timerHeap[K]) Len() int           { return len(h) }
func (h timerHeap[K]) Less(i, j int) bool { return h[i].ts < h[j].ts }
func (h timerHeap[K]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap[K]) Push(x any)        { *h = append(*h, x.(timerEntry[K])) }
func (h *timerHeap[K]) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
