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

// order and payment are the inputs of the ProcessKeyedCo example.
type order struct{ ID string }

type payment struct{ Order string }

// Ten seconds of event time after an order, it is reported paid if a
// payment with its id came, unpaid otherwise. Both inputs share the
// order's state; the order's timer fires on the smaller of their
// watermarks, so a payment still on its way is not missed.
func ExampleProcessKeyedCo() {
	env := weir.NewEnv()
	orders := weir.FromSource(env, weirtest.FromTimed(
		weirtest.Timed[order]{Value: order{"o1"}, Time: time.Unix(0, 0)},
		weirtest.Timed[order]{Value: order{"o2"}, Time: time.Unix(1, 0)}))
	payments := weir.FromSource(env, weirtest.FromTimed(
		weirtest.Timed[payment]{Value: payment{"o1"}, Time: time.Unix(4, 0)}))
	byID := weir.KeyBy(orders, func(o order) string { return o.ID })
	byOrder := weir.KeyBy(payments, func(p payment) string { return p.Order })
	status := weir.ProcessKeyedCo(byID, byOrder, func(s *state.Store[string]) weir.KeyedCoProcessFunction[string, order, payment, string] {
		return &paidOrNot{paid: state.ValueOf[bool](s, "paid")}
	})
	got := weirtest.NewCollector[string]()
	weir.SinkTo(status, got)
	if err := env.Execute(context.Background(), "payments"); err != nil {
		fmt.Println(err)
		return
	}
	r := got.Records()
	slices.Sort(r)
	fmt.Println(strings.Join(r, ", "))
	// Output: o1 paid, o2 unpaid
}

// paidOrNot remembers whether an order's payment came, whichever input
// delivered first, and decides when the order's timer fires.
type paidOrNot struct{ paid state.Value[bool] }

func (p *paidOrNot) ProcessElement1(ctx *weir.KeyedContext[string, string], _ order) error {
	ts, _ := ctx.Timestamp()
	ctx.RegisterEventTimer(ts.Add(10 * time.Second))
	return nil
}

func (p *paidOrNot) ProcessElement2(*weir.KeyedContext[string, string], payment) error {
	p.paid.Set(true)
	return nil
}

func (p *paidOrNot) OnTimer(ctx *weir.KeyedContext[string, string], _ time.Time, _ weir.TimeDomain) error {
	if paid, _ := p.paid.Get(); paid {
		ctx.Emit(ctx.Key() + " paid")
	} else {
		ctx.Emit(ctx.Key() + " unpaid")
	}
	p.paid.Clear()
	return nil
}

// Each click joins the impressions of its ad from up to five seconds
// before it: an interval join on event time.
func ExampleIntervalJoin() {
	type ad struct{ Ad, Page string }
	env := weir.NewEnv()
	impressions := weir.FromSource(env, weirtest.FromTimed(
		weirtest.Timed[ad]{Value: ad{"ad1", "home"}, Time: time.Unix(10, 0)},
		weirtest.Timed[ad]{Value: ad{"ad1", "news"}, Time: time.Unix(20, 0)}))
	clicks := weir.FromSource(env, weirtest.FromTimed(
		weirtest.Timed[string]{Value: "ad1", Time: time.Unix(13, 0)},
		weirtest.Timed[string]{Value: "ad1", Time: time.Unix(30, 0)}))
	joined := weir.IntervalJoin(impressions, clicks,
		func(a ad) string { return a.Ad }, func(c string) string { return c },
		0, 5*time.Second, // a click from 0 to 5 seconds after the impression
		func(a ad, _ string) string { return a.Ad + " clicked on " + a.Page })
	got := weirtest.NewCollector[string]()
	weir.SinkTo(joined, got)
	if err := env.Execute(context.Background(), "clicks"); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(got.Records())
	// Output: [ad1 clicked on home]
}
