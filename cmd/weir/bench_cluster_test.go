package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/progress"
)

// TestBenchClusterUsageErrors: every bad flag of weir bench cluster is
// reported at once, by name, with exit status 2, before anything starts.
func TestBenchClusterUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--events", "0"}, []string{"--events: 0 is not a positive number"}},
		{[]string{"--runs", "0", "--partitions", "0"}, []string{"2 problems", "--runs: 0 is out of range", "--partitions: 0 is out of range"}},
		{[]string{"--session-timeouts", "10s,fast"}, []string{`--session-timeouts: "fast" is not a session timeout`}},
		{[]string{"--session-timeouts", "500ms"}, []string{`"500ms" is not a session timeout of at least 1s`, "or none"}},
		{[]string{"--checkpoint-interval", "1ms"}, []string{"--checkpoint-interval: 1ms is below 10ms"}},
		{[]string{"--window", "1500ms"}, []string{"--window"}},
		{[]string{"--weir", t.TempDir()}, []string{"--weir:", "is not an executable file"}},
		{[]string{"--bogus"}, []string{"--bogus: no such flag"}},
	} {
		r := runIn(t, append([]string{"bench", "cluster"}, tc.args...)...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d\nstderr:\n%s", tc.args, r.code, exitUsage, r.stderr)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, w, r.stderr)
			}
		}
		if r.stdout != "" {
			t.Errorf("%v: wrote to stdout:\n%s", tc.args, r.stdout)
		}
	}
	r := runIn(t, "bench", "nosuch")
	if r.code != exitUsage || !strings.Contains(r.stderr, "pvuv, async, kafka, cluster and nexmark") {
		t.Errorf("weir bench nosuch: exit %d, stderr:\n%s", r.code, r.stderr)
	}
	r = runIn(t, "bench", "cluster", "-h")
	if r.code != exitOK || !strings.Contains(r.stdout, "--session-timeouts") || !strings.Contains(r.stdout, "2 workers x 1 slot") {
		t.Errorf("weir bench cluster -h: exit %d, stdout:\n%s", r.code, r.stdout)
	}
}

// TestCompareWindows: the check of the benchmark's results finds a window
// that differs, one missing, one too many and one repeated; with prefix
// it accepts the first windows of the expected ones, and nothing else.
func TestCompareWindows(t *testing.T) {
	want := []string{`{"pv":1}`, `{"pv":2}`, `{"pv":3}`}
	for _, tc := range []struct {
		got    []string
		prefix bool
		bad    string // in the error; "" for none
	}{
		{want, false, ""},
		{want[:2], false, "2 windows written, 3 expected"},
		{append(want[:3:3], `{"pv":3}`), false, "4 windows written, 3 expected"},
		{[]string{`{"pv":1}`, `{"pv":9}`, `{"pv":3}`}, false, `window 1 differs: {"pv":9}, expected {"pv":2}`},
		{want[:2], true, ""},
		{nil, true, ""},
		{[]string{`{"pv":1}`, `{"pv":1}`}, true, `window 1 differs: {"pv":1}, expected {"pv":2}`},
		{append(want[:3:3], `{"pv":4}`), true, "4 windows written, only 3 expected"},
	} {
		err := compareWindows(tc.got, want, tc.prefix)
		switch {
		case tc.bad == "" && err != nil:
			t.Errorf("%v (prefix %v): %v", tc.got, tc.prefix, err)
		case tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)):
			t.Errorf("%v (prefix %v): error %v, want one with %q", tc.got, tc.prefix, err, tc.bad)
		}
	}
}

// TestBenchCluster runs weir bench cluster end to end, in this process,
// with the weir binary as its workers: both throughput configurations must
// write exactly the expected windows, computed here on their own, and the
// recovery and join run (2s session timeout: a worker killed, one added)
// must report its times and windows that are exact. (That the figures are
// sensible is for people to judge; no timing is asserted.)
func TestBenchCluster(t *testing.T) {
	t.Parallel()
	takeTurn(t, cpuTurn)
	r, windows, pv := runBenchClusterTest(t, "2s")
	for _, want := range []string{
		fmt.Sprintf("results: PASS: every run wrote exactly the expected windows (%d, with %s page views)", windows, progress.Count(pv)),
		"1 worker x 2 slots", "2 workers x 1 slot", ">= 0.80 x 1x2", "session timeout", "kill->ckpt", "start->ckpt",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	var recovery []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, "2s ") {
			recovery = strings.Fields(line)
		}
	}
	if len(recovery) != 6 {
		t.Errorf("no recovery row for the 2s session timeout:\n%s", r.stdout)
	}
	for _, want := range []string{"generated 30,000 lines", "run 1/1, 1 worker x 2 slots:", "run 1/1, 2 workers x 1 slot:", "killed worker", "started worker w3"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("progress on stderr lacks %q:\n%s", want, r.stderr)
		}
	}
}

// runBenchClusterTest runs weir bench cluster over 30,000 lines in 10s windows
// with --session-timeouts sessions, and returns what it did and the
// baseline's windows and page views over the same lines.
func runBenchClusterTest(t *testing.T, sessions string) (r result, windows int, pv int64) {
	t.Helper()
	bin := plainBinary(t)
	res, _ := generate(t, 30000).baselineLines(t, 10*time.Second, 10)
	for _, w := range res.Windows {
		pv += w.PV
	}
	if len(res.Windows) < 3 {
		t.Fatalf("the baseline found %d windows; the test needs several", len(res.Windows))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr syncBuffer
	args := []string{"bench", "cluster", "--weir", bin, "--events", "30000", "--window", "10s",
		"--checkpoint-interval", "200ms", "--session-timeouts", sessions}
	start := time.Now()
	code := run(ctx, args, &stdout, &stderr)
	t.Logf("weir %s: %v", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil || code != exitOK {
		t.Fatalf("exit %d (%v)\nstdout:\n%s\nstderr:\n%s", code, ctx.Err(), stdout.String(), stderr.String())
	}
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}, len(res.Windows), pv
}
