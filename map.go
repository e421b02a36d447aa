package weir

import (
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
)

// oneToOne adds an operator with one input that keeps the upstream's
// partitioning (it chains when parallelism allows).
func oneToOne[In, Out any](s Stream[In], kind string, opts []OpOption, build func(t *plan.Subtask, name string, out runtime.Collector[Out]) runtime.Collector[In]) Stream[Out] {
	n := newNode[Out](s.env, kind, opts)
	connect(s, n, runtime.Forward, nil)
	n.Operator = operator[In, Out](func(t *plan.Subtask, out runtime.Collector[Out], _ plan.Outputs) (runtime.Collector[In], error) {
		return build(t, n.Name, out), nil
	})
	return Stream[Out]{s.env, n}
}

// Map applies fn to every record.
func Map[T, U any](s Stream[T], fn func(T) U, opts ...OpOption) Stream[U] {
	return oneToOne(s, "map", opts, func(t *plan.Subtask, name string, out runtime.Collector[U]) runtime.Collector[T] {
		return &mapOp[T, U]{fn: fn, out: out, op: opOf(t, name)}
	})
}

// op identifies an operator instance in errors.
type op struct {
	name         string
	subtask, par int
	running      *runtime.Running // its task's; see enter
}

// opOf identifies the operator name in subtask t, whose Running it enters.
func opOf(t *plan.Subtask, name string) op {
	return op{name: name, subtask: t.Index, par: t.Parallelism, running: t.Running}
}

func (o op) wrap(err error) error { return runtime.Wrap(err, o.name, o.subtask, o.par) }

// OperatorName names the operator in errors (runtime.Named).
func (o *op) OperatorName() (string, int, int) { return o.name, o.subtask, o.par }

// enter marks o as its task's running operator, which a panic names, until
// leave(prev) with what enter returned: an operator that calls user code
// enters on every call and leaves on every normal return.
func (o *op) enter() (prev runtime.Named) { return o.running.Enter(o) }

func (o *op) leave(prev runtime.Named) { o.running.Leave(prev) }

type mapOp[T, U any] struct {
	op
	fn  func(T) U
	out runtime.Collector[U]
	rec runtime.Record[U] // lent to out

	_ runtime.Pad // apart from the next subtask's
}

func (m *mapOp[T, U]) Collect(r *runtime.Record[T]) error {
	prev := m.enter()
	m.rec = runtime.Record[U]{Value: m.fn(r.Value), Time: r.Time}
	err := m.out.Collect(&m.rec)
	m.leave(prev)
	return err
}
func (m *mapOp[T, U]) Watermark(wm int64) error { return m.out.Watermark(wm) }
func (m *mapOp[T, U]) End() error               { return m.out.End() }

// Filter keeps the records for which keep returns true.
func Filter[T any](s Stream[T], keep func(T) bool, opts ...OpOption) Stream[T] {
	return oneToOne(s, "filter", opts, func(t *plan.Subtask, name string, out runtime.Collector[T]) runtime.Collector[T] {
		return &filterOp[T]{keep: keep, out: out, op: opOf(t, name)}
	})
}

type filterOp[T any] struct {
	op
	keep func(T) bool
	out  runtime.Collector[T]
}

func (f *filterOp[T]) Collect(r *runtime.Record[T]) error {
	prev := f.enter()
	var err error
	if f.keep(r.Value) {
		err = f.out.Collect(r)
	}
	f.leave(prev)
	return err
}
func (f *filterOp[T]) Watermark(wm int64) error { return f.out.Watermark(wm) }
func (f *filterOp[T]) End() error               { return f.out.End() }

// Emitter receives the records a function emits. Emit never blocks for
// long and never fails: downstream errors end the job after the function
// returns.
type Emitter[T any] interface {
	Emit(v T)
}

// emitter emits with the timestamp of the record being processed.
type emitter[T any] struct {
	out  runtime.Collector[T]
	time int64
	err  error
	rec  runtime.Record[T] // lent to out
}

func (e *emitter[T]) Emit(v T) {
	if e.err == nil {
		e.rec = runtime.Record[T]{Value: v, Time: e.time}
		e.err = e.out.Collect(&e.rec)
	}
}

func (e *emitter[T]) take() error {
	err := e.err
	e.err = nil
	return err
}

// FlatMap calls fn for every record; fn emits zero or more records.
func FlatMap[T, U any](s Stream[T], fn func(v T, out Emitter[U]), opts ...OpOption) Stream[U] {
	return oneToOne(s, "flatmap", opts, func(t *plan.Subtask, name string, out runtime.Collector[U]) runtime.Collector[T] {
		return &flatMapOp[T, U]{fn: fn, em: emitter[U]{out: out}, op: opOf(t, name)}
	})
}

type flatMapOp[T, U any] struct {
	op
	fn func(T, Emitter[U])
	em emitter[U]

	_ runtime.Pad // apart from the next subtask's
}

func (f *flatMapOp[T, U]) Collect(r *runtime.Record[T]) error {
	prev := f.enter()
	f.em.time = r.Time
	f.fn(r.Value, &f.em)
	f.leave(prev)
	return f.em.take()
}
func (f *flatMapOp[T, U]) Watermark(wm int64) error { return f.em.out.Watermark(wm) }
func (f *flatMapOp[T, U]) End() error               { return f.em.out.End() }
