package nexmark

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/splitreader"
)

// maxBatch bounds the events one Read emits.
const maxBatch = 1024

// MaxSplits bounds [Splits].
const MaxSplits = 1 << 16

// Split is one split of a Source: the event numbers Index, Index+Count,
// Index+2·Count, … of the generator, of which Next have been emitted. The
// splits of a source share Count and have the indexes 0 to Count-1, so
// together they hold every event number once, and each split's events
// are in event-time order and advance at the same pace as the others'.
type Split struct {
	Index, Count int
	// Next is the split's position: the events before it were emitted,
	// the next one is event number Index + Next·Count.
	Next int64
}

// SplitID implements source.Split: "nexmark-INDEX-of-COUNT".
func (s *Split) SplitID() string {
	return "nexmark-" + strconv.Itoa(s.Index) + "-of-" + strconv.Itoa(s.Count)
}

// EventNumber returns the event number of the split's k-th event.
func (s *Split) EventNumber(k int64) int64 { return int64(s.Index) + k*int64(s.Count) }

// Source emits the events of a Generator with their event times. It
// implements source.Source[Event] and source.Checkpointed; create it with
// NewSource.
//
// The events are spread over splits (see [Split] and [Splits]), one per
// subtask, so that every subtask generates its share in parallel; a
// split's position in a checkpoint is the number of events it emitted,
// and a restored reader goes on with the very next event, generated
// directly from its number. Every split emits its events in event-time
// order, so a watermark strategy with no out-of-orderness fits.
//
// The source emits as fast as the job takes events; [EventsPerSecond] sets
// how fast event time advances, not the pace in wall-clock time.
type Source struct {
	gen    *Generator
	events int64 // -1: unbounded
	splits int   // 0: the parallelism of the first run
}

var (
	_ source.Source[Event] = (*Source)(nil)
	_ source.Checkpointed  = (*Source)(nil)
)

type sourceConfig struct {
	gen     Config
	events  int64
	bounded bool
	splits  int
	split   bool // Splits given
}

// Events makes the source bounded: it ends after the events numbered 0 to
// n-1; n must not be negative. By default the source is unbounded.
func Events(n int64) SourceOption {
	return sourceOption(func(c *sourceConfig) { c.events, c.bounded = n, true })
}

// Splits sets the number of splits, 1 to [MaxSplits]. The splits are
// fixed when the job first starts and kept through restores, whatever the
// parallelism then. By default there are as many splits as subtasks at the
// first start.
func Splits(n int) SourceOption {
	return sourceOption(func(c *sourceConfig) { c.splits, c.split = n, true })
}

// NewSource returns a source of the events of a Generator configured by
// the options, ended by Events; or an error that lists every problem with
// the options, each naming the option and the fix.
func NewSource(opts ...SourceOption) (*Source, error) {
	sc := sourceConfig{gen: defaultConfig()}
	for _, o := range opts {
		o.applySource(&sc)
	}
	var errs []error
	if err := sc.gen.validate(); err != nil {
		errs = append(errs, err)
	}
	if sc.bounded && sc.events < 0 {
		errs = append(errs, fmt.Errorf("nexmark: Events(%d): pass zero or a positive number of events, or leave Events out for an unbounded source", sc.events))
	}
	if sc.split && (sc.splits < 1 || sc.splits > MaxSplits) {
		errs = append(errs, fmt.Errorf("nexmark: Splits(%d): pass 1 to %d, or leave Splits out for one split per subtask", sc.splits, MaxSplits))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if !sc.bounded {
		sc.events = -1
	}
	return &Source{gen: newGenerator(sc.gen), events: sc.events, splits: sc.splits}, nil
}

// Config returns the effective generator configuration.
func (s *Source) Config() Config { return s.gen.cfg }

// Generator returns the source's generator.
func (s *Source) Generator() *Generator { return s.gen }

// Boundedness returns source.Bounded with Events and source.Unbounded
// without.
func (s *Source) Boundedness() source.Boundedness {
	if s.events >= 0 {
		return source.Bounded
	}
	return source.Unbounded
}

// NewEnumerator returns the enumerator. On a fresh start it makes the
// splits (see [Splits]); on a restore it holds the splits that were
// unassigned at the checkpoint and those readers hand back. It answers
// the request of subtask i with every split whose index is i modulo the
// parallelism, and then with NoMoreSplits.
func (s *Source) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	e := &enumerator{ctx: ctx}
	if rc, ok := ctx.(source.RestoringContext); ok {
		if splits, restoring := rc.Restored(); restoring {
			e.AddSplitsBack(splits, 0)
			return e, nil
		}
	}
	n := s.splits
	if n == 0 {
		n = max(1, ctx.Parallelism())
	}
	for i := range n {
		e.pending = append(e.pending, &Split{Index: i, Count: n})
	}
	return e, nil
}

