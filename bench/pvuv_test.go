package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/bench/baseline"
)

func TestMain(m *testing.M) {
	// The test binary is also the child PVUVConfig.Spawn starts.
	if args, ok := os.LookupEnv("WEIR_BENCH_CHILD"); ok {
		if err := PVUVChild(context.Background(), strings.Split(args, "\n"), os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// spawnSelf starts this test binary as a PVUVChild.
func spawnSelf(ctx context.Context, args []string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), "WEIR_BENCH_CHILD="+strings.Join(args, "\n"))
	return cmd
}

func TestPVUV(t *testing.T) {
	var out bytes.Buffer
	var calls int
	rep, err := PVUV(t.Context(), PVUVConfig{Events: 20_000, Window: 10 * time.Second, Dir: t.TempDir(), Runs: 2,
		Generating: func(done, total int64) { calls++ }, Spawn: spawnSelf}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Match || rep.Windows < 2 || rep.Baseline.Lines != 20_000 || rep.P1.Lines != 20_000 || rep.P2.Lines != 20_000 {
		t.Fatalf("report %+v\n%s", rep, out.String())
	}
	if calls != 100 {
		t.Errorf("Generating called %d times, want 100", calls)
	}
	if rep.Source.Lines != 20_000 || len(rep.Source.EachCPU) != 2 || rep.Source.MedianCPU() <= 0 {
		t.Errorf("weir source: %d lines, CPU per line %v; want every line, measured in both runs", rep.Source.Lines, rep.Source.EachCPU)
	}
	if rep.CPURatio <= 0 || rep.P2WallRatio <= 0 {
		t.Errorf("efficiency ratios CPU %v, p2 wall %v: not computed", rep.CPURatio, rep.P2WallRatio)
	}
	for _, r := range []PVUVRun{rep.Baseline, rep.P1, rep.P2} {
		if len(r.EachRSS) != 2 || slices.Min(r.EachRSS) < 1<<20 {
			t.Errorf("%s: peak RSS of its runs alone %v; want two of a MiB or more", r.Name, r.EachRSS)
		}
	}
	if rep.MemoryRatio <= 0 {
		t.Errorf("memory ratio %v: not computed", rep.MemoryRatio)
	}
	for _, want := range []string{"run 2/2", "results: PASS", "weir p2", "CPU per line, baseline over weir p1", "weir's source alone", "target <= 2.00"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestPVUVChildRefuses: a child run with the wrong arguments says what it
// takes.
func TestPVUVChildRefuses(t *testing.T) {
	for _, args := range [][]string{nil, {"weir-p3", "in.log", "10s", "10"}, {"baseline", "in.log", "ten", "10"}} {
		if err := PVUVChild(t.Context(), args, io.Discard); err == nil {
			t.Errorf("PVUVChild(%q) gave no error", args)
		}
	}
}

func TestPVUVValidate(t *testing.T) {
	err := PVUVConfig{Events: -1, Window: 1500 * time.Millisecond, TopN: -1, Runs: -1}.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, field := range []string{"Events", "Window", "TopN", "Runs"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error does not name %s: %v", field, err)
		}
	}
}

func TestDiff(t *testing.T) {
	start := time.Date(2026, 11, 24, 7, 40, 0, 0, time.UTC)
	want := []baseline.Window{{Start: start, End: start.Add(time.Minute), PV: 3, UV: 2, TopPages: []baseline.PageCount{{Page: "/a", PV: 2}, {Page: "/b", PV: 1}}}}
	got := []pvuv.Result{{WindowStart: start, WindowEnd: start.Add(time.Minute), PV: 3, UV: 2, TopPages: []pvuv.PageCount{{Page: "/a", PV: 2}, {Page: "/b", PV: 1}}}}
	if d := diff("x", got, want); len(d) != 0 {
		t.Fatalf("equal windows differ: %v", d)
	}
	got[0].TopPages[1].Page = "/c"
	if d := diff("x", got, want); len(d) != 1 || !strings.Contains(d[0], "top pages") {
		t.Fatalf("diff = %v, want the top pages", d)
	}
	got[0].UV = 3
	if d := diff("x", got, want); len(d) != 1 || !strings.Contains(d[0], "uv 3") {
		t.Fatalf("diff = %v, want uv", d)
	}
	if d := diff("x", nil, want); len(d) != 1 || !strings.Contains(d[0], "0 windows") {
		t.Fatalf("diff = %v, want the count", d)
	}
}
