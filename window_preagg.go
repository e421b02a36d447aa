package weir

import (
	"context"
	"sync/atomic"

	"github.com/weirstream/weir/internal/keyindex"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/window"
)

// Pre-aggregation (Flink's local-global aggregation): a window aggregate
// whose AggregateFunc has Merge folds the records of each key and window
// inside the upstream subtask, at the end of its chain, and sends the
// partial accumulators through the keyed exchange instead of the records;
// the window operator merges them. Far fewer and smaller records cross the
// exchange, and the window operator does one state lookup per partial
// instead of one per record.
//
// Results stay exact:
//
//  1. The upstream holds partials for a bounded number of keys and windows
//     (PreAggregate) and sends them on before every watermark, barrier and
//     end of input, and whenever its task is about to wait for input. So a
//     window fires downstream only after every partial of it arrived, and
//     a checkpoint's barrier follows the partials of the records before it:
//     nothing is held across a checkpoint, and no state is added to it.
//  2. A record whose window is due by the watermark the upstream has
//     forwarded, or that comes after an idle watermark, crosses the
//     exchange as it is: the window operator treats it as it treats every
//     record (allowed lateness, late records to LateRecordsTo), one by one.
//  3. A partial that still arrives after its window closed (an upstream
//     that was idle while others moved the watermark on, or one that
//     restarted from a checkpoint behind it) cannot go to LateRecordsTo,
//     which takes records: its records count as dropped
//     (Env.DroppedLateRecords).

// Pre-aggregation pays only where keys repeat: each record costs a lookup
// upstream, each partial a trip through the exchange and a lookup in the
// window operator. An upstream subtask that sends more than one partial
// for every two records it folded (measured over at least preAggSample
// times its bound) sends the next preAggBypass times its bound as they
// are, then measures again: a stream whose keys rarely repeat within the
// bound costs what it would without pre-aggregation, and one whose keys
// start repeating is folded again.
const (
	preAggSample = 4
	preAggBypass = 64
)

// DefaultPreAggregate is how many partial accumulators (keys and windows)
// an upstream subtask holds before it sends them on, unless PreAggregate
// says otherwise.
const DefaultPreAggregate = 4096

// PreAggregate bounds the pre-aggregation of a window aggregate: each
// upstream subtask folds records into at most n partial accumulators (one
// per key and window) before it sends them to the window operator; 0
// turns pre-aggregation off for this window, so that every record crosses
// the exchange. The default is DefaultPreAggregate. A job with
// BufferTimeout(0), which sends every record at once, does not
// pre-aggregate.
//
// Partials wait at most for the next watermark (WatermarkInterval), or
// until the upstream's task has no input: running results of EarlyFiring
// may lag by as much. An upstream subtask that finds it sends more than
// one partial for every two records it folds (its keys rarely repeat
// within n) sends records as they are for a while, then tries again.
//
// Results are exact, late records included, with one exception: a partial
// that reaches the window operator after its window closed (possible only
// when its upstream subtask was idle while others moved the watermark on,
// or restarted from a checkpoint behind them) cannot go to LateRecordsTo,
// which takes records; its records count in Env.DroppedLateRecords. Turn
// pre-aggregation off where every late record must reach LateRecordsTo.
//
// Pre-aggregation needs AggregateFunc.Merge, and applies to event-time
// windows that do not merge (tumbling, sliding); Merge must give what Add
// would have given for the records of both accumulators.
func PreAggregate(n int) WindowOption {
	return windowOptionFunc(func(c *windowConfig) { c.preAgg, c.preAggSet = n, true })
}

// preAggregates reports whether a window aggregate pre-aggregates.
func (ws WindowedStream[K, T]) preAggregates(merge bool) bool {
	n := ws.preAggLimit()
	if ws.cfg.preAggSet {
		n = ws.cfg.preAgg
	}
	a := ws.assigner
	return n > 0 && merge && a != nil && !a.Merging() && a.Time() == window.EventTime
}

func (ws WindowedStream[K, T]) preAggLimit() int {
	if ws.cfg.preAggSet {
		return ws.cfg.preAgg
	}
	return DefaultPreAggregate
}

