package metrics

import (
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
)

// Job is what the Collector reads of a running job; *weir.Env implements
// it. A Job that also has the methods JobMetrics() weir.JobMetrics and
// AsyncWaitMetrics() []weir.AsyncWaitMetrics (as *weir.Env does) gets the
// job-wide and AsyncWait series too.
type Job interface {
	Metrics() []weir.SubtaskMetrics
	CheckpointStats() []weir.CheckpointStat
}

// jobMetrics and asyncMetrics are the optional capabilities of a Job.
type jobMetrics interface{ JobMetrics() weir.JobMetrics }

type asyncMetrics interface {
	AsyncWaitMetrics() []weir.AsyncWaitMetrics
}

// Handler serves the metrics of job, labelled job=name, in the Prometheus
// text format, from a registry of its own that also holds the Go and
// process collectors. An empty name takes the name the job was executed
// under, when the job knows it (JobMetrics).
func Handler(job Job, name string) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		NewCollector(job, name),
	)
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      errorLog{},
		ErrorHandling: promhttp.ContinueOnError, // serve what could be gathered
	})
}

// errorLog sends promhttp's errors to slog.
type errorLog struct{}

func (errorLog) Println(v ...any) {
	slog.Warn("metrics: a scrape could not gather every series", "err", fmt.Sprint(v...))
}

// Collector is a prometheus.Collector of one job's series (listed in the
// package doc). It reads the job at scrape time; it is safe for concurrent
// scrapes.
type Collector struct {
	job  Job
	name string

	// The checkpoint histograms, folded in from CheckpointStats: they
	// outlive the job's bounded history of checkpoints.
	mu struct {
		sync.Mutex
		seen     map[int64]bool // checkpoints observed, of those still in the history
		duration histogram
		size     histogram
	}
}

// NewCollector returns the collector of job's series, labelled job=name
// (empty: the name the job was executed under, when it knows it).
// Register it in a registry: prometheus.NewRegistry().MustRegister(c).
func NewCollector(job Job, name string) *Collector {
	c := &Collector{job: job, name: name}
	c.mu.seen = map[int64]bool{}
	c.mu.duration = newHistogram(prometheus.ExponentialBuckets(0.01, 4, 9)) // 10ms .. 11min
	c.mu.size = newHistogram(prometheus.ExponentialBuckets(1024, 4, 13))    // 1KiB .. 16GiB
	return c
}

