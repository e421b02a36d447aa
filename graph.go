package weir

import (
	"strings"

	"github.com/weirstream/weir/internal/plan"
)

// JobGraph describes a job's dataflow as it runs: every operator, the
// chained ones included, and the edges between them. Pages draw it (the
// job UI's graph); it holds no records and no state.
type JobGraph struct {
	// Operators are in the order they were added to the job.
	Operators []GraphOperator `json:"operators"`
	// Edges are grouped by the operator they end in, in input order.
	Edges []GraphEdge `json:"edges"`
}

// GraphOperator is one operator of a JobGraph.
type GraphOperator struct {
	// ID numbers the operator in its job: the order it was added in.
	ID int `json:"id"`
	// Name is the operator's name: unique in the job.
	Name string `json:"name"`
	// UID identifies its state in checkpoints.
	UID string `json:"uid"`
	// Kind is what the operator is: "source", "map", "window", ...
	Kind string `json:"kind"`
	// Parallelism is how many subtasks it runs with.
	Parallelism int `json:"parallelism"`
	// Chain names the chain of operators the operator runs in, as
	// SubtaskMetrics.Operator names it ("parse -> watermarks"): the
	// operators of one chain are plain calls in one goroutine per
	// subtask, and share its counters.
	Chain string `json:"chain"`
	// Head says the operator starts its chain: its records in are the
	// chain's.
	Head bool `json:"head,omitempty"`
	// Source says the operator reads a source.
	Source bool `json:"source,omitempty"`
}

// GraphEdge is one edge of a JobGraph: the records of From flow to To.
type GraphEdge struct {
	From int `json:"from"` // the operator ID of the sender
	To   int `json:"to"`   // and of the receiver
	// Partitioning is how From's subtasks send to To's: FORWARD,
	// REBALANCE, HASH or BROADCAST; SIDE for a side output, which its
	// producer emits to within its own subtask.
	Partitioning string `json:"partitioning"`
	// Chained says the edge is a plain call inside one task: it has no
	// channels, so neither buffers nor backpressure.
	Chained bool `json:"chained,omitempty"`
}

// Graph returns the job's graph as the current (or last) execution runs
// it, and the zero JobGraph before Execute. It is safe to call while
// Execute runs.
func (e *Env) Graph() JobGraph {
	if g := e.graphView.Load(); g != nil {
		return *g
	}
	return JobGraph{}
}

// Plan returns the graph Execute would run, without running anything: it
// validates the job's options and operators as Execute does and returns
// their error, if any, and otherwise the operators with the parallelism,
// chains and UIDs they would run with (Flink's execution plan). It opens
// no state backend, checkpoint storage or connection. Call it once the
// job is complete, not while Execute runs; operators added after it get
// their UIDs as if it had not been called.
func (e *Env) Plan() (JobGraph, error) {
	var auto []*plan.Node
	for _, n := range e.graph.Nodes {
		if n.UID == "" {
			auto = append(auto, n)
		}
	}
	// Execute assigns UIDs in one pass over the whole graph; one assigned
	// now would clash with that of an identical operator added later.
	defer func() {
		for _, n := range auto {
			n.UID = ""
		}
	}()
	p, err := e.resolve()
	if err != nil {
		return JobGraph{}, err
	}
	return describe(p), nil
}

// resolve validates the job and resolves its plan, as Execute runs it.
func (e *Env) resolve() (*plan.Plan, error) {
	if err := e.cfg.validate(); err != nil {
		return nil, err
	}
	plan.AssignUIDs(&e.graph)
	if err := e.check(); err != nil {
		return nil, err
	}
	return plan.Resolve(&e.graph, e.cfg.parallelism), nil
}

// setGraph keeps the description of p for Graph; Execute calls it once the
// plan is resolved.
func (e *Env) setGraph(p *plan.Plan) {
	g := describe(p)
	e.graphView.Store(&g)
}

// describe builds the JobGraph of p. Unions are left out: they never run,
// and their inputs connect straight to their consumer.
func describe(p *plan.Plan) JobGraph {
	chain := map[*plan.Node]string{}
	head := map[*plan.Node]bool{}
	for _, c := range p.Chains() {
		names := make([]string, len(c.Nodes))
		for i, n := range c.Nodes {
			names[i] = n.Name
		}
		name := strings.Join(names, " -> ")
		for _, n := range c.Nodes {
			chain[n] = name
		}
		head[c.Head] = true
	}
	g := JobGraph{Operators: []GraphOperator{}, Edges: []GraphEdge{}}
	for _, n := range p.Graph.Nodes {
		if n.UnionOf != nil {
			continue
		}
		if n.SideOf != nil {
			// A side output runs in its producer's chain.
			root := n.SideOf
			for root.SideOf != nil {
				root = root.SideOf
			}
			chain[n] = chain[root]
		}
		g.Operators = append(g.Operators, GraphOperator{ID: n.ID, Name: n.Name, UID: n.UID, Kind: n.Kind,
			Parallelism: p.Parallelism(n), Chain: chain[n], Head: head[n], Source: n.Source != nil})
		if n.SideOf != nil {
			g.Edges = append(g.Edges, GraphEdge{From: n.SideOf.ID, To: n.ID, Partitioning: "SIDE", Chained: true})
		}
		for _, in := range n.Inputs {
			g.Edges = append(g.Edges, GraphEdge{From: in.From.ID, To: n.ID, Partitioning: p.Pattern(in).String(), Chained: p.Chained(in)})
		}
	}
	return g
}

// ChannelFill is how full the channels of one edge are: the batches that
// wait in them (in this process), and how many they hold at most. A full
// edge is one whose receiver does not keep up.
type ChannelFill struct {
	From     int `json:"from"` // the operator ID of the sender
	To       int `json:"to"`   // and of the receiver
	Queued   int `json:"queued"`
	Capacity int `json:"capacity"`
}

// Channels returns the fill of the channels of every edge that is not
// chained, of the running (or last) run; nil before Execute. It is safe
// to call while Execute runs, and cheap: it reads the channels' lengths.
func (e *Env) Channels() []ChannelFill {
	p := e.channels.Load()
	if p == nil {
		return nil
	}
	out := make([]ChannelFill, 0, len(*p))
	for _, x := range *p {
		q, c := x.ex.Fill()
		out = append(out, ChannelFill{From: x.from, To: x.to, Queued: q, Capacity: c})
	}
	return out
}

// edgeExchange is the exchange of one edge, for Channels.
type edgeExchange struct {
	from, to int
	ex       interface{ Fill() (queued, capacity int) }
}

// setChannels keeps the exchanges of a run for Channels, in the order of
// the graph's edges.
func (e *Env) setChannels(exs map[*plan.Edge]plan.Exchange) {
	var out []edgeExchange
	for _, n := range e.graph.Nodes {
		for _, in := range n.Inputs {
			if ex, ok := exs[in].(interface{ Fill() (int, int) }); ok {
				out = append(out, edgeExchange{from: in.From.ID, to: n.ID, ex: ex})
			}
		}
	}
	e.channels.Store(&out)
}

// Fill reports the fill of the exchange's channels (ChannelFill).
func (e exchange[T]) Fill() (queued, capacity int) { return e.ex.Fill() }
