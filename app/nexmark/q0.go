package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
)

// Q0Row is a row of q0: a bid.
type Q0Row struct {
	Auction  int64     `json:"auction"`
	Bidder   int64     `json:"bidder"`
	Price    int64     `json:"price"`
	DateTime time.Time `json:"dateTime"`
	Extra    string    `json:"extra"`
}

// Q0 passes every bid through: it measures what reading, moving and
// writing a record costs.
//
// Flink SQL: select auction, bidder, price, dateTime and extra of every
// row of bid.
func Q0(events weir.Stream[nexmark.Event]) weir.Stream[Q0Row] {
	return weir.Map(bids(events, "q0"), func(b *nexmark.Bid) Q0Row {
		return Q0Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra}
	}, weir.Name("q0 select"))
}
