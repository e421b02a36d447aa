package weir

// JobMetrics are the job-wide counters of an Env: they outlive restarts.
type JobMetrics struct {
	// Name is the job's name as given to Execute; "" before Execute.
	Name string
	// Restarts counts the runs that started over after a failure (and, in
	// a cluster, after a change of workers), as Flink's numRestarts.
	Restarts int64
	// CheckpointsCompleted and CheckpointsFailed count the checkpoints of
	// the current execution (in a cluster: of the current epoch), also
	// those CheckpointStats no longer keeps.
	CheckpointsCompleted, CheckpointsFailed int64
	// LateRecordsDropped is DroppedLateRecords.
	LateRecordsDropped int64
}

// JobMetrics returns the job-wide counters. It is safe to call while
// Execute runs, and cheap: it reads counters that exist anyway.
func (e *Env) JobMetrics() JobMetrics {
	e.mu.Lock()
	m := JobMetrics{Name: e.name, Restarts: max(e.runs.Load()-1, 0)}
	e.mu.Unlock()
	if j := e.current(); j != nil && j.Stats() != nil {
		m.CheckpointsCompleted, m.CheckpointsFailed = j.Stats().Totals()
	}
	m.LateRecordsDropped = e.DroppedLateRecords()
	return m
}
