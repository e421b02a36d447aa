// Package web serves a running job's HTTP API: its metrics, its
// checkpoints, savepoints on demand, and Go's profiles; and the job UI, a
// page at /ui/ that uses only this API.
//
//	GET  /ui/              the job UI: graph, bottleneck, operators, checkpoints,
//	                       exceptions, flame graphs (/ redirects to it)
//	GET  /api/graph        every operator (chained ones included) and edge: weir.JobGraph
//	GET  /api/channels     how full the channels of each edge are: weir.ChannelFill
//	GET  /api/bottleneck   the chain that limits the job, and why in words, from the
//	                       last 10 s of history (FindBottleneck)
//	GET  /api/history      the recent samples of every subtask's counters (History);
//	                       ?since=MS for those after a time
//	GET  /api/subtasks     every subtask's weir.SubtaskMetrics, with Go's field names
//	                       (durations in nanoseconds)
//	GET  /api/exceptions   the failures of the job's runs: weir.JobException
//	GET  /api/restores     the checkpoints the job's runs restored
//	GET  /api/profile      ?seconds=N[&operator=X][&kind=offcpu][&format=pprof]: a CPU
//	                       profile (off-CPU: sampled goroutine stacks), as a flame graph
//	                       (Frame) or the raw profile; token as /debug/pprof/
//	GET  /api/metrics      per-subtask records in and out, busy/idle/backpressured time,
//	                       and a source's splits: position and lag
//	GET  /api/checkpoints  the recent checkpoints: status, duration, size, acknowledgements,
//	                       and per task the timeline of its part (barrier, alignment,
//	                       snapshot, upload) with its size
//	POST /api/savepoints   take a savepoint; answers {"path": "..."} when it completed
//	POST /api/stop         take a savepoint and stop the job; answers {"path": "..."}
//	GET  /api/cluster      for a job in a cluster (weir.Cluster): its generation, coordinator,
//	                       workers and the work of each (subtasks, key groups, splits)
//	GET  /healthz          200 while the process serves; no token needed
//	GET  /readyz           200 once the job runs (a cluster's worker: once it is a member),
//	                       503 before; no token needed
//	GET  /metrics          the same and more in Prometheus's text format (package metrics);
//	                       in a cluster, this worker's own subtasks only (see below)
//	GET  /debug/pprof/     net/http/pprof: profiles of the process, for go tool pprof; CPU
//	                       samples carry the operator and subtask labels
//
// A job in a cluster (weir.Cluster) runs on several workers, each with its
// own --http. Every worker's API and UI show the whole job: /api/metrics,
// /api/subtasks, /api/history, /api/bottleneck, /api/checkpoints,
// /api/channels and /api/exceptions read the job's merged view
// (weir.Env.ClusterMetrics, ClusterCheckpointStats, ClusterChannels,
// Exceptions), each subtask and failure with the worker it ran on. GET /metrics does not: Prometheus scrapes every worker,
// and a series of another worker's subtask there would count it twice, so
// each worker exports its own subtasks (and the coordinator the
// checkpoints); sum over the workers in the query.
//
// Only its owner drives a job. Guard sets the rules, which Handler
// applies and a server that mounts other pages beside the API (the PV/UV
// dashboard) applies to them too:
//
//   - A server on loopback needs no token, as long as it is addressed by a
//     loopback name. A server on any other address must be given a token
//     (weir's --http-token or $WEIR_HTTP_TOKEN; weir refuses to start
//     without one).
//   - With a token, POST requests, /debug/pprof/ and /api/profile need the header
//     "Authorization: Bearer TOKEN"; pages and GET APIs take the header
//     too, or a cookie: open any URL once as URL?token=TOKEN, and the
//     server sets an HttpOnly, SameSite=Strict cookie and redirects to the
//     URL without the token. A missing or wrong token is answered 401.
//   - Mutations are POST only (405 otherwise), same-origin (a browser's
//     cross-origin request is answered 403) and carry JSON or no body (415
//     otherwise).
//   - One savepoint at a time: a savepoint or stop asked while one is in
//     progress is answered 409. Options.RetainSavepoints bounds how many
//     savepoints taken through the API are kept.
//
// Serve it over TLS (http.Server.ServeTLS, weir's --http-tls-cert and
// --http-tls-key) wherever the network between the job and its users is
// not trusted: the token travels in every request.
package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/pprof"
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

// clusterJob is implemented by jobs that may run on several workers
// (*weir.Env): the whole job, where Metrics and CheckpointStats are this
// process's part.
type clusterJob interface {
	ClusterMetrics() []weir.SubtaskMetrics
	ClusterCheckpointStats() []weir.CheckpointStat
}

// subtasksOf returns the metrics of every subtask of job, on whichever
// worker it runs.
func subtasksOf(job Job) []weir.SubtaskMetrics {
	if c, ok := job.(clusterJob); ok {
		return c.ClusterMetrics()
	}
	return job.Metrics()
}

