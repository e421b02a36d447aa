package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestAsyncWaitBench checks that both runs complete with every result, in
// order where ordered, and that the report prints; never the timings.
func TestAsyncWaitBench(t *testing.T) {
	rep, err := AsyncWaitBench(t.Context(), AsyncWaitConfig{Records: 500, Capacity: 20, Latency: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Ordered.Records != 500 || rep.Unordered.Records != 500 || !rep.Ordered.InOrder {
		t.Fatalf("report %+v", rep)
	}
	if rep.Bound != 20_000 || rep.Ordered.Ratio <= 0 || rep.Unordered.Ratio <= 0 || rep.Ordered.CallTime < time.Millisecond || rep.Ordered.EngineRatio <= 0 {
		t.Fatalf("bound %v, ratios %v and %v", rep.Bound, rep.Ordered.Ratio, rep.Unordered.Ratio)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"capacity 20", "20,000 records/s", "ordered", "unordered", ">= 0.90"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestAsyncWaitConfigValidate(t *testing.T) {
	err := AsyncWaitConfig{Records: -1, Capacity: -1, Latency: -time.Second, Runs: -1}.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, field := range []string{"Records", "Capacity", "Latency", "Runs"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
}

// BenchmarkAsyncWait runs AsyncWaitBench with its defaults (capacity 100,
// 10ms calls) and reports each mode's throughput as a share of the bound
// of 10,000 records/s; the target is TargetAsyncWait.
func BenchmarkAsyncWait(b *testing.B) {
	var rep AsyncWaitReport
	for b.Loop() {
		var err error
		if rep, err = AsyncWaitBench(b.Context(), AsyncWaitConfig{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(rep.Ordered.Ratio, "ordered-ratio")
	b.ReportMetric(rep.Unordered.Ratio, "unordered-ratio")
	b.ReportMetric(rep.Ordered.EngineRatio, "ordered-engine-ratio")
	b.ReportMetric(rep.Unordered.EngineRatio, "unordered-engine-ratio")
	b.ReportMetric(rep.Ordered.PerSecond, "ordered-records/s")
	b.ReportMetric(rep.Unordered.PerSecond, "unordered-records/s")
}
