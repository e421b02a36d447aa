package sql_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/weirstream/weir/sql"
	"github.com/weirstream/weir/sql/catalog"
	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/planner"
	"github.com/weirstream/weir/sql/types"
)

// logsDDL is a bounded table of generated access logs.
const logsDDL = `CREATE TABLE logs (
  remote_addr STRING,
  time_local TIMESTAMP_LTZ(3),
  uri STRING,
  status INT,
  page AS LOWER(uri),
  WATERMARK FOR time_local AS time_local - INTERVAL '5' SECOND
) WITH ('connector' = 'datagen', 'number-of-rows' = '3000', 'seed' = '1', 'bad-line-ratio' = '0.01')`

// syncBuffer is a bytes.Buffer the print sink's writers may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func quietSession(t *testing.T, opts sql.Options) *sql.Session {
	t.Helper()
	opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := sql.NewSession(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func exec1(t *testing.T, s *sql.Session, stmt string) *sql.Result {
	t.Helper()
	r, err := s.Execute(context.Background(), stmt)
	if err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	return r
}

func names(rows []types.Row) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Values[0].Str())
	}
	return out
}

// TestStatements runs every kind of statement and checks its result.
func TestStatements(t *testing.T) {
	fns := expr.NewFunctions()
	if err := fns.Register("shout", expr.Func1(func(s string) (string, error) { return strings.ToUpper(s) + "!", nil })); err != nil {
		t.Fatal(err)
	}
	out := &syncBuffer{}
	s := quietSession(t, sql.Options{Functions: fns, Stdout: out})
	ctx := context.Background()

	if r := exec1(t, s, logsDDL); r.Kind != sql.ResultOK || r.Message != "Table 'logs' created." {
		t.Fatalf("CREATE TABLE: %+v", r)
	}
	if _, err := s.Execute(ctx, logsDDL); !errors.Is(err, catalog.ErrExists) {
		t.Fatalf("CREATE TABLE twice: %v", err)
	}
	exec1(t, s, strings.Replace(logsDDL, "CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
	exec1(t, s, "CREATE TABLE errors_out (uri STRING, status INT, loud STRING) WITH ('connector' = 'print', 'print-identifier' = 'err')")
	exec1(t, s, "CREATE VIEW errors AS SELECT uri, status, page FROM logs WHERE status >= 400")
	exec1(t, s, "CREATE FUNCTION loud AS 'shout' LANGUAGE GO")
	if _, err := s.Execute(ctx, "CREATE FUNCTION nope AS 'unregistered'"); err == nil || !strings.Contains(err.Error(), "Options.Functions.Register") {
		t.Fatalf("CREATE FUNCTION of an unregistered one: %v", err)
	}

	if r := exec1(t, s, "SHOW TABLES"); r.Kind != sql.ResultTable || strings.Join(names(r.Rows), ",") != "errors_out,logs" {
		t.Fatalf("SHOW TABLES: %+v", r)
	}
	if r := exec1(t, s, "SHOW VIEWS"); strings.Join(names(r.Rows), ",") != "errors" {
		t.Fatalf("SHOW VIEWS: %+v", r)
	}
	if r := exec1(t, s, "SHOW FUNCTIONS"); !strings.Contains(strings.Join(names(r.Rows), ","), "loud") {
		t.Fatalf("SHOW FUNCTIONS: %v", names(r.Rows))
	}
	r := exec1(t, s, "DESCRIBE logs")
	if r.Kind != sql.ResultTable || strings.Join(names(r.Rows), ",") != "remote_addr,time_local,uri,status,page" {
		t.Fatalf("DESCRIBE: %+v", r)
	}
	if typ := r.Rows[4].Values[1].Str(); typ != "STRING" {
		t.Fatalf("DESCRIBE's type of the computed column page: %q", typ)
	}
	if wm := r.Rows[1].Values[5]; wm.Str() != "time_local - INTERVAL '5' SECOND" {
		t.Fatalf("DESCRIBE's watermark: %v", wm)
	}
	if r := exec1(t, s, "DESCRIBE errors"); strings.Join(names(r.Rows), ",") != "uri,status,page" {
		t.Fatalf("DESCRIBE a view: %+v", r)
	}

	exec1(t, s, "SET 'table.local-time-zone' = 'UTC'")
	exec1(t, s, "SET 'pipeline.name' = 'test-job'")
	if r := exec1(t, s, "SET"); r.Kind != sql.ResultTable || len(r.Rows) != 2 {
		t.Fatalf("SET: %+v", r)
	}
	if _, err := s.Execute(ctx, "SET 'paralelism.default' = '2'"); err == nil || !strings.Contains(err.Error(), "'parallelism.default'") {
		t.Fatalf("SET of an unknown key: %v", err)
	}
	if _, err := s.Execute(ctx, "SET 'parallelism.default' = 'two'"); err == nil {
		t.Fatal("SET 'parallelism.default' = 'two' was taken")
	}
	if _, err := s.Execute(ctx, "SET 'table.exec.state.ttl' = 'an hour'"); err == nil || !strings.Contains(err.Error(), "'table.exec.state.ttl'") {
		t.Fatalf("SET 'table.exec.state.ttl' = 'an hour': %v", err)
	}
	exec1(t, s, "RESET 'pipeline.name'")
	if r := exec1(t, s, "SET"); len(r.Rows) != 1 {
		t.Fatalf("after RESET: %+v", r)
	}

	r = exec1(t, s, "EXPLAIN SELECT uri, COUNT(*) FROM TABLE(TUMBLE(TABLE logs, DESCRIPTOR(time_local), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, uri")
	if r.Kind != sql.ResultExplain || !strings.Contains(r.Text, "WindowAggregate(window=[TUMBLE(time_col=[time_local], size=[1m0s])") || !strings.Contains(r.Text, "== Job Graph ==") {
		t.Fatalf("EXPLAIN:\n%s", r.Text)
	}

	// SELECT: projection, WHERE, CASE, LIKE, a computed column, a view, a UDF.
	r = exec1(t, s, `SELECT uri, CASE WHEN status >= 500 THEN 'server' ELSE 'client' END AS who, loud(page) AS p
		FROM errors WHERE uri LIKE '/%' AND status IN (404, 500, 503)`)
	if r.Kind != sql.ResultQuery || r.Job.Changelog() || strings.Join(r.Schema.Names(), ",") != "uri,who,p" {
		t.Fatalf("SELECT: %+v", r)
	}
	n := 0
	for row := range r.Job.Rows() {
		n++
		if p := row.Values[2].Str(); p != strings.ToUpper(strings.ToLower(row.Values[0].Str()))+"!" {
			t.Fatalf("loud(page) of %s is %s", row.Values[0].Str(), p)
		}
	}
	if err := r.Job.Wait(); err != nil || n == 0 {
		t.Fatalf("SELECT gave %d rows, %v", n, err)
	}

	// A plain GROUP BY is an updating query.
	r = exec1(t, s, "SELECT status, COUNT(*) AS n FROM logs GROUP BY status")
	if !r.Job.Changelog() {
		t.Fatal("GROUP BY: Changelog() is false")
	}
	counts := map[int64]int64{}
	for row := range r.Job.Rows() {
		switch row.Kind {
		case types.Insert, types.UpdateAfter:
			counts[row.Values[0].Int()] = row.Values[1].Int()
		case types.Delete:
			delete(counts, row.Values[0].Int())
		}
	}
	if err := r.Job.Wait(); err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	for _, c := range counts {
		total += c
	}
	if total == 0 || total > 3000 {
		t.Fatalf("GROUP BY status: the counts add up to %d", total)
	}

	// INSERT INTO, and a statement set of two INSERTs as one job.
	r = exec1(t, s, "INSERT INTO errors_out SELECT uri, status, loud(uri) FROM errors")
	if r.Kind != sql.ResultJob || r.Job.Rows() != nil {
		t.Fatalf("INSERT: %+v", r)
	}
	if err := r.Job.Wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "err> +I[") {
		t.Fatalf("the print table wrote %q", out.String()[:min(200, len(out.String()))])
	}
	exec1(t, s, "BEGIN STATEMENT SET")
	exec1(t, s, "INSERT INTO errors_out SELECT uri, status, 'a' FROM errors")
	exec1(t, s, "INSERT INTO errors_out (uri, status) SELECT uri, status FROM errors")
	if _, err := s.Execute(ctx, "SHOW TABLES"); err == nil {
		t.Fatal("SHOW TABLES inside a statement set was taken")
	}
	r = exec1(t, s, "END")
	if r.Kind != sql.ResultJob {
		t.Fatalf("END: %+v", r)
	}
	if err := r.Job.Wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), ", NULL]") {
		t.Fatal("INSERT with a column list did not write NULL into the column it left out")
	}

	exec1(t, s, "DROP VIEW errors")
	exec1(t, s, "DROP FUNCTION loud")
	exec1(t, s, "DROP TABLE errors_out")
	exec1(t, s, "DROP TABLE IF EXISTS errors_out")
	if _, err := s.Execute(ctx, "DROP TABLE errors_out"); !errors.Is(err, catalog.ErrNotExist) {
		t.Fatalf("DROP of a missing table: %v", err)
	}
}

