package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/internal/progress"
	"github.com/weirstream/weir/sql"
	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/parser"
	"github.com/weirstream/weir/web"
)

const sqlAbout = `Runs SQL in the Flink SQL dialect (Flink 1.13) over weir's connectors:
CREATE TABLE … WITH ('connector' = …), CREATE VIEW, CREATE FUNCTION, INSERT
INTO … SELECT, SELECT, EXPLAIN, SET 'key' = 'value', SHOW TABLES, DESCRIBE,
DROP.

With neither -f nor -e, and a terminal on stdin, it is a shell: a statement
ends with ';' and may span lines; up and down recall earlier lines (the
last 1000, kept in ~/.weir_sql_history); Ctrl-C cancels the running query;
quit;, exit; or Ctrl-D ends it. Without a terminal it runs stdin as a script.

The -i scripts run first (DDL and SET, as Flink's client), then -f, -e or
the shell. INSERT INTO starts a job and goes on with the next statement,
as Flink's client submits one; the jobs run in this process, which waits
for them before it exits (Ctrl-C cancels them). SELECT shows its rows as
they come; an updating query (a GROUP BY without a window) shows its
changelog as lines +I | …, -U | …, +U | …, -D | …, or, on a terminal, a
table redrawn in place.`

const sqlFooter = `Examples:
  weir sql
  weir sql -f pvuv.sql --checkpoint-dir /var/lib/weir/pvuv
  weir sql -i tables.sql -e 'SELECT uri, COUNT(*) FROM access_log GROUP BY uri'
  weir sql --catalog ~/.weir/catalog.json -e 'SHOW TABLES'

Exit status: 0 when every statement ran and every job finished or was
stopped, 1 when a statement or a job failed, 2 on a usage error.`

// historyMax bounds the shell's history, in memory and in its file.
const historyMax = 1000

// defaultMaxRows is --max-rows's default.
const defaultMaxRows = 1000

// listValue is a flag given any number of times (-i a.sql -i b.sql).
type listValue []string

func (v *listValue) String() string {
	if v == nil {
		return ""
	}
	return strings.Join(*v, ",")
}

func (v *listValue) Set(s string) error { *v = append(*v, s); return nil }

// sqlFlags are weir sql's flags, parsed and checked.
type sqlFlags struct {
	file, catalog        *string
	init, exec           listValue
	ckptDir              *string
	ckptInterval         *time.Duration
	parallelism, maxRows *int64
	http                 *httpFlags
	progress             *progressValue
	log                  logFlags
}

