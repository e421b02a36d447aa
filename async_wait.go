package weir

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
)

// DefaultAsyncCapacity is the number of inputs an AsyncWait subtask holds at
// once when AsyncOptions.Capacity is 0.
const DefaultAsyncCapacity = 100

// ErrAsyncTimeout is the cause (errors.Is) of the OperatorError that Execute
// returns when an AsyncWait call found no result within
// AsyncOptions.Timeout and the options have no OnTimeout.
var ErrAsyncTimeout = errors.New("weir: AsyncWait: the call timed out")

// AsyncOptions configure AsyncWait. The zero value is valid: results in
// input order, DefaultAsyncCapacity inputs in flight per subtask, no
// timeout, one attempt per input.
type AsyncOptions[In, Out any] struct {
	// Unordered lets results leave as their calls complete. By default
	// (false) they leave in input order, so one slow call holds back the
	// results behind it. Either way no record overtakes a watermark: the
	// results of the inputs that came before a watermark leave before it,
	// those of the inputs after it leave after it.
	Unordered bool

	// Capacity is the most inputs one subtask holds at once: calls running
	// or waiting to be retried, and results waiting for their turn to
	// leave. When it is full the subtask reads no input until a result has
	// left, so a slow service slows the sources (backpressure). Default 0:
	// DefaultAsyncCapacity (100).
	Capacity int

	// Timeout bounds the time from an input's first attempt to its result,
	// retries and their delays included. When it passes, the call's
	// context is done and retries stop: the input's result is then
	// OnTimeout's, and without OnTimeout the job fails with
	// ErrAsyncTimeout. A call that ignores its context delays the timeout
	// until it returns. Default 0: no timeout.
	Timeout time.Duration

	// OnTimeout, if set, makes the result of an input whose call timed out
	// (a default value, say). Its ctx is not the expired one; an error it
	// returns fails the job. Default nil: a timeout fails the job. It needs
	// a Timeout.
	OnTimeout func(ctx context.Context, in In) (Out, error)

	// Retry says how many attempts an input gets and how long to wait
	// between them. Default: the zero RetryStrategy, one attempt.
	Retry RetryStrategy

	// RetryOnError says whether an error of the function deserves another
	// attempt (a 503, say, but not a 404). When no attempt is left, or it
	// returns false, the error fails the job. Default nil: every error is
	// retried while Retry allows. It needs a Retry with attempts to spare.
	RetryOnError func(err error) bool

	// RetryOnResult says whether a result calls for another attempt (a
	// lookup that found nothing yet, say). When no attempt is left the last
	// result is emitted. Default nil: no result is retried. It needs a
	// Retry with attempts to spare.
	RetryOnResult func(out Out) bool
}

// RetryStrategy says how often AsyncWait tries a call and how long it
// waits between attempts: Delay before the first retry, then the previous
// delay times Multiplier, at most MaxDelay. Build one with FixedDelayRetry
// or ExponentialBackoffRetry, or fill the fields. The zero value makes one
// attempt.
type RetryStrategy struct {
	// MaxAttempts is the most calls per input, the first one included.
	// Default 0, like 1: no retry.
	MaxAttempts int
	// Delay is the wait before the first retry. Default 0: retry at once.
	Delay time.Duration
	// Multiplier grows the delay after each retry. Default 0, like 1: every
	// retry waits Delay.
	Multiplier float64
	// MaxDelay caps the delay. Default 0: no cap.
	MaxDelay time.Duration
}

// FixedDelayRetry makes up to maxAttempts calls per input, delay apart.
func FixedDelayRetry(maxAttempts int, delay time.Duration) RetryStrategy {
	return RetryStrategy{MaxAttempts: maxAttempts, Delay: delay, Multiplier: 1}
}

// ExponentialBackoffRetry makes up to maxAttempts calls per input; the
// first retry waits initial, every further one multiplier times the
// previous wait, at most maxDelay.
func ExponentialBackoffRetry(maxAttempts int, initial, maxDelay time.Duration, multiplier float64) RetryStrategy {
	return RetryStrategy{MaxAttempts: maxAttempts, Delay: initial, Multiplier: multiplier, MaxDelay: maxDelay}
}

