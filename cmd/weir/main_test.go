package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/bench/baseline"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/internal/progress"
)

// asWeirEnv, set to 1 in the environment, makes this test binary run
// weir's main instead of the tests. The tests that run weir as a separate
// process run this very binary so: it is built already, with the race
// detector when the tests have it, and no go build of the whole command
// stands between them and their first process.
const asWeirEnv = "WEIR_TEST_AS_WEIR"

// defaultParallel is how many tests of this package run at once when
// -test.parallel is not given: most of them wait on processes, sockets
// and timers rather than burn CPU, so they all start together. The few
// that do not take turns (see takeTurn); it is above the count of
// parallel tests, so that those waiting for their turn hold no light
// test back.
const defaultParallel = 64

// The turns of the heavy tests. cpuTurn: tests that keep every core busy
// for a long while (the kill tests, the benchmarks); one at a time,
// as they would run without t.Parallel. timingTurn: tests whose processes
// must not starve for seconds (a cluster's 2 s session timeout, a Kafka
// source's 10 s idleness); one at a time, beside at most one of cpuTurn's.
var (
	cpuTurn    = make(chan struct{}, 1)
	timingTurn = make(chan struct{}, 1)
)

// takeTurn waits until no other test holds turn, and holds it until t
// ends. It comes after t.Parallel.
func takeTurn(t *testing.T, turn chan struct{}) {
	t.Helper()
	turn <- struct{}{}
	t.Cleanup(func() { <-turn })
}

func TestMain(m *testing.M) {
	if os.Getenv(asWeirEnv) == "1" {
		main()
		return
	}
	// Every process the tests start from this binary is weir, and so are
	// the workers weir itself starts from it (weir bench cluster).
	os.Setenv(asWeirEnv, "1")
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		flag.Set("test.parallel", strconv.Itoa(max(defaultParallel, runtime.GOMAXPROCS(0))))
	}
	code := m.Run()
	if plainPath != "" {
		os.Remove(plainPath)
	}
	for _, dir := range sharedDirs {
		os.RemoveAll(dir)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}

// weirBinary returns the path of the binary that runs weir as a separate
// process: this test binary (see asWeirEnv).
func weirBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("the test binary's path: %v", err)
	}
	return exe
}

// goTool returns the go command that runs the tests: the one on PATH.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "go"
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }

// weirCommand returns the command that runs the binary with args.
func weirCommand(t *testing.T, args ...string) *exec.Cmd {
	cmd := exec.Command(weirBinary(t), args...)
	// A race-enabled binary sleeps 1s at exit by default.
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	return cmd
}

// result is what a finished command did.
type result struct {
	code           int
	stdout, stderr string
}

// runWeir runs the binary with args and waits for it, at most 60 s.
func runWeir(t *testing.T, args ...string) result {
	t.Helper()
	return runUntil(t, weirCommand(t, args...), 60*time.Second)
}

