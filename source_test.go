package weir_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

// splitsSource has one subtask that reads its splits one after the other,
// as a Kafka reader may fetch one partition well before another. Records
// go out through the splits' own outputs.
type splitsSource struct {
	splits  [][]weirtest.Timed[kv] // read in this order
	perPoll int
	// gap makes the reader report nothing for a while between splits, so
	// that watermarks are emitted between them.
	gap time.Duration
	// bad marks, per split, records to report as dead letters instead.
	bad func(v kv) bool
	// progress, when set, is raised to each emitted record's time in
	// seconds since t0.
	progress *atomic.Int64
}

func (s *splitsSource) Boundedness() source.Boundedness { return source.Bounded }
func (s *splitsSource) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	return noSplits{ctx}, nil
}
func (s *splitsSource) NewReader(source.ReaderContext) (source.Reader[kv], error) {
	return &splitsReader{s: s}, nil
}

type noSplits struct{ ctx source.EnumeratorContext }

func (e noSplits) Start(context.Context) error {
	for i := range e.ctx.Parallelism() {
		e.ctx.NoMoreSplits(i)
	}
	return nil
}
func (noSplits) HandleSplitRequest(int)            {}
func (noSplits) AddSplitsBack([]source.Split, int) {}
func (noSplits) Close() error                      { return nil }

type splitsReader struct {
	s         *splitsSource
	split, at int
	gapUntil  time.Time
	started   bool
}

func (r *splitsReader) Start(context.Context) error { return nil }
func (r *splitsReader) AddSplits([]source.Split)    {}
func (r *splitsReader) NoMoreSplits()               {}
func (r *splitsReader) Snapshot(int64) ([]source.Split, error) {
	return nil, nil
}
func (r *splitsReader) Close() error { return nil }

func (r *splitsReader) Poll(_ context.Context, out source.Output[kv]) (source.Status, error) {
	if time.Now().Before(r.gapUntil) {
		return source.NothingAvailable, nil
	}
	if !r.started {
		// Every split is known from the start, as a Kafka reader's
		// partitions are.
		r.started = true
		for i := range r.s.splits {
			out.(source.SplitOutputs[kv]).ForSplit(fmt.Sprint("split-", i))
		}
	}
	for range r.s.perPoll {
		if r.split == len(r.s.splits) {
			return source.EndOfInput, nil
		}
		id := fmt.Sprint("split-", r.split)
		recs := r.s.splits[r.split]
		if r.at == len(recs) {
			out.(source.SplitOutputs[kv]).ReleaseSplit(id)
			r.split, r.at = r.split+1, 0
			r.gapUntil = time.Now().Add(r.s.gap)
			return source.MoreAvailable, nil
		}
		rec := recs[r.at]
		r.at++
		if r.s.bad != nil && r.s.bad(rec.Value) {
			out.(source.DeadLetterOutput).DeadLetter(source.DeadLetter{Split: id, Position: fmt.Sprint(r.at - 1), Raw: []byte(rec.Value.K), Reason: "bad"})
			continue
		}
		if r.s.progress != nil {
			r.s.progress.Store(int64(rec.Time.Sub(t0) / time.Second))
		}
		out.(source.SplitOutputs[kv]).ForSplit(id).CollectAt(rec.Value, rec.Time.UnixMilli())
	}
	return source.MoreAvailable, nil
}

// twoSplits: the first split covers seconds 60-119, the second 0-59; the
// reader reads the first entirely before the second.
func twoSplits() [][]weirtest.Timed[kv] {
	var late, early []weirtest.Timed[kv]
	for i := range 60 {
		late = append(late, weirtest.Timed[kv]{Value: kv{"a", 1}, Time: at(float64(60 + i))})
		early = append(early, weirtest.Timed[kv]{Value: kv{"a", 1}, Time: at(float64(i))})
	}
	return [][]weirtest.Timed[kv]{late, early}
}

