package runtime

import "time"

// Clock is a subtask's processing-time service. Operators ask to be woken
// with WakeAt; the task calls every Ticker once the earliest wake-up is due.
// It is used from the subtask's goroutine only (invariant 8).
type Clock struct {
	next int64
}

// NewClock returns a clock with no wake-up pending.
func NewClock() *Clock { return &Clock{next: NoWakeup} }

// Now returns the processing time in Unix milliseconds.
func (c *Clock) Now() int64 { return time.Now().UnixMilli() }

// WakeAt asks for the task's tickers to be called at or after t.
func (c *Clock) WakeAt(t int64) {
	if t < c.next {
		c.next = t
	}
}

// fire calls the tickers if a wake-up is due and records their next times.
func (c *Clock) fire(tickers []Ticker) error {
	if c.next == NoWakeup {
		return nil
	}
	now := c.Now()
	if now < c.next {
		return nil
	}
	c.next = NoWakeup
	for _, t := range tickers {
		next, err := t.Tick(now)
		if err != nil {
			return err
		}
		c.WakeAt(next)
	}
	return nil
}