// runUntil runs cmd to its end, killing it after limit.
func runUntil(t *testing.T, cmd *exec.Cmd, limit time.Duration) result {
	t.Helper()
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not end in %v; stderr:\n%s", strings.Join(cmd.Args, " "), limit, stderr.String())
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

// input is a generated access log split into two files, and what the
// generator says about it.
type input struct {
	dir   string
	glob  string
	files []string
	lines int
	bad   []string // the bad lines, in order
}

// generate writes n lines of the default generator into two files,
// continuing one sequence, so that a glob gives two splits.
func generate(t *testing.T, n int) input {
	t.Helper()
	in, err := generateIn(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// generateIn is generate, in dir.
func generateIn(dir string, n int) (input, error) {
	g, err := datagen.New()
	if err != nil {
		return input{}, err
	}
	in := input{dir: dir, glob: filepath.Join(dir, "access-*.log"), lines: n}
	var line []byte
	for part := range 2 {
		path := filepath.Join(dir, "access-"+string(rune('0'+part))+".log")
		f, err := os.Create(path)
		if err != nil {
			return input{}, err
		}
		w := bufio.NewWriter(f)
		for range n / 2 {
			var kind datagen.Kind
			line, kind = g.Next(line[:0])
			if kind.Bad() {
				in.bad = append(in.bad, string(line))
			}
			w.Write(line)
			w.WriteByte('\n')
		}
		err = w.Flush()
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return input{}, err
		}
		in.files = append(in.files, path)
	}
	return in, nil
}

// Inputs that several tests read are generated once per test binary, and
// their baselines computed once: for a million lines each costs seconds
// of CPU, many more under the race detector. The tests only read them.
var (
	sharedMu        sync.Mutex
	sharedInputs    = map[int]*shared[input]{}
	sharedBaselines = map[baselineKey]*shared[[]string]{}
	sharedDirs      []string // removed by TestMain
)

// shared is a value made once, by the first test that needs it.
type shared[T any] struct {
	once sync.Once
	v    T
	err  error
}

type baselineKey struct {
	dir    string
	window time.Duration
	topN   int
}

// sharedInput is generate's input of n lines, the same for every test
// that asks for n lines.
func sharedInput(t *testing.T, n int) input {
	t.Helper()
	sharedMu.Lock()
	s := sharedInputs[n]
	if s == nil {
		s = &shared[input]{}
		sharedInputs[n] = s
	}
	sharedMu.Unlock()
	s.once.Do(func() {
		dir, err := os.MkdirTemp("", "weir-cmd-test-input-")
		if err != nil {
			s.err = err
			return
		}
		sharedMu.Lock()
		sharedDirs = append(sharedDirs, dir)
		sharedMu.Unlock()
		s.v, s.err = generateIn(dir, n)
	})
	if s.err != nil {
		t.Fatalf("generate %d lines: %v", n, s.err)
	}
	return s.v
}

// sharedBaseline is baselineLines's lines over a shared input, computed
// once for each window and topN.
func sharedBaseline(t *testing.T, in input, window time.Duration, topN int) []string {
	t.Helper()
	k := baselineKey{in.dir, window, topN}
	sharedMu.Lock()
	s := sharedBaselines[k]
	if s == nil {
		s = &shared[[]string]{}
		sharedBaselines[k] = s
	}
	sharedMu.Unlock()
	s.once.Do(func() { _, s.v, s.err = in.baseline(window, topN) })
	if s.err != nil {
		t.Fatalf("the baseline over %s: %v", in.glob, s.err)
	}
	return s.v
}

// baselineLines returns the baseline's windows over the input, each in
// the job's exact JSON form.
func (in input) baselineLines(t *testing.T, window time.Duration, topN int) (baseline.Result, []string) {
	t.Helper()
	res, lines, err := in.baseline(window, topN)
	if err != nil {
		t.Fatal(err)
	}
	return res, lines
}

// baseline is baselineLines, with an error.
func (in input) baseline(window time.Duration, topN int) (baseline.Result, []string, error) {
	var readers []io.Reader
	for _, p := range in.files {
		f, err := os.Open(p)
		if err != nil {
			return baseline.Result{}, nil, err
		}
		defer f.Close()
		readers = append(readers, f)
	}
	res, err := baseline.Run(io.MultiReader(readers...), window, topN)
	if err != nil {
		return baseline.Result{}, nil, err
	}
	var lines []string
	for _, w := range res.Windows {
		r := pvuv.Result{WindowStart: w.Start, WindowEnd: w.End, PV: w.PV, UV: w.UV, TopPages: []pvuv.PageCount{}}
		for _, p := range w.TopPages {
			r.TopPages = append(r.TopPages, pvuv.PageCount{Page: p.Page, PV: p.PV})
		}
		lines = append(lines, string(r.AppendJSON(nil)))
	}
	return res, lines, nil
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// asJSON is what a line becomes through a JSON string: bytes that are not
// UTF-8 turn into U+FFFD.
func asJSON(t *testing.T, s string) string {
	t.Helper()
	b, _ := json.Marshal(s)
	var back string
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

// TestPVUVGolden runs the job over a generated log and compares its output
// with the hand-written baseline's, window by window and byte for byte:
// window start and end, pv, uv and the top pages ordered by pv descending,
// then page ascending. The log is out of order by at most the job's
// default out-of-orderness, so nothing is late.
func TestPVUVGolden(t *testing.T) {
	t.Parallel()
	in := generate(t, 60_000)
	const window, topN = 10 * time.Second, 10
	want, wantLines := in.baselineLines(t, window, topN)
	if len(wantLines) < 5 {
		t.Fatalf("the baseline found %d windows; the test needs several", len(wantLines))
	}
	if int(want.Bad) != len(in.bad) || len(in.bad) == 0 {
		t.Fatalf("the baseline counts %d bad lines, the generator made %d", want.Bad, len(in.bad))
	}
	var wantBad []string
	for _, l := range in.bad {
		wantBad = append(wantBad, asJSON(t, l))
	}
	slices.Sort(wantBad)

	for _, p := range []string{"1", "2"} {
		t.Run("p"+p, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "out", "pvuv.jsonl")
			bad := filepath.Join(t.TempDir(), "bad.jsonl")
			r := runWeir(t, "pvuv", "--source", "file://"+in.glob, "--sink", "file://"+out, "--dead-letter", "file://"+bad,
				"--window", "10s", "--top", "10", "--parallelism", p)
			if r.code != 0 {
				t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
			}
			got := readLines(t, out)
			if len(got) != len(wantLines) {
				t.Errorf("%d windows, the baseline has %d", len(got), len(wantLines))
			}
			for i := range min(len(got), len(wantLines)) {
				if got[i] != wantLines[i] {
					t.Errorf("window %d:\n got %s\nwant %s", i, got[i], wantLines[i])
				}
			}

			var gotBad []string
			for _, l := range readLines(t, bad) {
				var b struct {
					Line   *string `json:"line"`
					Reason string  `json:"reason"`
				}
				if err := json.Unmarshal([]byte(l), &b); err != nil || b.Line == nil || b.Reason == "" {
					t.Fatalf("dead letter %q: %v; want a line and a reason", l, err)
				}
				gotBad = append(gotBad, *b.Line)
			}
			slices.Sort(gotBad)
			if !slices.Equal(gotBad, wantBad) {
				t.Errorf("the dead-letter file has %d lines; the generator made %d bad lines, which differ", len(gotBad), len(wantBad))
			}
			if !strings.Contains(r.stderr, "weir pvuv: finished after") || !strings.Contains(r.stderr, "60,000 lines ("+progress.Count(int64(len(in.bad)))+" bad)") {
				t.Errorf("no summary line in stderr:\n%s", r.stderr)
			}
		})
	}
}

func TestPVUVStdoutSink(t *testing.T) {
	t.Parallel()
	r := runWeir(t, "pvuv", "--source", "datagen://?limit=5000&seed=2", "--window", "2s", "--top", "3")
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if len(lines) < 2 {
		t.Fatalf("stdout has %d lines:\n%s", len(lines), r.stdout)
	}
	var last time.Time
	for _, l := range lines {
		var res struct {
			Start time.Time `json:"window_start"`
			Top   []any     `json:"top_pages"`
		}
		if err := json.Unmarshal([]byte(l), &res); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if !res.Start.After(last) || len(res.Top) > 3 {
			t.Fatalf("windows out of order or too many top pages: %s", l)
		}
		last = res.Start
	}
}

// TestUsageErrors runs each command line in this process, through run, as
// main does: a usage error starts nothing, so it needs no process of its
// own.
func TestUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string // in stderr
	}{
		{[]string{"pvuv"}, []string{"--source: missing"}},
		{[]string{"pvuv", "--source", "datagen://", "--window", "90ms", "--top", "0", "--parallelism", "x", "--sink", "ftp://x"},
			[]string{"4 problems", "--window: 90ms", "--top: 0", "--parallelism: \"x\"", "--sink: \"ftp://x\""}},
		{[]string{"pvuv", "--source", "datagen://", "--sink", "kafka://127.0.0.1:9092/pvuv"},
			[]string{"--sink: exactly-once delivery to Kafka", "add --checkpoint-dir"}},
		{[]string{"pvuv", "--source", "datagen://", "--early-results", "1s"},
			[]string{"--early-results: running results go to Redis only"}},
		{[]string{"ship", "--logs", "/tmp/x.log"}, []string{"--to: missing"}},
		{[]string{"kafka", "--listen", "10.0.0.1:9092"}, []string{"--listen: the embedded broker listens on loopback only"}},
		{[]string{"kafka", "--group-min-session-timeout", "0s"}, []string{"--group-min-session-timeout: 0s is too short"}},
		{[]string{"pvuv", "--source", "file:///no/such/dir/*.log"}, []string{"--source:", "matches no file", "add ?follow=true"}},
		{[]string{"pvuv", "--source", "datagen://?rat=5"}, []string{"--source:", `no parameter "rat"`}},
		{[]string{"pvuv", "--source", "datagen://", "--dead-letter", "stdout"}, []string{"--dead-letter:"}},
		{[]string{"pvuv", "--nope"}, []string{"--nope: no such flag"}},
		{[]string{"demo", "--rate", "0"}, []string{"--rate: 0"}},
		{[]string{"bench", "pvuv", "--events", "-1", "--window", "1.5s"}, []string{"--events: -1", "--window: 1.5s"}},
		{[]string{"bench"}, []string{"weir bench pvuv"}},
		{[]string{"frobnicate"}, []string{`unknown command "frobnicate"`}},
		{nil, []string{"Usage: weir <command>"}},
	} {
		r := runIn(t, c.args...)
		if r.code != 2 {
			t.Errorf("weir %s: exit %d, want 2\nstderr:\n%s", strings.Join(c.args, " "), r.code, r.stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("weir %s: stderr lacks %q:\n%s", strings.Join(c.args, " "), w, r.stderr)
			}
		}
	}
}

