package weir

import (
	"reflect"

	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
)

// Two-input operators read one stream of tagged records: each input is
// wrapped into a coRecord (by an operator chained behind its producer, so
// it costs no hop), the two tagged streams are a union, and the operator
// dispatches on the tag. Everything that holds for a union holds for the
// two inputs: the operator's watermark is the minimum of the inputs' (an
// idle input does not hold it back), barriers align across both, and the
// records in flight that an unaligned checkpoint keeps carry their tag, so
// a restore gives each back to its own input. The cost is the tag's copy
// of each record into the wider coRecord; one-input operators pay nothing.

// coRecord is a record of a two-input operator: a record of its first
// input (In1) or, when Two is set, of its second (In2). Its fields are
// exported so that the codec can keep it in checkpoints.
type coRecord[A, B any] struct {
	Two bool `cbor:"1,keyasint,omitempty"`
	In1 A    `cbor:"2,keyasint,omitempty"`
	In2 B    `cbor:"3,keyasint,omitempty"`
}

// ConnectedStreams are two streams, possibly of different types, that one
// two-input operator reads (ProcessCo, ConnectBroadcast). Make them with
// Connect.
type ConnectedStreams[A, B any] struct {
	s Stream[coRecord[A, B]]
}

// Connect connects a and b for an operator that reads both, with one
// method per input. Records of each input keep their order; between the
// inputs they interleave. The operator's watermark is the smaller of the
// inputs' watermarks; an idle input does not hold it back.
func Connect[A, B any](a Stream[A], b Stream[B]) ConnectedStreams[A, B] {
	return ConnectedStreams[A, B]{connectTagged(a, b)}
}

// connectTagged tags the records of a and b with their input and returns
// the union of the tagged streams.
func connectTagged[A, B any](a Stream[A], b Stream[B]) Stream[coRecord[A, B]] {
	ta := tagInput(a, "input1", func(v A) coRecord[A, B] { return coRecord[A, B]{In1: v} })
	tb := tagInput(b, "input2", func(v B) coRecord[A, B] { return coRecord[A, B]{Two: true, In2: v} })
	return Union(ta, tb)
}

// tagInput wraps every record of s with wrap. The operator runs with the
// parallelism of s's producer, so that it chains behind it.
func tagInput[T, U any](s Stream[T], kind string, wrap func(T) U) Stream[U] {
	n := s.env.graph.Add(&plan.Node{Kind: kind, Parallelism: requestedParallelism(s.n), Out: records[U]{},
		Signature: "out=" + reflect.TypeFor[U]().String()})
	connect(s, n, runtime.Forward, nil)
	n.Operator = operator[T, U](func(t *plan.Subtask, out runtime.Collector[U], _ plan.Outputs) (runtime.Collector[T], error) {
		return &tagOp[T, U]{wrap: wrap, out: out, op: opOf(t, n.Name)}, nil
	})
	return Stream[U]{s.env, n}
}

// requestedParallelism returns the parallelism the user asked of the
// operator that produces n's records (0: the job's default). A union's
// inputs may differ; its tag then runs with the default.
func requestedParallelism(n *plan.Node) int {
	for n.SideOf != nil {
		n = n.SideOf
	}
	return n.Parallelism
}

type tagOp[T, U any] struct {
	op
	wrap func(T) U
	out  runtime.Collector[U]
	rec  runtime.Record[U] // lent to out

	_ runtime.Pad // apart from the next subtask's
}

func (m *tagOp[T, U]) Collect(r *runtime.Record[T]) error {
	m.rec = runtime.Record[U]{Value: m.wrap(r.Value), Time: r.Time}
	return m.out.Collect(&m.rec)
}
func (m *tagOp[T, U]) Watermark(wm int64) error { return m.out.Watermark(wm) }
func (m *tagOp[T, U]) End() error               { return m.out.End() }

// CoProcessFunction processes the records of two connected streams, one
// method per input. Both methods are called from one goroutine per
// subtask, never at once.
type CoProcessFunction[A, B, U any] interface {
	// ProcessElement1 is called for every record of the first input.
	ProcessElement1(ctx *Context, v A, out Emitter[U]) error
	// ProcessElement2 is called for every record of the second input.
	ProcessElement2(ctx *Context, v B, out Emitter[U]) error
}

// ProcessCo calls fn for every record of both connected streams. The
// inputs are not keyed: each subtask of the operator reads the records
// that the inputs' subtasks of the same index send it (rebalanced when
// the parallelism differs). Use ProcessKeyedCo for keyed state and timers.
func ProcessCo[A, B, U any](c ConnectedStreams[A, B], fn CoProcessFunction[A, B, U], opts ...OpOption) Stream[U] {
	return Process(c.s, func(ctx *Context, v coRecord[A, B], out Emitter[U]) error {
		if v.Two {
			return fn.ProcessElement2(ctx, v.In2, out)
		}
		return fn.ProcessElement1(ctx, v.In1, out)
	}, append([]OpOption{kindOption("process-co")}, opts...)...)
}
