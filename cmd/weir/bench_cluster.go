package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	rt "runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/bench"
	"github.com/weirstream/weir/bench/baseline"
	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/internal/freeport"
	"github.com/weirstream/weir/internal/progress"
)

// weir bench cluster: what running the PV/UV job across processes costs
// (throughput through the network exchange, recovery from a killed worker,
// the pause a joining worker causes), measured with the weir binary itself
// as the workers and an in-process Kafka broker as their meeting place.

// benchClusterTarget is the least throughput of 2 workers x 1 slot as a
// share of 1 worker x 2 slots: the same parallelism, with the exchange
// between the subtasks over the network instead of in memory.
const benchClusterTarget = 0.80

const benchClusterAbout = `Measures what running the PV/UV job as a cluster of processes costs, on
this machine. It starts an in-process Kafka broker, produces --events
generated access-log lines (seeded, so the same every time) into a topic of
--partitions partitions, line i to partition i mod P, computes the expected
windows with the hand-written baseline (bench/baseline), then runs this
weir binary as the workers ('weir pvuv --cluster kafka://BROKER/NAME',
loopback --advertise and --http ports, checkpoints in a shared temporary
directory, results to a topic with transactions):

  throughput  the job reading the topic to its end (bounded), --runs times
              each as 1 worker x 2 slots and as 2 workers x 1 slot: the
              same parallelism, with the records of the keyed exchange
              crossing between processes in the second. It reports
              events/s of each (the best run) and the ratio 2x1 / 1x2
              (target at least 0.80), and checks that every run wrote
              exactly the expected windows (read_committed).
  recovery    for each --session-timeouts value: 3 workers x 1 slot read
              the topic (unbounded); after the first completed checkpoint
              one worker that does not coordinate (GET /api/cluster) is
              killed with SIGKILL. Recovery is the time from the kill to
              the completion (its _metadata file) of the first checkpoint
              of the next generation: results flow again from then on.
  join        then a fourth worker starts: the time from its start to the
              first checkpoint completed in the generation it joined.

The job's windows written during recovery and join must be the first of
the expected ones, each exact. Each worker logs to a file in a temporary
directory (--keep keeps it); a run that fails prints the end of each.`

// clusterBenchConfig is the configuration of weir bench cluster.
type clusterBenchConfig struct {
	bin        string // the weir binary the workers run
	events     int64
	partitions int
	runs       int
	window     time.Duration
	interval   time.Duration   // between checkpoints
	sessions   []time.Duration // recovery and join runs; none: skipped
	keep       bool            // keep the temporary directory
}

func runBenchCluster(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir bench cluster", "weir bench cluster [flags]", benchClusterAbout,
		"Exit status: 0 when the results are exact (target missed included), 1 when\nthey are not or a run fails, 2 on a usage error.")
	events := f.int64("events", 1_000_000, "access-log lines to generate and produce")
	partitions := f.int64("partitions", 4, "partitions of the input topic")
	runs := f.int64("runs", 1, "throughput runs of each configuration; the best counts")
	window := f.duration("window", time.Minute, "size of the tumbling windows; whole seconds")
	interval := f.duration("checkpoint-interval", time.Second, "time between the workers' checkpoints")
	sessions := f.string("session-timeouts", "10s,2s", "LIST", "the workers' --session-timeout in the recovery and join runs, one run\neach, comma-separated; none skips them")
	bin := f.string("weir", "", "PATH", "the weir binary the workers run (default: this program)")
	keep := f.bool("keep", "keep the temporary directory (input, checkpoints, the workers' logs) and\nprint its name")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	cfg := clusterBenchConfig{bin: *bin, events: *events, partitions: int(*partitions), runs: int(*runs), window: *window, interval: *interval, keep: *keep}
	if *events < 1 {
		f.problem("events", "%d is not a positive number of lines; write e.g. 1000000", *events)
	}
	if *partitions < 1 || *partitions > 1000 {
		f.problem("partitions", "%d is out of range; write 1 to 1000", *partitions)
	}
	if *runs < 1 || *runs > 100 {
		f.problem("runs", "%d is out of range; write 1 to 100", *runs)
	}
	f.checkWindow("window", *window)
	if *interval < 10*time.Millisecond {
		f.problem("checkpoint-interval", "%v is below 10ms: use an interval such as 1s", *interval)
	}
	if *sessions != "none" {
		for _, s := range strings.Split(*sessions, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(s))
			if err != nil || d < time.Second {
				f.problem("session-timeouts", "%q is not a session timeout of at least 1s: write a list such as 10s,2s, or none", s)
				continue
			}
			cfg.sessions = append(cfg.sessions, d)
		}
	}
	if cfg.bin == "" {
		exe, err := os.Executable()
		if err != nil {
			f.problem("weir", "cannot find this program (%v): give the weir binary's path", err)
		}
		cfg.bin = exe
	} else if fi, err := os.Stat(cfg.bin); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		f.problem("weir", "%s is not an executable file: give the path of a weir binary, e.g. from go build ./cmd/weir", cfg.bin)
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	b := &clusterBench{cfg: cfg, log: stderr,
		http: &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}}
	rep, err := b.run(ctx)
	rep.print(stdout)
	switch {
	case err != nil && ctx.Err() != nil:
		fmt.Fprintln(stderr, "weir bench cluster: stopped")
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "weir bench cluster: %v\n", err)
		return exitFail
	case len(rep.mismatches) > 0:
		return exitFail
	}
	return exitOK
}

