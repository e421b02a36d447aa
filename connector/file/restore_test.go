package file_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/weirtest"
)

// restoreInput is the deterministic input of the restore tests.
func restoreInput(n int) []string {
	in := make([]string, n)
	for i := range in {
		in[i] = fmt.Sprintf("line %05d", i)
	}
	return in
}

// runLines runs a job that copies input to a line sink at out with the
// given sink parallelism, checkpointing often into checkpoints and keeping
// every checkpoint; restore, if not empty, is the checkpoint to start from.
func runLines(t *testing.T, input []string, out, checkpoints string, sinkParallelism int, restore string) {
	t.Helper()
	opts := []weir.EnvOption{
		weir.Parallelism(2),
		weir.Checkpoints(10*time.Millisecond, checkpoints),
		weir.RetainCheckpoints(1000),
		weir.Restart(weir.NoRestart()),
	}
	if restore != "" {
		opts = append(opts, weir.RestoreFrom(restore))
	}
	env := weir.NewEnv(opts...)
	src := weirtest.FromSlice(input...)
	src.BatchSize = 10
	src.Delay = 2 * time.Millisecond
	lines := weir.FromSource(env, src, weir.Name("source"))
	snk, err := file.NewLineSink(out)
	if err != nil {
		t.Fatal(err)
	}
	weir.SinkTo(lines, snk, weir.Name("out"), weir.Parallelism(sinkParallelism))
	if err := env.Execute(context.Background(), "copy"); err != nil {
		t.Fatal(err)
	}
}

// outputLines returns the lines of every published sink file of out (out
// itself and its per-subtask files), sorted.
func outputLines(t *testing.T, out string) []string {
	t.Helper()
	ext := filepath.Ext(out)
	files, err := filepath.Glob(strings.TrimSuffix(out, ext) + "*" + ext)
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) == 0 {
			continue
		}
		if b[len(b)-1] != '\n' {
			t.Fatalf("%s ends in a partial line", f)
		}
		all = append(all, strings.Split(string(b[:len(b)-1]), "\n")...)
	}
	slices.Sort(all)
	return all
}

// olderCheckpoints returns the completed checkpoints in dir, oldest first,
// less the newest.
func olderCheckpoints(t *testing.T, dir string) []string {
	t.Helper()
	metas, err := filepath.Glob(filepath.Join(dir, "chk-*", "_metadata"))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(metas)
	if len(metas) < 3 {
		t.Fatalf("the first run completed %d checkpoints; the test needs at least 3", len(metas))
	}
	var dirs []string
	for _, m := range metas[:len(metas)-1] {
		dirs = append(dirs, filepath.Dir(m))
	}
	return dirs
}

// TestRestoreOlderCheckpointIsExact runs a job to its end, then runs it
// again from an older checkpoint, at the same and at other sink
// parallelisms: every input line is in the output exactly once, as after a
// single run. The files are cut back to what the restored checkpoint had
// published, including files of subtasks that no longer exist.
func TestRestoreOlderCheckpointIsExact(t *testing.T) {
	input := restoreInput(3000)
	want := slices.Sorted(slices.Values(input))
	cases := []struct {
		name          string
		first, second int
	}{
		{"p1", 1, 1},
		{"p2", 2, 2},
		{"p2-to-p1", 2, 1},
		{"p1-to-p3", 1, 3},
		{"p3-to-p2", 3, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out", "lines.txt")
			checkpoints := filepath.Join(dir, "checkpoints")
			runLines(t, input, out, checkpoints, tc.first, "")
			if got := outputLines(t, out); !slices.Equal(got, want) {
				t.Fatalf("the first run wrote %d lines, want %d", len(got), len(want))
			}
			older := olderCheckpoints(t, checkpoints)
			from := older[len(older)/2]
			runLines(t, input, out, checkpoints, tc.second, from)
			got := outputLines(t, out)
			if !slices.Equal(got, want) {
				t.Fatalf("restored from %s: %d lines, want %d; %s", filepath.Base(from), len(got), len(want), diff(got, want))
			}
		})
	}
}

// diff describes how got differs from want, both sorted.
func diff(got, want []string) string {
	count := map[string]int{}
	for _, l := range want {
		count[l]--
	}
	for _, l := range got {
		count[l]++
	}
	var dup, lost []string
	for _, l := range slices.Sorted(func(yield func(string) bool) {
		for l := range count {
			if !yield(l) {
				return
			}
		}
	}) {
		switch c := count[l]; {
		case c > 0:
			dup = append(dup, l)
		case c < 0:
			lost = append(lost, l)
		}
	}
	return fmt.Sprintf("%d lines twice (first %q), %d lost (first %q)", len(dup), head(dup), len(lost), head(lost))
}

func head(s []string) []string { return s[:min(len(s), 3)] }

// TestRestoreAcrossRescalesIsExact runs a job at parallelism 1, restores a
// middle checkpoint at parallelism 3 and runs to the end, then restores an
// earlier checkpoint of the first run: the files the second run wrote at
// parallelism 3 hold output published after that checkpoint, and go.
func TestRestoreAcrossRescalesIsExact(t *testing.T) {
	input := restoreInput(3000)
	want := slices.Sorted(slices.Values(input))
	for _, third := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("p%d", third), func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out", "lines.txt")
			checkpoints := filepath.Join(dir, "checkpoints")
			runLines(t, input, out, checkpoints, 1, "")
			older := olderCheckpoints(t, checkpoints)
			runLines(t, input, out, checkpoints, 3, older[len(older)/2])
			if got := outputLines(t, out); !slices.Equal(got, want) {
				t.Fatalf("the rescaled run: %s", diff(got, want))
			}
			from := older[len(older)/4]
			runLines(t, input, out, checkpoints, third, from)
			if got := outputLines(t, out); !slices.Equal(got, want) {
				t.Fatalf("restored from %s: %s", filepath.Base(from), diff(got, want))
			}
		})
	}
}
