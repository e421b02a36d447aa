package metrics_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/metrics"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/weirtest"
)

// base is the event time of the first record, in Unix milliseconds.
const base = 1_700_000_000_000

// get scrapes the handler and parses what it answers.
func get(t testing.TB, job metrics.Job, name string) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler(job, name).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("Content-Type %q, want the text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

// series returns the metrics of family name whose labels include want.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
next:
	for _, m := range f.Metric {
		for k, v := range want {
			if label(m, k) != v {
				continue next
			}
		}
		out = append(out, m)
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

// sumOf sums family name over the subtasks of the chains whose name
// contains op.
func sumOf(fams map[string]*dto.MetricFamily, name, op string) (float64, int) {
	var sum float64
	n := 0
	for _, m := range series(fams, name, nil) {
		if strings.Contains(label(m, "operator"), op) {
			sum += value(m)
			n++
		}
	}
	return sum, n
}

// TestHandlerServesTheJobsSeries runs a small checkpointed job, scrapes it
// while it runs and checks the series with sane values.
func TestHandlerServesTheJobsSeries(t *testing.T) {
	const n = 1000
	recs := make([]weirtest.Timed[int], n)
	for i := range recs {
		recs[i] = weirtest.Timed[int]{Value: i, Time: time.UnixMilli(base + int64(i))}
	}
	src := weirtest.FromTimed(recs...)
	src.Forever = true // keep running until the test has scraped
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(10*time.Millisecond, t.TempDir()))
	nums := weir.FromSource(env, src, weir.Name("numbers"))
	nums = weir.Watermarks(nums, weir.BoundedOutOfOrderness(time.Millisecond, func(v int) time.Time {
		return time.UnixMilli(base + int64(v))
	}))
	doubled := weir.Map(weir.Rebalance(nums), func(v int) int { return 2 * v }, weir.Name("double"))
	got := weirtest.NewCollector[int]()
	weir.SinkTo(doubled, got, weir.Name("collect"))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx, "numbers") }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Execute: %v", err)
		}
	}()
	// Wait for every record, a checkpoint and the watermarks.
	giveUp := time.After(time.Minute)
	for got.Len() < n || !completedAfterAll(env) {
		select {
		case err := <-done:
			t.Fatalf("the job ended early: %v", err)
		case <-giveUp:
			t.Fatalf("no checkpoint, or no watermark in every subtask, after a minute: %+v", env.Metrics())
		case <-time.After(5 * time.Millisecond):
		}
	}

	fams := get(t, env, "") // the name the job was executed under
	for _, m := range fams["weir_records_in_total"].GetMetric() {
		if label(m, "job") != "numbers" {
			t.Fatalf("job label %q, want the executed name %q", label(m, "job"), "numbers")
		}
	}
	if out, subtasks := sumOf(fams, "weir_records_out_total", "numbers"); out != n || subtasks != 2 {
		t.Errorf("the source's records out: %v over %d subtasks, want %d over 2", out, subtasks, n)
	}
	if in, _ := sumOf(fams, "weir_records_in_total", "double"); in != n {
		t.Errorf("the map's records in: %v, want %d", in, n)
	}
	for _, m := range series(fams, "weir_records_in_total", nil) {
		lv := map[string]string{"operator": label(m, "operator"), "subtask": label(m, "subtask")}
		var total float64
		for _, f := range []string{"weir_busy_seconds_total", "weir_idle_seconds_total", "weir_backpressured_seconds_total"} {
			s := series(fams, f, lv)
			if len(s) != 1 {
				t.Fatalf("%s%v: %d series, want 1", f, lv, len(s))
			}
			total += value(s[0])
		}
		if total <= 0 {
			t.Errorf("%v: busy+idle+backpressured = %v s, want > 0", lv, total)
		}
	}
	// The watermarks are the records' event times, less the bound.
	for _, f := range []string{"weir_output_watermark_seconds", "weir_input_watermark_seconds"} {
		s := series(fams, f, nil)
		if len(s) == 0 {
			t.Fatalf("no %s", f)
		}
		for _, m := range s {
			if wm := value(m); wm < base/1000.0-0.01 || wm > (base+n)/1000.0 {
				t.Errorf("%s{operator=%q}: %v, want within the records' event times %v..%v", f, label(m, "operator"), wm, base/1000.0, (base+n)/1000.0)
			}
		}
	}
	jl := map[string]string{"job": "numbers"}
	if s := series(fams, "weir_checkpoints_completed_total", jl); len(s) != 1 || value(s[0]) < 1 {
		t.Errorf("weir_checkpoints_completed_total: %v, want ≥ 1", s)
	}
	if s := series(fams, "weir_checkpoints_failed_total", jl); len(s) != 1 || value(s[0]) != 0 {
		t.Errorf("weir_checkpoints_failed_total: %v, want 0", s)
	}
	if s := series(fams, "weir_checkpoint_duration_seconds", jl); len(s) != 1 || s[0].Histogram.GetSampleCount() < 1 || s[0].Histogram.GetSampleSum() <= 0 {
		t.Errorf("weir_checkpoint_duration_seconds: %v, want a histogram with ≥ 1 observation", s)
	}
	if s := series(fams, "weir_last_checkpoint_size_bytes", jl); len(s) != 1 || value(s[0]) <= 0 {
		t.Errorf("weir_last_checkpoint_size_bytes: %v, want > 0", s)
	}
	if s := series(fams, "weir_restarts_total", jl); len(s) != 1 || value(s[0]) != 0 {
		t.Errorf("weir_restarts_total: %v, want 0", s)
	}
	for _, f := range []string{"go_goroutines", "process_cpu_seconds_total"} {
		if fams[f] == nil {
			t.Errorf("no %s: the Go and process collectors are missing", f)
		}
	}
}