// partial is what crosses the exchange of a pre-aggregated window: the
// accumulator of one key and window, folded from Records records of one
// upstream subtask, or, with Raw, one record (Value) as it came.
//
// Its fields are exported because records in flight are stored in
// unaligned checkpoints.
type partial[K comparable, T, A any] struct {
	Key        K
	Start, End int64 // the window
	Acc        A
	Records    int64
	Raw        bool
	Value      T
}

// preAggChannel is the channel of a pre-aggregated window's input edge:
// its exchange carries partials, and its writers take the upstream's
// records and fold them.
type preAggChannel[K comparable, T, A any] struct {
	node     *plan.Node // the window operator, for its name in errors
	key      func(T) K
	hash     func(K) uint64
	clone    func(K) K
	assigner window.Assigner
	init     func() A
	add      func(A, T) A
	limit    int
}

func (c preAggChannel[K, T, A]) NewExchange(pattern runtime.Pattern, senders int, notify []chan struct{}, opts runtime.ExchangeOptions) plan.Exchange {
	hash := c.hash
	ex := runtime.NewExchange(pattern, senders, notify, func(p partial[K, T, A]) uint64 { return hash(p.Key) }, opts)
	if opts.BufferTimeout == 0 {
		// BufferTimeout(0) sends every record at once: nothing is held.
		c.limit = 0
	}
	return preAggExchange[K, T, A]{exchange: exchange[partial[K, T, A]]{ex}, c: c, senders: senders}
}

// preAggExchange is the exchange of a pre-aggregated window's input edge.
type preAggExchange[K comparable, T, A any] struct {
	exchange[partial[K, T, A]]
	c       preAggChannel[K, T, A]
	senders int
}

func (e preAggExchange[K, T, A]) Writer(ctx context.Context, sender int, m *runtime.Metrics, running *runtime.Running) (plan.Collector, plan.Writer) {
	tumbler, _ := e.c.assigner.(window.Tumbler)
	w := &preAggWriter[K, T, A]{
		w:        e.ex.Writer(ctx, sender, m),
		tumbler:  tumbler,
		op:       op{name: e.c.node.Name, subtask: sender, par: e.senders, running: running},
		key:      e.c.key,
		clone:    e.c.clone,
		assigner: e.c.assigner,
		init:     e.c.init,
		add:      e.c.add,
		limit:    e.c.limit,
		wm:       runtime.NoTimestamp,
	}
	return runtime.Collector[T](w), w
}

// partialWriter is what a preAggWriter writes to: the exchange's writer.
type partialWriter[P any] interface {
	runtime.Collector[P]
	runtime.Output
	runtime.Ticker
}

// preAggWriter folds the records of one upstream subtask into partials and
// writes them into the exchange. It is the end of the upstream's chain:
// a Collector of records for the chain, an Output and Ticker for the task.
type preAggWriter[K comparable, T, A any] struct {
	w partialWriter[partial[K, T, A]]
	op
	key      func(T) K
	clone    func(K) K // keygroup.Cloner
	assigner window.Assigner
	tumbler  window.Tumbler // the assigner, if its windows tile time
	init     func() A
	add      func(A, T) A
	limit    int

	wm    int64 // the last watermark forwarded, Idle excluded
	idle  bool  // the last watermark forwarded was Idle
	held  int   // partials held, over every pane
	panes []*preAggPane[K, A]
	// last is the pane of the previous record folded. Its window is not
	// due by wm: wm moves only with a flush, which forgets last.
	last *preAggPane[K, A]
	free []*preAggPane[K, A]
	buf  []window.Window
	rec  runtime.Record[partial[K, T, A]] // lent to w

	// Whether folding pays (preAggSample, preAggBypass): records folded
	// and partials sent since the last measure, and records still to send
	// as they are.
	folded, sent int
	bypass       int

	_ runtime.Pad // apart from the next subtask's
}

// preAggPane holds the partials of one window, in the order their keys
// came: the accumulator and record count of the key at position i at i.
type preAggPane[K comparable, A any] struct {
	win     window.Window
	keys    keyindex.Index[K]
	accs    []A
	records []int64
}

