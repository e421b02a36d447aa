package web_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/web"
)

// splitsJob is a job with fixed metrics; it takes no savepoints.
type splitsJob struct{ subtasks []weir.SubtaskMetrics }

func (j splitsJob) Metrics() []weir.SubtaskMetrics                  { return j.subtasks }
func (splitsJob) CheckpointStats() []weir.CheckpointStat            { return nil }
func (splitsJob) TriggerSavepoint(context.Context) (string, error)  { return "", context.Canceled }
func (splitsJob) StopWithSavepoint(context.Context) (string, error) { return "", context.Canceled }

// TestMetricsIncludeSplits: GET /api/metrics answers each source subtask's
// splits with their position and lag, and no splits key for the others.
func TestMetricsIncludeSplits(t *testing.T) {
	job := splitsJob{subtasks: []weir.SubtaskMetrics{
		{Operator: "kafka", Subtask: 0, Splits: []source.SplitProgress{
			{Split: "pv-0", Position: 10, Lag: 5}, {Split: "pv-1", Position: 0, Lag: -1}}},
		{Operator: "map", Subtask: 0},
	}}
	rec := httptest.NewRecorder()
	web.Handler(job, web.Options{SavepointTimeout: time.Second}).ServeHTTP(rec, httptest.NewRequest("GET", "/api/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("GET /api/metrics: %d %s", rec.Code, rec.Body)
	}
	var got []map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d subtasks, want 2: %s", len(got), rec.Body)
	}
	want := []any{
		map[string]any{"split": "pv-0", "position": 10.0, "lag": 5.0},
		map[string]any{"split": "pv-1", "position": 0.0, "lag": -1.0},
	}
	if !reflect.DeepEqual(got[0]["splits"], want) {
		t.Errorf("the source's splits: %v, want %v", got[0]["splits"], want)
	}
	if s, ok := got[1]["splits"]; ok {
		t.Errorf("the map has splits %v, want none", s)
	}
}
