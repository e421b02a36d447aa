package async

// aimd is the in-flight limit of one writer: additive increase after each
// request that succeeded, multiplicative decrease after a retryable
// failure, between 1 and max. It is a pure value; the writer guards it.
//
// A burst of failures decreases the limit once, as TCP's congestion window
// halves once per window: each request carries the epoch it was sent in,
// and only a failure of a request sent in the current epoch decreases the
// limit (and starts a new epoch). Requests sent before the decrease were
// sent at the old limit; their failures say nothing new.
type aimd struct {
	limit    float64
	max      float64
	increase float64
	decrease float64
	epoch    uint64
}

func newAIMD(maxInFlight int, increase, decrease float64) aimd {
	return aimd{limit: float64(maxInFlight), max: float64(maxInFlight), increase: increase, decrease: decrease}
}

// allowed returns how many requests may be in flight.
func (a *aimd) allowed() int { return max(1, int(a.limit)) }

// succeeded grows the limit after a request that succeeded.
func (a *aimd) succeeded() { a.limit = min(a.max, a.limit+a.increase) }

// throttled shrinks the limit after a retryable failure of a request sent
// in epoch, unless the limit already shrank since it was sent. It reports
// whether it shrank.
func (a *aimd) throttled(epoch uint64) bool {
	if epoch != a.epoch {
		return false
	}
	a.limit = max(1, a.limit*a.decrease)
	a.epoch++
	return true
}
