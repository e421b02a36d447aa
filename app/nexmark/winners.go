package nexmark

import (
	"cmp"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/state"
)

// Winner is an auction with its winning bid: the highest of the bids on
// it between its start and its expiry, both included. Of bids with the
// same price the earliest wins, and of those made at the same millisecond
// the one that comes first in [compareBids]'s order.
type Winner struct {
	Auction nexmark.Auction
	Bid     nexmark.Bid
}

// compareBids orders the bids on one auction from the best to the worst:
// higher price first, then earlier time, then lower bidder, then by
// channel, URL and extra field. It is the tie-break of q9's ROW_NUMBER,
// made total so that the winner does not depend on the order of arrival.
func compareBids(a, b *nexmark.Bid) int {
	if c := cmp.Compare(b.Price, a.Price); c != 0 {
		return c
	}
	if c := a.DateTime.Compare(b.DateTime); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Bidder, b.Bidder); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Channel, b.Channel); c != 0 {
		return c
	}
	if c := cmp.Compare(a.URL, b.URL); c != 0 {
		return c
	}
	return cmp.Compare(a.Extra, b.Extra)
}

// inAuction says whether bid b is on auction a and made between its
// start and its expiry, both included.
func inAuction(a *nexmark.Auction, b *nexmark.Bid) bool {
	return !b.DateTime.Before(a.DateTime) && !b.DateTime.After(a.Expires)
}

// Winners emits every auction that got a bid, with its winning bid, when
// the watermark passes the auction's expiry (the rows carry the expiry as
// their time). It is the inner part of q4, q6 and q9.
//
// Auctions and bids are keyed together by auction id. A key's state is
// its auction and its best bid so far, and the bids that came before
// their auction: they wait until the watermark passes their own time, by
// when an auction they could belong to (one that started at or before
// them) has arrived; the others are dropped. When the auction expires its
// key's state is cleared, so state holds the open auctions only.
func Winners(events weir.Stream[nexmark.Event], name string) weir.Stream[Winner] {
	both := weir.Filter(events, func(e nexmark.Event) bool {
		return e.Kind == nexmark.KindAuction || e.Kind == nexmark.KindBid
	}, weir.Name(name+" auctions and bids"))
	byAuction := weir.KeyBy(both, func(e nexmark.Event) int64 {
		if e.Kind == nexmark.KindAuction {
			return e.Auction.ID
		}
		return e.Bid.Auction
	})
	return weir.ProcessKeyed(byAuction, func(s *state.Store[int64]) weir.KeyedProcessFunction[int64, nexmark.Event, Winner] {
		return &winners{
			auction: state.ValueOf[nexmark.Auction](s, "auction"),
			best:    state.ValueOf[nexmark.Bid](s, "best"),
			early:   state.ListOf[nexmark.Bid](s, "early"),
		}
	}, weir.Name(name+" winners"))
}

type winners struct {
	auction state.Value[nexmark.Auction]
	best    state.Value[nexmark.Bid]
	early   state.List[nexmark.Bid]
}

func (w *winners) ProcessElement(ctx *weir.KeyedContext[int64, Winner], e nexmark.Event) error {
	if e.Kind == nexmark.KindAuction {
		a := e.Auction
		w.auction.Set(*a)
		for _, b := range w.early.Get() {
			w.offer(a, &b)
		}
		w.early.Clear()
		ctx.RegisterEventTimer(a.Expires)
		return nil
	}
	b := e.Bid
	if a, ok := w.auction.Get(); ok {
		w.offer(&a, b)
		return nil
	}
	w.early.Add(*b)
	ctx.RegisterEventTimer(b.DateTime)
	return nil
}

// offer makes b the auction's best bid if it is in the auction and better.
func (w *winners) offer(a *nexmark.Auction, b *nexmark.Bid) {
	if !inAuction(a, b) {
		return
	}
	if best, ok := w.best.Get(); ok && compareBids(&best, b) <= 0 {
		return
	}
	w.best.Set(*b)
}

func (w *winners) OnTimer(ctx *weir.KeyedContext[int64, Winner], t time.Time, _ weir.TimeDomain) error {
	a, ok := w.auction.Get()
	if !ok {
		// The bids that came before an auction that has not come by
		// their own time belong to none.
		bids := w.early.Get()
		keep := bids[:0]
		for _, b := range bids {
			if b.DateTime.After(t) {
				keep = append(keep, b)
			}
		}
		if len(keep) == 0 {
			w.early.Clear()
		} else {
			w.early.Update(keep)
		}
		return nil
	}
	if t.Before(a.Expires) {
		return nil
	}
	if best, ok := w.best.Get(); ok {
		ctx.Emit(Winner{Auction: a, Bid: best})
	}
	w.auction.Clear()
	w.best.Clear()
	return nil
}
