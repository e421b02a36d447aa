package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/freeport"
)

// clusterWorker is one process of a weir pvuv cluster.
type clusterWorker struct {
	id, advertise, http string
	args                []string
	env                 []string // added to the test's environment
	cmd                 *exec.Cmd
	exited              chan error
	log                 *os.File
}

func (w *clusterWorker) start(t *testing.T, bin string) {
	t.Helper()
	w.cmd = exec.Command(bin, w.args...)
	if w.env != nil {
		w.cmd.Env = append(os.Environ(), w.env...)
	}
	w.cmd.Stdout, w.cmd.Stderr = w.log, w.log
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.exited = make(chan error, 1)
	go func(cmd *exec.Cmd, exited chan error) { exited <- cmd.Wait() }(w.cmd, w.exited)
}

// coordinates reports whether the worker says it is its cluster's
// coordinator (GET /api/cluster).
func (w *clusterWorker) coordinates() bool {
	resp, err := http.Get("http://" + w.http + "/api/cluster")
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var st struct{ Coordinator, Self string }
	return json.NewDecoder(resp.Body).Decode(&st) == nil && st.Coordinator == st.Self && st.Self != ""
}

// freePort returns a loopback address with a port that is free now, that
// no other call in this test process returned, and that no listener on
// port 0 (a broker, a server, another test's process) can take before the
// process it is meant for binds it (freeport.Loopback).
func freePort(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Loopback()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestClusterKillAndResumeExactlyOnce runs weir pvuv as three processes of
// one cluster against the in-process broker: they read the access topic
// (bounded) and write their windows with transactions, with checkpoints
// every 200 ms in a shared directory. Workers are killed with SIGKILL at
// random moments (the coordinator first, then any), each started again at
// once with its command line (static membership gives it its work back),
// and one is killed and left out until the others rescale, then started
// again. A read_committed consumer must see exactly the expected windows.
//
// With WEIR_SOAK_KILLS=N (make soak) it runs rounds, each a new cluster
// over the same input into a topic of its own, until N kills were made.
func TestClusterKillAndResumeExactlyOnce(t *testing.T) {
	t.Parallel()
	takeTurn(t, timingTurn)
	if testing.Short() {
		t.Skip("kill test: skipped with -short")
	}
	bin := plainBinary(t)
	in := sharedInput(t, 1_000_000)
	want := sharedBaseline(t, in, time.Minute, 10)
	// The broker in a plain process of its own, as for the other kill
	// paths: in the race-instrumented test process it took most of a
	// minute to take the lines, and slowed every worker's reads.
	broker, _ := accessBroker(t, bin, in, "--group-min-session-timeout", "100ms")

	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("WEIR_SOAK_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("kill times: WEIR_SOAK_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	target := 3
	if n, err := strconv.Atoi(os.Getenv("WEIR_SOAK_KILLS")); err == nil && n > target {
		target = n
	}
	kills, rounds, start := 0, 0, time.Now()
	for kills < target {
		kills += clusterKillRound(t, bin, broker, rounds, rng, max(target-kills, 3), want)
		rounds++
		if rounds == 1 && target <= 3 {
			break // make test: one round
		}
	}
	t.Logf("soak summary: cluster kafka -> kafka: %d kills in %d rounds, %v, every round exact", kills, rounds, time.Since(start).Round(time.Second))
}

// clusterKillRound runs one round of TestClusterKillAndResumeExactlyOnce:
// a cluster named after the round, killed up to kills times, whose
// committed windows must equal want. It returns the kills it made.
func clusterKillRound(t *testing.T, bin, broker string, round int, rng *rand.Rand, kills int, want []string) int {
	t.Helper()
	out := fmt.Sprint("pvuv-", round)
	// One partition, so that the windows come out in the order written.
	if _, err := newAdmin(t, broker).CreateTopic(context.Background(), 1, 1, nil, out); err != nil {
		t.Fatal(err)
	}
	var err error
	dir := t.TempDir()
	workers := make([]*clusterWorker, 3)
	for i := range workers {
		w := &clusterWorker{id: fmt.Sprint("w", i), advertise: freePort(t), http: freePort(t)}
		workers[i] = w
		w.args = []string{"pvuv",
			"--source", "kafka://" + broker + "/access?bounded=true&group=" + out,
			"--sink", "kafka://" + broker + "/" + out,
			"--checkpoint-dir", filepath.Join(dir, "checkpoints"), "--checkpoint-interval", "200ms",
			"--cluster", "kafka://" + broker + "/" + out + "-cluster", "--advertise", w.advertise, "--worker-id", w.id,
			"--slots", "1", "--min-workers", "3", "--session-timeout", "2s", "--http", w.http, "--progress", "off"}
		if w.log, err = os.Create(filepath.Join(dir, w.id+".log")); err != nil {
			t.Fatal(err)
		}
		defer w.log.Close()
		w.start(t, bin)
		defer w.cmd.Process.Kill()
	}
	failed := func(format string, args ...any) {
		t.Helper()
		for _, w := range workers {
			b, _ := os.ReadFile(w.log.Name())
			t.Logf("worker %s:\n%s", w.id, tail(string(b), 3000))
		}
		t.Fatalf(format, args...)
	}

	made := 0
	completed := func() int {
		metas, _ := filepath.Glob(filepath.Join(dir, "checkpoints", "chk-*", "_metadata"))
		return len(metas)
	}
	for k := 0; k < kills; k++ {
		// Each kill comes after a checkpoint completed since the last one,
		// at a random moment of the next.
		before, waited := completed(), time.Now()
		for completed() <= before && time.Since(waited) < 20*time.Second && !done(workers) {
			time.Sleep(20 * time.Millisecond)
		}
		if done(workers) {
			break
		}
		time.Sleep(time.Duration(rng.IntN(400)) * time.Millisecond)
		victim := workers[rng.IntN(len(workers))]
		if k == 0 {
			for _, w := range workers {
				if w.coordinates() {
					victim = w
				}
			}
		}
		select {
		case err := <-victim.exited:
			victim.exited <- err
			continue // the job is done already
		default:
		}
		victim.cmd.Process.Signal(syscall.SIGKILL)
		<-victim.exited
		made++
		if k == 1 {
			// Left out past the session timeout: the others rescale to two
			// workers, restore, and go on; then it comes back.
			time.Sleep(3 * time.Second)
		}
		victim.start(t, bin)
	}
	t.Logf("round %d: %d kills", round, made)

	deadline := time.After(3 * time.Minute)
	for _, w := range workers {
		select {
		case err := <-w.exited:
			if err != nil {
				failed("worker %s: %v", w.id, err)
			}
		case <-deadline:
			failed("the cluster did not finish the job within 3 minutes")
		}
	}
	// The workers restored checkpoints after the kills, at more than one
	// parallelism: the test is about that.
	restores, parallelisms := 0, map[string]bool{}
	for _, w := range workers {
		b, _ := os.ReadFile(w.log.Name())
		for _, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "cluster: epoch") {
				if !strings.Contains(line, `restore=""`) {
					restores++
				}
				if i := strings.Index(line, "parallelism="); i >= 0 {
					parallelisms[line[i:]] = true
				}
			}
		}
	}
	t.Logf("%d epochs of workers restored a checkpoint; parallelisms %v", restores, parallelisms)
	if os.Getenv("WEIR_CLUSTER_LOGS") != "" {
		for _, w := range workers {
			b, _ := os.ReadFile(w.log.Name())
			t.Logf("worker %s:\n%s", w.id, b)
		}
	}
	if restores == 0 || made >= 2 && len(parallelisms) < 2 {
		failed("the workers restored %d checkpoints at parallelisms %v: the kills came too early or too late to test recovery", restores, parallelisms)
	}
	got := consumeCommitted(t, broker, out, len(want))
	if len(got) != len(want) {
		failed("after %d kills: %d windows in the topic, want %d", made, len(got), len(want))
	}
	for i := range want {
		if asJSON(t, got[i]) != asJSON(t, want[i]) {
			for j := range want {
				t.Logf("window %d\n got %.120s\nwant %.120s", j, got[j], want[j])
			}
			failed("after %d kills, window %d:\n got %s\nwant %s", made, i, got[i], want[i])
		}
	}
	return made
}

// done reports whether a worker exited: the job is over.
func done(workers []*clusterWorker) bool {
	for _, w := range workers {
		select {
		case err := <-w.exited:
			w.exited <- err
			return true
		default:
		}
	}
	return false
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