// completedAfterAll reports whether a checkpoint completed after the
// sources had read records, and every subtask has seen a watermark (they
// come periodically).
func completedAfterAll(env *weir.Env) bool {
	var read int64
	for _, m := range env.Metrics() {
		if strings.HasPrefix(m.Operator, "numbers") {
			read += m.RecordsOut
			if m.OutputWatermark.IsZero() {
				return false
			}
		} else if m.InputWatermark.IsZero() {
			return false
		}
	}
	if read == 0 {
		return false
	}
	for _, c := range env.CheckpointStats() {
		if c.Status == weir.CheckpointCompleted {
			return true
		}
	}
	return false
}

// TestRestartsAreCounted fails a job once: weir_restarts_total says so.
func TestRestartsAreCounted(t *testing.T) {
	var failed atomic.Bool
	env := weir.NewEnv(weir.Parallelism(1), weir.Checkpoints(10*time.Millisecond, t.TempDir()),
		weir.Restart(weir.FixedDelayRestart(3, 0)))
	nums := weir.FromSource(env, weirtest.FromSlice(1, 2, 3), weir.Name("numbers"))
	out := weir.Map(nums, func(v int) int {
		if v == 2 && failed.CompareAndSwap(false, true) {
			panic("once")
		}
		return v
	}, weir.Name("fail once"))
	weir.SinkTo(out, weirtest.NewCollector[int]())
	if err := env.Execute(t.Context(), "flaky"); err != nil {
		t.Fatal(err)
	}
	s := series(get(t, env, "flaky"), "weir_restarts_total", map[string]string{"job": "flaky"})
	if len(s) != 1 || value(s[0]) != 1 {
		t.Fatalf("weir_restarts_total: %v, want 1", s)
	}
}

// fakeJob is a job whose metrics the test sets.
type fakeJob struct {
	subtasks    []weir.SubtaskMetrics
	checkpoints []weir.CheckpointStat
	job         weir.JobMetrics
	async       []weir.AsyncWaitMetrics
}

func (f *fakeJob) Metrics() []weir.SubtaskMetrics            { return f.subtasks }
func (f *fakeJob) CheckpointStats() []weir.CheckpointStat    { return f.checkpoints }
func (f *fakeJob) JobMetrics() weir.JobMetrics               { return f.job }
func (f *fakeJob) AsyncWaitMetrics() []weir.AsyncWaitMetrics { return f.async }

// TestCheckpointHistogramsOutliveTheHistory checks that a checkpoint is
// observed once, when it finishes, and stays counted after the job's
// bounded history dropped it.
func TestCheckpointHistogramsOutliveTheHistory(t *testing.T) {
	ck := func(id int64, st weir.CheckpointStatus, d time.Duration, size int64) weir.CheckpointStat {
		return weir.CheckpointStat{ID: id, Status: st, Duration: d, Size: size}
	}
	job := &fakeJob{checkpoints: []weir.CheckpointStat{
		ck(1, weir.CheckpointCompleted, time.Second, 100),
		ck(2, weir.CheckpointPending, 0, 0),
	}}
	c := metrics.NewCollector(job, "j")
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	hist := func() (uint64, float64) {
		t.Helper()
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == "weir_checkpoint_duration_seconds" {
				h := f.Metric[0].Histogram
				return h.GetSampleCount(), h.GetSampleSum()
			}
		}
		t.Fatal("no weir_checkpoint_duration_seconds")
		return 0, 0
	}
	steps := []struct {
		history   []weir.CheckpointStat
		wantCount uint64
		wantSum   float64
	}{
		{job.checkpoints, 1, 1},
		{job.checkpoints, 1, 1}, // scraped again: not observed twice
		{[]weir.CheckpointStat{ck(1, weir.CheckpointCompleted, time.Second, 100), ck(2, weir.CheckpointCompleted, 2*time.Second, 100), ck(3, weir.CheckpointFailed, time.Second, 0)}, 2, 3},
		{[]weir.CheckpointStat{ck(3, weir.CheckpointFailed, time.Second, 0), ck(4, weir.CheckpointCompleted, 4*time.Second, 100)}, 3, 7}, // 1 and 2 left the history
		{nil, 3, 7},
	}
	for i, s := range steps {
		job.checkpoints = s.history
		if n, sum := hist(); n != s.wantCount || sum != s.wantSum {
			t.Errorf("step %d: %d observations summing %vs, want %d summing %vs", i, n, sum, s.wantCount, s.wantSum)
		}
	}
}

