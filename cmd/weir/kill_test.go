package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	plainOnce sync.Once
	plainPath string
	plainErr  error
)

// plainBinary returns a weir binary without the race detector: the kill
// tests run the job many times and need it at full speed (the engine's
// races are checked by the in-process tests). Without -race that is this
// test binary (see asWeirEnv); with it, weir is built once more.
func plainBinary(t *testing.T) string {
	t.Helper()
	if !raceEnabled {
		return weirBinary(t)
	}
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

// TestKillAndResumeExactlyOnce runs weir pvuv with checkpoints every 100 ms
// as a separate process, kills it with SIGKILL at random moments (4 times
// in all, WEIR_SOAK_KILLS times when set: make soak sets 100), starts it
// again each time with the same flags, and lets the last run finish: the
// committed output must equal the exact result, window by window, and the
// dead-letter file must hold every bad line once. See killRounds.
func TestKillAndResumeExactlyOnce(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kill test: skipped with -short")
	}
	t.Run("aligned", func(t *testing.T) { killTest(t) })
	t.Run("unaligned", func(t *testing.T) { killTest(t, "--unaligned-checkpoints") })
}

func killTest(t *testing.T, extra ...string) {
	takeTurn(t, cpuTurn)
	bin := plainBinary(t)
	in := sharedInput(t, killInputLines(1_200_000))
	want := sharedBaseline(t, in, time.Minute, 10)
	killRounds(t, bin, in.files, 500*time.Millisecond, func(_ int, dir string) ([]string, func(kills int)) {
		out := filepath.Join(dir, "out", "pvuv.jsonl")
		bad := filepath.Join(dir, "dead-letters", "bad.jsonl")
		ckpt := filepath.Join(dir, "checkpoints")
		writeLines(t, filepath.Join(dir, "want.jsonl"), want)
		args := []string{"pvuv", "--source", "file://" + in.glob, "--sink", "file://" + out, "--dead-letter", "file://" + bad,
			"--checkpoint-dir", ckpt, "--checkpoint-interval", "100ms", "--parallelism", "2", "--progress", "off"}
		return append(args, extra...), func(kills int) {
			checkFileOutputs(t, bin, in, want, out, bad, ckpt, kills)
		}
	})
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
	// The checkpoints the runs left can be inspected. A round whose runs
	// all ended before their first checkpoint completed (the file job
	// reads 500,000 lines in about a quarter of a second) leaves none.
	metas, _ := filepath.Glob(filepath.Join(ckpt, "chk-*", "_metadata"))
	if len(metas) > 0 {
		insp := runCmd(t, bin, "checkpoint", "inspect", filepath.Dir(metas[len(metas)-1]))
		if insp.code != 0 || !strings.Contains(insp.stdout, `operator "count-clients"`) || !strings.Contains(insp.stdout, "key groups [0, 64)") {
			t.Fatalf("weir checkpoint inspect: exit %d\n%s%s", insp.code, insp.stdout, insp.stderr)
		}
	} else {
		t.Logf("after %d kills: no completed checkpoint left to inspect", kills)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*part*"))
	if len(left) != 0 {
		t.Fatalf("pending part files left behind: %v", left)
	}
}

// writeLines writes lines to path, one a line: what a kill test expected
// or read, kept beside a failed round's output.
func writeLines(t *testing.T, path string, lines []string) {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runCmd runs a binary to its end, at most 120 s.
func runCmd(t *testing.T, bin string, args ...string) result {
	t.Helper()
	return runUntil(t, exec.Command(bin, args...), 120*time.Second)
}
