package weir_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

func ints(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func TestMapFilterFlatMapKeyBy(t *testing.T) {
	for _, p := range []int{1, 2, 3} {
		env := weir.NewEnv(weir.Parallelism(p))
		src := weir.FromSource(env, weirtest.FromSlice(ints(10000)...))
		sq := weir.Map(src, func(v int) int { return v * 2 })
		even := weir.Filter(sq, func(v int) bool { return v%4 == 0 })
		dup := weir.FlatMap(even, func(v int, out weir.Emitter[int]) { out.Emit(v); out.Emit(v + 1) })
		sums := weir.ProcessKeyed(weir.KeyBy(dup, func(v int) int { return v % 10 }), newRunningSum)
		got := weirtest.NewCollector[[2]int]()
		weir.SinkTo(sums, got)
		if err := env.Execute(context.Background(), "t"); err != nil {
			t.Fatal(err)
		}
		// Expected: the last running sum per key equals the total per key.
		want := map[int]int{}
		for i := 0; i < 10000; i++ {
			if v := 2 * i; v%4 == 0 {
				want[v%10] += v
				want[(v+1)%10] += v + 1
			}
		}
		last := map[int]int{}
		for _, r := range got.Records() {
			if r[1] > last[r[0]] {
				last[r[0]] = r[1]
			}
		}
		if len(got.Records()) != 10000 {
			t.Fatalf("p=%d: %d records, want 10000", p, len(got.Records()))
		}
		for k, v := range want {
			if last[k] != v {
				t.Fatalf("p=%d: key %d sum %d, want %d", p, k, last[k], v)
			}
		}
	}
}

type runningSum struct{ sum state.Value[int] }

func newRunningSum(s *state.Store[int]) weir.KeyedProcessFunction[int, int, [2]int] {
	return &runningSum{sum: state.ValueOf[int](s, "sum")}
}

func (r *runningSum) ProcessElement(ctx *weir.KeyedContext[int, [2]int], v int) error {
	n, _ := r.sum.Get()
	n += v
	r.sum.Set(n)
	ctx.Emit([2]int{ctx.Key(), n})
	return nil
}

func (r *runningSum) OnTimer(*weir.KeyedContext[int, [2]int], time.Time, weir.TimeDomain) error {
	return nil
}

func TestUnionAndSideOutput(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(2))
	a := weir.FromSource(env, weirtest.FromSlice(1, 2, 3))
	b := weir.FromSource(env, weirtest.FromSlice(10, 20), weir.Parallelism(1))
	odd := weir.NewOutputTag[string]("odd")
	evens := weir.Process(weir.Union(a, b), func(ctx *weir.Context, v int, out weir.Emitter[int]) error {
		if v%2 == 1 {
			odd.Emit(ctx, strings.Repeat("x", v))
			return nil
		}
		out.Emit(v)
		return nil
	})
	gotEven := weirtest.NewCollector[int]()
	gotOdd := weirtest.NewCollector[string]()
	weir.SinkTo(evens, gotEven)
	weir.SinkTo(weir.SideOutput(evens, odd), gotOdd, weir.Parallelism(1))
	if err := env.Execute(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	e := gotEven.Records()
	slices.Sort(e)
	if !slices.Equal(e, []int{2, 10, 20}) {
		t.Fatalf("evens = %v", e)
	}
	o := gotOdd.Records()
	slices.Sort(o)
	if !slices.Equal(o, []string{"x", "xxx"}) {
		t.Fatalf("odds = %v", o)
	}
}

func TestOperatorErrorNamesOperator(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(2))
	src := weir.FromSource(env, weirtest.FromSlice(ints(1000)...))
	m := weir.Process(src, func(ctx *weir.Context, v int, out weir.Emitter[int]) error {
		if v == 500 {
			return errors.New("boom")
		}
		out.Emit(v)
		return nil
	}, weir.Name("exploder"))
	weir.SinkTo(m, weirtest.NewCollector[int]())
	err := env.Execute(context.Background(), "t")
	if err == nil || !strings.Contains(err.Error(), `"exploder"`) || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("err = %v, want it to name exploder and say boom", err)
	}
}

