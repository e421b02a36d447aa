package weir

import (
	"time"

	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
)

// Context is what a ProcessFunc knows about the record it processes and
// where it may send side outputs.
type Context struct {
	time      int64
	watermark int64
	subtask   int
	sides     []sideOutput
	err       error
}

type sideOutput struct {
	tag *plan.Tag
	out any // *emitter[U] of the tag's U
}

// Timestamp returns the record's event time, and false if it has none.
func (c *Context) Timestamp() (time.Time, bool) {
	if c.time == runtime.NoTimestamp {
		return time.Time{}, false
	}
	return time.UnixMilli(c.time).UTC(), true
}

// Watermark returns the current event time of the subtask: the last
// watermark it received (the zero time before the first).
func (c *Context) Watermark() time.Time {
	if c.watermark == runtime.NoTimestamp {
		return time.Time{}
	}
	return time.UnixMilli(c.watermark).UTC()
}

// Subtask returns the index of the parallel subtask running the function.
func (c *Context) Subtask() int { return c.subtask }

// OutputTag names a side output of type T. Create it once with
// NewOutputTag, emit to it from a ProcessFunc, and get its stream with
// SideOutput.
type OutputTag[T any] struct{ id *plan.Tag }

// NewOutputTag returns a new side-output tag; name shows in plans.
func NewOutputTag[T any](name string) OutputTag[T] { return OutputTag[T]{id: &plan.Tag{Name: name}} }

// Emit sends v to the side output from inside a ProcessFunc. A side output
// that no stream consumes drops v.
func (t OutputTag[T]) Emit(ctx *Context, v T) {
	for _, s := range ctx.sides {
		if s.tag == t.id {
			e := s.out.(*emitter[T])
			e.time = ctx.time
			e.Emit(v)
			if err := e.take(); err != nil && ctx.err == nil {
				ctx.err = err
			}
			return
		}
	}
}

// ProcessFunc processes one record: it emits any number of records to out
// and to side outputs (OutputTag.Emit). A returned error fails the job.
type ProcessFunc[T, U any] func(ctx *Context, v T, out Emitter[U]) error

// Process calls fn for every record. Side outputs that fn emits are read
// with SideOutput on the returned stream.
func Process[T, U any](s Stream[T], fn ProcessFunc[T, U], opts ...OpOption) Stream[U] {
	n := newNode[U](s.env, "process", opts)
	connect(s, n, runtime.Forward, nil)
	n.Operator = operator[T, U](func(t *plan.Subtask, out runtime.Collector[U], outs plan.Outputs) (runtime.Collector[T], error) {
		p := &processOp[T, U]{fn: fn, em: emitter[U]{out: out},
			op:  opOf(t, n.Name),
			ctx: Context{subtask: t.Index, watermark: runtime.NoTimestamp}}
		for _, side := range outs.Sides {
			p.ctx.sides = append(p.ctx.sides, sideOutput{tag: side.Tag, out: side.Emitter})
			p.sideEnds = append(p.sideEnds, side.Out)
		}
		return p, nil
	})
	return Stream[U]{s.env, n}
}

// SideOutput returns the stream of records that s's ProcessFunc emitted
// to tag. It runs with s's parallelism.
func SideOutput[T, U any](s Stream[U], tag OutputTag[T], opts ...OpOption) Stream[T] {
	n := newNode[T](s.env, "side-"+tag.id.Name, opts)
	n.SideOf, n.Tag = s.n, tag.id
	return Stream[T]{s.env, n}
}

// controlSink is the part of a collector that carries control elements,
// whatever its record type.
type controlSink = plan.Collector

type processOp[T, U any] struct {
	op
	fn       ProcessFunc[T, U]
	em       emitter[U]
	ctx      Context
	sideEnds []controlSink

	_ runtime.Pad // apart from the next subtask's
}

func (p *processOp[T, U]) Collect(r *runtime.Record[T]) error {
	prev := p.enter()
	err := p.collectEntered(r)
	p.leave(prev)
	return err
}

// collectEntered is Collect, run with the operator entered (see op.enter).
func (p *processOp[T, U]) collectEntered(r *runtime.Record[T]) (err error) {
	p.ctx.time, p.em.time = r.Time, r.Time
	if err := p.fn(&p.ctx, r.Value, &p.em); err != nil {
		return p.wrap(err)
	}
	if err := p.em.take(); err != nil {
		return err
	}
	err, p.ctx.err = p.ctx.err, nil
	return err
}

func (p *processOp[T, U]) Watermark(wm int64) error {
	if wm != runtime.Idle {
		p.ctx.watermark = wm
	}
	for _, s := range p.sideEnds {
		if err := s.Watermark(wm); err != nil {
			return err
		}
	}
	return p.em.out.Watermark(wm)
}

func (p *processOp[T, U]) End() error {
	for _, s := range p.sideEnds {
		if err := s.End(); err != nil {
			return err
		}
	}
	return p.em.out.End()
}
