package job

import (
	"fmt"
	"time"
)

// Restart says whether and when a failed job restarts.
type Restart struct {
	// Kind names the strategy in messages: "none", "fixed delay" or
	// "exponential backoff".
	Kind string
	// Attempts is how many restarts are allowed; negative for no limit.
	Attempts int
	// Delay is the wait before the first restart.
	Delay time.Duration
	// MaxDelay caps the doubling backoff; equal to Delay for a fixed delay.
	MaxDelay time.Duration
}

// NoRestart is the strategy that lets the first failure end the job.
var NoRestart = Restart{Kind: "none"}

// Validate reports invalid delays.
func (r Restart) Validate() error {
	if r.Delay < 0 || r.MaxDelay < r.Delay {
		return fmt.Errorf("weir: Restart: delays %v..%v are invalid: use a non-negative initial delay no larger than the maximum", r.Delay, r.MaxDelay)
	}
	return nil
}

// Next returns the delay before restart number n (1-based), and false when
// no restart is left.
func (r Restart) Next(n int) (time.Duration, bool) {
	if r.Kind == NoRestart.Kind || (r.Attempts >= 0 && n > r.Attempts) {
		return 0, false
	}
	d := r.Delay
	for i := 1; i < n && d < r.MaxDelay; i++ {
		d *= 2
	}
	return min(d, r.MaxDelay), true
}
