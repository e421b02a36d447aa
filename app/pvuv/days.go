package pvuv

import (
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/state"
)

// dayMillis is the length of a UTC day in milliseconds (UTC has no leap
// seconds in Unix time).
const dayMillis = int64(24 * time.Hour / time.Millisecond)

// DayResult is the PV and UV of one UTC day.
//
// UV is the number of distinct clients over the whole day, estimated with
// a HyperLogLog sketch (HLLPrecision: relative standard error
// HLLStandardError, 0.81%) in both UV modes: a day's visitors are what
// sketches are for, since an exact count would keep every visitor of the
// day in state. A visitor seen in many windows counts once, and both
// modes give the same estimate (the same hashes in the same registers).
// PV is exact.
//
// A window counts in the day it starts in: with an Options.Window that
// does not divide 24h, the window that spans midnight counts in the day
// before.
type DayResult struct {
	Day time.Time // the day's start, midnight UTC
	PV  int64
	UV  int64
	// Running marks a running result of a day that is still open; the
	// day's final result, with Running false, follows when the watermark
	// passes the day's end.
	Running bool
}

// dayOf is the start (Unix ms) of the UTC day of t (Unix ms).
func dayOf(t int64) int64 {
	d := t % dayMillis
	if d < 0 {
		d += dayMillis
	}
	return t - d
}

// dayTotals is a day's running sums. Its fields are exported because it
// is kept in state, and state is stored in checkpoints.
type dayTotals struct {
	PV      int64
	Pending []uint64 // clients' hashes not yet added to the sketch
	Closed  bool     // the final result went out
	// Changed and RunningAt are as in totals.
	Changed   bool
	RunningAt int64
}

// pendingHashes is how many clients' hashes the daily step collects in
// the day's totals before it adds them to the day's sketch. On the pebble
// backend every change of a state entry reads and writes it whole: the
// totals with a short list of hashes cost far less than the 16 KiB
// sketch.
const pendingHashes = 256

// daily adds the visitors' partials of every window into its day, keyed by
// the day's start: PV by adding, UV by adding the clients' hashes (exact
// UV, a batch of pendingHashes at a time) or merging the shards' sketches
// (HyperLogLog UV) into the day's sketch. It emits a running result when a
// window of the day closes (an event timer at the window's end) and, with
// early results, at most every early of processing time; the final result
// when the watermark passes the day's end. Within the allowed lateness,
// late partials update the day and emit its final result again.
type daily struct {
	totals   state.Value[dayTotals]
	sketch   state.Value[*hyperloglog.Sketch]
	lateness time.Duration
	early    time.Duration
}

func (d *daily) ProcessElement(ctx *weir.KeyedContext[int64, DayResult], p partial) error {
	t, _ := d.totals.Get()
	t.PV += p.PV
	switch {
	case p.Sketch != nil:
		s, _ := d.sketch.Get()
		s, err := mergeSketch(s, p.Sketch, "day "+time.UnixMilli(ctx.Key()).UTC().Format(time.DateOnly))
		if err != nil {
			return err
		}
		d.sketch.Set(s)
	case p.UV == 1:
		// A client's first report in a window; later ones add views only.
		if t.Pending = append(t.Pending, p.Hash); len(t.Pending) >= pendingHashes {
			d.addPending(&t)
		}
	}
	if t.Closed {
		d.emit(ctx, &t, false) // a late update within the allowed lateness
		d.totals.Set(t)
		return nil
	}
	end := ctx.Key() + dayMillis
	ctx.RegisterEventTimer(time.UnixMilli(min(p.End, end) - 1)) // the window closes
	ctx.RegisterEventTimer(time.UnixMilli(end - 1))             // the day closes
	t.Changed = true
	if d.early > 0 && t.RunningAt == 0 {
		at := ctx.Now().Add(d.early)
		t.RunningAt = at.UnixMilli()
		ctx.RegisterProcessingTimer(at)
	}
	d.totals.Set(t)
	return nil
}

func (d *daily) OnTimer(ctx *weir.KeyedContext[int64, DayResult], at time.Time, domain weir.TimeDomain) error {
	t, ok := d.totals.Get()
	if !ok {
		return nil
	}
	end := ctx.Key() + dayMillis
	ms := at.UnixMilli()
	switch {
	case domain == weir.ProcessingTimeDomain:
		t.RunningAt = 0
		if !t.Closed && t.Changed {
			t.Changed = false
			d.emit(ctx, &t, true)
		}
	case !t.Closed && ms >= end-1:
		// The day closes.
		t.Closed, t.Changed = true, false
		if t.RunningAt != 0 {
			ctx.DeleteProcessingTimer(time.UnixMilli(t.RunningAt))
			t.RunningAt = 0
		}
		d.emit(ctx, &t, false)
		if d.lateness == 0 {
			d.clear()
			return nil
		}
		ctx.RegisterEventTimer(at.Add(d.lateness))
	case t.Closed:
		if ms >= end-1+d.lateness.Milliseconds() {
			d.clear()
			return nil
		}
	case t.Changed:
		// A window of the day closed.
		t.Changed = false
		d.emit(ctx, &t, true)
	}
	d.totals.Set(t)
	return nil
}

// addPending adds the pending hashes to the day's sketch.
func (d *daily) addPending(t *dayTotals) {
	if len(t.Pending) == 0 {
		return
	}
	s, ok := d.sketch.Get()
	if !ok {
		s = newSketch()
	}
	for _, h := range t.Pending {
		s.InsertHash(h)
	}
	d.sketch.Set(s)
	t.Pending = nil
}

func (d *daily) clear() {
	d.totals.Clear()
	d.sketch.Clear()
}

// emit emits the day's result; the caller stores t afterwards.
func (d *daily) emit(ctx *weir.KeyedContext[int64, DayResult], t *dayTotals, running bool) {
	d.addPending(t)
	var uv int64
	if s, ok := d.sketch.Get(); ok {
		uv = int64(s.Estimate())
	}
	ctx.Emit(DayResult{Day: time.UnixMilli(ctx.Key()).UTC(), PV: t.PV, UV: uv, Running: running})
}
