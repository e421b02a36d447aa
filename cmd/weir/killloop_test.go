package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The kill tests' knobs. Environment variables rather than test flags: a
// flag that only this package defines breaks `go test ./...` in every
// other package ("flag provided but not defined"), while a variable works
// with any package pattern, and go test keys its cache on the variables a
// test reads.
const (
	// killsEnv sets how many SIGKILLs each kill test delivers, at least,
	// per path. make soak sets 100.
	killsEnv = "WEIR_SOAK_KILLS"
	// seedEnv fixes the seed of the random kill times, to repeat a soak's
	// draws (the times also scale with how long an uninterrupted run
	// takes, which the test measures).
	seedEnv = "WEIR_SOAK_SEED"
	// defaultKills keeps the kill tests in make test quick and still
	// meaningful: several kills, most of them resumed from a checkpoint,
	// and the output checked after each round.
	defaultKills = 4
)

// testKillLines is the size of the kill tests' input in make test: a run
// of the job over it takes about half a second on a quiet machine, two or
// three checkpoint intervals, so kills still land before, between and
// after checkpoints; all four paths read the one input.
const testKillLines = 500_000

// killInputLines returns the number of lines of a kill test's input: soak
// under make soak (killsEnv set), the size its figures in
// docs/benchmarks.md were measured with, and testKillLines otherwise.
func killInputLines(soak int) int {
	if os.Getenv(killsEnv) != "" {
		return soak
	}
	return testKillLines
}

// soakKills returns the number of kills a kill test delivers per path.
func soakKills(t *testing.T) int {
	t.Helper()
	s := os.Getenv(killsEnv)
	if s == "" {
		return defaultKills
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a number of kills of 1 or more, as in %s=100", killsEnv, s, killsEnv)
	}
	return n
}

// soakSeed returns the seed of the kill times: seedEnv's, or a new one.
func soakSeed(t *testing.T) uint64 {
	t.Helper()
	s := os.Getenv(seedEnv)
	if s == "" {
		return uint64(time.Now().UnixNano())
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: want the seed a failed kill test printed, a number", seedEnv, s)
	}
	return n
}

// evidenceDir makes a directory for a kill test's rounds that outlives a
// failed test (t.TempDir is removed whatever the outcome): it is removed
// when the test passes and kept, and named in the log, when it fails, with
// the input files linked into it (the generator is seeded, but a failure
// is quicker to study with the very bytes at hand).
func evidenceDir(t *testing.T, inputs []string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "weir-kill-"+strings.ReplaceAll(t.Name(), "/", "-")+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			os.RemoveAll(dir)
			return
		}
		in := filepath.Join(dir, "input")
		os.Mkdir(in, 0o755)
		for _, f := range inputs {
			if err := os.Link(f, filepath.Join(in, filepath.Base(f))); err != nil {
				t.Logf("the input %s is not kept: %v", f, err)
			}
		}
		t.Logf("evidence kept in %s: the failed round's directory holds runs.log (the command and how each run ended), "+
			"each run's stderr (run-NN.stderr), the checkpoint directory, the output and the expected output; input/ holds the input", dir)
	})
	return dir
}

// killStats is what a kill loop did, for its summary line.
type killStats struct {
	kills    int           // runs ended by SIGKILL
	rounds   int           // rounds begun: each a fresh job run until it finished
	runs     int           // job runs in the rounds, killed or finished
	restarts int           // runs started after a kill (as many as kills)
	restored int           // runs that restored a checkpoint
	killedIn time.Duration // the killed runs' lifetimes, summed
	wall     time.Duration // the rounds, from the first start to the last check
}

