package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/state"
)

// Q4Row is a row of q4: the average winning price of a category so far.
type Q4Row struct {
	ID    int64 `json:"id"`
	Final int64 `json:"final"`
}

// q4Sum is a category's state: the sum and number of winning prices.
type q4Sum struct{ Sum, N int64 }

// Q4 computes the average winning price of the closed auctions of every
// category: the winning price of an auction is its highest bid between
// its start and its expiry; auctions without such a bid do not count.
// Each auction that closes updates its category's row; the last row of a
// category is its result (the average rounded toward zero, as an AVG of
// BIGINT is in Flink).
//
// Flink SQL: select category and avg(final) from (select max(B.price) as
// final, A.category from auction A, bid B where A.id = B.auction and
// B.dateTime is between A.dateTime and A.expires, grouped by A.id and
// A.category) grouped by category. Flink updates the inner max with each
// bid and retracts it from the average; here an auction counts once,
// when it expires, with its final max: at the end of the input every
// auction has closed and the last rows equal Flink's final result.
func Q4(events weir.Stream[nexmark.Event]) weir.Stream[Q4Row] {
	byCategory := weir.KeyBy(Winners(events, "q4"), func(w Winner) int64 { return w.Auction.Category })
	return weir.ProcessKeyed(byCategory, func(s *state.Store[int64]) weir.KeyedProcessFunction[int64, Winner, Q4Row] {
		return &categoryAverage{sum: state.ValueOf[q4Sum](s, "sum")}
	}, weir.Name("q4 average"))
}

type categoryAverage struct {
	sum state.Value[q4Sum]
}

func (c *categoryAverage) ProcessElement(ctx *weir.KeyedContext[int64, Q4Row], w Winner) error {
	s, _ := c.sum.Get()
	s.Sum += w.Bid.Price
	s.N++
	c.sum.Set(s)
	ctx.Emit(Q4Row{ID: ctx.Key(), Final: s.Sum / s.N})
	return nil
}

func (c *categoryAverage) OnTimer(*weir.KeyedContext[int64, Q4Row], time.Time, weir.TimeDomain) error {
	return nil
}
