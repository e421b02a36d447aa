package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// pvuvCheckpoints runs the PV/UV job in this process over generated lines
// with frequent checkpoints and returns the checkpoint location it left.
func pvuvCheckpoints(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	loc := filepath.Join(dir, "checkpoints")
	r := runInProcess("pvuv", "--source", "datagen://?rate=20000&limit=20000&seed=7",
		"--sink", "file://"+filepath.Join(dir, "out.jsonl"),
		"--checkpoint-dir", loc, "--checkpoint-interval", "100ms", "--progress", "off")
	if r.code != 0 {
		t.Fatalf("weir pvuv: exit %d\n%s", r.code, r.stderr)
	}
	return loc
}

// copyLocation returns a copy of a checkpoint location, to damage.
func copyLocation(t *testing.T, loc string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "checkpoints")
	if err := os.CopyFS(dst, os.DirFS(loc)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func runInProcess(args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// completedCheckpoints returns the completed checkpoint directories in
// location, newest first.
func completedCheckpoints(t *testing.T, location string) []string {
	t.Helper()
	metas, err := filepath.Glob(filepath.Join(location, "chk-*", "_metadata"))
	if err != nil {
		t.Fatal(err)
	}
	if len(metas) < 2 {
		t.Fatalf("the run left %d completed checkpoints, the test needs 2", len(metas))
	}
	slices.Sort(metas)
	slices.Reverse(metas)
	var dirs []string
	for _, m := range metas {
		dirs = append(dirs, filepath.Dir(m))
	}
	return dirs
}

// keyedFile returns the largest keyed-state file of a checkpoint, or ""
// if it has none of at least least bytes.
func keyedFile(chk string, least int64) string {
	files, _ := filepath.Glob(filepath.Join(chk, "*.keyed"))
	var best string
	var size int64 = -1
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Size() > size {
			best, size = f, fi.Size()
		}
	}
	if size < least {
		return ""
	}
	return best
}

// stateFile returns the newest completed checkpoint in loc that holds a
// keyed-state file with state, and that file: the newest checkpoint may
// have followed the end of the input, when the windows had fired.
func stateFile(t *testing.T, loc string) (chk, file string) {
	t.Helper()
	for _, chk := range completedCheckpoints(t, loc) {
		if f := keyedFile(chk, 1000); f != "" {
			return chk, f
		}
	}
	t.Fatalf("no checkpoint in %s holds a keyed-state file with state", loc)
	return "", ""
}

func TestCheckpointInspectVerifiesFiles(t *testing.T) {
	loc := pvuvCheckpoints(t)
	newest := completedCheckpoints(t, loc)[0]
	whole := runInProcess("checkpoint", "inspect", newest)
	if whole.code != 0 || !strings.Contains(whole.stdout, "state files (size and CRC-32C against the metadata):") ||
		strings.Contains(whole.stdout, "DAMAGED") || !strings.Contains(whole.stdout, `operator "count-clients"`) {
		t.Errorf("inspect of a whole checkpoint: exit %d\n%s%s", whole.code, whole.stdout, whole.stderr)
	}

	for _, tc := range []struct {
		name   string
		damage func(path string) error
		want   string
	}{
		{"truncated", func(p string) error { return truncateBy(p, 10) }, "(truncated)"},
		{"bit flipped", flipBit, "checksum mismatch"},
		{"deleted", os.Remove, "is missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			loc := copyLocation(t, loc)
			chk, file := stateFile(t, loc)
			if err := tc.damage(file); err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(file)
			for _, path := range []string{chk, filepath.Join(chk, "_metadata"), "file://" + chk} {
				r := runInProcess("checkpoint", "inspect", path)
				if r.code != exitFail {
					t.Fatalf("inspect %s of a checkpoint with a %s file: exit %d, want 1\n%s%s", path, tc.name, r.code, r.stdout, r.stderr)
				}
				if !hasLine(r.stdout, name, "DAMAGED: ", tc.want) {
					t.Errorf("inspect %s: stdout does not mark %s as damaged (%s):\n%s", path, name, tc.want, r.stdout)
				}
				if !strings.Contains(r.stderr, "state file "+name) || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "is damaged") {
					t.Errorf("inspect %s: stderr does not name %s and %q:\n%s", path, name, tc.want, r.stderr)
				}
			}
		})
	}
}

