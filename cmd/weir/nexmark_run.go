package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir"
	appnexmark "github.com/weirstream/weir/app/nexmark"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/connector/stdout"
	"github.com/weirstream/weir/internal/progress"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/web"
)

// weir nexmark run: one Nexmark query over generated events, or over the
// JSON lines of events in files or a Kafka topic.

const nexmarkRunAbout = `Runs one Nexmark query (q0 to q22) and writes its rows as JSON lines,
with the column names of the Flink query, to --sink (default standard
output).

Without --source it runs over --events generated events: those of 'weir
nexmark generate' with the same --seed and --rate; event n is at
2026-11-24T07:40:00Z plus n/rate seconds, so the rate sets how much event
time the events cover (and how many 10-second windows they fill), not how
fast they are read.

With --source file:// or kafka:// it reads events as the JSON lines 'weir
nexmark generate' writes, one event a line, with their event time from
their dateTime and a watermark per file split or Kafka partition that
trails the newest event by --out-of-orderness. A line that is no event is
counted and, with --dead-letter, written there with the reason; the other
lines still give their rows.

Queries whose rows are updates (q4, q18, q19) write every update; the
last row of a key is its result. q12's windows follow the wall clock.
A summary goes to stderr at the end.`

const nexmarkRunFooter = `Sources:
  (none)                                 --events generated events (--rate, --seed)
  datagen://nexmark?events=N&rate=R&seed=S&start=T
                                         the same generator, as a URL
  file:///tmp/events.jsonl               JSON lines of events, read once (globs
                                         and ?follow=true as in weir pvuv)
  kafka://HOST:PORT/TOPIC?bounded=true   a topic of JSON lines of events (the
                                         parameters of weir pvuv's kafka:// source)

Sinks:
  stdout (default), file:///tmp/q5.jsonl (exactly-once with
  --checkpoint-dir), kafka://HOST:PORT/TOPIC (one record per row;
  exactly-once with transactions by default, which needs --checkpoint-dir;
  ?delivery=at-least-once|none, ?txn-prefix=ID)

` + kafkaConnHelp + `

Examples:
  weir nexmark run --query q5 --events 1000000
  weir nexmark generate --events 100000 --out /tmp/events.jsonl
  weir nexmark run --query q7 --source file:///tmp/events.jsonl --sink file:///tmp/q7.jsonl
  weir nexmark run --query q1 --source 'kafka://127.0.0.1:9092/events?bounded=true' \
      --sink kafka://127.0.0.1:9092/q1 --checkpoint-dir /tmp/q1-ckpt

Exit status: 0 when the query finished or was stopped, 1 when it failed, 2
on a usage error.`

// nexmarkBadLine is a line of --source that is no event, as the dead
// letters show it.
type nexmarkBadLine struct {
	Line   string `json:"line"`
	Reason string `json:"reason"`
}

// nexmarkCounters are the figures of a running query, for its summary.
type nexmarkCounters struct {
	events, bad, rows atomic.Int64
}

