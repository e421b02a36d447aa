package plan

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/runtime"
)

// Settings are the job-wide settings the planner applies.
type Settings struct {
	MaxParallelism int
	Exchange       runtime.ExchangeOptions
	// Network runs the job across processes; nil runs all of it here.
	Network Network
	// Logger is the job's logger, with the job's name; every subtask logs
	// through it with its operator and subtask added. nil means
	// slog.Default().
	Logger *slog.Logger
	// LatencyInterval is how often every source subtask emits a latency
	// marker (runtime.LatencyMarker); 0 emits none.
	LatencyInterval time.Duration
	// Unobserved turns latency markers, pprof labels and state access
	// timing off (weir.Observe).
	Unobserved bool
}

// Built is what Build makes: the tasks of a run, and the counters of every
// subtask of every chain.
type Built struct {
	Tasks   []runtime.Task
	Metrics []*runtime.Metrics
	// Exchanges are the exchanges of the edges that are not chained.
	Exchanges map[*Edge]Exchange
}

// builder builds the tasks of one run.
type builder struct {
	p         *Plan
	s         Settings
	run       *job.Run // nil without checkpoints
	exchanges map[*Edge]Exchange
	notify    map[*Node][]chan struct{} // per head that reads inputs, per subtask
	align     *runtime.AlignGroups
	// closers close what the tasks built so far opened, should the build
	// fail: the tasks close it themselves once they run.
	closers []func() error
}

// Build makes the tasks of one run of p, registering them with run (nil
// without checkpoints). A restarted run is built afresh. When it fails, it
// closes what the tasks built so far had opened.
func (p *Plan) Build(ctx context.Context, s Settings, run *job.Run) (_ Built, err error) {
	b := &builder{p: p, s: s, run: run, exchanges: map[*Edge]Exchange{}, notify: map[*Node][]chan struct{}{},
		align: runtime.NewAlignGroups()}
	defer func() {
		if err != nil {
			for _, c := range b.closers {
				c()
			}
		}
	}()
	b.connect()
	var out Built
	for _, n := range p.Graph.Nodes {
		if !p.IsHead(n) {
			continue
		}
		var en *runtime.Enumeration
		if n.Source != nil {
			if en, err = b.sourceEnumeration(ctx, n, &out); err != nil {
				return Built{}, err
			}
		}
		for i := range p.Parallelism(n) {
			if !b.here(i, p.Parallelism(n)) {
				if b.run != nil && b.coordinator() {
					b.run.AddRemoteTask(checkpoint.TaskID{Chain: n.ID, Subtask: i}, p.Parallelism(n), n.Source != nil)
				}
				continue
			}
			task, m, err := b.subtask(ctx, n, i, en)
			if err != nil {
				return Built{}, err
			}
			out.Tasks = append(out.Tasks, task)
			out.Metrics = append(out.Metrics, m)
		}
	}
	if err := b.link(ctx, &out); err != nil {
		return Built{}, err
	}
	out.Exchanges = b.exchanges
	return out, nil
}

// here reports whether subtask i of a chain of parallelism p runs in this
// process.
func (b *builder) here(i, p int) bool { return b.s.Network == nil || b.s.Network.Here(i, p) }

// coordinator reports whether this process runs the enumerators and the
// checkpoint driver.
func (b *builder) coordinator() bool { return b.s.Network == nil || b.s.Network.Coordinator() }

// link connects the exchange channels that cross processes: a task per
// channel whose sender runs here, a destination for each whose receiver
// does.
func (b *builder) link(ctx context.Context, out *Built) error {
	if b.s.Network == nil {
		return nil
	}
	for _, n := range b.p.Graph.Nodes {
		for k, e := range n.Inputs {
			ex, ok := b.exchanges[e]
			if !ok {
				continue // chained: no exchange
			}
			senders, receivers := b.p.Parallelism(e.From), b.p.Parallelism(n)
			for s := range senders {
				for r := range receivers {
					if b.p.Pattern(e) == runtime.Forward && s != r {
						continue
					}
					sHere, rHere := b.here(s, senders), b.here(r, receivers)
					if sHere == rHere {
						continue // in this process, or in none of its business
					}
					task, err := b.s.Network.Link(ctx, e, k, ex, s, r)
					if err != nil {
						return fmt.Errorf("connect %q to %q: %w", e.From.Name, n.Name, err)
					}
					if task != nil {
						out.Tasks = append(out.Tasks, runtime.Task{Name: fmt.Sprintf("%s -> %s (network %d:%d)", e.From.Name, n.Name, s, r),
							Subtask: s, Parallelism: senders, Run: task})
					}
				}
			}
		}
	}
	return nil
}

