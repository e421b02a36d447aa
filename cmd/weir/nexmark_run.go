package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/weirstream/weir"
	appnexmark "github.com/weirstream/weir/app/nexmark"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/connector/stdout"
)

// weir nexmark run: one Nexmark query over generated events.

const nexmarkRunAbout = `Runs one Nexmark query (q0 to q22) over --events generated events and
writes its rows to standard output as JSON lines, with the column names of
the Flink query. The events are those of 'weir nexmark generate' with the
same --seed and --rate; event n is at 2026-11-24T07:40:00Z plus n/rate
seconds, so the rate sets how much event time the events cover (and how
many 10-second windows they fill), not how fast they are read.

Queries whose rows are updates (q4, q18, q19) write every update; the
last row of a key is its result. q12's windows follow the wall clock.`

func runNexmarkRun(ctx context.Context, args []string, out, stderr io.Writer) int {
	f := newFlagSet("weir nexmark run", "weir nexmark run --query qN [--events N] [--rate R] [--seed S] [--parallelism P]", nexmarkRunAbout, "")
	query := f.string("query", "", "qN", "the query, q0 to q22 (required)")
	events := f.int64("events", 100_000, "the number of events to generate")
	seed := f.int64("seed", nexmark.DefaultSeed, "selects the sequence")
	rate := f.float("rate", nexmark.DefaultEventsPerSecond, "events per second of event time")
	par := f.int64("parallelism", 1, "parallel subtasks of every step")
	if code, ok := f.parse(args, out, stderr); !ok {
		return code
	}
	q, ok := appnexmark.Lookup(*query)
	switch {
	case !f.isSet("query"):
		f.problem("query", "missing; name a query, as in --query q5 (q0 to q22)")
	case !ok:
		f.problem("query", "%q is not a Nexmark query; write q0 to q22, as in --query q5", *query)
	}
	if *events < 0 && !hasProblem(f, "events") {
		f.problem("events", "%d is negative; write the number of events, as in --events 100000", *events)
	}
	if r := *rate; !(r > 0) || r > 1e9 {
		f.problem("rate", "%v is out of range; write a positive number of events per second up to 1e9, as in --rate 10000", r)
	}
	f.checkParallelism(*par)
	if code, ok := f.check(stderr); !ok {
		return code
	}
	src, err := nexmark.NewSource(nexmark.Seed(*seed), nexmark.EventsPerSecond(*rate), nexmark.Events(*events))
	if err != nil {
		fmt.Fprintf(stderr, "weir nexmark run: %v\n", err)
		return exitUsage
	}
	snk, err := stdout.NewSink[appnexmark.Row](out)
	if err != nil {
		fmt.Fprintf(stderr, "weir nexmark run: %v\n", err)
		return exitFail
	}
	env := weir.NewEnv(weir.Parallelism(int(*par)))
	weir.SinkTo(q.JSON(appnexmark.Events(env, src)), snk, weir.Name("stdout"))
	if err := env.Execute(ctx, "nexmark "+q.Name); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			fmt.Fprintln(stderr, "weir nexmark run: stopped")
			return exitFail
		}
		fmt.Fprintf(stderr, "weir nexmark run: %s: %v\n", q.Name, err)
		return exitFail
	}
	return exitOK
}

// hasProblem reports whether a problem was recorded against the flag.
func hasProblem(f *flagSet, name string) bool {
	for _, p := range f.problems {
		if strings.HasPrefix(p, "--"+name+":") {
			return true
		}
	}
	return false
}
