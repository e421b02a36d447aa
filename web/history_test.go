package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/web"
)

// countingJob is a job of n subtasks whose counters grow by one record per
// call of Metrics.
type countingJob struct {
	n     int
	calls atomic.Int64
}

func (j *countingJob) Metrics() []weir.SubtaskMetrics {
	c := j.calls.Add(1)
	out := make([]weir.SubtaskMetrics, j.n)
	for i := range out {
		out[i] = weir.SubtaskMetrics{Operator: "map", Subtask: i, RecordsIn: c, Busy: time.Duration(c) * time.Second}
	}
	return out
}

func (j *countingJob) CheckpointStats() []weir.CheckpointStat { return nil }

func (j *countingJob) TriggerSavepoint(context.Context) (string, error) {
	return "", errors.New("no savepoints")
}

func (j *countingJob) StopWithSavepoint(context.Context) (string, error) {
	return "", errors.New("no savepoints")
}

// TestHistoryIsBounded runs a history of 10 s at 2 s for 21 s: it keeps the
// newest 5 samples, oldest first, each at most MaxSubtasks long.
func TestHistoryIsBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		job := &countingJob{n: 10}
		h := web.NewHistory(job, web.HistoryOptions{Interval: 2 * time.Second, Span: 10 * time.Second, MaxSubtasks: 3})
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- h.Run(ctx) }()
		start := time.Now()
		time.Sleep(21 * time.Second)
		synctest.Wait()
		got := h.Samples(0)
		if len(got) != 5 {
			t.Fatalf("%d samples after 21 s at 2 s, want the newest 5 (Span 10 s)", len(got))
		}
		for i, s := range got {
			want := start.Add(time.Duration(12+2*i) * time.Second).UnixMilli()
			if s.Time != want {
				t.Errorf("sample %d at %d ms, want %d (oldest first)", i, s.Time-start.UnixMilli(), want-start.UnixMilli())
			}
			if len(s.Subtasks) != 3 {
				t.Errorf("sample %d has %d subtasks, want MaxSubtasks 3", i, len(s.Subtasks))
			}
		}
		if since := h.Samples(got[2].Time); len(since) != 2 || since[0].Time != got[3].Time {
			t.Errorf("Samples(since the third) has %d samples, want the newest 2", len(since))
		}

		// The API serves the same samples, and a request between two
		// ticks takes no sample of its own.
		srv := web.Handler(job, web.Options{History: h})
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/history", nil))
		var body struct {
			IntervalMs int64    `json:"interval_ms"`
			Chains     []string `json:"chains"`
			Samples    []struct {
				T int64     `json:"t"`
				S [][]int64 `json:"s"`
			} `json:"samples"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatalf("GET /api/history: %v: %s", err, rec.Body)
		}
		if body.IntervalMs != 2000 || len(body.Samples) != 5 || len(body.Chains) != 1 || body.Chains[0] != "map" || len(body.Samples[4].S) != 3 {
			t.Errorf("GET /api/history = %s", rec.Body)
		}
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	})
}

// TestHistorySamplesOnRequest: without Run, the history fills as pages
// ask, at most one sample per interval.
func TestHistorySamplesOnRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		job := &countingJob{n: 1}
		srv := web.Handler(job, web.Options{})
		get := func() int {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest("GET", "/api/history", nil))
			var body struct{ Samples []json.RawMessage }
			json.Unmarshal(rec.Body.Bytes(), &body)
			return len(body.Samples)
		}
		if n := get(); n != 1 {
			t.Errorf("first request: %d samples, want 1", n)
		}
		if n := get(); n != 1 {
			t.Errorf("second request at once: %d samples, want still 1", n)
		}
		time.Sleep(2 * time.Second)
		if n := get(); n != 2 {
			t.Errorf("a request 2 s later: %d samples, want 2", n)
		}
	})
}

func httptestRecorder(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec
}