func runSQL(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir sql", "weir sql [-i init.sql]... [-f job.sql | -e 'STATEMENT'] [flags]", sqlAbout, sqlFooter)
	var sf sqlFlags
	sf.file = f.string("f", "", "FILE", "run the statements of this file, then exit")
	f.define(&sf.exec, "e", "STATEMENT", "run these ';'-separated statements, then exit; may be repeated\n(the statements run in order)")
	f.define(&sf.init, "i", "FILE", "run this initialisation script first (DDL, SET); may be repeated")
	sf.catalog = f.string("catalog", "", "PATH", "keep the tables, views and functions in this JSON file (a directory:\nits catalog.json), so that they survive restarts (default: in memory)")
	sf.ckptDir = f.string("checkpoint-dir", "", "DIR", "take checkpoints of the jobs into this directory (or s3://bucket/prefix\nURL) and resume from the newest one on start; makes file sinks\nexactly-once: SET 'state.checkpoints.dir' and\n'execution.checkpointing.interval'")
	sf.ckptInterval = f.duration("checkpoint-interval", time.Second, "time between checkpoints, with --checkpoint-dir")
	sf.parallelism = f.int64("parallelism", 1, "parallel subtasks of each job: SET 'parallelism.default', which a script\nmay SET again")
	sf.maxRows = f.int64("max-rows", defaultMaxRows, "rows a SELECT of an updating query keeps on a terminal; the oldest\nleave first")
	sf.http = addHTTPFlags(f, "", "serve the running job's HTTP API and UI on this address, e.g.\n127.0.0.1:8081 (the newest job when there are several)")
	sf.progress = f.progress()
	sf.log = addLogFlags(f)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	scripts := sf.check(f)
	if code, ok := f.check(stderr); !ok {
		return code
	}
	sf.http.warn(stderr, "weir sql")

	logger := sf.log.logger(stderr)
	// The session's own lines (a job started) repeat what the client
	// shows; its warnings still show.
	opts := sql.Options{Stdout: stdout, Logger: atLeast(logger, slog.LevelWarn)}
	opts.EnvOptions = append(opts.EnvOptions, weir.WithLogger(logger))
	if *sf.catalog != "" {
		cat, err := catalog.OpenFile(catalogPath(*sf.catalog))
		if err != nil {
			fmt.Fprintf(stderr, "weir sql: --catalog: %v\n", err)
			return exitUsage
		}
		opts.Catalog = cat
	}
	sess, err := sql.NewSession(opts)
	if err != nil {
		fmt.Fprintf(stderr, "weir sql: %v\n", err)
		return exitFail
	}
	c := &sqlClient{
		sess: sess, stdout: stdout, stderr: stderr, logger: logger,
		maxRows: int(*sf.maxRows), progress: sf.progress,
	}
	if *sf.http.addr != "" {
		stop, err := c.serveHTTP(sf.http)
		if err != nil {
			fmt.Fprintf(stderr, "weir sql: --http: %v\n", err)
			return exitFail
		}
		defer stop()
	}
	// --parallelism and --checkpoint-dir are shortcuts of SETs, run
	// before the scripts, which may SET them again.
	var sets [][2]string
	if f.isSet("parallelism") {
		sets = append(sets, [2]string{"parallelism.default", fmt.Sprint(*sf.parallelism)})
	}
	if *sf.ckptDir != "" {
		sets = append(sets, [2]string{"state.checkpoints.dir", *sf.ckptDir},
			[2]string{"execution.checkpointing.interval", fmt.Sprintf("%d ms", sf.ckptInterval.Milliseconds())})
	}
	for _, kv := range sets {
		if _, err := sess.Execute(ctx, "SET "+sqlQuote(kv[0])+" = "+sqlQuote(kv[1])); err != nil {
			fmt.Fprintf(stderr, "weir sql: %v\n", err)
			return exitUsage
		}
	}
	for _, s := range scripts {
		if !c.runScript(ctx, s) {
			return c.finish(ctx, false)
		}
	}
	switch {
	case *sf.file != "" || len(sf.exec) > 0:
		// The last of scripts.
	case stdinIsTerminal():
		return c.shell(ctx, processTerminal())
	default:
		b, err := io.ReadAll(os.Stdin)
		if err != nil {
			fmt.Fprintf(stderr, "weir sql: reading stdin: %v\n", err)
			return exitFail
		}
		if !c.runScript(ctx, sqlScript{name: "stdin", text: string(b)}) {
			return c.finish(ctx, false)
		}
	}
	return c.finish(ctx, true)
}

// sqlScript is a script to run and the name its errors give.
type sqlScript struct {
	name string // the file, or "-e"
	text string
}

// check validates the flags and reads the scripts to run: the -i ones,
// then -f's or -e's.
func (sf *sqlFlags) check(f *flagSet) (scripts []sqlScript) {
	if *sf.file != "" && len(sf.exec) > 0 {
		f.problem("e", "give -f FILE or -e STATEMENT, not both")
	}
	for _, e := range sf.exec {
		if strings.TrimSpace(e) == "" {
			f.problem("e", "the statement is empty: write one, as in -e 'SHOW TABLES'")
		}
	}
	f.checkParallelism(*sf.parallelism)
	if *sf.maxRows < 1 || *sf.maxRows > 1_000_000 {
		f.problem("max-rows", "%d is out of range; write 1 to 1000000", *sf.maxRows)
	}
	if *sf.ckptDir != "" && *sf.ckptInterval < 10*time.Millisecond {
		f.problem("checkpoint-interval", "%v is below 10ms: use an interval such as 1s", *sf.ckptInterval)
	}
	if *sf.ckptDir == "" && f.isSet("checkpoint-interval") {
		f.problem("checkpoint-interval", "has no effect without --checkpoint-dir: add --checkpoint-dir DIR, or leave it out")
	}
	sf.http.check(f)
	sf.log.check(f)
	read := func(flag, path string) {
		b, err := os.ReadFile(path)
		if err != nil {
			f.problem(flag, "%v: give the path of a SQL script", err)
			return
		}
		scripts = append(scripts, sqlScript{name: path, text: string(b)})
	}
	for _, p := range sf.init {
		read("i", p)
	}
	if *sf.file != "" {
		read("f", *sf.file)
	}
	for _, e := range sf.exec {
		scripts = append(scripts, sqlScript{name: "-e", text: e})
	}
	return scripts
}

// sqlQuote writes s as a SQL string literal.
func sqlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// catalogPath is the catalog file of --catalog: the path itself, or
// catalog.json in it when it is a directory.
func catalogPath(p string) string {
	if fi, err := os.Stat(p); err == nil && fi.IsDir() || strings.HasSuffix(p, string(filepath.Separator)) {
		return filepath.Join(p, "catalog.json")
	}
	return p
}

func stdinIsTerminal() bool { return progress.IsTerminal(os.Stdin) }

