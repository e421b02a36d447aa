package bench

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/sink/async"
)

// TestAsyncSinkBench runs a small benchmark and checks that its report
// adds up; it never checks timings.
func TestAsyncSinkBench(t *testing.T) {
	rep, err := AsyncSinkBench(t.Context(), AsyncSinkConfig{Records: 3000, SyncRecords: 10, Latency: 2 * time.Millisecond, BatchSize: 50, InFlight: 4})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bound != 4*50/0.002 {
		t.Errorf("bound %v, want 100,000 records/s", rep.Bound)
	}
	a, s := rep.Async, rep.Sync
	if a.Records != 3000 || a.Sink.RecordsWritten != 3000 || a.Requests < 3000/50 || a.Sink.MaxBatch != 50 || a.RecordsPerSec <= 0 {
		t.Errorf("async run %+v", a)
	}
	if s.Records != 10 || s.Requests != 10 || s.Sink.MaxBatch != 1 {
		t.Errorf("synchronous run %+v: want one request per record", s)
	}
	if b := rep.Baseline; b.Records != 3000 || b.Requests != 3000/50 || b.Sink.MeanBatchSize() != 50 {
		t.Errorf("baseline run %+v", b)
	}
	if rep.BoundRatio != a.RecordsPerSec/rep.Bound || rep.SyncRatio != a.RecordsPerSec/s.RecordsPerSec {
		t.Errorf("ratios %v and %v do not follow from the runs", rep.BoundRatio, rep.SyncRatio)
	}
	if rep.BoundMet != (rep.BoundRatio >= TargetAsyncBound) || rep.SyncMet != (rep.SyncRatio >= TargetAsyncOverSync) {
		t.Errorf("targets met %t %t for ratios %v %v", rep.BoundMet, rep.SyncMet, rep.BoundRatio, rep.SyncRatio)
	}
	var out bytes.Buffer
	rep.Print(&out)
	for _, want := range []string{"bound (in flight × batch ÷ latency): 100,000 records/s", "async ", "synchronous ", "async / bound", "async / synchronous", "3,000", "baseline "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "PASS") + strings.Count(out.String(), "MISS"); n != 2 {
		t.Errorf("the report has %d PASS/MISS verdicts, want 2:\n%s", n, out.String())
	}
}

func TestAsyncSinkConfigValidate(t *testing.T) {
	err := AsyncSinkConfig{Records: -1, SyncRecords: -1, Latency: -1, BatchSize: -1, InFlight: -1}.Validate()
	for _, f := range []string{"Records", "SyncRecords", "Latency", "BatchSize", "InFlight"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("the error does not name %s: %v", f, err)
		}
	}
}

func TestCountJSONArray(t *testing.T) {
	for _, c := range []struct {
		in string
		n  int
		ok bool
	}{
		{`[]`, 0, true},
		{`[ ]`, 0, true},
		{`[1]`, 1, true},
		{`["a,b","c\"],d",3]`, 3, true},
		{`[""]`, 1, true},
		{`["\\",1]`, 2, true},
		{`["open]`, 0, false},
		{`1,2`, 0, false},
	} {
		if n, ok := countJSONArray([]byte(c.in)); n != c.n || ok != c.ok {
			t.Errorf("countJSONArray(%s) = %d, %t; want %d, %t", c.in, n, ok, c.n, c.ok)
		}
	}
}

// BenchmarkAsyncSink writes b.N datagen lines through a job into the async
// HTTP sink (batches of 100, 10 in flight) and an endpoint that answers
// after 20 ms, and reports the throughput and its share of the bound
// (50,000 records/s).
func BenchmarkAsyncSink(b *testing.B) {
	benchHTTPSink(b, async.Options[[]byte]{MaxBatchSize: DefaultAsyncBatch, MaxInFlightRequests: DefaultAsyncInFlight})
}

// BenchmarkAsyncSinkSynchronous is BenchmarkAsyncSink with one request per
// record, one at a time.
func BenchmarkAsyncSinkSynchronous(b *testing.B) {
	benchHTTPSink(b, async.Options[[]byte]{Synchronous: true})
}

func benchHTTPSink(b *testing.B, o async.Options[[]byte]) {
	ep, err := startEndpoint(DefaultAsyncLatency)
	if err != nil {
		b.Fatal(err)
	}
	defer ep.close()
	b.ResetTimer()
	run, err := runHTTPSink(context.Background(), ep, "bench", int64(b.N), o)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(run.RecordsPerSec, "records/s")
	if !o.Synchronous {
		bound := float64(DefaultAsyncBatch*DefaultAsyncInFlight) / DefaultAsyncLatency.Seconds()
		b.ReportMetric(run.RecordsPerSec/bound, "of-bound")
	}
	b.ReportMetric(run.Sink.MeanBatchSize(), "records/request")
}
