package weir

import (
	"container/heap"

	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/runtime"
)

// timerQueue is a min-heap of (time, key) timers without duplicates.
type timerQueue[K comparable] struct {
	h     timerHeap[K]
	set   map[timerEntry[K]]struct{}
	clone func(K) K
	// recent are the last two timers registered, while they are still
	// set: functions register the same timer or two (the end of a window,
	// of a day) for record after record of a key, and comparing with
	// recent spares the lookup. (A key here may be the caller's, not the
	// queue's copy: it keeps the memory of two keys at most alive.)
	recent  [2]timerEntry[K]
	has     [2]bool
	replace int // the entry of recent the next timer added takes

	_ runtime.Pad // apart from the next subtask's
}

type timerEntry[K comparable] struct {
	ts  int64
	key K
}

func newTimerQueue[K comparable]() *timerQueue[K] {
	return &timerQueue[K]{set: map[timerEntry[K]]struct{}{}, clone: keygroup.Cloner[K]()}
}

func (q *timerQueue[K]) add(ts int64, key K) {
	e := timerEntry[K]{ts, key}
	for i := range q.recent {
		if q.has[i] && q.recent[i] == e {
			q.replace = 1 - i // keep the one just used
			return
		}
	}
	if _, ok := q.set[e]; !ok {
		e.key = q.clone(key)
		q.set[e] = struct{}{}
		heap.Push(&q.h, e)
	}
	q.recent[q.replace], q.has[q.replace] = e, true
	q.replace ^= 1
}

// remove cancels a timer; its heap entry is skipped when it surfaces.
func (q *timerQueue[K]) remove(ts int64, key K) {
	delete(q.set, timerEntry[K]{ts, key})
	q.forgetRecent()
}

// forgetRecent empties recent: its timers may no longer be set.
func (q *timerQueue[K]) forgetRecent() {
	clear(q.recent[:])
	q.has = [2]bool{}
}

func (q *timerQueue[K]) popDue(until int64) (timerEntry[K], bool) {
	for len(q.h) > 0 && q.h[0].ts <= until {
		e := heap.Pop(&q.h).(timerEntry[K])
		if _, ok := q.set[e]; ok {
			delete(q.set, e)
			q.forgetRecent()
			return e, true
		}
	}
	return timerEntry[K]{}, false
}

func (q *timerQueue[K]) next() int64 {
	for len(q.h) > 0 {
		if _, ok := q.set[q.h[0]]; ok {
			return q.h[0].ts
		}
		heap.Pop(&q.h)
	}
	return runtime.NoWakeup
}

type timerHeap[K comparable] []timerEntry[K]

func (h timerHeap[K]) Len() int           { return len(h) }
func (h timerHeap[K]) Less(i, j int) bool { return h[i].ts < h[j].ts }
func (h timerHeap[K]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap[K]) Push(x any)        { *h = append(*h, x.(timerEntry[K])) }
func (h *timerHeap[K]) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}
