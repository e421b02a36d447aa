package dashboard

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/redis/rueidis"
)

// Window is the PV/UV of one window, as the API answers it.
type Window struct {
	Start int64 `json:"start"` // Unix ms, inclusive
	End   int64 `json:"end"`   // Unix ms, exclusive
	PV    int64 `json:"pv"`
	UV    int64 `json:"uv"`
	// Final is true when the window closed, false for the running early
	// result of the current window.
	Final bool `json:"final"`
}

// Day is the PV/UV of one UTC day.
type Day struct {
	Date  string `json:"date"` // YYYY-MM-DD
	PV    int64  `json:"pv"`
	UV    int64  `json:"uv"` // distinct clients over the whole day
	Final bool   `json:"final"`
}

// Counters are the PV/UV job's totals.
type Counters struct {
	Lines    int64 `json:"lines"`     // lines read
	BadLines int64 `json:"bad_lines"` // lines that are not page views
	Late     int64 `json:"late"`      // page views later than their window
}

// PVUV is the answer of GET /api/pvuv.
type PVUV struct {
	From    int64    `json:"from"` // Unix ms
	To      int64    `json:"to"`
	Windows []Window `json:"windows"` // by start
	// Truncated is true when the range held more than Config.MaxWindows
	// windows: Windows has the first ones.
	Truncated bool     `json:"truncated"`
	Day       Day      `json:"day"` // the UTC day that contains To
	Counters  Counters `json:"counters"`
}

// Page is the page views of one page in a window.
type Page struct {
	Page string `json:"page"`
	PV   int64  `json:"pv"`
}

// Pages is the answer of GET /api/pages.
type Pages struct {
	Window *Window `json:"window"` // null before the job wrote a window
	Pages  []Page  `json:"pages"`  // most viewed first
}

// Live is one event of GET /api/live.
type Live struct {
	Time     int64    `json:"time"`   // when it was read, Unix ms
	Window   *Window  `json:"window"` // the newest window; null before the first
	Day      Day      `json:"day"`    // the UTC day of Window (of Time without one)
	Counters Counters `json:"counters"`
	// Memory is the memory of the dashboard's process, with
	// Config.ProcessMemory; absent otherwise.
	Memory *Memory `json:"memory,omitempty"`
}

// formatError is a Redis value that the key layout does not allow.
type formatError struct {
	key, field, value string
	err               error
}

func (e *formatError) Error() string {
	what := fmt.Sprintf("Redis key %q", e.key)
	if e.field != "" {
		what += fmt.Sprintf(" field %q", e.field)
	}
	return fmt.Sprintf("dashboard: %s holds %q, not a whole number (%v): check that Config.Prefix names the keys the PV/UV job writes", what, e.value, e.err)
}

func (e *formatError) Unwrap() error { return e.err }

// store reads the key layout that doc.go describes.
type store struct {
	client rueidis.Client
	prefix string
}

func (s store) windowsKey() string  { return s.prefix + ":windows" }
func (s store) countersKey() string { return s.prefix + ":counters" }

func (s store) dayKey(date string) string { return s.prefix + ":day:" + date }

func (s store) windowKey(start int64) string {
	return s.prefix + ":window:" + strconv.FormatInt(start, 10)
}

func (s store) pagesKey(start int64) string {
	return s.prefix + ":pages:" + strconv.FormatInt(start, 10)
}

// dateOf is the UTC day of a Unix ms time, as the job names it.
func dateOf(ms int64) string { return time.UnixMilli(ms).UTC().Format(time.DateOnly) }

// overview reads the windows that start in [from, to] (at most limit of
// them; truncated when there were more), the day of to and the counters.
func (s store) overview(ctx context.Context, from, to int64, limit int) (PVUV, error) {
	out := PVUV{From: from, To: to, Windows: []Window{}}
	starts, err := s.client.Do(ctx, s.client.B().Zrange().Key(s.windowsKey()).
		Min(strconv.FormatInt(from, 10)).Max(strconv.FormatInt(to, 10)).Byscore().
		Limit(0, int64(limit)+1).Build()).AsStrSlice()
	if err != nil {
		return out, fmt.Errorf("read %s: %w", s.windowsKey(), err)
	}
	if len(starts) > limit {
		starts, out.Truncated = starts[:limit], true
	}
	cmds := make(rueidis.Commands, 0, len(starts)+2)
	keys := make([]int64, 0, len(starts))
	for _, m := range starts {
		start, err := strconv.ParseInt(m, 10, 64)
		if err != nil {
			return out, &formatError{key: s.windowsKey(), value: m, err: err}
		}
		keys = append(keys, start)
		cmds = append(cmds, s.client.B().Hgetall().Key(s.windowKey(start)).Build())
	}
	out.Day.Date = dateOf(to)
	cmds = append(cmds, s.client.B().Hgetall().Key(s.dayKey(out.Day.Date)).Build(),
		s.client.B().Hgetall().Key(s.countersKey()).Build())
	res := s.client.DoMulti(ctx, cmds...)
	for i, start := range keys {
		w, ok, err := s.parseWindow(res[i], start)
		if err != nil {
			return out, err
		}
		if ok {
			out.Windows = append(out.Windows, w)
		}
	}
	if out.Day, err = s.parseDay(res[len(keys)], out.Day.Date); err != nil {
		return out, err
	}
	out.Counters, err = s.parseCounters(res[len(keys)+1])
	return out, err
}

