package nexmark

import (
	"strings"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
)

// Q22Row is a row of q22.
type Q22Row struct {
	Auction int64  `json:"auction"`
	Bidder  int64  `json:"bidder"`
	Price   int64  `json:"price"`
	Channel string `json:"channel"`
	Dir1    string `json:"dir1"`
	Dir2    string `json:"dir2"`
	Dir3    string `json:"dir3"`
}

// Q22 adds to every bid the 4th, 5th and 6th parts of its URL cut at each
// '/' (the three directories after the host of https://host/a/b/c/...);
// a part the URL lacks is empty.
//
// Flink SQL: select auction, bidder, price, channel, SPLIT_INDEX(url,
// '/', 3) as dir1, SPLIT_INDEX(url, '/', 4) as dir2 and SPLIT_INDEX(url,
// '/', 5) as dir3 from bid. Flink gives null for a missing part; this
// gives "".
func Q22(events weir.Stream[nexmark.Event]) weir.Stream[Q22Row] {
	return weir.FlatMap(events, func(e nexmark.Event, out weir.Emitter[Q22Row]) {
		if e.Kind != nexmark.KindBid {
			return
		}
		b := e.Bid
		r := Q22Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, Channel: b.Channel}
		rest := b.URL
		for i := 0; i < 6; i++ {
			part, tail, found := strings.Cut(rest, "/")
			switch i {
			case 3:
				r.Dir1 = part
			case 4:
				r.Dir2 = part
			case 5:
				r.Dir3 = part
			}
			if !found {
				break
			}
			rest = tail
		}
		out.Emit(r)
	}, weir.Name("q22 split"))
}
