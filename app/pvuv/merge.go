package pvuv

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/state"
)

// totals is a window's running sums. Its fields are exported because it is
// kept in state, and state is stored in checkpoints.
type totals struct {
	End     int64
	PV, UV  int64 // UV: exact UV only; HyperLogLog UV is the sketch's estimate
	Emitted bool  // the final result went out
	// Changed says that a partial came since the last running result;
	// RunningAt is the processing time (Unix ms) of the pending timer of
	// the next running result, 0 when none is pending.
	Changed   bool
	RunningAt int64
	// Counted is the PV already counted in the job's totals: a result
	// adds PV - Counted to them.
	Counted int64
}

// merged is what the merge emits: a window's result, and the page views it
// adds to the job's totals (Totals), so that the totals count what the
// results written so far hold. Its fields are exported because records in
// flight are stored in unaligned checkpoints.
type merged struct {
	Result Result
	Views  int64
}

// merge adds the partial counts of each window and emits the window when
// the watermark passes its end; within the allowed lateness, late partials
// update it and emit it again. With early results it also emits the
// window's running result at most every early of processing time while
// partials come in.
//
// Exact UV adds the clients' UV 1s; HyperLogLog UV merges the shards'
// sketches into the window's sketch, and UV is its estimate.
type merge struct {
	totals   state.Value[totals]
	pages    state.Map[string, int64]
	sketch   state.Value[*hyperloglog.Sketch]
	lateness time.Duration
	early    time.Duration
	topN     int
	counters *Counters
}

func (m *merge) ProcessElement(ctx *weir.KeyedContext[int64, merged], p partial) error {
	t, _ := m.totals.Get()
	t.End = p.End
	switch {
	case p.Page != "":
		n, _ := m.pages.Get(p.Page)
		m.pages.Put(p.Page, n+p.PV)
	case p.Sketch != nil:
		stored, _ := m.sketch.Get()
		merged, err := mergeSketch(stored, p.Sketch, fmt.Sprintf("merge of window %v", time.UnixMilli(p.Window).UTC()))
		if err != nil {
			return err
		}
		m.sketch.Set(merged)
		t.PV += p.PV
	default:
		t.PV += p.PV
		t.UV += p.UV
	}
	if t.Emitted {
		m.emit(ctx, &t, false) // a late update within the allowed lateness
		m.totals.Set(t)
		return nil
	}
	ctx.RegisterEventTimer(time.UnixMilli(p.End - 1))
	if m.early > 0 {
		t.Changed = true
		if t.RunningAt == 0 {
			at := ctx.Now().Add(m.early)
			t.RunningAt = at.UnixMilli()
			ctx.RegisterProcessingTimer(at)
		}
	}
	m.totals.Set(t)
	return nil
}

func (m *merge) OnTimer(ctx *weir.KeyedContext[int64, merged], at time.Time, domain weir.TimeDomain) error {
	t, ok := m.totals.Get()
	if !ok {
		return nil
	}
	if domain == weir.ProcessingTimeDomain {
		t.RunningAt = 0
		running := !t.Emitted && t.Changed
		t.Changed = false
		if running {
			m.emit(ctx, &t, true)
		}
		m.totals.Set(t)
		return nil
	}
	if !t.Emitted {
		t.Emitted = true
		if t.RunningAt != 0 {
			ctx.DeleteProcessingTimer(time.UnixMilli(t.RunningAt))
			t.RunningAt = 0
		}
		m.emit(ctx, &t, false)
		m.totals.Set(t)
		if m.lateness > 0 {
			ctx.RegisterEventTimer(at.Add(m.lateness))
			return nil
		}
	}
	// The window is final: drop its state.
	m.totals.Clear()
	m.pages.Clear()
	m.sketch.Clear()
	return nil
}

// emit emits the window's result and the views it adds to the totals;
// the caller stores t afterwards.
func (m *merge) emit(ctx *weir.KeyedContext[int64, merged], t *totals, running bool) {
	top := make([]PageCount, 0, m.pages.Len())
	m.pages.All(func(p string, n int64) bool {
		top = append(top, PageCount{Page: p, PV: n})
		return true
	})
	slices.SortFunc(top, func(a, b PageCount) int {
		if a.PV != b.PV {
			if a.PV > b.PV {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Page, b.Page)
	})
	if len(top) > m.topN {
		top = top[:m.topN]
	}
	uv := t.UV
	if s, ok := m.sketch.Get(); ok {
		uv = int64(s.Estimate())
	}
	if !running {
		m.counters.Windows.Add(1)
		m.counters.Watermark.Store(t.End)
	}
	views := t.PV - t.Counted
	t.Counted = t.PV
	ctx.Emit(merged{Result: Result{
		WindowStart: time.UnixMilli(ctx.Key()).UTC(),
		WindowEnd:   time.UnixMilli(t.End).UTC(),
		PV:          t.PV,
		UV:          uv,
		TopPages:    top,
		Running:     running,
	}, Views: views})
}
