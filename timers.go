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
	if _, ok := q.set[e]; ok {
		return
	}
	e.key = q.clone(key)
	q.set[e] = struct{}{}
	heap.Push(&q.h, e)
}

// remove cancels a timer; its heap entry is skipped when it surfaces.
func (q *timerQueue[K]) remove(ts int64, key K) { delete(q.set, timerEntry[K]{ts, key}) }

func (q *timerQueue[K]) popDue(until int64) (timerEntry[K], bool) {
	for len(q.h) > 0 && q.h[0].ts <= until {
		e := heap.Pop(&q.h).(timerEntry[K])
		if _, ok := q.set[e]; ok {
			delete(q.set, e)
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