// TestLogLevel: WEIR_LOG_LEVEL=debug shows the debug lines of the engine
// (here the Pebble state backend's), which the default level hides, and a
// level weir does not know is a usage error.
func TestLogLevel(t *testing.T) {
	t.Parallel()
	job := []string{"pvuv", "--source", "datagen://?limit=2000", "--state-backend", "pebble", "--sink", "file://" + filepath.Join(t.TempDir(), "out.jsonl")}
	for _, c := range []struct {
		level string
		debug bool
	}{{"", false}, {"debug", true}, {"DEBUG", true}, {"warn", false}} {
		cmd := weirCommand(t, job...)
		cmd.Env = append(cmd.Env, "WEIR_LOG_LEVEL="+c.level)
		r := runUntil(t, cmd, 60*time.Second)
		if r.code != 0 {
			t.Fatalf("WEIR_LOG_LEVEL=%s: exit %d\n%s", c.level, r.code, r.stderr)
		}
		if got := strings.Contains(r.stderr, "level=DEBUG"); got != c.debug {
			t.Errorf("WEIR_LOG_LEVEL=%s: debug lines shown: %v, want %v\n%s", c.level, got, c.debug, r.stderr)
		}
	}
	cmd := weirCommand(t, "help")
	cmd.Env = append(cmd.Env, "WEIR_LOG_LEVEL=loud")
	if r := runUntil(t, cmd, 60*time.Second); r.code != 2 || !strings.Contains(r.stderr, `WEIR_LOG_LEVEL="loud"`) {
		t.Fatalf("WEIR_LOG_LEVEL=loud: exit %d, want 2 with a message\n%s", r.code, r.stderr)
	}
}

