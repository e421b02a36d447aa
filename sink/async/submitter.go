package async

import (
	"context"
	"errors"
)

// Submitter sends batches to a destination. It is the only code a
// connector on this base writes: the base batches, bounds, retries and
// rate-limits around it.
//
// Submit may be called from several goroutines at once (one per request in
// flight) and must honour ctx.
type Submitter[E any] interface {
	// Submit sends batch. It returns the indexes in batch of the entries
	// that failed with an error worth retrying (the base retries them with
	// backoff), or an error for the whole request: one wrapped with
	// Retryable retries the whole batch, any other fails the job.
	Submit(ctx context.Context, batch []E) (retry []int, err error)
}

// Retryable marks err as one that retrying the request may cure (a
// timeout, a throttling answer, a server restarting).
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryableError{err}
}

// IsRetryable reports whether err, or an error it wraps, was marked with
// Retryable.
func IsRetryable(err error) bool {
	var r *retryableError
	return errors.As(err, &r)
}

type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }
