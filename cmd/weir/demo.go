package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/internal/progress"
	"github.com/weirstream/weir/sink"
)

const demoAbout = `Shows the PV/UV pipeline live: a generator writes nginx access-log lines at
--rate lines per second, with event time flowing as fast as the clock; the
PV/UV job counts page views and unique visitors per --window of event time;
each window is printed as it closes. A live progress line (or log lines when
stderr is not a terminal) shows throughput, watermark and bad lines.

Runs until Ctrl-C.`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir demo", "weir demo [flags]", demoAbout, "Exit status: 0 when stopped with Ctrl-C, 1 when the job fails, 2 on a usage error.")
	rate := f.float("rate", 2000, "access-log lines generated per second")
	seed := f.int64("seed", 1, "seed of the generator: the same seed gives the same visitors and pages")
	jf := addJobFlags(f, 10*time.Second, 3)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	jf.check(f)
	if !(*rate > 0) || *rate > 10_000_000 {
		f.problem("rate", "%v is out of range; write a number of lines per second from 1 to 10000000, such as 2000", *rate)
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}

	opts := jf.options()
	now := time.Now()
	// Event time starts at the beginning of the current window and advances
	// at the rate, so that windows close in real time.
	// Lines are out of order by as much as the job allows, so that none is
	// late.
	cfg := datagen.Config{Seed: *seed, EventsPerSecond: *rate, Start: now.Truncate(opts.Window), OutOfOrderness: *jf.outOfOrderness}
	if cfg.OutOfOrderness == 0 {
		cfg.InOrder = true
	}
	src, err := datagen.NewSource(cfg, datagen.Rate(*rate))
	if err != nil {
		fmt.Fprintf(stderr, "weir demo: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "weir demo: generating %s access-log lines per second (0.1%% malformed),\n", progress.Count(int64(*rate)))
	fmt.Fprintf(stdout, "counting page views (pv) and unique visitors (uv) per %v window of event time at parallelism %d.\n", formatDuration(opts.Window), *jf.parallelism)
	fmt.Fprintf(stdout, "A window is printed when event time has passed its end by %v. Ctrl-C stops.\n\n", formatDuration(*jf.outOfOrderness))

	var rep *progress.Reporter
	results := sink.Func[pvuv.Result](func(_ context.Context, r pvuv.Result) error {
		line := formatResult(r)
		if rep != nil {
			return rep.Println(stdout, line)
		}
		_, err := io.WriteString(stdout, line+"\n")
		return err
	})
	job := pvuvJob{
		src: src, spec: sourceSpec{}, opts: opts, parallelism: int(*jf.parallelism),
		results: results, stderr: stderr, progress: jf.progress,
	}
	sum, err := job.run(ctx, func(r *progress.Reporter) { rep = r })
	sum.print(stderr, "weir demo")
	if err != nil {
		fmt.Fprintf(stderr, "weir demo: %v\n", err)
		return exitFail
	}
	return exitOK
}

// formatResult writes a window for people:
//
//	07:40:00–07:40:10  pv=1234  uv=567  top: /a (99), /b (80), /c (55)
func formatResult(r pvuv.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s–%s  pv=%d  uv=%d", r.WindowStart.Local().Format(time.TimeOnly), r.WindowEnd.Local().Format(time.TimeOnly), r.PV, r.UV)
	if len(r.TopPages) > 0 {
		b.WriteString("  top: ")
		for i, p := range r.TopPages {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s (%d)", p.Page, p.PV)
		}
	}
	return b.String()
}