// attempts returns the effective number of attempts.
func (r RetryStrategy) attempts() int { return max(r.MaxAttempts, 1) }

// next returns the delay after d.
func (r RetryStrategy) next(d time.Duration) time.Duration {
	if r.Multiplier > 1 {
		d = time.Duration(float64(d) * r.Multiplier)
	}
	if r.MaxDelay > 0 && d > r.MaxDelay {
		d = r.MaxDelay
	}
	return d
}

func (r RetryStrategy) validate(op string) []error {
	var errs []error
	if r.MaxAttempts < 0 {
		errs = append(errs, fmt.Errorf("weir: AsyncWait %q: Retry.MaxAttempts %d is negative: use 1 for no retry, or the most attempts per input", op, r.MaxAttempts))
	}
	if r.Delay < 0 {
		errs = append(errs, fmt.Errorf("weir: AsyncWait %q: Retry.Delay %v is negative: use 0 to retry at once, or a wait such as 100ms", op, r.Delay))
	}
	if r.MaxDelay < 0 {
		errs = append(errs, fmt.Errorf("weir: AsyncWait %q: Retry.MaxDelay %v is negative: use 0 for no cap", op, r.MaxDelay))
	}
	if r.MaxDelay > 0 && r.MaxDelay < r.Delay {
		errs = append(errs, fmt.Errorf("weir: AsyncWait %q: Retry.MaxDelay %v is below Retry.Delay %v: raise MaxDelay, or set it to 0 for no cap", op, r.MaxDelay, r.Delay))
	}
	if r.Multiplier != 0 && r.Multiplier < 1 {
		errs = append(errs, fmt.Errorf("weir: AsyncWait %q: Retry.Multiplier %v is below 1: use 1 for a fixed delay, or a growth factor such as 2", op, r.Multiplier))
	}
	return errs
}

func (o AsyncOptions[In, Out]) validate(op string) error {
	var errs []error
	if o.Capacity < 0 {
		errs = append(errs, fmt.Errorf("weir: AsyncWait %q: Capacity %d is negative: use 0 for the default (%d), or the most inputs in flight per subtask", op, o.Capacity, DefaultAsyncCapacity))
	}
	if o.Timeout < 0 {
		errs = append(errs, fmt.Errorf("weir: AsyncWait %q: Timeout %v is negative: use 0 for no timeout, or the longest an input may wait for its result", op, o.Timeout))
	}
	if o.OnTimeout != nil && o.Timeout <= 0 {
		errs = append(errs, fmt.Errorf("weir: AsyncWait %q: OnTimeout is set without a Timeout, so it would never be called: set a Timeout", op))
	}
	errs = append(errs, o.Retry.validate(op)...)
	if o.Retry.attempts() == 1 {
		if o.RetryOnError != nil {
			errs = append(errs, fmt.Errorf("weir: AsyncWait %q: RetryOnError is set but Retry allows one attempt, so it would never be called: set Retry, e.g. FixedDelayRetry(3, 100*time.Millisecond)", op))
		}
		if o.RetryOnResult != nil {
			errs = append(errs, fmt.Errorf("weir: AsyncWait %q: RetryOnResult is set but Retry allows one attempt, so it would never be called: set Retry, e.g. FixedDelayRetry(3, 100*time.Millisecond)", op))
		}
	}
	return errors.Join(errs...)
}

