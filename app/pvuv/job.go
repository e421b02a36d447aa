package pvuv

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/window"
)

// UV modes, the values of Options.UV.
const (
	// UVExact counts the unique visitors of a window exactly: the client
	// count is keyed by client address, so each subtask counts a disjoint
	// set of visitors and the merge adds the counts. Its state holds every
	// visitor of every open window.
	UVExact = "exact"
	// UVHLL estimates them with HyperLogLog: the client count is keyed by
	// one of 64 shards of the visitors and keeps a sketch per shard and
	// window (HLLPrecision), and the merge merges the shards' sketches.
	// Memory no longer grows with the visitors; UV has a relative standard
	// error of HLLStandardError (0.81%).
	UVHLL = "hll"
)

// Options configure the PV/UV job. Zero values take the documented defaults.
type Options struct {
	// Window is the size of the tumbling event-time windows. Default 1m.
	Window time.Duration
	// OutOfOrderness is how far behind the newest line a line may be and
	// still count in its window. Default 5s.
	OutOfOrderness time.Duration
	// AllowedLateness keeps a window open this long after it fired; a late
	// line within it updates the window, which is emitted again (a final
	// result again, once per partial the line makes). Default 0.
	//
	// With the pebble state backend, leave it 0 for now: weir's pebble
	// window operator does not store what a window function changed in its
	// accumulator, so a window that fires again would report its views (and
	// its visitors) a second time.
	AllowedLateness time.Duration
	// TopN is the number of top pages per window. Default 10.
	TopN int
	// SourceWatermarks says that the lines come with their event times and
	// watermarks already, from a source that keeps them per split
	// (weir.FromSourceWithWatermarks with LineTime, as a Kafka source
	// should: one partition that lags must not make another's lines
	// late). Build then adds no watermark step of its own.
	SourceWatermarks bool
	// SourceDeadLetters says that lines come straight from a source
	// (weir.FromSource or FromSourceWithWatermarks): Build then reads the
	// records the source could not read (weir.SourceDeadLetters), such as
	// the file source's lines longer than its MaxLineSize (reason "too
	// long", with the line's first bytes), into Bad, and counts each as a
	// line and a bad line, in Counters and in Totals. Without it they are
	// counted in the source's metrics only.
	SourceDeadLetters bool
	// EarlyResults, when positive, makes the job emit running results of
	// the windows that are still open, at most every EarlyResults of
	// processing time, before each window's final result: Results then
	// carries, per window, results with Running true followed by the final
	// one, and Days carries running results of the day at that pace too.
	// Default 0: no running results, one record per window.
	//
	// Running results come from the window operator's early firing
	// (weir.EarlyFiring), which needs the heap state backend (the
	// default): with weir.StateBackend("pebble", ...) Execute fails at
	// start with an error that says so; run without EarlyResults there.
	// At least 1ms; a second suits a dashboard.
	EarlyResults time.Duration
	// UV is how a window's unique visitors are counted: UVExact ("exact",
	// the default) or UVHLL ("hll") for very many visitors. With "hll" the
	// UV of a window is an estimate with a relative standard error of
	// 1.04/√16384 ≈ 0.81% (HLLStandardError; within ±2.4% for 99.7% of
	// windows), and the state is at most 64 sketches of 16 KiB per open
	// window, whatever the number of visitors. PV and the top pages are
	// exact in both modes. The daily UV (Job.Days) is a HyperLogLog
	// estimate in both modes.
	//
	// The two modes count visitors in different steps: a job restored
	// from a checkpoint taken with the other mode starts its client count
	// empty, and the windows open at the switch undercount their visitors.
	UV string
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
	if o.UV == "" {
		o.UV = UVExact
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
	switch {
	case o.EarlyResults < 0:
		p = append(p, fmt.Sprintf("early results %v must not be negative: use 0 for final results only, or an interval such as 1s", o.EarlyResults))
	case o.EarlyResults > 0 && o.EarlyResults < time.Millisecond:
		p = append(p, fmt.Sprintf("early results %v is below 1ms: use an interval such as 1s", o.EarlyResults))
	}
	if o.UV != UVExact && o.UV != UVHLL {
		p = append(p, fmt.Sprintf("uv %q is unknown: use %q (the default) or %q", o.UV, UVExact, UVHLL))
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
	// Running marks a running result of a window that is still open
	// (Options.EarlyResults); the window's final result, with Running
	// false, follows. The JSON form does not carry it: outputs that keep
	// one record per window leave EarlyResults off.
	Running bool `json:"-"`
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

// Counters are the job's own counters, safe to read while it runs. They
// count what this process did, for progress reports: they start at zero in
// every process, and lines read again after a restore from a checkpoint
// count again. The job's exact totals are Job.Totals.
type Counters struct {
	Lines    Count        // lines read
	BadLines Count        // lines that are not page views, sent to the dead-letter output
	Late     atomic.Int64 // page views later than their window, sent there too
	// Windows counts the final window results emitted (a window updated
	// within the allowed lateness counts again); running results do not
	// count.
	Windows atomic.Int64
	// Watermark is the event time the final results have reached, in Unix
	// ms: the end of the last window emitted.
	Watermark atomic.Int64
}

// Job is the PV/UV job's streams, built by Build.
type Job struct {
	// Results has the results of every window, from one subtask
	// (parallelism 1). Final results come in window order. With
	// Options.EarlyResults, a window's running results (Running true) come
	// before its final one; without, there is one record per window.
	Results weir.Stream[Result]
	// Days has the PV and UV of every UTC day, from one subtask: running
	// results (Running true) whenever a window of the day closes, and
	// with Options.EarlyResults at most every EarlyResults in between;
	// then the day's final result when the watermark passes its end.
	Days weir.Stream[DayResult]
	// Bad has the lines that are not page views, and late page views
	// (reason ReasonLate, the line rebuilt from the hit).
	Bad weir.Stream[BadLine]
	// Totals has the job's totals (lines, bad lines, late lines) from one
	// subtask, kept in checkpointed state and exact as of the results
	// emitted: at most every TotalsInterval while they change, and once
	// more, Final, at the end of a bounded input. Each record holds the
	// whole totals, so writing it again overwrites.
	Totals weir.Stream[Totals]
	// Counters count lines, bad lines and windows as this process runs,
	// for progress reports.
	Counters *Counters
}

// partial is what the parallel counting steps send to the merge and to the
// daily step: the change to one window from one client (exact UV: its new
// views, UV 1 the first time, and its hash for the daily sketch), from one
// page, or from one shard of the visitors (its new views and its sketch).
//
// Its fields are exported because records in flight are stored in unaligned
// checkpoints.
type partial struct {
	Window int64 // start, Unix ms
	End    int64
	PV     int64
	UV     int64
	Page   string // empty for client partials
	Hash   uint64 // the client's hash (clientHash), with UV 1
	Sketch []byte // a shard's HyperLogLog sketch of the window's visitors, encoded
}

// counter accumulates one key's views in one window and remembers how many
// it reported, so that a refiring (an early result, or a late line within
// the allowed lateness) sends only the difference: the merge adds partials
// and must count each view once. It is a plain value: the window functions
// see it through weir.AggregateWindowAcc, which keeps what they change.
type counter struct {
	Views    int64 // exported: accumulators are stored in checkpoints
	Reported int64
}

// countViews counts the page views of a key in a window.
var countViews = weir.AggregateFunc[Hit, counter, counter]{
	Init:  func() counter { return counter{} },
	Add:   func(a counter, _ Hit) counter { a.Views++; return a },
	Merge: func(a, b counter) counter { a.Views += b.Views; return a },
}

// Build adds the PV/UV job to lines' environment. The package
// documentation draws the job's steps.
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
			// A copy: the dead letters wait in their exchange's batch
			// for up to its buffer timeout, and a line cut from the
			// source's block would keep the whole block alive meanwhile.
			bad.Emit(ctx, BadLine{Line: strings.Clone(line), Reason: reason})
			return nil
		}
		out.Emit(h)
		return nil
	}, weir.Name("parse"))
	badLines := weir.SideOutput(hits, bad)
	more := []weir.Stream[BadLine]{badLines}
	if opts.SourceDeadLetters {
		more = append(more, deadLetters(lines, c))
	}
	return build(hits, c, opts, more...)
}

