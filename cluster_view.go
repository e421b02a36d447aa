package weir

import (
	"context"
	"log/slog"
	"time"

	"github.com/weirstream/weir/internal/cluster"
)

// The whole job as any worker of a cluster shows it. Each worker runs
// only its part of the job; its Metrics and CheckpointStats are that part
// (what GET /metrics exports, so that Prometheus, which scrapes every
// worker, counts each subtask once). ClusterMetrics, ClusterCheckpointStats,
// ClusterChannels and Exceptions are the whole job's, as the coordinator
// knows it: every worker reports its subtasks, channels and failures to the
// coordinator each second,
// and every task acknowledges its checkpoints there (internal/cluster,
// report.go).

// ClusterMetrics returns the counters of every subtask of the job: in a
// cluster, every worker's subtasks in the current epoch, each with its
// Worker, as the coordinator has them (a worker's report is at most about
// a second old; this worker's own are read now). A worker that does not
// coordinate asks the coordinator and waits at most 2 seconds; when the
// coordinator does not answer (the cluster is changing) it returns its own
// subtasks. A worker that left the cluster drops out once the next epoch
// starts. For a job in one process it is Metrics.
func (e *Env) ClusterMetrics() []SubtaskMetrics {
	v, ok := e.jobView()
	if !ok {
		return e.Metrics()
	}
	out := make([]SubtaskMetrics, 0, len(v.Subtasks))
	for _, r := range v.Subtasks {
		out = append(out, subtaskMetrics(r))
	}
	return out
}

// ClusterCheckpointStats returns the recent checkpoints of the job with
// every worker's tasks, as the coordinator, which drives them, keeps them;
// it asks the coordinator as ClusterMetrics does. For a job in one process
// it is CheckpointStats.
func (e *Env) ClusterCheckpointStats() []CheckpointStat {
	v, ok := e.jobView()
	if !ok {
		return e.CheckpointStats()
	}
	return e.checkpointStats(v.Checkpoints)
}

// ClusterChannels returns how full the channels of every edge are, summed
// over the workers of a cluster (each worker's report is at most about a
// second old); it asks the coordinator as ClusterMetrics does. For a job in
// one process it is Channels.
func (e *Env) ClusterChannels() []ChannelFill {
	v, ok := e.jobView()
	if !ok {
		return e.Channels()
	}
	out := make([]ChannelFill, 0, len(v.Channels))
	for _, c := range v.Channels {
		out = append(out, ChannelFill{From: c.From, To: c.To, Queued: c.Queued, Capacity: c.Capacity})
	}
	return out
}

// clusterExceptions is Exceptions in a cluster.
func (e *Env) clusterExceptions() []JobException {
	v, _ := e.jobView()
	var out []JobException
	for _, x := range v.Exceptions {
		out = append(out, JobException{Time: time.Unix(0, x.Time), Operator: x.Operator, Subtask: x.Subtask, Worker: x.Worker,
			Error: x.Error, Stack: x.Stack, Restart: x.Restart})
	}
	return out
}

// jobView returns the whole job's view, and false when the job does not
// run in a cluster or has not joined it yet. When the coordinator cannot
// be asked, the view holds this worker's own part.
func (e *Env) jobView() (cluster.JobView, bool) {
	e.mu.Lock()
	w := e.worker
	e.mu.Unlock()
	if w == nil {
		return cluster.JobView{}, false
	}
	v, err := w.JobView(context.Background())
	if err != nil {
		logger := e.cfg.logger
		if logger == nil {
			logger = slog.Default()
		}
		logger.Debug("weir: the job's view shows this worker's part only", "err", err)
	}
	return v, true
}

// subtaskReports returns this process's subtasks for the coordinator.
func (e *Env) subtaskReports() []cluster.SubtaskReport {
	ms := e.Metrics()
	out := make([]cluster.SubtaskReport, 0, len(ms))
	for _, m := range ms {
		r := cluster.SubtaskReport{Worker: m.Worker, Operator: m.Operator, Subtask: m.Subtask,
			RecordsIn: m.RecordsIn, RecordsOut: m.RecordsOut, DeadLetters: m.DeadLetters,
			Busy: m.Busy, Idle: m.Idle, Backpressured: m.Backpressured,
			InputWatermark: unixMilli(m.InputWatermark), OutputWatermark: unixMilli(m.OutputWatermark),
			Splits:     m.Splits,
			LatencyP50: m.Latency.P50, LatencyP99: m.Latency.P99, LatencySamples: m.Latency.Samples,
			StateBytes: m.StateBytes}
		for _, a := range m.StateAccess {
			r.StateAccess = append(r.StateAccess, cluster.StateAccessReport{Backend: a.Backend, Op: a.Op, P50: a.P50, P99: a.P99, Count: a.Count})
		}
		out = append(out, r)
	}
	return out
}

// channelReports returns this process's channels for the coordinator.
func (e *Env) channelReports() []cluster.ChannelReport {
	chs := e.Channels()
	out := make([]cluster.ChannelReport, 0, len(chs))
	for _, c := range chs {
		out = append(out, cluster.ChannelReport{From: c.From, To: c.To, Queued: c.Queued, Capacity: c.Capacity})
	}
	return out
}

// subtaskMetrics is the reverse of subtaskReports.
func subtaskMetrics(r cluster.SubtaskReport) SubtaskMetrics {
	m := SubtaskMetrics{Operator: r.Operator, Subtask: r.Subtask, Worker: r.Worker,
		RecordsIn: r.RecordsIn, RecordsOut: r.RecordsOut, DeadLetters: r.DeadLetters,
		Busy: r.Busy, Idle: r.Idle, Backpressured: r.Backpressured,
		Splits:     r.Splits,
		Latency:    LatencyStats{P50: r.LatencyP50, P99: r.LatencyP99, Samples: r.LatencySamples},
		StateBytes: r.StateBytes}
	if r.InputWatermark != 0 {
		m.InputWatermark = time.UnixMilli(r.InputWatermark)
	}
	if r.OutputWatermark != 0 {
		m.OutputWatermark = time.UnixMilli(r.OutputWatermark)
	}
	for _, a := range r.StateAccess {
		m.StateAccess = append(m.StateAccess, StateAccessStats{Backend: a.Backend, Op: a.Op, P50: a.P50, P99: a.P99, Count: a.Count})
	}
	return m
}

func unixMilli(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