var (
	subtaskLabels  = []string{"job", "operator", "subtask"}
	splitLabels    = []string{"job", "operator", "subtask", "split"}
	jobLabels      = []string{"job"}
	asyncLabels    = []string{"job", "operator"}
	quantileLabels = []string{"job", "operator", "subtask", "quantile"}
	accessLabels   = []string{"job", "operator", "subtask", "backend", "op"}
	accessQLabels  = []string{"job", "operator", "subtask", "backend", "op", "quantile"}

	descRecordsIn     = prometheus.NewDesc("weir_records_in_total", "Records the subtask received (a source: read).", subtaskLabels, nil)
	descRecordsOut    = prometheus.NewDesc("weir_records_out_total", "Records the subtask sent to the next chains.", subtaskLabels, nil)
	descBusy          = prometheus.NewDesc("weir_busy_seconds_total", "Time the subtask spent working; rate() is Flink's busyTimeMsPerSecond/1000.", subtaskLabels, nil)
	descIdle          = prometheus.NewDesc("weir_idle_seconds_total", "Time the subtask spent waiting for input; rate() is Flink's idleTimeMsPerSecond/1000.", subtaskLabels, nil)
	descBackpressured = prometheus.NewDesc("weir_backpressured_seconds_total", "Time the subtask spent waiting for room downstream; rate() is Flink's backPressuredTimeMsPerSecond/1000.", subtaskLabels, nil)
	descDeadLetters   = prometheus.NewDesc("weir_dead_letters_total", "Records the subtask's source could not decode.", subtaskLabels, nil)
	descInputWM       = prometheus.NewDesc("weir_input_watermark_seconds", "Latest watermark the subtask received (minimum over its inputs), Unix seconds.", subtaskLabels, nil)
	descOutputWM      = prometheus.NewDesc("weir_output_watermark_seconds", "Latest watermark the subtask sent on, Unix seconds.", subtaskLabels, nil)
	descSplitPosition = prometheus.NewDesc("weir_source_split_position", "Where the source subtask's reader is in the split, in the split's unit (a Kafka partition: the offset of the next record; a file: the byte offset after the last line read).", splitLabels, nil)
	descSplitLag      = prometheus.NewDesc("weir_source_split_lag_records", "What remains to read of the split after the reader's position, in records (a Kafka partition: consumer lag, offsets up to the last stable offset).", splitLabels, nil)
	descSplitLagBytes = prometheus.NewDesc("weir_source_split_lag_bytes", "What remains to read of the split after the reader's position, in bytes (a file: the bytes after the last line read).", splitLabels, nil)
	descLatency       = prometheus.NewDesc("weir_latency_seconds", "Time latency markers took from the sources to the subtask (at a sink: end to end), quantile 0.5 or 0.99 of the last 30 to 60 seconds.", quantileLabels, nil)
	descLatencyMarks  = prometheus.NewDesc("weir_latency_markers_total", "Latency markers that reached the subtask.", subtaskLabels, nil)
	descStateAccess   = prometheus.NewDesc("weir_state_access_seconds", "Time of one access to the subtask's keyed state, quantile 0.5 or 0.99 of the last 30 to 60 seconds, timed on one access in 64.", accessQLabels, nil)
	descStateAccesses = prometheus.NewDesc("weir_state_accesses_total", "Accesses to the subtask's keyed state (to within 64).", accessLabels, nil)
	descStateBytes    = prometheus.NewDesc("weir_state_bytes", "Size of the subtask's keyed state in its last checkpoint.", subtaskLabels, nil)

	descRestarts       = prometheus.NewDesc("weir_restarts_total", "Runs of the job started over after a failure (in a cluster: also after a change of workers).", jobLabels, nil)
	descCkptCompleted  = prometheus.NewDesc("weir_checkpoints_completed_total", "Completed checkpoints.", jobLabels, nil)
	descCkptFailed     = prometheus.NewDesc("weir_checkpoints_failed_total", "Failed checkpoints.", jobLabels, nil)
	descCkptDuration   = prometheus.NewDesc("weir_checkpoint_duration_seconds", "Time from trigger to completion of completed checkpoints.", jobLabels, nil)
	descCkptSize       = prometheus.NewDesc("weir_checkpoint_size_bytes", "Bytes of state and metadata of completed checkpoints.", jobLabels, nil)
	descLastCkptDur    = prometheus.NewDesc("weir_last_checkpoint_duration_seconds", "Time from trigger to completion of the newest completed checkpoint.", jobLabels, nil)
	descLastCkptSize   = prometheus.NewDesc("weir_last_checkpoint_size_bytes", "Bytes of state and metadata of the newest completed checkpoint.", jobLabels, nil)
	descLateDropped    = prometheus.NewDesc("weir_late_records_dropped_total", "Records windows dropped because they came after the allowed lateness.", jobLabels, nil)
	descAsyncInFlight  = prometheus.NewDesc("weir_async_in_flight", "Inputs an AsyncWait operator holds: calls running or waiting to be retried, results waiting for their turn.", asyncLabels, nil)
	descAsyncCompleted = prometheus.NewDesc("weir_async_completed_total", "Inputs whose AsyncWait call returned a result.", asyncLabels, nil)
	descAsyncRetries   = prometheus.NewDesc("weir_async_retries_total", "AsyncWait call attempts after the first.", asyncLabels, nil)
	descAsyncTimeouts  = prometheus.NewDesc("weir_async_timeouts_total", "Inputs whose AsyncWait timeout passed.", asyncLabels, nil)
	descAsyncFailures  = prometheus.NewDesc("weir_async_failures_total", "Inputs whose AsyncWait call failed the job.", asyncLabels, nil)

	allDescs = []*prometheus.Desc{
		descRecordsIn, descRecordsOut, descBusy, descIdle, descBackpressured, descDeadLetters, descInputWM, descOutputWM, descSplitPosition, descSplitLag,
		descLatency, descLatencyMarks, descStateAccess, descStateAccesses, descStateBytes,
		descRestarts, descCkptCompleted, descCkptFailed, descCkptDuration, descCkptSize, descLastCkptDur, descLastCkptSize,
		descLateDropped, descAsyncInFlight, descAsyncCompleted, descAsyncRetries, descAsyncTimeouts, descAsyncFailures,
	}
)

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector: it reads the job now.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	name := c.name
	jm, hasJM := c.job.(jobMetrics)
	var jobm weir.JobMetrics
	if hasJM {
		jobm = jm.JobMetrics()
		if name == "" {
			name = jobm.Name
		}
	}
	for _, s := range merge(c.job.Metrics()) {
		lv := []string{name, s.Operator, strconv.Itoa(s.Subtask)}
		counter(ch, descRecordsIn, float64(s.RecordsIn), lv)
		counter(ch, descRecordsOut, float64(s.RecordsOut), lv)
		counter(ch, descBusy, s.Busy.Seconds(), lv)
		counter(ch, descIdle, s.Idle.Seconds(), lv)
		counter(ch, descBackpressured, s.Backpressured.Seconds(), lv)
		counter(ch, descDeadLetters, float64(s.DeadLetters), lv)
		if !s.InputWatermark.IsZero() {
			gauge(ch, descInputWM, unixSeconds(s.InputWatermark), lv)
		}
		if !s.OutputWatermark.IsZero() {
			gauge(ch, descOutputWM, unixSeconds(s.OutputWatermark), lv)
		}
		for _, sp := range s.Splits {
			slv := append(lv[:len(lv):len(lv)], sp.Split)
			gauge(ch, descSplitPosition, float64(sp.Position), slv)
			if sp.Lag < 0 {
				continue
			}
			if sp.Unit == source.ProgressBytes {
				gauge(ch, descSplitLagBytes, float64(sp.Lag), slv)
			} else {
				gauge(ch, descSplitLag, float64(sp.Lag), slv)
			}
		}
		if s.Latency.Samples > 0 {
			counter(ch, descLatencyMarks, float64(s.Latency.Samples), lv)
			gauge(ch, descLatency, s.Latency.P50.Seconds(), append(lv[:len(lv):len(lv)], "0.5"))
			gauge(ch, descLatency, s.Latency.P99.Seconds(), append(lv[:len(lv):len(lv)], "0.99"))
		}
		for _, a := range s.StateAccess {
			alv := append(lv[:len(lv):len(lv)], a.Backend, a.Op)
			counter(ch, descStateAccesses, float64(a.Count), alv)
			gauge(ch, descStateAccess, a.P50.Seconds(), append(alv[:len(alv):len(alv)], "0.5"))
			gauge(ch, descStateAccess, a.P99.Seconds(), append(alv[:len(alv):len(alv)], "0.99"))
		}
		if s.StateAccess != nil || s.StateBytes > 0 {
			gauge(ch, descStateBytes, float64(s.StateBytes), lv)
		}
	}

	jl := []string{name}
	c.collectCheckpoints(ch, jl)
	if hasJM {
		counter(ch, descRestarts, float64(jobm.Restarts), jl)
		counter(ch, descCkptCompleted, float64(jobm.CheckpointsCompleted), jl)
		counter(ch, descCkptFailed, float64(jobm.CheckpointsFailed), jl)
		counter(ch, descLateDropped, float64(jobm.LateRecordsDropped), jl)
	}
	if am, ok := c.job.(asyncMetrics); ok {
		for _, a := range mergeAsync(am.AsyncWaitMetrics()) {
			lv := []string{name, a.Operator}
			gauge(ch, descAsyncInFlight, float64(a.InFlight), lv)
			counter(ch, descAsyncCompleted, float64(a.Completed), lv)
			counter(ch, descAsyncRetries, float64(a.Retried), lv)
			counter(ch, descAsyncTimeouts, float64(a.TimedOut), lv)
			counter(ch, descAsyncFailures, float64(a.Failed), lv)
		}
	}
}

