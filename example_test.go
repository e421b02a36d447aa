package weir_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

// A bounded job: words in, counts out. Execute returns when the input ends.
func ExampleEnv_Execute() {
	env := weir.NewEnv(weir.Parallelism(2))
	lines := weir.FromSource(env, weirtest.FromSlice("to be or", "not to be"))
	words := weir.FlatMap(lines, func(line string, out weir.Emitter[string]) {
		for _, w := range strings.Fields(line) {
			out.Emit(w)
		}
	})
	counts := weir.ProcessKeyed(weir.KeyBy(words, func(w string) string { return w }), newWordCount)
	got := weirtest.NewCollector[string]()
	weir.SinkTo(counts, got)
	if err := env.Execute(context.Background(), "word count"); err != nil {
		fmt.Println(err)
		return
	}
	final := got.Records()
	slices.Sort(final)
	fmt.Println(strings.Join(final, " "))
	// Output: be=1 be=2 not=1 or=1 to=1 to=2
}

type wordCount struct{ n state.Value[int] }

func newWordCount(s *state.Store[string]) weir.KeyedProcessFunction[string, string, string] {
	return &wordCount{n: state.ValueOf[int](s, "count")}
}

func (c *wordCount) ProcessElement(ctx *weir.KeyedContext[string, string], w string) error {
	n, _ := c.n.Get()
	c.n.Set(n + 1)
	ctx.Emit(fmt.Sprintf("%s=%d", w, n+1))
	return nil
}

func (c *wordCount) OnTimer(*weir.KeyedContext[string, string], time.Time, weir.TimeDomain) error {
	return nil
}

// Page views per page and minute of event time, with a watermark that
// allows records to be up to 5 seconds out of order.
func ExampleAggregate() {
	type view struct {
		Page string
		At   time.Time
	}
	t0 := time.Date(2026, 11, 24, 7, 40, 0, 0, time.UTC)
	env := weir.NewEnv()
	views := weir.FromSource(env, weirtest.FromSlice(
		view{"/a", t0.Add(10 * time.Second)},
		view{"/a", t0.Add(70 * time.Second)},
		view{"/a", t0.Add(20 * time.Second)}, // out of order, still in the first minute
		view{"/b", t0.Add(30 * time.Second)},
	))
	views = weir.Watermarks(views, weir.BoundedOutOfOrderness(5*time.Second, func(v view) time.Time { return v.At }))
	perPage := weir.Window(weir.KeyBy(views, func(v view) string { return v.Page }), window.Tumbling(time.Minute))
	counts := weir.AggregateWindow(perPage, weir.AggregateFunc[view, int, int]{
		Init:   func() int { return 0 },
		Add:    func(n int, _ view) int { return n + 1 },
		Result: func(n int) int { return n },
	}, func(page string, w window.Window, n int, out weir.Emitter[string]) error {
		out.Emit(fmt.Sprintf("%s %s %d", w.StartTime().Format("15:04"), page, n))
		return nil
	})
	got := weirtest.NewCollector[string]()
	weir.SinkTo(counts, got)
	if err := env.Execute(context.Background(), "page views"); err != nil {
		fmt.Println(err)
		return
	}
	res := got.Records()
	slices.Sort(res)
	fmt.Println(strings.Join(res, "\n"))
	// Output:
	// 07:40 /a 2
	// 07:40 /b 1
	// 07:41 /a 1
}

// Bad records leave through a side output instead of failing the job.
func ExampleSideOutput() {
	env := weir.NewEnv()
	bad := weir.NewOutputTag[string]("bad")
	numbers := weir.Process(weir.FromSource(env, weirtest.FromSlice("1", "two", "3")),
		func(ctx *weir.Context, s string, out weir.Emitter[int]) error {
			var n int
			if _, err := fmt.Sscan(s, &n); err != nil {
				bad.Emit(ctx, s)
				return nil
			}
			out.Emit(n)
			return nil
		})
	good, rejected := weirtest.NewCollector[int](), weirtest.NewCollector[string]()
	weir.SinkTo(numbers, good)
	weir.SinkTo(weir.SideOutput(numbers, bad), rejected)
	if err := env.Execute(context.Background(), "parse"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(good.Records(), rejected.Records())
	// Output: [1 3] [two]
}