// sqlClient runs statements on a session and shows their results.
type sqlClient struct {
	sess           *sql.Session
	stdout, stderr io.Writer
	logger         *slog.Logger
	maxRows        int
	progress       *progressValue
	// live is set in the shell: updating queries are redrawn in place,
	// and size gives the terminal's size.
	live bool
	size func() (width, height int)

	mu struct {
		sync.Mutex
		jobs   []runningJob // INSERT INTO jobs that run
		failed bool         // a job failed
		// info is where notes about jobs go: stderr (nil), or the
		// shell's terminal.
		info io.Writer
	}
	waiting sync.WaitGroup               // a wait per INSERT INTO job
	httpOn  atomic.Bool                  // --http listens
	handler atomic.Pointer[http.Handler] // the newest job's API there
	token   string
}

// note writes a line about a job to info (stderr by default).
func (c *sqlClient) note(format string, args ...any) {
	c.mu.Lock()
	w := c.mu.info
	c.mu.Unlock()
	if w == nil {
		w = c.stderr
	}
	fmt.Fprintf(w, format+"\n", args...)
}

// setInfo sets where notes about jobs go; nil is stderr.
func (c *sqlClient) setInfo(w io.Writer) {
	c.mu.Lock()
	c.mu.info = w
	c.mu.Unlock()
}

// runScript runs the statements of s in order and shows their results. It
// stops at the first statement that fails, after printing the error with
// the script's name and the statement's line, and returns false.
func (c *sqlClient) runScript(ctx context.Context, s sqlScript) bool {
	pieces, err := parser.Split(s.text)
	if err != nil {
		fmt.Fprintf(c.stderr, "weir sql: %s: %v\n", s.name, err)
		return false
	}
	for _, pc := range pieces {
		if ctx.Err() != nil {
			return true // stopped: finish says so
		}
		// Blank lines and spaces before the statement keep the positions
		// of the errors those of the script.
		stmt := strings.Repeat("\n", pc.Pos.Line-1) + strings.Repeat(" ", pc.Pos.Column-1) + pc.Text
		if err := c.execute(ctx, ctx, stmt); err != nil {
			if ctx.Err() != nil && errors.Is(err, context.Canceled) {
				return true
			}
			fmt.Fprintf(c.stderr, "weir sql: %s:%d: %v\n", s.name, pc.Pos.Line, err)
			return false
		}
	}
	return true
}

// execute runs one statement and shows its result. Jobs live as long as
// jobCtx; a query's rows are shown until its job ends or ctx does (the
// shell's Ctrl-C), which cancels it.
func (c *sqlClient) execute(jobCtx, ctx context.Context, stmt string) error {
	res, err := c.sess.Execute(jobCtx, stmt)
	if err != nil {
		return err
	}
	switch res.Kind {
	case sql.ResultOK:
		if res.Message != "" {
			fmt.Fprintf(c.stdout, "[INFO] %s\n", res.Message)
		}
	case sql.ResultTable:
		return printBoxed(c.stdout, res.Schema, res.Rows, c.sess.Location())
	case sql.ResultExplain:
		text := res.Text
		if !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		_, err := io.WriteString(c.stdout, text)
		return err
	case sql.ResultJob:
		c.started(res.Job)
		c.note("[INFO] job %q started; it runs in the background (the client waits for it before it exits)", res.Job.Name())
		rj := runningJob{res.Job, time.Now()}
		c.mu.Lock()
		c.mu.jobs = append(c.mu.jobs, rj)
		c.mu.Unlock()
		// Said as soon as it ends: in the shell a job may fail long
		// before the shell does.
		c.waiting.Go(func() { c.wait(rj) })
	case sql.ResultQuery:
		c.started(res.Job)
		return c.query(ctx, res)
	}
	return nil
}

// query shows the rows of a SELECT until its job ends, or ctx ends, which
// cancels the job.
func (c *sqlClient) query(ctx context.Context, res *sql.Result) error {
	job := res.Job
	stopWatch := context.AfterFunc(ctx, job.Cancel)
	defer stopWatch()
	var n int64
	var err error
	switch {
	case job.Changelog() && c.live:
		n, err = liveRows(ctx, c.stdout, res.Schema, job.Rows(), c.maxRows, c.size, c.sess.Location())
	default:
		n, err = streamRows(ctx, c.stdout, res.Schema, job.Rows(), job.Changelog(), c.sess.Location())
	}
	if err != nil {
		job.Cancel()
		// Drain, so that the job's sink does not wait on a full channel.
		for range job.Rows() {
		}
	}
	werr := job.Wait()
	switch {
	case ctx.Err() != nil:
		c.note("[INFO] query cancelled after %s", progress.Plural(n, "row"))
		return nil
	case werr != nil:
		return fmt.Errorf("query failed: %w", werr)
	case err != nil:
		return err
	}
	if !job.Changelog() || !c.live {
		c.note("[INFO] received a total of %s", progress.Plural(n, "row"))
	}
	return nil
}

