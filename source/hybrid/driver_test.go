package hybrid_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/hybrid"
)

// This file runs hybrid sources through the source SPI the way the runtime
// does, but on one goroutine and in an order a seeded random generator
// picks: split requests reach the enumerator in order, a source's
// enumerator may answer a request at once or at some later step, readers
// take their mailboxes and are polled in any order, checkpoints are taken
// and the job crashes and restores at random, with the same parallelism or
// another. Every interleaving must give
// every record exactly once, and no record of a source before every record
// of the sources before it.

// listSplit is split ID of a listSource, records [Next, End).
type listSplit struct {
	ID   int `json:"id"`
	Next int `json:"next"`
	End  int `json:"end"`
}

func (s *listSplit) SplitID() string { return strconv.Itoa(s.ID) }

// listSource has splits splits of per records each, named
// "s<source>/<split>/<i>". Its enumerator answers requests at once, later
// (when the driver ticks it), or either at random; its reader may ask for
// two splits at a time.
type listSource struct {
	index    int
	splits   int
	per      int
	deferred bool // answer requests when ticked
	mixed    bool // answer at once or when ticked, at random
	eager    bool // the reader asks for two splits at a time
	rng      *rand.Rand
	enums    []*listEnum
}

func (s *listSource) Boundedness() source.Boundedness { return source.Bounded }

func (s *listSource) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	e := &listEnum{src: s, ctx: ctx}
	if rc, ok := ctx.(source.RestoringContext); ok {
		if splits, ok := rc.Restored(); ok {
			for _, sp := range splits {
				e.pending = append(e.pending, sp.(*listSplit))
			}
			s.enums = append(s.enums, e)
			return e, nil
		}
	}
	for i := range s.splits {
		e.pending = append(e.pending, &listSplit{ID: i, End: s.per})
	}
	s.enums = append(s.enums, e)
	return e, nil
}

func (s *listSource) NewReader(ctx source.ReaderContext) (source.Reader[string], error) {
	return &listReader{src: s, ctx: ctx}, nil
}

func (s *listSource) EncodeSplit(sp source.Split) ([]byte, error) { return json.Marshal(sp) }
func (s *listSource) DecodeSplit(b []byte) (source.Split, error) {
	var sp listSplit
	err := json.Unmarshal(b, &sp)
	return &sp, err
}

// all returns every record of the source.
func (s *listSource) all() []string {
	var out []string
	for i := range s.splits {
		for k := range s.per {
			out = append(out, fmt.Sprintf("s%d/%d/%d", s.index, i, k))
		}
	}
	return out
}

type listEnum struct {
	src     *listSource
	ctx     source.EnumeratorContext
	pending []*listSplit
	queue   []int
	closed  bool
	started bool
}

func (e *listEnum) Start(context.Context) error { e.started = true; return nil }

func (e *listEnum) HandleSplitRequest(subtask int) {
	if e.src.deferred || (e.src.mixed && e.src.rng.IntN(2) == 0) {
		e.queue = append(e.queue, subtask)
		return
	}
	e.answer(subtask)
}

func (e *listEnum) answer(subtask int) {
	if len(e.pending) == 0 {
		e.ctx.NoMoreSplits(subtask)
		return
	}
	sp := e.pending[0]
	e.pending = e.pending[1:]
	e.ctx.Assign(subtask, sp)
}

// tick answers the oldest deferred request.
func (e *listEnum) tick() bool {
	if e.closed || !e.started || len(e.queue) == 0 {
		return false
	}
	s := e.queue[0]
	e.queue = e.queue[1:]
	e.answer(s)
	return true
}

func (e *listEnum) AddSplitsBack(splits []source.Split, _ int) {
	for _, sp := range splits {
		e.pending = append(e.pending, sp.(*listSplit))
	}
}

func (e *listEnum) Snapshot() ([]source.Split, error) {
	var out []source.Split
	for _, sp := range e.pending {
		c := *sp
		out = append(out, &c)
	}
	return out, nil
}

