package nexmark

import (
	"strconv"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
)

// DefaultSideInputRows is the size of q13's side input in nexmark/nexmark.
const DefaultSideInputRows = 10000

// Q13Row is a row of q13.
type Q13Row struct {
	Auction  int64     `json:"auction"`
	Bidder   int64     `json:"bidder"`
	Price    int64     `json:"price"`
	DateTime time.Time `json:"dateTime"`
	Value    string    `json:"value"`
}

// SideInput returns the side input of q13 as nexmark/nexmark writes it:
// the keys 0 to rows-1, each with its own decimal digits as its value.
func SideInput(rows int) map[int64]string {
	m := make(map[int64]string, rows)
	for i := range rows {
		m[int64(i)] = strconv.Itoa(i)
	}
	return m
}

// Q13 joins every bid with the row of a bounded side input whose key is
// the bid's auction modulo 10000; bids without a row are dropped. The
// side input is read once, when the job is built, and shared read-only by
// every subtask.
//
// Flink SQL: select the bid's auction, bidder, price and dateTime with the
// side input's value, from bid joined with side_input FOR SYSTEM_TIME AS
// OF the bid's processing time on auction mod 10000 = key (a lookup
// join against a file table).
func Q13(events weir.Stream[nexmark.Event], side map[int64]string) weir.Stream[Q13Row] {
	return weir.FlatMap(events, func(e nexmark.Event, out weir.Emitter[Q13Row]) {
		if e.Kind != nexmark.KindBid {
			return
		}
		b := e.Bid
		if v, ok := side[b.Auction%10000]; ok {
			out.Emit(Q13Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Value: v})
		}
	}, weir.Name("q13 lookup"))
}
