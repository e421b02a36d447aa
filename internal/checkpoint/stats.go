package checkpoint

import (
	"maps"
	"sync"
	"time"
)

// Stat describes one checkpoint, for the API and the UI.
type Stat struct {
	ID       int64
	Status   string // "pending", "completed", "failed"
	Started  time.Time
	Duration time.Duration // trigger to completion (or failure)
	Size     int64         // bytes of metadata and state files
	Failure  string
	// Acks holds, per task, the time from trigger to its acknowledgement.
	Acks map[TaskID]time.Duration
	// Alignments holds, per task, how long it held back inputs that had
	// delivered the barrier while it waited for the others.
	Alignments map[TaskID]time.Duration
	// Tasks holds, per task of this process, when it took its part.
	Tasks map[TaskID]TaskTiming
}

// Stats keeps the recent checkpoints. It is safe for concurrent use.
type Stats struct {
	mu struct {
		sync.Mutex
		recent []Stat
		// Every checkpoint that completed or failed, kept or not: the
		// counters Prometheus reads must never go down.
		completed, failed int64
	}
	keep int
}

// NewStats keeps the last keep checkpoints.
func NewStats(keep int) *Stats { return &Stats{keep: keep} }

// Recent returns copies of the kept checkpoints, oldest first: a caller
// may read them while later acknowledgements update the originals.
func (s *Stats) Recent() []Stat {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]Stat(nil), s.mu.recent...)
	for i := range out {
		out[i].Acks = maps.Clone(out[i].Acks)
		out[i].Alignments = maps.Clone(out[i].Alignments)
		out[i].Tasks = maps.Clone(out[i].Tasks)
	}
	return out
}

// Counts returns how many kept checkpoints completed and failed.
func (s *Stats) Counts() (completed, failed int) {
	for _, st := range s.Recent() {
		switch st.Status {
		case "completed":
			completed++
		case "failed":
			failed++
		}
	}
	return
}

// Totals returns how many checkpoints completed and failed since s was
// made, including those no longer kept.
func (s *Stats) Totals() (completed, failed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.completed, s.mu.failed
}

func (s *Stats) find(id int64) *Stat {
	for i := range s.mu.recent {
		if s.mu.recent[i].ID == id {
			return &s.mu.recent[i]
		}
	}
	return nil
}

func (s *Stats) begin(id int64, started time.Time) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.find(id) != nil {
		return
	}
	s.mu.recent = append(s.mu.recent, Stat{ID: id, Status: "pending", Started: started})
	if len(s.mu.recent) > s.keep {
		s.mu.recent = s.mu.recent[len(s.mu.recent)-s.keep:]
	}
}

func (s *Stats) acknowledged(id int64, started, now time.Time, acks map[TaskID]time.Duration) {
	if s == nil {
		return
	}
	s.begin(id, started)
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.find(id); st != nil {
		st.Acks = acks
		st.Duration = now.Sub(started)
	}
}

func (s *Stats) completed(id int64, now time.Time, size int64) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.find(id); st != nil {
		st.Status, st.Size, st.Duration = "completed", size, now.Sub(st.Started)
	}
	s.mu.completed++
}

func (s *Stats) failed(id int64, now time.Time, reason string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.find(id); st != nil {
		st.Status, st.Failure, st.Duration = "failed", reason, now.Sub(st.Started)
	}
	s.mu.failed++
}

// Aligned records how long task took to align the barriers of checkpoint id.
func (s *Stats) Aligned(id int64, task TaskID, d time.Duration) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.find(id); st != nil {
		if st.Alignments == nil {
			st.Alignments = map[TaskID]time.Duration{}
		}
		st.Alignments[task] = d
	}
}
