// Package metrics exports a running weir job's metrics in the Prometheus
// text format.
//
// A Collector reads the job's counters at scrape time: nothing runs in the
// background and nothing is done per record, so a job that nobody scrapes
// pays nothing for it. Handler serves a registry of its own (not the
// global default) with the Collector and the Go and process collectors:
//
//	env := weir.NewEnv(...)
//	http.Handle("GET /metrics", metrics.Handler(env, "pvuv"))
//	err := env.Execute(ctx, "pvuv")
//
// web.Handler mounts it at GET /metrics of every job's --http.
//
// # Series
//
// Every series has the label job. Per subtask of a chain of operators
// (operator is the chain's name, e.g. "parse -> watermarks"; subtask its
// index from 0):
//
//	weir_records_in_total              counter  records the subtask received (a source: read)
//	weir_records_out_total             counter  records it sent to the next chains
//	weir_busy_seconds_total            counter  time spent working
//	weir_idle_seconds_total            counter  time spent waiting for input
//	weir_backpressured_seconds_total   counter  time spent waiting for room downstream
//	weir_dead_letters_total            counter  records its source could not decode
//	weir_input_watermark_seconds       gauge    latest watermark received, Unix seconds
//	weir_output_watermark_seconds      gauge    latest watermark sent on, Unix seconds
//	weir_latency_markers_total         counter  latency markers that reached it
//	weir_latency_seconds               gauge    their latency from the sources, label quantile 0.5 or 0.99
//	weir_state_bytes                   gauge    its keyed state in the last checkpoint, bytes
//
// Per subtask with keyed state, with the labels above and backend (heap,
// pebble) and op (get, put, delete):
//
//	weir_state_accesses_total          counter  accesses (to within 64)
//	weir_state_access_seconds          gauge    time of one access, label quantile 0.5 or 0.99
//
// The latency series (weir.LatencyTrackingInterval) are absent until a
// marker reached the subtask; at a sink they are the job's end-to-end
// latency. Their quantiles, and those of state access (timed on one access
// in 64), cover the last 30 to 60 seconds: gauges, not a summary, since
// weir keeps no sum.
//
// Per split of a source's subtask whose reader reports its progress
// (source.ProgressReporter; the Kafka source does, a split being a
// partition "TOPIC-PARTITION", and so do the file, datagen and nexmark
// sources), with the labels above and split:
//
//	weir_source_split_position         gauge    where the reader is: a Kafka partition's next offset, a file's byte offset
//	weir_source_split_lag_records      gauge    what remains to read, in records: Kafka consumer lag, generated events to come
//	weir_source_split_lag_bytes        gauge    what remains to read, in bytes: of a file range, or of followed files
//
// A Kafka partition's lag is its last stable offset (the reader reads
// committed records only) as of the reader's latest fetch of it, minus
// the position; a bounded source's partition counts up to its stop offset.
// The lag series is absent while the reader does not know the split's end
// (an unbounded partition no fetch has brought records of yet). Both are
// read from the reader at scrape time, not per record.
//
// rate() of the three time counters is Flink's busyTimeMsPerSecond,
// idleTimeMsPerSecond and backPressuredTimeMsPerSecond divided by 1000.
// Subtask counters start from zero when the job restarts (Prometheus
// handles the reset). A watermark series is absent until the subtask has
// seen one; time() minus it is the event-time lag.
//
// Per job:
//
//	weir_restarts_total                      counter    runs started over after a failure
//	weir_checkpoints_completed_total         counter    completed checkpoints
//	weir_checkpoints_failed_total            counter    failed checkpoints
//	weir_checkpoint_duration_seconds         histogram  trigger to completion, of completed ones
//	weir_checkpoint_size_bytes               histogram  state and metadata, of completed ones
//	weir_last_checkpoint_duration_seconds    gauge      of the newest completed checkpoint
//	weir_last_checkpoint_size_bytes          gauge      of the newest completed checkpoint
//	weir_late_records_dropped_total          counter    records windows dropped as too late
//
// Per AsyncWait operator (label operator, summed over its subtasks):
//
//	weir_async_in_flight                     gauge      inputs held: calls running or waiting
//	weir_async_completed_total               counter    inputs whose call returned a result
//	weir_async_retries_total                 counter    attempts after the first
//	weir_async_timeouts_total                counter    inputs whose timeout passed
//	weir_async_failures_total                counter    inputs whose call failed the job
//
// The checkpoint histograms are folded in from the job's recent
// checkpoints at each scrape; a checkpoint that completed and left the
// job's history (100 checkpoints) between two scrapes is counted by
// weir_checkpoints_completed_total but not observed by the histograms.
package metrics
