package window

import (
	"fmt"
	"time"
)

// Cumulate returns event-time windows that all start at a multiple of
// maxSize and grow by step: [s, s+step), [s, s+2·step), … [s, s+maxSize)
// (Flink SQL's CUMULATE). A record belongs to every window of its period
// that ends after it, so the daily total so far can be shown every step.
// maxSize must be a multiple of step.
func Cumulate(step, maxSize time.Duration) Assigner { return cumulate{step: step, size: maxSize} }

type cumulate struct{ step, size time.Duration }

func (c cumulate) Assign(ts int64, dst []Window) []Window {
	step, size := c.step.Milliseconds(), c.size.Milliseconds()
	into := mod(ts, size)
	start := ts - into
	for end := start + (into/step+1)*step; end <= start+size; end += step {
		dst = append(dst, Window{Start: start, End: end})
	}
	return dst
}

func (cumulate) Time() Time       { return EventTime }
func (cumulate) Merging() bool    { return false }
func (c cumulate) String() string { return fmt.Sprintf("cumulate(%v by %v)", c.size, c.step) }

func (c cumulate) validate() error {
	if c.step < time.Millisecond || c.size < time.Millisecond {
		return fmt.Errorf("window: cumulate step %v and max size %v must be at least 1ms", c.step, c.size)
	}
	if c.size%c.step != 0 || c.size.Milliseconds()%c.step.Milliseconds() != 0 {
		return fmt.Errorf("window: cumulate max size %v is not a multiple of step %v: use a step that divides the max size", c.size, c.step)
	}
	return nil
}
