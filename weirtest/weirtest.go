// Package weirtest is the test kit for weir jobs and connectors: an
// in-memory source, a collecting sink, and helpers to read their results.
package weirtest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/source"
)

// Timed is a value with an event time, for sources that set timestamps.
type Timed[T any] struct {
	Value T
	Time  time.Time
}

// SliceSource is a bounded source of fixed records. With parallelism p,
// the records are cut into p contiguous ranges, one split each, as a file
// source cuts a file; subtask i reads range i in order.
type SliceSource[T any] struct {
	records []T
	times   []int64 // Unix ms per record; nil if the records have no time
	// Delay, if set, is slept before each Poll batch: a slow source for
	// backpressure and cancellation tests.
	Delay time.Duration
	// BatchSize is the records per Poll (default 64).
	BatchSize int
	// Forever makes the source unbounded: after its records it keeps
	// reporting NothingAvailable until the job is cancelled.
	Forever bool
}

// FromSlice returns a source of records without event times.
func FromSlice[T any](records ...T) *SliceSource[T] {
	return &SliceSource[T]{records: records}
}

// FromTimed returns a source of records with event times.
func FromTimed[T any](records ...Timed[T]) *SliceSource[T] {
	s := &SliceSource[T]{}
	for _, r := range records {
		s.records = append(s.records, r.Value)
		s.times = append(s.times, r.Time.UnixMilli())
	}
	return s
}

// sliceSplit reads the records [Next, End).
type sliceSplit struct {
	Subtask int `json:"subtask"`
	Next    int `json:"next"`
	End     int `json:"end"`
}

func (s *sliceSplit) SplitID() string { return fmt.Sprintf("slice-%d", s.Subtask) }

// EncodeSplit implements source.Checkpointed.
func (s *SliceSource[T]) EncodeSplit(sp source.Split) ([]byte, error) { return json.Marshal(sp) }

// DecodeSplit implements source.Checkpointed.
func (s *SliceSource[T]) DecodeSplit(b []byte) (source.Split, error) {
	var sp sliceSplit
	err := json.Unmarshal(b, &sp)
	return &sp, err
}

// Boundedness implements source.Source.
func (s *SliceSource[T]) Boundedness() source.Boundedness {
	if s.Forever {
		return source.Unbounded
	}
	return source.Bounded
}

// NewEnumerator implements source.Source: one split per subtask.
func (s *SliceSource[T]) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	return newSliceEnum(ctx, len(s.records)), nil
}

// sliceEnum gives each subtask its one split. On a restore it gives only
// the splits that come back from readers: the others were finished.
type sliceEnum struct {
	ctx     source.EnumeratorContext
	pending map[int]*sliceSplit
}

func newSliceEnum(ctx source.EnumeratorContext, n int) *sliceEnum {
	e := &sliceEnum{ctx: ctx, pending: map[int]*sliceSplit{}}
	if rc, ok := ctx.(source.RestoringContext); ok {
		if splits, ok := rc.Restored(); ok {
			for _, sp := range splits {
				s := sp.(*sliceSplit)
				e.pending[s.Subtask] = s
			}
			return e
		}
	}
	p := ctx.Parallelism()
	for i := range p {
		e.pending[i] = &sliceSplit{Subtask: i, Next: i * n / p, End: (i + 1) * n / p}
	}
	return e
}

func (e *sliceEnum) Start(context.Context) error { return nil }

// HandleSplitRequest gives a subtask the split of the same index; subtask
// 0 also takes the splits of subtasks that no longer exist (a restore at a
// lower parallelism).
//
// Splits go out in range order: a reader that takes several reads them one
// after another, and only in that order are its records in time order.
func (e *sliceEnum) HandleSplitRequest(subtask int) {
	for _, i := range slices.Sorted(maps.Keys(e.pending)) {
		if i == subtask || (subtask == 0 && i >= e.ctx.Parallelism()) {
			e.ctx.Assign(subtask, e.pending[i])
			delete(e.pending, i)
		}
	}
	e.ctx.NoMoreSplits(subtask)
}
func (e *sliceEnum) AddSplitsBack(splits []source.Split, subtask int) {
	for _, sp := range splits {
		s := sp.(*sliceSplit)
		e.pending[s.Subtask] = s
	}
}
func (e *sliceEnum) Snapshot() ([]source.Split, error) {
	var out []source.Split
	for _, s := range e.pending {
		c := *s
		out = append(out, &c)
	}
	return out, nil
}
func (e *sliceEnum) Close() error { return nil }

