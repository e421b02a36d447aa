package pvuv_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/bench/baseline"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/weirtest"
)

func generate(t testing.TB, n int) (path string, data []byte) {
	g, err := datagen.New(datagen.Seed(7), datagen.EventsPerSecond(500), datagen.Clients(5000), datagen.Pages(300))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := g.WriteLines(&buf, n); err != nil {
		t.Fatal(err)
	}
	path = filepath.Join(t.TempDir(), "access.log")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, buf.Bytes()
}

// How runJob reads the file.
const (
	readLines       = iota // lines, parsed by pvuv.Build
	decodeShared           // hits, parsed by the source with Counters.Decode
	decodePerReader        // hits, parsed by the source with a Counters.NewDecoder per reader
)

// runJob runs the job over the file at path, read in splits of splitSize:
// lines with pvuv.Build, or, decoded, hits with pvuv.BuildHits from a
// file.DecodedSource. It returns the results, the counters and the bad
// lines' reasons with their counts.
func runJob(t testing.TB, path string, parallelism int, splitSize int64, read int, opts ...weir.EnvOption) ([]pvuv.Result, *pvuv.Counters, map[string]int) {
	env := weir.NewEnv(append([]weir.EnvOption{weir.Parallelism(parallelism)}, opts...)...)
	var job *pvuv.Job
	if read != readLines {
		c := &pvuv.Counters{}
		lines, err := file.NewSource(path, file.SplitSize(splitSize))
		if err != nil {
			t.Fatal(err)
		}
		var src *file.DecodedSource[pvuv.Hit]
		if read == decodeShared {
			src, err = file.Decoded(lines, c.Decode)
		} else {
			src, err = file.DecodedPerReader(lines, c.NewDecoder)
		}
		if err != nil {
			t.Fatal(err)
		}
		if job, err = pvuv.BuildHits(weir.FromSource(env, src), c, pvuv.Options{}); err != nil {
			t.Fatal(err)
		}
	} else {
		src, err := file.NewSource(path, file.SplitSize(splitSize))
		if err != nil {
			t.Fatal(err)
		}
		if job, err = pvuv.Build(weir.FromSource(env, src), pvuv.Options{SourceDeadLetters: true}); err != nil {
			t.Fatal(err)
		}
	}
	got := weirtest.NewCollector[pvuv.Result]()
	weir.SinkTo(job.Results, got, weir.Parallelism(1))
	bad := weirtest.NewCollector[pvuv.BadLine]()
	weir.SinkTo(job.Bad, bad, weir.Parallelism(1))
	if err := env.Execute(context.Background(), "pvuv"); err != nil {
		t.Fatal(err)
	}
	reasons := map[string]int{}
	for _, b := range bad.Records() {
		reasons[b.Reason]++
	}
	return got.Records(), job.Counters, reasons
}

// TestGoldenAgainstBaseline runs the job on generated logs and compares
// every window with the hand-written exact computation, straight and in
// parallel with the file read in several splits.
func TestGoldenAgainstBaseline(t *testing.T) {
	path, data := generate(t, 60_000)
	want, err := baseline.Run(bytes.NewReader(data), time.Minute, 10)
	if err != nil {
		t.Fatal(err)
	}
	var reasons map[string]int // of the first run, which reads lines
	for _, run := range []struct {
		p      int
		read   int
		pebble bool // the state in pebble instead of on the heap
	}{
		{1, readLines, false}, {2, readLines, false}, {3, readLines, false}, {2, readLines, true},
		// Decoded: hits parsed by the source (BuildHits), not lines.
		{1, decodeShared, false}, {2, decodeShared, false}, {2, decodePerReader, false}, {3, decodePerReader, false},
	} {
		p := run.p
		name := fmt.Sprintf("p%d", p)
		var opts []weir.EnvOption
		if run.pebble {
			name += "-pebble"
			opts = append(opts, weir.StateBackend("pebble", t.TempDir()))
		}
		switch run.read {
		case decodeShared:
			name += "-decoded"
		case decodePerReader:
			name += "-decoded-per-reader"
		}
		t.Run(name, func(t *testing.T) {
			got, c, bad := runJob(t, path, p, int64(len(data)/5+1), run.read, opts...)
			if c.Lines.Load() != want.Lines || c.BadLines.Load() != want.Bad {
				t.Fatalf("lines %d bad %d, want %d and %d", c.Lines.Load(), c.BadLines.Load(), want.Lines, want.Bad)
			}
			if reasons == nil {
				reasons = bad
			} else if !maps.Equal(bad, reasons) {
				t.Fatalf("bad lines by reason %v, want %v as the first run", bad, reasons)
			}
			if len(got) != len(want.Windows) {
				t.Fatalf("%d windows, want %d", len(got), len(want.Windows))
			}
			for i, w := range want.Windows {
				g := got[i]
				wantJSON := string(pvuv.Result{WindowStart: w.Start, WindowEnd: w.End, PV: w.PV, UV: w.UV, TopPages: pages(w.TopPages)}.AppendJSON(nil))
				if gotJSON := string(g.AppendJSON(nil)); gotJSON != wantJSON {
					t.Fatalf("window %d:\n got %s\nwant %s", i, gotJSON, wantJSON)
				}
			}
		})
	}
}