// TestEveryDocumentedSeries checks that a job with every kind of counter
// exports every series the package doc lists, and that chains sharing a
// name do not break the scrape (a registry refuses duplicate series).
func TestEveryDocumentedSeries(t *testing.T) {
	fams := get(t, everything(), "j")
	for _, name := range exported {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
	if s := series(fams, "weir_records_in_total", map[string]string{"operator": "map", "subtask": "0"}); len(s) != 1 || value(s[0]) != 3 {
		t.Errorf("two chains named map, subtask 0: %v, want one series of 1+2", s)
	}
	if s := series(fams, "weir_input_watermark_seconds", map[string]string{"operator": "map", "subtask": "0"}); len(s) != 1 || value(s[0]) != 1 {
		t.Errorf("two chains named map, subtask 0: watermark %v, want the smaller, 1", s)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"weir_latency_seconds", map[string]string{"operator": "map", "quantile": "0.5"}, 0.020},
		{"weir_latency_seconds", map[string]string{"operator": "map", "quantile": "0.99"}, 0.030},
		{"weir_latency_markers_total", map[string]string{"operator": "map"}, 5},
		{"weir_state_access_seconds", map[string]string{"operator": "map", "backend": "heap", "op": "get", "quantile": "0.5"}, 3e-6},
		{"weir_state_access_seconds", map[string]string{"operator": "map", "backend": "heap", "op": "get", "quantile": "0.99"}, 2e-6},
		{"weir_state_accesses_total", map[string]string{"operator": "map", "backend": "heap", "op": "get"}, 704},
		{"weir_state_accesses_total", map[string]string{"operator": "map", "backend": "heap", "op": "put"}, 64},
		{"weir_state_bytes", map[string]string{"operator": "map"}, 120},
	} {
		if s := series(fams, c.name, c.labels); len(s) != 1 || value(s[0]) != c.want {
			t.Errorf("%s%v: %v, want one series of %v (two chains named map: greater quantiles, summed counts)", c.name, c.labels, s, c.want)
		}
	}
	if s := series(fams, "weir_latency_seconds", map[string]string{"operator": "src"}); len(s) != 0 {
		t.Errorf("a subtask no marker reached has latency series %v, want none", s)
	}
}

// everything returns a job with every kind of counter set.
func everything() *fakeJob {
	wm := func(s int64) time.Time { return time.Unix(s, 0) }
	return &fakeJob{
		subtasks: []weir.SubtaskMetrics{
			{Operator: "src", RecordsOut: 3, DeadLetters: 1, Busy: time.Second, OutputWatermark: wm(2),
				Splits: []source.SplitProgress{{Split: "t-0", Position: 5, Lag: 2}, {Split: "t-1", Position: 0, Lag: -1},
					{Split: "f[0:-1]", Position: 100, Lag: 50, Unit: source.ProgressBytes}}},
			{Operator: "map", RecordsIn: 1, InputWatermark: wm(2),
				Latency:     weir.LatencyStats{P50: 10 * time.Millisecond, P99: 30 * time.Millisecond, Samples: 4},
				StateAccess: []weir.StateAccessStats{{Backend: "heap", Op: "get", P50: time.Microsecond, P99: 2 * time.Microsecond, Count: 640}},
				StateBytes:  100},
			{Operator: "map", RecordsIn: 2, InputWatermark: wm(1),
				Latency:     weir.LatencyStats{P50: 20 * time.Millisecond, P99: 25 * time.Millisecond, Samples: 1},
				StateAccess: []weir.StateAccessStats{{Backend: "heap", Op: "get", P50: 3 * time.Microsecond, P99: time.Microsecond, Count: 64}, {Backend: "heap", Op: "put", Count: 64}},
				StateBytes:  20},
		},
		checkpoints: []weir.CheckpointStat{{ID: 1, Status: weir.CheckpointCompleted, Duration: time.Second, Size: 10}},
		job:         weir.JobMetrics{Name: "j", Restarts: 1, CheckpointsCompleted: 1, LateRecordsDropped: 2},
		async:       []weir.AsyncWaitMetrics{{Operator: "lookup", InFlight: 1, Completed: 2, Retried: 3, TimedOut: 4, Failed: 5}},
	}
}

