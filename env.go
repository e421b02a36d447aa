package weir

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir/internal/cluster"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/source"
)

// Env holds the settings and the graph of one job. Build the graph with the
// stream functions, then call Execute once. An Env is not safe for
// concurrent graph building.
type Env struct {
	cfg   config
	graph plan.Graph
	errs  []error // problems found while the graph was built

	backend stateBackend // chosen by Execute from the options

	// Counters that outlive runs, per operator.
	lateDrops []*atomic.Int64 // of window operators without LateRecordsTo
	asyncOps  []asyncCounters // of AsyncWait operators

	runs atomic.Int64 // runs built: the first, then one per restart

	graphView atomic.Pointer[JobGraph]       // what Graph returns; set by Execute
	channels  atomic.Pointer[[]edgeExchange] // what Channels reads; set per run

	mu      sync.Mutex
	name    string             // as given to Execute
	metrics []*runtime.Metrics // of the running or last run
	job     *job.Job           // the running or last execution
	worker  cluster.Running    // this process's worker, when the job runs in a cluster
}

// asyncCounters names the counters of one AsyncWait operator.
type asyncCounters struct {
	name  string
	stats *asyncStats
}

// NewEnv returns an environment with the given options. Options are
// validated by Execute, which reports every problem at once.
func NewEnv(opts ...EnvOption) *Env {
	cfg := defaultConfig()
	for _, o := range opts {
		o.applyEnv(&cfg)
	}
	return &Env{cfg: cfg}
}

// Config returns the effective settings, one "name=value" pair each.
func (e *Env) Config() string { return e.cfg.String() }

// OperatorError is the error Execute returns when an operator failed: it
// names the operator and its subtask and wraps the cause (errors.As finds
// it).
type OperatorError = runtime.OperatorError

// PanicError is the cause of an OperatorError when the operator panicked;
// it holds the panic's value and stack.
type PanicError = runtime.PanicError

// SubtaskMetrics are the counters of one subtask of a chain of operators.
type SubtaskMetrics struct {
	Operator string // the chain, e.g. "parse -> watermarks"
	Subtask  int
	// Worker is the ID of the worker of a cluster (Cluster) that runs the
	// subtask; "" for a job in one process.
	Worker        string
	RecordsIn     int64
	RecordsOut    int64
	DeadLetters   int64 // source records the reader could not decode
	Busy          time.Duration
	Idle          time.Duration
	Backpressured time.Duration
	// InputWatermark is the latest watermark the subtask received (the
	// minimum over its inputs) and OutputWatermark the latest it sent on;
	// zero when none yet (a source has no input watermark, a chain that
	// ends in a sink no output one). The final watermark after the end of
	// a bounded input does not count.
	InputWatermark, OutputWatermark time.Time
	// Splits is, for a source's subtask whose reader reports it
	// (source.ProgressReporter: the Kafka, file, datagen and nexmark
	// readers do), the position and lag of each split the reader holds;
	// nil for other subtasks.
	Splits []source.SplitProgress
	// Latency is how long latency markers took from the sources to this
	// subtask (LatencyTrackingInterval): at a sink, the end-to-end latency
	// of the job. Zero for a subtask no marker reached.
	Latency LatencyStats
	// StateAccess is the time the subtask's keyed state takes to get, put
	// and delete an entry, per backend and operation, timed on a sample of
	// the accesses; nil for a subtask without keyed state.
	StateAccess []StateAccessStats
	// StateBytes is the size of the subtask's keyed state in its last
	// checkpoint; 0 before the first one, or without keyed state.
	StateBytes int64
}

// LatencyStats are the quantiles of the latency markers that reached a
// subtask in the last 30 to 60 seconds, and how many reached it in all.
type LatencyStats struct {
	P50, P99 time.Duration
	Samples  int64
}

// StateAccessStats are the quantiles of one kind of access to keyed state
// in the last 30 to 60 seconds (timed on one access in 64), and how many
// accesses there were in all.
type StateAccessStats struct {
	Backend  string // "heap" or "pebble"
	Op       string // "get", "put" or "delete"
	P50, P99 time.Duration
	Count    int64
}

// Metrics returns the counters of every subtask of the running (or last)
// execution in this process: in a cluster, this worker's subtasks only
// (ClusterMetrics has every worker's). It is safe to call while Execute
// runs.
func (e *Env) Metrics() []SubtaskMetrics {
	e.mu.Lock()
	ms := e.metrics
	self := ""
	if e.worker != nil {
		self = e.worker.ID()
	}
	e.mu.Unlock()
	out := make([]SubtaskMetrics, 0, len(ms))
	for _, m := range ms {
		sh := m.Shares()
		sm := SubtaskMetrics{
			Operator: m.Operator, Subtask: m.Subtask, Worker: self,
			RecordsIn: m.RecordsIn.Load(), RecordsOut: m.RecordsOut.Load(), DeadLetters: m.DeadLetters.Load(),
			Busy: sh.Busy, Idle: sh.Idle, Backpressured: sh.Backpressured,
		}
		in, inOK, o, outOK := m.Watermarks()
		if inOK {
			sm.InputWatermark = time.UnixMilli(in)
		}
		if outOK {
			sm.OutputWatermark = time.UnixMilli(o)
		}
		sm.Splits = m.Splits(nil)
		if n := m.Latency.Count(); n > 0 {
			sm.Latency.P50, sm.Latency.P99 = m.Latency.Quantiles()
			sm.Latency.Samples = n
		}
		sm.StateAccess = stateAccess(m)
		sm.StateBytes = m.StateBytes.Load()
		out = append(out, sm)
	}
	return out
}

