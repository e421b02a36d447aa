package async

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"sync"
	"time"
)

// writer is the writer of one subtask.
//
// Goroutines: the subtask's (Write, Flush, Close), one dispatcher (run),
// started by the first Write, which cuts batches and starts requests, and
// one per request in flight (send), which, when its request completes,
// sends the next ready batch itself, if any, before it ends. Everything
// below mu is guarded by it;
// no lock is held while Submit runs. Waiters (Write at the buffer bound,
// Flush) wait on mu.changed, which is closed and replaced whenever records
// leave the writer or it fails or closes; the dispatcher waits on wake, a
// one-slot channel any goroutine may fill without blocking, and on a timer
// for the next partial batch or retry.
type writer[T, E any] struct {
	s       *Sink[T, E]
	o       *Options[E]
	sub     Submitter[E]
	subtask int
	log     *slog.Logger
	ctx     context.Context // the requests' context; ends with Close or a fatal error
	cancel  context.CancelFunc
	wake    chan struct{}
	wg      sync.WaitGroup // the dispatcher and the requests in flight
	start   time.Time      // origin of entry.added

	mu struct {
		sync.Mutex
		buf      deque[entry[E]] // entries waiting for a request, oldest first
		bytes    int             // sum of the sizes in buf
		retries  []retryGroup[E] // failed entries waiting for their backoff
		inFlight int             // requests in flight
		held     int             // records in buf, retries and requests in flight (invariant 1)
		limit    aimd
		flushing int // Flush calls waiting: partial batches leave at once
		changed  chan struct{}
		err      error // the fatal error, reported by every later call
		started  bool  // the dispatcher runs
		closed   bool
		lastWarn time.Time
		quiet    int // retried failures not logged since lastWarn
	}
}

// entry is a request entry with what the writer tracks about it.
type entry[E any] struct {
	e        E
	size     int
	added    time.Duration // when written, since writer.start
	attempts int           // times sent
}

// retryGroup is the failed entries of one request, due again at at.
type retryGroup[E any] struct {
	at      time.Duration // since writer.start
	entries []entry[E]
}

// request is one batch in flight.
type request[E any] struct {
	entries []entry[E]
	batch   []E
	epoch   uint64 // of the in-flight limit when sent
}

func (w *writer[T, E]) now() time.Duration { return time.Since(w.start) }

// Write converts v and buffers it. It blocks while the writer holds
// MaxBufferedRecords records, until a request completes or ctx ends. It
// returns the writer's fatal error, if it has one. In synchronous mode it
// sends v and returns when v is written.
func (w *writer[T, E]) Write(ctx context.Context, v T) error {
	e, size, err := w.prepare(v)
	if err != nil {
		return err
	}
	if w.o.Synchronous {
		return w.writeSync(ctx, e, size)
	}
	w.mu.Lock()
	for w.mu.err == nil && !w.mu.closed && w.mu.held >= w.o.MaxBufferedRecords {
		ch := w.mu.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("async: sink %q: wait for room in the buffer: %w", w.o.Name, ctx.Err())
		}
		w.mu.Lock()
	}
	if err := w.stateLocked(); err != nil {
		w.mu.Unlock()
		return err
	}
	w.mu.buf.pushBack(entry[E]{e: e, size: size, added: w.now()})
	w.mu.bytes += size
	w.mu.held++
	w.s.m.addBuffered(1)
	kick := w.mu.buf.len() == 1 || (w.fullLocked() && w.mu.inFlight < w.mu.limit.allowed())
	if !w.mu.started {
		w.mu.started = true
		w.wg.Add(1)
		go w.run()
	}
	w.mu.Unlock()
	if kick {
		w.kick()
	}
	return nil
}

// prepare converts v and checks its size. A record that is too large is a
// fatal error.
func (w *writer[T, E]) prepare(v T) (E, int, error) {
	e, err := w.s.convert(v)
	if err != nil {
		return e, 0, fmt.Errorf("async: sink %q: convert a record: %w", w.o.Name, err)
	}
	if w.o.Size == nil {
		return e, 0, nil
	}
	size := w.o.Size(e)
	if size > w.o.MaxRecordBytes || size < 0 {
		err := fmt.Errorf("async: sink %q: a record of %d bytes exceeds MaxRecordBytes (%d): raise MaxRecordBytes (and MaxBatchBytes) if the destination takes such records, or make them smaller",
			w.o.Name, size, w.o.MaxRecordBytes)
		w.mu.Lock()
		w.failLocked(err)
		w.mu.Unlock()
		return e, 0, err
	}
	return e, size, nil
}

