// Package checkpoint runs Chandy–Lamport checkpoints, as Flink does: the
// coordinator asks every source to snapshot and emit a barrier; the
// barriers flow with the data; each task snapshots when the barrier has
// arrived on all its inputs and acknowledges; when every task has, the
// checkpoint's metadata is written and every task is told it completed.
//
// Coordinator is the protocol as a pure state machine — no goroutines, no
// clock, no I/O: events in (Tick, Ack, Decline, Finished), actions out. The
// driver (internal/job) owns the goroutine, the clock and the storage.
//
// Invariants:
//
//  1. At most one checkpoint is pending; a new one starts no sooner than
//     MinPause after the previous one ended, and Interval after the
//     previous one started.
//  2. A checkpoint completes only when every task that was running when it
//     was triggered has acknowledged it, or finished (a finished task holds
//     no state that a restore needs).
//  3. Checkpoint ids increase; a restored job continues after the id it
//     restored from.
package checkpoint

import (
	"fmt"
	"time"
)

// Config sets how often and how long checkpoints run.
type Config struct {
	// Interval between the starts of two checkpoints.
	Interval time.Duration
	// Timeout after which a pending checkpoint is aborted. Default 10m.
	Timeout time.Duration
	// MinPause between the end of one checkpoint and the start of the next.
	// Default 0.
	MinPause time.Duration
}

// Validate reports the problems of c, naming the options.
func (c Config) Validate() error {
	switch {
	case c.Interval < 10*time.Millisecond:
		return fmt.Errorf("checkpoint interval %v is below 10ms: use an interval such as 1s", c.Interval)
	case c.Timeout < 0:
		return fmt.Errorf("checkpoint timeout %v must not be negative", c.Timeout)
	case c.MinPause < 0:
		return fmt.Errorf("checkpoint minimum pause %v must not be negative", c.MinPause)
	}
	return nil
}

// TaskID names one task: a chain of operators and a subtask of it.
type TaskID struct {
	Chain, Subtask int
}

// ActionKind says what the driver must do.
type ActionKind uint8

const (
	// TriggerSources: send the trigger of checkpoint ID to Tasks.
	TriggerSources ActionKind = iota
	// Persist: every task acknowledged ID; write its metadata (States),
	// then report back with Persisted.
	Persist
	// NotifyComplete: checkpoint ID is durable; tell Tasks.
	NotifyComplete
	// NotifyAbort: checkpoint ID failed (Reason); tell Tasks and discard
	// what it wrote.
	NotifyAbort
)

// Action is one thing the driver must do.
type Action[S any] struct {
	Kind   ActionKind
	ID     int64
	Tasks  []TaskID
	States map[TaskID]S // for Persist: each task's acknowledged state
	Reason string       // for NotifyAbort
}

// Coordinator is the checkpoint protocol for one job run. S is what a task
// acknowledges with (its state handles).
type Coordinator[S any] struct {
	cfg      Config
	tasks    []TaskID // every task, in order
	sources  map[TaskID]bool
	finished map[TaskID]bool

	lastID       int64
	pending      *pending[S]
	lastStart    time.Time
	lastEnd      time.Time
	stats        *Stats
	persistingID int64
}

type pending[S any] struct {
	id       int64
	started  time.Time
	waiting  map[TaskID]bool
	acked    map[TaskID]S
	ackTimes map[TaskID]time.Duration
}

// NewCoordinator coordinates tasks, of which sources are triggered; the
// first checkpoint gets id lastID+1 (lastID is the restored checkpoint's id,
// or 0).
func NewCoordinator[S any](cfg Config, tasks, sources []TaskID, lastID int64, stats *Stats) *Coordinator[S] {
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Minute
	}
	c := &Coordinator[S]{cfg: cfg, tasks: tasks, sources: map[TaskID]bool{}, finished: map[TaskID]bool{}, lastID: lastID, stats: stats}
	for _, s := range sources {
		c.sources[s] = true
	}
	return c
}

// Tick is called periodically. It starts a checkpoint when one is due and
// times out the pending one.
func (c *Coordinator[S]) Tick(now time.Time) []Action[S] {
	if p := c.pending; p != nil {
		if now.Sub(p.started) >= c.cfg.Timeout {
			return c.abort(now, fmt.Sprintf("timed out after %v with %d of %d tasks acknowledged", c.cfg.Timeout, len(p.acked), len(p.acked)+len(p.waiting)))
		}
		return nil
	}
	if c.persistingID != 0 {
		return nil
	}
	if !c.lastStart.IsZero() && (now.Sub(c.lastStart) < c.cfg.Interval || now.Sub(c.lastEnd) < c.cfg.MinPause) {
		return nil
	}
	if c.lastStart.IsZero() && c.cfg.Interval > 0 {
		// The first checkpoint comes one interval after the start.
		c.lastStart, c.lastEnd = now, now
		return nil
	}
	return c.trigger(now)
}