// TestScript: ExecuteScript runs statements in order and names the line of
// the one that fails.
func TestScript(t *testing.T) {
	s := quietSession(t, sql.Options{})
	var kinds []sql.ResultKind
	err := s.ExecuteScript(context.Background(), logsDDL+";\nSHOW TABLES;\n\nSELECT nope FROM logs;\nSHOW TABLES;", func(r *sql.Result) error {
		kinds = append(kinds, r.Kind)
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "line 11") || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("error: %v", err)
	}
	if len(kinds) != 2 {
		t.Fatalf("ran %d statements before the error, want 2", len(kinds))
	}
}

// TestDeduplicate: ROW_NUMBER() … ORDER BY the time attribute, rn = 1,
// keeps one row per key.
func TestDeduplicate(t *testing.T) {
	s := quietSession(t, sql.Options{})
	exec1(t, s, logsDDL)
	r := exec1(t, s, "SELECT uri, time_local FROM (SELECT uri, time_local, ROW_NUMBER() OVER (PARTITION BY uri ORDER BY time_local) AS rn FROM logs) WHERE rn = 1")
	live := map[string]int{}
	for row := range r.Job.Rows() {
		switch row.Kind {
		case types.Insert, types.UpdateAfter:
			live[row.Values[0].Str()]++
		case types.UpdateBefore, types.Delete:
			live[row.Values[0].Str()]--
		}
	}
	if err := r.Job.Wait(); err != nil {
		t.Fatal(err)
	}
	uris := exec1(t, s, "SELECT uri, COUNT(*) FROM logs GROUP BY uri")
	distinct := map[string]bool{}
	for row := range uris.Job.Rows() {
		distinct[row.Values[0].Str()] = true
	}
	uris.Job.Wait()
	if len(live) != len(distinct) {
		t.Fatalf("dedup kept %d uris, want %d", len(live), len(distinct))
	}
	for u, n := range live {
		if n != 1 {
			t.Fatalf("uri %s: %d rows live", u, n)
		}
	}
}

