package weir

import (
	"context"
	"errors"
	"fmt"
	"github.com/weirstream/weir/internal/checkpoint"
	"strings"
	"sync"
	"time"

	"github.com/weirstream/weir/internal/runtime"
)

// Env holds the settings and the graph of one job. Build the graph with the
// stream functions, then call Execute once. An Env is not safe for
// concurrent graph building.
type Env struct {
	cfg   config
	nodes []*node
	errs  []error // problems found while the graph was built

	mu      sync.Mutex
	metrics []*runtime.Metrics // of the running or last run

	stats   *checkpoint.Stats // checkpoints of the running or last run
	current *jobRun           // the running job, for savepoints
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
	Operator      string // the chain, e.g. "parse -> watermarks"
	Subtask       int
	RecordsIn     int64
	RecordsOut    int64
	DeadLetters   int64 // source records the reader could not decode
	Busy          time.Duration
	Idle          time.Duration
	Backpressured time.Duration
}

// Metrics returns the counters of every subtask of the running (or last)
// execution. It is safe to call while Execute runs.
func (e *Env) Metrics() []SubtaskMetrics {
	e.mu.Lock()
	ms := e.metrics
	e.mu.Unlock()
	out := make([]SubtaskMetrics, 0, len(ms))
	for _, m := range ms {
		sh := m.Shares()
		out = append(out, SubtaskMetrics{
			Operator: m.Operator, Subtask: m.Subtask,
			RecordsIn: m.RecordsIn.Load(), RecordsOut: m.RecordsOut.Load(), DeadLetters: m.DeadLetters.Load(),
			Busy: sh.Busy, Idle: sh.Idle, Backpressured: sh.Backpressured,
		})
	}
	return out
}

// Execute runs the job until its bounded sources end and every record has
// been processed, ctx is cancelled, or an operator fails. It returns nil
// when the job finished, ctx's error when it was cancelled, and otherwise
// the first operator's error, which names the operator and subtask. Every
// goroutine of the job has ended when Execute returns.
func (e *Env) Execute(ctx context.Context, name string) error {
	if err := e.cfg.validate(); err != nil {
		return err
	}
	if err := e.check(); err != nil {
		return err
	}
	if e.cfg.checkpoint == nil {
		return e.runOnce(ctx, name, nil)
	}
	return e.executeWithCheckpoints(ctx, name)
}

// runOnce runs the job once, with checkpoints when run is not nil.
func (e *Env) runOnce(ctx context.Context, name string, run *jobRun) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if run != nil {
		run.stop = cancel
	}
	tasks, err := e.plan(ctx, run)
	if err != nil {
		return fmt.Errorf("weir: job %q: %w", name, err)
	}
	err = runtime.Execute(ctx, cancel, tasks)
	if run != nil {
		run.uploads.Wait()
		if errors.Is(context.Cause(ctx), errStopped) {
			return errStopped
		}
	}
	return err
}

// check validates the graph: parallelism of every operator, and that the
// job has something to run.
func (e *Env) check() error {
	if len(e.nodes) == 0 {
		return fmt.Errorf("weir: the job has no operators: add a source with FromSource and a sink with SinkTo")
	}
	problems := append([]error(nil), e.errs...)
	named := map[string]bool{}
	for _, n := range e.nodes {
		if n.unionOf == nil {
			if named[n.name] {
				problems = append(problems, fmt.Errorf("weir: two operators are named %q: a name identifies an operator's state in checkpoints, so give each its own with weir.Name", n.name))
			}
			named[n.name] = true
		}
		if n.parallelism < 0 || n.parallelism > e.cfg.maxParallelism {
			problems = append(problems, fmt.Errorf("weir: operator %q: Parallelism %d is out of range: use a value in [1, %d] (the max parallelism)", n.name, n.parallelism, e.cfg.maxParallelism))
		}
	}
	return errors.Join(problems...)
}

