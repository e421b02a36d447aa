package plan

import (
	"context"
	"errors"
	"fmt"

	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/runtime"
)

// Graph is a job's logical graph: its operators in the order they were
// added, and the edges between them. It is built on one goroutine, then
// only read.
type Graph struct {
	Nodes []*Node
}

// Node is one operator of the graph. What it is depends on which of
// Operator, Source, SideOf and UnionOf is set (exactly one).
type Node struct {
	ID   int
	Kind string // "map", "window", ...: names the operator in defaults
	// Name names the operator in errors, metrics and plans: unique in its
	// graph. Named says the user gave it (weir.Name) rather than the
	// default of its kind and number.
	Name  string
	Named bool
	// UID identifies the operator's state in checkpoints (weir.UID); see
	// AssignUIDs for the default.
	UID string
	// Signature describes the node's types (records in and out, the
	// source's type): what its default UID hashes besides its place.
	Signature string
	// Parallelism is the requested parallelism; 0 means the job's default.
	// A side output runs with its producer's.
	Parallelism int
	Inputs      []*Edge
	Outputs     []*Edge
	// OwnTask makes the node start a chain of its own: it is never chained
	// behind its input (AsyncWait, whose task must drain finished calls).
	OwnTask bool

	// Out is the type of the records the node emits; In, of those it reads
	// (nodes with inputs only).
	Out, In Records

	// Operator builds an operator with inputs.
	Operator Operator
	// Source builds a source.
	Source Source
	// SideOf is the operator whose side output Tag this node is.
	SideOf *Node
	Tag    *Tag
	// UnionOf lists the inputs of a union; the node itself never runs.
	UnionOf []*Node

	// Publish publishes what the node, a sink with a committer,
	// pre-committed at the end of its input (job.Spec.Publish); nil
	// otherwise.
	Publish func(ctx context.Context, committables [][]byte) error
}

// Tag names a side output.
type Tag struct{ Name string }

// Edge connects two nodes.
type Edge struct {
	From, To *Node
	// Pattern is the partitioning asked for; Resolve turns a forward edge
	// between operators of different parallelism into a rebalancing one.
	Pattern runtime.Pattern
	Channel Channel
}

// Add adds n to the graph, numbering it and naming it after its kind and
// number unless it has a name.
func (g *Graph) Add(n *Node) *Node {
	n.ID = len(g.Nodes)
	if n.Name == "" {
		n.Name = fmt.Sprintf("%s-%d", n.Kind, n.ID)
	}
	g.Nodes = append(g.Nodes, n)
	return n
}

// Connect adds an edge from each of from's records' producers (from
// itself, or the inputs of a union) to to.
func Connect(from, to *Node, pattern runtime.Pattern, ch Channel) {
	for _, src := range from.Producers() {
		e := &Edge{From: src, To: to, Pattern: pattern, Channel: ch}
		src.Outputs = append(src.Outputs, e)
		to.Inputs = append(to.Inputs, e)
	}
}

// Producers returns the nodes whose records a stream from n carries: n
// itself, or the inputs of a union.
func (n *Node) Producers() []*Node {
	if n.UnionOf != nil {
		return n.UnionOf
	}
	return []*Node{n}
}

// Check reports every problem of the graph: no operators, two with one
// name, a parallelism out of range.
func (g *Graph) Check(maxParallelism int) error {
	if len(g.Nodes) == 0 {
		return errors.New("weir: the job has no operators: add a source with FromSource and a sink with SinkTo")
	}
	var problems []error
	named := map[string]bool{}
	uids := map[string]string{}  // uid -> name
	files := map[string]string{} // file name of a uid's state -> uid
	for _, n := range g.Nodes {
		if n.UnionOf == nil {
			if named[n.Name] {
				problems = append(problems, fmt.Errorf("weir: two operators are named %q: give each its own name with weir.Name", n.Name))
			}
			named[n.Name] = true
		}
		if n.UnionOf == nil && n.UID != "" {
			if other := uids[n.UID]; other != "" {
				problems = append(problems, fmt.Errorf("weir: operators %q and %q have one UID %q: a UID identifies an operator's state in checkpoints, so give each its own with weir.UID", other, n.Name, n.UID))
			}
			uids[n.UID] = n.Name
			if other, ok := files[job.FileSafe(n.UID)]; ok && other != n.UID {
				problems = append(problems, fmt.Errorf("weir: UIDs %q and %q name one state file: a UID's letters, digits, - and _ name its files, so make them differ in those", other, n.UID))
			}
			files[job.FileSafe(n.UID)] = n.UID
		}
		if n.Parallelism < 0 || n.Parallelism > maxParallelism {
			problems = append(problems, fmt.Errorf("weir: operator %q: Parallelism %d is out of range: use a value in [1, %d] (the max parallelism)", n.Name, n.Parallelism, maxParallelism))
		}
	}
	return errors.Join(problems...)
}