// checkpointsOf returns job's checkpoints with every worker's tasks.
func checkpointsOf(job Job) []weir.CheckpointStat {
	if c, ok := job.(clusterJob); ok {
		return c.ClusterCheckpointStats()
	}
	return job.CheckpointStats()
}

// Options configure Handler. The zero value serves the API as a loopback
// server without a token, keeping every savepoint.
type Options struct {
	// Token, when set, is the secret every request needs (see Guard): a
	// server beyond loopback must have one.
	Token string
	// SavepointTimeout is how long a savepoint request waits for the
	// savepoint to complete. Default 10 minutes.
	SavepointTimeout time.Duration
	// RetainSavepoints keeps the newest n savepoints taken through this
	// handler, stop's included, and deletes older ones. It counts only
	// the savepoints this handler took, so one of an earlier run, or the
	// one the job was restored from, is never deleted. Default 0 keeps
	// every savepoint.
	RetainSavepoints int
	// Logger gets a line for each savepoint taken or deleted. Default
	// slog.Default().
	Logger *slog.Logger
	// History keeps the job's recent metrics for the job UI's charts and
	// GET /api/history; run it (History.Run) to keep them while no page
	// is open. Default: a History of the default options that samples
	// only while a page asks.
	History *History
}

// Handler returns the API of job, behind Guard with opts.Token.
func Handler(job Job, opts Options) http.Handler {
	if opts.SavepointTimeout <= 0 {
		opts.SavepointTimeout = 10 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.History == nil {
		opts.History = NewHistory(job, HistoryOptions{})
	}
	mux := http.NewServeMux()
	mountUI(mux, job, opts.History)
	mux.HandleFunc("GET /api/metrics", func(w http.ResponseWriter, r *http.Request) {
		out := []subtaskJSON{}
		for _, m := range subtasksOf(job) {
			out = append(out, subtaskJSON{
				Operator: m.Operator, Subtask: m.Subtask, Worker: m.Worker, RecordsIn: m.RecordsIn, RecordsOut: m.RecordsOut,
				BusyMs: m.Busy.Milliseconds(), IdleMs: m.Idle.Milliseconds(), BackpressuredMs: m.Backpressured.Milliseconds(),
				Splits: m.Splits,
			})
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /api/checkpoints", func(w http.ResponseWriter, r *http.Request) {
		out := []checkpointJSON{}
		for _, c := range checkpointsOf(job) {
			out = append(out, checkpointJSON{ID: c.ID, Status: string(c.Status), Started: c.Started.UTC().Format(time.RFC3339Nano),
				DurationMs: c.Duration.Milliseconds(), Size: c.Size, Failure: c.Failure,
				AcksMs: millis(c.Acks), AlignmentsMs: millis(c.Alignments), Tasks: timings(c.Tasks)})
		}
		writeJSON(w, http.StatusOK, out)
	})
	mux.HandleFunc("GET /api/cluster", func(w http.ResponseWriter, r *http.Request) {
		c, ok := job.(interface {
			ClusterStatus() (weir.ClusterStatus, bool)
		})
		var st weir.ClusterStatus
		if ok {
			st, ok = c.ClusterStatus()
		}
		if !ok {
			writeError(w, http.StatusNotFound, "the job does not run in a cluster (weir pvuv --cluster)")
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
	sp := &savepoints{timeout: opts.SavepointTimeout, retain: opts.RetainSavepoints, log: opts.Logger}
	mux.HandleFunc("POST /api/savepoints", sp.handle(job.TriggerSavepoint, false))
	mux.HandleFunc("POST /api/stop", sp.handle(job.StopWithSavepoint, true))
	mux.Handle("GET /metrics", metrics.Handler(job, ""))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		// A worker of a cluster is ready once it is a member; any other
		// job as soon as it serves.
		if c, ok := job.(interface {
			InCluster() bool
			ClusterStatus() (weir.ClusterStatus, bool)
		}); ok && c.InCluster() {
			if _, joined := c.ClusterStatus(); !joined {
				writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "joining"})
				return
			}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return Guard(mux, opts.Token)
}

type subtaskJSON struct {
	Operator string `json:"operator"`
	Subtask  int    `json:"subtask"`
	// Worker is the worker of a cluster that runs the subtask.
	Worker          string `json:"worker,omitempty"`
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
	// Tasks is, per task of the job's process, when it took its part,
	// for the checkpoint's timeline.
	Tasks []taskTimingJSON `json:"tasks,omitempty"`
}

func millis(m map[string]time.Duration) map[string]int64 {
	out := map[string]int64{}
	for k, d := range m {
		out[k] = d.Milliseconds()
	}
	return out
}

// writeError answers {"error": msg}.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
