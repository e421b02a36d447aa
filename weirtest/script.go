package weirtest

import (
	"context"
	"time"

	"github.com/weirstream/weir/source"
)

// Script is a bounded source that plays records and watermarks in exactly
// the order given, for deterministic tests of event-time operators. It runs
// in one subtask; run it with weir.Parallelism(1) as an operator option.
// Do not add Watermarks after it: it emits its own.
type Script[T any] struct {
	steps []step[T]
}

type step[T any] struct {
	value     T
	time      int64
	watermark bool
	wait      time.Duration
}

// NewScript returns an empty script.
func NewScript[T any]() *Script[T] { return &Script[T]{} }

// Record appends a record at event time t.
func (s *Script[T]) Record(v T, t time.Time) *Script[T] {
	s.steps = append(s.steps, step[T]{value: v, time: t.UnixMilli()})
	return s
}

// Watermark appends a watermark at t.
func (s *Script[T]) Watermark(t time.Time) *Script[T] {
	s.steps = append(s.steps, step[T]{time: t.UnixMilli(), watermark: true})
	return s
}

// Wait appends a pause of processing time d (for processing-time tests).
func (s *Script[T]) Wait(d time.Duration) *Script[T] {
	s.steps = append(s.steps, step[T]{wait: d})
	return s
}

// Boundedness implements source.Source.
func (s *Script[T]) Boundedness() source.Boundedness { return source.Bounded }

// NewEnumerator implements source.Source: subtask 0 gets the script.
func (s *Script[T]) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	return newSliceEnum(ctx, len(s.steps)), nil
}

// NewReader implements source.Source.
func (s *Script[T]) NewReader(ctx source.ReaderContext) (source.Reader[T], error) {
	return &scriptReader[T]{s: s, ctx: ctx}, nil
}

type scriptReader[T any] struct {
	s      *Script[T]
	ctx    source.ReaderContext
	next   int
	noMore bool
	has    bool
	until  time.Time // the end of the current Wait step
}

func (r *scriptReader[T]) Start(context.Context) error { r.ctx.RequestSplit(); return nil }
func (r *scriptReader[T]) AddSplits(splits []source.Split) {
	for _, sp := range splits {
		if sp.(*sliceSplit).Subtask == 0 && sp.(*sliceSplit).End > 0 {
			r.has = true
		}
	}
}
func (r *scriptReader[T]) NoMoreSplits()                          { r.noMore = true }
func (r *scriptReader[T]) Snapshot(int64) ([]source.Split, error) { return nil, nil }
func (r *scriptReader[T]) Close() error                           { return nil }

func (r *scriptReader[T]) Poll(ctx context.Context, out source.Output[T]) (source.Status, error) {
	if !r.has || r.next >= len(r.s.steps) {
		if r.noMore {
			return source.EndOfInput, nil
		}
		return source.NothingAvailable, nil
	}
	st := r.s.steps[r.next]
	if st.wait > 0 {
		// Wait without blocking Poll for long, as the SPI asks.
		if r.until.IsZero() {
			r.until = time.Now().Add(st.wait)
		}
		if left := time.Until(r.until); left > 0 {
			select {
			case <-time.After(min(left, 5*time.Millisecond)):
			case <-ctx.Done():
			}
			return source.NothingAvailable, nil
		}
		r.until = time.Time{}
		r.next++
		return source.MoreAvailable, nil
	}
	r.next++
	switch {
	case st.watermark:
		out.(source.WatermarkOutput).EmitWatermark(st.time)
	default:
		out.CollectAt(st.value, st.time)
	}
	return source.MoreAvailable, nil
}