func runNexmarkRun(ctx context.Context, args []string, out, stderr io.Writer) int {
	const cmd = "weir nexmark run"
	f := newFlagSet(cmd, "weir nexmark run --query qN [--source URL] [--sink URL] [flags]", nexmarkRunAbout, nexmarkRunFooter)
	query := f.string("query", "", "qN", "the query, q0 to q22 (required)")
	srcFlag := f.url("source", "", "where the events come from: datagen://nexmark?..., file://PATH or\nkafka://HOST:PORT/TOPIC (see Sources below); default the generator of\n--events, --rate and --seed")
	sinkFlag := f.url("sink", "stdout", "where the rows go: stdout, file:///path/to/rows.jsonl or\nkafka://HOST:PORT/TOPIC (see Sinks below)")
	deadFlag := f.url("dead-letter", "", "file for the lines of --source that are no event, as JSON lines\n"+`{"line":...,"reason":...}, e.g. file:///tmp/bad.jsonl; when not given,`+"\nthey are only counted")
	events := f.int64("events", 100_000, "without --source: the number of events to generate")
	seed := f.int64("seed", nexmark.DefaultSeed, "without --source: selects the sequence")
	rate := f.float("rate", nexmark.DefaultEventsPerSecond, "without --source: events per second of event time")
	ooo := f.duration("out-of-orderness", 5*time.Second, "with a file:// or kafka:// source: how far behind the newest event of\nits split an event may be and still count in its windows")
	par := f.int64("parallelism", 1, "parallel subtasks of every step")
	ckptDir := f.string("checkpoint-dir", "", "DIR", "take checkpoints into this directory and resume from the newest one on\nstart; makes file and Kafka sinks exactly-once")
	ckptInterval := f.duration("checkpoint-interval", time.Second, "time between checkpoints, with --checkpoint-dir")
	hf := addHTTPFlags(f, "", "serve the job's HTTP API and UI on this address, e.g. 127.0.0.1:8081:\nmetrics, checkpoints, the job graph, /debug/pprof/")
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
	f.checkNonNegative("out-of-orderness", *ooo)
	f.checkParallelism(*par)
	hf.check(f)
	if *ckptDir != "" && *ckptInterval < 10*time.Millisecond {
		f.problem("checkpoint-interval", "%v is below 10ms: use an interval such as 1s", *ckptInterval)
	}
	src := parseNexmarkSource(f, *srcFlag)
	if src.gen == nil && src.lines.raw == "" {
		// No --source: the generator of the flags.
		src.gen = []nexmark.SourceOption{nexmark.Seed(*seed), nexmark.EventsPerSecond(*rate), nexmark.Events(*events)}
	} else {
		for _, name := range []string{"events", "rate", "seed"} {
			if f.isSet(name) {
				f.problem(name, "applies to the generator without --source; with --source give it in the URL, as in datagen://nexmark?events=1000&rate=10000&seed=1, or leave it out")
			}
		}
	}
	if src.gen != nil && f.isSet("out-of-orderness") {
		f.problem("out-of-orderness", "applies to file:// and kafka:// sources; generated events come in event-time order")
	}
	snk := parseSinkOutput(f, "sink", *sinkFlag)
	if snk.redis != nil {
		snk = outputSpec{}
		f.problem("sink", "Redis takes weir pvuv's windows, not query rows; write stdout, file:///path/to/rows.jsonl or kafka://HOST:PORT/TOPIC")
	}
	if snk.kafka != nil && snk.kafka.delivery == kafka.ExactlyOnce && *ckptDir == "" {
		f.problem("sink", "exactly-once delivery to Kafka commits a transaction per checkpoint: add --checkpoint-dir, or write ?delivery=at-least-once")
	}
	var dead outputSpec
	if *deadFlag != "" {
		dead = parseDeadLetter(f, "dead-letter", *deadFlag)
		if src.lines.raw == "" && !hasProblem(f, "dead-letter") {
			f.problem("dead-letter", "only lines of a file:// or kafka:// --source can be bad; leave it out for generated events")
		}
		if snk.path != "" && dead.path == snk.path {
			f.problem("dead-letter", "%s is also the --sink file; give each its own file", dead.path)
		}
	}
	for _, o := range []struct {
		flag string
		spec outputSpec
	}{{"sink", snk}, {"dead-letter", dead}} {
		if o.spec.path != "" && !hasProblem(f, o.flag) {
			if err := os.MkdirAll(filepath.Dir(o.spec.path), 0o755); err != nil {
				f.problem(o.flag, "cannot create the directory of %s (%v); name a file in a directory you can write", o.spec.path, err)
			}
		}
	}
	var lines source.Source[string]
	if len(f.problems) == 0 && src.lines.raw != "" {
		lines = src.lines.open(f, "source")
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	hf.warn(stderr, cmd)
	if *ckptDir == "" && f.isSet("checkpoint-interval") {
		fmt.Fprintf(stderr, "%s: warning: --checkpoint-interval has no effect without --checkpoint-dir: add --checkpoint-dir DIR to take checkpoints, or leave it out\n", cmd)
	}

	envOpts := []weir.EnvOption{weir.Parallelism(int(*par))}
	if *ckptDir != "" {
		envOpts = append(envOpts, weir.Checkpoints(*ckptInterval, *ckptDir))
	}
	env := weir.NewEnv(envOpts...)
	c := &nexmarkCounters{}
	var evs weir.Stream[nexmark.Event]
	var bad weir.Stream[nexmarkBadLine]
	if src.gen != nil {
		gen, err := nexmark.NewSource(src.gen...)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
			return exitUsage
		}
		evs = weir.Map(appnexmark.Events(env, gen), func(e nexmark.Event) nexmark.Event { c.events.Add(1); return e }, weir.Name("count"))
	} else {
		evs, bad = nexmarkEvents(env, lines, src.lines, *ooo, c)
	}
	rows := weir.Map(q.JSON(evs), func(r appnexmark.Row) appnexmark.Row { c.rows.Add(1); return r }, weir.Name("rows"))

	// An endless source's rows are written a line at a time: a query
	// stopped with Ctrl-C has written every row it made.
	endless := src.lines.kafka != nil && !src.lines.kafka.bounded || src.lines.follow
	var files outputs
	defer files.close()
	rowSink, err := openRowSink[appnexmark.Row](&files, "sink", snk, *ckptDir != "", endless, out)
	if err != nil {
		fmt.Fprintf(stderr, "%s: --sink: %v\n", cmd, err)
		return exitFail
	}
	if snk.kafka != nil {
		ks, err := openKafkaRowSink(snk.kafka)
		if err != nil {
			fmt.Fprintf(stderr, "%s: --sink: %v\n", cmd, err)
			return exitUsage
		}
		// A missing topic fails the query before it starts.
		if err := ks.CheckTopic(ctx); err != nil {
			printFailure(stderr, cmd, fmt.Errorf("failed at start: --sink: %w", err))
			return exitFail
		}
		rowSink = ks
	}
	weir.SinkTo(rows, rowSink, weir.Name("sink"), weir.Parallelism(1))
	if src.gen == nil {
		var badSink sink.Sink[nexmarkBadLine] = sink.Func[nexmarkBadLine](func(context.Context, nexmarkBadLine) error { return nil })
		if *deadFlag != "" {
			if badSink, err = openRowSink[nexmarkBadLine](&files, "dead-letter", dead, *ckptDir != "", true, nil); err != nil {
				fmt.Fprintf(stderr, "%s: --dead-letter: %v\n", cmd, err)
				return exitFail
			}
		}
		weir.SinkTo(bad, badSink, weir.Name("dead-letter"), weir.Parallelism(1))
	}

	var wg sync.WaitGroup
	var srv *http.Server
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	if *hf.addr != "" {
		ln, base, err := hf.listen()
		if err != nil {
			fmt.Fprintf(stderr, "%s: failed at start: --http: %v\n", cmd, err)
			return exitFail
		}
		hist := web.NewHistory(env, web.HistoryOptions{})
		srv = newHTTPServer(web.Handler(env, web.Options{Token: *hf.token, History: hist}))
		wg.Go(func() { srv.Serve(ln) })
		wg.Go(func() { hist.Run(runCtx) })
		fmt.Fprintf(stderr, "%s: job API on %s/api/, job UI on %s/ui/\n", cmd, base, base)
	}
	start := time.Now()
	err = env.Execute(ctx, "nexmark "+q.Name)
	stopRun()
	if srv != nil {
		// Shutdown, not Close: an answer may still be on its way.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(sctx)
		cancel()
	}
	wg.Wait()
	if cerr := files.close(); err == nil && cerr != nil {
		err = cerr
	}
	files = outputs{}
	how := "finished"
	switch {
	case err != nil && errors.Is(err, context.Canceled) && ctx.Err() != nil:
		how, err = "stopped", nil
	case err != nil:
		how = "failed"
	}
	fmt.Fprintf(stderr, "%s: %s %s after %v: %s (%s bad), %s\n", cmd, q.Name, how, time.Since(start).Round(time.Millisecond),
		progress.Plural(c.events.Load(), "event"), progress.Count(c.bad.Load()), progress.Plural(c.rows.Load(), "row"))
	if err != nil {
		printFailure(stderr, cmd, fmt.Errorf("%s: %w", q.Name, err))
		return exitFail
	}
	return exitOK
}