func pages(ps []baseline.PageCount) []pvuv.PageCount {
	out := make([]pvuv.PageCount, len(ps))
	for i, p := range ps {
		out[i] = pvuv.PageCount{Page: p.Page, PV: p.PV}
	}
	return out
}

func TestResultJSON(t *testing.T) {
	r := pvuv.Result{
		WindowStart: time.Date(2026, 11, 24, 7, 40, 0, 0, time.UTC),
		WindowEnd:   time.Date(2026, 11, 24, 7, 41, 0, 0, time.UTC),
		PV:          1234, UV: 567, TopPages: []pvuv.PageCount{{"/a", 99}, {`/"q"`, 1}},
	}
	want := `{"window_start":"2026-11-24T07:40:00Z","window_end":"2026-11-24T07:41:00Z","pv":1234,"uv":567,"top_pages":[{"page":"/a","pv":99},{"page":"/\"q\"","pv":1}]}`
	if got := string(r.AppendJSON(nil)); got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	r.TopPages = nil
	if got := string(r.AppendJSON(nil)); got[len(got)-16:] != `"top_pages":[]}` && got[len(got)-15:] != `"top_pages":[]}` {
		t.Fatalf("no pages must give an empty list: %s", got)
	}
}

func BenchmarkJob(b *testing.B) {
	path, data := generate(b, 500_000)
	for _, c := range []struct {
		name string
		run  run
	}{
		{"p1", run{parallelism: 1}},
		{"p2", run{parallelism: 2}},
		{"p2-hll", run{parallelism: 2, opts: pvuv.Options{UV: pvuv.UVHLL}}},
		{"p2-pebble", run{parallelism: 2, env: []weir.EnvOption{weir.StateBackend("pebble", b.TempDir())}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			c.run.path, c.run.splits = path, 4
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				c.run.execute(b)
			}
			b.ReportMetric(float64(500_000*b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
	b.Run("baseline", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			f, _ := os.Open(path)
			if _, err := baseline.Run(f, time.Minute, 10); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
		b.ReportMetric(float64(500_000*b.N)/b.Elapsed().Seconds(), "lines/s")
	})
}

// TestLateLinesGoToDeadLetters feeds a page view after its window was
// emitted: it is counted as late and reported, not dropped silently.
func TestLateLinesGoToDeadLetters(t *testing.T) {
	lines := []string{
		`10.0.0.1 - - [24/Nov/2026:07:40:10 +0000] "GET /a HTTP/1.1" 200 1`,
		`10.0.0.2 - - [24/Nov/2026:07:42:30 +0000] "GET /b HTTP/1.1" 200 1`,
	}
	env := weir.NewEnv()
	// The script gives the lines their times and the watermark, so the
	// last line is late for sure.
	src := weirtest.NewScript[string]()
	src.Record(lines[0], pvuv.LineTime(lines[0])).Record(lines[1], pvuv.LineTime(lines[1]))
	src.Watermark(pvuv.LineTime(lines[1]).Add(-5 * time.Second)) // past 07:41:00
	late := `10.0.0.3 - - [24/Nov/2026:07:40:20 +0000] "GET /late HTTP/1.1" 200 1`
	src.Record(late, pvuv.LineTime(late))
	job, err := pvuv.Build(weir.FromSource(env, src), pvuv.Options{SourceWatermarks: true})
	if err != nil {
		t.Fatal(err)
	}
	results := weirtest.NewCollector[pvuv.Result]()
	bad := weirtest.NewCollector[pvuv.BadLine]()
	weir.SinkTo(job.Results, results)
	weir.SinkTo(job.Bad, bad)
	if err := env.Execute(context.Background(), "late"); err != nil {
		t.Fatal(err)
	}
	b := bad.Records()
	if len(b) != 1 || b[0].Reason != pvuv.ReasonLate || !strings.Contains(b[0].Line, "/late") || job.Counters.Late.Load() != 1 {
		t.Fatalf("dead letters %+v, late %d: want the late line once", b, job.Counters.Late.Load())
	}
	if r := results.Records(); len(r) != 2 || r[0].PV != 1 {
		t.Fatalf("results %+v: want two windows of one view each", r)
	}
}