// BuildHits adds the PV/UV job to the environment of hits read straight
// from a source that parses lines as it reads them: a file source that
// decodes with c's decoders (file.DecodedPerReader(src, c.NewDecoder), or
// c.Decode), which copy only the client and the page of a line, not the
// line. The lines
// the source could not read or parse (weir.SourceDeadLetters) go to Bad
// with their reasons, and the job counts in c. Options.SourceDeadLetters
// is implied; the rest is as for Build, of which it is the same job.
func BuildHits(hits weir.Stream[Hit], c *Counters, opts Options) (*Job, error) {
	if c == nil {
		return nil, errors.New("pvuv: BuildHits needs the Counters whose decoders the source parses with")
	}
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return build(hits, c, opts, deadLetters(hits, c))
}

// Decode parses one line into a hit and counts it, for a source that
// decodes lines where it reads them (file.Decoder). It copies the client
// and the page, in one allocation, and nothing else of the line. A line
// that is not a page view returns an error whose text is the reason (one
// of the Reason constants), which the source's dead letters carry.
func (c *Counters) Decode(line []byte) (Hit, error) {
	var h Hit
	if reason := ParseInto(line, &h); reason != "" {
		return Hit{}, reasonError(reason)
	}
	c.Lines.Add(1)
	return h, nil
}

