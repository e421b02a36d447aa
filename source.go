package weir

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/source"
)

// FromSource adds a source to the job. Each parallel subtask runs one
// reader of src; its enumerator hands out the splits.
func FromSource[T any](env *Env, src source.Source[T], opts ...OpOption) Stream[T] {
	return fromSource(env, src, nil, opts)
}

func fromSource[T any](env *Env, src source.Source[T], strategy *WatermarkStrategy[T], opts []OpOption) Stream[T] {
	n := newNode[T](env, "source", opts)
	n.Source = &sourceOf[T]{env: env, src: src, strategy: strategy}
	n.Signature += fmt.Sprintf(" source=%T", src)
	return Stream[T]{env, n}
}

// sourceOf implements plan.Source for a source of T.
type sourceOf[T any] struct {
	env      *Env
	src      source.Source[T]
	strategy *WatermarkStrategy[T] // nil: the reader's own watermarks
}

func (s *sourceOf[T]) Splits() (source.Checkpointed, error) {
	c, ok := s.src.(source.Checkpointed)
	if !ok {
		return nil, fmt.Errorf("%T cannot take part in checkpoints: it does not implement source.Checkpointed", s.src)
	}
	return c, nil
}

func (s *sourceOf[T]) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	return s.src.NewEnumerator(ctx)
}

func (s *sourceOf[T]) NewReader(t *plan.Subtask, out plan.Outputs, en *runtime.Enumeration) (plan.Reader, func(context.Context) error, error) {
	head := &sourceHead[T]{op: opOf(t, t.Head()), out: out.Main.(runtime.Collector[T]), log: t.Logger}
	if s, ok := head.out.(inPlaceStamper); ok {
		s.stampInPlace() // the head passes on the task's own records
	}
	if side, ok := out.Side(deadLetterTag); ok {
		dead, err := sideCollector[source.DeadLetter](side)
		if err != nil {
			return nil, nil, err
		}
		head.dead = dead
	}
	var paused func() bool
	if s.strategy != nil {
		head.wm = newSplitWatermarks(head, s.strategy, s.env.cfg.watermarkInterval)
		if s.strategy.alignGroup != "" {
			head.wm.align = t.AlignMember(s.strategy.alignGroup, s.strategy.maxDrift.Milliseconds())
			paused = head.wm.paused
		}
		t.OnTick(head.wm)
	}
	r, err := s.src.NewReader(en.ReaderContext(t.Ctx, t.Index, t.Logger))
	if err != nil {
		return nil, nil, err
	}
	task := &runtime.SourceTask[T]{
		Reader: r, Mailbox: en.Mailbox(t.Index), Head: head,
		Clock: t.Clock, Tickers: t.Tickers(), Outputs: t.Outputs(), Metrics: t.Metrics,
		Checkpointing: t.Checkpointing(), Paused: paused,
	}
	return r, task.Run, nil
}

// FromSourceWithWatermarks adds a source whose watermarks follow strategy
// per split, as Flink's fromSource(source, watermarkStrategy) does: a
// reader that reads several splits at once (the partitions of a Kafka
// topic) emits each split's records through the split's own output
// (source.SplitOutputs), each split has its own generator, and the
// reader's watermark is the least of its splits'. A partition that lags
// then holds the watermark back instead of seeing its records dropped as
// late. An idle split (no record for the strategy's idleness) does not hold
// it back; a reader whose splits are all idle marks its output idle.
//
// Watermarks the reader emits itself are replaced, except the final one at
// the end of a bounded input. With WithAlignment, a reader that runs ahead
// of its alignment group pauses.
func FromSourceWithWatermarks[T any](env *Env, src source.Source[T], strategy WatermarkStrategy[T], opts ...OpOption) Stream[T] {
	if err := strategy.validate(); err != nil {
		env.errs = append(env.errs, err)
	}
	return fromSource(env, src, &strategy, opts)
}

// SourceDeadLetters returns the records that s's reader read but could not
// decode (source.DeadLetterOutput). s must come straight from FromSource
// or FromSourceWithWatermarks. Dead letters are counted whether or not the
// job reads this stream.
func SourceDeadLetters[T any](s Stream[T], opts ...OpOption) Stream[source.DeadLetter] {
	n := newNode[source.DeadLetter](s.env, "dead-letters", opts)
	if s.n.Source == nil {
		s.env.errs = append(s.env.errs, fmt.Errorf("weir: SourceDeadLetters: %q is not a source: pass the stream FromSource returned", s.n.Name))
	}
	n.SideOf, n.Tag = s.n, deadLetterTag
	return Stream[source.DeadLetter]{s.env, n}
}

