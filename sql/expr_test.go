package sql_test

import (
	"strings"
	"testing"

	"github.com/weirstream/weir/sql"
)

// TestRuntimeError: an expression that fails on a row fails the job, and
// the error names the expression.
func TestRuntimeError(t *testing.T) {
	s := quietSession(t, sql.Options{})
	exec1(t, s, logsDDL)
	r := exec1(t, s, "SELECT CAST(uri AS INT) FROM logs")
	for range r.Job.Rows() {
	}
	err := r.Job.Wait()
	if err == nil || !strings.Contains(err.Error(), "CAST(uri AS INT)") {
		t.Fatalf("Wait: %v", err)
	}
}

// TestInsertCasts: INSERT INTO casts the query's columns to the table's
// types where SQL casts implicitly (INT to BIGINT and DOUBLE).
func TestInsertCasts(t *testing.T) {
	out := &syncBuffer{}
	s := quietSession(t, sql.Options{Stdout: out})
	exec1(t, s, logsDDL)
	exec1(t, s, "CREATE TABLE wide (n BIGINT, d DOUBLE) WITH ('connector' = 'print')")
	r := exec1(t, s, "INSERT INTO wide SELECT status, status FROM logs WHERE status = 200")
	if err := r.Job.Wait(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "+I[200, 200]") {
		t.Fatalf("printed %.200q", out.String())
	}
	plan := exec1(t, s, "EXPLAIN INSERT INTO wide SELECT status, status FROM logs").Text
	if !strings.Contains(plan, "CAST(status AS BIGINT)") || !strings.Contains(plan, "CAST(status AS DOUBLE)") {
		t.Fatalf("EXPLAIN:\n%s", plan)
	}
}

// TestTimeZone: windows over a TIMESTAMP_LTZ align to the session time
// zone, and window_start is its wall-clock time there.
func TestTimeZone(t *testing.T) {
	starts := func(zone string) []int64 {
		s := quietSession(t, sql.Options{})
		exec1(t, s, logsDDL)
		exec1(t, s, "SET 'table.local-time-zone' = '"+zone+"'")
		var out []int64
		for _, r := range rowsOf(t, s, "SELECT window_start FROM TABLE(TUMBLE(TABLE logs, DESCRIPTOR(time_local), INTERVAL '10' SECOND)) GROUP BY window_start, window_end") {
			out = append(out, r.Values[0].Int())
		}
		return out
	}
	utc, sh := starts("UTC"), starts("Asia/Shanghai")
	if len(utc) == 0 || len(utc) != len(sh) {
		t.Fatalf("%d and %d windows", len(utc), len(sh))
	}
	seen := map[int64]bool{}
	for _, u := range utc {
		seen[u+8*3600*1000] = true
	}
	for _, v := range sh {
		if !seen[v] {
			t.Fatalf("window_start %d in Asia/Shanghai is not 8 h after one in UTC", v)
		}
	}
}
