package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"time"

	"github.com/weirstream/weir/bench"
	"github.com/weirstream/weir/internal/progress"
)

const benchAbout = `Measures weir against hand-written Go programs that compute the same thing
on the same input with no framework, in one process, one run after another.

Benchmarks:
  pvuv     the PV/UV job against bench/baseline
  async    the async HTTP sink and AsyncWait against their Little's-law bounds
  kafka    a Kafka pass-through job against a bare franz-go consumer
  cluster  the PV/UV job across worker processes against one process
  nexmark  the Nexmark queries against Flink's published events per core
  sql      the PV/UV job in SQL (weir sql) against weir pvuv`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "pvuv":
			return runBenchPVUV(ctx, args[1:], stdout, stderr)
		case pvuvChild:
			// Not listed: weir bench pvuv starts it to measure a program's
			// memory in a process of its own.
			if err := bench.PVUVChild(ctx, args[1:], stdout); err != nil {
				fmt.Fprintf(stderr, "weir bench %s: %v\n", pvuvChild, err)
				return exitFail
			}
			return exitOK
		case "async":
			return runBenchAsync(ctx, args[1:], stdout, stderr)
		case "kafka":
			return runBenchKafka(ctx, args[1:], stdout, stderr)
		case "cluster":
			return runBenchCluster(ctx, args[1:], stdout, stderr)
		case "nexmark":
			return runBenchNexmark(ctx, args[1:], stdout, stderr)
		case "sql":
			return runBenchSQL(ctx, args[1:], stdout, stderr)
		}
	}
	f := newFlagSet("weir bench", "weir bench <benchmark> [flags]", benchAbout, "Run 'weir bench pvuv -h' for its flags.")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if f.fs.NArg() > 0 {
		f.problems = []string{fmt.Sprintf("unknown benchmark %q; the benchmarks are sql, pvuv, async, kafka, cluster and nexmark", f.fs.Arg(0))}
	} else {
		f.problems = append(f.problems, "name the benchmark, as in 'weir bench pvuv'")
	}
	code, _ := f.check(stderr)
	return code
}

const benchPVUVAbout = `Generates --events access-log lines (seeded, so the same every time) into a
temporary file, then runs over it, one after another in this process:

  baseline   bench/baseline: hand-written PV/UV in one goroutine
  weir source   the job's file source alone, reading and parsing, at
             parallelism 1, into a sink that drops the hits
  weir p1    the PV/UV job, file source, at parallelism 1
  weir p2    the same at parallelism 2
  weir p1+ckpt  weir p1 with a checkpoint every --checkpoint-interval

It checks that both weir runs produce exactly the baseline's windows (start,
pv, uv, top pages) and prints PASS or FAIL, then throughput in lines per
second of wall time and the ratios against the targets: weir p1 at least
0.50 of the baseline, weir p2 at least 1.60 times weir p1, weir p1 with
checkpoints at least 0.95 of weir p1. Then the efficiency targets, from the
runs' medians: the baseline's CPU time per line at least 0.70 of weir p1's
(beside it, weir's source alone, and what that target leaves the job's steps
after the source), weir p2's wall time at most the baseline's, and weir p1's
peak resident memory at most 2 times the baseline's: each program runs once
more in a process of its own (weir starts itself again), and its peak is
taken without the pages of weir's binary, which all three run in (on Linux:
VmHWM less RssFile).`

// pvuvChild is the hidden benchmark that runs one program of weir bench
// pvuv in a process of its own.
const pvuvChild = "pvuv-child"

func runBenchPVUV(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir bench pvuv", "weir bench pvuv [flags]", benchPVUVAbout,
		"Exit status: 0 when the results match (targets missed included), 1 when\nthey differ or a run fails, 2 on a usage error.")
	events := f.int64("events", bench.DefaultEvents, "access-log lines to generate")
	window := f.duration("window", bench.DefaultWindow, "size of the tumbling windows; whole seconds")
	runs := f.int64("runs", 1, "run each program this many times and keep the best")
	keep := f.bool("keep", "keep the generated input file and print its name")
	observe := f.string("observe", "on", "MODE", "what weir runs observe: on (latency markers, pprof labels, state access\ntiming; metrics scraped every second), off (weir.Observe(false)), or\ncompare: run weir p1 both ways and report the ratio of the medians\n(target at least 0.98)")
	ckpt := f.duration("checkpoint-interval", time.Second, "also run weir p1 with a checkpoint at this interval, to measure\nwhat checkpoints cost (target: at least 0.95 of p1); 0 skips it")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if *events < 1 {
		f.problem("events", "%d is not a positive number of lines; write e.g. 2000000", *events)
	}
	f.checkWindow("window", *window)
	if *runs < 1 || *runs > 100 {
		f.problem("runs", "%d is out of range; write 1 to 100", *runs)
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}

	if *ckpt < 0 {
		f.problem("checkpoint-interval", "%v is negative; write 0 to skip the run with checkpoints", *ckpt)
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	switch *observe {
	case bench.ObserveOn, bench.ObserveOff, bench.ObserveCompare:
	default:
		f.problem("observe", "%q is not a mode: use on, off or compare", *observe)
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	cfg := bench.PVUVConfig{Events: *events, Window: *window, Runs: int(*runs), Keep: *keep, CheckpointInterval: *ckpt, Observe: *observe}
	if self, err := os.Executable(); err == nil {
		cfg.Spawn = func(ctx context.Context, args []string) *exec.Cmd {
			return exec.CommandContext(ctx, self, append([]string{"bench", pvuvChild}, args...)...)
		}
	} else {
		fmt.Fprintf(stderr, "weir bench pvuv: cannot start itself again to measure memory (%v); going on without\n", err)
	}
	if sf, ok := stderr.(*os.File); ok && progress.IsTerminal(sf) {
		cfg.Generating = func(done, total int64) {
			fmt.Fprintf(stderr, "\rgenerating the input: %3d%% (%s of %s lines)\x1b[K", done*100/total, progress.Count(done), progress.Count(total))
			if done == total {
				fmt.Fprint(stderr, "\r\x1b[K")
			}
		}
	} else {
		var next int64 = 25
		start := time.Now()
		cfg.Generating = func(done, total int64) {
			if pct := done * 100 / total; pct >= next {
				fmt.Fprintf(stderr, "generating the input: %d%% (%s lines, %v)\n", pct, progress.Count(done), time.Since(start).Round(time.Millisecond))
				next = pct/25*25 + 25
			}
		}
	}
	rep, err := bench.PVUV(ctx, cfg, stdout)
	switch {
	case err != nil && errors.Is(err, context.Canceled) && ctx.Err() != nil:
		fmt.Fprintln(stderr, "weir bench pvuv: stopped")
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "weir bench pvuv: %v\n", err)
		return exitFail
	case !rep.Match:
		return exitFail
	}
	return exitOK
}

