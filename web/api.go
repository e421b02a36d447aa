// Package web serves a running job's HTTP API: its metrics, its
// checkpoints, and savepoints on demand. Pages that show them use only this
// API.
//
//	GET  /api/metrics      per-subtask records in and out, busy/idle/backpressured time
//	GET  /api/checkpoints  the recent checkpoints: status, duration, size, acknowledgements
//	POST /api/savepoints   take a savepoint; answers {"path": "..."} when it completed
//	POST /api/stop         take a savepoint and stop the job; answers {"path": "..."}
//	GET  /api/cluster      for a job in a cluster (weir.Cluster): its generation, coordinator,
//	                       workers and the work of each (subtasks, key groups, splits)
package web

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/metrics"
	"github.com/weirstream/weir/source"
)

// Job is what the API needs of a running job; *weir.Env implements it.
type Job interface {
	Metrics() []weir.SubtaskMetrics
	CheckpointStats() []weir.CheckpointStat
	TriggerSavepoint(ctx context.Context) (string, error)
	StopWithSavepoint(ctx context.Context) (string, error)
}

// Handler returns the API of job. Savepoint requests wait at most timeout
// for the savepoint to complete (0 means 10 minutes).
func Handler(job Job, timeout time.Duration) http.Handler {
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/metrics", func(w http.ResponseWriter, r *http.Request) {
		out := []subtaskJSON{}
		for _, m := range job.Metrics() {
			out = append(out, subtaskJSON{
				Operator: m.Operator, Subtask: m.Subtask, RecordsIn: m.RecordsIn, RecordsOut: m.RecordsOut,
				BusyMs: m.Busy.Milliseconds(), IdleMs: m.Idle.Milliseconds(), BackpressuredMs: m.Backpressured.Milliseconds(),
				Splits: m.Splits,
			})
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /api/checkpoints", func(w http.ResponseWriter, r *http.Request) {
		out := []checkpointJSON{}
		for _, c := range job.CheckpointStats() {
			out = append(out, checkpointJSON{ID: c.ID, Status: string(c.Status), Started: c.Started.UTC().Format(time.RFC3339Nano),
				DurationMs: c.Duration.Milliseconds(), Size: c.Size, Failure: c.Failure,
				AcksMs: millis(c.Acks), AlignmentsMs: millis(c.Alignments)})
		}
		writeJSON(w, http.StatusOK, out)
	})
	savepoint := func(take func(context.Context) (string, error)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			defer cancel()
			path, err := take(ctx)
			if err != nil {
				writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
				return
			}
			writeJSON(w, http.StatusOK, map[string]string{"path": path})
		}
	}
	mux.HandleFunc("GET /api/cluster", func(w http.ResponseWriter, r *http.Request) {
		c, ok := job.(interface {
			ClusterStatus() (weir.ClusterStatus, bool)
		})
		var st weir.ClusterStatus
		if ok {
			st, ok = c.ClusterStatus()
		}
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "the job does not run in a cluster (weir pvuv --cluster)"})
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.HandleFunc("POST /api/savepoints", savepoint(job.TriggerSavepoint))
	mux.HandleFunc("POST /api/stop", savepoint(job.StopWithSavepoint))
	mux.Handle("GET /metrics", metrics.Handler(job, ""))
	return mux
}

type subtaskJSON struct {
	Operator        string `json:"operator"`
	Subtask         int    `json:"subtask"`
	RecordsIn       int64  `json:"records_in"`
	RecordsOut      int64  `json:"records_out"`
	BusyMs          int64  `json:"busy_ms"`
	IdleMs          int64  `json:"idle_ms"`
	BackpressuredMs int64  `json:"backpressured_ms"`
	// Splits is, for a source's subtask whose reader reports it, each
	// split's {"split", "position", "lag"} (lag -1: unknown yet).
	Splits []source.SplitProgress `json:"splits,omitempty"`
}

type checkpointJSON struct {
	ID         int64            `json:"id"`
	Status     string           `json:"status"`
	Started    string           `json:"started"`
	DurationMs int64            `json:"duration_ms"`
	Size       int64            `json:"size"`
	Failure    string           `json:"failure,omitempty"`
	AcksMs     map[string]int64 `json:"acks_ms"`
	// AlignmentsMs is per task with several inputs how long it waited
	// for the barriers of the others.
	AlignmentsMs map[string]int64 `json:"alignments_ms"`
}

func millis(m map[string]time.Duration) map[string]int64 {
	out := map[string]int64{}
	for k, d := range m {
		out[k] = d.Milliseconds()
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