// clusterBench is one run of weir bench cluster.
type clusterBench struct {
	cfg    clusterBenchConfig
	log    io.Writer // progress
	http   *http.Client
	broker *kafkatest.Broker
	dir    string   // the temporary directory: input, checkpoints, logs
	want   []string // the expected windows, as the job writes them
	seq    int      // names the runs' topics, groups and directories
}

// clusterReport is what weir bench cluster measured.
type clusterReport struct {
	cfg        clusterBenchConfig
	windows    int   // expected windows
	pageViews  int64 // expected page views
	oneByTwo   clusterRun
	twoByOne   clusterRun
	recoveries []recoveryRun
	mismatches []string // why results were not exact; none when they were
}

// clusterRun is the best throughput run of one configuration.
type clusterRun struct {
	name           string
	workers, slots int
	// job is the time from every worker being in an epoch (its tasks
	// started) to the last worker's exit; wall the time from starting the
	// processes to the last exit.
	job, wall    time.Duration
	eventsPerSec float64 // events over job
	// cores is the CPU time of the workers and of this process (the broker)
	// over wall; cpuPerEvent the same CPU time over the events, which other
	// programs on the machine sway less than events/s.
	cores       float64
	cpuPerEvent time.Duration
}

// recoveryRun is one recovery and join run.
type recoveryRun struct {
	session time.Duration
	// detected is the time from the kill to a survivor's new generation,
	// recovered to the first checkpoint completed in it.
	detected, recovered time.Duration
	// joined is the time from starting a fourth worker to the generation
	// that has it, joinedCkpt to the first checkpoint completed in it.
	joined, joinedCkpt time.Duration
	windows            int // windows written by the end, all exact
}

func (b *clusterBench) progress(format string, args ...any) {
	fmt.Fprintf(b.log, "weir bench cluster: "+format+"\n", args...)
}

