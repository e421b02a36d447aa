package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/window"
)

// Q15Row is a row of q15: bidding statistics of a day.
type Q15Row struct {
	Day string `json:"day"`
	BidStats
}

// BidStats counts bids, bidders and auctions of a group, in all and by
// price: rank 1 below 10,000, rank 2 from 10,000 to below 1,000,000, rank
// 3 from 1,000,000.
type BidStats struct {
	TotalBids     int64 `json:"total_bids"`
	Rank1Bids     int64 `json:"rank1_bids"`
	Rank2Bids     int64 `json:"rank2_bids"`
	Rank3Bids     int64 `json:"rank3_bids"`
	TotalBidders  int64 `json:"total_bidders"`
	Rank1Bidders  int64 `json:"rank1_bidders"`
	Rank2Bidders  int64 `json:"rank2_bidders"`
	Rank3Bidders  int64 `json:"rank3_bidders"`
	TotalAuctions int64 `json:"total_auctions"`
	Rank1Auctions int64 `json:"rank1_auctions"`
	Rank2Auctions int64 `json:"rank2_auctions"`
	Rank3Auctions int64 `json:"rank3_auctions"`
}

// priceRank returns the rank of a price, 1 to 3.
func priceRank(price int64) int {
	switch {
	case price < 10_000:
		return 1
	case price < 1_000_000:
		return 2
	}
	return 3
}

// statsAcc accumulates BidStats: the distinct bidders and auctions keep
// the highest rank bit set they were seen with (bit r-1 for rank r).
type statsAcc struct {
	Bids     [4]int64 // total, rank 1 to 3
	Bidders  map[int64]uint8
	Auctions map[int64]uint8
	MaxTime  int64 // the latest bid's time, Unix ms (q16's minute)
}

func newStatsAcc() statsAcc {
	return statsAcc{Bidders: map[int64]uint8{}, Auctions: map[int64]uint8{}}
}

func (a statsAcc) add(b *nexmark.Bid) statsAcc {
	if a.Bidders == nil {
		a.Bidders, a.Auctions = map[int64]uint8{}, map[int64]uint8{}
	}
	r := priceRank(b.Price)
	a.Bids[0]++
	a.Bids[r]++
	bit := uint8(1) << (r - 1)
	a.Bidders[b.Bidder] |= bit
	a.Auctions[b.Auction] |= bit
	a.MaxTime = max(a.MaxTime, b.DateTime.UnixMilli())
	return a
}

func (a statsAcc) merge(o statsAcc) statsAcc {
	c := newStatsAcc()
	for i := range a.Bids {
		c.Bids[i] = a.Bids[i] + o.Bids[i]
	}
	for _, m := range []map[int64]uint8{a.Bidders, o.Bidders} {
		for k, v := range m {
			c.Bidders[k] |= v
		}
	}
	for _, m := range []map[int64]uint8{a.Auctions, o.Auctions} {
		for k, v := range m {
			c.Auctions[k] |= v
		}
	}
	c.MaxTime = max(a.MaxTime, o.MaxTime)
	return c
}

func (a statsAcc) stats() BidStats {
	s := BidStats{TotalBids: a.Bids[0], Rank1Bids: a.Bids[1], Rank2Bids: a.Bids[2], Rank3Bids: a.Bids[3]}
	distinct := func(m map[int64]uint8) (total, r1, r2, r3 int64) {
		for _, bits := range m {
			total++
			r1 += int64(bits & 1)
			r2 += int64(bits >> 1 & 1)
			r3 += int64(bits >> 2 & 1)
		}
		return
	}
	s.TotalBidders, s.Rank1Bidders, s.Rank2Bidders, s.Rank3Bidders = distinct(a.Bidders)
	s.TotalAuctions, s.Rank1Auctions, s.Rank2Auctions, s.Rank3Auctions = distinct(a.Auctions)
	return s
}

// statsAgg is the aggregate function of q15 and q16.
var statsAgg = weir.AggregateFunc[*nexmark.Bid, statsAcc, statsAcc]{
	Init:   newStatsAcc,
	Add:    func(a statsAcc, b *nexmark.Bid) statsAcc { return a.add(b) },
	Result: func(a statsAcc) statsAcc { return a },
	Merge:  func(a, b statsAcc) statsAcc { return a.merge(b) },
}

// dayWindow is the UTC day of q15 to q17.
var dayWindow = window.Tumbling(24 * time.Hour)

// Q15 counts the bids, bidders and auctions of every UTC day, in all and
// per price rank (below 10,000; 10,000 to below 1,000,000; 1,000,000 and
// up).
//
// Flink SQL: select DATE_FORMAT(dateTime, 'yyyy-MM-dd') as day, count(*)
// and count(distinct bidder) and count(distinct auction), each also
// filtered by the three price ranks, from bid grouped by day. Flink
// emits an updated row per bid; here a day's row comes once, when the
// watermark passes the day's end (a tumbling window of a day, so the
// final row is the same), or at the end of the input.
func Q15(events weir.Stream[nexmark.Event]) weir.Stream[Q15Row] {
	byDay := weir.KeyBy(bids(events, "q15"), func(b *nexmark.Bid) int64 { return b.DateTime.UnixMilli() / 86_400_000 })
	return weir.AggregateWindow(weir.Window(byDay, dayWindow), statsAgg,
		func(_ int64, w window.Window, a statsAcc, out weir.Emitter[Q15Row]) error {
			out.Emit(Q15Row{Day: day(w.StartTime()), BidStats: a.stats()})
			return nil
		}, weir.Name("q15 stats"))
}