// AsyncWait calls fn for every record of s and emits its results, with up
// to AsyncOptions.Capacity calls in flight per subtask: the way to enrich a
// stream from a remote service (an HTTP API, a Redis lookup) without one
// round trip per record. fn runs on its own goroutine, many at once; it
// must be safe for concurrent use and return soon after ctx is done. Its
// ctx ends with the job, and at the Timeout if one is set.
//
// Results keep the event time of their input. With the default ordered
// mode they leave in input order; with AsyncOptions.Unordered they leave as
// they complete, but never across a watermark. At the end of a bounded
// input AsyncWait waits for every call in flight.
//
// An error of fn, once its retries are spent, fails the job with an
// OperatorError naming the operator; so does a panic in fn (its cause is a
// PanicError), and a timeout without OnTimeout (ErrAsyncTimeout).
//
// With checkpoints, the inputs whose results have not left yet are stored
// in the checkpoint (In must be encodable by package codec: a struct with
// unexported fields fails at start) and called again on restore, so each
// result is emitted exactly once into an exactly-once sink; fn itself may
// see an input more than once. After a change of parallelism, the inputs
// held by old subtask i go to new subtask i mod the new parallelism.
//
// AsyncWait runs in subtasks of its own: it does not chain with the
// operator before it, but the operators after it chain with it.
// Env.AsyncWaitMetrics reports its counters.
func AsyncWait[In, Out any](s Stream[In], fn func(ctx context.Context, in In) (Out, error), o AsyncOptions[In, Out], opts ...OpOption) Stream[Out] {
	env := s.env
	n := newNode[Out](env, "async", opts)
	n.OwnTask = true
	stats := &asyncStats{}
	env.asyncOps = append(env.asyncOps, asyncCounters{name: n.Name, stats: stats})
	if fn == nil {
		env.errs = append(env.errs, fmt.Errorf("weir: AsyncWait %q: the function is nil: give the function that makes a result of an input", n.Name))
	}
	if err := o.validate(n.Name); err != nil {
		env.errs = append(env.errs, err)
	}
	inputs := codec.For[In]()
	if env.cfg.checkpoint.on {
		var zero In
		if _, err := inputs.Append(nil, zero); err != nil {
			env.errs = append(env.errs, fmt.Errorf("weir: AsyncWait %q: with checkpoints, its inputs in flight are stored in checkpoints, but %T cannot be: %w", n.Name, zero, err))
		}
	}
	if o.Capacity == 0 {
		o.Capacity = DefaultAsyncCapacity
	}
	connect(s, n, runtime.Forward, nil)
	n.Operator = operator[In, Out](func(t *plan.Subtask, out runtime.Collector[Out], _ plan.Outputs) (runtime.Collector[In], error) {
		if t.Notify == nil {
			return nil, errors.New("AsyncWait must start a task of its own: this is a bug in weir")
		}
		ctx, cancel := context.WithCancel(t.Ctx)
		a := &asyncOp[In, Out]{
			op: opOf(t, n.Name),
			fn: fn, o: o, out: out, stats: stats, codec: inputs,
			ctx: ctx, cancel: cancel, notify: t.Notify,
			done:       make(chan asyncResult[Out], o.Capacity),
			outputs:    t.Outputs(),
			flushEvery: env.cfg.bufferTimeout,
		}
		a.segs = []*asyncSegment{{}}
		if t.Restore != nil {
			subs := t.Restore.OperatorStates(n.UID, t.Index, t.Parallelism)
			for _, sub := range subs {
				elems, err := decodeAsyncState(inputs, sub.OperatorState)
				if err != nil {
					cancel()
					return nil, fmt.Errorf("restore the inputs in flight of old subtask %d: %w (the input type must be the one the checkpoint was taken with)", sub.Index, err)
				}
				for _, e := range elems {
					// Watermarks of several old subtasks do not interleave
					// in any meaningful order; upstream sends new ones.
					if !e.watermark || len(subs) == 1 {
						a.restored = append(a.restored, e)
					}
				}
			}
		}
		t.AddState(n.UID, a)
		t.OnClose(a.close)
		return a, nil
	})
	return Stream[Out]{env, n}
}

// AsyncWaitMetrics are the counters of one AsyncWait operator, summed over
// its subtasks, since the Env was created (restarts included).
type AsyncWaitMetrics struct {
	Operator string
	// InFlight is the inputs held now: calls running or waiting to be
	// retried, and results waiting for their turn to leave.
	InFlight int64
	// Completed counts the inputs whose function returned a result, after
	// any retries; an OnTimeout result counts as TimedOut instead.
	Completed int64
	// Retried counts the attempts after the first.
	Retried int64
	// TimedOut counts the inputs whose Timeout passed, whether OnTimeout
	// handled them or the job failed.
	TimedOut int64
	// Failed counts the inputs whose call failed the job: an error with no
	// retry left, a panic, or a timeout without OnTimeout.
	Failed int64
}