// nexmarkSource is a parsed --source of weir nexmark run: generator
// options, or a source of lines.
type nexmarkSource struct {
	gen   []nexmark.SourceOption // datagen://nexmark
	lines sourceSpec             // file:// or kafka://; raw is empty otherwise
}

// parseNexmarkSource parses --source; problems name the flag. An empty
// value is no source: the caller uses the generator of the flags.
func parseNexmarkSource(f *flagSet, raw string) nexmarkSource {
	if raw == "" {
		return nexmarkSource{}
	}
	u, err := url.Parse(raw)
	if err == nil && u.Scheme == "datagen" {
		q, err := url.ParseQuery(u.RawQuery)
		switch {
		case err != nil:
			f.problem("source", "the parameters of %q do not parse (%v); write them as ?name=value&name=value", raw, err)
		case u.Host != "nexmark":
			f.problem("source", "%q generates access-log lines, not Nexmark events; write datagen://nexmark?events=100000&rate=10000&seed=1", raw)
		default:
			if opts, ok := parseNexmark(f, "source", u, q); ok {
				return nexmarkSource{gen: opts}
			}
		}
		// A source with problems, not the generator of the flags.
		return nexmarkSource{lines: sourceSpec{raw: raw}}
	}
	spec := parseSource(f, "source", raw)
	if spec.raw == "" {
		spec.raw = raw
	}
	return nexmarkSource{lines: spec}
}

