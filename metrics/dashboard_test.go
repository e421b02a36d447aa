package metrics_test

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
)

// TestDashboardUsesExportedSeries parses the Grafana dashboard and checks
// that every weir_ series its queries use is one the collector exports,
// so that the dashboard cannot drift from the code.
func TestDashboardUsesExportedSeries(t *testing.T) {
	b, err := os.ReadFile("../deploy/grafana/weir.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("deploy/grafana/weir.json: %v", err)
	}
	var queries []string
	collectQueries(dash, &queries)
	if len(queries) < 10 {
		t.Fatalf("found %d queries in the dashboard, want its panels' and variables' (≥ 10)", len(queries))
	}

	fams := get(t, everything(), "j")
	name := regexp.MustCompile(`\bweir_[a-zA-Z0-9_]+`)
	used := map[string]bool{}
	for _, q := range queries {
		for _, n := range name.FindAllString(q, -1) {
			used[n] = true
			if !exports(fams, n) {
				t.Errorf("the dashboard queries %s, which the collector does not export: %s", n, q)
			}
		}
	}
	for _, n := range []string{"weir_records_out_total", "weir_busy_seconds_total", "weir_backpressured_seconds_total",
		"weir_output_watermark_seconds", "weir_checkpoint_duration_seconds_bucket", "weir_last_checkpoint_size_bytes", "weir_restarts_total",
		"weir_source_split_lag_records", "weir_latency_seconds", "weir_state_access_seconds", "weir_state_bytes"} {
		if !used[n] {
			t.Errorf("the dashboard does not chart %s", n)
		}
	}
}

// collectQueries gathers the PromQL of every target ("expr") and template
// variable ("query", a string or an object with one) under v.
func collectQueries(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && (k == "expr" || k == "query" || k == "definition") {
				*out = append(*out, s)
				continue
			}
			collectQueries(x, out)
		}
	case []any:
		for _, x := range v {
			collectQueries(x, out)
		}
	}
}

// exports reports whether the families hold series n: a family, or a
// histogram's _bucket, _sum or _count.
func exports(fams map[string]*dto.MetricFamily, n string) bool {
	if fams[n] != nil {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(n, suffix); ok && fams[base].GetType() == dto.MetricType_HISTOGRAM {
			return true
		}
	}
	return false
}
