package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weirstream/weir/bench"
	"github.com/weirstream/weir/internal/progress"
)

// weir bench sql: the PV/UV job in SQL against weir pvuv.

const benchSQLAbout = `Generates --events access-log lines (seeded, so the same every time) into a
temporary file, then runs over it, one after another in this process, each
--runs times:

  weir pvuv  the PV/UV job of app/pvuv: weir pvuv --source file://… --sink file://…
  weir sql   the same job in SQL (sql/testdata/pvuv.sql's statements, with
             filesystem tables): weir sql -f pvuv.sql

both at --parallelism, without checkpoints. It checks that both wrote the
same windows (start, end, PV, exact UV, the top 10 pages by views, ties by
page) and prints PASS or FAIL, then the lines per second of wall time of
the best run of each and the ratio of weir sql to weir pvuv (target at
least 0.50).`

// sqlBenchTarget is the ratio of weir sql's throughput to weir pvuv's
// that the SQL job should reach.
const sqlBenchTarget = 0.5

func runBenchSQL(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir bench sql", "weir bench sql [flags]", benchSQLAbout,
		"Exit status: 0 when the results match (target missed included), 1 when\nthey differ or a run fails, 2 on a usage error.")
	events := f.int64("events", bench.DefaultEvents, "access-log lines to generate")
	runs := f.int64("runs", 1, "run each job this many times and keep the best")
	par := f.int64("parallelism", 1, "parallel subtasks of both jobs")
	keep := f.bool("keep", "keep the generated input and the outputs, and print the directory")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if *events < 1 {
		f.problem("events", "%d is not a positive number of lines; write e.g. 2000000", *events)
	}
	if *runs < 1 || *runs > 100 {
		f.problem("runs", "%d is out of range; write 1 to 100", *runs)
	}
	f.checkParallelism(*par)
	if code, ok := f.check(stderr); !ok {
		return code
	}
	dir, err := os.MkdirTemp("", "weir-bench-sql-")
	if err != nil {
		fmt.Fprintf(stderr, "weir bench sql: %v\n", err)
		return exitFail
	}
	if *keep {
		fmt.Fprintf(stderr, "weir bench sql: input and outputs in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	rep, err := benchSQL(ctx, dir, *events, int(*runs), int(*par), stderr)
	switch {
	case err != nil && errors.Is(err, context.Canceled) && ctx.Err() != nil:
		fmt.Fprintln(stderr, "weir bench sql: stopped")
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "weir bench sql: %v\n", err)
		return exitFail
	}
	rep.print(stdout)
	if !rep.match {
		return exitFail
	}
	return exitOK
}

// sqlBenchReport is what weir bench sql measured.
type sqlBenchReport struct {
	events      int64
	parallelism int
	pvuv, sql   time.Duration // the best run of each
	windows     int
	match       bool
	differs     string // the first difference, when !match
	runs        int
}

func (r sqlBenchReport) print(w io.Writer) {
	rate := func(d time.Duration) float64 { return float64(r.events) / d.Seconds() }
	verdict := "PASS: both wrote the same " + progress.Plural(int64(r.windows), "window")
	if !r.match {
		verdict = "FAIL: the windows differ: " + r.differs
	}
	fmt.Fprintln(w, verdict)
	fmt.Fprintf(w, "%-10s %14s %10s\n", "job", "lines/s", "wall")
	fmt.Fprintf(w, "%-10s %14s %10v\n", "weir pvuv", progress.Count(int64(rate(r.pvuv))), r.pvuv.Round(time.Millisecond))
	fmt.Fprintf(w, "%-10s %14s %10v\n", "weir sql", progress.Count(int64(rate(r.sql))), r.sql.Round(time.Millisecond))
	ratio := r.pvuv.Seconds() / r.sql.Seconds()
	met := "met"
	if ratio < sqlBenchTarget {
		met = "MISSED"
	}
	fmt.Fprintf(w, "weir sql / weir pvuv: %.2f (target at least %.2f: %s); %s lines, parallelism %d, best of %d runs each\n",
		ratio, sqlBenchTarget, met, progress.Count(r.events), r.parallelism, r.runs)
}