func (b *clusterBench) run(ctx context.Context) (clusterReport, error) {
	rep := clusterReport{cfg: b.cfg}
	dir, err := os.MkdirTemp("", "weir-bench-cluster-")
	if err != nil {
		return rep, err
	}
	if b.cfg.keep {
		defer b.progress("kept the input, checkpoints and logs in %s", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	b.dir = dir
	minSession := time.Second
	for _, s := range b.cfg.sessions {
		minSession = min(minSession, s)
	}
	// Kafka refuses session timeouts under 6s by default: lower the floor
	// for the short ones asked for.
	b.broker, err = kafkatest.Start(kafkatest.Config{Partitions: b.cfg.partitions, Topics: []string{"access"}, MinSessionTimeout: minSession})
	if err != nil {
		return rep, err
	}
	defer b.broker.Close()
	if rep.windows, rep.pageViews, err = b.prepare(ctx); err != nil {
		return rep, err
	}

	rep.oneByTwo = clusterRun{name: "1 worker x 2 slots", workers: 1, slots: 2}
	rep.twoByOne = clusterRun{name: "2 workers x 1 slot", workers: 2, slots: 1}
	for i := range b.cfg.runs {
		// Alternate the order, so that neither always runs first.
		order := []*clusterRun{&rep.oneByTwo, &rep.twoByOne}
		if i%2 == 1 {
			order[0], order[1] = order[1], order[0]
		}
		for _, r := range order {
			got, mismatch, err := b.throughput(ctx, r.workers, r.slots)
			if err != nil {
				return rep, err
			}
			b.progress("run %d/%d, %s: %s events/s (job %v, wall %v, %.2f cores, %v CPU/event)", i+1, b.cfg.runs, r.name,
				progress.Count(int64(got.eventsPerSec)), got.job.Round(time.Millisecond), got.wall.Round(time.Millisecond), got.cores, got.cpuPerEvent)
			if mismatch != nil {
				rep.mismatches = append(rep.mismatches, r.name+": "+mismatch.Error())
			}
			if got.eventsPerSec > r.eventsPerSec {
				got.name = r.name
				*r = got
			}
		}
	}
	for _, s := range b.cfg.sessions {
		rec, mismatch, err := b.recovery(ctx, s)
		if err != nil {
			return rep, err
		}
		if mismatch != nil {
			rep.mismatches = append(rep.mismatches, fmt.Sprintf("recovery with session timeout %v: %v", s, mismatch))
		}
		rep.recoveries = append(rep.recoveries, rec)
	}
	return rep, nil
}

// prepare generates the input into a file, computes the expected windows
// over it, and produces its lines to the topic access, line i to partition
// i mod P: each partition is in event-time order, as a shipped log is.
func (b *clusterBench) prepare(ctx context.Context) (windows int, pageViews int64, err error) {
	path := filepath.Join(b.dir, "access.log")
	start := time.Now()
	if err := generateLines(ctx, path, b.cfg.events); err != nil {
		return 0, 0, err
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	res, err := baseline.Run(f, b.cfg.window, 10)
	f.Close()
	if err != nil {
		return 0, 0, fmt.Errorf("baseline: %w", err)
	}
	b.want = expectedWindows(res)
	for _, w := range res.Windows {
		pageViews += w.PV
	}
	b.progress("generated %s lines, %d windows expected (%v)", progress.Count(b.cfg.events), len(b.want), time.Since(start).Round(time.Millisecond))
	start = time.Now()
	if err := b.produce(ctx, path); err != nil {
		return 0, 0, err
	}
	b.progress("produced them to %d partitions on the broker at %s (%v)", b.cfg.partitions, b.broker.Addr(), time.Since(start).Round(time.Millisecond))
	return len(b.want), pageViews, nil
}

// generateLines writes n lines of the benchmarks' input to path.
func generateLines(ctx context.Context, path string, n int64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create the input file: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	err = bench.GenerateLines(ctx, w, n, nil)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write the input file: %w", err)
	}
	return nil
}

// expectedWindows returns the baseline's windows as the job writes them.
func expectedWindows(res baseline.Result) []string {
	var out []string
	for _, w := range res.Windows {
		r := pvuv.Result{WindowStart: w.Start, WindowEnd: w.End, PV: w.PV, UV: w.UV, TopPages: []pvuv.PageCount{}}
		for _, p := range w.TopPages {
			r.TopPages = append(r.TopPages, pvuv.PageCount{Page: p.Page, PV: p.PV})
		}
		out = append(out, string(r.AppendJSON(nil)))
	}
	return out
}

func (b *clusterBench) produce(ctx context.Context, path string) error {
	cl, err := b.broker.NewClient(kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(5*time.Millisecond),
		kgo.ProducerBatchCompression(kgo.NoCompression()), kgo.MaxBufferedRecords(100_000))
	if err != nil {
		return err
	}
	defer cl.Close()
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var mu sync.Mutex
	var perr error
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for i := 0; sc.Scan(); i++ {
		r := &kgo.Record{Topic: "access", Partition: int32(i % b.cfg.partitions), Value: append([]byte(nil), sc.Bytes()...)}
		cl.Produce(ctx, r, func(_ *kgo.Record, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && perr == nil {
				perr = err
			}
		})
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read the input file: %w", err)
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("produce the input: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if perr != nil {
		return fmt.Errorf("produce the input: %w", perr)
	}
	return nil
}

// benchCluster is the workers of one run, with what they share.
type benchCluster struct {
	b       *clusterBench
	name    string // of the run: its topic, groups and directory
	out     string // the topic the windows go to
	ckpt    string // the checkpoint directory
	args    func(w *benchWorker) []string
	workers []*benchWorker
}

// benchWorker is one process of a cluster.
type benchWorker struct {
	id, advertise, http string
	cmd                 *exec.Cmd
	log                 *os.File
	started             time.Time
	exited              chan struct{} // closed once the process exited
	killed              bool          // by the benchmark, on purpose
	ended               time.Time     // when it exited
	err                 error         // how it exited
}

// newCluster prepares a run: its output topic, directory and the command
// line of its workers, each with slots slots; bounded says whether they
// read the input to its end.
func (b *clusterBench) newCluster(ctx context.Context, slots, minWorkers int, bounded bool, session time.Duration) (*benchCluster, error) {
	b.seq++
	c := &benchCluster{b: b, name: fmt.Sprintf("run%d", b.seq)}
	c.out = "pvuv-" + c.name
	c.ckpt = filepath.Join(b.dir, c.name, "checkpoints")
	if err := os.MkdirAll(filepath.Join(b.dir, c.name), 0o755); err != nil {
		return nil, err
	}
	if err := b.broker.CreateTopic(ctx, c.out, 1); err != nil { // one partition: the windows in order
		return nil, err
	}
	addr := b.broker.Addr()
	c.args = func(w *benchWorker) []string {
		return []string{"pvuv",
			"--source", fmt.Sprintf("kafka://%s/access?bounded=%t&group=bench-%s", addr, bounded, c.name),
			"--sink", "kafka://" + addr + "/" + c.out,
			"--window", formatDuration(b.cfg.window),
			"--checkpoint-dir", c.ckpt, "--checkpoint-interval", b.cfg.interval.String(),
			"--cluster", "kafka://" + addr + "/bench-" + c.name, "--advertise", w.advertise, "--worker-id", w.id,
			"--slots", strconv.Itoa(slots), "--min-workers", strconv.Itoa(minWorkers), "--session-timeout", session.String(),
			"--http", w.http, "--progress", "off"}
	}
	return c, nil
}

// freeLoopback returns a loopback address whose port was free a moment
// ago and that no listener on port 0 can take before the worker binds it
// (freeport.Loopback).
func (b *clusterBench) freeLoopback() string {
	addr, err := freeport.Loopback()
	if err != nil {
		return "127.0.0.1:0" // the worker fails at start and says why
	}
	return addr
}

// start starts a worker named id.
func (c *benchCluster) start(id string) (*benchWorker, error) {
	w := &benchWorker{id: id, advertise: c.b.freeLoopback(), http: c.b.freeLoopback(), exited: make(chan struct{})}
	log, err := os.Create(filepath.Join(c.b.dir, c.name, id+".log"))
	if err != nil {
		return nil, err
	}
	w.log = log
	w.cmd = exec.Command(c.b.cfg.bin, c.args(w)...)
	w.cmd.Stdout, w.cmd.Stderr = log, log
	w.started = time.Now()
	if err := w.cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start worker %s (--weir %s): %w", id, c.b.cfg.bin, err)
	}
	c.workers = append(c.workers, w)
	go func() {
		w.err = w.cmd.Wait()
		w.ended = time.Now()
		close(w.exited)
	}()
	return w, nil
}

// kill ends every worker still running and waits for it.
func (c *benchCluster) kill() {
	for _, w := range c.workers {
		w.cmd.Process.Signal(syscall.SIGKILL)
		<-w.exited
		w.log.Close()
	}
}

// failed returns err with the end of every worker's log.
func (c *benchCluster) failed(err error) error {
	var sb strings.Builder
	for _, w := range c.workers {
		b, _ := os.ReadFile(w.log.Name())
		fmt.Fprintf(&sb, "\n--- worker %s (%s) ---\n%s", w.id, w.log.Name(), lastChars(string(b), 2000))
	}
	return fmt.Errorf("%s: %w%s", c.name, err, sb.String())
}

// exitedEarly reports the first worker that exited, or nil.
func (c *benchCluster) exitedEarly() *benchWorker {
	for _, w := range c.workers {
		select {
		case <-w.exited:
			if !w.killed {
				return w
			}
		default:
		}
	}
	return nil
}

// clusterStatus is the part of GET /api/cluster the benchmark reads.
type clusterStatus struct {
	Generation  int32  `json:"generation"`
	Epoch       int64  `json:"epoch"`
	Coordinator string `json:"coordinator"`
	Self        string `json:"self"`
}

// status asks a worker about its cluster; ok is false while it does not
// answer.
func (c *benchCluster) status(w *benchWorker) (clusterStatus, bool) {
	var st clusterStatus
	resp, err := c.b.http.Get("http://" + w.http + "/api/cluster")
	if err != nil {
		return st, false
	}
	defer resp.Body.Close()
	return st, resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&st) == nil && st.Self != ""
}

// poll calls cond every 10 ms until it returns true, a worker exits, ctx
// ends or limit passes.
func (c *benchCluster) poll(ctx context.Context, what string, limit time.Duration, cond func() bool) error {
	deadline := time.Now().Add(limit)
	for !cond() {
		if w := c.exitedEarly(); w != nil {
			return fmt.Errorf("worker %s exited (%v) while waiting for %s", w.id, w.err, what)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s within %v", what, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
	return nil
}

// lastCheckpoint returns the id of the newest completed checkpoint (0
// when none) and when its metadata was written.
func (c *benchCluster) lastCheckpoint() (uint64, time.Time) {
	metas, _ := filepath.Glob(filepath.Join(c.ckpt, "chk-*", "_metadata"))
	var id uint64
	var at time.Time
	for _, m := range metas {
		n, err := strconv.ParseUint(strings.TrimPrefix(filepath.Base(filepath.Dir(m)), "chk-"), 10, 64)
		if err != nil || n <= id {
			continue
		}
		if fi, err := os.Stat(m); err == nil {
			id, at = n, fi.ModTime()
		}
	}
	return id, at
}

// throughput runs the job to the end of its input on workers processes of
// slots slots each. The error is for a run that failed; mismatch says how
// the windows it wrote differ from the expected ones.
func (b *clusterBench) throughput(ctx context.Context, workers, slots int) (run clusterRun, mismatch, err error) {
	c, err := b.newCluster(ctx, slots, workers, true, 10*time.Second)
	if err != nil {
		return run, nil, err
	}
	defer c.kill()
	rt.GC()
	cpu0 := bench.CPUTime()
	start := time.Now()
	for i := range workers {
		if _, err := c.start(fmt.Sprint("w", i)); err != nil {
			return run, nil, c.failed(err)
		}
	}
	// The job runs once every worker is in an epoch. A short job may end
	// before the first answer: its start then counts from the processes'.
	running := start
	for time.Since(start) < time.Minute {
		in := 0
		for _, w := range c.workers {
			if st, ok := c.status(w); ok && st.Epoch > 0 {
				in++
			}
		}
		if in == workers {
			running = time.Now()
			break
		}
		if c.exitedEarly() != nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	var end time.Time
	var children time.Duration
	for _, w := range c.workers {
		select {
		case <-w.exited:
		case <-ctx.Done():
			return run, nil, ctx.Err()
		case <-time.After(10 * time.Minute):
			return run, nil, c.failed(errors.New("the job did not finish within 10 minutes"))
		}
		if w.err != nil {
			return run, nil, c.failed(fmt.Errorf("worker %s: %w", w.id, w.err))
		}
		if w.ended.After(end) {
			end = w.ended
		}
		children += w.cmd.ProcessState.UserTime() + w.cmd.ProcessState.SystemTime()
	}
	run = clusterRun{workers: workers, slots: slots, job: end.Sub(running), wall: end.Sub(start)}
	run.eventsPerSec = float64(b.cfg.events) / run.job.Seconds()
	cpu := children + bench.CPUTime() - cpu0
	run.cores = cpu.Seconds() / run.wall.Seconds()
	run.cpuPerEvent = cpu / time.Duration(b.cfg.events)
	got, err := b.committed(ctx, c.out, len(b.want))
	if err != nil {
		return run, nil, c.failed(err)
	}
	return run, compareWindows(got, b.want, false), nil
}

// recovery runs 3 workers of 1 slot over the input (unbounded), kills one
// that does not coordinate once a checkpoint completed and measures how
// long until a checkpoint completes in the next generation; then starts a
// fourth and measures the same from its start.
func (b *clusterBench) recovery(ctx context.Context, session time.Duration) (rec recoveryRun, mismatch, err error) {
	rec.session = session
	c, err := b.newCluster(ctx, 1, 3, false, session)
	if err != nil {
		return rec, nil, err
	}
	defer c.kill()
	b.progress("recovery, session timeout %v: starting 3 workers x 1 slot", session)
	for i := range 3 {
		if _, err := c.start(fmt.Sprint("w", i)); err != nil {
			return rec, nil, c.failed(err)
		}
	}
	if err := c.poll(ctx, "completed checkpoint", 2*time.Minute, func() bool { id, _ := c.lastCheckpoint(); return id > 0 }); err != nil {
		return rec, nil, c.failed(err)
	}
	var victim, survivor *benchWorker
	var gen int32
	err = c.poll(ctx, "coordinator named by every worker", time.Minute, func() bool {
		victim, survivor = nil, nil
		coordinators := map[string]bool{}
		for _, w := range c.workers {
			st, ok := c.status(w)
			if !ok || st.Epoch == 0 {
				return false
			}
			coordinators[st.Coordinator] = true
			if st.Self != st.Coordinator {
				victim = w
			} else {
				survivor, gen = w, st.Generation
			}
		}
		return len(coordinators) == 1 && victim != nil && survivor != nil
	})
	if err != nil {
		return rec, nil, c.failed(err)
	}
	kill := time.Now()
	victim.killed = true
	victim.cmd.Process.Signal(syscall.SIGKILL)
	<-victim.exited
	b.progress("killed worker %s (not the coordinator, %s) in generation %d", victim.id, survivor.id, gen)
	detected, recovered, err := c.nextGeneration(ctx, survivor, gen, session+2*time.Minute)
	if err != nil {
		return rec, nil, c.failed(err)
	}
	rec.detected, rec.recovered = detected.Sub(kill), recovered.Sub(kill)
	b.progress("new generation %v after the kill, first checkpoint in it %v after", rec.detected.Round(time.Millisecond), rec.recovered.Round(time.Millisecond))

	st, _ := c.status(survivor)
	joiner, err := c.start("w3")
	if err != nil {
		return rec, nil, c.failed(err)
	}
	joined, joinedCkpt, err := c.nextGeneration(ctx, survivor, st.Generation, 2*time.Minute)
	if err != nil {
		return rec, nil, c.failed(err)
	}
	rec.joined, rec.joinedCkpt = joined.Sub(joiner.started), joinedCkpt.Sub(joiner.started)
	b.progress("started worker w3: new generation %v after, first checkpoint in it %v after", rec.joined.Round(time.Millisecond), rec.joinedCkpt.Round(time.Millisecond))

	got, err := b.committed(ctx, c.out, 0)
	if err != nil {
		return rec, nil, c.failed(err)
	}
	rec.windows = len(got)
	return rec, compareWindows(got, b.want, true), nil
}

// nextGeneration waits until w reports a generation after gen, and then
// for the first checkpoint completed after that; it returns when it saw
// the generation and when the checkpoint's metadata was written.
func (c *benchCluster) nextGeneration(ctx context.Context, w *benchWorker, gen int32, limit time.Duration) (generation, checkpoint time.Time, err error) {
	var before uint64
	err = c.poll(ctx, fmt.Sprintf("generation after %d", gen), limit, func() bool {
		st, ok := c.status(w)
		if ok && st.Generation > gen && st.Epoch > 0 {
			generation = time.Now()
			before, _ = c.lastCheckpoint()
			return true
		}
		return false
	})
	if err != nil {
		return generation, checkpoint, err
	}
	err = c.poll(ctx, "checkpoint in the new generation", time.Minute, func() bool {
		id, at := c.lastCheckpoint()
		checkpoint = at
		return id > before
	})
	return generation, checkpoint, err
}

// committed reads the topic with read_committed isolation from the start
// until it has at least want records and none came for a second.
func (b *clusterBench) committed(ctx context.Context, topic string, want int) ([]string, error) {
	cl, err := b.broker.NewClient(kgo.ConsumeTopics(topic), kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	var got []string
	deadline := time.Now().Add(time.Minute)
	for quiet := 0; len(got) < want || quiet < 4; {
		if time.Now().After(deadline) {
			break
		}
		pctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		n := len(got)
		fs.EachRecord(func(r *kgo.Record) { got = append(got, string(r.Value)) })
		if len(got) == n {
			quiet++
		} else {
			quiet = 0
		}
	}
	return got, nil
}

// compareWindows says how got differs from want, at most five
// differences; nil when they are equal or, with prefix, when got is
// exactly want's first windows.
func compareWindows(got, want []string, prefix bool) error {
	var diffs []string
	switch {
	case prefix && len(got) > len(want):
		diffs = append(diffs, fmt.Sprintf("%d windows written, only %d expected", len(got), len(want)))
	case !prefix && len(got) != len(want):
		diffs = append(diffs, fmt.Sprintf("%d windows written, %d expected", len(got), len(want)))
	}
	for i := range min(len(got), len(want)) {
		if len(diffs) == 5 {
			break
		}
		if g, w := jsonText(got[i]), jsonText(want[i]); g != w {
			diffs = append(diffs, fmt.Sprintf("window %d differs: %s, expected %s", i, around(g, w), around(w, g)))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	return errors.New(strings.Join(diffs, "; "))
}

// around returns the part of s around its first difference from t.
func around(s, t string) string {
	k := 0
	for k < len(s) && k < len(t) && s[k] == t[k] {
		k++
	}
	from, to := max(k-40, 0), min(k+40, len(s))
	out := s[from:to]
	if from > 0 {
		out = "…" + out
	}
	if to < len(s) {
		out += "…"
	}
	return out
}

// jsonText is what a line becomes through a JSON string: bytes that are
// not UTF-8 turn into U+FFFD, as they do in the job's JSON.
func jsonText(s string) string {
	b, _ := json.Marshal(s)
	var back string
	json.Unmarshal(b, &back)
	return back
}

func (rep clusterReport) print(w io.Writer) {
	cfg := rep.cfg
	fmt.Fprintf(w, "weir bench cluster: %s events in %d partitions, window %v, checkpoints every %v, %d CPUs\n",
		progress.Count(cfg.events), cfg.partitions, cfg.window, cfg.interval, rt.NumCPU())
	if rep.oneByTwo.eventsPerSec == 0 {
		return
	}
	fmt.Fprintln(w)
	if len(rep.mismatches) == 0 {
		fmt.Fprintf(w, "results: PASS: every run wrote exactly the expected windows (%d, with %s page views)\n", rep.windows, progress.Count(rep.pageViews))
	} else {
		fmt.Fprintln(w, "results: FAIL: windows differ from the expected ones:")
		for _, m := range rep.mismatches {
			fmt.Fprintln(w, "  "+m)
		}
	}
	fmt.Fprintln(w)
	ratio := rep.twoByOne.eventsPerSec / rep.oneByTwo.eventsPerSec
	fmt.Fprintf(w, "%-20s %12s %8s %8s %6s %10s %8s   %-15s %s\n", "configuration", "events/s", "job", "wall", "cores", "CPU/event", "vs 1x2", "target", "met")
	for _, r := range []clusterRun{rep.oneByTwo, rep.twoByOne} {
		fmt.Fprintf(w, "%-20s %12s %8s %8s %6.2f %10s %8.2f", r.name, progress.Count(int64(r.eventsPerSec)),
			seconds(r.job), seconds(r.wall), r.cores, r.cpuPerEvent.Round(10*time.Nanosecond), r.eventsPerSec/rep.oneByTwo.eventsPerSec)
		if r.workers > 1 {
			fmt.Fprintf(w, "   %-15s %s", fmt.Sprintf(">= %.2f x 1x2", benchClusterTarget), yesNoMet(ratio >= benchClusterTarget))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "(best of %d; events/s over the job's time, from every worker in an epoch to the last exit; wall from\n", cfg.runs)
	fmt.Fprintln(w, " starting the processes; cores and CPU/event: CPU of the workers and of this process, the broker, over")
	fmt.Fprintln(w, " wall and over the events)")
	if len(rep.recoveries) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "recovery: 3 workers x 1 slot, one that does not coordinate killed (SIGKILL); join: a 4th started")
	fmt.Fprintf(w, "%-16s %15s %15s %15s %15s %8s\n", "session timeout", "kill->new gen", "kill->ckpt", "start->new gen", "start->ckpt", "windows")
	for _, r := range rep.recoveries {
		fmt.Fprintf(w, "%-16s %15s %15s %15s %15s %8d\n", r.session, seconds(r.detected), seconds(r.recovered), seconds(r.joined), seconds(r.joinedCkpt), r.windows)
	}
	fmt.Fprintln(w, "(ckpt: the first checkpoint completed in the new generation; windows: written by then, each exact)")
}

// lastChars returns the end of s, at most n bytes.
func lastChars(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.2fs", d.Seconds()) }

func yesNoMet(ok bool) string {
	if ok {
		return "yes"
	}
	return "NO"
}