func TestWatermarksPerSplitKeepALaggingSplitOnTime(t *testing.T) {
	run := func(perSplit bool) (results []int, dropped int64) {
		env := weir.NewEnv(weir.WatermarkInterval(time.Millisecond))
		src := &splitsSource{splits: twoSplits(), perPoll: 1, gap: 50 * time.Millisecond}
		var s weir.Stream[kv]
		if perSplit {
			s = weir.FromSourceWithWatermarks(env, src, weir.BoundedOutOfOrderness[kv](0, nil))
		} else {
			s = weir.Watermarks(weir.FromSource(env, src), weir.BoundedOutOfOrderness[kv](0, nil))
		}
		got := weirtest.NewCollector[int]()
		weir.SinkTo(weir.Aggregate(weir.Window(weir.KeyBy(s, func(v kv) string { return v.K }), window.Tumbling(time.Minute)), count), got)
		if err := env.Execute(context.Background(), "splits"); err != nil {
			t.Fatal(err)
		}
		return got.Records(), env.DroppedLateRecords()
	}
	// Control: one generator for the whole reader runs ahead with the
	// first split, and the second split's records arrive late.
	if _, dropped := run(false); dropped == 0 {
		t.Fatalf("one watermark for the whole reader dropped nothing: the test does not lag a split")
	}
	results, dropped := run(true)
	if dropped != 0 || len(results) != 2 || results[0]+results[1] != 120 {
		t.Fatalf("per-split watermarks: windows %v, %d dropped; want two windows of 60 and none dropped", results, dropped)
	}
}

func TestSourceDeadLettersAreRoutedAndCounted(t *testing.T) {
	for _, read := range []bool{true, false} {
		env := weir.NewEnv(weir.Parallelism(1))
		var recs []weirtest.Timed[kv]
		for i := range 100 {
			recs = append(recs, weirtest.Timed[kv]{Value: kv{fmt.Sprint(i), i}, Time: at(float64(i))})
		}
		src := &splitsSource{splits: [][]weirtest.Timed[kv]{recs}, perPoll: 7, bad: func(v kv) bool { return v.V%10 == 3 }}
		s := weir.FromSourceWithWatermarks(env, src, weir.BoundedOutOfOrderness[kv](0, nil))
		good := weirtest.NewCollector[kv]()
		weir.SinkTo(s, good)
		dead := weirtest.NewCollector[source.DeadLetter]()
		if read {
			weir.SinkTo(weir.SourceDeadLetters(s), dead)
		}
		if err := env.Execute(context.Background(), "dead letters"); err != nil {
			t.Fatal(err)
		}
		var counted int64
		for _, m := range env.Metrics() {
			counted += m.DeadLetters
		}
		if good.Len() != 90 || counted != 10 {
			t.Fatalf("read=%v: %d good records and %d dead letters counted; want 90 and 10", read, good.Len(), counted)
		}
		if read {
			for _, d := range dead.Records() {
				if d.Reason != "bad" || d.Split != "split-0" || string(d.Raw) == "" {
					t.Fatalf("dead letter %+v lacks its split, reason or record", d)
				}
			}
			if dead.Len() != 10 {
				t.Fatalf("%d dead letters reached the stream, want 10", dead.Len())
			}
		}
	}
}

func TestSourceDeadLettersNeedASource(t *testing.T) {
	env := weir.NewEnv()
	s := weir.Map(weir.FromSource(env, weirtest.FromSlice(1, 2)), func(v int) int { return v })
	weir.SinkTo(weir.SourceDeadLetters(s), weirtest.NewCollector[source.DeadLetter]())
	if err := env.Execute(context.Background(), "bad plan"); err == nil {
		t.Fatal("SourceDeadLetters of a map was accepted")
	}
}

