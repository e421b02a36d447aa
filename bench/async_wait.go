package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/weirtest"
)

// TargetAsyncWait is the least throughput of AsyncWait, in either mode, as
// a share of the bound that Little's law sets: Capacity calls in flight,
// each taking Latency, give at most Capacity/Latency records per second
// per subtask.
const TargetAsyncWait = 0.90

// Defaults of AsyncWaitConfig.
const (
	DefaultAsyncWaitRecords  = 20_000
	DefaultAsyncWaitCapacity = 100
	DefaultAsyncWaitLatency  = 10 * time.Millisecond
)

// AsyncWaitConfig configures AsyncWaitBench. Zero values take the
// documented defaults.
type AsyncWaitConfig struct {
	// Records is the number of records each run sends through AsyncWait.
	// Default DefaultAsyncWaitRecords (20,000: two seconds at the bound).
	Records int
	// Capacity is AsyncOptions.Capacity. Default DefaultAsyncWaitCapacity (100).
	Capacity int
	// Latency is how long each call takes: a timer, no network. Default
	// DefaultAsyncWaitLatency (10ms).
	Latency time.Duration
	// Runs is how many times each mode runs; the best throughput counts.
	// Default 1.
	Runs int
}

func (c AsyncWaitConfig) withDefaults() AsyncWaitConfig {
	if c.Records == 0 {
		c.Records = DefaultAsyncWaitRecords
	}
	if c.Capacity == 0 {
		c.Capacity = DefaultAsyncWaitCapacity
	}
	if c.Latency == 0 {
		c.Latency = DefaultAsyncWaitLatency
	}
	if c.Runs == 0 {
		c.Runs = 1
	}
	return c
}

// Validate reports every bad field, each naming the field and the fix.
func (c AsyncWaitConfig) Validate() error {
	var errs []error
	if c.Records < 0 {
		errs = append(errs, fmt.Errorf("bench: AsyncWaitConfig.Records %d is negative: use 0 for the default (%d) or a positive count", c.Records, DefaultAsyncWaitRecords))
	}
	if c.Capacity < 0 {
		errs = append(errs, fmt.Errorf("bench: AsyncWaitConfig.Capacity %d is negative: use 0 for the default (%d) or a positive count", c.Capacity, DefaultAsyncWaitCapacity))
	}
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("bench: AsyncWaitConfig.Latency %v is negative: use 0 for the default (%v) or a positive duration", c.Latency, DefaultAsyncWaitLatency))
	}
	if c.Runs < 0 {
		errs = append(errs, fmt.Errorf("bench: AsyncWaitConfig.Runs %d is negative: use 0 or 1 for one run, or more to keep the best", c.Runs))
	}
	return errors.Join(errs...)
}

// AsyncWaitRun is the best run of one mode.
type AsyncWaitRun struct {
	Mode      string // "ordered" or "unordered"
	Records   int64  // results that reached the sink
	Duration  time.Duration
	PerSecond float64
	// Ratio is PerSecond over the bound (AsyncWaitReport.Bound).
	Ratio float64
	// CallTime is the mean time a call took: Latency plus the timer's
	// lateness, which the machine's load sets, not weir.
	CallTime time.Duration
	// EngineRatio is PerSecond over the bound the calls as measured allow
	// (Capacity / CallTime): what weir itself loses.
	EngineRatio float64
	// InOrder reports whether the results reached the sink in input order
	// (required in ordered mode, not expected in unordered mode).
	InOrder bool
	Met     bool // Ratio ≥ TargetAsyncWait, every result arrived, and ordered mode kept the order
}

// AsyncWaitReport is the outcome of AsyncWaitBench.
type AsyncWaitReport struct {
	Config    AsyncWaitConfig // with defaults applied
	Bound     float64         // Capacity / Latency, in records per second
	Ordered   AsyncWaitRun
	Unordered AsyncWaitRun
}

// Met reports whether both modes met the target.
func (r AsyncWaitReport) Met() bool { return r.Ordered.Met && r.Unordered.Met }