// Execute runs the job until its bounded sources end and every record has
// been processed, ctx is cancelled, or an operator fails. It returns nil
// when the job finished, ctx's error when it was cancelled, and otherwise
// the first operator's error, which names the operator and subtask. Every
// goroutine of the job has ended when Execute returns.
func (e *Env) Execute(ctx context.Context, name string) error {
	e.mu.Lock()
	e.name = name
	e.mu.Unlock()
	p, err := e.resolve()
	if err != nil {
		return err
	}
	backend, err := newBackend(e.cfg.backend, e.cfg.backendDir)
	if err != nil {
		return err
	}
	e.backend = backend
	e.setGraph(p)
	logger := e.cfg.logger
	if logger == nil {
		logger = slog.Default()
	}
	settings := plan.Settings{MaxParallelism: e.cfg.maxParallelism, Logger: logger.With("job", name),
		LatencyInterval: e.cfg.latencyInterval, Unobserved: e.cfg.unobserved, Exchange: runtime.ExchangeOptions{
			BatchSize:      e.cfg.batchSize,
			Capacity:       e.cfg.channelCapacity,
			BufferTimeout:  e.cfg.bufferTimeout,
			MaxParallelism: e.cfg.maxParallelism,
		}}
	spec := job.Spec{
		Name:           name,
		MaxParallelism: e.cfg.maxParallelism,
		Checkpoints:    e.cfg.checkpoint.spec(),
		States:         p.States(),
		Publish:        map[string]func(context.Context, [][]byte) error{},
		Logger:         logger,
		Build: func(ctx context.Context, run *job.Run) ([]runtime.Task, error) {
			built, err := p.Build(ctx, settings, run)
			if err != nil {
				return nil, err
			}
			e.runs.Add(1)
			e.mu.Lock()
			e.metrics = built.Metrics
			e.mu.Unlock()
			e.setChannels(built.Exchanges)
			return built.Tasks, nil
		},
	}
	for _, n := range e.graph.Nodes {
		if n.Publish != nil {
			spec.Publish[n.UID] = n.Publish
		}
	}
	if e.cfg.cluster != nil {
		spec.Build = nil // built per epoch, by the cluster's worker
		return e.executeInCluster(ctx, p, settings, spec)
	}
	j := job.New(spec)
	e.mu.Lock()
	e.job = j
	e.mu.Unlock()
	return j.Execute(ctx)
}

// check validates the graph: the problems found while it was built, the
// parallelism of every operator, and that the job has something to run.
func (e *Env) check() error {
	err := e.graph.Check(e.cfg.maxParallelism)
	if len(e.graph.Nodes) == 0 {
		return err
	}
	return errors.Join(append(append([]error(nil), e.errs...), err)...)
}

// current returns the running or last execution, or nil.
func (e *Env) current() *job.Job {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.job
}

// TriggerSavepoint takes a savepoint of the running job: a checkpoint kept
// apart from the periodic ones and never deleted, to start the job from
// later (RestoreFrom), also at another parallelism. It blocks until the
// savepoint completed and returns its location. The job needs Checkpoints.
func (e *Env) TriggerSavepoint(ctx context.Context) (string, error) {
	return e.savepoint(ctx, false)
}

// StopWithSavepoint takes a savepoint and then stops the job: Execute
// returns nil. It returns the savepoint's location.
func (e *Env) StopWithSavepoint(ctx context.Context) (string, error) {
	return e.savepoint(ctx, true)
}

func (e *Env) savepoint(ctx context.Context, stop bool) (string, error) {
	e.mu.Lock()
	w := e.worker
	e.mu.Unlock()
	if w != nil {
		// Whichever worker is asked, the coordinator takes it.
		return w.TakeSavepoint(ctx, stop)
	}
	j := e.current()
	if j == nil {
		return "", errors.New("weir: no job with checkpoints is running: savepoints need Execute with Checkpoints")
	}
	return j.Savepoint(ctx, stop)
}

// taskName names a task for statistics.
func (e *Env) taskName(chain, subtask int) string {
	if chain < 0 || chain >= len(e.graph.Nodes) {
		return fmt.Sprintf("task %d/%d", chain, subtask)
	}
	if subtask < 0 {
		return e.graph.Nodes[chain].Name + " (enumerator)"
	}
	return fmt.Sprintf("%s (subtask %d)", e.graph.Nodes[chain].Name, subtask)
}
