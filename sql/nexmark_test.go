package sql_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	appnexmark "github.com/weirstream/weir/app/nexmark"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/sql"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

const nexmarkEvents = 20000

// nexmarkDDL is the corpus's Nexmark DDL (a datagen 'nexmark' table, its
// dateTime computed, and the views person, auction and bid), bounded.
func nexmarkDDL(t testing.TB) string {
	b, err := os.ReadFile("parser/testdata/corpus/nexmark_ddl.sql")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	s = replaceOnce(t, s, "'events' = '10000000',\n  'rate' = '10000000'", fmt.Sprintf("'number-of-rows' = '%d', 'seed' = '7'", nexmarkEvents))
	return s
}

func replaceOnce(t testing.TB, s, old, new string) string {
	i := len(s)
	for j := 0; j+len(old) <= len(s); j++ {
		if s[j:j+len(old)] == old {
			i = j
			break
		}
	}
	if i == len(s) {
		t.Fatalf("%q not found", old)
	}
	return s[:i] + new + s[i+len(old):]
}

// nexmarkJob runs build over the events the datagen table reads and
// returns its lines, sorted.
func nexmarkJob(t testing.TB, build func(weir.Stream[nexmark.Event]) weir.Stream[string]) []string {
	env := weir.NewEnv()
	src, err := nexmark.NewSource(nexmark.Events(nexmarkEvents), nexmark.Seed(7))
	if err != nil {
		t.Fatal(err)
	}
	out := weirtest.NewCollector[string]()
	weir.SinkTo(build(appnexmark.Events(env, src)), out)
	if err := env.Execute(context.Background(), "nexmark"); err != nil {
		t.Fatal(err)
	}
	got := out.Records()
	slices.Sort(got)
	return got
}