// benchSQL generates the input in dir and runs both jobs over it.
func benchSQL(ctx context.Context, dir string, events int64, runs, par int, stderr io.Writer) (sqlBenchReport, error) {
	rep := sqlBenchReport{events: events, parallelism: par, runs: runs}
	in := filepath.Join(dir, "access.log")
	f, err := os.Create(in)
	if err != nil {
		return rep, err
	}
	fmt.Fprintf(stderr, "weir bench sql: generating %s lines\n", progress.Count(events))
	err = bench.GenerateLines(ctx, f, events, nil)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rep, fmt.Errorf("generating the input: %w", err)
	}
	pvuvOut := filepath.Join(dir, "pvuv", "pvuv.jsonl")
	sqlOut := filepath.Join(dir, "sql")
	for _, d := range []string{filepath.Dir(pvuvOut), sqlOut} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return rep, err
		}
	}
	job := filepath.Join(dir, "pvuv.sql")
	if err := os.WriteFile(job, []byte(sqlPVUVJob(in, sqlOut)), 0o644); err != nil {
		return rep, err
	}
	p := fmt.Sprint(par)
	pvuvArgs := []string{"pvuv", "--source", "file://" + in, "--sink", "file://" + pvuvOut, "--parallelism", p, "--progress", "off"}
	sqlArgs := []string{"sql", "-f", job, "--parallelism", p, "--progress", "off"}
	// Taking turns, so that a change of the machine's load hits both.
	for i := range runs {
		for _, side := range []struct {
			name string
			args []string
			best *time.Duration
		}{{"weir pvuv", pvuvArgs, &rep.pvuv}, {"weir sql", sqlArgs, &rep.sql}} {
			if side.name == "weir sql" {
				// The filesystem sink appends to what a run before wrote.
				for _, name := range []string{"pvuv", "top"} {
					matches, _ := filepath.Glob(filepath.Join(sqlOut, name+"*.jsonl"))
					for _, m := range matches {
						os.Remove(m)
					}
				}
			}
			var errOut bytes.Buffer
			start := time.Now()
			code := run(ctx, side.args, io.Discard, &errOut)
			d := time.Since(start)
			if ctx.Err() != nil {
				return rep, ctx.Err()
			}
			if code != exitOK {
				return rep, fmt.Errorf("%s failed (exit %d):\n%s", side.name, code, errOut.String())
			}
			fmt.Fprintf(stderr, "weir bench sql: run %d of %s: %v\n", i+1, side.name, d.Round(time.Millisecond))
			if *side.best == 0 || d < *side.best {
				*side.best = d
			}
		}
	}

	pvuvLines, err := readFileLines(pvuvOut)
	if err != nil {
		return rep, err
	}
	wantPVUV, wantTop, err := pvuvAsSQL(pvuvLines)
	if err != nil {
		return rep, fmt.Errorf("weir pvuv's output: %w", err)
	}
	rep.windows = len(wantPVUV)
	gotPVUV, err := readTableFiles(filepath.Join(sqlOut, "pvuv.jsonl"))
	if err != nil {
		return rep, err
	}
	gotTop, err := readTableFiles(filepath.Join(sqlOut, "top.jsonl"))
	if err != nil {
		return rep, err
	}
	rep.match = true
	if d := firstDifference(gotPVUV, wantPVUV); d != "" {
		rep.match, rep.differs = false, "pv and uv: "+d
	} else if d := firstDifference(gotTop, wantTop); d != "" {
		rep.match, rep.differs = false, "top pages: "+d
	}
	return rep, nil
}

// firstDifference describes the first line where got and want differ, ""
// when they are equal.
func firstDifference(got, want []string) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("weir sql wrote %s where weir pvuv's is %s", got[i], want[i])
		}
	}
	if len(got) != len(want) {
		return fmt.Sprintf("weir sql wrote %d lines, weir pvuv's make %d", len(got), len(want))
	}
	return ""
}

func readFileLines(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil, nil
	}
	return strings.Split(s, "\n"), nil
}