// connect makes the exchange of every edge into a chain's head, with one
// wake-up channel per receiving subtask that all its exchanges share.
func (b *builder) connect() {
	for _, n := range b.p.Graph.Nodes {
		if !b.p.IsHead(n) || n.Source != nil {
			continue
		}
		notify := make([]chan struct{}, b.p.Parallelism(n))
		for i := range notify {
			notify[i] = make(chan struct{}, 1)
		}
		b.notify[n] = notify
		for _, e := range n.Inputs {
			b.exchanges[e] = e.Channel.NewExchange(b.p.Pattern(e), b.p.Parallelism(e.From), notify, b.s.Exchange)
		}
	}
}

// sourceEnumeration adds the task of source n's enumerator.
func (b *builder) sourceEnumeration(ctx context.Context, n *Node, out *Built) (*runtime.Enumeration, error) {
	en, err := b.enumeration(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", n.Name, err)
	}
	if b.coordinator() {
		b.closers = append(b.closers, en.Close)
		out.Tasks = append(out.Tasks, runtime.Task{Name: n.Name + " (enumerator)", Parallelism: 1, Run: en.Run, Background: true})
	}
	return en, nil
}

// subtask builds subtask i of the chain that starts at head.
func (b *builder) subtask(ctx context.Context, head *Node, i int, en *runtime.Enumeration) (runtime.Task, *runtime.Metrics, error) {
	par := b.p.Parallelism(head)
	t := &Subtask{Ctx: ctx, Index: i, Parallelism: par, MaxParallelism: b.s.MaxParallelism, Attempt: b.run.Attempt(),
		Running: &runtime.Running{}, Clock: runtime.NewClock(), Metrics: &runtime.Metrics{Subtask: i, Unobserved: b.s.Unobserved}, b: b, head: head}
	// Built once per subtask, before its operators, which may log while
	// they are built (a restore) or run.
	log := b.s.Logger
	if log == nil {
		log = slog.Default()
	}
	t.Logger = log.With("operator", strings.Join(b.chainNames(head, nil), " -> "), "subtask", i)
	if b.run != nil {
		t.Restore = b.run.Restorer()
		t.task = b.run.AddTask(checkpoint.TaskID{Chain: head.ID, Subtask: i}, par, head.UID, head.Source != nil)
		t.task.ReportStateBytes(&t.Metrics.StateBytes)
	}
	var loop func(context.Context) error
	var err error
	if head.Source != nil {
		loop, err = b.reader(head, t, en)
	} else {
		loop, err = b.inputLoop(head, t)
	}
	b.closers = append(b.closers, t.closers...)
	if err != nil {
		return runtime.Task{}, nil, err
	}
	t.Metrics.Operator = strings.Join(t.names, " -> ")
	t.Clock.WakeAt(0) // every ticker reports its first wake-up at once
	task, closers := t.task, t.closers
	run := func(ctx context.Context) (err error) {
		defer func() {
			if task != nil {
				task.Stopped()
			}
			for _, c := range closers {
				if cerr := c(); err == nil && cerr != nil {
					err = cerr
				}
			}
		}()
		if err = loop(ctx); err == nil && task != nil {
			err = task.Finished(ctx)
		}
		return err
	}
	return runtime.Task{Name: t.Metrics.Operator, Subtask: i, Parallelism: par, Run: run, Logger: t.Logger,
		NoProfileLabels: b.s.Unobserved, Running: t.Running}, t.Metrics, nil
}