// started points --http at the job.
func (c *sqlClient) started(job *sql.Job) {
	if !c.httpOn.Load() {
		return
	}
	h := web.Handler(job.Env(), web.Options{Token: c.token, Logger: c.logger})
	c.handler.Store(&h)
}

// finish waits for the jobs that INSERT INTO started, showing progress on
// a terminal, and returns the exit status: ok is whether every statement
// ran. A statement that failed cancels the jobs rather than leave them
// running half a script.
func (c *sqlClient) finish(ctx context.Context, ok bool) int {
	c.mu.Lock()
	jobs := c.mu.jobs
	c.mu.jobs = nil
	c.mu.Unlock()
	if !ok {
		for _, j := range jobs {
			j.job.Cancel()
		}
		if len(jobs) > 0 {
			c.note("weir sql: cancelled %s after the error", progress.Plural(int64(len(jobs)), "running job"))
		}
	}
	stopProgress := c.showProgress(ctx, jobs)
	c.waiting.Wait()
	stopProgress()
	c.mu.Lock()
	failed := c.mu.failed
	c.mu.Unlock()
	if !ok || failed {
		return exitFail
	}
	if ctx.Err() != nil {
		fmt.Fprintln(c.stderr, "weir sql: stopped")
	}
	return exitOK
}

// runningJob is a job INSERT INTO started, and when.
type runningJob struct {
	job   *sql.Job
	start time.Time
}

// wait waits for an INSERT INTO job and says how it ended.
func (c *sqlClient) wait(rj runningJob) {
	j := rj.job
	err := j.Wait()
	c.mu.Lock()
	c.mu.jobs = slices.DeleteFunc(c.mu.jobs, func(o runningJob) bool { return o.job == j })
	c.mu.Unlock()
	if err != nil {
		c.mu.Lock()
		c.mu.failed = true
		c.mu.Unlock()
		c.note("weir sql: job %q failed: %v", j.Name(), err)
		return
	}
	in, _ := jobCounts(j.Env())
	c.note("[INFO] job %q ended after %v: %s in", j.Name(), time.Since(rj.start).Round(time.Millisecond), progress.Plural(in, "record"))
}

// jobCounts returns the records a job's sources read and their dead
// letters. The sources are the subtasks that report splits.
func jobCounts(env *weir.Env) (in, dead int64) {
	for _, m := range env.Metrics() {
		if m.Splits != nil {
			in += m.RecordsIn
		}
		dead += m.DeadLetters
	}
	return in, dead
}

// showProgress shows the records the jobs read, on stderr when it is a
// terminal (or with --progress set), until the returned func is called.
func (c *sqlClient) showProgress(ctx context.Context, jobs []runningJob) func() {
	terminal := false
	if f, ok := c.stderr.(*os.File); ok {
		terminal = progress.IsTerminal(f)
	}
	if len(jobs) == 0 || c.progress.off || !terminal && c.progress.d == 0 {
		return func() {}
	}
	sample := func() progress.Sample {
		var s progress.Sample
		for _, rj := range jobs {
			in, dead := jobCounts(rj.job.Env())
			s.Lines += in
			s.BadLines += dead
			for _, m := range rj.job.Env().Metrics() {
				s.Tasks = append(s.Tasks, progress.Task{Name: m.Operator, Subtask: m.Subtask, Busy: m.Busy, Idle: m.Idle, Backpressured: m.Backpressured})
			}
		}
		return s
	}
	interval := c.progress.d
	if interval == 0 {
		interval = 2 * time.Second
	}
	rep := progress.New(c.stderr, sample, progress.Options{Terminal: terminal, Interval: interval, Logger: c.logger})
	pctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { rep.Run(pctx) })
	return func() { cancel(); wg.Wait() }
}

// serveHTTP serves the API of the newest job on --http until stop.
func (c *sqlClient) serveHTTP(hf *httpFlags) (stop func(), err error) {
	ln, base, err := hf.listen()
	if err != nil {
		return nil, err
	}
	c.token = *hf.token
	c.httpOn.Store(true)
	srv := newHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := c.handler.Load()
		if h == nil {
			http.Error(w, "weir sql: no job started yet: run an INSERT INTO or a SELECT", http.StatusServiceUnavailable)
			return
		}
		(*h).ServeHTTP(w, r)
	}))
	var wg sync.WaitGroup
	wg.Go(func() { srv.Serve(ln) })
	fmt.Fprintf(c.stderr, "weir sql: job API on %s/api/, job UI on %s/ui/ (the newest job)\n", base, base)
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Shutdown(sctx)
		cancel()
		wg.Wait()
	}, nil
}
