package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/state"
)

// Q7Row is a row of q7: a bid with the highest price of its window.
type Q7Row struct {
	Auction  int64     `json:"auction"`
	Bidder   int64     `json:"bidder"`
	Price    int64     `json:"price"`
	DateTime time.Time `json:"dateTime"`
	Extra    string    `json:"extra"`
}

// q7Window is the size of q7's tumbling windows, in milliseconds.
const q7Window = 10_000

// Q7 finds, for every tumbling window of 10 seconds, the bids whose price
// is the window's highest: the highest is taken over the bids in
// [start, end), and the bids that match it over [start, end], both ends
// included, as the SQL's BETWEEN does (so a bid at a window's end may
// also match the window before).
//
// Flink SQL: select auction, price, bidder, dateTime and extra of bid B
// joined with (the max of price per TUMBLE(bid, dateTime, 10 s) and the
// window's end as dateTime) B1 on B.price = B1.maxprice, where B.dateTime
// is between B1.dateTime - 10 s and B1.dateTime. Flink's select lists
// price before bidder, into columns named auction, bidder, price; here
// each value is in the column of its name.
//
// Here each bid is keyed by its window (and, at a window's start, also
// sent to the window before as a candidate only); a ProcessKeyed step
// keeps the running max and the candidates that reach it, and emits them
// when the watermark passes the window's end.
func Q7(events weir.Stream[nexmark.Event]) weir.Stream[Q7Row] {
	cands := weir.FlatMap(bids(events, "q7"), func(b *nexmark.Bid, out weir.Emitter[q7Candidate]) {
		ms := b.DateTime.UnixMilli()
		start := ms - mod(ms, q7Window)
		out.Emit(q7Candidate{Start: start, Bid: *b, Counts: true})
		if ms == start {
			out.Emit(q7Candidate{Start: start - q7Window, Bid: *b})
		}
	}, weir.Name("q7 assign"))
	byWindow := weir.KeyBy(cands, func(c q7Candidate) int64 { return c.Start })
	return weir.ProcessKeyed(byWindow, func(s *state.Store[int64]) weir.KeyedProcessFunction[int64, q7Candidate, Q7Row] {
		return &highest{top: state.ValueOf[q7Top](s, "top")}
	}, weir.Name("q7 max"))
}

// q7Candidate is a bid sent to the window that starts at Start; Counts
// says whether it is in [start, end) and so counts for the window's max.
type q7Candidate struct {
	Start  int64
	Bid    nexmark.Bid
	Counts bool
}

// q7Top is a window's state: the max of the bids that count, and the
// candidates whose price reaches it.
type q7Top struct {
	Max   int64
	Has   bool
	Cands []nexmark.Bid
}

type highest struct {
	top state.Value[q7Top]
}

func (h *highest) ProcessElement(ctx *weir.KeyedContext[int64, Q7Row], c q7Candidate) error {
	top, known := h.top.Get()
	if !known {
		ctx.RegisterEventTimer(utc(c.Start + q7Window))
	}
	if c.Counts && (!top.Has || c.Bid.Price > top.Max) {
		top.Max, top.Has = c.Bid.Price, true
		keep := top.Cands[:0]
		for _, b := range top.Cands {
			if b.Price >= top.Max {
				keep = append(keep, b)
			}
		}
		top.Cands = keep
	}
	if !top.Has || c.Bid.Price >= top.Max {
		top.Cands = append(top.Cands, c.Bid)
	}
	h.top.Set(top)
	return nil
}

func (h *highest) OnTimer(ctx *weir.KeyedContext[int64, Q7Row], _ time.Time, _ weir.TimeDomain) error {
	top, _ := h.top.Get()
	h.top.Clear()
	if !top.Has {
		return nil
	}
	for _, b := range top.Cands {
		if b.Price == top.Max {
			ctx.Emit(Q7Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra})
		}
	}
	return nil
}

// mod is the non-negative remainder.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}