func TestCheckpointInspectLocation(t *testing.T) {
	loc := pvuvCheckpoints(t)
	dirs := completedCheckpoints(t, loc)
	r := runInProcess("checkpoint", "inspect", loc)
	if r.code != 0 {
		t.Fatalf("inspect of the checkpoint location: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Every completed checkpoint, newest first, each verified.
	var listed []string
	for _, line := range strings.Split(r.stdout, "\n") {
		if f := strings.Fields(line); len(f) > 1 && strings.HasPrefix(f[0], "chk-") && f[1] == "ok:" {
			listed = append(listed, f[0])
		}
	}
	var want []string
	for _, d := range dirs {
		want = append(want, filepath.Base(d))
	}
	if !slices.Equal(listed, want) {
		t.Fatalf("listed %v, want %v:\n%s", listed, want, r.stdout)
	}
	if !strings.Contains(r.stdout, "a restore from this location (--restore latest) uses "+want[0]) {
		t.Fatalf("inspect does not say which checkpoint a restore uses:\n%s", r.stdout)
	}
	_, listing, _ := strings.Cut(r.stdout, "\n") // the first line names the location as given
	if u := runInProcess("checkpoint", "inspect", "file://"+loc+"/"); u.code != 0 || !strings.HasSuffix(u.stdout, listing) {
		t.Fatalf("inspect of the location as a file URL: exit %d\n%s%s", u.code, u.stdout, u.stderr)
	}

	// The newest damaged: listed as such, exit 1, and a restore uses the
	// previous one.
	file := keyedFile(dirs[0], 1)
	if file == "" {
		t.Fatalf("the newest checkpoint %s has no keyed-state file", dirs[0])
	}
	if err := flipBit(file); err != nil {
		t.Fatal(err)
	}
	r = runInProcess("checkpoint", "inspect", loc)
	if r.code != exitFail || !strings.Contains(r.stdout, filepath.Base(dirs[0])+"     DAMAGED: state file ") ||
		!strings.Contains(r.stdout, "uses "+filepath.Base(dirs[1])) || !strings.Contains(r.stderr, "damaged checkpoints or savepoints found") {
		t.Fatalf("inspect of a location whose newest checkpoint is damaged: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	empty := t.TempDir()
	if r := runInProcess("checkpoint", "inspect", empty); r.code != exitFail || !strings.Contains(r.stderr, "holds no completed checkpoint or savepoint") {
		t.Fatalf("inspect of an empty directory: exit %d\n%s", r.code, r.stderr)
	}
	if r := runInProcess("checkpoint", "inspect", filepath.Join(empty, "missing")); r.code != exitFail || !strings.Contains(r.stderr, "check the path") {
		t.Fatalf("inspect of a missing directory: exit %d\n%s", r.code, r.stderr)
	}
	if r := runInProcess("checkpoint", "inspect", filepath.Join(empty, "chk-12")); r.code != exitFail || !strings.Contains(r.stderr, "is not a checkpoint directory name") {
		t.Fatalf("inspect of a malformed checkpoint name: exit %d\n%s", r.code, r.stderr)
	}
}

// hasLine reports whether a line of s holds every one of parts.
func hasLine(s string, parts ...string) bool {
	for _, line := range strings.Split(s, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(line, p)
		}
		if ok {
			return true
		}
	}
	return false
}

func truncateBy(path string, n int64) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.Truncate(path, fi.Size()-n)
}

func flipBit(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	b[len(b)/2] ^= 0x08
	return os.WriteFile(path, b, 0o644)
}
