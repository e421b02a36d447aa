package nexmark

import (
	"strings"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
)

// Q21Row is a row of q21.
type Q21Row struct {
	Auction   int64  `json:"auction"`
	Bidder    int64  `json:"bidder"`
	Price     int64  `json:"price"`
	Channel   string `json:"channel"`
	ChannelID string `json:"channel_id"`
}

// Q21 adds a channel id to the bids that have one: 0 to 3 for the
// channels apple, google, facebook and baidu (in any case), otherwise the
// value of the URL's channel_id parameter; bids with neither are dropped.
//
// Flink SQL: select auction, bidder, price, channel and a CASE on
// lower(channel) that gives '0' to '3' for the four named channels and
// otherwise REGEXP_EXTRACT(url, '(&|^)channel_id=([^&]*)', 2), as
// channel_id, from bid where that extraction is not null or the channel
// is one of the four. The extraction is written by hand here: the value
// after the first "channel_id=" that starts the URL or follows a '&', up
// to the next '&'.
func Q21(events weir.Stream[nexmark.Event]) weir.Stream[Q21Row] {
	return weir.FlatMap(events, func(e nexmark.Event, out weir.Emitter[Q21Row]) {
		if e.Kind != nexmark.KindBid {
			return
		}
		b := e.Bid
		id, ok := hotChannelID(b.Channel)
		if !ok {
			id, ok = channelIDParam(b.URL)
		}
		if ok {
			out.Emit(Q21Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, Channel: b.Channel, ChannelID: id})
		}
	}, weir.Name("q21 extract"))
}

// hotChannelID returns the id of the four named channels.
func hotChannelID(channel string) (string, bool) {
	switch {
	case strings.EqualFold(channel, "apple"):
		return "0", true
	case strings.EqualFold(channel, "google"):
		return "1", true
	case strings.EqualFold(channel, "facebook"):
		return "2", true
	case strings.EqualFold(channel, "baidu"):
		return "3", true
	}
	return "", false
}

// channelIDParam returns what the regular expression (&|^)channel_id=([^&]*)
// captures in its second group at its first match in url.
func channelIDParam(url string) (string, bool) {
	const param = "channel_id="
	for i := 0; i+len(param) <= len(url); {
		j := strings.Index(url[i:], param)
		if j < 0 {
			return "", false
		}
		at := i + j
		if at == 0 || url[at-1] == '&' {
			v := url[at+len(param):]
			if k := strings.IndexByte(v, '&'); k >= 0 {
				v = v[:k]
			}
			return v, true
		}
		i = at + 1
	}
	return "", false
}
