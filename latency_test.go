package weir_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
)

// paced is a source of n records, one every: it lives long enough to emit
// latency markers.
func paced(n int, every time.Duration) *weirtest.SliceSource[int] {
	s := weirtest.FromSlice(ints(n)...)
	s.BatchSize, s.Delay = 1, every
	return s
}

// sleepy is a sink that sleeps d per record.
func sleepy(d time.Duration) sink.Func[int] {
	return func(ctx context.Context, _ int) error {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		return nil
	}
}

// metricsOf returns the metrics of the subtasks whose chain has the
// operator named op.
func metricsOf(env *weir.Env, op string) []weir.SubtaskMetrics {
	var out []weir.SubtaskMetrics
	for _, m := range env.Metrics() {
		if slices.Contains(strings.Split(m.Operator, " -> "), op) {
			out = append(out, m)
		}
	}
	return out
}

// TestLatencyAtSlowSink: records wait in the channel into a sink that
// sleeps 20ms per record, and the markers wait behind them: the sink's
// latency is at least those 20ms. Markers are no records: the sink counts
// exactly the records the source sent, and the source records no latency.
func TestLatencyAtSlowSink(t *testing.T) {
	const n, sleep = 30, 20 * time.Millisecond
	env := weir.NewEnv(weir.LatencyTrackingInterval(5*time.Millisecond), weir.BatchSize(1), weir.ChannelCapacity(2))
	src := weir.FromSource(env, paced(n, 2*time.Millisecond), weir.Name("source"))
	weir.SinkTo(weir.Rebalance(src), sleepy(sleep), weir.Name("sink"), weir.Parallelism(1))
	if err := env.Execute(t.Context(), "latency"); err != nil {
		t.Fatal(err)
	}
	sinks := metricsOf(env, "sink")
	if len(sinks) != 1 {
		t.Fatalf("%d sink subtasks, want 1: %+v", len(sinks), env.Metrics())
	}
	l := sinks[0].Latency
	if l.Samples == 0 {
		t.Fatal("no latency marker reached the sink")
	}
	// A quantile is the middle of its bucket: within 1/16 of the truth.
	if l.P50 < sleep-sleep/16 || l.P99 < l.P50 {
		t.Fatalf("sink latency p50 %v p99 %v over %d markers, want p50 at least the sink's %v per record", l.P50, l.P99, l.Samples, sleep)
	}
	if sinks[0].RecordsIn != n {
		t.Fatalf("the sink counted %d records in, want %d: markers are no records", sinks[0].RecordsIn, n)
	}
	for _, m := range metricsOf(env, "source") {
		if m.Latency.Samples != 0 || m.RecordsOut != n {
			t.Fatalf("source: %d latency samples and %d records out, want 0 and %d", m.Latency.Samples, m.RecordsOut, n)
		}
	}
}

// TestLatencyMarkersCrossEveryPartitioning: markers reach the subtasks
// behind a forward, rebalance, hash and broadcast exchange, also while
// unaligned checkpoints run; and LatencyTrackingInterval(0) sends none.
func TestLatencyMarkersCrossEveryPartitioning(t *testing.T) {
	const n = 40
	for _, c := range []struct {
		name      string
		interval  time.Duration
		unaligned bool
		build     func(env *weir.Env) // a job whose last chain starts with "to"
	}{
		{name: "forward", build: func(env *weir.Env) {
			a := weir.FromSource(env, paced(n, time.Millisecond), weir.Name("a"))
			b := weir.FromSource(env, paced(n, time.Millisecond), weir.Name("b"))
			// Two inputs: the forward edges are exchanges, not chained calls.
			weir.SinkTo(weir.Union(a, b), sleepy(0), weir.Name("to"))
		}},
		{name: "rebalance", build: func(env *weir.Env) {
			s := weir.FromSource(env, paced(n, time.Millisecond), weir.Name("source"), weir.Parallelism(1))
			weir.SinkTo(weir.Rebalance(s, weir.Parallelism(2)), sleepy(0), weir.Name("to"), weir.Parallelism(2))
		}},
		{name: "hash", build: func(env *weir.Env) {
			s := weir.FromSource(env, paced(n, time.Millisecond), weir.Name("source"), weir.Parallelism(1))
			sums := weir.ProcessKeyed(weir.KeyBy(s, func(v int) int { return v % 7 }),
				func(*state.Store[int]) weir.KeyedProcessFunction[int, int, placed] { return wherePlaced{} },
				weir.Name("to"), weir.Parallelism(2))
			weir.SinkTo(sums, weirtest.NewCollector[placed](), weir.Name("sink"), weir.Parallelism(2))
		}},
		{name: "broadcast", build: func(env *weir.Env) {
			s := weir.FromSource(env, paced(n, time.Millisecond), weir.Name("source"), weir.Parallelism(1))
			weir.SinkTo(weir.Broadcast(s, weir.Parallelism(2)), sleepy(0), weir.Name("to"), weir.Parallelism(2))
		}},
		{name: "rebalance, unaligned checkpoints", unaligned: true, build: func(env *weir.Env) {
			s := weir.FromSource(env, paced(n, time.Millisecond), weir.Name("source"), weir.Parallelism(1))
			weir.SinkTo(weir.Rebalance(s, weir.Parallelism(2)), sleepy(3*time.Millisecond), weir.Name("to"), weir.Parallelism(2))
		}},
		{name: "off", interval: -1, build: func(env *weir.Env) {
			s := weir.FromSource(env, paced(n, time.Millisecond), weir.Name("source"), weir.Parallelism(1))
			weir.SinkTo(weir.Rebalance(s, weir.Parallelism(2)), sleepy(0), weir.Name("to"), weir.Parallelism(2))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			interval := 2 * time.Millisecond
			if c.interval < 0 {
				interval = 0
			}
			opts := []weir.EnvOption{weir.LatencyTrackingInterval(interval), weir.BatchSize(4)}
			if c.unaligned {
				opts = append(opts, weir.Checkpoints(10*time.Millisecond, t.TempDir()), weir.UnalignedCheckpoints())
			}
			env := weir.NewEnv(opts...)
			c.build(env)
			if err := env.Execute(t.Context(), "markers"); err != nil {
				t.Fatal(err)
			}
			var samples, in int64
			for _, m := range metricsOf(env, "to") {
				samples += m.Latency.Samples
				in += m.RecordsIn
			}
			switch {
			case c.interval < 0 && samples != 0:
				t.Fatalf("latency tracking off: %d markers arrived", samples)
			case c.interval >= 0 && samples == 0:
				t.Fatalf("no latency marker crossed the exchange: %+v", env.Metrics())
			}
			want := int64(n)
			switch c.name {
			case "forward", "broadcast":
				want = 2 * n
			}
			if in != want {
				t.Fatalf("the subtasks behind the exchange counted %d records in, want %d", in, want)
			}
		})
	}
}

