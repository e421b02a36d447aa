package weir

import (
	"fmt"
	"time"

	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
)

// WatermarkStrategy says how records get their event time and how the
// watermark follows it.
type WatermarkStrategy[T any] struct {
	timestamp   func(T) time.Time
	outOfOrder  time.Duration
	idleTimeout time.Duration
	alignGroup  string
	maxDrift    time.Duration
}

// BoundedOutOfOrderness assigns each record the time timestamp returns and
// lets the watermark trail the largest time seen by maxOutOfOrderness: a
// record at most that much older than the newest one is not late. A nil
// timestamp keeps the times the source gave the records.
func BoundedOutOfOrderness[T any](maxOutOfOrderness time.Duration, timestamp func(T) time.Time) WatermarkStrategy[T] {
	return WatermarkStrategy[T]{timestamp: timestamp, outOfOrder: maxOutOfOrderness}
}

// WithIdleness marks the subtask's output idle after d without records, so
// that it does not hold back the watermark of the operators downstream. The
// default is never.
func (w WatermarkStrategy[T]) WithIdleness(d time.Duration) WatermarkStrategy[T] {
	w.idleTimeout = d
	return w
}

func (w WatermarkStrategy[T]) validate() error {
	switch {
	case w.outOfOrder < 0:
		return fmt.Errorf("weir: Watermarks: out-of-orderness %v is negative: use 0 for ordered input", w.outOfOrder)
	case w.idleTimeout < 0:
		return fmt.Errorf("weir: Watermarks: idleness %v is negative: use 0 to never mark the input idle", w.idleTimeout)
	case w.alignGroup != "" && w.maxDrift < 0:
		return fmt.Errorf("weir: WithAlignment: max drift %v is negative: use 0 or more", w.maxDrift)
	}
	return nil
}

// Watermarks assigns event times to the records of s and emits watermarks
// every WatermarkInterval. Watermarks from upstream are replaced, except
// the final one at the end of a bounded input.
func Watermarks[T any](s Stream[T], strategy WatermarkStrategy[T], opts ...OpOption) Stream[T] {
	env := s.env
	if err := strategy.validate(); err != nil {
		env.errs = append(env.errs, err)
	}
	if strategy.alignGroup != "" {
		env.errs = append(env.errs, fmt.Errorf("weir: Watermarks: WithAlignment(%q) works only at a source: use FromSourceWithWatermarks", strategy.alignGroup))
	}
	return oneToOne(s, "watermarks", opts, func(t *plan.Subtask, name string, out runtime.Collector[T]) runtime.Collector[T] {
		w := &watermarkOp[T]{
			op: opOf(t, name), out: out, ts: strategy.timestamp,
			delay: strategy.outOfOrder.Milliseconds(), idleAfter: strategy.idleTimeout.Milliseconds(),
			interval: env.cfg.watermarkInterval.Milliseconds(), max: runtime.NoTimestamp, emitted: runtime.NoTimestamp,
		}
		t.OnTick(w)
		return w
	})
}

type watermarkOp[T any] struct {
	op
	out       runtime.Collector[T]
	ts        func(T) time.Time
	delay     int64
	idleAfter int64
	interval  int64

	max        int64 // largest timestamp seen
	emitted    int64 // last watermark sent
	seen       bool  // a record arrived since the last tick
	lastActive int64
	idle       bool
	nextEmit   int64
	rec        runtime.Record[T] // a stamped record, lent to out
	// inPlace says that the records come straight from a source task,
	// which lends each to its chain's head alone: they are stamped where
	// they lie instead of copied (see stampInPlace).
	inPlace bool

	_ runtime.Pad // apart from the next subtask's
}

func (w *watermarkOp[T]) Collect(r *runtime.Record[T]) error {
	prev := w.enter()
	switch {
	case w.ts == nil:
	case w.inPlace:
		r.Time = w.ts(r.Value).UnixMilli()
	default:
		// The record is lent: stamp a copy of it.
		w.rec = runtime.Record[T]{Value: r.Value, Time: w.ts(r.Value).UnixMilli()}
		r = &w.rec
	}
	if r.Time > w.max {
		w.max = r.Time
	}
	w.seen = true
	w.idle = false
	err := w.out.Collect(r)
	w.leave(prev)
	return err
}

// stampInPlace implements inPlaceStamper.
func (w *watermarkOp[T]) stampInPlace() { w.inPlace = true }

// inPlaceStamper is an operator that can stamp the records it is lent in
// place. A source task lends each record to its chain's head alone
// (runtime.Collector), so the operator it feeds directly is told to: a
// copy of every record less.
type inPlaceStamper interface{ stampInPlace() }

// Tick emits the watermark when its interval has come, and the idle marker
// when no record arrived for the idleness timeout.
func (w *watermarkOp[T]) Tick(now int64) (int64, error) {
	if w.seen || w.lastActive == 0 {
		w.lastActive = now
		w.seen = false
	}
	if now >= w.nextEmit {
		w.nextEmit = now + w.interval
		if w.max != runtime.NoTimestamp {
			if wm := w.max - w.delay - 1; wm > w.emitted {
				w.emitted = wm
				if err := w.out.Watermark(wm); err != nil {
					return runtime.NoWakeup, err
				}
			}
		}
	}
	if w.idleAfter > 0 && !w.idle && now-w.lastActive >= w.idleAfter {
		w.idle = true
		if err := w.out.Watermark(runtime.Idle); err != nil {
			return runtime.NoWakeup, err
		}
	}
	return w.nextEmit, nil
}

func (w *watermarkOp[T]) Watermark(wm int64) error {
	if wm == runtime.EndOfTime {
		w.emitted = wm
		return w.out.Watermark(wm)
	}
	return nil
}

func (w *watermarkOp[T]) End() error { return w.out.End() }
