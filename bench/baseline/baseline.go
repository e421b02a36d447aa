// Package baseline is the hand-written PV/UV program that weir is measured
// and checked against: it computes, in one goroutine and with no framework,
// what the PV/UV job computes, as fast as plain Go allows.
//
// It is an exact batch computation: every line counts in its event-time
// window however late it arrives, so its results are the reference for a
// streaming run with enough allowed lateness. Lines are parsed by
// pvuv.ParseRaw, so both sides agree on what a page view is.
package baseline

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"time"

	"github.com/weirstream/weir/app/pvuv"
)

// PageCount is a page and its page views in one window.
type PageCount struct {
	Page string
	PV   int64
}

// Window is one result window.
type Window struct {
	// Start and End bound the window [Start, End), in UTC.
	Start, End time.Time
	// PV counts page views and UV distinct clients.
	PV, UV int64
	// TopPages are the most viewed pages, by PV descending and then by page
	// ascending; at most the topN given to Run.
	TopPages []PageCount
}

// Result is the outcome of a run.
type Result struct {
	// Windows holds every window with at least one page view, by Start.
	Windows []Window
	// Lines counts input lines and Bad those that are not page views.
	Lines, Bad int64
}

// Run reads newline-separated access-log lines from r until io.EOF and
// computes, for each tumbling event-time window of size window aligned to
// the Unix epoch, its page views, its exact unique visitors (distinct
// clients) and its topN pages. A trailing "\r" is removed from each line; a
// last line without a newline counts. Lines that are not page views count
// in Result.Bad.
//
// window must be a positive whole number of seconds, since log timestamps
// have second resolution; topN must not be negative. Run returns a read
// error from r, wrapped, with no result.
//
// Memory grows with the distinct clients and pages of the input and, per
// window, with its distinct clients and the pages it holds.
func Run(r io.Reader, window time.Duration, topN int) (Result, error) {
	if window <= 0 || window%time.Second != 0 {
		return Result{}, fmt.Errorf("baseline: window %v must be a positive whole number of seconds", window)
	}
	if topN < 0 {
		return Result{}, fmt.Errorf("baseline: topN %d must not be negative", topN)
	}
	c := counter{
		winSec:   int64(window / time.Second),
		wins:     make(map[int64]*win),
		clientID: make(map[string]uint32),
		pageID:   make(map[string]uint32),
	}
	if err := c.read(r); err != nil {
		return Result{}, err
	}
	return c.result(window, topN), nil
}

// denseLimit bounds the page ids counted in a window's slice; rarer pages,
// which get later ids, are counted in a map so that a window costs at most
// denseLimit*8 bytes for its slice however many pages the input has.
const denseLimit = 4096

// win is the state of one window.
type win struct {
	start int64 // Unix seconds
	idx   int32 // position in counter.order
	pv    int64
	// clients lists the ids of the window's clients. The per-client stamp
	// keeps out repeats of the same client in a row of hits to this window,
	// so duplicates come only from interleaved windows and are removed at
	// the end.
	clients []uint32
	pages   []int64 // by page id below denseLimit
	more    map[uint32]int64
}

type counter struct {
	winSec int64
	wins   map[int64]*win // by start
	order  []*win         // by creation; idx indexes it
	last   *win           // the window of the previous hit: usually this one's

	clientID map[string]uint32
	stamp    []int32 // by client id: idx+1 of the window it last hit, 0 for none
	pageID   map[string]uint32
	pages    []string // by page id

	lines, bad int64
	hit        pvuv.RawHit
}

func (c *counter) read(r io.Reader) error {
	buf := make([]byte, 1<<20)
	start, end := 0, 0 // buf[start:end] is read but not yet consumed
	for {
		n, err := r.Read(buf[end:])
		end += n
		for {
			i := bytes.IndexByte(buf[start:end], '\n')
			if i < 0 {
				break
			}
			c.line(buf[start : start+i])
			start += i + 1
		}
		if errors.Is(err, io.EOF) {
			if start < end {
				c.line(buf[start:end])
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("baseline: reading input: %w", err)
		}
		if end == len(buf) {
			if start == 0 { // one line fills the buffer
				buf = append(buf, make([]byte, len(buf))...)
			} else {
				end = copy(buf, buf[start:end])
				start = 0
			}
		}
	}
}

func (c *counter) line(b []byte) {
	c.lines++
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	h := &c.hit
	if pvuv.ParseRaw(b, h) != "" {
		c.bad++
		return
	}
	sec := h.Time.Unix()
	ws := sec - (sec%c.winSec+c.winSec)%c.winSec // floor to the window, also before 1970
	w := c.last
	if w == nil || w.start != ws {
		w = c.window(ws)
		c.last = w
	}
	w.pv++

	cid, ok := c.clientID[string(h.Client)]
	if !ok {
		cid = uint32(len(c.stamp))
		c.clientID[string(h.Client)] = cid
		c.stamp = append(c.stamp, 0)
	}
	if c.stamp[cid] != w.idx+1 {
		c.stamp[cid] = w.idx + 1
		w.clients = append(w.clients, cid)
	}

	pid, ok := c.pageID[string(h.Page)]
	if !ok {
		pid = uint32(len(c.pages))
		p := string(h.Page)
		c.pageID[p] = pid
		c.pages = append(c.pages, p)
	}
	switch {
	case pid < uint32(len(w.pages)):
		w.pages[pid]++
	case pid < denseLimit:
		w.pages = append(w.pages, make([]int64, int(pid)+1-len(w.pages))...)
		w.pages[pid]++
	default:
		if w.more == nil {
			w.more = make(map[uint32]int64)
		}
		w.more[pid]++
	}
}

func (c *counter) window(start int64) *win {
	if w, ok := c.wins[start]; ok {
		return w
	}
	w := &win{start: start, idx: int32(len(c.order))}
	c.wins[start] = w
	c.order = append(c.order, w)
	return w
}

func (c *counter) result(window time.Duration, topN int) Result {
	slices.SortFunc(c.order, func(a, b *win) int { return cmp.Compare(a.start, b.start) })
	res := Result{Lines: c.lines, Bad: c.bad, Windows: make([]Window, 0, len(c.order))}
	for _, w := range c.order {
		slices.Sort(w.clients)
		start := time.Unix(w.start, 0).UTC()
		res.Windows = append(res.Windows, Window{
			Start:    start,
			End:      start.Add(window),
			PV:       w.pv,
			UV:       int64(len(slices.Compact(w.clients))),
			TopPages: c.top(w, topN),
		})
	}
	return res
}

// top returns w's topN pages, keeping a sorted slice of at most topN.
func (c *counter) top(w *win, topN int) []PageCount {
	if topN == 0 {
		return nil
	}
	top := make([]PageCount, 0, topN)
	less := func(a, b PageCount) bool { // a ranks before b
		return a.PV > b.PV || (a.PV == b.PV && a.Page < b.Page)
	}
	offer := func(pid uint32, pv int64) {
		pc := PageCount{Page: c.pages[pid], PV: pv}
		if len(top) == topN && !less(pc, top[topN-1]) {
			return
		}
		i := sort.Search(len(top), func(i int) bool { return less(pc, top[i]) })
		if len(top) < topN {
			top = append(top, PageCount{})
		}
		copy(top[i+1:], top[i:])
		top[i] = pc
	}
	for pid, pv := range w.pages {
		if pv > 0 {
			offer(uint32(pid), pv)
		}
	}
	for pid, pv := range w.more {
		offer(pid, pv)
	}
	return top
}
