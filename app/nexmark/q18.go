package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/state"
)

// Q18Row is a row of q18: the latest bid of a bidder on an auction.
type Q18Row struct {
	Auction  int64     `json:"auction"`
	Bidder   int64     `json:"bidder"`
	Price    int64     `json:"price"`
	Channel  string    `json:"channel"`
	URL      string    `json:"url"`
	DateTime time.Time `json:"dateTime"`
	Extra    string    `json:"extra"`
}

// bidderAuction is q18's key.
type bidderAuction struct{ Bidder, Auction int64 }

// KeyHash mixes both ids (SplitMix64's finaliser), the same in every
// process.
func (k bidderAuction) KeyHash() uint64 {
	z := uint64(k.Bidder)*0x9e3779b97f4a7c15 ^ uint64(k.Auction)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// Q18 finds the last bid of every bidder on every auction: it emits a
// bid whenever it is later than the bidder's last one on the auction, so
// the last row of each bidder and auction is the result (an upsert
// stream keyed by bidder and auction). Of bids made at the same
// millisecond, the one that comes last in [compareBids]'s order (the
// lowest price first) counts as the later.
//
// Flink SQL: select auction, bidder, price, channel, url, dateTime and
// extra from (bid numbered by ROW_NUMBER() over bidder and auction
// ordered by dateTime descending) where the row number is 1:
// deduplication keeping the last row.
func Q18(events weir.Stream[nexmark.Event]) weir.Stream[Q18Row] {
	byPair := weir.KeyBy(bids(events, "q18"), func(b *nexmark.Bid) bidderAuction {
		return bidderAuction{Bidder: b.Bidder, Auction: b.Auction}
	})
	return weir.ProcessKeyed(byPair, func(s *state.Store[bidderAuction]) weir.KeyedProcessFunction[bidderAuction, *nexmark.Bid, Q18Row] {
		return &lastBid{last: state.ValueOf[nexmark.Bid](s, "last")}
	}, weir.Name("q18 last"))
}

type lastBid struct {
	last state.Value[nexmark.Bid]
}

func (l *lastBid) ProcessElement(ctx *weir.KeyedContext[bidderAuction, Q18Row], b *nexmark.Bid) error {
	if prev, ok := l.last.Get(); ok && !laterBid(b, &prev) {
		return nil
	}
	l.last.Set(*b)
	ctx.Emit(Q18Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, Channel: b.Channel, URL: b.URL,
		DateTime: b.DateTime, Extra: b.Extra})
	return nil
}

func (l *lastBid) OnTimer(*weir.KeyedContext[bidderAuction, Q18Row], time.Time, weir.TimeDomain) error {
	return nil
}

// laterBid says whether a comes after b: a later time, or at the same
// millisecond, later in compareBids's order.
func laterBid(a, b *nexmark.Bid) bool {
	if c := a.DateTime.Compare(b.DateTime); c != 0 {
		return c > 0
	}
	return compareBids(a, b) > 0
}
