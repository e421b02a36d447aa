package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/internal/progress"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/web"
)

const pvuvAbout = `Counts page views (PV) and unique visitors (UV, exact) per event-time
window of nginx or Apache access-log lines (combined or common format), with
the most viewed pages, and writes one JSON line per window, in window order:

  {"window_start":"2026-11-24T07:40:00Z","window_end":"2026-11-24T07:41:00Z","pv":1234,"uv":567,"top_pages":[{"page":"/a","pv":99}]}

A window is written when the event time of the input passes its end by the
out-of-orderness; a line later than that (and than --allowed-lateness) is
not counted. Lines that are not page views are counted; with --dead-letter
they are also written to a file with the reason. Without --dead-letter bad
lines are only counted.

Progress goes to stderr. Ctrl-C (SIGINT) or SIGTERM stops the job: it writes
the windows completed so far, prints a summary and exits 0.`

const pvuvFooter = sourceHelp + `

` + kafkaConnHelp + `

Examples:
  weir pvuv --source 'file:///var/log/nginx/access.log*' --dead-letter file:///tmp/bad.jsonl
  weir pvuv --source 'file:///var/log/nginx/access.log?follow=true' --sink file:///tmp/pvuv.jsonl
  weir pvuv --source 'datagen://?limit=1000000' --parallelism 4

Exit status: 0 when the job finished or was stopped, 1 when it failed, 2 on
a usage error.`

// jobFlags are the flags of the PV/UV job shared by pvuv and demo.
type jobFlags struct {
	window, outOfOrderness, allowedLateness *time.Duration
	top, parallelism                        *int64
	progress                                *progressValue
	log                                     logFlags
}

func addJobFlags(f *flagSet, window time.Duration, top int64) jobFlags {
	return jobFlags{
		window:          f.duration("window", window, "size of the tumbling event-time windows; whole seconds"),
		outOfOrderness:  f.duration("out-of-orderness", 5*time.Second, "how far behind the newest line a line may be and still count"),
		allowedLateness: f.duration("allowed-lateness", 0, "keep each window this long after it is written, and write it\nagain when a late line updates it"),
		top:             f.int64("top", top, "number of most viewed pages per window"),
		parallelism:     f.int64("parallelism", 1, "parallel subtasks of the job; results are written by one"),
		progress:        f.progress(),
		log:             addLogFlags(f),
	}
}

func (j jobFlags) check(f *flagSet) {
	f.checkWindow("window", *j.window)
	f.checkNonNegative("out-of-orderness", *j.outOfOrderness)
	f.checkNonNegative("allowed-lateness", *j.allowedLateness)
	f.checkTop(*j.top)
	f.checkParallelism(*j.parallelism)
	j.log.check(f)
}

func (j jobFlags) options() pvuv.Options {
	o := pvuv.Options{
		Window:          *j.window,
		OutOfOrderness:  *j.outOfOrderness,
		AllowedLateness: *j.allowedLateness,
		TopN:            int(*j.top),
	}
	if o.OutOfOrderness == 0 {
		// pvuv.Options reads 0 as its default, 5s. Log times have second
		// resolution, so 1ms lets through exactly the lines 0 would.
		o.OutOfOrderness = time.Millisecond
	}
	return o
}

