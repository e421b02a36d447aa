package nexmark

import (
	"math"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/window"
)

// Q17Row is a row of q17: statistics of an auction's bids on a day.
type Q17Row struct {
	Auction   int64  `json:"auction"`
	Day       string `json:"day"`
	TotalBids int64  `json:"total_bids"`
	Rank1Bids int64  `json:"rank1_bids"`
	Rank2Bids int64  `json:"rank2_bids"`
	Rank3Bids int64  `json:"rank3_bids"`
	MinPrice  int64  `json:"min_price"`
	MaxPrice  int64  `json:"max_price"`
	AvgPrice  int64  `json:"avg_price"`
	SumPrice  int64  `json:"sum_price"`
}

// q17Acc accumulates a Q17Row.
type q17Acc struct {
	Bids     [4]int64
	Min, Max int64
	Sum      int64
}

// Q17 sums up the bids on every auction per UTC day: their number, in all
// and per price rank, and their least, greatest, average (rounded toward
// zero, as an average of BIGINT is in Flink) and total price.
//
// Flink SQL: select auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd') as day,
// count(*) and its three filtered counts, min(price), max(price),
// avg(price) and sum(price), from bid grouped by auction and day. As in
// q15, a row comes once per auction and day, when the day ends.
func Q17(events weir.Stream[nexmark.Event]) weir.Stream[Q17Row] {
	byAuction := weir.KeyBy(bids(events, "q17"), func(b *nexmark.Bid) int64 { return b.Auction })
	agg := weir.AggregateFunc[*nexmark.Bid, q17Acc, q17Acc]{
		Init: func() q17Acc { return q17Acc{Min: math.MaxInt64, Max: math.MinInt64} },
		Add: func(a q17Acc, b *nexmark.Bid) q17Acc {
			a.Bids[0]++
			a.Bids[priceRank(b.Price)]++
			a.Min, a.Max = min(a.Min, b.Price), max(a.Max, b.Price)
			a.Sum += b.Price
			return a
		},
		Result: func(a q17Acc) q17Acc { return a },
		Merge: func(a, b q17Acc) q17Acc {
			for i := range a.Bids {
				a.Bids[i] += b.Bids[i]
			}
			a.Min, a.Max, a.Sum = min(a.Min, b.Min), max(a.Max, b.Max), a.Sum+b.Sum
			return a
		},
	}
	return weir.AggregateWindow(weir.Window(byAuction, dayWindow), agg,
		func(auction int64, w window.Window, a q17Acc, out weir.Emitter[Q17Row]) error {
			out.Emit(Q17Row{Auction: auction, Day: day(w.StartTime()), TotalBids: a.Bids[0], Rank1Bids: a.Bids[1],
				Rank2Bids: a.Bids[2], Rank3Bids: a.Bids[3], MinPrice: a.Min, MaxPrice: a.Max,
				AvgPrice: a.Sum / a.Bids[0], SumPrice: a.Sum})
			return nil
		}, weir.Name("q17 stats"))
}
