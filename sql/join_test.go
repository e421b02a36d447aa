package sql_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weirstream/weir/internal/redistest"

	"github.com/weirstream/weir/sql"
	"github.com/weirstream/weir/sql/connectors"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
)

func rowsOf(t *testing.T, s *sql.Session, q string) []types.Row {
	t.Helper()
	r := exec1(t, s, q)
	var out []types.Row
	for row := range r.Job.Rows() {
		out = append(out, row)
	}
	if err := r.Job.Wait(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestWindowJoin: a window aggregate joined with itself ON its windows
// and key matches every row once.
func TestWindowJoin(t *testing.T) {
	s := quietSession(t, sql.Options{})
	exec1(t, s, logsDDL)
	exec1(t, s, `CREATE VIEW per_uri AS SELECT uri, window_start, window_end, COUNT(*) AS n
		FROM TABLE(TUMBLE(TABLE logs, DESCRIPTOR(time_local), INTERVAL '10' SECOND)) GROUP BY window_start, window_end, uri`)
	want := rowsOf(t, s, "SELECT * FROM per_uri")
	got := rowsOf(t, s, `SELECT a.uri, a.window_start, a.n, b.n FROM per_uri a JOIN per_uri b
		ON a.uri = b.uri AND a.window_start = b.window_start AND a.window_end = b.window_end`)
	if len(got) != len(want) || len(want) == 0 {
		t.Fatalf("%d joined rows, want %d", len(got), len(want))
	}
	for _, r := range got {
		if r.Values[2].Int() != r.Values[3].Int() {
			t.Fatalf("row %v joined another", r)
		}
	}
}

// TestIntervalJoin: visits of one address within a second of each other,
// against the pairs counted directly.
func TestIntervalJoin(t *testing.T) {
	s := quietSession(t, sql.Options{})
	exec1(t, s, logsDDL)
	hits := rowsOf(t, s, "SELECT remote_addr, time_local FROM logs")
	byAddr := map[string][]int64{}
	for _, h := range hits {
		byAddr[h.Values[0].Str()] = append(byAddr[h.Values[0].Str()], h.Values[1].Int())
	}
	want := 0
	for _, ts := range byAddr {
		for _, a := range ts {
			for _, b := range ts {
				if b >= a-1000 && b <= a+2000 {
					want++
				}
			}
		}
	}
	got := rowsOf(t, s, `SELECT a.remote_addr, a.time_local, b.time_local FROM logs a JOIN logs b
		ON a.remote_addr = b.remote_addr AND b.time_local BETWEEN a.time_local - INTERVAL '1' SECOND AND a.time_local + INTERVAL '2' SECOND`)
	if len(got) != want || want == 0 {
		t.Fatalf("%d pairs, want %d", len(got), want)
	}
	for _, r := range got {
		if d := r.Values[2].Int() - r.Values[1].Int(); d < -1000 || d > 2000 {
			t.Fatalf("pair %v is %d ms apart", r, d)
		}
	}
	// The bounds in WHERE, as comparisons, with a condition on the pair
	// that is applied after the join.
	strict := 0
	for _, ts := range byAddr {
		for _, a := range ts {
			for _, b := range ts {
				if b >= a-1000 && b <= a+2000 && a != b {
					strict++
				}
			}
		}
	}
	got = rowsOf(t, s, `SELECT a.remote_addr FROM logs a JOIN logs b ON a.remote_addr = b.remote_addr
		WHERE b.time_local >= a.time_local - INTERVAL '1' SECOND AND a.time_local + INTERVAL '2' SECOND >= b.time_local
		AND a.time_local <> b.time_local`)
	if len(got) != strict {
		t.Fatalf("%d pairs at distinct times, want %d", len(got), strict)
	}
}

// memLookup is a test connector: a lookup table of status codes' names.
type memLookup struct{ calls *atomic.Int64 }

func (memLookup) Connector() string { return "status-names" }
func (memLookup) Options() table.OptionSpec {
	return table.OptionSpec{Optional: table.LookupCacheOptions}
}
func (m memLookup) Lookup(c table.LookupContext) (table.Lookup, error) {
	if len(c.Keys) != 1 || c.Keys[0] != "code" {
		return table.Lookup{}, fmt.Errorf("look up by code, not %v", c.Keys)
	}
	fn, err := table.CachedLookup(c.Options, func(_ context.Context, keys []types.Value) ([]types.Row, error) {
		m.calls.Add(1)
		code := keys[0].Int()
		if code == 404 {
			return nil, nil
		}
		return []types.Row{types.NewRow(types.IntValue(code), types.StringValue(fmt.Sprintf("status %d", code)))}, nil
	})
	return table.Lookup{Fn: fn}, err
}

// TestLookupJoin: a LEFT lookup join FOR SYSTEM_TIME AS OF a
// processing-time attribute, through the table's cache.
func TestLookupJoin(t *testing.T) {
	reg := connectors.Default(nil)
	calls := new(atomic.Int64)
	if err := reg.Register(memLookup{calls}); err != nil {
		t.Fatal(err)
	}
	s := quietSession(t, sql.Options{Tables: reg})
	exec1(t, s, strings.Replace(logsDDL, "page AS LOWER(uri),", "proc AS PROCTIME(),", 1))
	exec1(t, s, "CREATE TABLE names (code INT, name STRING) WITH ('connector' = 'status-names', 'lookup.cache.max-rows' = '100')")
	got := rowsOf(t, s, `SELECT l.status, n.name FROM logs AS l LEFT JOIN names FOR SYSTEM_TIME AS OF l.proc AS n ON n.code = l.status`)
	checkStatusNames(t, got)
	if n := calls.Load(); n > 50 {
		t.Fatalf("%d lookups for a handful of codes: the cache did not serve", n)
	}
}

// checkStatusNames checks the rows of a lookup join of logs' statuses to
// their names: every status but 404 (left out of the table) is named.
func checkStatusNames(t *testing.T, got []types.Row) {
	t.Helper()
	if len(got) < 2000 {
		t.Fatalf("%d rows", len(got))
	}
	for _, r := range got {
		want := types.StringValue(fmt.Sprintf("status %d", r.Values[0].Int()))
		if r.Values[0].Int() == 404 {
			want = types.Null
		}
		if r.Values[1] != want {
			t.Fatalf("row %v: name %v, want %v", r, r.Values[1], want)
		}
	}
}

// TestRedisLookupJoin: INSERT INTO a redis table, then a lookup join
// that reads it back, on a real redis-server.
func TestRedisLookupJoin(t *testing.T) {
	srv := redistest.Start(t)
	s := quietSession(t, sql.Options{})
	exec1(t, s, strings.Replace(logsDDL, "page AS LOWER(uri),", "proc AS PROCTIME(),", 1))
	exec1(t, s, "CREATE TABLE names (code INT, name STRING, PRIMARY KEY (code) NOT ENFORCED) WITH ('connector' = 'redis', 'url' = '"+srv.URL()+"', 'lookup.cache.max-rows' = '100', 'lookup.cache.ttl' = '1 min')")
	r := exec1(t, s, "INSERT INTO names SELECT status, 'status ' || CAST(status AS STRING) FROM logs WHERE status <> 404")
	if err := r.Job.Wait(); err != nil {
		t.Fatal(err)
	}
	got := rowsOf(t, s, "SELECT l.status, n.name FROM logs AS l LEFT JOIN names FOR SYSTEM_TIME AS OF l.proc AS n ON n.code = l.status")
	checkStatusNames(t, got)
}
