package plan

import "github.com/weirstream/weir/internal/runtime"

// Plan is a graph resolved for a run: every operator's parallelism, every
// edge's partitioning, which operators chain, and the side-output index.
// It is pure data; Build makes the tasks.
type Plan struct {
	Graph   *Graph
	par     map[*Node]int
	pattern map[*Edge]runtime.Pattern
	sides   map[*Node][]*Node // producer -> its side-output nodes, in graph order
}

// Resolve resolves g with the job's default parallelism.
func Resolve(g *Graph, defaultParallelism int) *Plan {
	p := &Plan{Graph: g, par: map[*Node]int{}, pattern: map[*Edge]runtime.Pattern{}, sides: map[*Node][]*Node{}}
	for _, n := range g.Nodes {
		p.par[n] = parallelism(n, defaultParallelism)
		if n.SideOf != nil {
			p.sides[n.SideOf] = append(p.sides[n.SideOf], n)
		}
	}
	for _, n := range g.Nodes {
		for _, e := range n.Inputs {
			pat := e.Pattern
			if pat == runtime.Forward && p.par[e.From] != p.par[n] {
				pat = runtime.Rebalance
			}
			p.pattern[e] = pat
		}
	}
	return p
}

// parallelism returns n's parallelism: a side output's is its producer's.
func parallelism(n *Node, def int) int {
	for n.SideOf != nil {
		n = n.SideOf
	}
	if n.Parallelism > 0 {
		return n.Parallelism
	}
	return def
}

// Parallelism returns n's parallelism.
func (p *Plan) Parallelism(n *Node) int { return p.par[n] }

// Pattern returns how e partitions its records.
func (p *Plan) Pattern(e *Edge) runtime.Pattern { return p.pattern[e] }

// Sides returns the side outputs of n that the job has.
func (p *Plan) Sides(n *Node) []*Node { return p.sides[n] }

// Chained reports whether e is a plain call inside one task: a forward
// edge of equal parallelism into an operator with one input that does not
// ask for a task of its own.
func (p *Plan) Chained(e *Edge) bool {
	to := e.To
	return p.pattern[e] == runtime.Forward && p.par[e.From] == p.par[to] && len(to.Inputs) == 1 && to.Source == nil && !to.OwnTask
}

// IsHead reports whether n starts a chain: it runs subtasks of its own.
func (p *Plan) IsHead(n *Node) bool {
	if n.SideOf != nil || n.UnionOf != nil {
		return false
	}
	if n.Source != nil {
		return true
	}
	return len(n.Inputs) != 1 || !p.Chained(n.Inputs[0])
}

// Chain is the operators that run in one task, first to last (side
// outputs and what is chained behind them included), and its parallelism.
type Chain struct {
	Head        *Node
	Nodes       []*Node
	Parallelism int
}

// Chains returns the job's chains, in the order of their heads.
func (p *Plan) Chains() []Chain {
	var out []Chain
	for _, n := range p.Graph.Nodes {
		if !p.IsHead(n) {
			continue
		}
		c := Chain{Head: n, Parallelism: p.par[n]}
		p.walkChain(n, func(m *Node) { c.Nodes = append(c.Nodes, m) })
		out = append(out, c)
	}
	return out
}

// walkChain calls visit for n and every node chained behind it, its side
// outputs' consumers last, in the order Build names them.
func (p *Plan) walkChain(n *Node, visit func(*Node)) {
	visit(n)
	p.walkOutputs(n, visit)
	for _, s := range p.sides[n] {
		p.walkOutputs(s, visit)
	}
}

func (p *Plan) walkOutputs(n *Node, visit func(*Node)) {
	for _, e := range n.Outputs {
		if p.Chained(e) {
			p.walkChain(e.To, visit)
		}
	}
}
