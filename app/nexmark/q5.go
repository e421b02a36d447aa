package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/window"
)

// Q5Row is a row of q5: an auction with the most bids in a window.
type Q5Row struct {
	Auction int64 `json:"auction"`
	Num     int64 `json:"num"`

	start int64 // the window's start, Unix ms; not a column of Flink's q5
}

// auctionCount is the number of bids on an auction in one window.
type auctionCount struct {
	Auction, Num, Start int64
}

// Q5 finds the hot items: in every window of 10 seconds that starts every
// 2 seconds, the auctions that got the most bids (all of them, if several
// tie).
//
// Flink SQL: count(*) per auction over HOP(bid, dateTime, 2 s slide, 10 s
// size) as AuctionBids; the max of those counts per window as MaxBids;
// select auction and num from AuctionBids joined with MaxBids on the
// window where num >= maxn.
//
// Here the counts per auction and window come from a sliding window
// aggregate; they are then keyed by their window, and a ProcessKeyed
// step keeps a window's counts until the watermark passes its end (every
// count of the window has arrived by then) and emits the largest.
func Q5(events weir.Stream[nexmark.Event]) weir.Stream[Q5Row] {
	byAuction := weir.KeyBy(bids(events, "q5"), func(b *nexmark.Bid) int64 { return b.Auction })
	counts := weir.AggregateWindow(weir.Window(byAuction, window.Sliding(10*time.Second, 2*time.Second)), count[*nexmark.Bid](),
		func(auction int64, w window.Window, n int64, out weir.Emitter[auctionCount]) error {
			out.Emit(auctionCount{Auction: auction, Num: n, Start: w.Start})
			return nil
		}, weir.Name("q5 count"))
	byWindow := weir.KeyBy(counts, func(c auctionCount) int64 { return c.Start })
	return weir.ProcessKeyed(byWindow, func(s *state.Store[int64]) weir.KeyedProcessFunction[int64, auctionCount, Q5Row] {
		return &hottest{counts: state.ListOf[auctionCount](s, "counts")}
	}, weir.Name("q5 max"))
}

// hottest keeps the counts of a window until it ends.
type hottest struct {
	counts state.List[auctionCount]
}

func (h *hottest) ProcessElement(ctx *weir.KeyedContext[int64, Q5Row], c auctionCount) error {
	h.counts.Add(c)
	// The counts carry their window's last millisecond as their time.
	if t, ok := ctx.Timestamp(); ok {
		ctx.RegisterEventTimer(t)
	}
	return nil
}

func (h *hottest) OnTimer(ctx *weir.KeyedContext[int64, Q5Row], _ time.Time, _ weir.TimeDomain) error {
	all := h.counts.Get()
	h.counts.Clear()
	var most int64
	for _, c := range all {
		most = max(most, c.Num)
	}
	for _, c := range all {
		if c.Num == most {
			ctx.Emit(Q5Row{Auction: c.Auction, Num: c.Num, start: c.Start})
		}
	}
	return nil
}