// nexmarkEvents reads the JSON lines of src into events, with their event
// times and a watermark per split (file byte range, Kafka partition) that
// trails its newest event by ooo: a split read late must not make its
// events late. Lines that are no event, and records the source could not
// read, go to the second stream with the reason.
func nexmarkEvents(env *weir.Env, src source.Source[string], spec sourceSpec, ooo time.Duration, c *nexmarkCounters) (weir.Stream[nexmark.Event], weir.Stream[nexmarkBadLine]) {
	strategy := weir.BoundedOutOfOrderness(ooo, lineEventTime)
	if spec.kafka != nil {
		strategy = strategy.WithIdleness(kafkaIdleness)
	}
	lines := weir.FromSourceWithWatermarks(env, src, strategy, spec.sourceOptions()...)
	badTag := weir.NewOutputTag[nexmarkBadLine]("bad-events")
	evs := weir.Process(lines, func(ctx *weir.Context, line string, out weir.Emitter[nexmark.Event]) error {
		c.events.Add(1)
		e, err := nexmark.DecodeEvent([]byte(line))
		if err != nil {
			c.bad.Add(1)
			badTag.Emit(ctx, nexmarkBadLine{Line: line, Reason: err.Error()})
			return nil
		}
		out.Emit(e)
		return nil
	}, weir.Name("decode"))
	dead := weir.Map(weir.SourceDeadLetters(lines), func(d source.DeadLetter) nexmarkBadLine {
		c.events.Add(1)
		c.bad.Add(1)
		return nexmarkBadLine{Line: string(d.Raw), Reason: d.Reason}
	}, weir.Name("source-dead-letters"))
	return evs, weir.Union(weir.SideOutput(evs, badTag), dead)
}

// lineEventTime returns the dateTime of an event's JSON line without
// decoding the rest of it, or the zero time for a line without one (which
// the decode step sends to the dead letters).
func lineEventTime(line string) time.Time {
	const key = `"dateTime":"`
	// A key inside a string value has its quotes escaped, so the first
	// match is the field.
	if i := strings.Index(line, key); i >= 0 {
		rest := line[i+len(key):]
		if j := strings.IndexByte(rest, '"'); j >= 0 {
			if t, err := time.Parse(time.RFC3339Nano, rest[:j]); err == nil {
				return t
			}
		}
	}
	// Another spelling of the same JSON (spaces around the colon).
	if e, err := nexmark.DecodeEvent([]byte(line)); err == nil {
		return e.Time()
	}
	return time.Time{}
}

// openRowSink returns the sink of a stdout or file output of records of
// type T, or nil for Kafka. With checkpoints a file is written by the file
// connector's sink, exactly once; without, the command creates it here
// (closed by o.close) and writes it as stdout, a line at a time when
// lineBuffered, so that a stopped job has written what it made.
func openRowSink[T any](o *outputs, flag string, spec outputSpec, checkpointed, lineBuffered bool, w io.Writer) (sink.Sink[T], error) {
	var opts []stdout.SinkOption
	if lineBuffered {
		opts = append(opts, stdout.LineBuffered())
	}
	switch {
	case spec.kafka != nil:
		return nil, nil
	case spec.stdout:
		return sinkOf[T](stdout.NewSink[T](w, opts...))
	case checkpointed:
		return sinkOf[T](file.NewSink[T](spec.path))
	}
	f, err := o.create(flag, spec.path)
	if err != nil {
		return nil, err
	}
	return sinkOf[T](stdout.NewSink[T](f, opts...))
}

// openKafkaRowSink returns the Kafka sink of --sink: one record per row,
// its value the row's JSON, without a key.
func openKafkaRowSink(out *kafkaOutput) (*kafka.Sink[appnexmark.Row], error) {
	client := out.client
	client.ClientID = "weir-nexmark"
	opts := []kafka.SinkOption{kafka.Delivery(out.delivery)}
	if out.prefix != "" {
		opts = append(opts, kafka.TransactionalIDPrefix(out.prefix))
	}
	return kafka.NewSink(client, out.topic, func(r appnexmark.Row) (*kgo.Record, error) {
		return &kgo.Record{Value: bytes.Clone(r)}, nil
	}, opts...)
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