func (e *listEnum) Close() error { e.closed = true; return nil }

// listReporting is a listEnum that reports where its source ended.
type listReporting struct{ *listEnum }

func (e listReporting) ReportEnd() (hybrid.End, error) {
	return hybrid.End{Timestamp: time.UnixMilli(int64(1000 * (e.src.index + 1))), Position: []byte(strconv.Itoa(e.src.index))}, nil
}

type reportingList struct{ *listSource }

func (s reportingList) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	e, err := s.listSource.NewEnumerator(ctx)
	if err != nil {
		return nil, err
	}
	return listReporting{e.(*listEnum)}, nil
}

type listReader struct {
	src    *listSource
	ctx    source.ReaderContext
	splits []*listSplit
	noMore bool
}

func (r *listReader) ask() {
	r.ctx.RequestSplit()
	if r.src.eager {
		r.ctx.RequestSplit()
	}
}

func (r *listReader) Start(context.Context) error { r.ask(); return nil }
func (r *listReader) AddSplits(splits []source.Split) {
	for _, sp := range splits {
		c := *sp.(*listSplit)
		r.splits = append(r.splits, &c)
	}
}
func (r *listReader) NoMoreSplits() { r.noMore = true }

func (r *listReader) Poll(_ context.Context, out source.Output[string]) (source.Status, error) {
	if _, ok := out.(*drvOutput); !ok {
		return source.EndOfInput, fmt.Errorf("the reader got output %T, not the one the runtime passed", out)
	}
	if len(r.splits) == 0 {
		if r.noMore {
			return source.EndOfInput, nil
		}
		return source.NothingAvailable, nil
	}
	sp := r.splits[0]
	for n := 0; n < 3 && sp.Next < sp.End; n++ {
		out.Collect(fmt.Sprintf("s%d/%d/%d", r.src.index, sp.ID, sp.Next))
		sp.Next++
	}
	if sp.Next == sp.End {
		r.splits = r.splits[1:]
		r.ask()
	}
	return source.MoreAvailable, nil
}

func (r *listReader) Snapshot(int64) ([]source.Split, error) {
	var out []source.Split
	for _, sp := range r.splits {
		c := *sp
		out = append(out, &c)
	}
	return out, nil
}

func (r *listReader) NotifyCheckpointComplete(context.Context, int64) error { return nil }

func (r *listReader) Close() error { return nil }

// driver plays the runtime.
type driver struct {
	t        *testing.T
	rng      *rand.Rand
	hs       *hybrid.Source[string]
	p        int
	rescale  bool                 // restore with a random parallelism
	ticks    func() []*listSource // the sources whose enumerators may be ticked
	enum     source.Enumerator
	readers  []*drvReader
	requests []int
	restored []source.Split
	restore  bool

	nextID    int64
	pending   *ckpt // triggered, not complete
	completed *ckpt
	committed []string
	carry     []string // records of abandoned checkpoints, published by the next
	runMax    int      // the largest source index emitted in this run
}

type drvReader struct {
	r       source.Reader[string]
	inbox   []item
	out     *drvOutput
	done    bool
	written []string // emitted since the reader's last snapshot
}

type item struct {
	splits []source.Split
	noMore bool
	marker int64
}

type ckpt struct {
	id      int64
	enum    [][]byte
	readers map[int][][]byte
	records []string
}

type drvOutput struct {
	d *driver
	r *drvReader
}

func (o *drvOutput) Collect(v string) {
	idx, _ := strconv.Atoi(v[1:strings.IndexByte(v, '/')])
	if idx < o.d.runMax {
		o.d.t.Fatalf("record %s of source %d emitted after a record of source %d", v, idx, o.d.runMax)
	}
	o.d.runMax = idx
	o.r.written = append(o.r.written, v)
}
func (o *drvOutput) CollectAt(v string, _ int64) { o.Collect(v) }

type drvEnumCtx struct{ d *driver }

