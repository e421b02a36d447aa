package weir

import (
	"time"

	"github.com/weirstream/weir/internal/keyedstate"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/window"
)

// timedPanes times a sample of the gets and puts of a window operator's
// panes into the subtask's state access timing, as keyed state times its
// own (keyedstate.Sampler).
type timedPanes[K comparable, A any] struct {
	paneStore[K, A]
	smp keyedstate.Sampler
}

func timePanes[K comparable, A any](p paneStore[K, A], a *keyedstate.Access) paneStore[K, A] {
	if a == nil {
		return p
	}
	return &timedPanes[K, A]{paneStore: p, smp: keyedstate.NewSampler(a)}
}

func (p *timedPanes[K, A]) get(win window.Window, k K, owned bool) (A, bool, error) {
	if p.smp.Sampled(keyedstate.OpGet) {
		start := time.Now()
		defer p.smp.Timed(keyedstate.OpGet, start)
	}
	return p.paneStore.get(win, k, owned)
}

func (p *timedPanes[K, A]) put(acc A, fired, dirty bool) error {
	if p.smp.Sampled(keyedstate.OpPut) {
		start := time.Now()
		defer p.smp.Timed(keyedstate.OpPut, start)
	}
	return p.paneStore.put(acc, fired, dirty)
}

// stateAccess returns the state access timing of m's subtask as the API
// shows it: one entry per kind of access that happened; nil without keyed
// state.
func stateAccess(m *runtime.Metrics) []StateAccessStats {
	a := m.StateAccessStats()
	if a == nil {
		return nil
	}
	var out []StateAccessStats
	for op, name := range keyedstate.OpNames {
		n := a.Count(op)
		if n == 0 {
			continue
		}
		s := StateAccessStats{Backend: a.Backend, Op: name, Count: n}
		s.P50, s.P99 = a.Times[op].Quantiles()
		out = append(out, s)
	}
	return out
}