// Flush sends every buffered entry at once, without waiting for batches
// to fill, and returns when the destination acknowledged every record
// written before the call (retries included), when the writer failed (its
// fatal error), or when ctx ends.
func (w *writer[T, E]) Flush(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mu.flushing++
	defer func() { w.mu.flushing-- }()
	w.kick()
	for w.mu.held > 0 {
		if err := w.stateLocked(); err != nil {
			return err
		}
		ch := w.mu.changed
		w.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			w.mu.Lock()
			return fmt.Errorf("async: sink %q: flush: %d records not yet acknowledged: %w", w.o.Name, w.mu.held, ctx.Err())
		}
		w.mu.Lock()
	}
	return w.stateLocked()
}

// Close stops the writer's goroutines, cancelling the requests in flight,
// and drops what it holds: it does not flush. It closes the Submitter if it
// is an io.Closer.
func (w *writer[T, E]) Close() error {
	w.mu.Lock()
	if w.mu.closed {
		w.mu.Unlock()
		return nil
	}
	w.mu.closed = true
	w.broadcastLocked()
	w.mu.Unlock()
	w.cancel()
	w.wg.Wait()

	w.mu.Lock()
	w.s.m.buffered.Add(-int64(w.mu.held))
	w.s.m.limit.Add(-int64(w.mu.limit.allowed()))
	w.mu.held, w.mu.bytes, w.mu.retries = 0, 0, nil
	w.mu.buf.clear()
	w.mu.Unlock()
	if c, ok := w.sub.(io.Closer); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("async: sink %q: subtask %d: close the submitter: %w", w.o.Name, w.subtask, err)
		}
	}
	return nil
}

// stateLocked returns the fatal error, or ErrClosed after Close.
func (w *writer[T, E]) stateLocked() error {
	if w.mu.err != nil {
		return w.mu.err
	}
	if w.mu.closed {
		return fmt.Errorf("async: sink %q: %w", w.o.Name, ErrClosed)
	}
	return nil
}

// failLocked makes err the writer's fatal error and stops its requests.
func (w *writer[T, E]) failLocked(err error) {
	if w.mu.err == nil {
		w.mu.err = err
	}
	w.cancel()
	w.broadcastLocked()
}

// broadcastLocked wakes every Write and Flush that waits.
func (w *writer[T, E]) broadcastLocked() {
	close(w.mu.changed)
	w.mu.changed = make(chan struct{})
}

// kick wakes the dispatcher.
func (w *writer[T, E]) kick() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// fullLocked reports whether buf holds a full batch.
func (w *writer[T, E]) fullLocked() bool {
	return w.mu.buf.len() >= w.o.MaxBatchSize || w.mu.bytes >= w.o.MaxBatchBytes
}

// run is the dispatcher: it starts requests while the in-flight limit
// allows and a batch is ready, and sleeps until a Write, a completion, a
// Flush or the timer of the next partial batch or retry wakes it.
func (w *writer[T, E]) run() {
	defer w.wg.Done()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		w.mu.Lock()
		wait := w.dispatchLocked()
		w.mu.Unlock()
		if wait >= 0 {
			timer.Reset(wait)
		}
		select {
		case <-w.wake:
		case <-timer.C:
		case <-w.ctx.Done():
			return
		}
		timer.Stop()
	}
}

// dispatchLocked starts requests while takeLocked gives batches. It
// returns how long until a partial batch or a retry is due, or -1 when
// nothing is due by time.
func (w *writer[T, E]) dispatchLocked() time.Duration {
	for {
		r, next := w.takeLocked()
		if r == nil {
			return next
		}
		w.wg.Add(1)
		go w.send(r)
	}
}

