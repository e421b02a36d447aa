package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/state"
)

// Q20Row is a row of q20: a bid with the auction it is on.
type Q20Row struct {
	Auction         int64     `json:"auction"`
	Bidder          int64     `json:"bidder"`
	Price           int64     `json:"price"`
	Channel         string    `json:"channel"`
	URL             string    `json:"url"`
	BidDateTime     time.Time `json:"bid_dateTime"`
	BidExtra        string    `json:"bid_extra"`
	ItemName        string    `json:"itemName"`
	Description     string    `json:"description"`
	InitialBid      int64     `json:"initialBid"`
	Reserve         int64     `json:"reserve"`
	AuctionDateTime time.Time `json:"auction_dateTime"`
	Expires         time.Time `json:"expires"`
	Seller          int64     `json:"seller"`
	Category        int64     `json:"category"`
	AuctionExtra    string    `json:"auction_extra"`
}

// Q20 expands every bid on an auction of category 10 with the auction's
// details.
//
// Flink SQL: select the bid's columns and the auction's from bid B joined
// with auction A on B.auction = A.id where A.category = 10: a regular
// (unwindowed) join.
//
// Here auctions and bids are keyed together by auction id. A key keeps
// its auction (only its category when it is not 10) for as long as the
// job runs, as the regular join does, and the bids that came before their
// auction until it comes.
func Q20(events weir.Stream[nexmark.Event]) weir.Stream[Q20Row] {
	both := weir.Filter(events, func(e nexmark.Event) bool {
		return e.Kind == nexmark.KindAuction || e.Kind == nexmark.KindBid
	}, weir.Name("q20 auctions and bids"))
	byAuction := weir.KeyBy(both, func(e nexmark.Event) int64 {
		if e.Kind == nexmark.KindAuction {
			return e.Auction.ID
		}
		return e.Bid.Auction
	})
	return weir.ProcessKeyed(byAuction, func(s *state.Store[int64]) weir.KeyedProcessFunction[int64, nexmark.Event, Q20Row] {
		return &expandBids{auction: state.ValueOf[nexmark.Auction](s, "auction"), early: state.ListOf[nexmark.Bid](s, "early")}
	}, weir.Name("q20 join"))
}

type expandBids struct {
	auction state.Value[nexmark.Auction] // of category 10; others keep their Category only
	early   state.List[nexmark.Bid]
}

func (x *expandBids) ProcessElement(ctx *weir.KeyedContext[int64, Q20Row], e nexmark.Event) error {
	if e.Kind == nexmark.KindAuction {
		a := *e.Auction
		if a.Category != 10 {
			a = nexmark.Auction{ID: a.ID, Category: a.Category}
		} else {
			for _, b := range x.early.Get() {
				ctx.Emit(q20Row(&a, &b))
			}
		}
		x.early.Clear()
		x.auction.Set(a)
		return nil
	}
	a, ok := x.auction.Get()
	switch {
	case !ok:
		x.early.Add(*e.Bid)
	case a.Category == 10:
		ctx.Emit(q20Row(&a, e.Bid))
	}
	return nil
}

func q20Row(a *nexmark.Auction, b *nexmark.Bid) Q20Row {
	return Q20Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, Channel: b.Channel, URL: b.URL,
		BidDateTime: b.DateTime, BidExtra: b.Extra, ItemName: a.ItemName, Description: a.Description,
		InitialBid: a.InitialBid, Reserve: a.Reserve, AuctionDateTime: a.DateTime, Expires: a.Expires,
		Seller: a.Seller, Category: a.Category, AuctionExtra: a.Extra}
}

func (x *expandBids) OnTimer(*weir.KeyedContext[int64, Q20Row], time.Time, weir.TimeDomain) error {
	return nil
}
