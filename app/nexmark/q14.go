package nexmark

import (
	"strings"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
)

// Q14Row is a row of q14.
type Q14Row struct {
	Auction     int64     `json:"auction"`
	Bidder      int64     `json:"bidder"`
	Price       Decimal3  `json:"price"`
	BidTimeType string    `json:"bidTimeType"`
	DateTime    time.Time `json:"dateTime"`
	Extra       string    `json:"extra"`
	CCounts     int64     `json:"c_counts"`
}

// Q14 keeps the bids whose price in euros is above 1,000,000 and below
// 50,000,000, and adds whether they came by day (8:00 to 18:59 UTC), by
// night (20:00 to 6:59) or at another time, and how many c's their extra
// field holds.
//
// Flink SQL: select auction, bidder, 0.908 * price as price, a CASE on
// HOUR(dateTime) giving 'dayTime', 'nightTime' or 'otherTime' as
// bidTimeType, dateTime, extra and count_char(extra, 'c') as c_counts
// from bid where 0.908 * price is between 1,000,000 and 50,000,000,
// both excluded. count_char is a user-defined function.
func Q14(events weir.Stream[nexmark.Event]) weir.Stream[Q14Row] {
	return weir.FlatMap(events, func(e nexmark.Event, out weir.Emitter[Q14Row]) {
		if e.Kind != nexmark.KindBid {
			return
		}
		b := e.Bid
		p := euros(b.Price)
		if p <= 1_000_000*1000 || p >= 50_000_000*1000 {
			return
		}
		out.Emit(Q14Row{Auction: b.Auction, Bidder: b.Bidder, Price: p, BidTimeType: bidTimeType(b.DateTime),
			DateTime: b.DateTime, Extra: b.Extra, CCounts: int64(strings.Count(b.Extra, "c"))})
	}, weir.Name("q14 calculate"))
}

// bidTimeType names the time of day of t in UTC.
func bidTimeType(t time.Time) string {
	switch h := t.UTC().Hour(); {
	case h >= 8 && h <= 18:
		return "dayTime"
	case h <= 6 || h >= 20:
		return "nightTime"
	}
	return "otherTime"
}