// chainNames appends the names of n and of the operators chained after it
// to names, in the order chainIn builds them.
func (b *builder) chainNames(n *Node, names []string) []string {
	names = append(names, n.Name)
	outs := n.Outputs
	for _, s := range b.p.Sides(n) {
		outs = append(outs[:len(outs):len(outs)], s.Outputs...)
	}
	for _, e := range outs {
		if b.p.Chained(e) {
			names = b.chainNames(e.To, names)
		}
	}
	return names
}

// reader builds the reader of source n in subtask t and what it emits to.
func (b *builder) reader(n *Node, t *Subtask, en *runtime.Enumeration) (func(context.Context) error, error) {
	t.names = append(t.names, n.Name)
	outs, err := b.outputs(n, t)
	if err != nil {
		return nil, err
	}
	if b.s.LatencyInterval > 0 && !b.s.Unobserved {
		t.OnTick(runtime.NewLatencyEmitter(t.Outputs(), b.s.LatencyInterval, n.ID, t.Index))
	}
	r, loop, err := n.Source.NewReader(t, outs, en)
	if err != nil {
		return nil, fmt.Errorf("source %q: %w", n.Name, err)
	}
	b.closers = append(b.closers, r.Close)
	if t.task != nil {
		splits, err := n.Source.Splits()
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", n.Name, err)
		}
		done, err := encodeSplits(splits, nil)
		if err != nil {
			return nil, fmt.Errorf("source %q: %w", n.Name, err)
		}
		t.task.AddReaderState(n.UID, &readerState{reader: r, splits: splits}, done)
	}
	return loop, nil
}

// inputLoop builds the chain that starts at head in subtask t, and the
// loop that feeds it from head's inputs.
func (b *builder) inputLoop(head *Node, t *Subtask) (func(context.Context) error, error) {
	t.Notify = b.notify[head][t.Index]
	in, err := b.chainIn(head, t)
	if err != nil {
		return nil, err
	}
	inputs := make([]Inputs, len(head.Inputs))
	for k, e := range head.Inputs {
		inputs[k] = b.exchanges[e].Inputs(t.Index)
	}
	return head.In.InputTask(t, in, inputs, t.Notify), nil
}

// outputs builds what n emits to in subtask t: the operators chained
// after it, and writers into the exchanges of the others; then its side
// outputs the same way.
func (b *builder) outputs(n *Node, t *Subtask) (Outputs, error) {
	main, err := b.output(n, t)
	if err != nil {
		return Outputs{}, err
	}
	outs := Outputs{Main: main}
	for _, s := range b.p.Sides(n) {
		c, err := b.output(s, t)
		if err != nil {
			return Outputs{}, err
		}
		outs.Sides = append(outs.Sides, Side{Tag: s.Tag, Out: c, Emitter: s.Out.Emitter(c)})
	}
	return outs, nil
}

// output builds the collector of n's consumers in subtask t.
func (b *builder) output(n *Node, t *Subtask) (Collector, error) {
	var outs []Collector
	for _, e := range n.Outputs {
		if b.p.Chained(e) {
			in, err := b.chainIn(e.To, t)
			if err != nil {
				return nil, err
			}
			outs = append(outs, in)
			continue
		}
		c, w := b.exchanges[e].Writer(t.Ctx, t.Index, t.Metrics, t.Running)
		t.outputs = append(t.outputs, w)
		t.OnTick(w)
		outs = append(outs, c)
	}
	return n.Out.Fanout(outs), nil
}

// chainIn builds n and everything chained after it in subtask t, and
// returns n's input collector.
func (b *builder) chainIn(n *Node, t *Subtask) (Collector, error) {
	t.names = append(t.names, n.Name)
	outs, err := b.outputs(n, t)
	if err != nil {
		return nil, err
	}
	in, err := n.Operator.Build(t, outs)
	if err != nil {
		return nil, fmt.Errorf("operator %q: %w", n.Name, err)
	}
	return in, nil
}
