package keyedstate

import (
	"sync/atomic"
	"time"

	"github.com/weirstream/weir/internal/histogram"
)

// Kinds of access that Access times.
const (
	OpGet    = iota // Cell.Get
	OpPut           // Cell.Set and Cell.Update
	OpDelete        // Cell.Clear
	numOps
)

// OpNames names the kinds of access, by their constant.
var OpNames = [numOps]string{"get", "put", "delete"}

// SampleEvery is how many accesses to a store's cells share one timed
// access: reading the clock twice costs more than a heap access itself.
const SampleEvery = 64

// Access is the access timing of the keyed state of one subtask on one
// backend: a histogram per kind of access, and how many there were. The
// stores of the subtask record into it from the subtask's goroutine; any
// goroutine may read it.
type Access struct {
	Backend string
	Times   [numOps]histogram.Histogram
	counts  [numOps]atomic.Int64
}

// Count returns how many accesses of kind op there were, to within
// SampleEvery.
func (a *Access) Count(op int) int64 { return a.counts[op].Load() }

// TimeAccess has the store time one access in SampleEvery into a, and count
// them all. Call it before the store is used.
func (e *Engine[K]) TimeAccess(a *Access) { e.s.smp = Sampler{access: a} }

// Sampler counts the accesses of one store of keyed state and picks the
// ones to time into an Access. Its zero value times nothing. It belongs to
// the subtask's goroutine.
//
//	if s.Sampled(keyedstate.OpGet) {
//		start := time.Now()
//		defer s.Timed(keyedstate.OpGet, start)
//	}
type Sampler struct {
	access    *Access
	ops       [numOps]int64 // accesses so far
	published [numOps]int64 // of ops, those added to access's counts
}

// NewSampler returns a sampler that times into a.
func NewSampler(a *Access) Sampler { return Sampler{access: a} }

// Sampled counts an access of kind op and reports whether to time it.
func (s *Sampler) Sampled(op int) bool {
	// Each kind counts apart: a shared count would time only the kind
	// that falls on every 64th access of a regular pattern (get, put, …).
	s.ops[op]++
	return s.ops[op]%SampleEvery == 0 && s.access != nil
}

// Timed records an access of kind op that started at start, and adds the
// accesses counted since the last time to the Access's counts: the
// samplers of every store of a subtask (its operators' keyed state and
// window panes) share one Access.
func (s *Sampler) Timed(op int, start time.Time) {
	now := time.Now()
	a := s.access
	a.Times[op].Record(now.Sub(start), now.UnixNano())
	for i := range s.ops {
		if d := s.ops[i] - s.published[i]; d != 0 {
			a.counts[i].Add(d)
			s.published[i] = s.ops[i]
		}
	}
}
