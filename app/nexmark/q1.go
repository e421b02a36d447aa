package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
)

// Q1Row is a row of q1: a bid with its price in euros.
type Q1Row struct {
	Auction  int64     `json:"auction"`
	Bidder   int64     `json:"bidder"`
	Price    Decimal3  `json:"price"`
	DateTime time.Time `json:"dateTime"`
	Extra    string    `json:"extra"`
}

// Q1 converts every bid's price from dollars to euros (times 0.908),
// exactly, with three decimals.
//
// Flink SQL: select auction, bidder, 0.908 * price as price, dateTime and
// extra of every row of bid; the price is a DECIMAL(23, 3).
func Q1(events weir.Stream[nexmark.Event]) weir.Stream[Q1Row] {
	return weir.Map(bids(events, "q1"), func(b *nexmark.Bid) Q1Row {
		return Q1Row{Auction: b.Auction, Bidder: b.Bidder, Price: euros(b.Price), DateTime: b.DateTime, Extra: b.Extra}
	}, weir.Name("q1 convert"))
}