// TestRefusals: what the planner does not support is refused at planning
// time, naming the construct, with its line, column and a caret.
func TestRefusals(t *testing.T) {
	s := quietSession(t, sql.Options{})
	exec1(t, s, logsDDL)
	exec1(t, s, "CREATE TABLE ints (a INT) WITH ('connector' = 'print')")
	exec1(t, s, "CREATE TABLE files (status INT, n BIGINT) WITH ('connector' = 'filesystem', 'path' = 'x.json', 'format' = 'json')")
	for _, c := range []struct{ stmt, want string }{
		{"SELECT uri FROM logs ORDER BY uri", "line 1, column 31: ORDER BY on an unbounded stream is not supported"},
		{"SELECT uri FROM logs LIMIT 10", "LIMIT on an unbounded stream is not supported"},
		{"SELECT SUM(status) OVER (ORDER BY time_local) FROM logs", "column 8: the OVER aggregate SUM is not supported"},
		{"SELECT a.uri FROM logs a LEFT JOIN logs b ON a.uri = b.uri", "column 19: an outer regular join (LEFT JOIN without a time bound) is not supported: use an inner JOIN"},
		{"SELECT a.uri FROM logs a JOIN logs b ON a.uri <> b.uri", "a regular join without an equality key is not supported"},
		{"SELECT a.uri FROM (SELECT uri, COUNT(*) AS n FROM logs GROUP BY uri) a JOIN logs b ON a.uri = b.uri", "a join of an updating relation is not supported"},
		{"SELECT a.uri FROM logs a, logs b", "a cross join is not supported"},
		{"SELECT a.uri FROM logs a LEFT JOIN logs b ON a.uri = b.uri AND b.time_local BETWEEN a.time_local - INTERVAL '1' SECOND AND a.time_local", "an outer interval join (LEFT JOIN) is not supported"},
		{"SELECT uri FROM logs WHERE status IN (SELECT status FROM logs)", "IN with a subquery is not supported"},
		{"SELECT uri FROM logs WHERE EXISTS (SELECT uri FROM logs)", "EXISTS is not supported"},
		{"SELECT (SELECT 1) FROM logs", "a subquery in an expression is not supported"},
		{"SELECT uri FROM logs INTERSECT SELECT uri FROM logs", "INTERSECT (without ALL) is not supported"},
		{"SELECT uri FROM logs UNION SELECT uri FROM logs", "UNION (without ALL) is not supported"},
		{"SELECT SUM(DISTINCT status) FROM logs", "SUM(DISTINCT …) is not supported"},
		{"SELECT time_local + INTERVAL '1' YEAR FROM logs", "the year-month interval INTERVAL '1' YEAR is not supported"},
		{"SELECT STDDEV(status) FROM logs GROUP BY uri", "the aggregate STDDEV is not supported"},
		{"SELECT DISTINCT uri FROM logs", "SELECT DISTINCT is not supported"},
		{"SELECT COUNT(*) FROM logs GROUP BY TUMBLE(time_local, INTERVAL '1' MINUTE)", "the group window function TUMBLE is not supported: use the windowing TVF"},
		{"SELECT uri, ROW_NUMBER() OVER (PARTITION BY uri ORDER BY status) AS rn FROM logs", "ROW_NUMBER() is not supported without a bound"},
		{"SELECT * FROM (SELECT uri, ROW_NUMBER() OVER (PARTITION BY uri ORDER BY status) AS rn FROM logs) WHERE rn <= 3", "a Top-N without windows (an updating rank) is not supported"},
		{"SELECT nope FROM logs", "no such column nope in SELECT: the columns are remote_addr, time_local, uri, status, page"},
		{"SELECT uri FROM nope", "no table or view nope: the known ones are files, ints, logs"},
		{"SELECT uri, COUNT(*) FROM logs GROUP BY status", "column uri is neither grouped nor aggregated"},
		{"SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE logs, DESCRIPTOR(uri), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end", "DESCRIPTOR(uri): uri is not a time attribute"},
		{"SELECT COUNT(*) FROM TABLE(TUMBLE(TABLE logs, DESCRIPTOR(time_local), INTERVAL '1' MINUTE)) GROUP BY window_start", "without both window_start and window_end is not supported"},
		{"INSERT INTO ints SELECT uri FROM logs", "column a of table ints is INT, and the query gives STRING"},
		{"INSERT INTO files SELECT status, COUNT(*) FROM logs GROUP BY status", "files"},
		{"SELECT uri FROM logs FOR SYSTEM_TIME AS OF time_local", ""},
	} {
		t.Run(c.stmt, func(t *testing.T) {
			_, err := s.Execute(context.Background(), c.stmt)
			if err == nil {
				t.Fatal("it was taken")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q\nwant it to contain %q", err, c.want)
			}
			var pe *planner.Error
			if errors.As(err, &pe) && !strings.Contains(err.Error(), "^") {
				t.Fatalf("no caret in %q", err)
			}
		})
	}
}