func TestPanicNamesOperator(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(2))
	src := weir.FromSource(env, weirtest.FromSlice(ints(1000)...))
	keyed := weir.KeyBy(src, func(v int) int { return v })
	m := weir.ProcessKeyed(keyed, func(*state.Store[int]) weir.KeyedProcessFunction[int, int, int] { return panicky{} }, weir.Name("panicky"))
	weir.SinkTo(m, weirtest.NewCollector[int]())
	err := env.Execute(context.Background(), "t")
	if err == nil || !strings.Contains(err.Error(), `"panicky"`) || !strings.Contains(err.Error(), "panic: runtime error: index out of range") {
		t.Fatalf("err = %v, want a panic in panicky", err)
	}
	var oe *weir.OperatorError
	var pe *weir.PanicError
	if !errors.As(err, &oe) || oe.Operator != "panicky" || !errors.As(err, &pe) || len(pe.Stack) == 0 {
		t.Fatalf("err = %#v: want an OperatorError of panicky caused by a PanicError with its stack", err)
	}
}

// TestAPanicNamesTheOperatorItCameFrom: operators of one chain run on one
// goroutine, which recovers a panic; the error names the operator that
// panicked, also when an operator panics after a call to the next one has
// returned, and when a window panics while a watermark fires it.
func TestAPanicNamesTheOperatorItCameFrom(t *testing.T) {
	for _, tc := range []struct {
		name, want                              string
		secondPanics, thirdPanics, windowPanics bool
	}{
		{"the innermost operator", "third", false, true, false},
		{"after the next operator returned", "second", true, false, false},
		{"a window fired by the end of input", "counts", false, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := weir.NewEnv(weir.Parallelism(1))
			src := weir.FromSource(env, weirtest.FromSlice(ints(100)...))
			first := weir.Map(src, func(v int) int { return v }, weir.Name("first"))
			second := weir.FlatMap(first, func(v int, out weir.Emitter[int]) {
				out.Emit(v)
				if tc.secondPanics && v == 7 {
					panic("second gave up")
				}
			}, weir.Name("second"))
			third := weir.Map(second, func(v int) int {
				if tc.thirdPanics && v == 7 {
					panic("third gave up")
				}
				return v
			}, weir.Name("third"))
			stamped := weir.Watermarks(third, weir.BoundedOutOfOrderness(0, func(v int) time.Time { return time.UnixMilli(int64(v)) }))
			counts := weir.Aggregate(weir.Window(weir.KeyBy(stamped, func(v int) int { return v % 3 }), window.Tumbling(time.Second)),
				weir.AggregateFunc[int, int, int]{
					Init: func() int { return 0 },
					Add:  func(acc, _ int) int { return acc + 1 },
					Result: func(acc int) int {
						if tc.windowPanics {
							panic("counts gave up")
						}
						return acc
					},
				}, weir.Name("counts"))
			weir.SinkTo(counts, weirtest.NewCollector[int]())
			err := env.Execute(context.Background(), "panics")
			var oe *weir.OperatorError
			var pe *weir.PanicError
			if !errors.As(err, &oe) || oe.Operator != tc.want || !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want+" gave up") || len(pe.Stack) == 0 {
				t.Fatalf("err = %v; want a panic of %s, with its stack, in an OperatorError that names it", err, tc.want)
			}
		})
	}
}

type panicky struct{}

func (panicky) ProcessElement(ctx *weir.KeyedContext[int, int], v int) error {
	var s []int
	_ = s[v] // panics
	return nil
}
func (panicky) OnTimer(*weir.KeyedContext[int, int], time.Time, weir.TimeDomain) error { return nil }

