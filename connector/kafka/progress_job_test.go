package kafka

import (
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/metrics"
	"github.com/weirstream/weir/weirtest"
)

// srcSplitGauges scrapes the job's Prometheus series and returns, per
// split, its position and lag (-1: no lag series), with the labels job,
// operator and subtask checked.
func srcSplitGauges(t *testing.T, env *weir.Env) map[string][2]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	metrics.Handler(env, "").ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	out := map[string][2]float64{}
	labels := func(m *dto.Metric) (split string) {
		l := map[string]string{}
		for _, p := range m.Label {
			l[p.GetName()] = p.GetValue()
		}
		if l["job"] != "kafka" || l["operator"] == "" || l["subtask"] == "" {
			t.Fatalf("split series with labels %v, want job=kafka, an operator and a subtask", l)
		}
		return l["split"]
	}
	for _, m := range fams["weir_source_split_position"].GetMetric() {
		out[labels(m)] = [2]float64{m.GetGauge().GetValue(), -1}
	}
	for _, m := range fams["weir_source_split_lag_records"].GetMetric() {
		s := labels(m)
		g, ok := out[s]
		if !ok {
			t.Fatalf("a lag series for split %s, which has no position series", s)
		}
		g[1] = m.GetGauge().GetValue()
		out[s] = g
	}
	return out
}

// TestSourceLagInJobMetrics runs a job whose map stops after a few
// records, holding the Kafka reader back: the job's Prometheus series show
// per partition a position and a lag that add up to the partition's end,
// with lag left to read; once the map goes on, every partition's lag
// reaches 0 at its end.
func TestSourceLagInJobMetrics(t *testing.T) {
	srcLeakCheck(t)
	size := []int64{700, 400, 300}
	b := srcBroker(t, len(size), "pv")
	ctx := srcCtx(t)
	var total int
	for p, n := range size {
		srcProduceTo(t, b, "pv", int32(p), int(n))
		total += int(n)
	}
	const passed = 50 // records the map lets through before it stops
	var seen atomic.Int64
	stopped, release := make(chan struct{}), make(chan struct{})
	var stopOnce, releaseOnce sync.Once
	env := weir.NewEnv(weir.Parallelism(2))
	src := weir.FromSource(env, srcNew(t, b, Topics("pv")), weir.Name("pv"))
	held := weir.Map(src, func(v string) string {
		if seen.Add(1) == passed {
			stopOnce.Do(func() { close(stopped) })
			<-release
		}
		return v
	}, weir.Name("hold"))
	out := weirtest.NewCollector[string]()
	weir.SinkTo(held, out)
	stop := srcStartJob(t, env)
	t.Cleanup(func() { releaseOnce.Do(func() { close(release) }) })

	select {
	case <-stopped:
	case <-ctx.Done():
		t.Fatal("the map never got its records")
	}
	// Wait for a series of every partition (the reader that holds one
	// that the map never saw may take its split a moment after the other
	// stopped), and for the end of each partition the readers fetched so
	// far; one fetch brings at least one partition's.
	var g map[string][2]float64
	srcWaitFor(t, ctx, "a position series per partition and a lag series", func() bool {
		g = srcSplitGauges(t, env)
		if len(g) < len(size) {
			return false
		}
		for _, v := range g {
			if v[1] >= 0 {
				return true
			}
		}
		return false
	})
	if len(g) != len(size) {
		t.Fatalf("position series of splits %v, want one per partition of pv", g)
	}
	var lag float64
	for p, n := range size {
		id := "pv-" + strconv.Itoa(p)
		v, ok := g[id]
		if !ok {
			t.Fatalf("no series of split %s: %v", id, g)
		}
		if v[1] >= 0 && v[0]+v[1] != float64(n) {
			t.Errorf("%s: position %v + lag %v, want the partition's end %d", id, v[0], v[1], n)
		}
		lag = max(lag, v[1])
	}
	if lag <= 0 {
		t.Errorf("no partition lags while the map holds the reader after %d of %d records: %v", passed, total, g)
	}

	releaseOnce.Do(func() { close(release) })
	srcWaitFor(t, ctx, "every record", func() bool { return out.Len() == total })
	srcWaitFor(t, ctx, "lag 0 on every partition", func() bool {
		g = srcSplitGauges(t, env)
		for p, n := range size {
			if g["pv-"+strconv.Itoa(p)] != [2]float64{float64(n), 0} {
				return false
			}
		}
		return true
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
