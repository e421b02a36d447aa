package main

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	plainOnce sync.Once
	plainPath string
	plainErr  error
)

// plainBinary builds weir without the race detector: the kill test runs
// the job many times and needs it at full speed (the engine's races are
// checked by the in-process tests).
func plainBinary(t *testing.T) string {
	t.Helper()
	plainOnce.Do(func() {
		f, err := os.CreateTemp("", "weir-kill-test-")
		if err != nil {
			plainErr = err
			return
		}
		f.Close()
		plainPath = f.Name() // removed by TestMain
		out, err := exec.Command(goTool(), "build", "-o", plainPath, ".").CombinedOutput()
		if err != nil {
			plainErr = &buildError{err: err, out: string(out)}
		}
	})
	if plainErr != nil {
		t.Fatalf("go build: %v", plainErr)
	}
	return plainPath
}

// TestKillAndResumeExactlyOnce runs weir pvuv with checkpoints every 200 ms
// as a separate process, kills it with SIGKILL at random moments at least
// 20 times, starts it again each time with the same flags, and lets the
// last run finish: the committed output must equal the exact result,
// window by window, and the dead-letter file must hold every bad line once.
func TestKillAndResumeExactlyOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("kill test: skipped with -short")
	}
	t.Run("aligned", func(t *testing.T) { killTest(t) })
	t.Run("unaligned", func(t *testing.T) { killTest(t, "--unaligned-checkpoints") })
}

func killTest(t *testing.T, extra ...string) {
	bin := plainBinary(t)
	in := generate(t, 1_200_000)
	_, want := in.baselineLines(t, time.Minute, 10)
	killRounds(t, bin, 20, 500*time.Millisecond, func(int) ([]string, func(kills int)) {
		out := filepath.Join(t.TempDir(), "pvuv.jsonl")
		bad := filepath.Join(t.TempDir(), "bad.jsonl")
		ckpt := t.TempDir()
		args := []string{"pvuv", "--source", "file://" + in.glob, "--sink", "file://" + out, "--dead-letter", "file://" + bad,
			"--checkpoint-dir", ckpt, "--checkpoint-interval", "200ms", "--parallelism", "2", "--progress", "off"}
		return append(args, extra...), func(kills int) {
			checkFileOutputs(t, bin, in, want, out, bad, ckpt, kills)
		}
	})
}

// killRounds runs a job as a separate process and kills it with SIGKILL at
// random moments, each time starting it again with the same flags, until a
// run finishes; then it checks the round's output. A finished job does not
// run again (its output is complete), so when a round ends with fewer than
// minKills kills in all, a fresh round follows, with the arguments that
// newRound gives for it. Kills come at 10-90% of the time an uninterrupted
// run takes (at least minTypical), measured first with round -1 and again
// whenever a round's first run finishes: on a shared machine it changes.
func killRounds(t *testing.T, bin string, minKills int, minTypical time.Duration, newRound func(round int) (args []string, verify func(kills int))) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	args, _ := newRound(-1)
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
	kills, restored := 0, 0
	for round := 0; kills < minKills; round++ {
		if round > 30 {
			t.Fatalf("only %d kills in %d rounds: the job keeps finishing first", kills, round)
		}
		args, verify := newRound(round)
		roundKills := 0
		for {
			if roundKills > 100 {
				t.Fatalf("round %d: killed %d times without the job ever finishing: it makes no progress", round, roundKills)
			}
			cmd := exec.Command(bin, args...)
			var stderr syncBuffer
			cmd.Stderr = &stderr
			started := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			var err error
			finished := false
			select {
			case err = <-done:
				finished = true
			case <-time.After(time.Duration(float64(typical) * (0.1 + 0.8*rng.Float64()))):
				cmd.Process.Signal(syscall.SIGKILL)
				err = <-done
				if err == nil { // it finished just before the kill
					finished = true
				} else {
					kills++
					roundKills++
				}
			}
			if strings.Contains(stderr.String(), "restoring") {
				restored++
			}
			if finished {
				if err != nil {
					t.Fatalf("round %d failed after %d kills: %v\n%s", round, roundKills, err, stderr.String())
				}
				if roundKills == 0 {
					// An uninterrupted run again: the machine's load
					// changes, and kill times follow it.
					typical = max(time.Since(started), minTypical)
				}
				break
			}
		}
		t.Logf("round %d: %d runs killed, then one finished", round, roundKills)
		// A run started after the finish does nothing.
		res := runCmd(t, bin, args...)
		if res.code != 0 || !strings.Contains(res.stderr, "already finished") {
			t.Fatalf("round %d: a run after the job finished: exit %d\n%s", round, res.code, res.stderr)
		}
		verify(roundKills)
	}
	if restored < kills/2 {
		t.Fatalf("only %d of %d runs restored a checkpoint: the kills came before any checkpoint completed", restored, kills)
	}
}

// checkFileOutputs checks one round of the file kill test.
func checkFileOutputs(t *testing.T, bin string, in input, want []string, out, bad, ckpt string, kills int) {
	t.Helper()
	got := readLines(t, out)
	if len(got) != len(want) {
		t.Fatalf("after %d kills: %d windows, want %d", kills, len(got), len(want))
	}
	for i := range want {
		if asJSON(t, got[i]) != asJSON(t, want[i]) {
			t.Fatalf("after %d kills, window %d:\n got %s\nwant %s", kills, i, got[i], want[i])
		}
	}
	badLines := readLines(t, bad)
	if len(badLines) != len(in.bad) {
		t.Fatalf("after %d kills: %d dead letters, want %d", kills, len(badLines), len(in.bad))
	}
	// The same multiset of lines: none lost, none twice. (The input may
	// hold equal bad lines; JSON turns invalid UTF-8 into U+FFFD, so the
	// expected lines go through the same encoding.)
	var gotBad, wantBad []string
	for _, b := range badLines {
		var d struct{ Line string }
		if err := json.Unmarshal([]byte(b), &d); err != nil {
			t.Fatalf("dead letter %q: %v", b, err)
		}
		gotBad = append(gotBad, d.Line)
	}
	for _, l := range in.bad {
		enc, _ := json.Marshal(l)
		var s string
		json.Unmarshal(enc, &s)
		wantBad = append(wantBad, s)
	}
	slices.Sort(gotBad)
	slices.Sort(wantBad)
	if !slices.Equal(gotBad, wantBad) {
		t.Fatalf("after %d kills: the dead letters differ from the input's bad lines", kills)
	}
	// The checkpoints the runs left can be inspected.
	metas, _ := filepath.Glob(filepath.Join(ckpt, "chk-*", "_metadata"))
	if len(metas) == 0 {
		t.Fatal("no completed checkpoint left in the checkpoint directory")
	}
	insp := runCmd(t, bin, "checkpoint", "inspect", filepath.Dir(metas[len(metas)-1]))
	if insp.code != 0 || !strings.Contains(insp.stdout, `operator "count-clients"`) || !strings.Contains(insp.stdout, "key groups [0, 64)") {
		t.Fatalf("weir checkpoint inspect: exit %d\n%s%s", insp.code, insp.stdout, insp.stderr)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*part*"))
	if len(left) != 0 {
		t.Fatalf("pending part files left behind: %v", left)
	}
}

// runCmd runs a binary to its end, at most 120 s.
func runCmd(t *testing.T, bin string, args ...string) result {
	t.Helper()
	return runUntil(t, exec.Command(bin, args...), 120*time.Second)
}
