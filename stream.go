package weir

import (
	"reflect"

	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
)

// Stream is a typed stream of records of type T: the output of a source or
// an operator. It is a handle into the job graph of its Env; a stream may
// feed any number of operators, and each gets every record.
type Stream[T any] struct {
	env *Env
	n   *plan.Node
}

// Env returns the environment the stream belongs to.
func (s Stream[T]) Env() *Env { return s.env }

// Name returns the name of the operator that produces the stream.
func (s Stream[T]) Name() string { return s.n.Name }

// newNode adds an operator that emits records of type Out to env's graph.
func newNode[Out any](env *Env, kind string, opts []OpOption) *plan.Node {
	var oc opConfig
	for _, o := range opts {
		o.applyOp(&oc)
	}
	if oc.kind != "" {
		kind = oc.kind
	}
	return env.graph.Add(&plan.Node{Kind: kind, Name: oc.name, Named: oc.name != "", UID: oc.uid, Parallelism: oc.parallelism,
		Out: records[Out]{}, Signature: "out=" + reflect.TypeFor[Out]().String()})
}

// connect makes n read s with pattern; hash keys the records of a Hash
// edge.
func connect[T any](s Stream[T], n *plan.Node, pattern runtime.Pattern, hash func(T) uint64) {
	plan.Connect(s.n, n, pattern, channel[T]{hash: hash})
	if n.In == nil {
		n.In = records[T]{}
		n.Signature += " in=" + reflect.TypeFor[T]().String()
	}
}

// Union merges streams of one type into one. Records keep their order per
// input; between inputs they interleave. The watermark is the minimum of
// the inputs'. A union is not an operator: whatever consumes it reads from
// every input directly, so it costs no extra hop.
func Union[T any](first Stream[T], more ...Stream[T]) Stream[T] {
	n := newNode[T](first.env, "union", nil)
	for _, s := range append([]Stream[T]{first}, more...) {
		n.UnionOf = append(n.UnionOf, s.n.Producers()...)
	}
	return Stream[T]{first.env, n}
}

// Rebalance spreads the records of s round-robin over the subtasks of the
// next operator: for skewed or unevenly split inputs.
func Rebalance[T any](s Stream[T], opts ...OpOption) Stream[T] {
	return repartition(s, "rebalance", runtime.Rebalance, opts)
}

// Broadcast sends every record of s to every subtask of the next operator.
func Broadcast[T any](s Stream[T], opts ...OpOption) Stream[T] {
	return repartition(s, "broadcast", runtime.Broadcast, opts)
}

// repartition adds a pass-through operator whose input edge uses pattern;
// it chains with whatever follows it.
func repartition[T any](s Stream[T], kind string, pattern runtime.Pattern, opts []OpOption) Stream[T] {
	n := newNode[T](s.env, kind, opts)
	connect(s, n, pattern, nil)
	n.Operator = operator[T, T](func(_ *plan.Subtask, out runtime.Collector[T], _ plan.Outputs) (runtime.Collector[T], error) {
		return out, nil
	})
	return Stream[T]{s.env, n}
}
