package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/source"
)

// runWeirCtx runs the weir command line in this process, under ctx.
func runWeirCtx(ctx context.Context, args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestNexmarkUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want []string // in stderr
	}{
		{[]string{"nexmark"}, []string{"weir nexmark generate --events"}},
		{[]string{"nexmark", "frob"}, []string{"name the action"}},
		{[]string{"nexmark", "generate"}, []string{"--events: missing"}},
		{[]string{"nexmark", "generate", "--events", "-5"}, []string{"--events: -5 is negative"}},
		{[]string{"nexmark", "generate", "--events", "x", "--rate", "0", "--seed", "1.5"},
			[]string{"3 problems", `--events: "x" is not a whole number`, "--rate: 0 is out of range", `--seed: "1.5"`}},
		{[]string{"nexmark", "generate", "--events", "10", "--rate", "2e9"}, []string{"--rate: 2e+09 is out of range"}},
		{[]string{"nexmark", "generate", "--events", "10", "extra"}, []string{`unexpected argument "extra"`}},
		{[]string{"nexmark", "generate", "--evnts", "10"}, []string{"--evnts: no such flag"}},
		{[]string{"pvuv", "--source", "datagen://nexmark?events=10"}, []string{"--source:", "generates Nexmark events", "not access-log lines"}},
		{[]string{"pvuv", "--source", "datagen://nexmark?events=-1&rate=0&sed=1"},
			[]string{"3 problems", "nexmark events=-1", "nexmark rate=0", `no parameter "sed"`}},
		{[]string{"pvuv", "--source", "datagen://nexmark/path?events=1"}, []string{"takes parameters only"}},
	} {
		code, _, stderr := runWeirCtx(t.Context(), c.args...)
		if code != exitUsage {
			t.Errorf("weir %s: exit %d, want 2\nstderr:\n%s", strings.Join(c.args, " "), code, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("weir %s: stderr lacks %q:\n%s", strings.Join(c.args, " "), w, stderr)
			}
		}
	}
	if code, stdout, _ := runWeirCtx(t.Context(), "nexmark", "generate", "-h"); code != exitOK || !strings.Contains(stdout, "--events N") {
		t.Errorf("weir nexmark generate -h: exit %d\n%s", code, stdout)
	}
}

// generate writes the generator's events as JSON lines, to standard output
// or to --out, the same for the same seed.
func TestNexmarkGenerate(t *testing.T) {
	g, err := nexmark.New(nexmark.Seed(3), nexmark.EventsPerSecond(500))
	if err != nil {
		t.Fatal(err)
	}
	const total = 1_000
	var want bytes.Buffer
	for n := range int64(total) {
		want.Write(g.Event(n).AppendJSON(nil))
		want.WriteByte('\n')
	}
	code, stdout, stderr := runWeirCtx(t.Context(), "nexmark", "generate", "--events", "1000", "--seed", "3", "--rate", "500")
	if code != exitOK || stdout != want.String() {
		t.Fatalf("exit %d, %d bytes on stdout, want the generator's %d\nstderr:\n%s", code, len(stdout), want.Len(), stderr)
	}
	if stderr != "" {
		t.Errorf("stderr for a small run: %q, want nothing", stderr)
	}
	types := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", sc.Bytes(), err)
		}
		types[m["type"].(string)]++
	}
	if types["person"] != 20 || types["auction"] != 60 || types["bid"] != 920 {
		t.Fatalf("types %v, want 20 people, 60 auctions, 920 bids", types)
	}

	out := filepath.Join(t.TempDir(), "events.jsonl")
	code, stdout, stderr = runWeirCtx(t.Context(), "nexmark", "generate", "--events", "1000", "--seed", "3", "--rate", "500", "--out", out)
	if code != exitOK || stdout != "" {
		t.Fatalf("--out: exit %d, stdout %q\nstderr:\n%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil || string(b) != want.String() {
		t.Fatalf("--out file: %d bytes, %v; want the generator's %d", len(b), err, want.Len())
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Fatalf("the directory of --out holds %d files, want only the output", len(entries))
	}

	// A cancelled run keeps no file.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	stopped := filepath.Join(t.TempDir(), "stopped.jsonl")
	code, _, stderr = runWeirCtx(ctx, "nexmark", "generate", "--events", "1000000", "--out", stopped)
	if code != exitFail || !strings.Contains(stderr, "stopped before the end") {
		t.Fatalf("cancelled: exit %d\n%s", code, stderr)
	}
	if entries, _ := os.ReadDir(filepath.Dir(stopped)); len(entries) != 0 {
		t.Fatalf("a cancelled run left %d files", len(entries))
	}
}

// Large runs report progress on stderr.
func TestNexmarkGenerateProgress(t *testing.T) {
	defer func(n int64) { progressMinEvents = n }(progressMinEvents)
	progressMinEvents = 20_000
	out := filepath.Join(t.TempDir(), "events.jsonl")
	code, _, stderr := runWeirCtx(t.Context(), "nexmark", "generate", "--events", "20000", "--out", out, "--seed", "5")
	if code != exitOK || strings.Count(stderr, "generating: ") < 2 || !strings.Contains(stderr, "20,000 events in") {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
}

// datagen://nexmark parses into the options of a nexmark source.
func TestDatagenNexmarkURL(t *testing.T) {
	f := newFlagSet("weir test", "", "", "")
	parseSource(f, "source", "datagen://nexmark?events=7")
	if len(f.problems) != 1 || !strings.Contains(f.problems[0], "not access-log lines") {
		t.Fatalf("problems %v, want pvuv's refusal", f.problems)
	}
	f = newFlagSet("weir test", "", "", "")
	u, q := mustURL(t, "datagen://nexmark?events=7&rate=100&seed=9&start=2030-01-01T00:00:00.5Z")
	opts, ok := parseNexmark(f, "source", u, q)
	if !ok || len(f.problems) != 0 {
		t.Fatalf("parseNexmark: %v", f.problems)
	}
	src, err := nexmark.NewSource(opts...)
	if err != nil {
		t.Fatal(err)
	}
	cfg := src.Config()
	if src.Boundedness() != source.Bounded || cfg.Seed != 9 || cfg.EventsPerSecond != 100 || cfg.Start.UnixMilli() != 1893456000500 {
		t.Fatalf("source %v with %+v", src.Boundedness(), cfg)
	}
}

func mustURL(t *testing.T, raw string) (*url.URL, url.Values) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u, u.Query()
}