// takeLocked moves due retries to the front of the buffer and, if the
// in-flight limit allows and a batch is ready (full, overdue, holding a
// retried entry, or asked for by Flush), cuts it and counts it in flight.
// Otherwise it returns nil and how long until a partial batch or a retry
// is due (-1 when nothing is due by time; a completion or a Write wakes
// the dispatcher then).
func (w *writer[T, E]) takeLocked() (*request[E], time.Duration) {
	if w.mu.err != nil || w.mu.closed {
		return nil, -1
	}
	now := w.now()
	next := time.Duration(-1)
	sooner := func(d time.Duration) {
		if next < 0 || d < next {
			next = d
		}
	}
	if len(w.mu.retries) > 0 {
		kept := w.mu.retries[:0]
		for _, g := range w.mu.retries {
			if g.at > now {
				kept = append(kept, g)
				sooner(g.at - now)
				continue
			}
			for i := len(g.entries) - 1; i >= 0; i-- {
				w.mu.buf.pushFront(g.entries[i])
				w.mu.bytes += g.entries[i].size
			}
		}
		clear(w.mu.retries[len(kept):])
		w.mu.retries = kept
	}
	if w.mu.buf.len() == 0 || w.mu.inFlight >= w.mu.limit.allowed() {
		return nil, next
	}
	// A retried entry at the front is overdue: it goes at once.
	if front := w.mu.buf.at(0); front.attempts == 0 && w.mu.flushing == 0 && !w.fullLocked() {
		if age := now - front.added; age < w.o.MaxTimeInBuffer {
			sooner(w.o.MaxTimeInBuffer - age)
			return nil, next
		}
	}
	n, bytes := 0, 0
	for n < w.mu.buf.len() && n < w.o.MaxBatchSize {
		size := w.mu.buf.at(n).size
		if n > 0 && bytes+size > w.o.MaxBatchBytes {
			break
		}
		bytes += size
		n++
	}
	r := &request[E]{entries: make([]entry[E], n), batch: make([]E, n), epoch: w.mu.limit.epoch}
	for i := range n {
		en := w.mu.buf.popFront()
		en.attempts++
		r.entries[i], r.batch[i] = en, en.e
	}
	w.mu.bytes -= bytes
	w.mu.inFlight++
	w.s.m.inFlight.Add(1)
	return r, next
}

// send runs request r, books its outcome, and goes on with the next ready
// batch, if any: a busy writer keeps its request goroutines instead of
// handing each completion to the dispatcher.
func (w *writer[T, E]) send(r *request[E]) {
	defer w.wg.Done()
	for r != nil {
		start := time.Now()
		retry, err := w.submit(w.ctx, r.batch)
		r = w.complete(r, retry, err, time.Since(start))
	}
}

