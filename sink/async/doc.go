// Package async is the base of sinks that write to a remote destination
// (an HTTP API, a time-series store, a key-value store) with many requests
// in flight, in the shape of Flink's AsyncSinkWriter (FLIP-171) and its AIMD
// rate limiting (FLIP-242).
//
// A job that writes each record with a synchronous call is as slow as one
// round trip per record. A connector on this base writes only a
// [Submitter]: "send this batch, tell me which entries failed, and whether
// the failure is worth retrying". [NewSink] turns it into a [sink.Sink]
// that
//
//   - converts each record to a request entry in the subtask's goroutine;
//   - gathers entries into batches by count (Options.MaxBatchSize), by
//     bytes (Options.MaxBatchBytes) and by time (Options.MaxTimeInBuffer);
//   - keeps up to Options.MaxInFlightRequests batches in flight at once,
//     each in its own goroutine;
//   - retries failed entries with exponential backoff and jitter, never
//     sooner than the destination asked with [RetryAfter];
//   - narrows the number of requests in flight when the destination
//     throttles and widens it again as requests succeed (additive
//     increase, multiplicative decrease);
//   - blocks Write, and so backpressures the job, once it holds
//     Options.MaxBufferedRecords records;
//   - waits, in Flush, until the destination has acknowledged every record
//     written before it, which makes the sink at-least-once: the job calls
//     Flush at every checkpoint barrier and at the end of input.
//
// # Invariants
//
// Each writer keeps these, whatever the destination does:
//
//  1. A writer holds at most MaxBufferedRecords records: buffered, in
//     flight and waiting to be retried together. Write blocks while it holds
//     that many.
//  2. At most the current in-flight limit, itself between 1 and
//     MaxInFlightRequests, requests are in flight.
//  3. A record leaves the writer only when the destination acknowledged
//     it, when the writer fails, or when it is closed. When Flush returns
//     nil, every record written before it was acknowledged.
//  4. A batch holds at most MaxBatchSize entries and, counted with
//     Options.Size, at most MaxBatchBytes bytes.
//  5. A failed entry is sent again no sooner than its backoff, and no
//     sooner than the delay the destination gave with RetryAfter.
//  6. After Close returns, no goroutine of the writer runs and no Submit
//     call is in progress.
//
// Records may reach the destination in another order than they were
// written (retried entries go again ahead of newer ones, and batches in
// flight complete in any order), and a record may arrive more than once
// when a request failed after the destination had stored it. Destinations
// that need exactly-once results must make writes idempotent.
//
// # Failures
//
// A retryable failure (an entry index returned by Submit, or an error
// marked with [Retryable] or [RetryAfter]) is retried without limit by
// default: a destination that is down stalls the job, which backpressures
// its sources and shows in [Metrics] and in the log, instead of failing it.
// Options.MaxAttempts bounds the attempts per record. Any other error from
// Submit, exhausted attempts, and a record larger than
// Options.MaxRecordBytes are fatal: the next Write or Flush returns the
// error, which names the sink, and the job fails (and restarts from its
// last checkpoint if it has a restart strategy).
package async
