package runtime

import "time"

// Input is one channel a gate reads, with the exchange that owns its batches.
type Input[T any] struct {
	ch   chan envelope[T]
	prio chan int64 // unaligned barriers
	ex   *Exchange[T]
}

// Gate reads the input channels of one subtask: data batches in the order
// each channel delivers them (invariant 2), watermarks combined across
// channels (invariant 4), and the inputs that delivered a checkpoint's
// barrier held back until the others have (invariant 6).
type Gate[T any] struct {
	inputs  []Input[T]
	queued  [][]envelope[T] // per input: read ahead by an unaligned checkpoint
	notify  chan struct{}
	tracker *WatermarkTracker
	align   aligner
	cursor  int
}

// NewGate reads inputs; notify is the channel every sender into this
// subtask signals after a send.
func NewGate[T any](inputs []Input[T], notify chan struct{}) *Gate[T] {
	return &Gate[T]{inputs: inputs, queued: make([][]envelope[T], len(inputs)), notify: notify,
		tracker: NewWatermarkTracker(len(inputs)), align: newAligner(len(inputs))}
}

// element is one envelope the gate read, with the input it came from.
type element[T any] struct {
	envelope[T]
	input int
	// queued says an unaligned checkpoint read it ahead (it is already in
	// that checkpoint's channel state if it belongs there).
	queued bool
}

func (g *Gate[T]) ended(i int) bool { return g.inputs[i].ch == nil }

// end marks input i ended: it is read no more.
func (g *Gate[T]) end(i int) { g.inputs[i].ch = nil }

// recycle returns a batch from input i to its exchange's free list.
func (g *Gate[T]) recycle(i int, b *Batch[T]) { g.inputs[i].ex.putBatch(b) }

// poll returns the next element from any input without blocking: first
// what an unaligned checkpoint read ahead, then the channels, skipping
// those that ended or are held back for alignment. Inputs take turns, but
// the gate stays on an input while it has data: fewer channel probes.
func (g *Gate[T]) poll() (element[T], bool) {
	n := len(g.inputs)
	for k := 0; k < n; k++ {
		i := g.cursor + k
		if i >= n {
			i -= n
		}
		if q := g.queued[i]; len(q) > 0 {
			e := q[0]
			q[0] = envelope[T]{}
			g.queued[i] = q[1:]
			g.cursor = i
			return element[T]{envelope: e, input: i, queued: true}, true
		}
		if g.inputs[i].ch == nil || g.align.blocked[i] {
			continue // ended, or waiting for the other inputs' barriers
		}
		select {
		case e := <-g.inputs[i].ch:
			g.cursor = i
			return element[T]{envelope: e, input: i}, true
		default:
		}
	}
	return element[T]{}, false
}

// aligner holds back the inputs that delivered the barrier of the pending
// checkpoint until every input has (aligned checkpoints, invariant 6). It
// starts no goroutine and waits for nothing; it notes the time of a
// checkpoint's first barrier, for the alignment time.
type aligner struct {
	pending int64 // checkpoint being aligned; 0 when none
	blocked []bool
	first   time.Time // when the pending checkpoint's first barrier came
}

func newAligner(inputs int) aligner { return aligner{blocked: make([]bool, inputs)} }

// barrier records the barrier of checkpoint id on input i. It returns true
// when the checkpoint is aligned on every input that has not ended; the
// aligner is then reset.
func (a *aligner) barrier(i int, id int64, ended func(int) bool) bool {
	if id < a.pending {
		return false // a late barrier of an older, abandoned checkpoint
	}
	if id > a.pending {
		// A newer checkpoint overtakes one that cannot complete any more.
		a.reset()
		a.pending = id
		a.first = time.Now()
	}
	a.blocked[i] = true
	_, ok := a.aligned(ended)
	return ok
}

// aligned reports whether the pending checkpoint has its barrier on every
// input that has not ended, and returns its id; on true the aligner is
// reset (first keeps the time the checkpoint's first barrier came, for the
// alignment time). Call it when an input ends.
func (a *aligner) aligned(ended func(int) bool) (int64, bool) {
	if a.pending == 0 {
		return 0, false
	}
	for i, b := range a.blocked {
		if !b && !ended(i) {
			return 0, false
		}
	}
	id := a.pending
	a.reset()
	return id, true
}

func (a *aligner) reset() {
	clear(a.blocked)
	a.pending = 0
}