// query runs a SELECT after the DDL and returns its rows formatted by f.
func query(t *testing.T, s *sql.Session, q string, f func(types.Row) string) []string {
	t.Helper()
	r, err := s.Execute(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != sql.ResultQuery || r.Job == nil || r.Job.Rows() == nil {
		t.Fatalf("SELECT gave %v", r.Kind)
	}
	var got []string
	for row := range r.Job.Rows() {
		got = append(got, f(row))
	}
	if err := r.Job.Wait(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	return got
}

// TestNexmarkQ1: q1 (0.908 * price, exact DECIMAL) over the datagen
// 'nexmark' table and its bid view equals app/nexmark's Q1.
func TestNexmarkQ1(t *testing.T) {
	s, _ := newSession(t)
	if err := s.ExecuteScript(context.Background(), nexmarkDDL(t), nil); err != nil {
		t.Fatal(err)
	}
	got := query(t, s, "SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid", func(r types.Row) string {
		v := r.Values
		return fmt.Sprintf("%d %d %d %d %s", v[0].Int(), v[1].Int(), v[2].Int(), v[3].Int(), v[4].Str())
	})
	want := nexmarkJob(t, func(ev weir.Stream[nexmark.Event]) weir.Stream[string] {
		return weir.Map(appnexmark.Q1(ev), func(r appnexmark.Q1Row) string {
			return fmt.Sprintf("%d %d %d %d %s", r.Auction, r.Bidder, int64(r.Price), r.DateTime.UnixMilli(), r.Extra)
		})
	})
	sameLines(t, "q1", got, want)
}

// TestNexmarkHopCount: q5's inner query, bids per auction in 10 s windows
// sliding by 2 s (HOP), equals the count computed directly from the
// events.
func TestNexmarkHopCount(t *testing.T) {
	s, _ := newSession(t)
	if err := s.ExecuteScript(context.Background(), nexmarkDDL(t), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Execute(context.Background(), "SET 'parallelism.default' = '2'"); err != nil {
		t.Fatal(err)
	}
	got := query(t, s, `SELECT auction, COUNT(*) AS num, window_start AS starttime, window_end AS endtime
		FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))
		GROUP BY auction, window_start, window_end`, func(r types.Row) string {
		v := r.Values
		return fmt.Sprintf("%d %d %d %d", v[0].Int(), v[1].Int(), v[2].Int(), v[3].Int())
	})
	counts := map[[3]int64]int64{}
	bids := nexmarkJob(t, func(ev weir.Stream[nexmark.Event]) weir.Stream[string] {
		return weir.FlatMap(ev, func(e nexmark.Event, out weir.Emitter[string]) {
			if e.Kind == nexmark.KindBid {
				out.Emit(fmt.Sprintf("%d %d", e.Bid.Auction, e.Bid.DateTime.UnixMilli()))
			}
		})
	})
	slide, size := int64(2*time.Second/time.Millisecond), int64(10*time.Second/time.Millisecond)
	for _, b := range bids {
		var a, ts int64
		fmt.Sscanf(b, "%d %d", &a, &ts)
		for start := ts - ts%slide; start > ts-size; start -= slide {
			counts[[3]int64{a, start, start + size}]++
		}
	}
	var want []string
	for k, n := range counts {
		want = append(want, fmt.Sprintf("%d %d %d %d", k[0], n, k[1], k[2]))
	}
	slices.Sort(want)
	sameLines(t, "HOP count", got, want)
}

// TestNexmarkCorpusRuns runs every Nexmark query of the parser's corpus
// that the planner plans (sql/planner's TestNexmarkCorpus lists them) on
// a few thousand events: each job ends without error.
func TestNexmarkCorpusRuns(t *testing.T) {
	for _, q := range []string{"q0", "q1", "q2", "q3", "q4", "q7", "q8", "q10", "q11", "q15", "q16", "q17", "q18", "q20", "q21", "q22"} {
		t.Run(q, func(t *testing.T) {
			b, err := os.ReadFile("parser/testdata/corpus/" + q + ".sql")
			if err != nil {
				t.Fatal(err)
			}
			script := strings.ReplaceAll(string(b), "'path' = 'out/q10'", fmt.Sprintf("'path' = '%s'", filepath.Join(t.TempDir(), "q10.csv")))
			s := quietSession(t, sql.Options{})
			ddl := strings.Replace(nexmarkDDL(t), fmt.Sprintf("'number-of-rows' = '%d'", nexmarkEvents), "'number-of-rows' = '5000'", 1)
			if err := s.ExecuteScript(context.Background(), ddl+";\nSET 'parallelism.default' = '2';\n"+script, func(r *sql.Result) error {
				if r.Job != nil {
					return r.Job.Wait()
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestNexmarkQ3: q3 of the corpus, a regular join of auctions and people,
// equals app/nexmark's Q3 at parallelism 2.
func TestNexmarkQ3(t *testing.T) {
	s, _ := newSession(t)
	if err := s.ExecuteScript(context.Background(), nexmarkDDL(t)+";\nSET 'parallelism.default' = '2'", nil); err != nil {
		t.Fatal(err)
	}
	got := query(t, s, `SELECT p.name, p.city, p.state, a.id
		FROM auction AS a INNER JOIN person AS p ON a.seller = p.id
		WHERE a.category = 10 AND (p.state = 'OR' OR p.state = 'ID' OR p.state = 'CA')`, func(r types.Row) string {
		v := r.Values
		return fmt.Sprintf("%s|%s|%s|%d", v[0].Str(), v[1].Str(), v[2].Str(), v[3].Int())
	})
	want := nexmarkJob(t, func(ev weir.Stream[nexmark.Event]) weir.Stream[string] {
		return weir.Map(appnexmark.Q3(ev), func(r appnexmark.Q3Row) string {
			return fmt.Sprintf("%s|%s|%s|%d", r.Name, r.City, r.State, r.ID)
		})
	})
	if len(want) == 0 {
		t.Fatal("q3 found no row: the test proves nothing")
	}
	sameLines(t, "q3", got, want)
}

// TestNexmarkQ20: q20 of the corpus, bids joined with their auctions of
// category 10 (a regular join), equals app/nexmark's Q20 at parallelism 2.
func TestNexmarkQ20(t *testing.T) {
	s, _ := newSession(t)
	if err := s.ExecuteScript(context.Background(), nexmarkDDL(t)+";\nSET 'parallelism.default' = '2'", nil); err != nil {
		t.Fatal(err)
	}
	got := query(t, s, `SELECT auction, bidder, price, channel, url, b.dateTime, b.extra,
		itemName, description, initialBid, reserve, a.dateTime, expires, seller, category, a.extra
		FROM bid AS b INNER JOIN auction AS a ON b.auction = a.id
		WHERE a.category = 10`, func(r types.Row) string {
		v := r.Values
		return fmt.Sprintf("%d|%d|%d|%s|%s|%d|%s|%s|%s|%d|%d|%d|%d|%d|%d|%s", v[0].Int(), v[1].Int(), v[2].Int(), v[3].Str(), v[4].Str(),
			v[5].Int(), v[6].Str(), v[7].Str(), v[8].Str(), v[9].Int(), v[10].Int(), v[11].Int(), v[12].Int(), v[13].Int(), v[14].Int(), v[15].Str())
	})
	want := nexmarkJob(t, func(ev weir.Stream[nexmark.Event]) weir.Stream[string] {
		return weir.Map(appnexmark.Q20(ev), func(r appnexmark.Q20Row) string {
			return fmt.Sprintf("%d|%d|%d|%s|%s|%d|%s|%s|%s|%d|%d|%d|%d|%d|%d|%s", r.Auction, r.Bidder, r.Price, r.Channel, r.URL,
				r.BidDateTime.UnixMilli(), r.BidExtra, r.ItemName, r.Description, r.InitialBid, r.Reserve,
				r.AuctionDateTime.UnixMilli(), r.Expires.UnixMilli(), r.Seller, r.Category, r.AuctionExtra)
		})
	})
	if len(want) == 0 {
		t.Fatal("q20 found no row: the test proves nothing")
	}
	sameLines(t, "q20", got, want)
}