// readTableFiles returns the lines of the files a filesystem table of
// path wrote, sorted: path, or path-N.ext of subtask N of several.
func readTableFiles(path string) ([]string, error) {
	ext := filepath.Ext(path)
	files, err := filepath.Glob(strings.TrimSuffix(path, ext) + "*" + ext)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, f := range files {
		if strings.HasPrefix(filepath.Base(f), ".") {
			continue // a pending part file
		}
		l, err := readFileLines(f)
		if err != nil {
			return nil, err
		}
		lines = append(lines, l...)
	}
	slices.Sort(lines)
	return lines, nil
}

// sqlPVUVJob is the PV/UV job in SQL (sql/testdata/pvuv.sql's) over the
// access logs of glob, into two JSON files under dir: pvuv.jsonl, the PV
// and UV per minute, and top.jsonl, the top 10 pages of each minute.
func sqlPVUVJob(glob, dir string) string {
	return fmt.Sprintf(`CREATE TABLE access_log (
  remote_addr STRING,
  time_local  TIMESTAMP_LTZ(3),
  uri         STRING,
  WATERMARK FOR time_local AS time_local - INTERVAL '5' SECOND
) WITH ('connector' = 'filesystem', 'path' = %s, 'format' = 'combined-log');
CREATE TABLE pvuv (window_start TIMESTAMP(3), window_end TIMESTAMP(3), pv BIGINT, uv BIGINT)
  WITH ('connector' = 'filesystem', 'path' = %s, 'format' = 'json');
CREATE TABLE top_uris (window_start TIMESTAMP(3), window_end TIMESTAMP(3), uri STRING, views BIGINT, rn BIGINT)
  WITH ('connector' = 'filesystem', 'path' = %s, 'format' = 'json');
BEGIN STATEMENT SET;
INSERT INTO pvuv
SELECT window_start, window_end, COUNT(*) AS pv, COUNT(DISTINCT remote_addr) AS uv
FROM TABLE(TUMBLE(TABLE access_log, DESCRIPTOR(time_local), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end;
INSERT INTO top_uris
SELECT * FROM (
  SELECT window_start, window_end, uri, views,
         ROW_NUMBER() OVER (PARTITION BY window_start, window_end ORDER BY views DESC, uri ASC) AS rn
  FROM (SELECT window_start, window_end, uri, COUNT(*) AS views
        FROM TABLE(TUMBLE(TABLE access_log, DESCRIPTOR(time_local), INTERVAL '1' MINUTE))
        GROUP BY window_start, window_end, uri)
) WHERE rn <= 10;
END;
`, sqlQuote(glob), sqlQuote(filepath.Join(dir, "pvuv.jsonl")), sqlQuote(filepath.Join(dir, "top.jsonl")))
}

// pvuvAsSQL returns the lines sqlPVUVJob writes for the windows weir pvuv
// wrote as lines (JSON of pvuv.Result): those of pvuv.jsonl and of
// top.jsonl, each sorted.
func pvuvAsSQL(lines []string) (pvuvLines, topLines []string, err error) {
	ts := func(s string) (string, error) {
		t, err := time.Parse(time.RFC3339, s)
		return t.UTC().Format("2006-01-02 15:04:05.000"), err
	}
	for _, l := range lines {
		var w struct {
			Start string `json:"window_start"`
			End   string `json:"window_end"`
			PV    int64  `json:"pv"`
			UV    int64  `json:"uv"`
			Top   []struct {
				Page string `json:"page"`
				PV   int64  `json:"pv"`
			} `json:"top_pages"`
		}
		if err := json.Unmarshal([]byte(l), &w); err != nil {
			return nil, nil, err
		}
		start, err := ts(w.Start)
		if err != nil {
			return nil, nil, err
		}
		end, err := ts(w.End)
		if err != nil {
			return nil, nil, err
		}
		pvuvLines = append(pvuvLines, fmt.Sprintf(`{"window_start":"%s","window_end":"%s","pv":%d,"uv":%d}`, start, end, w.PV, w.UV))
		for i, p := range w.Top {
			page, _ := json.Marshal(p.Page)
			topLines = append(topLines, fmt.Sprintf(`{"window_start":"%s","window_end":"%s","uri":%s,"views":%d,"rn":%d}`, start, end, page, p.PV, i+1))
		}
	}
	slices.Sort(pvuvLines)
	slices.Sort(topLines)
	return pvuvLines, topLines, nil
}