// taskCtx collects what one subtask's chain registers while it is built.
type taskCtx struct {
	ctx            context.Context
	subtask        int
	parallelism    int
	maxParallelism int
	clock          *runtime.Clock
	tickers        []runtime.Ticker
	outputs        []runtime.Output
	closers        []func() error
	metrics        *runtime.Metrics
	names          []string
	env            *Env

	// With checkpoints: the job run, this task's id, the operators with
	// state, and the uploads in flight (waited for before the task counts
	// as finished).
	run           *jobRun
	head          string // the name of the chain's first operator
	taskID        checkpoint.TaskID
	stateful      []registeredState
	checkpointing *runtime.Checkpointing
	uploads       sync.WaitGroup
}

// addState registers an operator's state for checkpoints.
func (t *taskCtx) addState(uid string, op stateful) {
	if t.run != nil {
		t.stateful = append(t.stateful, registeredState{uid: uid, op: op})
	}
}

func (t *taskCtx) onTick(tk runtime.Ticker) { t.tickers = append(t.tickers, tk) }
func (t *taskCtx) onClose(f func() error)   { t.closers = append(t.closers, f) }

// builder turns the logical graph into tasks.
type builder struct {
	env *Env
	// alignGroups are the watermark alignment groups of this run.
	alignGroups map[string]*alignGroup
	par         map[*node]int
	exchanges   map[*edge]any
	notify      map[*node][]chan struct{}
}

func (e *Env) plan(ctx context.Context, run *jobRun) ([]runtime.Task, error) {
	b := &builder{env: e, par: map[*node]int{}, exchanges: map[*edge]any{}, notify: map[*node][]chan struct{}{}}
	for _, n := range e.nodes {
		p := n.parallelism
		if n.side != nil {
			p = b.parallelism(n.side)
		}
		if p == 0 {
			p = e.cfg.parallelism
		}
		b.par[n] = p
	}
	for _, n := range e.nodes {
		for _, ed := range n.inputs {
			if ed.pattern == runtime.Forward && b.par[ed.from] != b.par[n] {
				ed.pattern = runtime.Rebalance
			}
		}
	}
	opts := runtime.ExchangeOptions{
		BatchSize:      e.cfg.batchSize,
		Capacity:       e.cfg.channelCapacity,
		BufferTimeout:  e.cfg.bufferTimeout,
		MaxParallelism: e.cfg.maxParallelism,
	}
	for _, n := range e.nodes {
		if !b.isHead(n) || n.source != nil {
			continue
		}
		notify := make([]chan struct{}, b.par[n])
		for i := range notify {
			notify[i] = make(chan struct{}, 1)
		}
		b.notify[n] = notify
		for _, ed := range n.inputs {
			b.exchanges[ed] = ed.exchange(b.par[ed.from], notify, opts)
		}
	}

	var tasks []runtime.Task
	var metrics []*runtime.Metrics
	for _, n := range e.nodes {
		if !b.isHead(n) {
			continue
		}
		var enumeration *runtime.Enumeration
		if n.source != nil {
			var err error
			if enumeration, err = n.source.enumeration(ctx, b.par[n], run, n.name); err != nil {
				return nil, fmt.Errorf("source %q: %w", n.name, err)
			}
			tasks = append(tasks, runtime.Task{Name: n.name + " (enumerator)", Parallelism: 1, Run: enumeration.Run, Background: true})
		}
		for i := 0; i < b.par[n]; i++ {
			t := &taskCtx{ctx: ctx, subtask: i, parallelism: b.par[n], maxParallelism: e.cfg.maxParallelism,
				clock: runtime.NewClock(), metrics: &runtime.Metrics{Subtask: i}, env: e,
				run: run, head: n.name, taskID: checkpoint.TaskID{Chain: n.id, Subtask: i}}
			if run != nil {
				run.addTask(t.taskID, n.source != nil)
				t.checkpointing = run.checkpointing(t)
			}
			var runTask func(context.Context) error
			if n.source != nil {
				t.names = append(t.names, n.name)
				out, err := b.output(n, t)
				if err != nil {
					return nil, err
				}
				if runTask, err = n.source.task(b, t, out, enumeration); err != nil {
					return nil, fmt.Errorf("source %q: %w", n.name, err)
				}
			} else {
				head, err := b.chainIn(n, t)
				if err != nil {
					return nil, err
				}
				var inputs []any
				for _, ed := range n.inputs {
					inputs = append(inputs, ed.inputs(b.exchanges[ed], i))
				}
				runTask = n.inputTask(t, head, inputs, b.notify[n][i])
			}
			t.metrics.Operator = strings.Join(t.names, " -> ")
			t.clock.WakeAt(0) // every ticker reports its first wake-up at once
			closers := t.closers
			tasks = append(tasks, runtime.Task{Name: t.metrics.Operator, Subtask: i, Parallelism: t.parallelism,
				Run: func(ctx context.Context) (err error) {
					defer func() {
						if run != nil {
							run.taskStopped(t.taskID)
						}
						for _, c := range closers {
							if cerr := c(); err == nil && cerr != nil {
								err = cerr
							}
						}
					}()
					if err = runTask(ctx); err == nil && run != nil {
						// Done: after its acknowledgements are out, the
						// coordinator stops waiting for it.
						t.uploads.Wait()
						select {
						case run.finished <- t.taskID:
						case <-ctx.Done():
						}
					}
					return err
				}})
			metrics = append(metrics, t.metrics)
		}
	}
	if run != nil {
		run.acks = make(chan taskAck, len(run.tasks)+len(run.srcRuns))
		run.finished = make(chan checkpoint.TaskID, len(run.tasks))
		tasks = append(tasks, runtime.Task{Name: "checkpoint coordinator", Parallelism: 1, Run: run.drive, Background: true})
	}
	e.mu.Lock()
	e.metrics = metrics
	e.mu.Unlock()
	return tasks, nil
}

