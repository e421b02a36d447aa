package nexmark

import (
	"slices"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/state"
)

// Q19Row is a row of q19: one of the top 10 bids of an auction, with its
// rank.
type Q19Row struct {
	Auction    int64     `json:"auction"`
	Bidder     int64     `json:"bidder"`
	Price      int64     `json:"price"`
	Channel    string    `json:"channel"`
	URL        string    `json:"url"`
	DateTime   time.Time `json:"dateTime"`
	Extra      string    `json:"extra"`
	RankNumber int64     `json:"rank_number"`
}

// q19Top is how many bids q19 ranks per auction.
const q19Top = 10

// Q19 keeps the 10 highest bids of every auction, ranked 1 to 10 (ties in
// [compareBids]'s order). When a bid enters an auction's top 10 it emits
// the rows of every rank that changed, from the new bid's down: an upsert
// stream keyed by auction and rank, whose last row per key is the result.
//
// Flink SQL: select * from (bid numbered by ROW_NUMBER() over auction
// ordered by price descending as rank_number) where rank_number <= 10.
func Q19(events weir.Stream[nexmark.Event]) weir.Stream[Q19Row] {
	byAuction := weir.KeyBy(bids(events, "q19"), func(b *nexmark.Bid) int64 { return b.Auction })
	return weir.ProcessKeyed(byAuction, func(s *state.Store[int64]) weir.KeyedProcessFunction[int64, *nexmark.Bid, Q19Row] {
		return &topBids{top: state.ValueOf[[]nexmark.Bid](s, "top")}
	}, weir.Name("q19 top"))
}

type topBids struct {
	top state.Value[[]nexmark.Bid] // best first
}

func (t *topBids) ProcessElement(ctx *weir.KeyedContext[int64, Q19Row], b *nexmark.Bid) error {
	top, _ := t.top.Get()
	at, _ := slices.BinarySearchFunc(top, b, func(x nexmark.Bid, b *nexmark.Bid) int { return compareBids(&x, b) })
	if at >= q19Top {
		return nil
	}
	top = slices.Insert(top, at, *b)
	if len(top) > q19Top {
		top = top[:q19Top]
	}
	t.top.Set(top)
	for i := at; i < len(top); i++ {
		r := &top[i]
		ctx.Emit(Q19Row{Auction: r.Auction, Bidder: r.Bidder, Price: r.Price, Channel: r.Channel, URL: r.URL,
			DateTime: r.DateTime, Extra: r.Extra, RankNumber: int64(i + 1)})
	}
	return nil
}

func (t *topBids) OnTimer(*weir.KeyedContext[int64, Q19Row], time.Time, weir.TimeDomain) error {
	return nil
}
