package async

import (
	"context"
	"errors"
	"time"
)

// Submitter sends batches to a destination. It is the only code a
// connector on this base writes: the base batches, bounds, retries and
// rate-limits around it.
//
// Submit may be called from several goroutines at once (one per request in
// flight) and must honour ctx: the base cancels it when the writer is
// closed or has failed, and then ignores the outcome.
//
// A Submitter that is also an io.Closer is closed when its writer is
// closed, after the last Submit call returned.
type Submitter[E any] interface {
	// Submit sends batch. It returns the indexes in batch of the entries
	// that failed with an error worth retrying (the base retries them with
	// backoff), or an error for the whole request: one wrapped with
	// Retryable or RetryAfter retries the whole batch, any other fails the
	// job. When err is not nil, retry is ignored. Indexes out of range fail
	// the job; repeated ones count once.
	//
	// Submit must not keep batch, nor the entries' memory, after it
	// returns.
	Submit(ctx context.Context, batch []E) (retry []int, err error)
}

// SubmitterFunc adapts a function to a Submitter.
type SubmitterFunc[E any] func(ctx context.Context, batch []E) (retry []int, err error)

// Submit calls f.
func (f SubmitterFunc[E]) Submit(ctx context.Context, batch []E) ([]int, error) {
	return f(ctx, batch)
}

// Retryable marks err as one that retrying the request may cure (a
// timeout, a throttling answer, a server restarting). It returns nil for a
// nil err.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryableError{err: err}
}

// RetryAfter marks err as retryable, as Retryable does, and asks the base
// to wait at least d before it sends the failed entries again, as an
// HTTP Retry-After header asks. The wait may exceed Options.MaxBackoff. It
// returns nil for a nil err.
func RetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryableError{err: err, after: max(d, 0)}
}

// IsRetryable reports whether err, or an error it wraps, was marked with
// Retryable or RetryAfter.
func IsRetryable(err error) bool {
	var r *retryableError
	return errors.As(err, &r)
}

// RetryDelay returns the least wait before a retry that err asks for with
// RetryAfter, or 0.
func RetryDelay(err error) time.Duration {
	var r *retryableError
	if errors.As(err, &r) {
		return r.after
	}
	return 0
}

type retryableError struct {
	err   error
	after time.Duration
}

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }
