package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
)

// Q9Row is a row of q9: an auction and its winning bid.
type Q9Row struct {
	ID          int64     `json:"id"`
	ItemName    string    `json:"itemName"`
	Description string    `json:"description"`
	InitialBid  int64     `json:"initialBid"`
	Reserve     int64     `json:"reserve"`
	DateTime    time.Time `json:"dateTime"`
	Expires     time.Time `json:"expires"`
	Seller      int64     `json:"seller"`
	Category    int64     `json:"category"`
	Extra       string    `json:"extra"`
	Auction     int64     `json:"auction"`
	Bidder      int64     `json:"bidder"`
	Price       int64     `json:"price"`
	BidDateTime time.Time `json:"bid_dateTime"`
	BidExtra    string    `json:"bid_extra"`
}

// Q9 finds the winning bid of every auction: the highest bid made between
// the auction's start and its expiry (the earliest of equal ones; see
// [Winner] for the full tie-break).
//
// Flink SQL: select the auction's columns with the bid's auction, bidder,
// price, dateTime as bid_dateTime and extra as bid_extra, from auction A
// joined with bid B on A.id = B.auction where B.dateTime is between
// A.dateTime and A.expires, keeping the row numbered 1 per A.id ordered
// by price descending and dateTime ascending. Flink updates an auction's
// row (retracting the old one) whenever a better bid comes; here an
// auction's one final row comes when it expires.
func Q9(events weir.Stream[nexmark.Event]) weir.Stream[Q9Row] {
	return weir.Map(Winners(events, "q9"), func(w Winner) Q9Row {
		a, b := w.Auction, w.Bid
		return Q9Row{ID: a.ID, ItemName: a.ItemName, Description: a.Description, InitialBid: a.InitialBid,
			Reserve: a.Reserve, DateTime: a.DateTime, Expires: a.Expires, Seller: a.Seller, Category: a.Category,
			Extra: a.Extra, Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, BidDateTime: b.DateTime, BidExtra: b.Extra}
	}, weir.Name("q9 select"))
}