// TestHelp runs in this process, through run, as main does.
func TestHelp(t *testing.T) {
	r := runIn(t, "help")
	if r.code != 0 || !strings.Contains(r.stdout, "pvuv") || !strings.Contains(r.stdout, "bench") {
		t.Fatalf("weir help: exit %d\n%s", r.code, r.stdout)
	}
	for _, args := range [][]string{{"pvuv", "-h"}, {"help", "pvuv"}} {
		r = runIn(t, args...)
		if r.code != 0 {
			t.Fatalf("weir %v: exit %d", args, r.code)
		}
		for _, want := range []string{"--source URL", "--sink URL", "(default stdout)", "--window duration", "(default 1m)",
			"(default 5s)", "(default 0s)", "(default 10)", "--dead-letter", "only counted", "--progress", "datagen://"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("weir %v lacks %q:\n%s", args, want, r.stdout)
			}
		}
	}
	// Every flag is in its command's help.
	for cmd, flags := range map[string][]string{
		"pvuv":      {"--checkpoint-dir DIR", "--http ADDR", "--state-backend NAME", "--state-dir DIR", "--uv MODE", "--restore PATH"},
		"ship":      {"--logs GLOB", "--to URL", "--id ID", "--start-at-end"},
		"kafka":     {"--listen ADDR", "--topics LIST", "--data-dir DIR", "--partitions n"},
		"dashboard": {"--redis URL", "--prefix PREFIX", "--http ADDR"},
		"demo":      {"--http ADDR", "--kafka ADDRS", "--redis URL", "--uv MODE", "--logs DIR"},
		"savepoint": {"--job URL"},
	} {
		r = runIn(t, cmd, "-h")
		for _, want := range flags {
			if r.code != 0 || !strings.Contains(r.stdout, "  "+want+"\n") {
				t.Errorf("weir %s -h: exit %d, lacks %q:\n%s", cmd, r.code, want, r.stdout)
			}
		}
	}
	r = runIn(t, "bench", "pvuv", "-h")
	if r.code != 0 || !strings.Contains(r.stdout, "--events n") || !strings.Contains(r.stdout, "(default 2000000)") || !strings.Contains(r.stdout, "--keep") {
		t.Fatalf("weir bench pvuv -h: exit %d\n%s", r.code, r.stdout)
	}
}