// NewReader implements source.Source.
func (s *SliceSource[T]) NewReader(ctx source.ReaderContext) (source.Reader[T], error) {
	return &sliceReader[T]{src: s, ctx: ctx}, nil
}

type sliceReader[T any] struct {
	src    *SliceSource[T]
	ctx    source.ReaderContext
	splits []*sliceSplit
	noMore bool
}

func (r *sliceReader[T]) Start(context.Context) error { r.ctx.RequestSplit(); return nil }
func (r *sliceReader[T]) AddSplits(splits []source.Split) {
	for _, s := range splits {
		r.splits = append(r.splits, s.(*sliceSplit))
	}
}
func (r *sliceReader[T]) NoMoreSplits() { r.noMore = true }

func (r *sliceReader[T]) Poll(ctx context.Context, out source.Output[T]) (source.Status, error) {
	if len(r.splits) == 0 {
		if r.noMore && !r.src.Forever {
			return source.EndOfInput, nil
		}
		select {
		case <-time.After(5 * time.Millisecond):
		case <-ctx.Done():
		}
		return source.NothingAvailable, nil
	}
	if r.src.Delay > 0 {
		select {
		case <-time.After(r.src.Delay):
		case <-ctx.Done():
			return source.NothingAvailable, nil
		}
	}
	sp := r.splits[0]
	batch := r.src.BatchSize
	if batch <= 0 {
		batch = 64
	}
	for n := 0; n < batch && sp.Next < sp.End; n++ {
		if r.src.times != nil {
			out.CollectAt(r.src.records[sp.Next], r.src.times[sp.Next])
		} else {
			out.Collect(r.src.records[sp.Next])
		}
		sp.Next++
	}
	if sp.Next >= sp.End {
		r.splits = r.splits[1:]
	}
	return source.MoreAvailable, nil
}

func (r *sliceReader[T]) Snapshot(int64) ([]source.Split, error) {
	out := make([]source.Split, 0, len(r.splits))
	for _, s := range r.splits {
		c := *s
		out = append(out, &c)
	}
	return out, nil
}

func (r *sliceReader[T]) Close() error { return nil }

// Collector is a sink that keeps every record in memory, for tests.
type Collector[T any] struct {
	mu      sync.Mutex
	records []T
	// Delay, if set, is slept in every Write: a slow sink.
	Delay time.Duration
	// Fail, if set, is called for every record; an error fails the write.
	Fail    func(v T) error
	flushes int
}

// NewCollector returns an empty collecting sink.
func NewCollector[T any]() *Collector[T] { return &Collector[T]{} }

// NewWriter implements sink.Sink.
func (c *Collector[T]) NewWriter(sink.WriterContext) (sink.Writer[T], error) {
	return collectWriter[T]{c}, nil
}

// Records returns a copy of what was collected so far.
func (c *Collector[T]) Records() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.records...)
}

// Len returns how many records were collected.
func (c *Collector[T]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.records)
}

// Flushes returns how many times a writer was flushed.
func (c *Collector[T]) Flushes() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.flushes
}

type collectWriter[T any] struct{ c *Collector[T] }

func (w collectWriter[T]) Write(ctx context.Context, v T) error {
	if w.c.Delay > 0 {
		select {
		case <-time.After(w.c.Delay):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if w.c.Fail != nil {
		if err := w.c.Fail(v); err != nil {
			return err
		}
	}
	w.c.mu.Lock()
	w.c.records = append(w.c.records, v)
	w.c.mu.Unlock()
	return nil
}

func (w collectWriter[T]) Flush(context.Context) error {
	w.c.mu.Lock()
	w.c.flushes++
	w.c.mu.Unlock()
	return nil
}

func (w collectWriter[T]) Close() error { return nil }