// TestStateAccessMetrics: a keyed function's state accesses are timed and
// counted, per backend and kind of access; a subtask without keyed state
// shows none; the size of the keyed state in the last checkpoint is shown.
func TestStateAccessMetrics(t *testing.T) {
	for _, backend := range []string{"heap", "pebble"} {
		t.Run(backend, func(t *testing.T) {
			const n = 300
			env := weir.NewEnv(weir.StateBackend(backend, t.TempDir()), weir.Checkpoints(10*time.Millisecond, t.TempDir()))
			s := weir.FromSource(env, paced(n, time.Millisecond), weir.Name("source"))
			sums := weir.ProcessKeyed(weir.KeyBy(s, func(v int) int { return v % 10 }),
				func(st *state.Store[int]) weir.KeyedProcessFunction[int, int, int] { return newCounter(st) },
				weir.Name("count"))
			weir.SinkTo(sums, weirtest.NewCollector[int](), weir.Name("sink"))
			if err := env.Execute(t.Context(), "state access"); err != nil {
				t.Fatal(err)
			}
			ops := map[string]weir.StateAccessStats{}
			for _, m := range metricsOf(env, "count") {
				for _, a := range m.StateAccess {
					if a.Backend != backend {
						t.Fatalf("state access of backend %q, want %q", a.Backend, backend)
					}
					ops[a.Op] = a
				}
			}
			for _, op := range []string{"get", "put"} {
				a, ok := ops[op]
				if !ok || a.Count < n-64 || a.Count > n || a.P99 <= 0 || a.P50 > a.P99 {
					t.Fatalf("%s: %+v, want about %d accesses with quantiles", op, a, n)
				}
			}
			for _, m := range metricsOf(env, "count") {
				if m.StateBytes <= 0 {
					t.Fatalf("count: StateBytes %d, want the size of its keyed state in the last checkpoint", m.StateBytes)
				}
			}
			for _, m := range metricsOf(env, "source") {
				if m.StateAccess != nil {
					t.Fatalf("the source shows state access %+v, want none", m.StateAccess)
				}
			}
		})
	}
}

// counter counts records per key in a value state.
type counter struct{ n state.Value[int] }

func newCounter(st *state.Store[int]) *counter { return &counter{n: state.ValueOf[int](st, "n")} }

func (c *counter) ProcessElement(ctx *weir.KeyedContext[int, int], v int) error {
	n, _ := c.n.Get()
	c.n.Set(n + 1)
	ctx.Emit(n + 1)
	return nil
}

func (c *counter) OnTimer(*weir.KeyedContext[int, int], time.Time, weir.TimeDomain) error { return nil }

// TestObserveOff: Observe(false) sends no latency markers and times no
// state access, whatever LatencyTrackingInterval says; the counters stay.
func TestObserveOff(t *testing.T) {
	env := weir.NewEnv(weir.Observe(false), weir.LatencyTrackingInterval(time.Millisecond))
	s := weir.FromSource(env, paced(50, time.Millisecond), weir.Name("source"))
	sums := weir.ProcessKeyed(weir.KeyBy(s, func(v int) int { return v % 10 }),
		func(st *state.Store[int]) weir.KeyedProcessFunction[int, int, int] { return newCounter(st) },
		weir.Name("count"))
	weir.SinkTo(sums, weirtest.NewCollector[int](), weir.Name("sink"))
	if err := env.Execute(t.Context(), "unobserved"); err != nil {
		t.Fatal(err)
	}
	for _, m := range env.Metrics() {
		if m.Latency.Samples != 0 || m.StateAccess != nil {
			t.Fatalf("%s: latency %+v, state access %+v; want none when unobserved", m.Operator, m.Latency, m.StateAccess)
		}
	}
	if in := metricsOf(env, "count")[0].RecordsIn; in != 50 {
		t.Fatalf("count: RecordsIn %d, want 50", in)
	}
}