// startWeir starts the binary and returns it with a channel of its stderr
// lines and its stdout.
func startWeir(t *testing.T, args ...string) (*exec.Cmd, <-chan string, *syncBuffer) {
	t.Helper()
	cmd := weirCommand(t, args...)
	stdout := &syncBuffer{}
	cmd.Stdout = stdout
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1000)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, lines, stdout
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitLine waits for a stderr line containing want and returns every line
// read until then.
func waitLine(t *testing.T, lines <-chan string, want string) []string {
	t.Helper()
	var seen []string
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("stderr ended before %q:\n%s", want, strings.Join(seen, "\n"))
			}
			seen = append(seen, l)
			if strings.Contains(l, want) {
				return seen
			}
		case <-timeout:
			t.Fatalf("no %q on stderr in 30s:\n%s", want, strings.Join(seen, "\n"))
		}
	}
}

// TestInterrupt stops an endless job with SIGINT: it exits 0 after a
// summary line.
func TestInterrupt(t *testing.T) {
	t.Parallel()
	cmd, lines, _ := startWeir(t, "pvuv", "--source", "datagen://?rate=20000", "--progress", "100ms", "--sink", "file://"+filepath.Join(t.TempDir(), "out.jsonl"))
	seen := waitLine(t, lines, "msg=progress")
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	seen = append(seen, waitLine(t, lines, "weir pvuv: stopped after")...)
	for range lines {
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit: %v; stderr:\n%s", err, strings.Join(seen, "\n"))
	}
	if !strings.Contains(strings.Join(seen, "\n"), "lines_per_sec=") {
		t.Errorf("no progress figures on stderr:\n%s", strings.Join(seen, "\n"))
	}
}

// TestDemo runs the demo until it printed a window, then stops it.
func TestDemo(t *testing.T) {
	t.Parallel()
	cmd, lines, stdout := startWeir(t, "demo", "--rate", "5000", "--window", "2s", "--http", "127.0.0.1:0")
	go func() {
		for range lines { // drain the logs
		}
	}()
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(stdout.String(), "  pv=") {
		if time.Now().After(deadline) {
			t.Fatalf("no window in 90s; stdout:\n%s", stdout.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out := stdout.String()
	if !strings.HasPrefix(out, "weir demo: 5000 access-log lines per second") || !strings.Contains(out, "  dashboard   http://127.0.0.1:") {
		t.Errorf("no banner with the dashboard's address:\n%s", out)
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "pv=") && (!strings.Contains(l, "uv=") || !strings.Contains(l, "top: /p/") || !strings.Contains(l, "–")) {
			t.Errorf("window line %q is not like 07:40:00–07:40:10  pv=1234  uv=567  top: /a (99), ...", l)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("weir demo did not stop within 30s of SIGTERM")
	}
}

func TestBenchPVUV(t *testing.T) {
	t.Parallel()
	takeTurn(t, cpuTurn)
	r := runWeir(t, "bench", "pvuv", "--events", "50000")
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"results: PASS", "baseline", "weir p1", "weir p2", "events/s", "p2/p1", ">= 0.50 x baseline", ">= 1.60 x p1",
		"each alone at its peak", "peak RSS, weir p1 over baseline", "without the pages of weir's binary"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}