// AsyncWaitMetrics returns the counters of every AsyncWait operator of the
// job, in the order they were added. It is safe to call while Execute runs.
func (e *Env) AsyncWaitMetrics() []AsyncWaitMetrics {
	var out []AsyncWaitMetrics
	for _, a := range e.asyncOps {
		s := a.stats
		out = append(out, AsyncWaitMetrics{Operator: a.name, InFlight: s.inFlight.Load(), Completed: s.completed.Load(),
			Retried: s.retried.Load(), TimedOut: s.timedOut.Load(), Failed: s.failed.Load()})
	}
	return out
}

// asyncStats are an AsyncWait node's counters, shared by its subtasks.
type asyncStats struct {
	inFlight, completed, retried, timedOut, failed atomic.Int64
}

// asyncResult is what a call's goroutine hands back to the task.
type asyncResult[Out any] struct {
	slot int32
	out  Out
	err  error // an *OperatorError, or the job's context error
}

// asyncOp is one subtask of AsyncWait. Its methods, close included, run on
// the task's goroutine; the calls run on goroutines of their own and hand
// their results back through done, then signal notify so that a task
// waiting for input wakes up and drains them.
//
// Invariants:
//  1. live ≤ capacity: one slot per input submitted and not yet emitted; a
//     slot is reused only after its result came through done, so done
//     (buffered to capacity) never blocks a call's goroutine.
//  2. Ordered mode: queue holds every live slot and the watermarks between
//     them in input order, consecutive watermarks merged (≤ 2·capacity+1
//     items); the head leaves as soon as it is a watermark or done.
//  3. Unordered mode: segs[k] holds the inputs between the k-th and the
//     (k+1)-th watermark held back; every segment but the last is closed by
//     its watermark. Only segs[0] emits; a result that completes in a later
//     segment waits in its ready list. After every emission segs[0] is the
//     open last segment or holds a live input, so live == 0 means one open,
//     empty segment.
type asyncOp[In, Out any] struct {
	op
	fn    func(context.Context, In) (Out, error)
	o     AsyncOptions[In, Out]
	out   runtime.Collector[Out]
	rec   runtime.Record[Out] // lent to out
	stats *asyncStats
	codec codec.Codec[In]

	ctx    context.Context // the calls' context: the job's, until close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	done   chan asyncResult[Out]
	notify chan struct{}

	slots []asyncSlot[In, Out]
	free  []int32
	live  int
	seq   uint64

	queue []asyncItem     // ordered mode
	segs  []*asyncSegment // unordered mode

	restored []asyncElement[In] // submitted before the first input
	started  bool

	// While it waits for a call, the task flushes the writers after it
	// every buffer timeout, so that results do not sit in partial batches.
	outputs    []runtime.Output
	flushEvery time.Duration
	lastFlush  time.Time
	timer      *time.Timer

	_ runtime.Pad // apart from the next subtask's
}

type asyncSlot[In, Out any] struct {
	in   runtime.Record[In]
	out  Out
	done bool
	used bool
	seg  *asyncSegment // unordered mode
	seq  uint64        // input order, for checkpoints
}

// asyncItem is a slot, or a watermark when slot < 0.
type asyncItem struct {
	slot int32
	wm   asyncWatermark
}

type asyncSegment struct {
	live   int     // inputs of the segment not yet emitted
	ready  []int32 // completed while the segment was not the first
	closed bool
	wm     asyncWatermark // the watermark that closes it
}

// asyncWatermark is one or more consecutive watermarks merged: the last
// event-time watermark (none if wm is NoTimestamp), then possibly the idle
// marker.
type asyncWatermark struct {
	wm   int64
	idle bool
}

func asyncWatermarkOf(wm int64) asyncWatermark {
	if wm == runtime.Idle {
		return asyncWatermark{wm: runtime.NoTimestamp, idle: true}
	}
	return asyncWatermark{wm: wm}
}

// then merges w with the watermarks that follow it: a newer watermark
// replaces an older one and activates the input again.
func (w asyncWatermark) then(next asyncWatermark) asyncWatermark {
	if next.wm != runtime.NoTimestamp {
		return next
	}
	w.idle = w.idle || next.idle
	return w
}

