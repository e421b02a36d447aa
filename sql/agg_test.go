package sql_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/weirstream/weir/sql"
	"github.com/weirstream/weir/sql/types"
)

type hit struct {
	addr   string
	ms     int64
	status int64
}

func hitsOf(t *testing.T, s *sql.Session) []hit {
	var out []hit
	for _, r := range rowsOf(t, s, "SELECT remote_addr, time_local, status FROM logs") {
		out = append(out, hit{r.Values[0].Str(), r.Values[1].Int(), r.Values[2].Int()})
	}
	return out
}

// TestWindowAggregates: every aggregate function, FILTER, COUNT
// DISTINCT, HAVING and an expression over aggregates per 10 s tumbling
// window, against the same computed directly from the rows.
func TestWindowAggregates(t *testing.T) {
	s := quietSession(t, sql.Options{})
	exec1(t, s, logsDDL)
	exec1(t, s, "SET 'parallelism.default' = '2'")
	hits := hitsOf(t, s)
	type acc struct {
		n, errs, sum, min, max int64
		addrs                  map[string]bool
	}
	want := map[int64]*acc{}
	for _, h := range hits {
		w := h.ms - h.ms%10000
		a := want[w]
		if a == nil {
			a = &acc{min: math.MaxInt64, max: math.MinInt64, addrs: map[string]bool{}}
			want[w] = a
		}
		a.n++
		a.sum += h.status
		a.min, a.max = min(a.min, h.status), max(a.max, h.status)
		a.addrs[h.addr] = true
		if h.status >= 400 {
			a.errs++
		}
	}
	got := rowsOf(t, s, `SELECT window_start, COUNT(*) AS n, COUNT(*) FILTER (WHERE status >= 400) AS errs,
		COUNT(DISTINCT remote_addr) AS uv, APPROX_COUNT_DISTINCT(remote_addr) AS approx_uv,
		SUM(status) AS s, MIN(status) AS lo, MAX(status) AS hi, AVG(status) AS mean, SUM(status) / COUNT(*) AS mean2
		FROM TABLE(TUMBLE(TABLE logs, DESCRIPTOR(time_local), INTERVAL '10' SECOND))
		WHERE uri IS NOT NULL
		GROUP BY window_start, window_end HAVING COUNT(*) > 0`)
	if len(got) != len(want) {
		t.Fatalf("%d windows, want %d", len(got), len(want))
	}
	for _, r := range got {
		v := r.Values
		a := want[v[0].Int()]
		if a == nil {
			t.Fatalf("window %v is not in the data", v[0])
		}
		line := fmt.Sprintf("%d %d %d %d %d %d", v[1].Int(), v[2].Int(), v[3].Int(), v[5].Int(), v[6].Int(), v[7].Int())
		if w := fmt.Sprintf("%d %d %d %d %d %d", a.n, a.errs, len(a.addrs), a.sum, a.min, a.max); line != w {
			t.Fatalf("window %d: %s, want %s", v[0].Int(), line, w)
		}
		if v[8].Int() != a.sum/a.n || v[9].Int() != a.sum/a.n {
			t.Fatalf("window %d: AVG %v and SUM/COUNT %v, want %d", v[0].Int(), v[8], v[9], a.sum/a.n)
		}
		if d := math.Abs(float64(v[4].Int()-int64(len(a.addrs)))) / float64(len(a.addrs)); d > 0.05 {
			t.Fatalf("window %d: APPROX_COUNT_DISTINCT %d, exact %d", v[0].Int(), v[4].Int(), len(a.addrs))
		}
	}
}

// TestCumulateSessionHop: CUMULATE's last step counts the whole window,
// SESSION windows per address count every row once, HOP counts each row
// size/slide times, and UNION ALL passes both inputs.
func TestCumulateSessionHop(t *testing.T) {
	s := quietSession(t, sql.Options{})
	exec1(t, s, logsDDL)
	hits := hitsOf(t, s)
	total := func(q string, col int) (sum int64, rows []types.Row) {
		rows = rowsOf(t, s, q)
		for _, r := range rows {
			sum += r.Values[col].Int()
		}
		return sum, rows
	}
	sessions, _ := total(`SELECT remote_addr, window_start, window_end, COUNT(*) AS n
		FROM TABLE(SESSION(TABLE logs PARTITION BY remote_addr, DESCRIPTOR(time_local), INTERVAL '3' SECOND))
		GROUP BY remote_addr, window_start, window_end`, 3)
	if sessions != int64(len(hits)) {
		t.Fatalf("SESSION counted %d rows, want %d", sessions, len(hits))
	}
	hops, _ := total(`SELECT window_start, COUNT(*) FROM TABLE(HOP(TABLE logs, DESCRIPTOR(time_local), INTERVAL '5' SECOND, INTERVAL '10' SECOND))
		GROUP BY window_start, window_end`, 1)
	if hops != 2*int64(len(hits)) {
		t.Fatalf("HOP counted %d rows, want %d", hops, 2*len(hits))
	}
	_, cum := total(`SELECT window_start, window_end, COUNT(*) AS n FROM TABLE(CUMULATE(TABLE logs, DESCRIPTOR(time_local), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
		GROUP BY window_start, window_end`, 2)
	var full int64
	for _, r := range cum {
		if r.Values[1].Int()-r.Values[0].Int() == 10000 {
			full += r.Values[2].Int()
		}
	}
	if full != int64(len(hits)) {
		t.Fatalf("CUMULATE's full windows counted %d rows, want %d", full, len(hits))
	}
	both := rowsOf(t, s, "SELECT uri FROM logs WHERE status < 400 UNION ALL SELECT uri FROM logs WHERE status >= 400")
	if len(both) != len(hits) {
		t.Fatalf("UNION ALL gave %d rows, want %d", len(both), len(hits))
	}
}

// TestViewColumns: a view's column list renames its query's columns.
func TestViewColumns(t *testing.T) {
	s := quietSession(t, sql.Options{})
	exec1(t, s, logsDDL)
	exec1(t, s, "CREATE VIEW v (u, code) AS SELECT uri, status FROM logs")
	r := exec1(t, s, "SELECT code, u FROM v WHERE code = 200")
	n := 0
	for row := range r.Job.Rows() {
		if row.Values[0].Int() != 200 {
			t.Fatalf("row %v", row)
		}
		n++
	}
	if err := r.Job.Wait(); err != nil || n == 0 {
		t.Fatalf("%d rows, %v", n, err)
	}
}

// TestStateBackend: 'state.backend' = 'rocksdb' runs on pebble, which
// needs 'state.backend.dir'.
func TestStateBackend(t *testing.T) {
	s := quietSession(t, sql.Options{})
	exec1(t, s, logsDDL)
	exec1(t, s, "SET 'state.backend' = 'rocksdb'")
	q := "SELECT window_start, COUNT(*) FROM TABLE(TUMBLE(TABLE logs, DESCRIPTOR(time_local), INTERVAL '10' SECOND)) GROUP BY window_start, window_end"
	if _, err := s.Execute(t.Context(), q); err == nil {
		t.Fatal("pebble without 'state.backend.dir' was taken")
	}
	exec1(t, s, "SET 'state.backend.dir' = '"+t.TempDir()+"'")
	var n int64
	for _, r := range rowsOf(t, s, q) {
		n += r.Values[1].Int()
	}
	if n != int64(len(hitsOf(t, s))) {
		t.Fatalf("pebble counted %d rows", n)
	}
}
