package runtime

import (
	"math"
	"sync"
	"sync/atomic"
)

// AlignGroups are the watermark alignment groups of one run of a job (see
// weir.WatermarkStrategy.WithAlignment): a restarted run starts with fresh
// groups, so a reader of the failed run cannot hold it back. Readers join
// while the run is built, on one goroutine.
type AlignGroups struct {
	groups map[string]*alignGroup
}

// NewAlignGroups returns the empty groups of a run.
func NewAlignGroups() *AlignGroups { return &AlignGroups{groups: map[string]*alignGroup{}} }

// alignGroup is the shared view of the readers of one alignment group.
type alignGroup struct {
	mu      sync.Mutex
	members map[*AlignMember]int64 // reported watermark; absent: not holding back
}

// AlignMember is one reader of an alignment group.
type AlignMember struct {
	g        *alignGroup
	maxDrift int64
	least    atomic.Int64 // the group's least watermark at the last report
}

// Join adds a reader to group, allowed to run maxDrift milliseconds
// ahead of the group's least watermark. It holds the group back until it
// reports.
func (a *AlignGroups) Join(group string, maxDrift int64) *AlignMember {
	g, ok := a.groups[group]
	if !ok {
		g = &alignGroup{members: make(map[*AlignMember]int64)}
		a.groups[group] = g
	}
	m := &AlignMember{g: g, maxDrift: maxDrift}
	m.least.Store(NoTimestamp)
	g.members[m] = NoTimestamp
	return m
}

// Report publishes the member's watermark (active) or takes it out of the
// group (not active: idle), and takes the group's least.
func (m *AlignMember) Report(wm int64, active bool) {
	g := m.g
	g.mu.Lock()
	if active {
		g.members[m] = wm
	} else {
		delete(g.members, m)
	}
	least := int64(math.MaxInt64)
	for _, v := range g.members {
		least = min(least, v)
	}
	g.mu.Unlock()
	m.least.Store(least)
}

// Holds reports whether a reader at watermark wm runs ahead of its group
// by more than the drift. A member with no watermark yet holds the group
// back: records it has not read may be the oldest.
func (m *AlignMember) Holds(wm int64) bool {
	least := m.least.Load()
	return wm != NoTimestamp && least != math.MaxInt64 && (least == NoTimestamp || wm-least > m.maxDrift)
}

// Leave takes a reader at its end out of its group.
func (m *AlignMember) Leave() {
	m.g.mu.Lock()
	delete(m.g.members, m)
	m.g.mu.Unlock()
}
