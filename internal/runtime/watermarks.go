package runtime

// WatermarkTracker combines the watermarks of several input channels into
// one (invariant 4). It is a pure state machine: no goroutines, no clock.
type WatermarkTracker struct {
	inputs  []inputState
	current int64 // last combined watermark forwarded (NoTimestamp if none)
	idle    bool  // last forwarded status was Idle
}

type inputState struct {
	wm    int64
	idle  bool
	ended bool
}

// NewWatermarkTracker tracks n inputs, each starting active with no watermark.
func NewWatermarkTracker(n int) *WatermarkTracker {
	t := &WatermarkTracker{inputs: make([]inputState, n), current: NoTimestamp}
	for i := range t.inputs {
		t.inputs[i].wm = NoTimestamp
	}
	return t
}

// Current returns the last combined watermark.
func (t *WatermarkTracker) Current() int64 { return t.current }

// Update records watermark wm (or Idle) on input i and returns the element
// to forward downstream, if any: a larger combined watermark, or Idle when
// every remaining input is idle. The forwarded watermarks never decrease.
func (t *WatermarkTracker) Update(i int, wm int64) (forward int64, ok bool) {
	in := &t.inputs[i]
	if wm == Idle {
		in.idle = true
	} else {
		in.idle = false
		if wm > in.wm {
			in.wm = wm
		}
	}
	return t.combine()
}

// Activate marks input i active again (it sent a record).
func (t *WatermarkTracker) Activate(i int) (forward int64, ok bool) {
	if !t.inputs[i].idle {
		return 0, false
	}
	t.inputs[i].idle = false
	return t.combine()
}

// End marks input i ended; it no longer holds the watermark back.
func (t *WatermarkTracker) End(i int) (forward int64, ok bool) {
	t.inputs[i].ended = true
	return t.combine()
}

// AllEnded reports whether every input has ended.
func (t *WatermarkTracker) AllEnded() bool {
	for _, in := range t.inputs {
		if !in.ended {
			return false
		}
	}
	return true
}

func (t *WatermarkTracker) combine() (int64, bool) {
	min, active, ended := EndOfTime, 0, 0
	for _, in := range t.inputs {
		switch {
		case in.ended:
			ended++
		case in.idle:
		default:
			active++
			if in.wm < min {
				min = in.wm
			}
		}
	}
	if active == 0 && ended < len(t.inputs) {
		// Every input that has not ended is idle.
		if t.idle {
			return 0, false
		}
		t.idle = true
		return Idle, true
	}
	if t.idle {
		t.idle = false
		if min <= t.current {
			// Back to active at a watermark we passed already: forward the
			// current one so that downstream knows the input is active.
			return t.current, t.current != NoTimestamp
		}
	}
	if min > t.current {
		t.current = min
		return min, true
	}
	return 0, false
}
