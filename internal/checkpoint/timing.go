package checkpoint

import "time"

// TaskTiming is one task's part in one checkpoint, each time from the
// checkpoint's trigger: when the first barrier reached the task (a
// source: when it was triggered), when the barriers were aligned and the
// snapshot began, when the snapshot was copied, and when its state files
// were uploaded and the acknowledgement left. Size is the bytes the task
// stored (keyed state files, operator and channel state).
type TaskTiming struct {
	Barrier, Aligned, Snapshotted, Uploaded time.Duration
	Size                                    int64
}

// Timed records the timing of task in checkpoint id from its absolute
// times. A task in another process of a cluster reports none.
func (s *Stats) Timed(id int64, task TaskID, barrier, aligned, snapshotted, uploaded time.Time, size int64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.find(id)
	if st == nil {
		return
	}
	if st.Tasks == nil {
		st.Tasks = map[TaskID]TaskTiming{}
	}
	since := func(t time.Time) time.Duration { return max(t.Sub(st.Started), 0) }
	st.Tasks[task] = TaskTiming{Barrier: since(barrier), Aligned: since(aligned), Snapshotted: since(snapshotted), Uploaded: since(uploaded), Size: size}
}
