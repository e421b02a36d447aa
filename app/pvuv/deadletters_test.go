package pvuv_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/weirtest"
)

// TestLinesTooLongAreBadLines reads a log with two lines over the file
// source's MaxLineSize (1 MiB by default) in parallel byte ranges: a page
// view with a 2 MiB user agent, and 3 MiB of noise. Each is counted as a
// line and a bad line, and reaches the dead letters with the reason "too
// long" and its first KiB; the windows are those of the log without them.
func TestLinesTooLongAreBadLines(t *testing.T) {
	path, data := generate(t, 3000)
	run := func(path string) ([]pvuv.Result, *pvuv.Counters, []pvuv.BadLine) {
		env := weir.NewEnv(weir.Parallelism(2))
		src, err := file.NewSource(path, file.SplitSize(1<<20))
		if err != nil {
			t.Fatal(err)
		}
		lines := weir.FromSource(env, src)
		job, err := pvuv.Build(lines, pvuv.Options{SourceDeadLetters: true})
		if err != nil {
			t.Fatal(err)
		}
		results := weirtest.NewCollector[pvuv.Result]()
		bad := weirtest.NewCollector[pvuv.BadLine]()
		weir.SinkTo(job.Results, results, weir.Parallelism(1))
		weir.SinkTo(job.Bad, bad, weir.Parallelism(1))
		if err := env.Execute(context.Background(), "pvuv"); err != nil {
			t.Fatal(err)
		}
		return results.Records(), job.Counters, bad.Records()
	}
	want, wantCounters, _ := run(path)

	lines := bytes.SplitAfter(data, []byte("\n"))
	view := strings.TrimSuffix(string(lines[1500]), "\n") + ` "-" "` + strings.Repeat("Mozilla/5.0 ", 2<<20/12) + `"`
	noise := strings.Repeat("n", 3<<20)
	var withLong bytes.Buffer
	withLong.Write(bytes.Join(lines[:800], nil))
	withLong.WriteString(view + "\n")
	withLong.Write(bytes.Join(lines[800:2400], nil))
	withLong.WriteString(noise + "\n")
	withLong.Write(bytes.Join(lines[2400:], nil))
	if err := os.WriteFile(path, withLong.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, counters, bad := run(path)

	if len(got) != len(want) {
		t.Fatalf("%d windows, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].PV != want[i].PV || got[i].UV != want[i].UV {
			t.Fatalf("window %d: PV %d UV %d, want %d and %d", i, got[i].PV, got[i].UV, want[i].PV, want[i].UV)
		}
	}
	if l, b := counters.Lines.Load(), counters.BadLines.Load(); l != wantCounters.Lines.Load()+2 || b != wantCounters.BadLines.Load()+2 {
		t.Fatalf("counted %d lines, %d bad; want %d and %d", l, b, wantCounters.Lines.Load()+2, wantCounters.BadLines.Load()+2)
	}
	var tooLong []string
	for _, b := range bad {
		if b.Reason == file.ReasonTooLong {
			tooLong = append(tooLong, b.Line)
		}
	}
	slices.Sort(tooLong)
	if wantBad := slices.Sorted(slices.Values([]string{noise[:1024], view[:1024]})); !slices.Equal(tooLong, wantBad) {
		t.Fatalf("%d dead letters too long, want the first KiB of each of the 2 long lines", len(tooLong))
	}
}
