package weir

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/keyindex"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/window"
)

// paneStore keeps the accumulators of a window operator with windows that
// do not merge: one per window and key. The operator keeps the set of open
// windows; the store keeps what is in them. The heap store (heapPanes)
// keeps Go values, the pebble store (kvPanes) encoded bytes off the heap.
//
// Both store an entry in checkpoints as paneState: key, the window as
// namespace, and [fired byte][encoded accumulator] as value, so that a
// checkpoint restores on either backend.
type paneStore[K comparable, A any] interface {
	// get returns k's accumulator in win and true, or the zero A and false
	// when it has none, and makes it the entry that put stores. owned says
	// that k shares no memory with a record (a partial's key, which
	// pre-aggregation copied): a store that keeps keys keeps it as it is
	// instead of copying it.
	get(win window.Window, k K, owned bool) (A, bool, error)
	// put stores acc as the entry get returned last. fired says its window
	// has fired; dirty marks a changed result for early firing.
	put(acc A, fired, dirty bool) error
	// fire calls emit, unless it is nil, for every key of win, in the
	// store's order, and keeps what it returns as the key's accumulator
	// (marked fired); then, with drop, it deletes the window.
	fire(win window.Window, emit func(K, A) (A, error), drop bool) error
	// fireDirty calls emit for the keys of win marked dirty since the last
	// call, keeps what it returns as the key's accumulator, and clears the
	// marks.
	fireDirty(win window.Window, emit func(K, A) (A, error)) error
	// snapshot adds every entry to s; fired tells which windows fired.
	snapshot(s *job.OperatorSnapshot, fired map[window.Window]bool) error
	// restore adds a restored entry: the decoded key and window, the key's
	// encoding, and the entry's value.
	restore(k K, win window.Window, key, value []byte) error
}

// heapPanes keeps panes on the heap, grouped by window: a pane holds the
// accumulator of every key, so that firing a window is one pass over its
// pane and a record costs one map lookup.
type heapPanes[K comparable, A any] struct {
	base    *keyedBase[K]
	clone   func(K) K // keys are cloned when first stored (keygroup.Cloner)
	accs    codec.Codec[A]
	panes   map[window.Window]*pane[K, A]
	last    *pane[K, A] // the pane of the previous record (lastWin): most records hit it
	lastWin window.Window
	// spare is the pane of the last window dropped, emptied, unless that
	// window used little of it: the next new window takes it, with the
	// room its index and accumulators grew to, since windows of a stream
	// tend to be alike. A pane made afresh grows them from nothing, and
	// its memory, new to the process, faults in page by page. dropped is
	// how many keys that window had: a pane made while the spare is taken
	// starts with room for as many.
	spare   *pane[K, A]
	dropped int

	// The entry get returned: index in cur, or -1 and the key for a new one
	// (curOwned: it needs no copy).
	cur      *pane[K, A]
	curIdx   int32
	curKey   K
	curOwned bool

	_ runtime.Pad // apart from the next subtask's
}

// pane is the accumulators of one window: the keys in the order they
// came, each with its accumulator at its position in accs. With early
// firing, a bit per key marks a result that changed since the last early
// firing: beside the accumulators, not in them, which stay as small as an
// accumulator for the windows that never fire early.
type pane[K comparable, A any] struct {
	keys     keyindex.Index[K]
	accs     []A
	dirty    []uint64 // bit i: accs[i]; grown as keys are marked
	anyDirty bool
}

// markDirty marks entry i's result as changed.
func (p *pane[K, A]) markDirty(i int32) {
	w := int(i >> 6)
	if w >= len(p.dirty) {
		p.dirty = append(p.dirty, make([]uint64, w+1-len(p.dirty))...)
	}
	p.dirty[w] |= 1 << (i & 63)
	p.anyDirty = true
}

// add adds k with acc and returns its position. The accumulators grow by
// doubling: append grows a large slice by a quarter, which copies a pane
// of many keys over and over as it fills.
func (p *pane[K, A]) add(k K, acc A) int32 {
	if len(p.accs) == cap(p.accs) {
		p.accs = slices.Grow(p.accs, max(len(p.accs), 64))
	}
	p.accs = append(p.accs, acc)
	return p.keys.Add(k)
}

func newHeapPanes[K comparable, A any](base *keyedBase[K], clone func(K) K) *heapPanes[K, A] {
	return &heapPanes[K, A]{base: base, clone: clone, accs: codec.For[A](), panes: map[window.Window]*pane[K, A]{}}
}