// TestOperatorIDsStable: the same SQL plans to the same operator ids, in
// any session, so that a restarted job restores its state; a change to
// one query changes the ids of the nodes it changes.
func TestOperatorIDsStable(t *testing.T) {
	explain := func(q string) string {
		s := quietSession(t, sql.Options{})
		exec1(t, s, logsDDL)
		exec1(t, s, "CREATE TABLE out_t (uri STRING, n BIGINT) WITH ('connector' = 'blackhole')")
		return exec1(t, s, "EXPLAIN INSERT INTO out_t "+q).Text
	}
	q := "SELECT uri, COUNT(*) FROM TABLE(TUMBLE(TABLE logs, DESCRIPTOR(time_local), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, uri"
	a, b := explain(q), explain(q)
	if a != b {
		t.Fatalf("two plans of one query differ:\n%s\n%s", a, b)
	}
	c := explain(strings.Replace(q, "'1' MINUTE", "'2' MINUTE", 1))
	if uids(a) == uids(c) {
		t.Fatal("a changed window kept the window operator's id")
	}
}

func uids(explain string) string {
	var out []string
	for _, line := range strings.Split(explain, "\n") {
		if i := strings.Index(line, "uid "); i >= 0 {
			out = append(out, line[i:])
		}
	}
	return strings.Join(out, "\n")
}

