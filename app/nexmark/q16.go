package nexmark

import (
	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/window"
)

// Q16Row is a row of q16: bidding statistics of a channel on a day.
type Q16Row struct {
	Channel string `json:"channel"`
	Day     string `json:"day"`
	Minute  string `json:"minute"`
	BidStats
}

// Q16 counts the bids, bidders and auctions of every channel and UTC day,
// in all and per price rank, as q15 does per day, with the minute (HH:mm)
// of the day's last bid on the channel.
//
// Flink SQL: select channel, DATE_FORMAT(dateTime, 'yyyy-MM-dd') as day,
// max(DATE_FORMAT(dateTime, 'HH:mm')) as minute and q15's counts, from
// bid grouped by channel and day. As in q15, a row comes once per channel
// and day, when the day ends.
func Q16(events weir.Stream[nexmark.Event]) weir.Stream[Q16Row] {
	byChannel := weir.KeyBy(bids(events, "q16"), func(b *nexmark.Bid) string { return b.Channel })
	return weir.AggregateWindow(weir.Window(byChannel, dayWindow), statsAgg,
		func(channel string, w window.Window, a statsAcc, out weir.Emitter[Q16Row]) error {
			out.Emit(Q16Row{Channel: channel, Day: day(w.StartTime()), Minute: minute(utc(a.MaxTime)), BidStats: a.stats()})
			return nil
		}, weir.Name("q16 stats"))
}
