package weir

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/state"
)

// IntervalJoin joins every record x of a with every record y of b that has
// the same key and whose event time lies in [x's time + lower, x's time +
// upper] (bounds included; lower may be negative), and emits join(x, y)
// with the later of the two times (Flink's interval join).
//
// Each subtask keeps the records of its keys until the watermark passes
// the last time a partner could have: a record of a until its time +
// upper, one of b until its time - lower; event-time timers drop them, so
// the state stays as large as the records of one interval. A record at or
// behind the watermark is late: it joins nothing and is counted
// (Env.DroppedLateRecords). Records need event times (Watermarks or
// FromSourceWithWatermarks upstream); one without fails the job.
//
// The state lives on the job's state backend, in checkpoints, and is
// redistributed by key group on a restore at another parallelism.
func IntervalJoin[K comparable, A, B, O any](a Stream[A], b Stream[B], keyA func(A) K, keyB func(B) K, lower, upper time.Duration, join func(x A, y B) O, opts ...OpOption) Stream[O] {
	env := a.env
	if lower > upper {
		env.errs = append(env.errs, fmt.Errorf("weir: IntervalJoin: lower bound %v is above upper bound %v: give lower <= upper", lower, upper))
	}
	if join == nil {
		env.errs = append(env.errs, fmt.Errorf("weir: IntervalJoin: the join function is nil"))
	}
	dropped := new(atomic.Int64)
	env.lateDrops = append(env.lateDrops, dropped)
	lo, up := lower.Milliseconds(), upper.Milliseconds()
	ks := keyConnected(a, b, keyA, keyB)
	return ProcessKeyed(ks, func(store *state.Store[K]) KeyedProcessFunction[K, coRecord[A, B], O] {
		return &intervalJoin[K, A, B, O]{
			left:  state.MapOf[int64, []A](store, "interval-join/left"),
			right: state.MapOf[int64, []B](store, "interval-join/right"),
			lower: lo, upper: up, join: join, dropped: dropped,
		}
	}, append([]OpOption{kindOption("interval-join")}, opts...)...)
}

// intervalJoin keeps, per key, the records of each side by event time.
type intervalJoin[K comparable, A, B, O any] struct {
	left         state.Map[int64, []A]
	right        state.Map[int64, []B]
	lower, upper int64
	join         func(A, B) O
	dropped      *atomic.Int64
}

// leftUntil and rightUntil return the time after which a record of a, or
// of b, at ts can have no more partners.
func (j *intervalJoin[K, A, B, O]) leftUntil(ts int64) int64  { return ts + max(j.upper, 0) }
func (j *intervalJoin[K, A, B, O]) rightUntil(ts int64) int64 { return ts + max(-j.lower, 0) }

func (j *intervalJoin[K, A, B, O]) ProcessElement(ctx *KeyedContext[K, O], v coRecord[A, B]) error {
	ts := ctx.time
	if ts == runtime.NoTimestamp {
		return fmt.Errorf("weir: IntervalJoin: a record has no event time: assign event times with Watermarks or FromSourceWithWatermarks before the join")
	}
	if ctx.watermark != runtime.NoTimestamp && ts <= ctx.watermark {
		j.dropped.Add(1)
		return nil
	}
	if !v.Two {
		x := v.In1
		xs, _ := j.left.Get(ts)
		j.left.Put(ts, append(xs, x))
		for tb, ys := range j.right.All {
			if tb >= ts+j.lower && tb <= ts+j.upper {
				ctx.out.time = max(ts, tb)
				for _, y := range ys {
					ctx.out.Emit(j.join(x, y))
				}
			}
		}
		ctx.RegisterEventTimer(time.UnixMilli(j.leftUntil(ts)))
	} else {
		y := v.In2
		ys, _ := j.right.Get(ts)
		j.right.Put(ts, append(ys, y))
		for ta, xs := range j.left.All {
			if ts >= ta+j.lower && ts <= ta+j.upper {
				ctx.out.time = max(ts, ta)
				for _, x := range xs {
					ctx.out.Emit(j.join(x, y))
				}
			}
		}
		ctx.RegisterEventTimer(time.UnixMilli(j.rightUntil(ts)))
	}
	ctx.out.time = ts
	return nil
}

// OnTimer drops the records of the key that can have no more partners.
func (j *intervalJoin[K, A, B, O]) OnTimer(_ *KeyedContext[K, O], t time.Time, _ TimeDomain) error {
	now := t.UnixMilli()
	var old []int64
	for ta := range j.left.All {
		if j.leftUntil(ta) <= now {
			old = append(old, ta)
		}
	}
	for _, ta := range old {
		j.left.Remove(ta)
	}
	old = old[:0]
	for tb := range j.right.All {
		if j.rightUntil(tb) <= now {
			old = append(old, tb)
		}
	}
	for _, tb := range old {
		j.right.Remove(tb)
	}
	return nil
}