// Collect folds r into the partials of its key and windows, or sends it as
// it is when a window of it may have fired downstream (rule 2).
func (p *preAggWriter[K, T, A]) Collect(r *runtime.Record[T]) error {
	prev := p.enter()
	err := p.collectEntered(r)
	p.leave(prev)
	return err
}

// collectEntered is Collect, run with the operator entered (see op.enter).
func (p *preAggWriter[K, T, A]) collectEntered(r *runtime.Record[T]) (err error) {
	k := p.key(r.Value)
	if r.Time == runtime.NoTimestamp || p.idle || p.limit == 0 {
		return p.raw(k, r)
	}
	if p.bypass > 0 {
		p.bypass--
		return p.raw(k, r)
	}
	if p.tumbler != nil {
		return p.foldTumbling(k, r)
	}
	p.buf = p.assigner.Assign(r.Time, p.buf[:0])
	for _, win := range p.buf {
		if win.MaxTimestamp() <= p.wm {
			return p.raw(k, r)
		}
	}
	// A held key is a copy: one that shares a record's memory (a source's
	// line blocks, say) would keep it alive until the flush, and lookups
	// that compare with it would reach into memory long out of the cache.
	cloned := false
	for _, win := range p.buf {
		pane := p.last
		if pane == nil || pane.win != win {
			pane = p.pane(win)
			p.last = pane
		}
		k, cloned = p.fold(pane, k, cloned, r)
	}
	if p.held >= p.limit {
		return p.flush()
	}
	return nil
}

// fold folds r into k's partial in pane, adding one if k has none there;
// it returns k, copied when it was added (unless cloned says it is a copy
// already), so that a record's other windows take the copy.
func (p *preAggWriter[K, T, A]) fold(pane *preAggPane[K, A], k K, cloned bool, r *runtime.Record[T]) (K, bool) {
	i, ok := pane.keys.Find(k)
	if !ok {
		if !cloned {
			k, cloned = p.clone(k), true
		}
		i = pane.keys.Add(k)
		pane.accs = append(pane.accs, p.init())
		pane.records = append(pane.records, 0)
		p.held++
	}
	pane.accs[i] = p.add(pane.accs[i], r.Value)
	pane.records[i]++
	return k, cloned
}

// foldTumbling is collectEntered for windows that tile time: most
// records fall in the window of the record before, whose pane is at hand
// and known not to be due, so a record costs a comparison instead of
// Assign's slice and the loops over it.
func (p *preAggWriter[K, T, A]) foldTumbling(k K, r *runtime.Record[T]) error {
	pane := p.last
	if pane == nil || r.Time < pane.win.Start || r.Time >= pane.win.End {
		win := p.tumbler.Window(r.Time)
		if win.MaxTimestamp() <= p.wm {
			return p.raw(k, r)
		}
		pane = p.pane(win)
		p.last = pane
	}
	p.fold(pane, k, false, r)
	if p.held >= p.limit {
		return p.flush()
	}
	return nil
}

// raw sends r as it came, keyed by k.
func (p *preAggWriter[K, T, A]) raw(k K, r *runtime.Record[T]) error {
	p.rec = runtime.Record[partial[K, T, A]]{Value: partial[K, T, A]{Key: k, Raw: true, Value: r.Value}, Time: r.Time}
	return p.w.Collect(&p.rec)
}

// pane returns the pane of win, starting one if there is none.
func (p *preAggWriter[K, T, A]) pane(win window.Window) *preAggPane[K, A] {
	for _, pane := range p.panes {
		if pane.win == win {
			return pane
		}
	}
	var pane *preAggPane[K, A]
	if n := len(p.free); n > 0 {
		pane, p.free = p.free[n-1], p.free[:n-1]
	} else {
		pane = &preAggPane[K, A]{}
	}
	pane.win = win
	p.panes = append(p.panes, pane)
	return pane
}

