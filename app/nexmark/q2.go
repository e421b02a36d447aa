package nexmark

import (
	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
)

// Q2Row is a row of q2.
type Q2Row struct {
	Auction int64 `json:"auction"`
	Price   int64 `json:"price"`
}

// Q2 selects the bids on every 123rd auction id.
//
// Flink SQL: select auction and price from bid where auction mod 123 is 0.
func Q2(events weir.Stream[nexmark.Event]) weir.Stream[Q2Row] {
	return weir.FlatMap(events, func(e nexmark.Event, out weir.Emitter[Q2Row]) {
		if e.Kind == nexmark.KindBid && e.Bid.Auction%123 == 0 {
			out.Emit(Q2Row{Auction: e.Bid.Auction, Price: e.Bid.Price})
		}
	}, weir.Name("q2 select"))
}
