package async

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxBatchSize        = 500
	DefaultMaxBatchBytes       = 1 << 20 // 1 MiB
	DefaultMaxTimeInBuffer     = 100 * time.Millisecond
	DefaultMaxInFlightRequests = 16
	DefaultMaxBufferedRecords  = 10_000
	DefaultInitialBackoff      = 100 * time.Millisecond
	DefaultMaxBackoff          = 5 * time.Second
	DefaultAdditiveIncrease    = 1.0
	DefaultDecreaseFactor      = 0.5
	DefaultName                = "async"
)

// Options configures [NewSink]. A zero field takes its documented default;
// a negative one is an error. NewSink reports every problem at once.
type Options[E any] struct {
	// Name names the sink in errors, logs and metrics. Default "async";
	// connectors set it to say where the sink writes.
	Name string

	// MaxBatchSize is the most entries in one request. Default 500.
	MaxBatchSize int
	// MaxBatchBytes is the most bytes in one request, counted with Size.
	// Default 1 MiB. Without Size it has no effect.
	MaxBatchBytes int
	// Size returns the size in bytes of an entry, as it counts towards
	// MaxBatchBytes and MaxRecordBytes. It is called once per record, in
	// Write. Default nil: entries are not measured.
	Size func(E) int
	// MaxRecordBytes is the largest entry, by Size, that the sink accepts;
	// a larger one fails the job with an error that names this option.
	// Default and most MaxBatchBytes.
	MaxRecordBytes int
	// MaxTimeInBuffer is how long an entry may wait for its batch to fill:
	// after it, the partial batch is sent. Default 100ms.
	MaxTimeInBuffer time.Duration

	// MaxInFlightRequests is the most requests in flight per writer, the
	// upper bound of the in-flight limit that AIMD moves. Default 16.
	MaxInFlightRequests int
	// MaxBufferedRecords is the most records a writer holds (buffered, in
	// flight and waiting to be retried); Write blocks past it, which
	// backpressures the job. It must be at least MaxBatchSize; for full
	// throughput it should be at least MaxBatchSize × MaxInFlightRequests.
	// Default 10,000.
	MaxBufferedRecords int

	// InitialBackoff is the wait before the first retry of a failed entry;
	// each further failure of it doubles the wait, up to MaxBackoff. The
	// wait is drawn at random between half of it and all of it (jitter),
	// and is at least the delay the destination asked for with RetryAfter.
	// Default 100ms.
	InitialBackoff time.Duration
	// MaxBackoff caps the backoff. Default 5s.
	MaxBackoff time.Duration
	// MaxAttempts is the most times one record is sent; when it fails
	// that often the job fails. Default 0: retryable failures are retried
	// without limit, so a destination that is down stalls and
	// backpressures the job instead of failing it.
	MaxAttempts int

	// AdditiveIncrease is how much the in-flight limit grows after each
	// request that succeeded, up to MaxInFlightRequests. Default 1.
	AdditiveIncrease float64
	// DecreaseFactor multiplies the in-flight limit after a request with a
	// retryable failure, down to 1; only the first such failure among the
	// requests sent at the same limit counts. In (0, 1). Default 0.5.
	DecreaseFactor float64

	// Synchronous sends one request per record, one at a time, and
	// returns from Write only when the record is written (retries
	// included). It exists to measure what batching and requests in flight
	// gain; the batching options are then ignored.
	Synchronous bool

	// Logger receives the warnings of the sink's writers (retried
	// failures, at most one line per second per writer). Default: the
	// logger the job gives each writer (sink.LoggerOf: its lines name the
	// job, the operator and the subtask), or slog.Default() outside a job.
	Logger *slog.Logger
}