// deadLetterTag tags a source's dead letters, a side output of its reader.
var deadLetterTag = &plan.Tag{Name: "dead-letters"}

// sourceHead is the first collector of a source's chain. It keeps one
// watermark generator per split when the source has a strategy, and
// routes dead letters to the stream SourceDeadLetters returns.
type sourceHead[T any] struct {
	op
	out  runtime.Collector[T]
	dead runtime.Collector[source.DeadLetter] // nil when nobody reads them
	wm   *splitWatermarks[T]                  // nil without a strategy
	log  *slog.Logger                         // the subtask's
	// whole is the watermark state of the records a reader emits without
	// naming their split (wm's split ""), kept here: a map lookup per
	// record otherwise.
	whole *splitState

	loggedDead bool
	deadRec    runtime.Record[source.DeadLetter] // lent to dead

	_ runtime.Pad // apart from the next subtask's
}

var _ runtime.SplitHead[int] = (*sourceHead[int])(nil)

func (h *sourceHead[T]) Collect(r *runtime.Record[T]) error {
	if h.wm != nil {
		if h.whole == nil {
			h.whole = h.wm.split("")
		}
		return h.wm.collect(h.whole, r)
	}
	return h.out.Collect(r)
}

// Watermark forwards the reader's own watermarks, unless a strategy makes
// them: then only the final one passes.
func (h *sourceHead[T]) Watermark(wm int64) error {
	if h.wm != nil {
		if wm != runtime.EndOfTime {
			return nil
		}
		h.wm.finished()
	}
	return h.emitWatermark(wm)
}

func (h *sourceHead[T]) emitWatermark(wm int64) error {
	if h.dead != nil {
		if err := h.dead.Watermark(wm); err != nil {
			return err
		}
	}
	return h.out.Watermark(wm)
}

func (h *sourceHead[T]) End() error {
	if h.wm != nil {
		h.wm.finished()
	}
	if h.dead != nil {
		if err := h.dead.End(); err != nil {
			return err
		}
	}
	return h.out.End()
}

// Split returns the collector of one split's records.
func (h *sourceHead[T]) Split(id string) runtime.Collector[T] {
	if h.wm == nil {
		return h.out
	}
	return splitCollector[T]{h: h, s: h.wm.split(id)}
}

// ReleaseSplit stops the split from holding the watermark back.
func (h *sourceHead[T]) ReleaseSplit(id string) {
	if h.wm != nil {
		delete(h.wm.splits, id)
		if id == "" {
			h.whole = nil
		}
	}
}

// DeadLetter sends d to the dead-letter stream, or logs the first one when
// the job does not read that stream.
func (h *sourceHead[T]) DeadLetter(d source.DeadLetter) error {
	if h.dead != nil {
		h.deadRec = runtime.Record[source.DeadLetter]{Value: d, Time: runtime.NoTimestamp}
		return h.dead.Collect(&h.deadRec)
	}
	if !h.loggedDead {
		h.loggedDead = true
		h.log.Warn("a source record could not be decoded; it is counted as a dead letter (read them with weir.SourceDeadLetters)",
			"source", h.name, "split", d.Split, "position", d.Position, "reason", d.Reason)
	}
	return nil
}

// splitCollector is the collector of one split.
type splitCollector[T any] struct {
	h *sourceHead[T]
	s *splitState
}

func (c splitCollector[T]) Collect(r *runtime.Record[T]) error { return c.h.wm.collect(c.s, r) }
func (c splitCollector[T]) Watermark(wm int64) error           { return c.h.Watermark(wm) }
func (c splitCollector[T]) End() error                         { return nil }

// splitWatermarks generates a reader's watermark from its splits'.
type splitWatermarks[T any] struct {
	head      *sourceHead[T]
	ts        func(T) time.Time
	delay     int64
	idleAfter int64
	interval  int64

	splits   map[string]*splitState
	emitted  int64
	idle     bool
	nextEmit int64
	started  int64 // the last tick with splits, for the idleness of a reader without
	done     bool

	align *runtime.AlignMember

	_ runtime.Pad // apart from the next subtask's
}

type splitState struct {
	max        int64 // largest timestamp seen
	seen       bool  // a record arrived since the last tick
	lastActive int64
	idle       bool

	_ runtime.Pad // apart from the next subtask's
}

func newSplitWatermarks[T any](h *sourceHead[T], strategy *WatermarkStrategy[T], interval time.Duration) *splitWatermarks[T] {
	return &splitWatermarks[T]{
		head: h, ts: strategy.timestamp, delay: strategy.outOfOrder.Milliseconds(),
		idleAfter: strategy.idleTimeout.Milliseconds(), interval: interval.Milliseconds(),
		splits: make(map[string]*splitState), emitted: runtime.NoTimestamp,
	}
}

func (w *splitWatermarks[T]) split(id string) *splitState {
	s, ok := w.splits[id]
	if !ok {
		s = &splitState{max: runtime.NoTimestamp}
		w.splits[id] = s
	}
	return s
}

// collect stamps r and forwards it. r is the source task's own record,
// lent to the chain's head alone: the head may stamp it in place.
func (w *splitWatermarks[T]) collect(s *splitState, r *runtime.Record[T]) error {
	if w.ts != nil {
		prev := w.head.enter()
		r.Time = w.ts(r.Value).UnixMilli()
		w.head.leave(prev)
	}
	if r.Time > s.max {
		s.max = r.Time
	}
	s.seen, s.idle, w.idle = true, false, false
	return w.head.out.Collect(r)
}

// current is the reader's watermark now: the least of its active splits'.
// ok is false when every split is idle, or there are none.
func (w *splitWatermarks[T]) current() (wm int64, ok bool) {
	wm = math.MaxInt64
	for _, s := range w.splits {
		if s.idle {
			continue
		}
		ok = true
		if s.max == runtime.NoTimestamp {
			return runtime.NoTimestamp, true
		}
		if c := s.max - w.delay - 1; c < wm {
			wm = c
		}
	}
	return wm, ok
}

// Tick marks idle splits, emits the watermark when its interval has come,
// and reports the reader's watermark to its alignment group.
func (w *splitWatermarks[T]) Tick(now int64) (int64, error) {
	if w.done {
		return runtime.NoWakeup, nil
	}
	if w.started == 0 || len(w.splits) > 0 {
		w.started = now // the last time the reader held a split
	}
	paused := w.paused()
	for _, s := range w.splits {
		if s.seen || s.lastActive == 0 || paused {
			// A paused reader reads nothing on purpose: that is not idleness.
			s.lastActive, s.seen = now, false
		}
		if w.idleAfter > 0 && now-s.lastActive >= w.idleAfter {
			s.idle = true
		}
	}
	wm, active := w.current()
	if now >= w.nextEmit {
		w.nextEmit = now + w.interval
		if active && wm != runtime.NoTimestamp && wm > w.emitted {
			w.emitted = wm
			if err := w.head.emitWatermark(wm); err != nil {
				return runtime.NoWakeup, err
			}
		}
	}
	// Splits that are all idle waited their timeout each; a reader without
	// splits waits it from when it last held one.
	if !active && !w.idle && w.idleAfter > 0 && (len(w.splits) > 0 || now-w.started >= w.idleAfter) {
		w.idle = true
		if err := w.head.emitWatermark(runtime.Idle); err != nil {
			return runtime.NoWakeup, err
		}
	}
	if w.align != nil {
		// A reader without splits yet holds its group back until it is
		// idle: its first split may hold the oldest records.
		if !active {
			wm = runtime.NoTimestamp
		}
		w.align.Report(wm, !w.idle)
	}
	return w.nextEmit, nil
}

// paused reports whether the reader runs too far ahead of its alignment
// group to read on. It is asked before every poll, with the reader's
// watermark as of now and the group's as of the last tick, so a fast
// reader overshoots by at most one poll.
func (w *splitWatermarks[T]) paused() bool {
	if w.align == nil || w.done {
		return false
	}
	wm, active := w.current()
	return active && w.align.Holds(wm)
}

// finished takes a reader at its end out of its alignment group.
func (w *splitWatermarks[T]) finished() {
	w.done = true
	if w.align != nil {
		w.align.Leave()
	}
}

// WithAlignment puts the source in an alignment group, as Flink's
// withWatermarkAlignment does: a reader whose watermark runs more than
// maxDrift ahead of the least watermark in the group stops reading until
// the others catch up, so that one fast source does not fill the state of
// the operators downstream with records they must keep until the slow one
// arrives. Readers that have no watermark yet, are idle or have finished
// do not hold the group back; one that has no watermark yet does (it may
// not have its splits yet, or not have read them). Pair alignment with WithIdleness
// when some splits may stay empty. It applies to FromSourceWithWatermarks
// only.
func (w WatermarkStrategy[T]) WithAlignment(group string, maxDrift time.Duration) WatermarkStrategy[T] {
	w.alignGroup, w.maxDrift = group, maxDrift
	return w
}
