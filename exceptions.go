package weir

import "time"

// JobException is one failure of a job's run, as the job UI's exception
// history shows it.
type JobException struct {
	Time time.Time `json:"time"`
	// Operator and Subtask name the chain and subtask that failed; "" and
	// -1 when the failure was not an operator's (a checkpoint that could
	// not be read, a build that failed).
	Operator string `json:"operator"`
	Subtask  int    `json:"subtask"`
	// Worker is the ID of the worker of a cluster (Cluster) where it
	// failed; "" for a job in one process.
	Worker string `json:"worker,omitempty"`
	Error  string `json:"error"`
	// Stack is the goroutine's stack when the operator panicked.
	Stack string `json:"stack,omitempty"`
	// Restart is the number of the restart that followed the failure (1
	// for the first), or 0 when the job did not restart: it had no
	// restarts left, or none at all.
	Restart int `json:"restart"`
}

// Exceptions returns the failures of the job's runs, oldest first: the
// newest 100 of the current (or last) Execute. A run that was cancelled
// did not fail. It is safe to call while Execute runs. In a cluster they
// are the whole job's, every worker's, as the coordinator keeps them (see
// ClusterMetrics).
func (e *Env) Exceptions() []JobException {
	if e.InCluster() {
		return e.clusterExceptions()
	}
	j := e.current()
	if j == nil {
		return nil
	}
	var out []JobException
	for _, f := range j.Failures() {
		out = append(out, JobException{Time: f.Time, Operator: f.Operator, Subtask: f.Subtask, Error: f.Err, Stack: f.Stack, Restart: f.Restart})
	}
	return out
}
