package pvuv

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/window"
)

// Options configure the PV/UV job. Zero values take the documented defaults.
type Options struct {
	// Window is the size of the tumbling event-time windows. Default 1m.
	Window time.Duration
	// OutOfOrderness is how far behind the newest line a line may be and
	// still count in its window. Default 5s.
	OutOfOrderness time.Duration
	// AllowedLateness keeps a window open this long after it fired; a late
	// line within it updates the window, which is emitted again. Default 0.
	AllowedLateness time.Duration
	// TopN is the number of top pages per window. Default 10.
	TopN int
}

func (o Options) withDefaults() Options {
	if o.Window == 0 {
		o.Window = time.Minute
	}
	if o.OutOfOrderness == 0 {
		o.OutOfOrderness = 5 * time.Second
	}
	if o.TopN == 0 {
		o.TopN = 10
	}
	return o
}

// Validate reports every problem with the options, each naming the option.
func (o Options) Validate() error {
	o = o.withDefaults()
	var p []string
	if o.Window < time.Second || o.Window%time.Second != 0 {
		p = append(p, fmt.Sprintf("window %v must be a whole number of seconds, at least 1s (log times have second resolution)", o.Window))
	}
	if o.OutOfOrderness < 0 {
		p = append(p, fmt.Sprintf("out-of-orderness %v must not be negative", o.OutOfOrderness))
	}
	if o.AllowedLateness < 0 {
		p = append(p, fmt.Sprintf("allowed lateness %v must not be negative", o.AllowedLateness))
	}
	if o.TopN < 0 {
		p = append(p, fmt.Sprintf("top-n %d must not be negative", o.TopN))
	}
	if len(p) > 0 {
		return fmt.Errorf("pvuv: %s", strings.Join(p, "; "))
	}
	return nil
}

// Result is the PV/UV of one window. Its JSON form is the job's output:
//
//	{"window_start":"2026-11-24T07:40:00Z","window_end":"2026-11-24T07:41:00Z","pv":1234,"uv":567,"top_pages":[{"page":"/a","pv":99}]}
type Result struct {
	WindowStart time.Time   `json:"-"`
	WindowEnd   time.Time   `json:"-"`
	PV          int64       `json:"pv"`
	UV          int64       `json:"uv"`
	TopPages    []PageCount `json:"top_pages"`
}

// PageCount is the page views of one page in a window.
type PageCount struct {
	Page string `json:"page"`
	PV   int64  `json:"pv"`
}

// MarshalJSON writes the result in the job's output format.
func (r Result) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// AppendJSON appends the result's JSON form to dst.
func (r Result) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"window_start":"`...)
	dst = r.WindowStart.UTC().AppendFormat(dst, time.RFC3339)
	dst = append(dst, `","window_end":"`...)
	dst = r.WindowEnd.UTC().AppendFormat(dst, time.RFC3339)
	dst = append(dst, `","pv":`...)
	dst = fmt.Appendf(dst, "%d", r.PV)
	dst = append(dst, `,"uv":`...)
	dst = fmt.Appendf(dst, "%d", r.UV)
	dst = append(dst, `,"top_pages":[`...)
	for i, p := range r.TopPages {
		if i > 0 {
			dst = append(dst, ',')
		}
		page, _ := json.Marshal(p.Page) // escapes whatever bytes a log line held
		dst = append(dst, `{"page":`...)
		dst = append(dst, page...)
		dst = fmt.Appendf(dst, `,"pv":%d}`, p.PV)
	}
	return append(dst, "]}"...)
}

// ReasonLate is the dead-letter reason of a page view that came after its
// window was emitted (and after the allowed lateness).
const ReasonLate = "late: its window was already emitted"

// String writes the hit back as a common-log line (the query string and
// the fields after the status are not kept).
func (h Hit) String() string {
	return fmt.Sprintf("%s - - [%s] \"%s %s HTTP/1.1\" %d", h.Client, h.Time.UTC().Format("02/Jan/2006:15:04:05 -0700"), h.Method, h.Page, h.Status)
}

// BadLine is a line that is not a page view, with the reason.
type BadLine struct {
	Line   string `json:"line"`
	Reason string `json:"reason"`
}

// Counters are the job's own counters, safe to read while it runs.
type Counters struct {
	Lines    atomic.Int64 // lines read
	BadLines atomic.Int64 // lines that are not page views, sent to the dead-letter output
	Late     atomic.Int64 // page views later than their window, sent there too
	Windows  atomic.Int64 // window results emitted
	// Watermark is the event time the results have reached, in Unix ms.
	Watermark atomic.Int64
}

// Job is the PV/UV job's streams, built by Build.
type Job struct {
	// Results has one record per window, in window order (parallelism 1).
	Results weir.Stream[Result]
	// Bad has the lines that are not page views, and late page views
	// (reason ReasonLate, the line rebuilt from the hit).
	Bad weir.Stream[BadLine]
	// Counters count lines, bad lines and windows as the job runs.
	Counters *Counters
}

// partial is what the parallel counting steps send to the merge: the
// change to one window from one client (PV and, the first time, UV 1) or
// from one page.
//
// Its fields are exported because records in flight are stored in unaligned
// checkpoints.
type partial struct {
	Window int64 // start, Unix ms
	End    int64
	PV     int64
	UV     int64
	Page   string // empty for client partials
}

// counter accumulates one key's views in one window and remembers how many
// it reported, so that a refiring within the allowed lateness sends only
// the difference: the merge adds partials and must count each view once.
type counter struct {
	Views    int64 // exported: accumulators are stored in checkpoints
	Reported int64
}

