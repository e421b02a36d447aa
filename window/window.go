// Package window defines window assigners: how a record's timestamp maps to
// the windows it belongs to. The window operator that keeps accumulators,
// fires and cleans up windows lives in the weir package (weir.Window).
//
// All times are Unix milliseconds; a window covers [Start, End).
package window

import (
	"fmt"
	"time"
)

// Window is a half-open interval of time [Start, End) in Unix milliseconds.
type Window struct {
	Start, End int64
}

// MaxTimestamp is the last millisecond inside the window; the window fires
// when the watermark reaches it, and its results carry it as timestamp.
func (w Window) MaxTimestamp() int64 { return w.End - 1 }

// StartTime returns Start as a time.Time in UTC.
func (w Window) StartTime() time.Time { return time.UnixMilli(w.Start).UTC() }

// EndTime returns End as a time.Time in UTC.
func (w Window) EndTime() time.Time { return time.UnixMilli(w.End).UTC() }

// Intersects reports whether w and o overlap or touch.
func (w Window) Intersects(o Window) bool { return w.Start <= o.End && o.Start <= w.End }

// Cover returns the smallest window holding w and o.
func (w Window) Cover(o Window) Window {
	return Window{Start: min(w.Start, o.Start), End: max(w.End, o.End)}
}

// String formats the window in RFC 3339.
func (w Window) String() string {
	return fmt.Sprintf("[%s, %s)", w.StartTime().Format(time.RFC3339Nano), w.EndTime().Format(time.RFC3339Nano))
}

// Time says which clock drives an assigner.
type Time int

const (
	// EventTime windows are assigned by the record's timestamp and fire on
	// watermarks.
	EventTime Time = iota
	// ProcessingTime windows are assigned by the wall clock when a record
	// arrives and fire on the wall clock.
	ProcessingTime
)

// Assigner maps a timestamp to windows.
type Assigner interface {
	// Assign appends to dst the windows that timestamp ts belongs to.
	Assign(ts int64, dst []Window) []Window
	// Time says which clock assigns and fires the windows.
	Time() Time
	// Merging reports whether overlapping windows merge (session windows).
	Merging() bool
	// String describes the assigner, e.g. "tumbling(1m0s)".
	String() string
}

// Tumbler is an optional interface of an Assigner whose windows tile time:
// every timestamp belongs to exactly one window, and every timestamp inside
// that window belongs to it too. An operator that finds it keeps the
// window of the previous record and asks for another only when a record
// falls outside it, instead of calling Assign for every record.
type Tumbler interface {
	Assigner
	// Window returns the window ts belongs to: the one Assign appends.
	Window(ts int64) Window
}

// Tumbling returns event-time windows of a fixed size that do not overlap,
// aligned to the Unix epoch. It implements Tumbler.
func Tumbling(size time.Duration) Assigner {
	return tumbling{sliding{size: size, slide: size}}
}

// Sliding returns event-time windows of a fixed size that start every slide;
// a record belongs to size/slide windows.
func Sliding(size, slide time.Duration) Assigner { return sliding{size: size, slide: slide} }

// Session returns event-time windows that close after gap without records
// for a key; overlapping sessions of a key merge.
func Session(gap time.Duration) Assigner { return session{gap: gap} }

// OnProcessingTime returns a copy of a assigns by the wall clock instead of
// by event time.
func OnProcessingTime(a Assigner) Assigner {
	switch a := a.(type) {
	case tumbling:
		a.proc = true
		return a
	case sliding:
		a.proc = true
		return a
	case session:
		a.proc = true
		return a
	}
	return a
}

// Validate reports an assigner's configuration errors.
func Validate(a Assigner) error {
	switch a := a.(type) {
	case tumbling:
		return Validate(a.sliding)
	case sliding:
		if a.size < time.Millisecond || a.slide < time.Millisecond {
			return fmt.Errorf("window: size %v and slide %v must be at least 1ms", a.size, a.slide)
		}
		if a.slide > a.size {
			return fmt.Errorf("window: slide %v is larger than size %v: records between windows would be lost; use a slide at most the size", a.slide, a.size)
		}
	case session:
		if a.gap < time.Millisecond {
			return fmt.Errorf("window: session gap %v must be at least 1ms", a.gap)
		}
	case cumulate:
		return a.validate()
	case nil:
		return fmt.Errorf("window: no assigner: use window.Tumbling, window.Sliding, window.Cumulate or window.Session")
	}
	return nil
}

type sliding struct {
	size, slide time.Duration
	proc        bool
}

func (s sliding) Assign(ts int64, dst []Window) []Window {
	size, slide := s.size.Milliseconds(), s.slide.Milliseconds()
	last := ts - mod(ts, slide)
	for start := last; start > ts-size; start -= slide {
		dst = append(dst, Window{Start: start, End: start + size})
	}
	return dst
}

func (s sliding) Time() Time {
	if s.proc {
		return ProcessingTime
	}
	return EventTime
}

func (sliding) Merging() bool { return false }

func (s sliding) String() string {
	kind := "event time"
	if s.proc {
		kind = "processing time"
	}
	if s.size == s.slide {
		return fmt.Sprintf("tumbling(%v, %s)", s.size, kind)
	}
	return fmt.Sprintf("sliding(%v every %v, %s)", s.size, s.slide, kind)
}

// tumbling is sliding with the slide its size: one window per timestamp.
type tumbling struct{ sliding }

func (t tumbling) Window(ts int64) Window {
	size := t.size.Milliseconds()
	start := ts - mod(ts, size)
	return Window{Start: start, End: start + size}
}

type session struct {
	gap  time.Duration
	proc bool
}

func (s session) Assign(ts int64, dst []Window) []Window {
	return append(dst, Window{Start: ts, End: ts + s.gap.Milliseconds()})
}

func (s session) Time() Time {
	if s.proc {
		return ProcessingTime
	}
	return EventTime
}

func (session) Merging() bool { return true }

func (s session) String() string { return fmt.Sprintf("session(gap %v)", s.gap) }

// mod is the non-negative remainder, so windows before 1970 align too.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