// TestDeadLetters: with 'sql.dead-letters' set, the lines the format
// cannot read are appended to that file with their reasons.
func TestDeadLetters(t *testing.T) {
	s := quietSession(t, sql.Options{})
	exec1(t, s, logsDDL)
	path := t.TempDir() + "/bad.jsonl"
	exec1(t, s, "SET 'sql.dead-letters' = '"+path+"'")
	if rows := rowsOf(t, s, "SELECT uri FROM logs"); len(rows) == 0 || len(rows) >= 3000 {
		t.Fatalf("%d rows of 3000 lines with 1%% bad", len(rows))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) == 0 || !strings.Contains(lines[0], `"reason":"`) {
		t.Fatalf("dead letters: %q", b)
	}
}

// TestCancel: a SELECT over an unbounded table runs until cancelled; Wait
// then returns nil and Rows is closed.
func TestCancel(t *testing.T) {
	s := quietSession(t, sql.Options{})
	exec1(t, s, strings.Replace(logsDDL, "'number-of-rows' = '3000', ", "", 1))
	r := exec1(t, s, "SELECT uri FROM logs")
	for range 10 {
		<-r.Job.Rows()
	}
	r.Job.Cancel()
	for range r.Job.Rows() {
	}
	if err := r.Job.Wait(); err != nil {
		t.Fatalf("Wait after Cancel: %v", err)
	}
}

// TestExplainRunsNothing: EXPLAIN resolves the job graph without running
// the job: a print table prints nothing.
func TestExplainRunsNothing(t *testing.T) {
	out := &syncBuffer{}
	s := quietSession(t, sql.Options{Stdout: out})
	exec1(t, s, logsDDL)
	exec1(t, s, "CREATE TABLE p (uri STRING) WITH ('connector' = 'print')")
	for range 10 {
		if r := exec1(t, s, "EXPLAIN INSERT INTO p SELECT uri FROM logs"); !strings.Contains(r.Text, "p: sink") {
			t.Fatalf("EXPLAIN:\n%s", r.Text)
		}
	}
	if out.String() != "" {
		t.Fatalf("EXPLAIN printed %.100q", out.String())
	}
}

// TestExplainReportsWhatExecuteWouldRefuse: EXPLAIN validates the job as
// running it would, rather than showing a graph that cannot run.
func TestExplainReportsWhatExecuteWouldRefuse(t *testing.T) {
	s := quietSession(t, sql.Options{Stdout: &syncBuffer{}})
	exec1(t, s, logsDDL)
	exec1(t, s, "CREATE TABLE p (uri STRING) WITH ('connector' = 'print')")
	exec1(t, s, "SET 'parallelism.default' = '1000'")
	_, err := s.Execute(context.Background(), "EXPLAIN INSERT INTO p SELECT uri FROM logs")
	if err == nil || !strings.Contains(err.Error(), "max") {
		t.Fatalf("EXPLAIN at parallelism 1000, over the max parallelism: %v, want an error that says so", err)
	}
}