// NewDecoder returns a Decode for one reader of a file source
// (file.DecodedPerReader(src, c.NewDecoder)): it takes the clients and
// pages of its hits from a source.Strings of its own, so a line costs no
// allocation, and counts in c as Decode does.
func (c *Counters) NewDecoder() file.Decoder[Hit] {
	s := &source.Strings{}
	return func(line []byte) (Hit, error) {
		var h Hit
		if reason := ParseStrings(line, &h, s); reason != "" {
			return Hit{}, reasonError(reason)
		}
		c.Lines.Add(1)
		return h, nil
	}
}

// reasonError is a bad line's reason as an error.
type reasonError string

func (e reasonError) Error() string { return string(e) }

// deadLetters returns the records of s's source that it could not read,
// as bad lines, each counted as a line and a bad line.
func deadLetters[T any](s weir.Stream[T], c *Counters) weir.Stream[BadLine] {
	return weir.Map(weir.SourceDeadLetters(s), func(d source.DeadLetter) BadLine {
		c.Lines.Add(1)
		c.BadLines.Add(1)
		return BadLine{Line: string(d.Raw), Reason: d.Reason}
	}, weir.Name("source-dead-letters"))
}

// build adds the job's steps after the parse to hits' environment. bad
// are the streams of bad lines: the first joins the late lines, then the
// others join them, in the order Build has always made those unions.
func build(hits weir.Stream[Hit], c *Counters, opts Options, bad ...weir.Stream[BadLine]) (*Job, error) {
	if !opts.SourceWatermarks {
		hits = weir.Watermarks(hits, weir.BoundedOutOfOrderness(opts.OutOfOrderness, func(h Hit) time.Time { return h.Time }), weir.Name("watermarks"))
	}

	tumbling := window.Tumbling(opts.Window)
	// Every counting step fires the same windows at the same times: a
	// partial of a window always reaches the next step while its window
	// is open there too.
	windowed := func(more ...weir.WindowOption) []weir.WindowOption {
		o := append([]weir.WindowOption{weir.AllowedLateness(opts.AllowedLateness)}, more...)
		if opts.EarlyResults > 0 {
			o = append(o, weir.EarlyFiring(opts.EarlyResults))
		}
		return o
	}
	// Late lines leave the client count (each line is in both counts; one
	// report is enough) for the dead-letter output: never silently dropped.
	lateTag := weir.NewOutputTag[Hit]("late")
	var visitors weir.Stream[partial]
	if opts.UV == UVHLL {
		shards := weir.KeyBy(hits, func(h Hit) int { return shardOf(clientHash(h.Client)) })
		visitors = weir.AggregateWindow(weir.Window(shards, tumbling, windowed(weir.LateRecordsTo(lateTag))...),
			sketchHits, reportSketch, weir.Name("sketch-clients"))
	} else {
		clients := weir.KeyBy(hits, func(h Hit) string { return h.Client })
		visitors = weir.AggregateWindowAcc(weir.Window(clients, tumbling, windowed(weir.LateRecordsTo(lateTag))...),
			countViews, reportClient, weir.Name("count-clients"))
	}
	byPage := weir.AggregateWindowAcc(weir.Window(weir.KeyBy(hits, func(h Hit) string { return h.Page }), tumbling, windowed()...), countViews,
		func(page string, w window.Window, a *counter, out weir.Emitter[partial]) error {
			if views := a.Views - a.Reported; views > 0 {
				out.Emit(partial{Window: w.Start, End: w.End, PV: views, Page: page})
				a.Reported = a.Views
			}
			return nil
		}, weir.Name("count-pages"))

	windows := weir.ProcessKeyed(weir.KeyBy(weir.Union(visitors, byPage), func(p partial) int64 { return p.Window }),
		func(s *state.Store[int64]) weir.KeyedProcessFunction[int64, partial, merged] {
			return &merge{
				totals:   state.ValueOf[totals](s, "totals"),
				pages:    state.MapOf[string, int64](s, "pages"),
				sketch:   state.ValueOf[*hyperloglog.Sketch](s, "sketch"),
				lateness: opts.AllowedLateness,
				early:    opts.EarlyResults,
				topN:     opts.TopN,
				counters: c,
			}
		}, weir.Name("merge"), weir.Parallelism(1))
	// At the merge's parallelism, 1: chained to it, so results keep
	// their order.
	results := weir.Map(windows, func(m merged) Result { return m.Result }, weir.Name("window-results"), weir.Parallelism(1))
	// The daily step sketches the visitors' partials: the clients' hashes
	// (exact UV), or the shards' sketches (HyperLogLog UV).
	days := weir.ProcessKeyed(weir.KeyBy(visitors, func(p partial) int64 { return dayOf(p.Window) }),
		func(s *state.Store[int64]) weir.KeyedProcessFunction[int64, partial, DayResult] {
			return &daily{
				totals:   state.ValueOf[dayTotals](s, "totals"),
				sketch:   state.ValueOf[*hyperloglog.Sketch](s, "sketch"),
				lateness: opts.AllowedLateness,
				early:    opts.EarlyResults,
			}
		}, weir.Name("days"), weir.Parallelism(1))
	late := weir.Map(weir.SideOutput(visitors, lateTag), func(h Hit) BadLine {
		c.Late.Add(1)
		return BadLine{Line: h.String(), Reason: ReasonLate}
	}, weir.Name("late-lines"))
	// Every record of Bad counts in the totals: as a late line if its
	// reason is ReasonLate, as a bad line otherwise.
	allBad := weir.Union(bad[0], late)
	for _, b := range bad[1:] {
		allBad = weir.Union(allBad, b)
	}
	return &Job{Results: results, Days: days, Bad: allBad, Totals: countTotals(windows, allBad), Counters: c}, nil
}

// reportClient sends a client's window to the merge and the daily step
// (exact UV): the views it did not report yet, and the first time UV 1 and
// the client's hash. A refiring without new views sends nothing.
func reportClient(client string, w window.Window, a *counter, out weir.Emitter[partial]) error {
	views := a.Views - a.Reported
	if views == 0 {
		return nil
	}
	p := partial{Window: w.Start, End: w.End, PV: views}
	if a.Reported == 0 {
		p.UV, p.Hash = 1, clientHash(client)
	}
	a.Reported = a.Views
	out.Emit(p)
	return nil
}

// LineTime returns the time of an access-log line, or the zero time for a
// line that is not a page view. It is the timestamp function for a source
// that keeps watermarks per split (weir.FromSourceWithWatermarks), with
// Options.SourceWatermarks.
func LineTime(line string) time.Time {
	var h Hit
	if ParseString(line, &h) != "" {
		return time.Time{}
	}
	return h.Time
}
