package runtime

import (
	"context"
	"time"
	"unsafe"

	"github.com/weirstream/weir/internal/keygroup"
)

// Pattern says how the subtasks of two operators are connected.
type Pattern uint8

const (
	// Forward connects sender i to receiver i only (equal parallelism).
	Forward Pattern = iota
	// Rebalance sends records round-robin to every receiver.
	Rebalance
	// Hash sends each record to the receiver that owns its key group.
	Hash
	// Broadcast sends every record to every receiver.
	Broadcast
)

// String names the pattern as the plan shows it.
func (p Pattern) String() string {
	return [...]string{"FORWARD", "REBALANCE", "HASH", "BROADCAST"}[p]
}

// ExchangeOptions size an exchange.
type ExchangeOptions struct {
	BatchSize      int           // records per batch; 0 sizes batches by BatchBytes
	Capacity       int           // batches buffered per channel; 0 means 4
	BufferTimeout  time.Duration // a partial batch leaves after this; 0 sends every record at once
	MaxParallelism int           // key groups, for Hash
}

// BatchBytes is about how many bytes of records a batch holds when
// ExchangeOptions.BatchSize is 0: 16 to 512 records, as many as fit. Every
// channel holds up to Capacity batches, and its sender and receiver one
// each: a size in records alone let an exchange of large records (the
// PV/UV job's pre-aggregated partials, 152 bytes each with their time)
// hold ten times the memory of one of ints.
const BatchBytes = 32 << 10

// batchSize is the records per batch of T when the options do not say.
func batchSize[T any]() int {
	n := BatchBytes / int(unsafe.Sizeof(Record[T]{}))
	return min(max(n, 16), 512)
}

// Exchange is the set of channels between the subtasks of a sending and a
// receiving operator.
type Exchange[T any] struct {
	pattern   Pattern
	senders   int
	receivers int
	chans     [][]chan envelope[T] // [sender][receiver]; nil where not connected
	prio      [][]chan int64       // unaligned checkpoint barriers, ahead of the data
	notify    []chan struct{}      // per receiver, shared with its other exchanges
	free      chan *Batch[T]       // recycled batches
	opts      ExchangeOptions
	hash      func(T) uint64
	remote    remote[T] // for channels to or from another process (remote.go)
}

// NewExchange connects senders to receivers. notify holds, per receiver, the
// channel that wakes its gate. hash maps a record to its key's hash; it is
// used by the Hash pattern only.
func NewExchange[T any](pattern Pattern, senders int, notify []chan struct{}, hash func(T) uint64, opts ExchangeOptions) *Exchange[T] {
	if opts.BatchSize <= 0 {
		opts.BatchSize = batchSize[T]()
	}
	if opts.Capacity <= 0 {
		opts.Capacity = 4
	}
	if opts.MaxParallelism <= 0 {
		opts.MaxParallelism = keygroup.DefaultMaxParallelism
	}
	e := &Exchange[T]{pattern: pattern, senders: senders, receivers: len(notify), notify: notify, opts: opts, hash: hash}
	e.chans = make([][]chan envelope[T], senders)
	e.prio = make([][]chan int64, senders)
	for s := range e.chans {
		e.chans[s] = make([]chan envelope[T], e.receivers)
		e.prio[s] = make([]chan int64, e.receivers)
		for r := range e.chans[s] {
			if pattern == Forward && s != r {
				continue
			}
			e.chans[s][r] = make(chan envelope[T], opts.Capacity)
			e.prio[s][r] = make(chan int64, 2)
		}
	}
	// Enough free batches for every channel to be full and every sender and
	// receiver to hold one. A free list, not a sync.Pool: a pool is emptied
	// at every garbage collection, and refilling it costs an allocation and
	// a clear of a whole batch each time.
	e.free = make(chan *Batch[T], senders*e.receivers*(opts.Capacity+2))
	return e
}

// Inputs returns the channels that receiver reads, one per connected sender.
func (e *Exchange[T]) Inputs(receiver int) []Input[T] {
	var in []Input[T]
	for s := range e.chans {
		if ch := e.chans[s][receiver]; ch != nil {
			in = append(in, Input[T]{ch: ch, prio: e.prio[s][receiver], ex: e})
		}
	}
	return in
}

func (e *Exchange[T]) getBatch() *Batch[T] {
	select {
	case b := <-e.free:
		return b
	default:
		return &Batch[T]{Records: make([]Record[T], 0, e.opts.BatchSize)}
	}
}

// putBatch recycles b, cleared: a record left in a recycled batch would
// keep what it points to alive until a later batch as long overwrote it,
// and a string cut from a source's line block keeps the whole block.
func (e *Exchange[T]) putBatch(b *Batch[T]) {
	clear(b.Records)
	b.Records = b.Records[:0]
	select {
	case e.free <- b:
	default:
	}
}

// Writer returns the collector through which sender emits into the exchange.
func (e *Exchange[T]) Writer(ctx context.Context, sender int, m *Metrics) *Writer[T] {
	w := &Writer[T]{
		ex:      e,
		ctx:     ctx,
		metrics: m,
		outs:    e.chans[sender],
		prio:    e.prio[sender],
		batches: make([]*Batch[T], e.receivers),
		size:    e.opts.BatchSize,
		timeout: e.opts.BufferTimeout.Milliseconds(),
		next:    sender % max(e.receivers, 1),
	}
	if e.opts.BufferTimeout == 0 {
		w.size = 1
	}
	if e.pattern == Forward {
		w.next = sender
	}
	return w
}