// withDefaults returns o with every zero field replaced by its default.
func (o Options[E]) withDefaults() Options[E] {
	if o.Name == "" {
		o.Name = DefaultName
	}
	if o.MaxBatchSize == 0 {
		o.MaxBatchSize = DefaultMaxBatchSize
	}
	if o.MaxBatchBytes == 0 {
		o.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if o.MaxRecordBytes == 0 {
		o.MaxRecordBytes = o.MaxBatchBytes
	}
	if o.MaxTimeInBuffer == 0 {
		o.MaxTimeInBuffer = DefaultMaxTimeInBuffer
	}
	if o.MaxInFlightRequests == 0 {
		o.MaxInFlightRequests = DefaultMaxInFlightRequests
	}
	if o.MaxBufferedRecords == 0 {
		o.MaxBufferedRecords = DefaultMaxBufferedRecords
	}
	if o.InitialBackoff == 0 {
		o.InitialBackoff = DefaultInitialBackoff
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = max(DefaultMaxBackoff, o.InitialBackoff)
	}
	if o.AdditiveIncrease == 0 {
		o.AdditiveIncrease = DefaultAdditiveIncrease
	}
	if o.DecreaseFactor == 0 {
		o.DecreaseFactor = DefaultDecreaseFactor
	}
	return o
}

// validate reports every problem with o, each naming the field and the
// fix. It checks signs before the defaults are applied and the relations
// between fields after.
func (o Options[E]) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("async: sink %q: "+format, append([]any{o.Name}, args...)...))
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"MaxBatchSize", int64(o.MaxBatchSize)},
		{"MaxBatchBytes", int64(o.MaxBatchBytes)},
		{"MaxRecordBytes", int64(o.MaxRecordBytes)},
		{"MaxTimeInBuffer", int64(o.MaxTimeInBuffer)},
		{"MaxInFlightRequests", int64(o.MaxInFlightRequests)},
		{"MaxBufferedRecords", int64(o.MaxBufferedRecords)},
		{"InitialBackoff", int64(o.InitialBackoff)},
		{"MaxBackoff", int64(o.MaxBackoff)},
		{"MaxAttempts", int64(o.MaxAttempts)},
	} {
		if f.v < 0 {
			bad("%s is negative; pass a positive value, or 0 for the default", f.name)
		}
	}
	if x := o.AdditiveIncrease; x < 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		bad("AdditiveIncrease is %v; pass a positive number of requests, or 0 for %v", x, DefaultAdditiveIncrease)
	}
	if x := o.DecreaseFactor; x < 0 || x >= 1 || math.IsNaN(x) {
		bad("DecreaseFactor is %v; pass a factor between 0 and 1, such as 0.5, or 0 for %v", x, DefaultDecreaseFactor)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	d := o.withDefaults()
	if d.MaxRecordBytes > d.MaxBatchBytes {
		bad("MaxRecordBytes (%d) is above MaxBatchBytes (%d): such a record fits no batch; raise MaxBatchBytes or lower MaxRecordBytes", d.MaxRecordBytes, d.MaxBatchBytes)
	}
	if d.MaxBufferedRecords < d.MaxBatchSize {
		bad("MaxBufferedRecords (%d) is below MaxBatchSize (%d): no batch could fill; raise MaxBufferedRecords or lower MaxBatchSize", d.MaxBufferedRecords, d.MaxBatchSize)
	}
	if d.MaxBackoff < d.InitialBackoff {
		bad("MaxBackoff (%v) is below InitialBackoff (%v); raise MaxBackoff", d.MaxBackoff, d.InitialBackoff)
	}
	return errors.Join(errs...)
}

// String lists the effective options, one "name=value" pair each.
func (o Options[E]) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "name=%q", o.Name)
	if o.Synchronous {
		b.WriteString(" synchronous=true")
	} else {
		fmt.Fprintf(&b, " max-batch-size=%d max-batch-bytes=%d max-time-in-buffer=%v max-in-flight-requests=%d max-buffered-records=%d",
			o.MaxBatchSize, o.MaxBatchBytes, o.MaxTimeInBuffer, o.MaxInFlightRequests, o.MaxBufferedRecords)
		fmt.Fprintf(&b, " additive-increase=%v decrease-factor=%v", o.AdditiveIncrease, o.DecreaseFactor)
	}
	fmt.Fprintf(&b, " max-record-bytes=%d sized=%t initial-backoff=%v max-backoff=%v", o.MaxRecordBytes, o.Size != nil, o.InitialBackoff, o.MaxBackoff)
	if o.MaxAttempts == 0 {
		b.WriteString(" max-attempts=unlimited")
	} else {
		fmt.Fprintf(&b, " max-attempts=%d", o.MaxAttempts)
	}
	return b.String()
}
