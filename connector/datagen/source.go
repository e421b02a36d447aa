package datagen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/splitreader"
)

// maxBatch bounds the lines one Poll emits.
const maxBatch = 4096

// maxWait bounds how long Poll waits for the rate limit before it returns
// source.NothingAvailable.
const maxWait = 50 * time.Millisecond

// maxSkip bounds the lines one Poll regenerates and drops to reach the
// position of a restored split: about 20 ms of work.
const maxSkip = 100_000

// burstWindow is how much time's worth of lines the rate limiter lets out at
// once after a pause: a job that was backpressured catches up by at most
// this much, it does not flood.
const burstWindow = 100 * time.Millisecond

// SplitID is the ID of the one split of a Source.
const SplitID = "datagen"

// Split is the one split of a Source: the generator's configuration is the
// source's, and Emitted is its position, the number of lines emitted so far.
// A reader given a Split with Emitted > 0 regenerates the sequence from the
// start and skips that many lines, so a restored job goes on with the very
// lines it would have emitted.
type Split struct {
	Emitted int64
}

// SplitID implements source.Split.
func (*Split) SplitID() string { return SplitID }

// Source emits generated access-log lines. It implements
// source.Source[string]; create it with NewSource.
//
// The source has one split, which subtask 0 reads, so its output is the
// generator's sequence in order whatever the job's parallelism; the readers
// of other subtasks end at once. Give the source parallelism 1 (an op
// option of weir.FromSource) and let the next step spread the lines.
type Source struct {
	cfg   Config // effective, defaults applied
	rate  float64
	limit int64
	now   func() time.Time
}

var _ source.Source[string] = (*Source)(nil)

type sourceConfig struct {
	gen     Config
	rate    float64
	paced   bool // Rate given
	limit   int64
	bounded bool // Limit given
}

// Rate paces the source at linesPerSecond of wall-clock time, with a token
// bucket that lets out at most 100 ms worth of lines at once. It must be
// positive. By default the source emits as fast as the job takes lines.
//
// Rate paces wall-clock time only; the event time of the lines advances at
// [EventsPerSecond]. Set both to the same value for event time that flows
// as fast as the clock.
func Rate(linesPerSecond float64) SourceOption {
	return sourceOption(func(c *sourceConfig) { c.rate, c.paced = linesPerSecond, true })
}

// Limit makes the source bounded: it ends after n lines, which must not be
// negative. By default the source is unbounded.
func Limit(n int64) SourceOption {
	return sourceOption(func(c *sourceConfig) { c.limit, c.bounded = n, true })
}

// NewSource returns a source of the lines of a Generator configured by the
// options, paced by Rate and ended by Limit; or an error that lists every
// problem with the options, each naming the option and the fix.
func NewSource(opts ...SourceOption) (*Source, error) {
	var sc sourceConfig
	sc.gen = defaultConfig()
	for _, o := range opts {
		o.applySource(&sc)
	}
	var errs []error
	if err := sc.gen.validate(); err != nil {
		errs = append(errs, err)
	}
	if r := sc.rate; sc.paced && !(r > 0 && !math.IsInf(r, 0)) {
		errs = append(errs, fmt.Errorf("datagen: Rate(%v): pass a positive number of lines per second, or leave Rate out for as fast as possible", r))
	}
	if sc.bounded && sc.limit < 0 {
		errs = append(errs, fmt.Errorf("datagen: Limit(%d): pass zero or a positive number of lines, or leave Limit out for an unbounded source", sc.limit))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if !sc.bounded {
		sc.limit = -1
	}
	sc.gen.Start = sc.gen.Start.Truncate(time.Second)
	return &Source{cfg: sc.gen, rate: sc.rate, limit: sc.limit, now: time.Now}, nil
}

// Config returns the effective generator configuration.
func (s *Source) Config() Config { return s.cfg }

// Boundedness returns source.Bounded with Limit and source.Unbounded
// without.
func (s *Source) Boundedness() source.Boundedness {
	if s.limit >= 0 {
		return source.Bounded
	}
	return source.Unbounded
}

// NewEnumerator returns the enumerator, which gives the one split to
// subtask 0 and no split to the others.
//
// When the job restores a checkpoint (its context has a Restored method),
// the enumerator holds the split only if it was unassigned then; otherwise
// the split comes back from the reader that held it with AddSplitsBack.
func (s *Source) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	e := &enumerator{ctx: ctx, pending: &Split{}}
	if rc, ok := ctx.(interface{ Restored() ([]source.Split, bool) }); ok {
		if splits, restoring := rc.Restored(); restoring {
			e.pending = nil
			e.AddSplitsBack(splits, 0)
		}
	}
	return e, nil
}

// splitRecord is the stored form of a Split, versioned.
type splitRecord struct {
	Version int   `json:"v"`
	Emitted int64 `json:"emitted"`
}

// EncodeSplit encodes a Split for a checkpoint.
func (s *Source) EncodeSplit(sp source.Split) ([]byte, error) {
	ds, ok := sp.(*Split)
	if !ok {
		return nil, fmt.Errorf("datagen: cannot encode split %q of type %T: it is not a datagen split", sp.SplitID(), sp)
	}
	return json.Marshal(splitRecord{Version: 1, Emitted: ds.Emitted})
}

// DecodeSplit decodes what EncodeSplit wrote.
func (s *Source) DecodeSplit(b []byte) (source.Split, error) {
	var r splitRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("datagen: decode split: %w", err)
	}
	if r.Version != 1 {
		return nil, fmt.Errorf("datagen: decode split: unsupported version %d (this weir reads version 1)", r.Version)
	}
	if r.Emitted < 0 {
		return nil, fmt.Errorf("datagen: decode split: negative position %d", r.Emitted)
	}
	return &Split{Emitted: r.Emitted}, nil
}

// NewReader returns the reader of one subtask: the split reader base,
// which asks for the one split; subtask 0 gets it and generates its lines,
// the others end at once.
func (s *Source) NewReader(ctx source.ReaderContext) (source.Reader[string], error) {
	open := func(_ context.Context, sp *Split) (splitreader.Reader[string, *Split], error) {
		return &reader{src: s, pos: *sp, gen: newGenerator(s.cfg), skip: sp.Emitted}, nil
	}
	return splitreader.New(ctx, open, splitreader.Options{Name: "datagen"}), nil
}

// enumerator holds the split until subtask 0 asks for it. A split handed
// back (a failed reader's, or a restored one before Start) replaces it.
type enumerator struct {
	ctx     source.EnumeratorContext
	pending *Split // nil once assigned
}

func (e *enumerator) Start(context.Context) error { return nil }

func (e *enumerator) HandleSplitRequest(subtask int) {
	if subtask == 0 && e.pending != nil {
		e.ctx.Assign(0, e.pending)
		e.pending = nil
	}
	e.ctx.NoMoreSplits(subtask)
}

func (e *enumerator) AddSplitsBack(splits []source.Split, _ int) {
	for _, sp := range splits {
		if s, ok := sp.(*Split); ok {
			c := *s
			e.pending = &c
		}
	}
}

// Snapshot returns the split if it is not assigned yet.
func (e *enumerator) Snapshot() ([]source.Split, error) {
	if e.pending == nil {
		return nil, nil
	}
	c := *e.pending
	return []source.Split{&c}, nil
}

func (e *enumerator) Close() error { return nil }

// reader generates the lines of the split.
type reader struct {
	src  *Source
	pos  Split // Emitted: the lines emitted so far
	gen  *Generator
	skip int64 // lines gen must still skip to reach the split's position
	buf  []byte

	// token bucket, when src.rate > 0
	tokens float64
	last   time.Time
}

// Read emits the next batch of lines, at most what the rate allows. When
// the rate holds it back, it waits at most 50 ms and returns
// NothingAvailable. With Limit, the split is finished after that many
// lines.
func (r *reader) Read(ctx context.Context, out source.Output[string]) (splitreader.Status, error) {
	if r.skip > 0 {
		// Regenerate the lines emitted before the split's position a chunk
		// at a time, so that Read stays short.
		for range min(r.skip, maxSkip) {
			r.buf, _ = r.gen.Next(r.buf[:0])
		}
		r.skip -= min(r.skip, maxSkip)
		return splitreader.MoreAvailable, nil
	}
	n := int64(maxBatch)
	if lim := r.src.limit; lim >= 0 {
		n = max(0, min(n, lim-r.pos.Emitted))
	}
	if r.src.rate > 0 && n > 0 {
		allowed, d := r.take(n)
		if allowed == 0 {
			wait(ctx, d)
			return splitreader.NothingAvailable, nil
		}
		n = allowed
	}
	for range n {
		r.buf, _ = r.gen.Next(r.buf[:0])
		out.Collect(string(r.buf))
	}
	r.pos.Emitted += n
	if lim := r.src.limit; lim >= 0 && r.pos.Emitted >= lim {
		return splitreader.Finished, nil
	}
	return splitreader.MoreAvailable, nil
}

// take removes up to n tokens from the bucket and returns how many it
// removed; when none, it also returns how long until one is there, at most
// maxWait.
func (r *reader) take(n int64) (int64, time.Duration) {
	now := r.src.now()
	burst := max(1, r.src.rate*burstWindow.Seconds())
	if r.last.IsZero() {
		r.tokens = 1 // the first line goes at once
	} else {
		r.tokens = min(burst, r.tokens+now.Sub(r.last).Seconds()*r.src.rate)
	}
	r.last = now
	got := min(n, int64(r.tokens))
	if got == 0 {
		d := time.Duration((1 - r.tokens) / r.src.rate * float64(time.Second))
		return 0, min(max(d, time.Millisecond), maxWait)
	}
	r.tokens -= float64(got)
	return got, 0
}

// Split returns the split with the number of lines emitted so far.
func (r *reader) Split() *Split {
	c := r.pos
	return &c
}

// Progress implements splitreader.ProgressReporter: the lines emitted, and
// those still to emit with Limit (-1 without).
func (r *reader) Progress() (position, lag int64) {
	if lim := r.src.limit; lim >= 0 {
		return r.pos.Emitted, max(0, lim-r.pos.Emitted)
	}
	return r.pos.Emitted, -1
}

// Close drops the generator.
func (r *reader) Close() error {
	r.gen = nil
	return nil
}

// wait sleeps for d or until ctx is done.
func wait(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