// Writer is the end of a chain that feeds an exchange. It implements
// Collector, Ticker (for the buffer timeout) and Output (for barriers).
type Writer[T any] struct {
	ex      *Exchange[T]
	ctx     context.Context
	metrics *Metrics
	outs    []chan envelope[T]
	prio    []chan int64
	batches []*Batch[T]
	size    int
	timeout int64 // milliseconds
	next    int   // the receiver for Forward, the round-robin cursor for Rebalance
	pending int   // records in unsent batches
	out     int64 // records sent, not yet added to metrics

	_ Pad // apart from the next subtask's
}

// Collect routes r to its receiver's batch and sends the batch when full.
func (w *Writer[T]) Collect(r *Record[T]) error {
	switch w.ex.pattern {
	case Forward:
		return w.add(w.next, r)
	case Rebalance:
		to := w.next
		if w.next++; w.next == len(w.outs) {
			w.next = 0
		}
		return w.add(to, r)
	case Hash:
		if len(w.outs) == 1 {
			// Every key group is the one receiver's: the key and its hash
			// (a call, and for a string a pass over it) would decide
			// nothing. A merge step at parallelism 1 reads such edges.
			return w.add(0, r)
		}
		g := keygroup.Of(w.ex.hash(r.Value), w.ex.opts.MaxParallelism)
		return w.add(keygroup.Subtask(g, w.ex.opts.MaxParallelism, len(w.outs)), r)
	default: // Broadcast
		for to := range w.outs {
			if err := w.add(to, r); err != nil {
				return err
			}
		}
		return nil
	}
}

func (w *Writer[T]) add(to int, r *Record[T]) error {
	b := w.batches[to]
	if b == nil {
		b = w.ex.getBatch()
		w.batches[to] = b
	}
	b.Records = append(b.Records, *r)
	w.pending++
	if len(b.Records) >= w.size {
		return w.sendBatch(to)
	}
	return nil
}

func (w *Writer[T]) sendBatch(to int) error {
	b := w.batches[to]
	w.batches[to] = nil
	n := len(b.Records)
	w.pending -= n
	w.out += int64(n)
	return w.send(to, envelope[T]{batch: b, kind: kindData})
}

// Flush sends every partial batch.
func (w *Writer[T]) Flush() error {
	if w.pending > 0 {
		for to, b := range w.batches {
			if b != nil && len(b.Records) > 0 {
				if err := w.sendBatch(to); err != nil {
					return err
				}
			}
		}
	}
	if w.out > 0 {
		w.metrics.RecordsOut.Add(w.out)
		w.out = 0
	}
	return nil
}

// Watermark flushes and sends wm to every receiver.
func (w *Writer[T]) Watermark(wm int64) error {
	setWatermark(&w.metrics.outputWM, wm)
	return w.control(envelope[T]{kind: kindWatermark, value: wm})
}

// Barrier flushes and sends the barrier of checkpoint id to every receiver:
// the records sent before it belong to the checkpoint, those after it do not.
func (w *Writer[T]) Barrier(id int64) error {
	return w.control(envelope[T]{kind: kindBarrier, value: id})
}

// UnalignedBarrier sends the barrier of checkpoint id ahead of the data
// every receiver has not read yet, on the priority channel, and a marker
// where it would have been in the data: the receivers store what lies
// between as the checkpoint's in-flight records.
func (w *Writer[T]) UnalignedBarrier(id int64) error {
	for to, p := range w.prio {
		if p == nil {
			continue
		}
		select {
		case p <- id:
		case <-w.ctx.Done():
			return w.ctx.Err()
		}
		select {
		case w.ex.notify[to] <- struct{}{}:
		default:
		}
	}
	return w.control(envelope[T]{kind: kindMarker, value: id})
}

// End flushes and tells every receiver that this sender is done.
func (w *Writer[T]) End() error {
	return w.control(envelope[T]{kind: kindEnd})
}

func (w *Writer[T]) control(e envelope[T]) error {
	if err := w.Flush(); err != nil {
		return err
	}
	for to := range w.outs {
		if w.outs[to] != nil {
			if err := w.send(to, e); err != nil {
				return err
			}
		}
	}
	return nil
}

// Tick flushes partial batches whose buffer timeout expired. The task calls
// it at most every buffer timeout.
func (w *Writer[T]) Tick(now int64) (int64, error) {
	if err := w.Flush(); err != nil {
		return NoWakeup, err
	}
	return now + max(w.timeout, 1), nil
}

func (w *Writer[T]) send(to int, e envelope[T]) error {
	out := w.outs[to]
	select {
	case out <- e:
	default:
		start := time.Now()
		w.metrics.beginBackpressure(start)
		select {
		case out <- e:
		case <-w.ctx.Done():
			w.metrics.endBackpressure(start)
			return w.ctx.Err()
		}
		w.metrics.endBackpressure(start)
	}
	select {
	case w.ex.notify[to] <- struct{}{}:
	default:
	}
	return nil
}