// killRounds runs a job as a separate process and kills it with SIGKILL at
// random moments, each time starting it again with the same flags, until a
// run finishes; then it checks the round's output. A finished job does not
// run again (its output is complete), so when a round ends with fewer than
// soakKills kills in all, a fresh round follows, with the arguments that
// newRound gives for it in the round's own directory. Kills come at 10-90%
// of the time an uninterrupted run takes (at least minTypical), measured
// first with round -1 and again whenever a round's first run finishes: on
// a shared machine it changes.
//
// Each round's directory holds runs.log, each run's stderr and whatever
// newRound puts there (the checkpoint directory, the output); it is
// removed once the round's check passes, and the directory of a failing
// round is kept, with the input files linked beside it (see evidenceDir).
// A summary line ends the test's log, whatever the outcome.
func killRounds(t *testing.T, bin string, inputs []string, minTypical time.Duration, newRound func(round int, dir string) (args []string, verify func(kills int))) {
	t.Helper()
	minKills := soakKills(t)
	seed := soakSeed(t)
	rng := rand.New(rand.NewPCG(seed, 7))
	t.Logf("at least %d kills; kill times drawn with seed %d (%s=%d draws them again)", minKills, seed, seedEnv, seed)
	base := evidenceDir(t, inputs)

	var (
		st    killStats
		stage = "the uninterrupted run" // what was under way, for a failure
		began time.Time
	)
	defer func() {
		if !began.IsZero() {
			st.wall = time.Since(began)
		}
		t.Log(st.summary(t.Name(), stage, t.Failed()))
	}()

	dir := filepath.Join(base, "uninterrupted")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	args, _ := newRound(-1, dir)
	started := time.Now()
	res := runCmd(t, bin, args...)
	if res.code != 0 {
		t.Fatalf("an uninterrupted run: exit %d\n%s", res.code, res.stderr)
	}
	typical := max(time.Since(started), minTypical)
	t.Logf("an uninterrupted run takes %v", typical)
	if testing.Verbose() {
		t.Logf("%s", res.stderr)
	}
	os.RemoveAll(dir)

	began = time.Now()
	idle := 0 // rounds in a row that finished without a kill
	for round := 0; st.kills < minKills; round++ {
		stage = fmt.Sprintf("round %d", round)
		if idle >= 10 {
			t.Fatalf("%d rounds in a row finished before their kill: the job keeps finishing first (%d kills so far)", idle, st.kills)
		}
		st.rounds++
		dir := filepath.Join(base, fmt.Sprintf("round-%03d", round))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		runsLog, err := os.Create(filepath.Join(dir, "runs.log"))
		if err != nil {
			t.Fatal(err)
		}
		args, verify := newRound(round, dir)
		fmt.Fprintf(runsLog, "%s %s\n", bin, strings.Join(args, " "))
		roundKills := 0
		for run := 1; ; run++ {
			if roundKills > 100 {
				t.Fatalf("round %d: killed %d times without the job ever finishing: it makes no progress", round, roundKills)
			}
			stderrPath := filepath.Join(dir, fmt.Sprintf("run-%02d.stderr", run))
			stderrFile, err := os.Create(stderrPath)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, args...)
			cmd.Stderr = stderrFile
			started := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			st.runs++
			if roundKills > 0 {
				st.restarts++
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			finished := false
			after := time.Duration(float64(typical) * (0.1 + 0.8*rng.Float64()))
			// Every other kill waits, after its drawn moment, until the run
			// completed a checkpoint of its own, so that half the restarts
			// at least restore one: on a fast machine a whole run takes
			// little more than a few checkpoint intervals.
			needCheckpoint, before := st.kills%2 == 0, newestCheckpoint(args)
			select {
			case err = <-done:
				finished = true
			case <-time.After(after):
				if needCheckpoint {
					finished, err = awaitCheckpoint(done, args, before)
				}
				if finished {
					break
				}
				cmd.Process.Signal(syscall.SIGKILL)
				err = <-done
				if err == nil { // it finished just before the kill
					finished = true
				} else {
					st.kills++
					roundKills++
					st.killedIn += time.Since(started)
				}
			}
			lived := time.Since(started)
			stderrFile.Close()
			stderr, _ := os.ReadFile(stderrPath)
			restored := strings.Contains(string(stderr), "restoring")
			if restored {
				st.restored++
			}
			how := "killed"
			if finished {
				how = "finished"
				if err != nil {
					how = "failed: " + err.Error()
				}
			}
			fmt.Fprintf(runsLog, "run %d: %s after %v (kill drawn at %v), restored a checkpoint: %v\n",
				run, how, lived.Round(time.Millisecond), after.Round(time.Millisecond), restored)
			if finished {
				if err != nil {
					runsLog.Close()
					t.Fatalf("round %d failed after %d kills: %v\n%s", round, roundKills, err, stderr)
				}
				if roundKills == 0 {
					// An uninterrupted run again: the machine's load
					// changes, and kill times follow it.
					typical = max(lived, minTypical)
				}
				break
			}
		}
		runsLog.Close()
		if roundKills == 0 {
			idle++
		} else {
			idle = 0
		}
		t.Logf("round %d: %d runs killed, then one finished", round, roundKills)
		// A run started after the finish does nothing.
		res := runCmd(t, bin, args...)
		if res.code != 0 || !strings.Contains(res.stderr, "already finished") {
			t.Fatalf("round %d: a run after the job finished: exit %d\n%s", round, res.code, res.stderr)
		}
		verify(roundKills)
		if !t.Failed() {
			os.RemoveAll(dir)
		}
	}
	stage = "the count of restores"
	if st.restored < st.kills/2 {
		t.Fatalf("only %d of %d runs restored a checkpoint: the kills came before any checkpoint completed", st.restored, st.kills)
	}
}

// summary is the line a kill test ends with: the figures make soak prints
// and docs/benchmarks.md reports. stage is what was under way when the
// test failed.
func (s killStats) summary(name, stage string, failed bool) string {
	var perCycle, lived time.Duration
	if s.kills > 0 {
		perCycle = s.wall / time.Duration(s.kills)
		lived = s.killedIn / time.Duration(s.kills)
	}
	outcome := "output exact in every round"
	if failed {
		outcome = "FAILED in " + stage + " (see above)"
	}
	return fmt.Sprintf("soak summary: %s: %d kills in %d rounds, %d runs, %d restarts, %d runs restored a checkpoint; "+
		"%v in all, %v per kill and resume (a killed run lived %v on average); %s",
		name, s.kills, s.rounds, s.runs, s.restarts, s.restored,
		s.wall.Round(time.Second), perCycle.Round(10*time.Millisecond), lived.Round(10*time.Millisecond), outcome)
}

// newestCheckpoint returns the newest completed checkpoint in the
// --checkpoint-dir of args, "" when there is none. Checkpoint directories'
// names sort in the order of their ids.
func newestCheckpoint(args []string) string {
	i := slices.Index(args, "--checkpoint-dir")
	if i < 0 || i+1 >= len(args) {
		return ""
	}
	metas, _ := filepath.Glob(filepath.Join(args[i+1], "chk-*", "_metadata"))
	if len(metas) == 0 {
		return ""
	}
	return slices.Max(metas)
}

// awaitCheckpoint waits until a checkpoint newer than before completed in
// the --checkpoint-dir of args, or the run ended (done): then it returns
// true with the run's result.
func awaitCheckpoint(done <-chan error, args []string, before string) (finished bool, err error) {
	for newestCheckpoint(args) == before {
		select {
		case err := <-done:
			return true, err
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false, nil
}
