package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/weirstream/weir/bench"
	"github.com/weirstream/weir/internal/progress"
)

const benchAbout = `Measures weir against hand-written Go programs that compute the same thing
on the same input with no framework, in one process, one run after another.

Benchmarks:
  pvuv   the PV/UV job against bench/baseline`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "pvuv" {
		return runBenchPVUV(ctx, args[1:], stdout, stderr)
	}
	f := newFlagSet("weir bench", "weir bench <benchmark> [flags]", benchAbout, "Run 'weir bench pvuv -h' for its flags.")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if f.fs.NArg() > 0 {
		f.problems = []string{fmt.Sprintf("unknown benchmark %q; the one benchmark is pvuv", f.fs.Arg(0))}
	} else {
		f.problems = append(f.problems, "name the benchmark, as in 'weir bench pvuv'")
	}
	code, _ := f.check(stderr)
	return code
}

const benchPVUVAbout = `Generates --events access-log lines (seeded, so the same every time) into a
temporary file, then runs over it, one after another in this process:

  baseline   bench/baseline: hand-written PV/UV in one goroutine
  weir p1    the PV/UV job, file source, at parallelism 1
  weir p2    the same at parallelism 2
  weir p1+ckpt  weir p1 with a checkpoint every --checkpoint-interval

It checks that both weir runs produce exactly the baseline's windows (start,
pv, uv, top pages) and prints PASS or FAIL, then throughput in lines per
second of wall time and the ratios against the targets: weir p1 at least
0.50 of the baseline, weir p2 at least 1.60 times weir p1, weir p1 with
checkpoints at least 0.95 of weir p1.`

func runBenchPVUV(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir bench pvuv", "weir bench pvuv [flags]", benchPVUVAbout,
		"Exit status: 0 when the results match (targets missed included), 1 when\nthey differ or a run fails, 2 on a usage error.")
	events := f.int64("events", bench.DefaultEvents, "access-log lines to generate")
	window := f.duration("window", bench.DefaultWindow, "size of the tumbling windows; whole seconds")
	runs := f.int64("runs", 1, "run each program this many times and keep the best")
	keep := f.bool("keep", "keep the generated input file and print its name")
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
	cfg := bench.PVUVConfig{Events: *events, Window: *window, Runs: int(*runs), Keep: *keep, CheckpointInterval: *ckpt}
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