// collectCheckpoints folds the checkpoints that finished since the last
// scrape into the histograms and sends them, with the newest completed one.
func (c *Collector) collectCheckpoints(ch chan<- prometheus.Metric, jl []string) {
	stats := c.job.CheckpointStats()
	var last *weir.CheckpointStat
	c.mu.Lock()
	inHistory := make(map[int64]bool, len(stats))
	for i := range stats {
		s := &stats[i]
		inHistory[s.ID] = true
		if s.Status != weir.CheckpointCompleted && s.Status != weir.CheckpointFailed {
			continue // pending: observed once it finishes
		}
		if s.Status == weir.CheckpointCompleted {
			last = s
		}
		if c.mu.seen[s.ID] {
			continue
		}
		c.mu.seen[s.ID] = true
		if s.Status == weir.CheckpointCompleted {
			c.mu.duration.observe(s.Duration.Seconds())
			c.mu.size.observe(float64(s.Size))
		}
	}
	for id := range c.mu.seen {
		if !inHistory[id] {
			delete(c.mu.seen, id) // left the history: it cannot come back
		}
	}
	dur, size := c.mu.duration.metric(descCkptDuration, jl), c.mu.size.metric(descCkptSize, jl)
	c.mu.Unlock()

	ch <- dur
	ch <- size
	if last != nil {
		gauge(ch, descLastCkptDur, last.Duration.Seconds(), jl)
		gauge(ch, descLastCkptSize, float64(last.Size), jl)
	}
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, lv []string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, lv...)
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, lv []string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, lv...)
}

func unixSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

// merge sums the subtasks that share a chain name and index (two chains
// may carry the same name), so that every series is unique: a registry
// refuses duplicates. Their watermarks are the minimum, as downstream
// would see them. A split both report (two sources of one topic) is the
// one further behind.
func merge(ms []weir.SubtaskMetrics) []weir.SubtaskMetrics {
	type key struct {
		op      string
		subtask int
	}
	at := make(map[key]int, len(ms))
	out := make([]weir.SubtaskMetrics, 0, len(ms))
	for _, m := range ms {
		k := key{m.Operator, m.Subtask}
		i, ok := at[k]
		if !ok {
			at[k] = len(out)
			out = append(out, m)
			continue
		}
		o := &out[i]
		o.RecordsIn += m.RecordsIn
		o.RecordsOut += m.RecordsOut
		o.DeadLetters += m.DeadLetters
		o.Busy += m.Busy
		o.Idle += m.Idle
		o.Backpressured += m.Backpressured
		o.InputWatermark = minTime(o.InputWatermark, m.InputWatermark)
		o.OutputWatermark = minTime(o.OutputWatermark, m.OutputWatermark)
		o.Splits = mergeSplits(o.Splits, m.Splits)
		o.Latency = weir.LatencyStats{P50: max(o.Latency.P50, m.Latency.P50), P99: max(o.Latency.P99, m.Latency.P99),
			Samples: o.Latency.Samples + m.Latency.Samples}
		o.StateAccess = mergeAccess(o.StateAccess, m.StateAccess)
		o.StateBytes += m.StateBytes
	}
	return out
}

// mergeAccess adds the state access of b to a copy of a; of a backend and
// operation in both it keeps the greater quantiles and sums the counts.
func mergeAccess(a, b []weir.StateAccessStats) []weir.StateAccessStats {
	if len(b) == 0 {
		return a
	}
	out := slices.Clone(a)
	for _, s := range b {
		i := slices.IndexFunc(out, func(o weir.StateAccessStats) bool { return o.Backend == s.Backend && o.Op == s.Op })
		if i < 0 {
			out = append(out, s)
			continue
		}
		o := &out[i]
		o.P50, o.P99, o.Count = max(o.P50, s.P50), max(o.P99, s.P99), o.Count+s.Count
	}
	return out
}

// mergeSplits adds the splits of b to a copy of a; of a split in both it
// keeps the one with the greater lag (unknown counts as greatest).
func mergeSplits(a, b []source.SplitProgress) []source.SplitProgress {
	if len(b) == 0 {
		return a
	}
	out := slices.Clone(a)
	for _, sp := range b {
		i := slices.IndexFunc(out, func(o source.SplitProgress) bool { return o.Split == sp.Split })
		switch {
		case i < 0:
			out = append(out, sp)
		case sp.Lag == -1 || (out[i].Lag != -1 && sp.Lag > out[i].Lag):
			out[i] = sp
		}
	}
	return out
}

// minTime returns the earlier of two watermarks, ignoring zero ones.
func minTime(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// mergeAsync sums the AsyncWait operators that share a name.
func mergeAsync(as []weir.AsyncWaitMetrics) []weir.AsyncWaitMetrics {
	at := make(map[string]int, len(as))
	out := make([]weir.AsyncWaitMetrics, 0, len(as))
	for _, a := range as {
		i, ok := at[a.Operator]
		if !ok {
			at[a.Operator] = len(out)
			out = append(out, a)
			continue
		}
		o := &out[i]
		o.InFlight += a.InFlight
		o.Completed += a.Completed
		o.Retried += a.Retried
		o.TimedOut += a.TimedOut
		o.Failed += a.Failed
	}
	return out
}

// histogram is a Prometheus histogram kept by the collector itself, since
// its observations come from the job's history at scrape time.
type histogram struct {
	bounds []float64 // upper bounds, ascending
	counts []uint64  // per bucket (not cumulative); one more for +Inf
	count  uint64
	sum    float64
}

func newHistogram(bounds []float64) histogram {
	return histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := 0
	for i < len(h.bounds) && v > h.bounds[i] {
		i++
	}
	h.counts[i]++
	h.count++
	h.sum += v
}

// metric returns the histogram as a constant metric, buckets cumulative.
func (h *histogram) metric(d *prometheus.Desc, lv []string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.bounds))
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i]
		buckets[b] = cum
	}
	return prometheus.MustNewConstHistogram(d, h.count, h.sum, buckets, lv...)
}
