package cluster

import (
	"slices"
	"sort"
	"time"

	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
)

// Status is what a worker knows of its cluster, for the job's HTTP API
// (GET /api/cluster).
type Status struct {
	Generation  int32  `json:"generation"`
	Epoch       int64  `json:"epoch"`
	Coordinator string `json:"coordinator"`
	Self        string `json:"self"`
	// LastHeartbeat is the last time this worker heard from Kafka's group
	// coordinator; workers cannot see each other's heartbeats.
	LastHeartbeat time.Time      `json:"last_heartbeat"`
	Members       []MemberStatus `json:"members"`
	Slots         int            `json:"slots"`
	Parallelism   int            `json:"parallelism"`
}

// MemberStatus is one worker of a generation and the work it has.
type MemberStatus struct {
	ID    string `json:"id"`
	Addr  string `json:"address"`
	Slots int    `json:"slots"`
	// FirstSlot is the first of the worker's slots.
	FirstSlot int `json:"first_slot"`
	// LastHeartbeat is known for this worker only (see Status).
	LastHeartbeat *time.Time          `json:"last_heartbeat,omitempty"`
	Chains        []ChainStatus       `json:"chains"`
	Splits        map[string][]string `json:"splits,omitempty"`
}

// ChainStatus is a worker's part of one chain of operators.
type ChainStatus struct {
	Chain       string `json:"chain"` // the name of its first operator
	Parallelism int    `json:"parallelism"`
	// Subtasks are the subtasks the worker runs, [first, last].
	Subtasks []int `json:"subtasks"`
	// KeyGroups are the key-group ranges [start, end) of the subtasks of
	// a keyed chain.
	KeyGroups [][2]int `json:"key_groups,omitempty"`
}

// Status returns what the worker knows of its cluster.
func (w *worker) Status() Status {
	w.mu.Lock()
	g, ep := w.mu.gen, w.mu.ep
	w.mu.Unlock()
	maxP := w.spec.Settings.MaxParallelism
	s := Status{Generation: g.ID, Coordinator: g.Coordinator, Self: w.self.ID,
		Slots: g.Assignment.Slots, Parallelism: g.Assignment.Parallelism(maxP)}
	if w.members != nil {
		s.LastHeartbeat = w.members.LastHeartbeat()
	}
	var splits map[string]map[string][]string // worker -> source -> split ids
	if ep != nil {
		s.Epoch = ep.id
		splits = ep.splitsByWorker()
	}
	for _, ws := range g.Assignment.Workers {
		m := MemberStatus{ID: ws.ID, Addr: ws.Addr, Slots: ws.Slots, FirstSlot: ws.Start, Splits: splits[ws.ID]}
		if ws.ID == w.self.ID && !s.LastHeartbeat.IsZero() {
			hb := s.LastHeartbeat
			m.LastHeartbeat = &hb
		}
		if ep != nil {
			for _, c := range ep.plan.Chains() {
				lo, hi := g.Assignment.Subtasks(ws.ID, c.Parallelism)
				if lo >= hi {
					continue
				}
				cs := ChainStatus{Chain: c.Head.Name, Parallelism: c.Parallelism, Subtasks: []int{lo, hi - 1}}
				if keyedChain(c.Head) {
					for i := lo; i < hi; i++ {
						r := keygroup.For(i, maxP, c.Parallelism)
						cs.KeyGroups = append(cs.KeyGroups, [2]int{r.Start, r.End})
					}
				}
				m.Chains = append(m.Chains, cs)
			}
		}
		s.Members = append(s.Members, m)
	}
	return s
}

// keyedChain reports whether a chain's first operator reads a keyed
// input.
func keyedChain(head *plan.Node) bool {
	return slices.ContainsFunc(head.Inputs, func(e *plan.Edge) bool { return e.Pattern == runtime.Hash })
}

// noteSplits records that splits of source were handed to worker's reader.
func (ep *epoch) noteSplits(source, worker string, ids []string) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if ep.assigned == nil {
		ep.assigned = map[string]map[string][]string{}
	}
	if ep.assigned[worker] == nil {
		ep.assigned[worker] = map[string][]string{}
	}
	ep.assigned[worker][source] = append(ep.assigned[worker][source], ids...)
}

func (ep *epoch) splitsByWorker() map[string]map[string][]string {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	out := map[string]map[string][]string{}
	for w, bySource := range ep.assigned {
		out[w] = map[string][]string{}
		for src, ids := range bySource {
			ids = slices.Clone(ids)
			sort.Strings(ids)
			out[w][src] = ids
		}
	}
	return out
}