// TriggerNow starts a checkpoint at once (a savepoint), unless one is
// pending; it returns the id, or 0.
func (c *Coordinator[S]) TriggerNow(now time.Time) (int64, []Action[S]) {
	if c.pending != nil || c.persistingID != 0 {
		return 0, nil
	}
	acts := c.trigger(now)
	if len(acts) == 0 {
		return 0, nil
	}
	return c.pending.id, acts
}

func (c *Coordinator[S]) trigger(now time.Time) []Action[S] {
	var sources []TaskID
	waiting := map[TaskID]bool{}
	for _, t := range c.tasks {
		if c.finished[t] {
			continue
		}
		waiting[t] = true
		if c.sources[t] {
			sources = append(sources, t)
		}
	}
	if len(sources) == 0 {
		return nil // every source finished: nothing can carry a barrier
	}
	c.lastID++
	c.pending = &pending[S]{id: c.lastID, started: now, waiting: waiting, acked: map[TaskID]S{}, ackTimes: map[TaskID]time.Duration{}}
	c.lastStart = now
	c.stats.begin(c.lastID, now)
	return []Action[S]{{Kind: TriggerSources, ID: c.lastID, Tasks: sources}}
}

// Ack records task's acknowledgement of checkpoint id with its state.
func (c *Coordinator[S]) Ack(now time.Time, id int64, task TaskID, state S) []Action[S] {
	p := c.pending
	if p == nil || p.id != id || !p.waiting[task] {
		return nil // late, or for an aborted checkpoint
	}
	delete(p.waiting, task)
	p.acked[task] = state
	p.ackTimes[task] = now.Sub(p.started)
	return c.maybeComplete(now)
}

// Decline records that task could not take checkpoint id.
func (c *Coordinator[S]) Decline(now time.Time, id int64, task TaskID, reason string) []Action[S] {
	if c.pending == nil || c.pending.id != id {
		return nil
	}
	return c.abort(now, fmt.Sprintf("task %v declined: %s", task, reason))
}

// Finished records that task ended; it is not waited for any more, and
// the pending checkpoint holds its final state instead of an
// acknowledgement. barrier is the last checkpoint whose barrier the task
// took (0 for none). A task that took the pending checkpoint's barrier
// acknowledged it before it ended, so an end that finds the checkpoint
// still waiting for it means the acknowledgement was lost (a call between
// processes that failed): its final state is not its state at the barrier
// — a source reader's "no splits" for a position before its last records
// — so the checkpoint aborts.
func (c *Coordinator[S]) Finished(now time.Time, task TaskID, barrier int64) []Action[S] {
	c.finished[task] = true
	if c.pending == nil || !c.pending.waiting[task] {
		return nil
	}
	if barrier >= c.pending.id {
		return c.abort(now, fmt.Sprintf("task %v ended without its acknowledgement of the checkpoint's barrier, which it took", task))
	}
	delete(c.pending.waiting, task)
	return c.maybeComplete(now)
}

func (c *Coordinator[S]) maybeComplete(now time.Time) []Action[S] {
	p := c.pending
	if len(p.waiting) > 0 {
		return nil
	}
	c.pending = nil
	c.persistingID = p.id
	c.stats.acknowledged(p.id, p.started, now, p.ackTimes)
	return []Action[S]{{Kind: Persist, ID: p.id, States: p.acked}}
}

// Persisted reports the outcome of writing checkpoint id's metadata.
func (c *Coordinator[S]) Persisted(now time.Time, id int64, size int64, err error) []Action[S] {
	if c.persistingID != id {
		return nil
	}
	c.persistingID = 0
	c.lastEnd = now
	if err != nil {
		c.stats.failed(id, now, err.Error())
		return []Action[S]{{Kind: NotifyAbort, ID: id, Tasks: c.running(), Reason: err.Error()}}
	}
	c.stats.completed(id, now, size)
	return []Action[S]{{Kind: NotifyComplete, ID: id, Tasks: c.running()}}
}

func (c *Coordinator[S]) abort(now time.Time, reason string) []Action[S] {
	p := c.pending
	c.pending = nil
	c.lastEnd = now
	c.stats.begin(p.id, p.started)
	c.stats.failed(p.id, now, reason)
	return []Action[S]{{Kind: NotifyAbort, ID: p.id, Tasks: c.running(), Reason: reason}}
}

func (c *Coordinator[S]) running() []TaskID {
	var out []TaskID
	for _, t := range c.tasks {
		if !c.finished[t] {
			out = append(out, t)
		}
	}
	return out
}

// Pending returns the id of the pending checkpoint, or 0.
func (c *Coordinator[S]) Pending() int64 {
	if c.pending == nil {
		return 0
	}
	return c.pending.id
}
