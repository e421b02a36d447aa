package splitreader_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/source/splitreader"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

// numSplit is the numbers [Next, End) of a numSource.
type numSplit struct {
	ID   string `json:"id"`
	Next int    `json:"next"`
	End  int    `json:"end"`
}

func (s *numSplit) SplitID() string { return s.ID }

// numSource emits the numbers [0, splits*perSplit), split k holding
// [k*perSplit, (k+1)*perSplit), through readers built on the base. Its
// enumerator hands out one split per request, or with push all of them at
// Start, round-robin.
type numSource struct {
	splits, perSplit int
	batch            int           // records per Read
	delay            time.Duration // slept in every Read: a slow source
	opts             splitreader.Options
	timed            bool // records carry their number as seconds since t0
	// tweak, if set, decides per record: emit it, report it as a dead
	// letter, or have one Read before it emit nothing.
	tweak func(v int) action
}

type action int

const (
	emit action = iota
	deadLetter
	pause // one Read says NothingAvailable and emits nothing before the record
	hold  // every Read says NothingAvailable before the record
)

var t0 = time.Date(2025, 10, 10, 13, 0, 0, 0, time.UTC)

func (s *numSource) Boundedness() source.Boundedness { return source.Bounded }

func (s *numSource) EncodeSplit(sp source.Split) ([]byte, error) { return json.Marshal(sp) }

func (s *numSource) DecodeSplit(b []byte) (source.Split, error) {
	var sp numSplit
	if err := json.Unmarshal(b, &sp); err != nil {
		return nil, err
	}
	return &sp, nil
}

func (s *numSource) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	e := &numEnumerator{ctx: ctx, push: s.opts.Push}
	if rc, ok := ctx.(source.RestoringContext); ok {
		if splits, ok := rc.Restored(); ok {
			e.pending = splits
			return e, nil
		}
	}
	for k := range s.splits {
		e.pending = append(e.pending, &numSplit{ID: fmt.Sprint("n", k), Next: k * s.perSplit, End: (k + 1) * s.perSplit})
	}
	return e, nil
}

type numEnumerator struct {
	ctx     source.EnumeratorContext
	push    bool
	started bool
	pending []source.Split
	next    int // push: the subtask that gets the next split
}

func (e *numEnumerator) Start(context.Context) error {
	e.started = true
	if e.push {
		e.assignAll()
		for i := range e.ctx.Parallelism() {
			e.ctx.NoMoreSplits(i)
		}
	}
	return nil
}

func (e *numEnumerator) assignAll() {
	for _, sp := range e.pending {
		e.ctx.Assign(e.next, sp)
		e.next = (e.next + 1) % e.ctx.Parallelism()
	}
	e.pending = nil
}

func (e *numEnumerator) HandleSplitRequest(subtask int) {
	if len(e.pending) == 0 {
		e.ctx.NoMoreSplits(subtask)
		return
	}
	e.ctx.Assign(subtask, e.pending[0])
	e.pending = e.pending[1:]
}

func (e *numEnumerator) AddSplitsBack(splits []source.Split, _ int) {
	e.pending = append(slices.Clone(splits), e.pending...)
	if e.push && e.started {
		e.assignAll()
	}
}

func (e *numEnumerator) Snapshot() ([]source.Split, error) { return slices.Clone(e.pending), nil }
func (e *numEnumerator) Close() error                      { return nil }

func (s *numSource) NewReader(ctx source.ReaderContext) (source.Reader[int], error) {
	return splitreader.New(ctx, func(_ context.Context, sp *numSplit) (splitreader.Reader[int, *numSplit], error) {
		return &numReader{s: s, pos: *sp, pausedAt: -1}, nil
	}, s.opts), nil
}

type numReader struct {
	s        *numSource
	pos      numSplit
	pausedAt int // the record a Read paused before
}

func (r *numReader) Read(_ context.Context, out source.Output[int]) (splitreader.Status, error) {
	if r.s.delay > 0 {
		time.Sleep(r.s.delay)
	}
	for n := 0; n < r.s.batch && r.pos.Next < r.pos.End; n++ {
		v := r.pos.Next
		act := emit
		if r.s.tweak != nil {
			act = r.s.tweak(v)
		}
		if act == hold {
			return splitreader.NothingAvailable, nil
		}
		if act == pause && r.pausedAt != v {
			if n == 0 {
				r.pausedAt = v
			}
			return splitreader.NothingAvailable, nil
		}
		r.pos.Next++
		switch {
		case act == deadLetter:
			out.(source.DeadLetterOutput).DeadLetter(source.DeadLetter{Split: r.pos.ID, Position: fmt.Sprint(v), Raw: []byte(fmt.Sprint(v)), Reason: "test"})
		case r.s.timed:
			out.CollectAt(v, t0.Add(time.Duration(v)*time.Second).UnixMilli())
		default:
			out.Collect(v)
		}
	}
	if r.pos.Next == r.pos.End {
		return splitreader.Finished, nil
	}
	return splitreader.MoreAvailable, nil
}

