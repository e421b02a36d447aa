package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/window"
)

// Q11Row is a row of q11 and q12: a bidder's bids in a window.
type Q11Row struct {
	Bidder    int64     `json:"bidder"`
	BidCount  int64     `json:"bid_count"`
	Starttime time.Time `json:"starttime"`
	Endtime   time.Time `json:"endtime"`
}

// Q12Row is a row of q12.
type Q12Row = Q11Row

// Q11 counts the bids of every bidder per session of activity: a session
// ends when the bidder has not bid for 10 seconds of event time. It ends
// 10 seconds after the session's last bid.
//
// Flink SQL: select bidder, count(*) as bid_count, SESSION_START and
// SESSION_END of the session as starttime and endtime, from bid grouped by
// bidder and SESSION(dateTime, INTERVAL '10' SECOND).
func Q11(events weir.Stream[nexmark.Event]) weir.Stream[Q11Row] {
	return countBidders(events, "q11", window.Session(10*time.Second))
}

// countBidders counts the bids of each bidder per window of assigner.
func countBidders(events weir.Stream[nexmark.Event], name string, assigner window.Assigner) weir.Stream[Q11Row] {
	byBidder := weir.KeyBy(bids(events, name), func(b *nexmark.Bid) int64 { return b.Bidder })
	return weir.AggregateWindow(weir.Window(byBidder, assigner), count[*nexmark.Bid](),
		func(bidder int64, w window.Window, n int64, out weir.Emitter[Q11Row]) error {
			out.Emit(Q11Row{Bidder: bidder, BidCount: n, Starttime: w.StartTime(), Endtime: w.EndTime()})
			return nil
		}, weir.Name(name+" count"))
}

// count counts records.
func count[T any]() weir.AggregateFunc[T, int64, int64] {
	return weir.AggregateFunc[T, int64, int64]{
		Init:   func() int64 { return 0 },
		Add:    func(n int64, _ T) int64 { return n + 1 },
		Result: func(n int64) int64 { return n },
		Merge:  func(a, b int64) int64 { return a + b },
	}
}