func (c drvEnumCtx) Parallelism() int { return c.d.p }
func (c drvEnumCtx) Assign(s int, splits ...source.Split) {
	c.d.readers[s].inbox = append(c.d.readers[s].inbox, item{splits: splits})
}
func (c drvEnumCtx) NoMoreSplits(s int) {
	c.d.readers[s].inbox = append(c.d.readers[s].inbox, item{noMore: true})
}
func (c drvEnumCtx) Restored() ([]source.Split, bool) { return c.d.restored, c.d.restore }

type drvReaderCtx struct {
	d *driver
	s int
}

func (c drvReaderCtx) Subtask() int        { return c.s }
func (c drvReaderCtx) Parallelism() int    { return c.d.p }
func (c drvReaderCtx) Checkpointing() bool { return true }
func (c drvReaderCtx) RequestSplit()       { c.d.requests = append(c.d.requests, c.s) }

// start begins a run, from the last completed checkpoint if there is one.
func (d *driver) start() {
	t := d.t
	if d.enum != nil {
		d.enum.Close()
		for _, r := range d.readers {
			r.r.Close()
		}
	}
	d.requests, d.pending, d.runMax, d.carry = nil, nil, 0, nil
	d.restored, d.restore = nil, false
	var back []source.Split
	if c := d.completed; c != nil {
		d.restore = true
		for _, b := range c.enum {
			sp, err := d.hs.DecodeSplit(b)
			if err != nil {
				t.Fatal(err)
			}
			d.restored = append(d.restored, sp)
		}
		for s := range len(c.readers) {
			for _, b := range c.readers[s] {
				sp, err := d.hs.DecodeSplit(b)
				if err != nil {
					t.Fatal(err)
				}
				back = append(back, sp)
			}
		}
	}
	d.readers = make([]*drvReader, d.p)
	for s := range d.readers {
		d.readers[s] = &drvReader{}
	}
	enum, err := d.hs.NewEnumerator(drvEnumCtx{d})
	if err != nil {
		t.Fatal(err)
	}
	d.enum = enum
	if len(back) > 0 {
		enum.AddSplitsBack(back, -1)
	}
	for s, dr := range d.readers {
		r, err := d.hs.NewReader(drvReaderCtx{d, s})
		if err != nil {
			t.Fatal(err)
		}
		dr.r, dr.out = r, &drvOutput{d: d, r: dr}
		if err := r.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if err := enum.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (d *driver) encode(splits []source.Split) [][]byte {
	var out [][]byte
	for _, sp := range splits {
		b, err := d.hs.EncodeSplit(sp)
		if err != nil {
			d.t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// step does one random thing; it returns false when every reader is done.
func (d *driver) step() bool {
	t := d.t
	var live []int
	for s, r := range d.readers {
		if !r.done {
			live = append(live, s)
		}
	}
	if len(live) == 0 {
		return false
	}
	switch k := d.rng.IntN(100); {
	case k < 25 && len(d.requests) > 0:
		s := d.requests[0]
		d.requests = d.requests[1:]
		d.enum.HandleSplitRequest(s)
	case k < 35:
		for _, ls := range d.ticks() {
			for _, e := range ls.enums {
				e.tick()
			}
		}
	case k < 60:
		r := d.readers[live[d.rng.IntN(len(live))]]
		d.deliver(r)
	case k < 95:
		s := live[d.rng.IntN(len(live))]
		r := d.readers[s]
		st, err := r.r.Poll(context.Background(), r.out)
		if err != nil {
			t.Fatalf("subtask %d: %v", s, err)
		}
		if st == source.EndOfInput {
			r.done = true
			if c := d.pending; c != nil {
				// A finished task takes no more checkpoints: this one never
				// completes, and what it holds waits for the end.
				d.carry = append(d.carry, c.records...)
				d.pending = nil
			}
		}
	case k < 98:
		if d.pending == nil && len(live) == d.p {
			d.nextID++
			splits, err := d.enum.(source.SnapshottingEnumerator).Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			d.pending = &ckpt{id: d.nextID, enum: d.encode(splits), readers: map[int][][]byte{}}
			for _, r := range d.readers {
				r.inbox = append(r.inbox, item{marker: d.nextID})
			}
		}
	default:
		if d.rng.IntN(8) == 0 && len(live) == d.p {
			// Crash: what was not committed is lost. The job may come back
			// with another parallelism.
			if d.rescale {
				d.p = 1 + d.rng.IntN(3)
			}
			d.start()
		}
	}
	return true
}

// deliver hands a reader its mailbox, as the source task does before a
// Poll.
func (d *driver) deliver(r *drvReader) {
	items := r.inbox
	r.inbox = nil
	for _, it := range items {
		switch {
		case it.marker != 0:
			splits, err := r.r.Snapshot(it.marker)
			if err != nil {
				d.t.Fatal(err)
			}
			c := d.pending
			if c == nil || c.id != it.marker {
				continue // abandoned: what was written waits for a later one
			}
			c.readers[slices.Index(d.readers, r)] = d.encode(splits)
			c.records = append(c.records, r.written...)
			r.written = nil
			if len(c.readers) == d.p {
				d.committed = append(append(d.committed, d.carry...), c.records...)
				d.carry = nil
				d.completed, d.pending = c, nil
				for _, rr := range d.readers {
					if l, ok := rr.r.(source.CheckpointListener); ok {
						if err := l.NotifyCheckpointComplete(context.Background(), c.id); err != nil {
							d.t.Fatal(err)
						}
					}
				}
			}
		case it.noMore:
			r.r.NoMoreSplits()
		default:
			r.r.AddSplits(it.splits)
		}
	}
}

func TestInterleavingsExactlyOnce(t *testing.T) {
	seeds := 150
	if testing.Short() {
		seeds = 30
	}
	for _, p := range []int{1, 2, 3} {
		for seed := range seeds {
			runDriver(t, p, uint64(seed))
		}
	}
}

func runDriver(t *testing.T, p int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, uint64(p)))
	s0 := &listSource{index: 0, splits: 4, per: 5, rng: rng}
	s1 := &listSource{index: 1, splits: 3, per: 4, deferred: true, eager: true, rng: rng}
	var made []*listSource
	var prevs []hybrid.End
	hs, err := hybrid.New[string](s0,
		hybrid.Then[string](reportingList{s1}),
		hybrid.ThenFunc(source.Bounded, func(prev hybrid.End) (source.Source[string], error) {
			prevs = append(prevs, prev)
			s := &listSource{index: 2, splits: 5, per: 3, mixed: true, eager: seed%2 == 0, rng: rng}
			made = append(made, s)
			return s, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	d := &driver{t: t, rng: rng, hs: hs, p: p, rescale: seed%3 == 0, ticks: func() []*listSource { return append([]*listSource{s0, s1}, made...) }}
	d.start()
	steps := 0
	for d.step() {
		if steps++; steps > 200_000 {
			t.Fatalf("p=%d seed=%d: no progress after %d steps: readers wait forever", p, seed, steps)
		}
	}
	d.committed = append(d.committed, d.carry...)
	for _, r := range d.readers {
		d.committed = append(d.committed, r.written...) // the end of input publishes the rest
		r.r.Close()
	}
	d.enum.Close()

	want := append(append(s0.all(), s1.all()...), (&listSource{index: 2, splits: 5, per: 3}).all()...)
	got := slices.Clone(d.committed)
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("p=%d seed=%d: got %d records, want %d exactly once:\n got %v\nwant %v", p, seed, len(got), len(want), got, want)
	}
	if len(prevs) == 0 {
		t.Fatalf("p=%d seed=%d: the third source was never made", p, seed)
	}
	for _, prev := range prevs {
		if prev.Source != 1 || !prev.Timestamp.Equal(time.UnixMilli(2000)) || string(prev.Position) != "1" {
			t.Fatalf("p=%d seed=%d: the third source was made after %+v, want source 1's report (2000 ms, position 1)", p, seed, prev)
		}
	}
}