func (r *numReader) Split() *numSplit {
	c := r.pos
	return &c
}

func (r *numReader) Close() error { return nil }

// flakyJob reads src through a step that fails when fail says so into out.
func flakyJob(env *weir.Env, src *numSource, fail func(int) error, out *weirtest.TxCollector[int]) {
	s := weir.FromSource(env, src, weir.Name("numbers"))
	s = weir.Process(s, func(_ *weir.Context, v int, out weir.Emitter[int]) error {
		if err := fail(v); err != nil {
			return err
		}
		out.Emit(v)
		return nil
	}, weir.Name("flaky"))
	weir.SinkTo(s, out, weir.Name("sink"), weir.Parallelism(1))
}

// checkExactlyOnce checks that got holds each number of src once, and
// each split's numbers in order.
func checkExactlyOnce(t *testing.T, src *numSource, got []int) {
	t.Helper()
	n := src.splits * src.perSplit
	last := make(map[int]int)
	for _, v := range got {
		k := v / src.perSplit
		if prev, ok := last[k]; ok && v <= prev {
			t.Fatalf("split %d: %d after %d", k, v, prev)
		}
		last[k] = v
	}
	sorted := slices.Sorted(slices.Values(got))
	for i, v := range sorted {
		if v != i {
			t.Fatalf("got %d records for %d numbers; first wrong: %d where %d belongs", len(got), n, v, i)
		}
	}
	if len(sorted) != n {
		t.Fatalf("got %d records, want %d", len(got), n)
	}
}

// TestJobExactlyOnceAcrossFailures fails a job again and again; it
// restarts from its latest checkpoint each time, the readers resume at the
// positions they snapshotted, and the committed output holds every number
// once.
func TestJobExactlyOnceAcrossFailures(t *testing.T) {
	for _, o := range []splitreader.Options{{}, {Concurrent: true}, {Concurrent: true, Push: true}} {
		t.Run(fmt.Sprintf("concurrent=%v,push=%v", o.Concurrent, o.Push), func(t *testing.T) {
			src := &numSource{splits: 6, perSplit: 500, batch: 10, delay: 2 * time.Millisecond, opts: o}
			var seen, failures atomic.Int64
			env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, t.TempDir()),
				weir.Restart(weir.FixedDelayRestart(-1, time.Millisecond)))
			out := weirtest.NewTxCollector[int]()
			flakyJob(env, src, func(int) error {
				if seen.Add(1)%700 == 0 {
					failures.Add(1)
					return errors.New("injected failure")
				}
				return nil
			}, out)
			if err := env.Execute(t.Context(), "flaky"); err != nil {
				t.Fatal(err)
			}
			if failures.Load() < 3 {
				t.Fatalf("only %d failures injected", failures.Load())
			}
			checkExactlyOnce(t, src, out.Records())
		})
	}
}

// TestJobResumesInANewRun stops a job by a failure without restarts and
// runs it again from its checkpoints at another parallelism, as a process
// started again does: the splits go to the new readers with their
// positions.
func TestJobResumesInANewRun(t *testing.T) {
	for _, o := range []splitreader.Options{{}, {Concurrent: true, Push: true}} {
		t.Run(fmt.Sprintf("concurrent=%v,push=%v", o.Concurrent, o.Push), func(t *testing.T) {
			dir := t.TempDir()
			src := &numSource{splits: 6, perSplit: 500, batch: 10, delay: 2 * time.Millisecond, opts: o}
			var seen atomic.Int64
			first := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, dir), weir.Restart(weir.NoRestart()))
			out := weirtest.NewTxCollector[int]()
			flakyJob(first, src, func(int) error {
				// Fail half-way, once a checkpoint has completed.
				if seen.Add(1) >= 1500 && completed(first) > 0 {
					return errors.New("stop here")
				}
				return nil
			}, out)
			if err := first.Execute(t.Context(), "first"); err == nil {
				t.Fatal("the first run did not fail: make the source slower")
			}
			second := weir.NewEnv(weir.Parallelism(3), weir.Checkpoints(20*time.Millisecond, dir))
			flakyJob(second, src, func(int) error { return nil }, out)
			if err := second.Execute(t.Context(), "second"); err != nil {
				t.Fatal(err)
			}
			checkExactlyOnce(t, src, out.Records())
		})
	}
}

// completed counts the checkpoints of env that completed.
func completed(env *weir.Env) int {
	n := 0
	for _, s := range env.CheckpointStats() {
		if s.Status == "completed" {
			n++
		}
	}
	return n
}