// exported lists the series of the package doc.
var exported = []string{
	"weir_records_in_total", "weir_records_out_total", "weir_busy_seconds_total", "weir_idle_seconds_total",
	"weir_backpressured_seconds_total", "weir_dead_letters_total", "weir_input_watermark_seconds", "weir_output_watermark_seconds",
	"weir_source_split_position", "weir_source_split_lag_records", "weir_source_split_lag_bytes",
	"weir_latency_seconds", "weir_latency_markers_total", "weir_state_access_seconds", "weir_state_accesses_total", "weir_state_bytes",
	"weir_restarts_total", "weir_checkpoints_completed_total", "weir_checkpoints_failed_total",
	"weir_checkpoint_duration_seconds", "weir_checkpoint_size_bytes", "weir_last_checkpoint_duration_seconds",
	"weir_last_checkpoint_size_bytes", "weir_late_records_dropped_total",
	"weir_async_in_flight", "weir_async_completed_total", "weir_async_retries_total", "weir_async_timeouts_total", "weir_async_failures_total",
}

// TestSplitSeries checks the per-split series: a position for every split,
// a lag only where the reader knows it, and one series per split when two
// chains share a name (the one further behind).
func TestSplitSeries(t *testing.T) {
	sp := func(id string, pos, lag int64) source.SplitProgress {
		return source.SplitProgress{Split: id, Position: pos, Lag: lag}
	}
	job := &fakeJob{subtasks: []weir.SubtaskMetrics{
		{Operator: "kafka", Subtask: 0, Splits: []source.SplitProgress{sp("pv-0", 10, 5), sp("pv-2", 0, -1)}},
		{Operator: "kafka", Subtask: 1, Splits: []source.SplitProgress{sp("pv-1", 7, 0)}},
		{Operator: "kafka", Subtask: 0, Splits: []source.SplitProgress{sp("pv-0", 12, 3), sp("pv-2", 4, 1), sp("pv-3", 1, 1)}},
		{Operator: "map", Subtask: 0},
	}}
	fams := get(t, job, "j")
	want := []struct {
		subtask, split string
		pos, lag       float64 // lag -1: no series
	}{
		{"0", "pv-0", 10, 5},
		{"0", "pv-2", 0, -1}, // unknown beats any known lag
		{"0", "pv-3", 1, 1},
		{"1", "pv-1", 7, 0},
	}
	for _, w := range want {
		lv := map[string]string{"job": "j", "operator": "kafka", "subtask": w.subtask, "split": w.split}
		if s := series(fams, "weir_source_split_position", lv); len(s) != 1 || value(s[0]) != w.pos {
			t.Errorf("weir_source_split_position%v: %v, want one series of %v", lv, s, w.pos)
		}
		s := series(fams, "weir_source_split_lag_records", lv)
		switch {
		case w.lag < 0 && len(s) != 0:
			t.Errorf("weir_source_split_lag_records%v: %v, want none: the lag is unknown", lv, s)
		case w.lag >= 0 && (len(s) != 1 || value(s[0]) != w.lag):
			t.Errorf("weir_source_split_lag_records%v: %v, want one series of %v", lv, s, w.lag)
		}
	}
	if n := len(series(fams, "weir_source_split_position", nil)); n != len(want) {
		t.Errorf("%d weir_source_split_position series, want %d", n, len(want))
	}
}

// TestSplitLagInBytes: the lag of a split counted in bytes (a file's) is
// its own series, not one in records.
func TestSplitLagInBytes(t *testing.T) {
	job := &fakeJob{subtasks: []weir.SubtaskMetrics{
		{Operator: "file", Subtask: 0, Splits: []source.SplitProgress{{Split: "f[0:-1]", Position: 100, Lag: 50, Unit: source.ProgressBytes}}},
	}}
	fams := get(t, job, "j")
	lv := map[string]string{"job": "j", "operator": "file", "subtask": "0", "split": "f[0:-1]"}
	if s := series(fams, "weir_source_split_lag_bytes", lv); len(s) != 1 || value(s[0]) != 50 {
		t.Errorf("weir_source_split_lag_bytes%v: %v, want one series of 50", lv, s)
	}
	if s := series(fams, "weir_source_split_lag_records", nil); len(s) != 0 {
		t.Errorf("weir_source_split_lag_records: %v, want none for a split in bytes", s)
	}
}
