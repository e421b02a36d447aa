package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weirstream/weir/sql"
)

// sqlHits writes a small CSV access table and returns the DDL of a table
// hits over it, and of a table out written as CSV to dir/out.csv.
func sqlHits(t *testing.T) (dir, ddl string) {
	t.Helper()
	dir = t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("/a,200,10\n/b,404,5\n/a,200,7\n/c,200,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ddl = fmt.Sprintf(`CREATE TABLE hits (uri STRING, status INT, bytes BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
CREATE TABLE out (uri STRING, bytes BIGINT)
  WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'csv');
`, in, filepath.Join(dir, "out.csv"))
	return dir, ddl
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSQLUsageErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want []string // in stderr
	}{
		{[]string{"sql", "-f", "a.sql", "-e", "SHOW TABLES"}, []string{"-e: give -f FILE or -e STATEMENT, not both"}},
		{[]string{"sql", "-e", " "}, []string{"-e: the statement is empty"}},
		{[]string{"sql", "-f", "/no/such/job.sql", "-i", "/no/such/init.sql"},
			[]string{"2 problems", "-i: open /no/such/init.sql", "-f: open /no/such/job.sql", "give the path of a SQL script"}},
		{[]string{"sql", "-e", "SHOW TABLES", "--max-rows", "0", "--parallelism", "0"},
			[]string{"--max-rows: 0 is out of range", "--parallelism: 0 is out of range"}},
		{[]string{"sql", "-e", "SHOW TABLES", "--checkpoint-interval", "1s"},
			[]string{"--checkpoint-interval: has no effect without --checkpoint-dir"}},
		{[]string{"sql", "-e", "SHOW TABLES", "--http", "0.0.0.0:0"}, []string{"--http: 0.0.0.0:0 is beyond loopback"}},
		{[]string{"sql", "stray"}, []string{`unexpected argument "stray"`}},
	} {
		r := runIn(t, c.args...)
		if r.code != exitUsage {
			t.Errorf("weir %s: exit %d, want 2\nstderr:\n%s", strings.Join(c.args, " "), r.code, r.stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("weir %s: stderr lacks %q:\n%s", strings.Join(c.args, " "), w, r.stderr)
			}
		}
	}
	// The help shows the one-letter flags with one dash, as Flink's client.
	r := runIn(t, "sql", "-h")
	if r.code != 0 || !strings.Contains(r.stdout, "\n  -f FILE\n") || !strings.Contains(r.stdout, "\n  -i FILE\n") {
		t.Errorf("weir sql -h: exit %d\n%s", r.code, r.stdout)
	}
}

// TestSQLScripts runs -i (the tables) then -f (an INSERT INTO and a
// SELECT), and -i then -e, in process, and checks the file the INSERT
// wrote and the rows the SELECT showed, exactly.
func TestSQLScripts(t *testing.T) {
	t.Parallel()
	dir, ddl := sqlHits(t)
	initSQL := writeFile(t, filepath.Join(dir, "init.sql"), ddl)
	job := writeFile(t, filepath.Join(dir, "job.sql"), `-- the pages served, their bytes doubled
INSERT INTO out SELECT UPPER(uri), bytes * 2 FROM hits WHERE status = 200;
SELECT uri, bytes FROM hits WHERE bytes > 4;
`)
	r := runIn(t, "sql", "-i", initSQL, "-f", job)
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	wantOut := "[INFO] Table 'hits' created.\n[INFO] Table 'out' created.\n" +
		"uri      | bytes\n" +
		"/a       |                   10\n" +
		"/b       |                    5\n" +
		"/a       |                    7\n"
	if r.stdout != wantOut {
		t.Errorf("stdout:\n%s\nwant:\n%s", r.stdout, wantOut)
	}
	if got := readLines(t, filepath.Join(dir, "out.csv")); !slices.Equal(got, []string{"/A,20", "/A,14", "/C,2"}) {
		t.Errorf("out.csv holds %q", got)
	}
	for _, w := range []string{`job "insert-into_out" started`, "received a total of 3 rows", `job "insert-into_out" ended`} {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
		}
	}

	r = runIn(t, "sql", "-i", initSQL, "-e", "SHOW TABLES")
	wantTables := "+------------+\n| table name |\n+------------+\n| hits       |\n| out        |\n+------------+\n2 rows in set\n"
	if r.code != 0 || !strings.HasSuffix(r.stdout, wantTables) {
		t.Errorf("-e SHOW TABLES: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}

	// -e may be repeated: the statements run in order, none is dropped.
	r = runIn(t, "sql", "-e", ddl, "-e", "SHOW TABLES")
	if r.code != 0 || !strings.HasSuffix(r.stdout, wantTables) {
		t.Errorf("-e DDL -e SHOW TABLES: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestSQLChangelog checks an updating query (GROUP BY) without a
// terminal: its changelog, one line per change, +I/-U/+U.
func TestSQLChangelog(t *testing.T) {
	t.Parallel()
	_, ddl := sqlHits(t)
	r := runIn(t, "sql", "-e", ddl+"SELECT uri, COUNT(*) AS n, SUM(bytes) AS b FROM hits GROUP BY uri;")
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr:\n%s", r.code, r.stderr)
	}
	want := "op | uri      | n                    | b\n" +
		"+I | /a       |                    1 |                   10\n" +
		"+I | /b       |                    1 |                    5\n" +
		"-U | /a       |                    1 |                   10\n" +
		"+U | /a       |                    2 |                   17\n" +
		"+I | /c       |                    1 |                    1\n"
	if _, got, _ := strings.Cut(r.stdout, "[INFO] Table 'out' created.\n"); got != want {
		t.Errorf("stdout:\n%s\nwant the changelog:\n%s", r.stdout, want)
	}
}

// TestSQLCatalogAcrossRuns creates a table in one run with --catalog and
// reads it in the next: a persisted catalog survives the process.
func TestSQLCatalogAcrossRuns(t *testing.T) {
	t.Parallel()
	dir, ddl := sqlHits(t)
	cat := filepath.Join(dir, "catalog")
	if err := os.Mkdir(cat, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := runIn(t, "sql", "--catalog", cat, "-e", ddl); r.code != 0 {
		t.Fatalf("the first run: exit %d\n%s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(cat, "catalog.json")); err != nil {
		t.Fatalf("a directory's catalog is its catalog.json: %v", err)
	}
	r := runIn(t, "sql", "--catalog", cat, "-e", "DESCRIBE hits; SELECT uri FROM hits WHERE status = 404")
	if r.code != 0 {
		t.Fatalf("the second run: exit %d\n%s", r.code, r.stderr)
	}
	for _, w := range []string{"| status | INT ", "3 rows in set", "uri\n/b\n"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("the second run's stdout lacks %q:\n%s", w, r.stdout)
		}
	}
	// Without --catalog the table is not there.
	if r := runIn(t, "sql", "-e", "DESCRIBE hits"); r.code != exitFail {
		t.Errorf("DESCRIBE without the catalog: exit %d, want 1\n%s", r.code, r.stderr)
	}
}

// TestSQLErrorCaret checks that an error names the script and the line
// and shows a caret under the place, for the parser's errors and the
// planner's, and that the statements before it ran.
func TestSQLErrorCaret(t *testing.T) {
	t.Parallel()
	dir, ddl := sqlHits(t)
	for _, c := range []struct {
		name, stmt string
		want       []string
	}{
		{"syntax", "SELECT uri FROM hits\nWHERE status = = 200;", []string{
			"bad.sql:6: parser: line 7, column 16: ", "\n  WHERE status = = 200\n                 ^\n"}},
		{"planner", "SELECT uri, nope\n  FROM hits;", []string{
			"bad.sql:6: planner: line 6, column 13: ", "nope", "\n  SELECT uri, nope\n              ^\n"}},
	} {
		path := writeFile(t, filepath.Join(dir, c.name+"-bad.sql"), ddl+"\n"+c.stmt+"\nSHOW TABLES;\n")
		r := runIn(t, "sql", "-f", path)
		if r.code != exitFail {
			t.Errorf("%s: exit %d, want 1\nstderr:\n%s", c.name, r.code, r.stderr)
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", c.name, w, r.stderr)
			}
		}
		if !strings.Contains(r.stdout, "Table 'out' created") || strings.Contains(r.stdout, "table name") {
			t.Errorf("%s: the statements before the error run, none after:\n%s", c.name, r.stdout)
		}
	}
}

// TestSQLStdinScript runs weir sql as a process with a script on stdin,
// which is not a terminal: it runs as a script.
func TestSQLStdinScript(t *testing.T) {
	t.Parallel()
	_, ddl := sqlHits(t)
	cmd := weirCommand(t, "sql")
	cmd.Stdin = strings.NewReader(ddl + "SELECT COUNT(*) AS n FROM hits WHERE status = 200;\n")
	r := runUntil(t, cmd, time.Minute)
	if r.code != 0 || !strings.Contains(r.stdout, "op | n\n+I |                    1\n") || !strings.Contains(r.stdout, "+U |                    3\n") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}

// TestSQLKillAndResume runs the PV/UV job in SQL with weir sql -f and
// checkpoints as a process, kills it with SIGKILL once a checkpoint has
// completed, starts it again with the same flags and lets it finish: the
// files hold exactly the windows weir pvuv computes, each once.
func TestSQLKillAndResume(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kill test: skipped with -short")
	}
	takeTurn(t, cpuTurn)
	bin := plainBinary(t)
	in := sharedInput(t, testKillLines)
	wantPVUV, wantTop, err := pvuvAsSQL(sharedBaseline(t, in, time.Minute, 10))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	job := writeFile(t, filepath.Join(dir, "pvuv.sql"), sqlPVUVJob(in.glob, out))
	args := []string{"sql", "-f", job, "--checkpoint-dir", filepath.Join(dir, "checkpoints"),
		"--checkpoint-interval", "100ms", "--parallelism", "2", "--progress", "off"}

	cmd := exec.Command(bin, args...)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err = cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	finished, err := awaitCheckpoint(done, args, "")
	if !finished {
		cmd.Process.Signal(syscall.SIGKILL)
		err = <-done
		finished = err == nil
	}
	if finished {
		t.Fatalf("the first run finished (%v) before a checkpoint completed: the input is too small to kill it\n%s", err, stderr.String())
	}
	r := runUntil(t, exec.Command(bin, args...), 2*time.Minute)
	if r.code != 0 {
		t.Fatalf("the run after the kill: exit %d\n%s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "restoring") {
		t.Errorf("the run after the kill did not restore the checkpoint:\n%s", r.stderr)
	}
	for _, c := range []struct {
		file string
		want []string
	}{{"pvuv.jsonl", wantPVUV}, {"top.jsonl", wantTop}} {
		got, err := readTableFiles(filepath.Join(out, c.file))
		if err != nil {
			t.Fatal(err)
		}
		if d := firstDifference(got, c.want); d != "" {
			t.Errorf("%s: %s", c.file, d)
		}
	}
}

// TestBenchSQL runs weir bench sql on a small input: both jobs write the
// same windows, and the figures are printed.
func TestBenchSQL(t *testing.T) {
	t.Parallel()
	r := runIn(t, "bench", "sql", "--events", "30000")
	if r.code != 0 || !strings.Contains(r.stdout, "PASS: both wrote the same") || !strings.Contains(r.stdout, "weir sql / weir pvuv: ") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runIn(t, "bench", "sql", "--events", "0", "--runs", "0"); r.code != exitUsage || !strings.Contains(r.stderr, "--events: 0") || !strings.Contains(r.stderr, "--runs: 0") {
		t.Errorf("bad flags: exit %d\n%s", r.code, r.stderr)
	}
}

// TestSQLShell drives the shell through x/term's line editor over a pipe:
// a statement over several lines (the continuation prompt), the up arrow
// that recalls the line before from the history, a Ctrl-C that drops the
// line being typed, an error that does not end the shell, and quit;. The
// history is in its file after.
func TestSQLShell(t *testing.T) {
	t.Parallel()
	dir, ddl := sqlHits(t)
	var out, stderr syncBuffer
	logger := slog.New(slog.NewTextHandler(&stderr, nil))
	sess, err := sql.NewSession(sql.Options{Stdout: &out, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	c := &sqlClient{sess: sess, stdout: &out, stderr: &stderr, logger: logger,
		maxRows: defaultMaxRows, progress: &progressValue{off: true}}
	pr, pw := io.Pipe()
	keys := strings.ReplaceAll(ddl, "\n", "\r") + "SHOW TABLES;\r" + "\x1b[A\r" + "SELEC\x03" +
		"SELECT uri FROM hits\r  WHERE status = 404;\r" + "SELECT nope FROM hits;\r" + "quit;\r"
	go func() {
		pw.Write([]byte(keys))
		pw.Close()
	}()
	history := filepath.Join(dir, "history")
	code := c.shell(context.Background(), shellIO{
		in: pr, out: &out, raw: func() (func(), error) { return func() {}, nil },
		size: func() (int, int) { return 0, 0 }, history: history,
	})
	got := out.String()
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, got, stderr.String())
	}
	for _, w := range []string{"weir> CREATE TABLE hits", "    >   WITH ('connector'", "[INFO] Table 'out' created.",
		"uri\n/b\n", "[ERROR] planner: line 1, column 8: ", "weir> quit;"} {
		if !strings.Contains(got, w) {
			t.Errorf("the shell's output lacks %q:\n%s", w, got)
		}
	}
	if n := strings.Count(got, "2 rows in set"); n != 2 {
		t.Errorf("SHOW TABLES ran %d times, want 2 (the up arrow recalls it):\n%s", n, got)
	}
	if strings.Contains(got, "SELEC\r") || strings.Contains(got, "found 'SELEC'") {
		t.Errorf("the line Ctrl-C dropped ran:\n%s", got)
	}
	h := readLines(t, history)
	if len(h) != 9 || h[0] != "CREATE TABLE hits (uri STRING, status INT, bytes BIGINT)" || h[len(h)-1] != "quit;" {
		t.Errorf("history file: %q", h)
	}
}

// TestSQLLocalTimeZone checks that a query's TIMESTAMP_LTZ values show in
// the session time zone of SET 'table.local-time-zone'.
func TestSQLLocalTimeZone(t *testing.T) {
	t.Parallel()
	in := writeFile(t, filepath.Join(t.TempDir(), "ts.csv"), "a,2026-11-24 07:40:00.000Z\n")
	r := runIn(t, "sql", "-e", "CREATE TABLE t (k STRING, ts TIMESTAMP_LTZ(3)) WITH ('connector' = 'filesystem', 'path' = "+sqlQuote(in)+", 'format' = 'csv');"+
		"SET 'table.local-time-zone' = 'Asia/Tokyo'; SELECT k, ts FROM t; RESET 'table.local-time-zone'; SELECT k, ts FROM t")
	if r.code != 0 || !strings.Contains(r.stdout, "a        | 2026-11-24 16:40:00.000\n") || !strings.Contains(r.stdout, "a        | 2026-11-24 07:40:00.000\n") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