// TestWatermarkAlignmentHoldsAFastSource runs a fast and a slow source in
// one alignment group and measures how far the fast one's records run
// ahead of the slow one's.
func TestWatermarkAlignmentHoldsAFastSource(t *testing.T) {
	const n = 400
	lead := func(aligned bool) int64 {
		env := weir.NewEnv(weir.WatermarkInterval(time.Millisecond))
		var fastRecs, slowRecs []weirtest.Timed[kv]
		for i := range n {
			fastRecs = append(fastRecs, weirtest.Timed[kv]{Value: kv{"f", i}, Time: at(float64(i))})
			slowRecs = append(slowRecs, weirtest.Timed[kv]{Value: kv{"s", i}, Time: at(float64(i))})
		}
		var fastAt, slowAt, maxLead atomic.Int64
		fast := &splitsSource{splits: [][]weirtest.Timed[kv]{fastRecs}, perPoll: 2, progress: &fastAt}
		slow := &splitsSource{splits: [][]weirtest.Timed[kv]{slowRecs}, perPoll: 1, gap: 0, progress: &slowAt}
		strategy := weir.BoundedOutOfOrderness[kv](0, nil)
		if aligned {
			strategy = strategy.WithAlignment("logs", 10*time.Second)
		}
		slowStream := weir.Map(weir.FromSourceWithWatermarks(env, slow, strategy), func(v kv) kv {
			time.Sleep(time.Millisecond) // the slow source's pace
			return v
		})
		fastStream := weir.Map(weir.FromSourceWithWatermarks(env, fast, strategy), func(v kv) kv {
			if d := fastAt.Load() - slowAt.Load(); d > maxLead.Load() {
				maxLead.Store(d)
			}
			return v
		})
		got := weirtest.NewCollector[kv]()
		weir.SinkTo(weir.Union(slowStream, fastStream), got)
		if err := env.Execute(context.Background(), "alignment"); err != nil {
			t.Fatal(err)
		}
		if got.Len() != 2*n {
			t.Fatalf("%d records, want %d", got.Len(), 2*n)
		}
		return maxLead.Load()
	}
	if l := lead(false); l < n/2 {
		t.Fatalf("without alignment the fast source led by only %d s: the test does not make one source fast", l)
	}
	// The fast source pauses once it leads by more than the drift; it
	// reads a few more records until its next watermark tick notices.
	if l := lead(true); l > n/4 {
		t.Fatalf("with a drift of 10 s the fast source still led by %d s", l)
	}
}

// TestWatermarksStampOnlyTheirOwnRecords: a Watermarks step fed straight
// by a source stamps the records it is lent in place; one of two steps that
// read a source must not, or the other would see its timestamps.
func TestWatermarksStampOnlyTheirOwnRecords(t *testing.T) {
	s := weirtest.NewScript[kv]().Record(kv{"a", 1}, at(1)).Record(kv{"b", 2}, at(2))
	times := func(s weir.Stream[kv]) weir.Stream[string] {
		return weir.Process(s, func(ctx *weir.Context, v kv, out weir.Emitter[string]) error {
			ts, _ := ctx.Timestamp()
			out.Emit(fmt.Sprintf("%s %s", v.K, ts.Format("15:04:05")))
			return nil
		})
	}
	later := weir.BoundedOutOfOrderness(0, func(v kv) time.Time { return at(3600 + float64(v.V)) })
	for _, fanOut := range []bool{false, true} {
		env := weir.NewEnv(weir.Parallelism(1))
		src := weir.FromSource(env, s)
		stamped := weirtest.NewCollector[string]()
		weir.SinkTo(times(weir.Watermarks(src, later)), stamped)
		plain := weirtest.NewCollector[string]()
		if fanOut {
			weir.SinkTo(times(src), plain)
		}
		if err := env.Execute(context.Background(), "stamps"); err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(stamped.Records()), "[a 08:40:01 b 08:40:02]"; got != want {
			t.Errorf("fan-out %v: stamped %s, want %s", fanOut, got, want)
		}
		if got, want := fmt.Sprint(plain.Records()), map[bool]string{false: "[]", true: "[a 07:40:01 b 07:40:02]"}[fanOut]; got != want {
			t.Errorf("fan-out %v: the source's own records %s, want %s", fanOut, got, want)
		}
	}
}
