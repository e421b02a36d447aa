package runtime

// Fill returns how many batches wait in the exchange's channels of this
// process, and how many they hold at most: a full exchange is one whose
// receivers do not keep up (its senders are backpressured). It is safe to
// call from any goroutine; the answer is a snapshot that may be stale by
// the time it returns.
func (e *Exchange[T]) Fill() (queued, capacity int) {
	for _, row := range e.chans {
		for _, ch := range row {
			if ch != nil {
				queued += len(ch)
				capacity += cap(ch)
			}
		}
	}
	return queued, capacity
}