func (h *heapPanes[K, A]) pane(win window.Window) *pane[K, A] {
	if p := h.panes[win]; p != nil {
		return p
	}
	p := h.spare
	if p != nil {
		h.spare = nil
	} else {
		n := h.dropped
		p = &pane[K, A]{accs: make([]A, 0, n)}
		p.keys.Grow(n)
	}
	h.panes[win] = p
	return p
}

// drop deletes win's pane p and keeps it, emptied, as the spare, unless
// its window used little of it.
func (h *heapPanes[K, A]) drop(win window.Window, p *pane[K, A]) {
	h.dropped = len(p.accs)
	delete(h.panes, win)
	if h.last == p {
		h.last = nil
	}
	if 4*h.dropped <= cap(p.accs) {
		// The window filled a quarter of its pane or less: the pane goes
		// to the collector, so that a burst of keys in one window does
		// not keep its room for good.
		return
	}
	p.keys.Reset()
	clear(p.accs) // holds nothing for the collector
	clear(p.dirty)
	p.accs, p.dirty, p.anyDirty = p.accs[:0], p.dirty[:0], false
	h.spare = p
}

func (h *heapPanes[K, A]) get(win window.Window, k K, owned bool) (A, bool, error) {
	p := h.last
	if p == nil || h.lastWin != win {
		p = h.pane(win)
		h.last, h.lastWin = p, win
	}
	h.cur = p
	if i, ok := p.keys.Find(k); ok {
		h.curIdx = i
		return p.accs[i], true, nil
	}
	h.curIdx, h.curKey, h.curOwned = -1, k, owned
	var zero A
	return zero, false, nil
}

func (h *heapPanes[K, A]) put(acc A, _, dirty bool) error {
	p, i := h.cur, h.curIdx
	if i < 0 {
		k := h.curKey
		if !h.curOwned {
			k = h.clone(k)
		}
		i = p.add(k, acc)
	} else {
		p.accs[i] = acc
	}
	if dirty {
		p.markDirty(i)
	}
	return nil
}

func (h *heapPanes[K, A]) fire(win window.Window, emit func(K, A) (A, error), drop bool) error {
	p := h.panes[win]
	if p == nil {
		return nil
	}
	if emit != nil {
		for i, k := range p.keys.Keys() {
			acc, err := emit(k, p.accs[i])
			if err != nil {
				return err
			}
			p.accs[i] = acc
		}
	}
	if drop {
		h.drop(win, p)
	}
	return nil
}

func (h *heapPanes[K, A]) fireDirty(win window.Window, emit func(K, A) (A, error)) error {
	p := h.panes[win]
	if p == nil || !p.anyDirty {
		return nil
	}
	p.anyDirty = false
	for w := range p.dirty {
		for p.dirty[w] != 0 {
			b := bits.TrailingZeros64(p.dirty[w])
			p.dirty[w] &^= 1 << b
			i := w<<6 + b
			acc, err := emit(p.keys.Keys()[i], p.accs[i])
			if err != nil {
				return err
			}
			p.accs[i] = acc
		}
	}
	return nil
}

func (h *heapPanes[K, A]) snapshot(s *job.OperatorSnapshot, fired map[window.Window]bool) error {
	for win, p := range h.panes {
		for i, k := range p.keys.Keys() {
			if err := addWindowEntry(s, h.base, h.accs, paneState, k, win, fired[win], p.accs[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *heapPanes[K, A]) restore(k K, win window.Window, _, value []byte) error {
	acc, _, err := h.accs.Decode(value[1:])
	if err != nil {
		return err
	}
	h.pane(win).add(h.clone(k), acc)
	return nil
}

// addWindowEntry adds the checkpoint entry of k's accumulator in win: the
// key, the window as namespace, [fired byte][encoded accumulator].
func addWindowEntry[K comparable, A any](s *job.OperatorSnapshot, base *keyedBase[K], accs codec.Codec[A], name string, k K, win window.Window, fired bool, acc A) error {
	key, err := base.encodeKey(k)
	if err != nil {
		return err
	}
	val := []byte{0}
	if fired {
		val[0] = 1
	}
	if val, err = accs.Append(val, acc); err != nil {
		return fmt.Errorf("encode an accumulator of window %v: %w", win, err)
	}
	s.AddKeyed(base.groupOf(k), snapshot.Entry{State: name, Key: key, Namespace: appendWindow(nil, win), Value: val})
	return nil
}
