package job

import (
	"errors"
	"sync"
	"time"

	"github.com/weirstream/weir/internal/runtime"
)

// Failure is one failure of a run: what failed, when, and what the job
// did about it.
type Failure struct {
	Time time.Time
	// Operator and Subtask name the failed subtask's chain, when an
	// operator failed (runtime.OperatorError); "" and -1 otherwise.
	Operator string
	Subtask  int
	Err      string
	// Stack is the goroutine's stack when the operator panicked.
	Stack string
	// Restart is the number of the restart that followed (1 for the
	// first), or 0 when the job gave up or had no restarts.
	Restart int
}

// maxFailures bounds the failures a job keeps: the newest ones.
const maxFailures = 100

// failures keeps a job's newest failures.
type failures struct {
	mu   sync.Mutex
	list []Failure
}

// add records err at t; restart is the restart that follows it, or 0.
func (f *failures) add(t time.Time, err error, restart int) {
	fl := Failure{Time: t, Subtask: -1, Err: err.Error(), Restart: restart}
	if oe, ok := errors.AsType[*runtime.OperatorError](err); ok {
		fl.Operator, fl.Subtask = oe.Operator, oe.Subtask
	}
	if pe, ok := errors.AsType[*runtime.PanicError](err); ok {
		fl.Stack = string(pe.Stack)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.list) == maxFailures {
		f.list = append(f.list[:0], f.list[1:]...)
	}
	f.list = append(f.list, fl)
}

// Failures returns the job's newest failures, oldest first: each failed
// run, with the restart that followed it. A job that was cancelled did
// not fail.
func (j *Job) Failures() []Failure {
	j.failures.mu.Lock()
	defer j.failures.mu.Unlock()
	return append([]Failure(nil), j.failures.list...)
}

// Restored is one run's starting point: the checkpoint or savepoint it
// restored.
type Restored struct {
	Time       time.Time
	Path       string
	Checkpoint int64
}

// restores keeps a job's newest restores.
type restores struct {
	mu   sync.Mutex
	list []Restored
}

func (r *restores) add(x Restored) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.list) == maxFailures {
		r.list = append(r.list[:0], r.list[1:]...)
	}
	r.list = append(r.list, x)
}

// Restores returns the checkpoints the job's runs restored, oldest first
// (the newest 100): its lineage. A run that started afresh restored none.
func (j *Job) Restores() []Restored {
	j.restores.mu.Lock()
	defer j.restores.mu.Unlock()
	return append([]Restored(nil), j.restores.list...)
}
