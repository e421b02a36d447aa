package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/weirstream/weir"
	appnexmark "github.com/weirstream/weir/app/nexmark"
	"github.com/weirstream/weir/bench"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/internal/progress"
)

// weir bench nexmark: the Nexmark queries against Flink's published
// throughput per core.

const benchNexmarkAbout = `Runs Nexmark queries one after another in this process, each over
--events events of the in-process generator (seed 1, 10,000 events per
second of event time, as nexmark/nexmark's default), into a sink that drops
the rows, with a checkpoint every --checkpoint-interval into a temporary
directory. For each query it prints:

  events/s        events over the wall time of the run
  cpu s           CPU seconds this process used during the run (getrusage)
  events/core-s   events per CPU second: the events/s one core would manage
  flink/core-s    Flink 1.13's published events/s per core for the query
                  (nexmark/nexmark's V1 guide; Flink does not run q6)
  ratio           events/core-s over Flink's (target: at least 3x)

The figures include generating the events, as Flink's include its
generator source.`

// flinkPerCore is Flink 1.13's throughput per core for each query, in
// events per second, from nexmark/nexmark's V1 benchmark guide (100
// million events per query). Flink does not run q6.
var flinkPerCore = map[string]float64{
	"q0": 155.02e3, "q1": 157.94e3, "q2": 175.21e3, "q3": 152.12e3, "q4": 34.33e3,
	"q5": 22.14e3, "q7": 12.33e3, "q8": 146.14e3, "q9": 14.24e3, "q10": 57.81e3,
	"q11": 39.7e3, "q12": 75.67e3, "q13": 130.73e3, "q14": 161.23e3, "q15": 72.42e3,
	"q16": 18.65e3, "q17": 116.8e3, "q18": 53.7e3, "q19": 44.04e3, "q20": 18.98e3,
	"q21": 98.49e3, "q22": 129.96e3,
}

// nexmarkTarget is the ratio to Flink's figure each query should reach.
const nexmarkTarget = 3.0

func runBenchNexmark(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir bench nexmark", "weir bench nexmark [--query qN,...] [--events N] [--parallelism P]", benchNexmarkAbout,
		"Exit status: 0 when every run completed (targets missed included), 1 when\none failed, 2 on a usage error.")
	queryList := f.string("query", "", "qN,...", "the queries to run, separated by commas (default: all, q0 to q22)")
	events := f.int64("events", 10_000_000, "events per query")
	par := f.int64("parallelism", 1, "parallel subtasks of every step")
	interval := f.duration("checkpoint-interval", 10*time.Second, "the interval of checkpoints during each run")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	queries := appnexmark.Queries()
	if *queryList != "" {
		var picked []appnexmark.Query
		for _, name := range strings.Split(*queryList, ",") {
			name = strings.TrimSpace(name)
			q, ok := appnexmark.Lookup(name)
			if !ok {
				f.problem("query", "%q is not a Nexmark query; write names from q0 to q22 separated by commas, as in --query q0,q5", name)
				continue
			}
			if !slices.ContainsFunc(picked, func(p appnexmark.Query) bool { return p.Name == name }) {
				picked = append(picked, q)
			}
		}
		queries = picked
	}
	if *events < 1 && !hasProblem(f, "events") {
		f.problem("events", "%d is not a positive number of events; write e.g. 10000000", *events)
	}
	f.checkParallelism(*par)
	if *interval <= 0 {
		f.problem("checkpoint-interval", "%v is not positive; write an interval such as 10s", *interval)
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	dir, err := os.MkdirTemp("", "weir-bench-nexmark-")
	if err != nil {
		fmt.Fprintf(stderr, "weir bench nexmark: a directory for checkpoints: %v; set TMPDIR to a writable directory\n", err)
		return exitFail
	}
	defer os.RemoveAll(dir)

	fmt.Fprintf(stderr, "weir bench nexmark: %s events per query at parallelism %d, a checkpoint every %v, on %d CPUs\n",
		progress.Count(*events), *par, *interval, runtime.NumCPU())
	fmt.Fprintf(stdout, "%-5s %12s %9s %14s %13s %8s\n", "query", "events/s", "cpu s", "events/core-s", "flink/core-s", "ratio")
	missed := 0
	for _, q := range queries {
		r, err := benchNexmarkQuery(ctx, q, *events, int(*par), *interval, dir)
		if err != nil {
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				fmt.Fprintln(stderr, "weir bench nexmark: stopped")
				return exitOK
			}
			fmt.Fprintf(stderr, "weir bench nexmark: %s: %v\n", q.Name, err)
			return exitFail
		}
		perCore := float64(*events) / r.cpu.Seconds()
		flink, ok := flinkPerCore[q.Name]
		flinkCol, ratioCol := "-", "-"
		if ok {
			ratio := perCore / flink
			flinkCol, ratioCol = fmt.Sprintf("%.2fK", flink/1e3), fmt.Sprintf("%.2fx", ratio)
			if ratio < nexmarkTarget {
				missed++
			}
		}
		fmt.Fprintf(stdout, "%-5s %12.0f %9.2f %14.0f %13s %8s\n", q.Name, float64(*events)/r.wall.Seconds(), r.cpu.Seconds(), perCore, flinkCol, ratioCol)
	}
	if missed > 0 {
		fmt.Fprintf(stderr, "weir bench nexmark: %d of the queries are below %.0fx Flink's events per core-second\n", missed, nexmarkTarget)
	}
	return exitOK
}

// nexmarkRun is what one query's run took.
type nexmarkRun struct {
	wall, cpu time.Duration
}

// benchNexmarkQuery runs q over events generated events into a
// discarding sink, with checkpoints in a directory of its own under dir.
func benchNexmarkQuery(ctx context.Context, q appnexmark.Query, events int64, par int, interval time.Duration, dir string) (nexmarkRun, error) {
	ckpt, err := os.MkdirTemp(dir, q.Name+"-")
	if err != nil {
		return nexmarkRun{}, err
	}
	defer os.RemoveAll(ckpt)
	src, err := nexmark.NewSource(nexmark.Events(events))
	if err != nil {
		return nexmarkRun{}, err
	}
	env := weir.NewEnv(weir.Parallelism(par), weir.Checkpoints(interval, ckpt))
	q.Discard(appnexmark.Events(env, src))
	runtime.GC() // the previous run's garbage is not this one's
	cpu0, t0 := bench.CPUTime(), time.Now()
	err = env.Execute(ctx, "nexmark "+q.Name)
	r := nexmarkRun{wall: time.Since(t0), cpu: bench.CPUTime() - cpu0}
	return r, err
}
