package nexmark

import (
	"testing"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
)

// The stateful queries give the same rows on the pebble backend, whose
// state goes through the codecs, as on the heap.
func TestStatefulQueriesOnPebble(t *testing.T) {
	for _, c := range []struct {
		name string
		run  func(t *testing.T, opts ...weir.EnvOption) []string
	}{
		// q4, q5, q6, q9, q15 and q20 pass too, but take seconds each on
		// pebble (their lists and accumulators are decoded and encoded
		// again per record there): these cover value, list and window
		// state holding bids, times and strings, at a fraction of the
		// time.
		{"q3", rowsOf(Q3, nil)}, {"q7", rowsOf(Q7, nil)}, {"q8", rowsOf(Q8, nil)},
		{"q11", rowsOf(Q11, nil)}, {"q17", rowsOf(Q17, nil)},
		// Upsert streams: the rows before the last of a key depend on the
		// order of arrival; the last ones are the result.
		{"q18", rowsOf(Q18, func(rows []Q18Row) []Q18Row {
			return lastPer(rows, func(r Q18Row) bidderAuction { return bidderAuction{r.Bidder, r.Auction} })
		})},
		{"q19", rowsOf(Q19, func(rows []Q19Row) []Q19Row {
			return lastPer(rows, func(r Q19Row) [2]int64 { return [2]int64{r.Auction, r.RankNumber} })
		})},
	} {
		t.Run(c.name, func(t *testing.T) {
			heap := c.run(t)
			pebble := c.run(t, weir.StateBackend("pebble", t.TempDir()))
			sameRows(t, pebble, heap)
		})
	}
}

// rowsOf returns a function that runs build and renders its rows, or
// what final keeps of them.
func rowsOf[R any](build func(weir.Stream[nexmark.Event]) weir.Stream[R], final func([]R) []R) func(*testing.T, ...weir.EnvOption) []string {
	return func(t *testing.T, opts ...weir.EnvOption) []string {
		rows := runQuery(t, build, opts...)
		if final != nil {
			rows = final(rows)
		}
		return render(rows)
	}
}
