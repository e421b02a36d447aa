package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/weirstream/weir/app/demo"
	"github.com/weirstream/weir/app/pvuv"
)

const demoAbout = `Runs the whole real-time PV/UV pipeline on this machine, with nothing to
install:

  web servers ──access logs──▶ weir ship ──▶ Kafka ──▶ PV/UV job ──▶ Redis ──▶ dashboard

Synthetic web servers write nginx access logs (rotated every 30 s) at
--rate lines per second; the shipper produces their lines to Kafka exactly
once; the PV/UV job reads the topic with checkpoints every second and writes
page views and unique visitors per --window, running and final, and per day,
to Redis; the dashboard shows them live. Kafka is an in-process broker and
Redis an in-process server unless --kafka and --redis name real ones.

It prints the dashboard's URL, then each window as it closes. Ctrl-C stops
everything.`

const demoFooter = `Examples:
  weir demo                                   # then open http://127.0.0.1:8080/
  weir demo --kafka 127.0.0.1:9092 --redis redis://127.0.0.1:6379/0 --rate 5000

Exit status: 0 when stopped with Ctrl-C or when its job is stopped through
the API (weir stop --job URL), 1 when a part fails, 2 on a usage error.`

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir demo", "weir demo [flags]", demoAbout, demoFooter)
	rate := f.float("rate", 2000, "access-log lines per second over all web servers")
	hf := addHTTPFlags(f, "127.0.0.1:8080", "address of the dashboard and the job's API (port 0 picks a free one)")
	kafkaAddr := f.string("kafka", "", "ADDRS", "a Kafka cluster to use instead of the embedded broker: HOST:PORT[,HOST:PORT]")
	redisURL := f.string("redis", "", "URL", "a Redis to use instead of the embedded server: redis://HOST:PORT/DB")
	window := f.duration("window", time.Minute, "size of the tumbling event-time windows; whole seconds")
	uv := f.string("uv", "exact", "MODE", "unique visitors per window: exact, or hll (HyperLogLog, about 0.8% error)")
	logs := f.string("logs", "", "DIR", "write the access logs to this directory and keep them (default: a\ntemporary directory, removed on exit)")
	parallelism := f.int64("parallelism", 2, "parallel subtasks of the job")
	lf := addLogFlags(f)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	lf.check(f)
	hf.check(f)
	f.checkWindow("window", *window)
	f.checkParallelism(*parallelism)
	if !(*rate > 0) || *rate > 1_000_000 {
		f.problem("rate", "%v is out of range; write a number of lines per second from 1 to 1000000, such as 2000", *rate)
	}
	cfg := demo.Config{
		Kafka: *kafkaAddr, Redis: *redisURL, Rate: *rate, HTTP: *hf.addr, LogDir: *logs,
		HTTPToken: *hf.token, HTTPTLS: hf.tls,
		Window: *window, Parallelism: int(*parallelism), UV: *uv,
		Logger: atLeast(lf.logger(stderr), slog.LevelWarn),
	}
	if err := cfg.Validate(); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			f.problem("demo", "%s", strings.TrimPrefix(line, "demo: "))
		}
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	hf.warn(stderr, "weir demo")
	var mu sync.Mutex
	cfg.Ready = func(a demo.Addresses) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(stdout, "weir demo: %s access-log lines per second into %s\n", formatRate(*rate), a.Logs)
		fmt.Fprintf(stdout, "  dashboard   %s\n", a.Dashboard)
		if *hf.token != "" {
			fmt.Fprintf(stdout, "              (open it once as %s?token=TOKEN, with the --http-token)\n", a.Dashboard)
		}
		fmt.Fprintf(stdout, "  job UI      %s\n", a.JobUI)
		fmt.Fprintf(stdout, "  job API     %s\n", a.JobAPI)
		fmt.Fprintf(stdout, "  Kafka       %s (topic %s)\n", a.Kafka, a.Topic)
		fmt.Fprintf(stdout, "  Redis       %s\n", a.Redis)
		fmt.Fprintf(stdout, "Windows of %v are printed as they close. Ctrl-C stops.\n\n", formatDuration(*window))
	}
	cfg.Stopped = func() {
		fmt.Fprintln(stderr, "weir demo: the job was stopped through its API (POST /api/stop); stopping the demo")
	}
	cfg.OnWindow = func(r pvuv.Result) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(stdout, formatResult(r))
	}
	start := time.Now()
	err := demo.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "weir demo: %v\n", err)
		return exitFail
	}
	fmt.Fprintf(stderr, "weir demo: stopped after %v\n", time.Since(start).Round(time.Second))
	return exitOK
}

func formatRate(r float64) string {
	if r == float64(int64(r)) {
		return fmt.Sprintf("%d", int64(r))
	}
	return fmt.Sprintf("%.1f", r)
}

// formatResult writes a window for people:
//
//	07:40:00–07:41:00  pv=1234  uv=567  top: /a (99), /b (80), /c (55)
func formatResult(r pvuv.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s–%s  pv=%d  uv=%d", r.WindowStart.Local().Format(time.TimeOnly), r.WindowEnd.Local().Format(time.TimeOnly), r.PV, r.UV)
	if len(r.TopPages) > 0 {
		b.WriteString("  top: ")
		for i, p := range r.TopPages {
			if i > 2 {
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s (%d)", p.Page, p.PV)
		}
	}
	return b.String()
}