// submit calls Submit and turns a panic into a fatal error.
func (w *writer[T, E]) submit(ctx context.Context, batch []E) (retry []int, err error) {
	defer func() {
		if p := recover(); p != nil {
			retry, err = nil, fmt.Errorf("the submitter panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return w.sub.Submit(ctx, batch)
}

// complete books the outcome of request r: acknowledged entries leave the
// writer, retryable failures wait for their backoff, anything else fails
// the writer. It returns the next batch for the caller to send, or nil.
func (w *writer[T, E]) complete(r *request[E], retry []int, err error, lat time.Duration) *request[E] {
	w.s.m.inFlight.Add(-1)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.mu.inFlight--
	if w.mu.err != nil || w.mu.closed {
		// The writer stopped this request; its outcome does not count.
		w.broadcastLocked()
		return nil
	}
	w.s.m.answered(len(r.batch), lat)
	failed, delay, fatal := w.outcome(len(r.batch), retry, err)
	if fatal != nil {
		w.failLocked(fatal)
		return nil
	}
	if len(failed) == 0 {
		w.limitLocked(func(a *aimd) { a.succeeded() })
	} else {
		w.s.m.failed.Add(1)
		w.limitLocked(func(a *aimd) { a.throttled(r.epoch) })
		g := retryGroup[E]{entries: make([]entry[E], len(failed))}
		attempts := 0
		for j, i := range failed {
			g.entries[j] = r.entries[i]
			attempts = max(attempts, r.entries[i].attempts)
		}
		if err := w.exhausted(attempts, err); err != nil {
			w.failLocked(err)
			return nil
		}
		wait := max(backoff(w.o.InitialBackoff, w.o.MaxBackoff, attempts), delay)
		g.at = w.now() + wait
		w.mu.retries = append(w.mu.retries, g)
		w.s.m.retries.Add(int64(len(failed)))
		w.warnLocked(len(failed), len(r.batch), err, wait)
	}
	acked := len(r.batch) - len(failed)
	w.mu.held -= acked
	w.s.m.buffered.Add(-int64(acked))
	w.s.m.written.Add(int64(acked))
	w.broadcastLocked()
	// Take the next batch here; the dispatcher, woken too, starts more
	// requests if the limit grew and re-arms its timer.
	next, _ := w.takeLocked()
	w.kick()
	return next
}

// outcome sorts the result of a request of n entries: the indexes to
// retry and the least delay before, or a fatal error.
func (w *writer[T, E]) outcome(n int, retry []int, err error) (failed []int, delay time.Duration, fatal error) {
	if err != nil {
		if !IsRetryable(err) {
			return nil, 0, fmt.Errorf("async: sink %q: a batch of %d records failed with an error that is not retryable: %w", w.o.Name, n, err)
		}
		failed = make([]int, n)
		for i := range failed {
			failed[i] = i
		}
		return failed, RetryDelay(err), nil
	}
	if len(retry) == 0 {
		return nil, 0, nil
	}
	seen := make([]bool, n)
	for _, i := range retry {
		if i < 0 || i >= n {
			return nil, 0, fmt.Errorf("async: sink %q: the submitter reported entry %d as failed in a batch of %d: fix the connector's Submit", w.o.Name, i, n)
		}
		if !seen[i] {
			seen[i] = true
			failed = append(failed, i)
		}
	}
	return failed, 0, nil
}

// exhausted returns the fatal error for a record that failed attempts
// times, if MaxAttempts allows no more.
func (w *writer[T, E]) exhausted(attempts int, cause error) error {
	if w.o.MaxAttempts == 0 || attempts < w.o.MaxAttempts {
		return nil
	}
	msg := fmt.Sprintf("async: sink %q: a record failed %d times (MaxAttempts is %d): check that the destination is healthy, or raise MaxAttempts (0 retries without limit)",
		w.o.Name, attempts, w.o.MaxAttempts)
	if cause == nil {
		return fmt.Errorf("%s; the destination reported the entry as failed", msg)
	}
	return fmt.Errorf("%s; last error: %w", msg, cause)
}

// limitLocked applies f to the in-flight limit and moves its gauge.
func (w *writer[T, E]) limitLocked(f func(*aimd)) {
	before := w.mu.limit.allowed()
	f(&w.mu.limit)
	if d := w.mu.limit.allowed() - before; d != 0 {
		w.s.m.limit.Add(int64(d))
	}
}

// warnLocked logs a retried failure, at most once a second.
func (w *writer[T, E]) warnLocked(failed, n int, err error, wait time.Duration) {
	now := time.Now()
	if !w.mu.lastWarn.IsZero() && now.Sub(w.mu.lastWarn) < time.Second {
		w.mu.quiet++
		return
	}
	reason := "the destination reported entries as failed"
	if err != nil {
		reason = err.Error()
	}
	w.log.Warn("async sink: retrying failed records",
		"failed", failed, "batch", n, "backoff", wait, "in_flight_limit", w.mu.limit.allowed(),
		"reason", reason, "failures_not_logged", w.mu.quiet)
	w.mu.lastWarn, w.mu.quiet = now, 0
}

// writeSync sends one entry alone and waits until it is written: the
// synchronous mode.
func (w *writer[T, E]) writeSync(ctx context.Context, e E, size int) error {
	w.mu.Lock()
	err := w.stateLocked()
	w.mu.Unlock()
	if err != nil {
		return err
	}
	w.s.m.addBuffered(1)
	defer w.s.m.buffered.Add(-1)
	batch := []E{e}
	for attempts := 1; ; attempts++ {
		w.s.m.inFlight.Add(1)
		start := time.Now()
		retry, err := w.submit(ctx, batch)
		lat := time.Since(start)
		w.s.m.inFlight.Add(-1)
		if ctx.Err() != nil {
			return fmt.Errorf("async: sink %q: %w", w.o.Name, ctx.Err())
		}
		w.s.m.answered(1, lat)
		failed, delay, fatal := w.outcome(1, retry, err)
		if fatal == nil && len(failed) > 0 {
			w.s.m.failed.Add(1)
			fatal = w.exhausted(attempts, err)
		}
		if fatal != nil {
			w.mu.Lock()
			w.failLocked(fatal)
			w.mu.Unlock()
			return fatal
		}
		if len(failed) == 0 {
			w.s.m.written.Add(1)
			return nil
		}
		w.s.m.retries.Add(1)
		wait := max(backoff(w.o.InitialBackoff, w.o.MaxBackoff, attempts), delay)
		w.mu.Lock()
		w.warnLocked(1, 1, err, wait)
		w.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("async: sink %q: %w", w.o.Name, ctx.Err())
		}
	}
}

// backoff returns the wait before the next send of an entry that failed
// attempts times: initial doubled for each failure after the first, capped
// at maxWait, then drawn at random between half of that and all of it.
func backoff(initial, maxWait time.Duration, attempts int) time.Duration {
	d := initial
	for i := 1; i < attempts && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	half := d / 2
	return half + rand.N(d-half+1)
}