// Print writes the report as a table.
func (r AsyncWaitReport) Print(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "AsyncWait: %s records, parallelism 1, capacity %d, every call takes %v\n", count(int64(c.Records)), c.Capacity, c.Latency)
	fmt.Fprintf(w, "bound (Little's law): capacity / latency = %s records/s\n\n", count(int64(r.Bound)))
	fmt.Fprintf(w, "%-10s %12s %10s %8s %9s   %-12s %-4s %12s %13s\n", "mode", "records/s", "time", "ratio", "in order", "target", "met", "mean call", "engine ratio")
	for _, run := range []AsyncWaitRun{r.Ordered, r.Unordered} {
		fmt.Fprintf(w, "%-10s %12s %10v %8.3f %9s   %-12s %-4s %12v %13.3f\n", run.Mode, count(int64(run.PerSecond)), run.Duration.Round(time.Millisecond),
			run.Ratio, yesNo(run.InOrder), fmt.Sprintf(">= %.2f", TargetAsyncWait), yesNo(run.Met), run.CallTime.Round(time.Microsecond), run.EngineRatio)
	}
	fmt.Fprintln(w, "(ratio: records/s over the bound; engine ratio: over capacity / mean call, which leaves out the timers' lateness)")
}

// AsyncWaitBench runs a job of cfg.Records records through AsyncWait at
// parallelism 1, whose call waits cfg.Latency, once ordered and once
// unordered (each cfg.Runs times), and compares each mode's throughput
// with the bound capacity/latency. It returns an error if a job fails or
// loses results, or ctx's error if it is cancelled.
func AsyncWaitBench(ctx context.Context, cfg AsyncWaitConfig) (AsyncWaitReport, error) {
	if err := cfg.Validate(); err != nil {
		return AsyncWaitReport{}, err
	}
	cfg = cfg.withDefaults()
	rep := AsyncWaitReport{Config: cfg, Bound: float64(cfg.Capacity) / cfg.Latency.Seconds()}
	for _, unordered := range []bool{false, true} {
		best := AsyncWaitRun{Mode: "ordered"}
		if unordered {
			best.Mode = "unordered"
		}
		for range cfg.Runs {
			run, err := asyncWaitRun(ctx, cfg, unordered)
			if err != nil {
				return rep, fmt.Errorf("bench: AsyncWait %s: %w", best.Mode, err)
			}
			if run.PerSecond > best.PerSecond {
				run.Mode = best.Mode
				best = run
			}
		}
		best.Ratio = best.PerSecond / rep.Bound
		best.Met = best.Ratio >= TargetAsyncWait && best.Records == int64(cfg.Records) && (unordered || best.InOrder)
		if unordered {
			rep.Unordered = best
		} else {
			rep.Ordered = best
		}
	}
	return rep, nil
}

func asyncWaitRun(ctx context.Context, cfg AsyncWaitConfig, unordered bool) (AsyncWaitRun, error) {
	input := make([]int64, cfg.Records)
	for i := range input {
		input[i] = int64(i)
	}
	env := weir.NewEnv(weir.Parallelism(1))
	src := weir.FromSource(env, weirtest.FromSlice(input...), weir.Name("numbers"))
	var callNanos atomic.Int64
	res := weir.AsyncWait(src, func(ctx context.Context, v int64) (int64, error) {
		start := time.Now()
		t := time.NewTimer(cfg.Latency)
		defer t.Stop()
		select {
		case <-t.C:
			callNanos.Add(int64(time.Since(start)))
			return v, nil
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}, weir.AsyncOptions[int64, int64]{Unordered: unordered, Capacity: cfg.Capacity}, weir.Name("call"))
	out := &orderSink{}
	weir.SinkTo(res, out, weir.Name("count"))
	start := time.Now()
	if err := env.Execute(ctx, "async-wait-bench"); err != nil {
		return AsyncWaitRun{}, err
	}
	d := time.Since(start)
	if out.n != int64(cfg.Records) {
		return AsyncWaitRun{}, fmt.Errorf("%d results for %d records", out.n, cfg.Records)
	}
	run := AsyncWaitRun{Records: out.n, Duration: d, PerSecond: float64(out.n) / d.Seconds(), InOrder: !out.disordered,
		CallTime: time.Duration(callNanos.Load() / max(out.n, 1))}
	run.EngineRatio = run.PerSecond / (float64(cfg.Capacity) / run.CallTime.Seconds())
	return run, nil
}

// orderSink counts results and notes whether they arrive in input order.
// It runs at parallelism 1: one writer, read after Execute returns.
type orderSink struct {
	n          int64
	last       int64
	disordered bool
}

func (s *orderSink) NewWriter(sink.WriterContext) (sink.Writer[int64], error) {
	s.last = -1
	return s, nil
}

func (s *orderSink) Write(_ context.Context, v int64) error {
	if v < s.last {
		s.disordered = true
	}
	s.last = v
	s.n++
	return nil
}

func (s *orderSink) Flush(context.Context) error { return nil }
func (s *orderSink) Close() error                { return nil }