// flush sends every partial held, window by window, keys in the order they
// came, each with its window's last millisecond as its time; and it
// measures whether folding pays.
func (p *preAggWriter[K, T, A]) flush() error {
	p.sent += p.held
	for _, pane := range p.panes {
		for _, n := range pane.records {
			p.folded += int(n)
		}
	}
	if p.folded >= preAggSample*p.limit {
		if 2*p.sent > p.folded {
			p.bypass = preAggBypass * p.limit
		}
		p.folded, p.sent = 0, 0
	}
	for _, pane := range p.panes {
		ts := pane.win.MaxTimestamp()
		for i, k := range pane.keys.Keys() {
			p.rec = runtime.Record[partial[K, T, A]]{Value: partial[K, T, A]{Key: k, Start: pane.win.Start, End: pane.win.End, Acc: pane.accs[i], Records: pane.records[i]}, Time: ts}
			if err := p.w.Collect(&p.rec); err != nil {
				return err
			}
		}
		pane.keys.Reset()
		clear(pane.accs)
		pane.accs, pane.records = pane.accs[:0], pane.records[:0]
		p.free = append(p.free, pane)
	}
	clear(p.panes)
	p.panes, p.last, p.held = p.panes[:0], nil, 0
	return nil
}

// Watermark sends the partials on, then wm (rule 1).
func (p *preAggWriter[K, T, A]) Watermark(wm int64) error {
	if err := p.flush(); err != nil {
		return err
	}
	if wm == runtime.Idle {
		p.idle = true
	} else {
		p.idle = false
		p.wm = max(p.wm, wm)
	}
	return p.w.Watermark(wm)
}

// End sends the partials on, then the end of input.
func (p *preAggWriter[K, T, A]) End() error {
	if err := p.flush(); err != nil {
		return err
	}
	return p.w.End()
}

// Flush sends the partials on and flushes the exchange's batches: the task
// is about to wait for input.
func (p *preAggWriter[K, T, A]) Flush() error {
	if err := p.flush(); err != nil {
		return err
	}
	return p.w.Flush()
}

// Barrier sends the partials on, then the barrier: they belong to the
// checkpoint (rule 1).
func (p *preAggWriter[K, T, A]) Barrier(id int64) error {
	if err := p.flush(); err != nil {
		return err
	}
	return p.w.Barrier(id)
}

// UnalignedBarrier sends the partials on, then the barrier ahead of them:
// they are stored with the checkpoint as records in flight.
func (p *preAggWriter[K, T, A]) UnalignedBarrier(id int64) error {
	if err := p.flush(); err != nil {
		return err
	}
	return p.w.UnalignedBarrier(id)
}

// LatencyMarker implements runtime.Output.
func (p *preAggWriter[K, T, A]) LatencyMarker(m runtime.LatencyMarker) error {
	return p.w.LatencyMarker(m)
}

// Tick implements runtime.Ticker: the exchange's buffer timeout. Partials
// wait for a watermark, the bound or an idle task: an event-time window
// fires on a watermark, which sends them first.
func (p *preAggWriter[K, T, A]) Tick(now int64) (int64, error) { return p.w.Tick(now) }

// preAggWindowOp is the window operator of a pre-aggregated window. A
// partial names its one window and owns its key, which pre-aggregation
// copied: it is read in place, where the key and fold functions of records
// would each take a copy of it. A raw record goes the way of every record.
type preAggWindowOp[K comparable, T, A, O any] struct {
	*windowOp[K, partial[K, T, A], A, O]
	merge   func(A, A) A
	dropped *atomic.Int64
}

func (w *preAggWindowOp[K, T, A, O]) Collect(r *runtime.Record[partial[K, T, A]]) error {
	prev := w.enter()
	var err error
	if r.Value.Raw {
		err = w.collectEntered(r)
	} else {
		err = w.collectPartial(&r.Value)
	}
	w.leave(prev)
	return err
}

// collectPartial merges p into its key's accumulator in its window, or
// adopts p's accumulator for a key's first partial: nothing upstream holds
// it once it is sent.
func (w *preAggWindowOp[K, T, A, O]) collectPartial(p *partial[K, T, A]) error {
	win := window.Window{Start: p.Start, End: p.End}
	if w.closed(win) {
		w.dropped.Add(p.Records) // rule 3
		return nil
	}
	fired := w.openWindow(win)
	acc, found, err := w.store.get(win, p.Key, true)
	switch {
	case err != nil:
		return w.wrap(err)
	case found:
		acc = w.merge(acc, p.Acc)
	default:
		acc = p.Acc
	}
	return w.put(p.Key, win, acc, fired)
}