func (b *builder) parallelism(n *node) int {
	if n.side != nil {
		return b.parallelism(n.side)
	}
	if n.parallelism > 0 {
		return n.parallelism
	}
	return b.env.cfg.parallelism
}

// chained reports whether an edge is a plain call inside one goroutine.
func (b *builder) chained(ed *edge) bool {
	return ed.pattern == runtime.Forward && b.par[ed.from] == b.par[ed.to] && len(ed.to.inputs) == 1 && ed.to.source == nil && !ed.to.ownTask
}

// isHead reports whether n starts a chain: it runs its own subtasks.
func (b *builder) isHead(n *node) bool {
	if n.side != nil || n.unionOf != nil {
		return false
	}
	if n.source != nil {
		return true
	}
	return len(n.inputs) != 1 || !b.chained(n.inputs[0])
}

// output builds the collector that receives what n emits in subtask t.
func (b *builder) output(n *node, t *taskCtx) (any, error) {
	var outs []any
	for _, ed := range n.outputs {
		if b.chained(ed) {
			in, err := b.chainIn(ed.to, t)
			if err != nil {
				return nil, err
			}
			outs = append(outs, in)
			continue
		}
		c, parts := ed.writer(b.exchanges[ed], t.ctx, t.subtask, t.metrics)
		t.outputs = append(t.outputs, parts.output)
		t.onTick(parts.ticker)
		outs = append(outs, c)
	}
	return n.fanout(outs), nil
}

// chainIn builds n and everything chained after it in subtask t, and
// returns n's input collector.
func (b *builder) chainIn(n *node, t *taskCtx) (any, error) {
	t.names = append(t.names, n.name)
	out, err := b.output(n, t)
	if err != nil {
		return nil, err
	}
	in, err := n.build(b, t, out)
	if err != nil {
		return nil, fmt.Errorf("operator %q: %w", n.name, err)
	}
	return in, nil
}