const benchAsyncAbout = `Measures non-blocking I/O against what Little's law allows, in this
process, one run after another:

  async sink   access-log lines written by the async HTTP sink to a local
               endpoint that answers each request after --latency: its
               throughput against the bound (requests in flight x batch size
               / latency, target at least 0.90) and against the same sink in
               its synchronous mode, one request per record (target at
               least 50x)
  AsyncWait    --records records through AsyncWait with capacity 100 and
               calls of --call-latency, ordered and unordered: throughput
               against capacity / latency per subtask (target at least 0.90)

It prints each figure, the ratios, and PASS or MISS per target.`

func runBenchAsync(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir bench async", "weir bench async [flags]", benchAsyncAbout,
		"Exit status: 0 when the runs completed (targets missed included), 1 when\none failed, 2 on a usage error.")
	latency := f.duration("latency", 20*time.Millisecond, "how long the HTTP endpoint takes to answer a request")
	records := f.int64("sink-records", bench.DefaultAsyncRecords, "lines the async sink writes")
	callLatency := f.duration("call-latency", 10*time.Millisecond, "how long each AsyncWait call takes")
	waitRecords := f.int64("records", 20_000, "records through AsyncWait per mode")
	runs := f.int64("runs", 1, "run each AsyncWait mode this many times and keep the best")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if *records < 1 || *waitRecords < 1 {
		f.problem("records", "give positive numbers of records")
	}
	if *latency <= 0 || *callLatency <= 0 {
		f.problem("latency", "latencies must be positive, such as 20ms")
	}
	if *runs < 1 || *runs > 100 {
		f.problem("runs", "%d is out of range; write 1 to 100", *runs)
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	fmt.Fprintln(stderr, "weir bench async: the async sink against an endpoint answering after", *latency)
	sinkRep, err := bench.AsyncSinkBench(ctx, bench.AsyncSinkConfig{Records: *records, Latency: *latency})
	if err != nil {
		fmt.Fprintf(stderr, "weir bench async: %v\n", err)
		return exitFail
	}
	sinkRep.Print(stdout)
	fmt.Fprintln(stdout)
	fmt.Fprintln(stderr, "weir bench async: AsyncWait with calls of", *callLatency)
	waitRep, err := bench.AsyncWaitBench(ctx, bench.AsyncWaitConfig{Records: int(*waitRecords), Latency: *callLatency, Runs: int(*runs)})
	if err != nil {
		fmt.Fprintf(stderr, "weir bench async: %v\n", err)
		return exitFail
	}
	waitRep.Print(stdout)
	return exitOK
}

const benchKafkaAbout = `Produces --records access-log records to a topic of an in-process Kafka
broker, reads them once untimed (the first read is the slowest), then reads
them --runs times each, in this process, taking turns:

  bare     a franz-go consumer reading every partition (read_committed)
  weir p1  a weir job: Kafka source (bounded) -> sink, at parallelism 1
  weir p2  the same at parallelism 2

Both fetch with the same client options and count every record and its
bytes. It prints records/s and CPU per record, and
weir p1 against the bare consumer (target at least 0.90).`

func runBenchKafka(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir bench kafka", "weir bench kafka [flags]", benchKafkaAbout,
		"Exit status: 0 when the runs completed (target missed included), 1 when\none failed, 2 on a usage error.")
	records := f.int64("records", bench.DefaultKafkaRecords, "records to produce and read")
	runs := f.int64("runs", bench.DefaultKafkaRuns, "runs of each side; the best counts")
	profile := f.string("cpuprofile", "", "PREFIX", "write a CPU profile of each run to PREFIX-SIDE-RUN.pprof (SIDE: bare,\np1, p2); 'go tool pprof -top PREFIX-p1-*.pprof' adds up a side's runs")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	cfg := bench.KafkaConfig{Records: *records, Runs: int(*runs), P2: true, CPUProfile: *profile}
	if err := cfg.Validate(); err != nil {
		f.problem("records", "%v", err)
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	fmt.Fprintf(stderr, "weir bench kafka: producing %s records, then %d runs of each side\n", progress.Count(*records), *runs)
	rep, err := bench.KafkaBench(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "weir bench kafka: %v\n", err)
		return exitFail
	}
	rep.Print(stdout)
	return exitOK
}