// NewReader returns the reader of one subtask, which reads its splits in
// turn.
func (s *Source) NewReader(ctx source.ReaderContext) (source.Reader[Event], error) {
	open := func(_ context.Context, sp *Split) (splitreader.Reader[Event, *Split], error) {
		return &reader{src: s, pos: *sp}, nil
	}
	return splitreader.New(ctx, open, splitreader.Options{Name: "nexmark", Concurrent: true}), nil
}

// splitRecord is the stored form of a Split, versioned.
type splitRecord struct {
	Version int   `json:"v"`
	Index   int   `json:"index"`
	Count   int   `json:"count"`
	Next    int64 `json:"next"`
}

// EncodeSplit encodes a Split for a checkpoint.
func (s *Source) EncodeSplit(sp source.Split) ([]byte, error) {
	ns, ok := sp.(*Split)
	if !ok {
		return nil, fmt.Errorf("nexmark: cannot encode split %q of type %T: it is not a nexmark split", sp.SplitID(), sp)
	}
	return json.Marshal(splitRecord{Version: 1, Index: ns.Index, Count: ns.Count, Next: ns.Next})
}

// DecodeSplit decodes what EncodeSplit wrote.
func (s *Source) DecodeSplit(b []byte) (source.Split, error) {
	var r splitRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("nexmark: decode split: %w", err)
	}
	if r.Version != 1 {
		return nil, fmt.Errorf("nexmark: decode split: unsupported version %d (this weir reads version 1)", r.Version)
	}
	if r.Count < 1 || r.Count > MaxSplits || r.Index < 0 || r.Index >= r.Count || r.Next < 0 {
		return nil, fmt.Errorf("nexmark: decode split: index %d of %d at position %d is not a split this source makes", r.Index, r.Count, r.Next)
	}
	return &Split{Index: r.Index, Count: r.Count, Next: r.Next}, nil
}

// enumerator holds the splits no reader has.
type enumerator struct {
	ctx     source.EnumeratorContext
	pending []*Split
}

func (e *enumerator) Start(context.Context) error { return nil }

func (e *enumerator) HandleSplitRequest(subtask int) {
	p := max(1, e.ctx.Parallelism())
	var mine []source.Split
	rest := e.pending[:0]
	for _, sp := range e.pending {
		if sp.Index%p == subtask {
			mine = append(mine, sp)
		} else {
			rest = append(rest, sp)
		}
	}
	clear(e.pending[len(rest):])
	e.pending = rest
	if len(mine) > 0 {
		e.ctx.Assign(subtask, mine...)
	}
	e.ctx.NoMoreSplits(subtask)
}

func (e *enumerator) AddSplitsBack(splits []source.Split, _ int) {
	for _, sp := range splits {
		if s, ok := sp.(*Split); ok {
			c := *s
			e.pending = append(e.pending, &c)
		}
	}
}

// Snapshot returns the splits not assigned yet.
func (e *enumerator) Snapshot() ([]source.Split, error) {
	out := make([]source.Split, len(e.pending))
	for i, sp := range e.pending {
		c := *sp
		out[i] = &c
	}
	return out, nil
}

func (e *enumerator) Close() error { return nil }

// reader generates the events of one split.
type reader struct {
	src *Source
	pos Split
}

// Read emits the split's next events, up to maxBatch; with Events, the
// split is finished at the first event number past the end.
func (r *reader) Read(_ context.Context, out source.Output[Event]) (splitreader.Status, error) {
	for range maxBatch {
		n := r.pos.EventNumber(r.pos.Next)
		if r.src.events >= 0 && n >= r.src.events {
			return splitreader.Finished, nil
		}
		out.CollectAt(r.src.gen.Event(n), r.src.gen.TimestampMillis(n))
		r.pos.Next++
	}
	return splitreader.MoreAvailable, nil
}

// Split returns the split at its current position.
func (r *reader) Split() *Split {
	c := r.pos
	return &c
}

// Progress implements splitreader.ProgressReporter: the events the split
// emitted, and those it has still to emit (-1 without Events).
func (r *reader) Progress() (position, lag int64) {
	if r.src.events < 0 {
		return r.pos.Next, -1
	}
	// The split's events are Index, Index+Count, ... below events.
	total := max(0, (r.src.events-int64(r.pos.Index)+int64(r.pos.Count)-1)/int64(r.pos.Count))
	return r.pos.Next, max(0, total-r.pos.Next)
}

func (r *reader) Close() error { return nil }