func TestCancellationStopsEverything(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(2))
	src := &weirtest.SliceSource[int]{Forever: true}
	s := weir.FromSource(env, src)
	s = weir.Map(s, func(v int) int { return v })
	weir.SinkTo(weir.ProcessKeyed(weir.KeyBy(s, func(v int) int { return v }), newRunningSum), weirtest.NewCollector[[2]int]())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err := env.Execute(ctx, "t")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	// goleak in TestMain checks that no goroutine is left.
}

func TestValidationReportsEveryProblem(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(0), weir.BatchSize(0))
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(1)), weirtest.NewCollector[int]())
	err := env.Execute(context.Background(), "t")
	if err == nil || !strings.Contains(err.Error(), "Parallelism") || !strings.Contains(err.Error(), "BatchSize") {
		t.Fatalf("err = %v, want both problems", err)
	}
}

func TestOperatorNamesMustBeUnique(t *testing.T) {
	env := weir.NewEnv()
	s := weir.Map(weir.FromSource(env, weirtest.FromSlice(1, 2)), func(v int) int { return v }, weir.Name("twice"))
	weir.SinkTo(s, weirtest.NewCollector[int](), weir.Name("twice"))
	err := env.Execute(context.Background(), "names")
	if err == nil || !strings.Contains(err.Error(), `two operators are named "twice"`) {
		t.Fatalf("two operators with one name: %v", err)
	}
}

// TestARecordLentToSeveralStepsStaysAsItWas: a stream read by several
// steps lends each record to all of them in turn, so a step must not
// change what it was lent. The watermark step stamps the records it passes
// on; a step beside it, before or after it in the fan-out, still sees the
// record without a time, and a flat map's emitted records, lent one after
// the other from one place, each arrive as emitted.
func TestARecordLentToSeveralStepsStaysAsItWas(t *testing.T) {
	type seen struct {
		V       int
		Stamped bool
	}
	stamp := func(v int) time.Time { return time.UnixMilli(int64(v) * 1000) }
	record := func(s weir.Stream[int]) *weirtest.Collector[seen] {
		c := weirtest.NewCollector[seen]()
		weir.SinkTo(weir.Process(s, func(ctx *weir.Context, v int, out weir.Emitter[seen]) error {
			ts, ok := ctx.Timestamp()
			if ok && !ts.Equal(stamp(v)) {
				return fmt.Errorf("record %d has time %v, want %v", v, ts, stamp(v))
			}
			out.Emit(seen{V: v, Stamped: ok})
			return nil
		}), c)
		return c
	}
	for _, stampedFirst := range []bool{true, false} {
		env := weir.NewEnv(weir.Parallelism(1))
		src := weir.FromSource(env, weirtest.FromSlice(ints(1000)...))
		pairs := weir.FlatMap(src, func(v int, out weir.Emitter[int]) { out.Emit(2 * v); out.Emit(2*v + 1) })
		var stamped, plain *weirtest.Collector[seen]
		if stampedFirst {
			stamped = record(weir.Watermarks(pairs, weir.BoundedOutOfOrderness(0, stamp)))
			plain = record(pairs)
		} else {
			plain = record(pairs)
			stamped = record(weir.Watermarks(pairs, weir.BoundedOutOfOrderness(0, stamp)))
		}
		if err := env.Execute(context.Background(), "lent"); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name    string
			got     []seen
			stamped bool
		}{{"stamped", stamped.Records(), true}, {"plain", plain.Records(), false}} {
			if len(c.got) != 2000 {
				t.Fatalf("stamped first %v: %s step saw %d records, want 2000", stampedFirst, c.name, len(c.got))
			}
			for i, s := range c.got {
				if s.V != i || s.Stamped != c.stamped {
					t.Fatalf("stamped first %v: %s step's record %d is %+v, want %d with a time %v", stampedFirst, c.name, i, s, i, c.stamped)
				}
			}
		}
	}
}
