package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"sync"
)

// OperatorError is the error of one operator in one subtask.
type OperatorError struct {
	Operator    string
	Subtask     int
	Parallelism int
	Err         error
}

// Error names the operator and subtask, then the cause.
func (e *OperatorError) Error() string {
	return fmt.Sprintf("operator %q (subtask %d of %d): %v", e.Operator, e.Subtask+1, e.Parallelism, e.Err)
}

// Unwrap returns the cause.
func (e *OperatorError) Unwrap() error { return e.Err }

// PanicError is a panic recovered in an operator, with its stack.
type PanicError struct {
	Value any
	Stack []byte
}

// Error says what the operator panicked with.
func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Recover turns a panic into an *OperatorError in *err, which names the
// operator running's current one, or else the given one. A task defers it
// around everything it runs.
func Recover(err *error, running *Running, operator string, subtask, parallelism int) {
	if v := recover(); v != nil {
		if running != nil && running.cur != nil {
			operator, subtask, parallelism = running.cur.OperatorName()
		}
		*err = &OperatorError{Operator: operator, Subtask: subtask, Parallelism: parallelism,
			Err: &PanicError{Value: v, Stack: debug.Stack()}}
	}
}

// Named is an operator that names itself in errors.
type Named interface {
	OperatorName() (name string, subtask, parallelism int)
}

// Running is the operator of a task's chain that is running on the task's
// goroutine, so that the task, which recovers a panic, names the operator
// it came from (invariant 5). An operator that calls user code calls Enter
// when it is called and Leave, with what Enter returned, on every normal
// return; a panic skips the Leave, so Running then holds the innermost
// operator. It replaces a deferred recover in every such operator, which
// cost about 10 ns a call on every record, each operator of a chain.
type Running struct {
	cur Named

	_ Pad // written per record: apart from the other subtasks'
}

// Enter makes op the running operator and returns the one before it. It
// does nothing on a nil Running (an operator built outside a task).
func (r *Running) Enter(op Named) (prev Named) {
	if r == nil {
		return nil
	}
	prev, r.cur = r.cur, op
	return prev
}

// Leave makes prev, which Enter returned, the running operator again.
func (r *Running) Leave(prev Named) {
	if r != nil {
		r.cur = prev
	}
}

// Wrap names the operator in err unless an inner operator already did.
func Wrap(err error, operator string, subtask, parallelism int) error {
	if err == nil {
		return nil
	}
	var oe *OperatorError
	if errors.As(err, &oe) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &OperatorError{Operator: operator, Subtask: subtask, Parallelism: parallelism, Err: err}
}

// Task is one goroutine of a job.
type Task struct {
	Name        string // the chain's name, for errors
	Subtask     int
	Parallelism int
	Run         func(ctx context.Context) error
	// Background tasks (enumerators) run until the job ends; the job does
	// not wait for them to finish on their own.
	Background bool
	// NoProfileLabels runs the task without pprof labels (weir.Observe).
	NoProfileLabels bool
	// Logger logs the task's failure; it carries the job, operator and
	// subtask as attributes. nil means slog.Default().
	Logger *slog.Logger
	// Running names the operator a panic came from; nil names the chain.
	Running *Running
}

// failed logs the task's failure, once, with the task's logger.
func (t Task) failed(err error) {
	l := t.Logger
	if l == nil {
		l = slog.Default().With("operator", t.Name, "subtask", t.Subtask)
	}
	l.Error("task failed", "err", err)
}

// ProfileLabels returns the pprof labels the task's goroutine runs under:
// operator (the chain's name) and subtask (its index, from 0).
func (t Task) ProfileLabels() pprof.LabelSet {
	return pprof.Labels("operator", t.Name, "subtask", strconv.Itoa(t.Subtask))
}

// Execute runs tasks until every foreground task has finished, ctx is done,
// or a task fails; then it cancels the rest and waits for all of them. The
// caller makes ctx with context.WithCancelCause and passes its cancel, which
// Execute calls on the first failure: the tasks' channels and readers were
// built with ctx, so cancelling it is what unblocks them. It returns the
// first failure, or ctx's error if ctx ended the run, or nil.
func Execute(ctx context.Context, cancel context.CancelCauseFunc, tasks []Task) error {
	bgCtx, bgCancel := context.WithCancel(ctx)
	defer bgCancel()

	var (
		wg       sync.WaitGroup
		bg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel(err)
	}
	for _, t := range tasks {
		labels := t.ProfileLabels()
		run := func(c context.Context) {
			var err error
			// The labels mark every CPU sample of the task, and of the
			// goroutines it starts, with its operator and subtask; they
			// cost nothing per record.
			body := func(c context.Context) {
				defer Recover(&err, t.Running, t.Name, t.Subtask, t.Parallelism)
				err = t.Run(c)
			}
			if t.NoProfileLabels {
				body(c)
			} else {
				pprof.Do(c, labels, body)
			}
			if err != nil && (c.Err() == nil || !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)) {
				t.failed(err)
				fail(Wrap(err, t.Name, t.Subtask, t.Parallelism))
			}
		}
		if t.Background {
			bg.Add(1)
			go func() { defer bg.Done(); run(bgCtx) }()
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); run(ctx) }()
	}
	wg.Wait()
	bgCancel()
	bg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}
