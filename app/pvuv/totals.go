package pvuv

import (
	"math"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/state"
)

// Totals are the job's totals as of its output: every line read is in
// exactly one of them, counted once however often the job was restored
// from a checkpoint, because they are kept in the job's checkpointed
// state.
//
// A page view counts when the window it belongs to is emitted (a running
// result, with Options.EarlyResults, or the final one), so the totals
// always account for the windows written so far: Lines is the page views
// of the windows emitted plus BadLines plus Late. At the end of a bounded
// input every window is emitted, and Lines is every line read.
type Totals struct {
	// Lines is the lines read: PageViews + BadLines + Late.
	Lines int64
	// PageViews is the page views of the windows emitted.
	PageViews int64
	// BadLines is the lines that are not page views, sent to the
	// dead-letter output (Job.Bad).
	BadLines int64
	// Late is the page views later than their window, sent there too.
	Late int64
	// Final marks the totals of the end of a bounded input: no line
	// follows.
	Final bool
}

// TotalsInterval is how often, at most, Job.Totals has a record while the
// totals change (processing time); the last one comes at the end of a
// bounded input.
const TotalsInterval = time.Second

// tally is a change of the totals: the page views a window result adds,
// or one bad or late line. Its fields are exported because records in
// flight are stored in unaligned checkpoints.
type tally struct {
	Views, Bad, Late int64
}

// totalsState is the totals step's state. Its fields are exported because
// state is stored in checkpoints.
type totalsState struct {
	Views, Bad, Late int64
	// Changed says that a tally came since the last record; RunningAt is
	// the processing time (Unix ms) of the pending timer of the next one,
	// 0 when none is pending.
	Changed   bool
	RunningAt int64
}

// endOfTime is the event time of the watermark that follows the end of a
// bounded input: a timer there fires after every other.
var endOfTime = time.UnixMilli(math.MaxInt64)

// totaller adds the tallies into the job's totals, under a single key at
// parallelism 1: there are few tallies (one per window result, and one
// per bad or late line), so one subtask keeps up. It emits the totals at
// most every interval of processing time while they change, and once more
// when the input ends.
type totaller struct {
	state    state.Value[totalsState]
	interval time.Duration
}

func (t *totaller) ProcessElement(ctx *weir.KeyedContext[int, Totals], v tally) error {
	s, _ := t.state.Get()
	s.Views += v.Views
	s.Bad += v.Bad
	s.Late += v.Late
	s.Changed = true
	if s.RunningAt == 0 {
		at := ctx.Now().Add(t.interval)
		s.RunningAt = at.UnixMilli()
		ctx.RegisterProcessingTimer(at)
	}
	ctx.RegisterEventTimer(endOfTime) // the same timer again is one timer
	t.state.Set(s)
	return nil
}

func (t *totaller) OnTimer(ctx *weir.KeyedContext[int, Totals], at time.Time, domain weir.TimeDomain) error {
	s, ok := t.state.Get()
	if !ok {
		return nil
	}
	final := domain == weir.EventTimeDomain // only the end of input sets one
	if domain == weir.ProcessingTimeDomain {
		s.RunningAt = 0
	}
	if s.Changed || final {
		s.Changed = false
		ctx.Emit(Totals{Lines: s.Views + s.Bad + s.Late, PageViews: s.Views, BadLines: s.Bad, Late: s.Late, Final: final})
	}
	t.state.Set(s)
	return nil
}

// countTotals adds the totals step: it tallies the views of the window
// results and the bad and late lines.
func countTotals(results weir.Stream[merged], bad weir.Stream[BadLine]) weir.Stream[Totals] {
	views := weir.FlatMap(results, func(m merged, out weir.Emitter[tally]) {
		if m.Views != 0 {
			out.Emit(tally{Views: m.Views})
		}
	}, weir.Name("tally-views"), weir.Parallelism(1)) // chained to the merge
	lines := weir.Map(bad, func(b BadLine) tally {
		if b.Reason == ReasonLate {
			return tally{Late: 1}
		}
		return tally{Bad: 1}
	}, weir.Name("tally-bad"))
	return weir.ProcessKeyed(weir.KeyBy(weir.Union(views, lines), func(tally) int { return 0 }),
		func(s *state.Store[int]) weir.KeyedProcessFunction[int, tally, Totals] {
			return &totaller{state: state.ValueOf[totalsState](s, "totals"), interval: TotalsInterval}
		}, weir.Name("totals"), weir.Parallelism(1))
}