func runPVUV(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir pvuv", "weir pvuv --source URL [flags]", pvuvAbout, pvuvFooter)
	srcFlag := f.url("source", "", sourceUsage)
	sinkFlag := f.url("sink", "stdout", sinkUsage)
	deadFlag := f.url("dead-letter", "", "file for the lines that are not page views, as JSON lines\n"+`{"line":...,"reason":...}, e.g. file:///tmp/bad.jsonl; when not given,`+"\nbad lines are only counted")
	jf := addJobFlags(f, time.Minute, 10)
	ckptDir := f.string("checkpoint-dir", "", "DIR", "take checkpoints into this directory (or s3://bucket/prefix URL) and resume\nfrom the newest one on start; makes file sinks exactly-once")
	ckptInterval := f.duration("checkpoint-interval", time.Second, "time between checkpoints, with --checkpoint-dir")
	unaligned := f.bool("unaligned-checkpoints", "with --checkpoint-dir: barriers overtake the records in flight, which\nare stored with the checkpoint (for jobs under heavy backpressure)")
	hf := addHTTPFlags(f, "", "serve the job's HTTP API on this address, e.g. 127.0.0.1:8081: metrics,\ncheckpoints, savepoints (weir savepoint / weir stop --job URL), /debug/pprof/")
	retainSavepoints := f.int64("retain-savepoints", 0, "keep the newest n savepoints taken through --http (weir savepoint, weir\nstop) and delete older ones; 0 keeps all; none of an earlier run, nor the\none --restore names, is ever deleted")
	backend := f.string("state-backend", "heap", "NAME", "where keyed state and window contents live: heap, or pebble (an LSM\non local disk, for state larger than memory)")
	stateDir := f.string("state-dir", "", "DIR", "scratch directory of the pebble backend (default: a temporary directory)")
	uv := f.string("uv", "exact", "MODE", "unique visitors per window: exact, or hll (HyperLogLog: a bounded\nsketch per window, about 0.8% standard error)")
	early := f.duration("early-results", 0, "with --sink redis://: also write running results of the open window\nthis often, for live dashboards (default 1s there; 0 turns them off)")
	restore := f.string("restore", "latest", "PATH", "with --checkpoint-dir: latest, or the path of a checkpoint or savepoint to\nstart from")
	cf := addClusterFlags(f)
	allowNonRestored := f.bool("allow-non-restored-state", "with --checkpoint-dir: restore even when the checkpoint holds state that\nno operator of the job takes, and drop it (by default such a restore fails)")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	jf.check(f)
	hf.check(f)
	if *retainSavepoints < 0 {
		f.problem("retain-savepoints", "%d is negative: write 0 to keep every savepoint, or a count such as 10", *retainSavepoints)
	}
	if *ckptDir == "" && *restore != "latest" {
		f.problem("restore", "needs --checkpoint-dir: give the directory the job keeps its checkpoints in")
	}
	if *backend != "heap" && *backend != "pebble" {
		f.problem("state-backend", "%q is not a backend: write heap or pebble", *backend)
	}
	if *ckptDir != "" && *ckptInterval < 10*time.Millisecond {
		f.problem("checkpoint-interval", "%v is below 10ms: use an interval such as 1s", *ckptInterval)
	}
	clusterOption := cf.option(f, *ckptDir != "", f.isSet("parallelism"))
	spec := parseSource(f, "source", *srcFlag)
	out := parseSinkOutput(f, "sink", *sinkFlag)
	f.checkNonNegative("early-results", *early)
	if *early > 0 && out.redis == nil {
		f.problem("early-results", "running results go to Redis only: use --sink redis://HOST:PORT/DB, or leave it out")
	}
	if *uv != pvuv.UVExact && *uv != pvuv.UVHLL {
		f.problem("uv", "%q is not a way to count visitors: write exact or hll", *uv)
	}
	if out.kafka != nil && out.kafka.delivery == kafka.ExactlyOnce && *ckptDir == "" {
		f.problem("sink", "exactly-once delivery to Kafka commits a transaction per checkpoint: add --checkpoint-dir, or write ?delivery=at-least-once")
	}
	var dead outputSpec
	if *deadFlag != "" {
		dead = parseDeadLetter(f, "dead-letter", *deadFlag)
		if !out.stdout && dead.path != "" && dead.path == out.path {
			f.problem("dead-letter", "%s is also the --sink file; give each its own file", dead.path)
		}
	}
	var src source.Source[string]
	if len(f.problems) == 0 {
		src = spec.open(f, "source")
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	hf.warn(stderr, "weir pvuv")
	if *ckptDir == "" {
		// Flags that only matter with checkpoints: say so rather than
		// ignore them.
		for _, name := range []string{"checkpoint-interval", "unaligned-checkpoints", "allow-non-restored-state"} {
			if f.isSet(name) {
				fmt.Fprintf(stderr, "weir pvuv: warning: --%s has no effect without --checkpoint-dir: add --checkpoint-dir DIR to take checkpoints, or leave it out\n", name)
			}
		}
	}

	opts := jf.options()
	opts.UV = *uv
	if out.redis != nil {
		opts.EarlyResults = *early
		if !f.isSet("early-results") {
			opts.EarlyResults = time.Second
		}
	}
	job := pvuvJob{
		src: src, spec: spec, opts: opts, parallelism: int(*jf.parallelism), redis: out.redis,
		stderr: stderr, progress: jf.progress, logger: jf.log.logger(stderr), http: hf, retainSavepoints: int(*retainSavepoints),
	}
	if *backend == "pebble" {
		dir := *stateDir
		if dir == "" {
			tmp, err := os.MkdirTemp("", "weir-state-")
			if err != nil {
				fmt.Fprintf(stderr, "weir pvuv: --state-dir: %v\n", err)
				return exitFail
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		}
		job.envOptions = append(job.envOptions, weir.StateBackend("pebble", dir))
	}
	if *ckptDir != "" {
		job.envOptions = append(job.envOptions, weir.Checkpoints(*ckptInterval, *ckptDir), weir.RestoreFrom(*restore))
		if *unaligned {
			job.envOptions = append(job.envOptions, weir.UnalignedCheckpoints())
		}
		if *allowNonRestored {
			job.envOptions = append(job.envOptions, weir.AllowNonRestoredState())
		}
	}
	if clusterOption != nil {
		job.envOptions = append(job.envOptions, clusterOption)
	}
	if out.kafka != nil {
		snk, err := openKafkaSink(out.kafka)
		if err != nil {
			fmt.Fprintf(stderr, "weir pvuv: --sink: %v\n", err)
			return exitUsage
		}
		job.results = snk
		// A missing topic fails the job before it starts, rather than at
		// the first checkpoint and again at every restart.
		job.checks = append(job.checks, func(ctx context.Context) error {
			if err := snk.CheckTopic(ctx); err != nil {
				return fmt.Errorf("--sink: %w", err)
			}
			return nil
		})
	}
	outs, err := openOutputs(out, dead, *deadFlag != "", *ckptDir != "", stdout)
	if err != nil {
		fmt.Fprintf(stderr, "weir pvuv: %v\n", err)
		return exitFail
	}
	if outs.results != nil {
		job.results = outs.results
	}
	job.bad = outs.bad
	sum, err := job.run(ctx)
	if cerr := outs.close(); err == nil && cerr != nil {
		err = cerr
		sum.failed = true
	}
	return sum.report(stderr, "weir pvuv", err)
}

// kafkaIdleness is how long a partition may go without lines before it
// stops holding the watermark back.
const kafkaIdleness = 10 * time.Second

// pvuvJob is a PV/UV job ready to run.
type pvuvJob struct {
	// src is the source of lines: Kafka's, generated, or the file source
	// that run reads decoded.
	src         source.Source[string]
	spec        sourceSpec
	opts        pvuv.Options
	parallelism int
	results     sink.Sink[pvuv.Result]  // nil with redis
	bad         sink.Sink[pvuv.BadLine] // nil: only counted
	stderr      io.Writer
	progress    *progressValue
	logger      *slog.Logger     // the process's, from --log-format
	envOptions  []weir.EnvOption // checkpoints and the state backend, when asked for
	http        *httpFlags       // serve the job's API there, if its address is set
	// retainSavepoints bounds the savepoints taken through the API.
	retainSavepoints int
	redis            *redisOutput // the Redis of --sink: days and counters go there too
	// checks run before the job starts; an error fails it at start.
	checks []func(context.Context) error
}

// summary is what a job did, printed when it ends.
type summary struct {
	started bool // the job ran: it did not fail before it started
	stopped bool // by a signal, not by the end of the input
	failed  bool
	wall    time.Duration
	lines   int64
	bad     int64
	windows int64
	wm      int64
}

// report prints how the job ended and, if it failed, why; it returns the
// exit status. A job that failed before it started has no figures to
// show: it says so, and why.
func (s summary) report(w io.Writer, cmd string, err error) int {
	switch {
	case s.started:
	case err != nil:
		printFailure(w, cmd, fmt.Errorf("failed at start: %w", err))
		return exitFail
	default:
		fmt.Fprintf(w, "%s: stopped before the job started\n", cmd)
		return exitOK
	}
	s.print(w, cmd)
	if err != nil {
		printFailure(w, cmd, err)
		return exitFail
	}
	return exitOK
}

func (s summary) print(w io.Writer, cmd string) {
	how := "finished"
	switch {
	case s.failed:
		how = "failed"
	case s.stopped:
		how = "stopped"
	}
	rate := 0.0
	if s.wall > 0 {
		rate = float64(s.lines) / s.wall.Seconds()
	}
	wm := "-"
	if s.wm != 0 {
		wm = time.UnixMilli(s.wm).UTC().Format(time.RFC3339)
	}
	fmt.Fprintf(w, "%s: %s after %v: %s (%s bad), %s, watermark %s, %s lines/s\n",
		cmd, how, s.wall.Round(time.Millisecond), progress.Plural(s.lines, "line"), progress.Count(s.bad),
		progress.Plural(s.windows, "window"), wm, progress.Count(int64(rate+0.5)))
}

// run builds the job and runs it with progress on stderr until its input
// ends or ctx is cancelled. A job stopped by ctx is not an error. An
// error before the job started (a check, the Redis connection, --http)
// returns a summary that is not started.
func (j pvuvJob) run(ctx context.Context) (summary, error) {
	start := time.Now()
	notStarted := func(err error) (summary, error) {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return summary{stopped: true}, nil
		}
		return summary{failed: true}, err
	}
	for _, check := range j.checks {
		if err := check(ctx); err != nil {
			return notStarted(err)
		}
	}
	env := weir.NewEnv(append([]weir.EnvOption{weir.Parallelism(j.parallelism), weir.WithLogger(j.logger)}, j.envOptions...)...)
	opts := j.opts
	opts.SourceDeadLetters = true // lines the source could not read: too long
	var job *pvuv.Job
	var err error
	switch {
	case j.spec.file:
		// The source parses each line where it reads it and keeps only the
		// client and the page (pvuv.BuildHits): lines are not copied, and
		// each reader takes the strings from blocks of its own.
		c := &pvuv.Counters{}
		var src *file.DecodedSource[pvuv.Hit]
		if src, err = file.DecodedPerReader(j.src.(*file.Source), c.NewDecoder); err == nil {
			job, err = pvuv.BuildHits(weir.FromSource(env, src, j.spec.sourceOptions()...), c, opts)
		}
	case j.spec.kafka != nil:
		// One watermark per partition: a partition read late must not
		// make its lines late.
		strategy := weir.BoundedOutOfOrderness(opts.OutOfOrderness, pvuv.LineTime).WithIdleness(kafkaIdleness)
		opts.SourceWatermarks = true
		job, err = pvuv.Build(weir.FromSourceWithWatermarks(env, j.src, strategy, j.spec.sourceOptions()...), opts)
	default:
		job, err = pvuv.Build(weir.FromSource(env, j.src, j.spec.sourceOptions()...), opts)
	}
	if err != nil {
		return notStarted(err)
	}
	if j.redis == nil {
		weir.SinkTo(job.Results, j.results, weir.Name("results"), weir.Parallelism(1))
	} else {
		if err := job.SinkToRedis(j.redis.server, j.redis.prefix); err != nil {
			return notStarted(fmt.Errorf("--sink: %w", err))
		}
	}
	if j.bad != nil {
		weir.SinkTo(job.Bad, j.bad, weir.Name("dead-letter"), weir.Parallelism(1))
	} else {
		weir.SinkTo(job.Bad, sink.Func[pvuv.BadLine](func(context.Context, pvuv.BadLine) error { return nil }), weir.Name("count-bad"))
	}

	terminal := false
	if f, ok := j.stderr.(*os.File); ok {
		terminal = progress.IsTerminal(f)
	}
	rep := progress.New(j.stderr, sampler(env, job.Counters), progress.Options{Terminal: terminal, Interval: j.progress.d, Logger: j.logger})
	var wg sync.WaitGroup
	var srv *http.Server
	var hist *web.History
	if j.http != nil && *j.http.addr != "" {
		ln, base, err := j.http.listen()
		if err != nil {
			return notStarted(fmt.Errorf("--http: %w", err))
		}
		hist = web.NewHistory(env, web.HistoryOptions{})
		api := web.Handler(env, web.Options{Token: *j.http.token, RetainSavepoints: j.retainSavepoints, History: hist})
		srv = newHTTPServer(api)
		wg.Go(func() { srv.Serve(ln) })
		fmt.Fprintf(j.stderr, "weir pvuv: job API on %s/api/, job UI on %s/ui/\n", base, base)
	}
	progCtx, stopProgress := context.WithCancel(ctx)
	if hist != nil {
		wg.Go(func() { hist.Run(progCtx) })
	}
	if !j.progress.off {
		wg.Go(func() { rep.Run(progCtx) })
	}
	err = env.Execute(ctx, "pvuv")
	stopProgress()
	if srv != nil {
		// Shutdown, not Close: the answer to the weir stop that ended the
		// job may still be on its way.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(sctx)
		cancel()
	}
	wg.Wait()
	if err != nil && len(env.Metrics()) == 0 {
		// No task ran: the job failed as it started (a cluster worker
		// that could not listen or join, a plan that was refused).
		return notStarted(err)
	}

	sum := summary{
		started: true, wall: time.Since(start), lines: job.Counters.Lines.Load(), bad: job.Counters.BadLines.Load(),
		windows: job.Counters.Windows.Load(), wm: job.Counters.Watermark.Load(),
	}
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		sum.stopped, err = true, nil
	}
	sum.failed = err != nil
	return sum, err
}

// sampler reads a running job's figures for the progress reporter.
func sampler(env *weir.Env, c *pvuv.Counters) func() progress.Sample {
	return func() progress.Sample {
		s := progress.Sample{Lines: c.Lines.Load(), BadLines: c.BadLines.Load(), Windows: c.Windows.Load()}
		if wm := c.Watermark.Load(); wm != 0 {
			s.Watermark = time.UnixMilli(wm).UTC()
		}
		for _, m := range env.Metrics() {
			s.Tasks = append(s.Tasks, progress.Task{Name: m.Operator, Subtask: m.Subtask, Busy: m.Busy, Idle: m.Idle, Backpressured: m.Backpressured})
		}
		return s
	}
}