// Build adds the PV/UV job to lines' environment.
//
// Exact UV without a hot subtask (Flink's split distinct aggregation):
// lines are keyed by client, so each subtask counts a disjoint set of
// visitors; pages are keyed by page. A final step at parallelism 1 adds the
// partial counts per window and picks the top pages.
func Build(lines weir.Stream[string], opts Options) (*Job, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	c := &Counters{}
	bad := weir.NewOutputTag[BadLine]("bad-lines")
	hits := weir.Process(lines, func(ctx *weir.Context, line string, out weir.Emitter[Hit]) error {
		c.Lines.Add(1)
		var h Hit
		// Client and Page share the line's memory; the windows keyed by
		// them copy a key when they first store it.
		if reason := ParseString(line, &h); reason != "" {
			c.BadLines.Add(1)
			bad.Emit(ctx, BadLine{Line: line, Reason: reason})
			return nil
		}
		out.Emit(h)
		return nil
	}, weir.Name("parse"))
	badLines := weir.SideOutput(hits, bad)
	hits = weir.Watermarks(hits, weir.BoundedOutOfOrderness(opts.OutOfOrderness, func(h Hit) time.Time { return h.Time }), weir.Name("watermarks"))

	tumbling := window.Tumbling(opts.Window)
	lateness := weir.AllowedLateness(opts.AllowedLateness)
	count := weir.AggregateFunc[Hit, *counter, *counter]{
		Init:   func() *counter { return &counter{} },
		Add:    func(a *counter, _ Hit) *counter { a.Views++; return a },
		Result: func(a *counter) *counter { return a },
		Merge:  func(a, b *counter) *counter { a.Views += b.Views; return a },
	}
	// Late lines leave the client count (each line is in both counts; one
	// report is enough) for the dead-letter output: never silently dropped.
	lateTag := weir.NewOutputTag[Hit]("late")
	byClient := weir.AggregateWindow(weir.Window(weir.KeyBy(hits, func(h Hit) string { return h.Client }), tumbling, lateness, weir.LateRecordsTo(lateTag)), count,
		func(_ string, w window.Window, a *counter, out weir.Emitter[partial]) error {
			p := partial{Window: w.Start, End: w.End, PV: a.Views - a.Reported}
			if a.Reported == 0 {
				p.UV = 1
			}
			a.Reported = a.Views
			out.Emit(p)
			return nil
		}, weir.Name("count-clients"))
	byPage := weir.AggregateWindow(weir.Window(weir.KeyBy(hits, func(h Hit) string { return h.Page }), tumbling, lateness), count,
		func(page string, w window.Window, a *counter, out weir.Emitter[partial]) error {
			out.Emit(partial{Window: w.Start, End: w.End, PV: a.Views - a.Reported, Page: page})
			a.Reported = a.Views
			return nil
		}, weir.Name("count-pages"))

	merged := weir.ProcessKeyed(weir.KeyBy(weir.Union(byClient, byPage), func(p partial) int64 { return p.Window }),
		func(s *state.Store[int64]) weir.KeyedProcessFunction[int64, partial, Result] {
			return &merge{
				totals:   state.ValueOf[totals](s, "totals"),
				pages:    state.MapOf[string, int64](s, "pages"),
				lateness: opts.AllowedLateness,
				topN:     opts.TopN,
				counters: c,
			}
		}, weir.Name("merge"), weir.Parallelism(1))
	late := weir.Map(weir.SideOutput(byClient, lateTag), func(h Hit) BadLine {
		c.Late.Add(1)
		return BadLine{Line: h.String(), Reason: ReasonLate}
	}, weir.Name("late-lines"))
	return &Job{Results: merged, Bad: weir.Union(badLines, late), Counters: c}, nil
}

// totals is a window's running sums. Its fields are exported because it is
// kept in state, and state is stored in checkpoints.
type totals struct {
	End     int64
	PV, UV  int64
	Emitted bool
}

// merge adds the partial counts of each window and emits the window when
// the watermark passes its end; within the allowed lateness, late partials
// update it and emit it again.
type merge struct {
	totals   state.Value[totals]
	pages    state.Map[string, int64]
	lateness time.Duration
	topN     int
	counters *Counters
}

func (m *merge) ProcessElement(ctx *weir.KeyedContext[int64, Result], p partial) error {
	t, _ := m.totals.Get()
	t.End = p.End
	if p.Page != "" {
		n, _ := m.pages.Get(p.Page)
		m.pages.Put(p.Page, n+p.PV)
	} else {
		t.PV += p.PV
		t.UV += p.UV
	}
	m.totals.Set(t)
	if t.Emitted {
		m.emit(ctx, t) // a late update within the allowed lateness
		return nil
	}
	ctx.RegisterEventTimer(time.UnixMilli(p.End - 1))
	return nil
}

func (m *merge) OnTimer(ctx *weir.KeyedContext[int64, Result], at time.Time, _ weir.TimeDomain) error {
	t, ok := m.totals.Get()
	if !ok {
		return nil
	}
	if !t.Emitted {
		t.Emitted = true
		m.totals.Set(t)
		m.emit(ctx, t)
		if m.lateness > 0 {
			ctx.RegisterEventTimer(at.Add(m.lateness))
			return nil
		}
	}
	// The window is final: drop its state.
	m.totals.Clear()
	m.pages.Clear()
	return nil
}

func (m *merge) emit(ctx *weir.KeyedContext[int64, Result], t totals) {
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
	m.counters.Windows.Add(1)
	m.counters.Watermark.Store(t.End)
	ctx.Emit(Result{
		WindowStart: time.UnixMilli(ctx.Key()).UTC(),
		WindowEnd:   time.UnixMilli(t.End).UTC(),
		PV:          t.PV,
		UV:          t.UV,
		TopPages:    top,
	})
}