// latestStart is the start of the newest window; ok is false when there is
// none.
func (s store) latestStart(ctx context.Context) (start int64, ok bool, err error) {
	// By rank: -1 is the member with the highest score.
	m, err := s.client.Do(ctx, s.client.B().Zrange().Key(s.windowsKey()).Min("-1").Max("-1").Build()).AsStrSlice()
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", s.windowsKey(), err)
	}
	if len(m) == 0 {
		return 0, false, nil
	}
	start, err = strconv.ParseInt(m[0], 10, 64)
	if err != nil {
		return 0, false, &formatError{key: s.windowsKey(), value: m[0], err: err}
	}
	return start, true, nil
}

// pages reads the window that starts at start and its top pages; w is nil
// when the window does not exist.
func (s store) pages(ctx context.Context, start int64, limit int) (*Window, []Page, error) {
	res := s.client.DoMulti(ctx,
		s.client.B().Hgetall().Key(s.windowKey(start)).Build(),
		s.client.B().Zrange().Key(s.pagesKey(start)).Min("0").Max(strconv.Itoa(limit-1)).Rev().Withscores().Build())
	w, ok, err := s.parseWindow(res[0], start)
	if err != nil {
		return nil, nil, err
	}
	scores, err := res[1].AsZScores()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", s.pagesKey(start), err)
	}
	pages := make([]Page, 0, len(scores))
	for _, z := range scores {
		if z.Score != math.Trunc(z.Score) || math.IsInf(z.Score, 0) {
			return nil, nil, &formatError{key: s.pagesKey(start), field: z.Member, value: strconv.FormatFloat(z.Score, 'g', -1, 64), err: strconv.ErrSyntax}
		}
		pages = append(pages, Page{Page: z.Member, PV: int64(z.Score)})
	}
	if !ok {
		if len(pages) == 0 {
			return nil, nil, nil
		}
		w = Window{Start: start} // pages written before the window's hash
	}
	return &w, pages, nil
}

// live reads the newest window, its day and the counters.
func (s store) live(ctx context.Context, now time.Time) (Live, error) {
	out := Live{Time: now.UnixMilli()}
	start, ok, err := s.latestStart(ctx)
	if err != nil {
		return out, err
	}
	at := out.Time
	if ok {
		at = start
	}
	out.Day.Date = dateOf(at)
	cmds := rueidis.Commands{
		s.client.B().Hgetall().Key(s.dayKey(out.Day.Date)).Build(),
		s.client.B().Hgetall().Key(s.countersKey()).Build(),
	}
	if ok {
		cmds = append(cmds, s.client.B().Hgetall().Key(s.windowKey(start)).Build())
	}
	res := s.client.DoMulti(ctx, cmds...)
	if out.Day, err = s.parseDay(res[0], out.Day.Date); err != nil {
		return out, err
	}
	if out.Counters, err = s.parseCounters(res[1]); err != nil {
		return out, err
	}
	if ok {
		w, found, err := s.parseWindow(res[2], start)
		if err != nil {
			return out, err
		}
		if found {
			out.Window = &w
		}
	}
	return out, nil
}

// hash reads the fields of a HGETALL answer as numbers; a missing field
// is 0.
func hash(r rueidis.RedisResult, key string, fields ...string) (map[string]int64, bool, error) {
	m, err := r.AsStrMap()
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", key, err)
	}
	out := make(map[string]int64, len(fields))
	for _, f := range fields {
		v, ok := m[f]
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, false, &formatError{key: key, field: f, value: v, err: err}
		}
		out[f] = n
	}
	return out, len(m) > 0, nil
}

func (s store) parseWindow(r rueidis.RedisResult, start int64) (Window, bool, error) {
	key := s.windowKey(start)
	f, ok, err := hash(r, key, "end", "pv", "uv", "final")
	if err != nil || !ok {
		return Window{}, false, err
	}
	return Window{Start: start, End: f["end"], PV: f["pv"], UV: f["uv"], Final: f["final"] == 1}, true, nil
}

func (s store) parseDay(r rueidis.RedisResult, date string) (Day, error) {
	f, _, err := hash(r, s.dayKey(date), "pv", "uv", "final")
	if err != nil {
		return Day{Date: date}, err
	}
	return Day{Date: date, PV: f["pv"], UV: f["uv"], Final: f["final"] == 1}, nil
}

func (s store) parseCounters(r rueidis.RedisResult) (Counters, error) {
	f, _, err := hash(r, s.countersKey(), "lines", "bad_lines", "late")
	if err != nil {
		return Counters{}, err
	}
	return Counters{Lines: f["lines"], BadLines: f["bad_lines"], Late: f["late"]}, nil
}