func (a *asyncOp[In, Out]) emitWatermark(w asyncWatermark) error {
	if w.wm != runtime.NoTimestamp {
		if err := a.out.Watermark(w.wm); err != nil {
			return err
		}
	}
	if w.idle {
		return a.out.Watermark(runtime.Idle)
	}
	return nil
}

// begin submits the inputs restored from a checkpoint, before any new one.
func (a *asyncOp[In, Out]) begin() error {
	if a.started {
		return nil
	}
	a.started = true
	restored := a.restored
	a.restored = nil
	for _, e := range restored {
		var err error
		if e.watermark {
			err = a.pushWatermark(e.wm)
		} else {
			err = a.submit(e.rec)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Collect starts a call for r, after waiting for a free slot if the
// subtask holds Capacity inputs.
func (a *asyncOp[In, Out]) Collect(r *runtime.Record[In]) error {
	if err := a.begin(); err != nil {
		return err
	}
	return a.submit(*r)
}

// Watermark emits wm once the results of the inputs before it have left.
func (a *asyncOp[In, Out]) Watermark(wm int64) error {
	if err := a.begin(); err != nil {
		return err
	}
	return a.pushWatermark(asyncWatermarkOf(wm))
}

// End waits for every call in flight, emits the results, and ends.
func (a *asyncOp[In, Out]) End() error {
	if err := a.begin(); err != nil {
		return err
	}
	for a.live > 0 {
		if err := a.await(); err != nil {
			return err
		}
	}
	return a.out.End()
}

// Drain implements runtime.Drainer: it handles the calls that completed,
// without waiting.
func (a *asyncOp[In, Out]) Drain() error {
	if err := a.begin(); err != nil {
		return err
	}
	for {
		select {
		case r := <-a.done:
			if err := a.complete(r); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

func (a *asyncOp[In, Out]) submit(r runtime.Record[In]) error {
	for a.live >= a.o.Capacity {
		if err := a.await(); err != nil {
			return err
		}
	}
	var slot int32
	if n := len(a.free); n > 0 {
		slot = a.free[n-1]
		a.free = a.free[:n-1]
	} else {
		slot = int32(len(a.slots))
		a.slots = append(a.slots, asyncSlot[In, Out]{})
	}
	s := &a.slots[slot]
	*s = asyncSlot[In, Out]{in: r, used: true, seq: a.seq}
	a.seq++
	a.live++
	a.stats.inFlight.Add(1)
	if a.o.Unordered {
		s.seg = a.segs[len(a.segs)-1]
		s.seg.live++
	} else {
		a.queue = append(a.queue, asyncItem{slot: slot})
	}
	a.wg.Add(1)
	go a.call(slot, r.Value)
	return nil
}

func (a *asyncOp[In, Out]) pushWatermark(w asyncWatermark) error {
	if a.o.Unordered {
		if a.live == 0 {
			return a.emitWatermark(w)
		}
		last := a.segs[len(a.segs)-1]
		if last.live == 0 && len(a.segs) > 1 {
			prev := a.segs[len(a.segs)-2]
			prev.wm = prev.wm.then(w)
			return nil
		}
		last.closed, last.wm = true, w
		a.segs = append(a.segs, &asyncSegment{})
		return nil
	}
	if len(a.queue) == 0 {
		return a.emitWatermark(w)
	}
	if tail := &a.queue[len(a.queue)-1]; tail.slot < 0 {
		tail.wm = tail.wm.then(w)
		return nil
	}
	a.queue = append(a.queue, asyncItem{slot: -1, wm: w})
	return nil
}

// await waits for one call to complete and handles it. Before it blocks,
// it flushes the writers after it when the buffer timeout has passed since
// it last did.
func (a *asyncOp[In, Out]) await() error {
	select {
	case r := <-a.done:
		return a.complete(r)
	default:
	}
	if wait := a.flushEvery - time.Since(a.lastFlush); wait > 0 {
		if a.timer == nil {
			a.timer = time.NewTimer(wait)
		} else {
			a.timer.Reset(wait)
		}
		select {
		case r := <-a.done:
			a.timer.Stop()
			return a.complete(r)
		case <-a.timer.C:
		case <-a.ctx.Done():
			a.timer.Stop()
			return a.ctx.Err()
		}
	}
	for _, w := range a.outputs {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	a.lastFlush = time.Now()
	select {
	case r := <-a.done:
		return a.complete(r)
	case <-a.ctx.Done():
		return a.ctx.Err()
	}
}

// complete takes the result of a call and emits what may leave.
func (a *asyncOp[In, Out]) complete(r asyncResult[Out]) error {
	if r.err != nil {
		return r.err
	}
	s := &a.slots[r.slot]
	s.out, s.done = r.out, true
	if !a.o.Unordered {
		for len(a.queue) > 0 {
			head := a.queue[0]
			if head.slot >= 0 && !a.slots[head.slot].done {
				return nil
			}
			a.queue[0] = asyncItem{}
			a.queue = a.queue[1:]
			var err error
			if head.slot < 0 {
				err = a.emitWatermark(head.wm)
			} else {
				err = a.emit(head.slot)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	if seg := s.seg; seg != a.segs[0] {
		seg.ready = append(seg.ready, r.slot)
		return nil
	}
	if err := a.emit(r.slot); err != nil {
		return err
	}
	// Release the watermarks whose inputs have all left, and the results
	// that waited behind them.
	for len(a.segs) > 1 && a.segs[0].live == 0 {
		w := a.segs[0].wm
		a.segs[0] = nil
		a.segs = a.segs[1:]
		if err := a.emitWatermark(w); err != nil {
			return err
		}
		first := a.segs[0]
		ready := first.ready
		first.ready = nil
		for _, slot := range ready {
			if err := a.emit(slot); err != nil {
				return err
			}
		}
	}
	return nil
}

// emit sends a slot's result downstream and frees the slot.
func (a *asyncOp[In, Out]) emit(slot int32) error {
	s := &a.slots[slot]
	a.rec = runtime.Record[Out]{Value: s.out, Time: s.in.Time}
	if s.seg != nil {
		s.seg.live--
	}
	*s = asyncSlot[In, Out]{}
	a.free = append(a.free, slot)
	a.live--
	a.stats.inFlight.Add(-1)
	return a.out.Collect(&a.rec)
}

// close ends the calls in flight (the job is over or failed) and waits for
// their goroutines.
func (a *asyncOp[In, Out]) close() error {
	a.cancel()
	a.wg.Wait()
	if a.timer != nil {
		a.timer.Stop()
	}
	a.stats.inFlight.Add(-int64(a.live))
	a.live = 0
	return nil
}

// call resolves one input on its own goroutine and hands the result back.
func (a *asyncOp[In, Out]) call(slot int32, in In) {
	defer a.wg.Done()
	out, err := a.resolve(in)
	a.done <- asyncResult[Out]{slot: slot, out: out, err: err} // never blocks (invariant 1)
	select {
	case a.notify <- struct{}{}:
	default:
	}
}

// resolve makes an input's result: attempts, retries, timeout.
func (a *asyncOp[In, Out]) resolve(in In) (Out, error) {
	var zero Out
	ctx, cancel := a.ctx, context.CancelFunc(func() {})
	if a.o.Timeout > 0 {
		ctx, cancel = context.WithTimeout(a.ctx, a.o.Timeout)
	}
	defer cancel()
	maxAttempts := a.o.Retry.attempts()
	delay := a.o.Retry.Delay
	for attempt := 1; ; attempt++ {
		out, err := a.attempt(ctx, in)
		if a.ctx.Err() != nil {
			return zero, a.ctx.Err() // the job is over: nobody takes the result
		}
		var pe *runtime.PanicError
		if errors.As(err, &pe) {
			return zero, a.failed(err)
		}
		retry := false
		if err == nil && a.o.RetryOnResult != nil && attempt < maxAttempts {
			if retry, err = asyncGuard(func() bool { return a.o.RetryOnResult(out) }); err != nil {
				return zero, a.failed(fmt.Errorf("AsyncWait: RetryOnResult: %w", err))
			}
		}
		if err == nil && !retry {
			a.stats.completed.Add(1)
			return out, nil
		}
		if ctx.Err() != nil {
			return a.timedOut(in, attempt, err)
		}
		if err != nil {
			if attempt < maxAttempts {
				retry = true
				if a.o.RetryOnError != nil {
					var perr error
					if retry, perr = asyncGuard(func() bool { return a.o.RetryOnError(err) }); perr != nil {
						return zero, a.failed(fmt.Errorf("AsyncWait: RetryOnError: %w", perr))
					}
				}
			}
			if !retry && maxAttempts == 1 {
				return zero, a.failed(fmt.Errorf("AsyncWait: the call failed: %w; handle the error in the function, or retry it with AsyncOptions.Retry", err))
			}
			if !retry {
				return zero, a.failed(fmt.Errorf("AsyncWait: the call failed (attempt %d of at most %d): %w; handle the error in the function, or retry it with AsyncOptions.Retry and RetryOnError", attempt, maxAttempts, err))
			}
		}
		a.stats.retried.Add(1)
		if delay > 0 {
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				if a.ctx.Err() != nil {
					return zero, a.ctx.Err()
				}
				return a.timedOut(in, attempt, err)
			}
		}
		delay = a.o.Retry.next(delay)
	}
}

// attempt calls fn once; a panic becomes a *runtime.PanicError.
func (a *asyncOp[In, Out]) attempt(ctx context.Context, in In) (out Out, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = asyncPanic(v)
		}
	}()
	return a.fn(ctx, in)
}

// timedOut makes the result of an input whose Timeout passed.
func (a *asyncOp[In, Out]) timedOut(in In, attempts int, last error) (out Out, err error) {
	a.stats.timedOut.Add(1)
	if a.o.OnTimeout == nil {
		cause := ""
		if last != nil && !errors.Is(last, context.DeadlineExceeded) {
			cause = fmt.Sprintf(" (last error: %v)", last)
		}
		return out, a.failed(fmt.Errorf("%w: no result within Timeout %v after %d attempt(s)%s; raise AsyncOptions.Timeout, or set AsyncOptions.OnTimeout to emit a fallback result", ErrAsyncTimeout, a.o.Timeout, attempts, cause))
	}
	func() {
		defer func() {
			if v := recover(); v != nil {
				err = asyncPanic(v)
			}
		}()
		out, err = a.o.OnTimeout(a.ctx, in)
	}()
	if err != nil {
		if a.ctx.Err() != nil {
			return out, a.ctx.Err()
		}
		return out, a.failed(fmt.Errorf("AsyncWait: OnTimeout: %w", err))
	}
	return out, nil
}

// failed counts a failed input and names the operator in err, whatever
// the cause (runtime.Wrap would leave a context error unnamed).
func (a *asyncOp[In, Out]) failed(err error) error {
	a.stats.failed.Add(1)
	return &runtime.OperatorError{Operator: a.name, Subtask: a.subtask, Parallelism: a.par, Err: err}
}

// asyncGuard calls a user predicate; a panic becomes a *runtime.PanicError.
func asyncGuard(f func() bool) (ok bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = asyncPanic(v)
		}
	}()
	return f(), nil
}

func asyncPanic(v any) error { return &runtime.PanicError{Value: v, Stack: debug.Stack()} }

// NotifyCheckpoint implements job.Stateful: AsyncWait has nothing to publish.
func (a *asyncOp[In, Out]) NotifyCheckpoint(context.Context, runtime.Command) error { return nil }

// SnapshotState stores the inputs not yet emitted, and the watermarks
// between them, in input order.
func (a *asyncOp[In, Out]) SnapshotState(_ context.Context, id int64, s *job.OperatorSnapshot) error {
	elems := slices.Clone(a.restored) // not submitted yet: the task has not run
	if !a.o.Unordered {
		for _, it := range a.queue {
			if it.slot < 0 {
				elems = append(elems, asyncElement[In]{watermark: true, wm: it.wm})
			} else {
				elems = append(elems, asyncElement[In]{rec: a.slots[it.slot].in})
			}
		}
	} else {
		elems = append(elems, a.unorderedElements()...)
	}
	b, err := encodeAsyncState(a.codec, elems)
	if err != nil {
		return a.wrap(fmt.Errorf("AsyncWait: checkpoint %d: store the inputs in flight: %w", id, err))
	}
	s.State = b
	return nil
}