var count = weir.AggregateFunc[int, int, int]{
	Init:   func() int { return 0 },
	Add:    func(acc, _ int) int { return acc + 1 },
	Result: func(acc int) int { return acc },
	Merge:  func(a, b int) int { return a + b },
}

// TestJobPerSplitWatermarks reads two splits at once: one with the
// numbers (seconds) 60-119 in one go, one with 0-59 slowly. With
// per-split watermarks the slow split holds the watermark back, so no
// record is late, and its own records move the watermark on, so windows
// fire while it is read; with one watermark for the whole reader (the
// control) the slow split's records are late.
func TestJobPerSplitWatermarks(t *testing.T) {
	run := func(perSplit bool) (results []int, dropped int64, firedWhileReading bool) {
		env := weir.NewEnv(weir.Parallelism(1), weir.WatermarkInterval(time.Millisecond))
		var fired, released atomic.Bool
		deadline := time.Now().Add(10 * time.Second)
		src := &numSource{splits: 2, perSplit: 60, batch: 60, timed: true, opts: splitreader.Options{Concurrent: true, Push: true},
			tweak: func(v int) action {
				switch {
				case v == 30 && !fired.Load() && time.Now().Before(deadline):
					return hold // until a window has fired
				case v == 30:
					released.Store(fired.Load())
				case v < 60 && v%2 == 1:
					return pause // the runtime idles now and then
				}
				return emit
			}}
		var s weir.Stream[int]
		if perSplit {
			s = weir.FromSourceWithWatermarks(env, src.reversed(), weir.BoundedOutOfOrderness[int](0, nil))
		} else {
			s = weir.Watermarks(weir.FromSource(env, src.reversed()), weir.BoundedOutOfOrderness[int](0, nil))
		}
		got := weirtest.NewCollector[int]()
		got.Fail = func(int) error { fired.Store(true); return nil }
		weir.SinkTo(weir.Aggregate(weir.Window(weir.KeyBy(s, func(int) string { return "k" }), window.Tumbling(10*time.Second)), count), got)
		if err := env.Execute(t.Context(), "splits"); err != nil {
			t.Fatal(err)
		}
		return got.Records(), env.DroppedLateRecords(), released.Load()
	}
	if _, dropped, _ := run(false); dropped == 0 {
		t.Fatal("one watermark for the whole reader dropped nothing: the test does not lag a split")
	}
	results, dropped, firedWhileReading := run(true)
	slices.Sort(results)
	if want := slices.Repeat([]int{10}, 12); dropped != 0 || !slices.Equal(results, want) {
		t.Fatalf("per-split watermarks: windows %v, %d dropped; want 12 windows of 10 and none dropped", results, dropped)
	}
	if !firedWhileReading {
		t.Fatal("no window fired while the slow split was read: its records did not move the watermark")
	}
}

// reversedSource is a numSource whose enumerator assigns its splits in
// reverse order.
type reversedSource struct{ *numSource }

func (s *numSource) reversed() reversedSource { return reversedSource{s} }

func (s reversedSource) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	e, err := s.numSource.NewEnumerator(ctx)
	if err != nil {
		return nil, err
	}
	slices.Reverse(e.(*numEnumerator).pending)
	return e, nil
}

// TestJobDeadLetters reports some records as dead letters from a split
// reader: they reach the stream weir.SourceDeadLetters returns.
func TestJobDeadLetters(t *testing.T) {
	src := &numSource{splits: 3, perSplit: 100, batch: 30, tweak: func(v int) action {
		if v%10 == 3 {
			return deadLetter
		}
		return emit
	}}
	env := weir.NewEnv(weir.Parallelism(2))
	s := weir.FromSource(env, src)
	good := weirtest.NewCollector[int]()
	dead := weirtest.NewCollector[source.DeadLetter]()
	weir.SinkTo(s, good)
	weir.SinkTo(weir.SourceDeadLetters(s), dead)
	if err := env.Execute(t.Context(), "dead"); err != nil {
		t.Fatal(err)
	}
	if n := good.Len(); n != 270 {
		t.Fatalf("%d good records, want 270", n)
	}
	var positions []string
	for _, d := range dead.Records() {
		var v int
		fmt.Sscan(d.Position, &v)
		if d.Reason != "test" || d.Split != fmt.Sprint("n", v/100) || string(d.Raw) != d.Position {
			t.Fatalf("dead letter %+v", d)
		}
		positions = append(positions, d.Position)
	}
	slices.Sort(positions)
	want := []string{}
	for v := 3; v < 300; v += 10 {
		want = append(want, fmt.Sprint(v))
	}
	slices.Sort(want)
	if !slices.Equal(positions, want) {
		t.Fatalf("dead letters at %q, want %q", positions, want)
	}
}
