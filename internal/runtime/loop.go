package runtime

import (
	"context"
	"time"
)

// Output is what a task needs of the writers at the end of its chain: flush
// partial batches, send checkpoint barriers, in-band or ahead of the data
// (unaligned), and latency markers.
type Output interface {
	Flusher
	Barrier(id int64) error
	UnalignedBarrier(id int64) error
	// LatencyMarker sends m to one receiver (latency.go).
	LatencyMarker(m LatencyMarker) error
}

// Flusher is implemented by the writers at the end of a chain: the task
// flushes them before it waits for input, so that nothing sits in a partial
// batch while the subtask is idle (invariant 1).
type Flusher interface {
	Flush() error
}

// taskLoop is what every task's loop does besides reading its input: it
// calls the tickers when the clock's wake-up is due, serves the
// coordinator's commands, flushes the outputs, waits and accounts the wait
// as idle (invariant 3), and takes checkpoints: snapshot, then the barrier
// on every output (invariant 6). It belongs to the task's goroutine
// (invariant 8).
type taskLoop struct {
	clock   *Clock
	tickers []Ticker
	outputs []Output
	metrics *Metrics
	// cp is nil when checkpoints are off.
	cp *Checkpointing
	// triggers says that a Trigger command starts a checkpoint here (source
	// tasks); elsewhere every command goes to Notify.
	triggers bool
	timer    *time.Timer // for waits; made by start
}

// start marks the task started; stop, deferred, marks it finished.
func (l *taskLoop) start() {
	l.metrics.started.Store(time.Now().UnixNano())
	l.timer = time.NewTimer(time.Hour)
	l.timer.Stop()
}

func (l *taskLoop) stop() {
	l.timer.Stop()
	l.metrics.finished.Store(time.Now().UnixNano())
}

// tick calls the tickers if the clock's wake-up is due.
func (l *taskLoop) tick() error { return l.clock.fire(l.tickers) }

// commands serves the coordinator's commands that have arrived, without
// waiting for more.
func (l *taskLoop) commands(ctx context.Context) error {
	if l.cp == nil {
		return nil
	}
	for {
		select {
		case c := <-l.cp.Commands:
			if err := l.command(ctx, c); err != nil {
				return err
			}
		default:
			return nil
		}
	}
}

// command serves one command: a trigger (at a source task) takes a
// checkpoint; completions and aborts go to the chain's operators.
func (l *taskLoop) command(ctx context.Context, c Command) error {
	if c.Kind == Trigger && l.triggers {
		return l.checkpoint(ctx, c.ID, 0)
	}
	return l.cp.Notify(ctx, c)
}

// flush sends the outputs' partial batches on.
func (l *taskLoop) flush() error {
	for _, o := range l.outputs {
		if err := o.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// checkpoint snapshots the chain at checkpoint id and sends the barrier on
// every output: in-band, or ahead of the data for an unaligned checkpoint.
// alignment is how long the task held back inputs for it.
func (l *taskLoop) checkpoint(ctx context.Context, id int64, alignment time.Duration) error {
	if l.cp == nil {
		return nil // checkpoints are off: nobody sends barriers
	}
	if err := l.cp.Snapshot(ctx, id, alignment); err != nil {
		return err
	}
	return l.barrier(id, l.cp.unaligned(id))
}

// barrier sends the barrier of checkpoint id on every output.
func (l *taskLoop) barrier(id int64, unaligned bool) error {
	for _, o := range l.outputs {
		send := o.Barrier
		if unaligned {
			send = o.UnalignedBarrier
		}
		if err := send(id); err != nil {
			return err
		}
	}
	return nil
}

// wakeup says what ends a wait besides ctx and the clock's next wake-up.
type wakeup struct {
	// input is signalled when input arrives (a gate's notify channel); nil
	// when the task has nothing to be woken by.
	input <-chan struct{}
	// limit is the longest wait; 0 means no limit.
	limit time.Duration
	// commands says that a command ends the wait; it is served before wait
	// returns. Otherwise commands wait for the next turn.
	commands bool
}

// wait blocks until the first of w's events, the clock's next wake-up or
// the end of ctx, and accounts the time from since as idle (invariant 3).
// It returns at once when the wake-up is already due.
func (l *taskLoop) wait(ctx context.Context, since time.Time, w wakeup) error {
	l.metrics.beginIdle(since)
	defer l.metrics.endIdle(since)
	d, timed := w.limit, w.limit > 0
	if next := l.clock.next; next != NoWakeup {
		if until := time.Duration(next-time.Now().UnixMilli()) * time.Millisecond; !timed || until < d {
			d, timed = until, true
		}
	}
	var due <-chan time.Time
	if timed {
		if d <= 0 {
			return nil
		}
		l.timer.Reset(d)
		defer l.timer.Stop()
		due = l.timer.C
	}
	var commands <-chan Command
	if w.commands && l.cp != nil {
		commands = l.cp.Commands
	}
	select {
	case <-w.input:
	case <-due:
	case c := <-commands:
		return l.command(ctx, c)
	case <-ctx.Done():
		return ctx.Err()
	}
	return nil
}
