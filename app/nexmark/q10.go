package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
)

// Q10Row is a row of q10: a bid with its day (yyyy-MM-dd) and minute
// (HH:mm), which name the partition a file sink would write it to.
type Q10Row struct {
	Auction  int64     `json:"auction"`
	Bidder   int64     `json:"bidder"`
	Price    int64     `json:"price"`
	DateTime time.Time `json:"dateTime"`
	Extra    string    `json:"extra"`
	Dt       string    `json:"dt"`
	Hm       string    `json:"hm"`
}

// Q10 adds to every bid its day and minute in UTC, for a sink that writes
// bids into a directory per day and minute.
//
// Flink SQL: select the bid's auction, bidder, price, dateTime and extra,
// with DATE_FORMAT(dateTime, 'yyyy-MM-dd') as dt and DATE_FORMAT(dateTime,
// 'HH:mm') as hm, into a file system table partitioned by dt and hm. The
// session time zone is UTC here.
func Q10(events weir.Stream[nexmark.Event]) weir.Stream[Q10Row] {
	return weir.Map(bids(events, "q10"), func(b *nexmark.Bid) Q10Row {
		return Q10Row{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra,
			Dt: day(b.DateTime), Hm: minute(b.DateTime)}
	}, weir.Name("q10 format"))
}

// day returns t's UTC date as yyyy-MM-dd, without time.Format's parsing
// of a layout.
func day(t time.Time) string {
	y, m, d := t.UTC().Date()
	b := make([]byte, 0, 10)
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(m), 2)
	b = append(b, '-')
	return string(appendDigits(b, d, 2))
}

// minute returns t's UTC time of day as HH:mm.
func minute(t time.Time) string {
	h, m, _ := t.UTC().Clock()
	b := make([]byte, 0, 5)
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	return string(appendDigits(b, m, 2))
}

// appendDigits appends the n last decimal digits of v ≥ 0, zero padded.
func appendDigits(b []byte, v, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		p := 1
		for range i {
			p *= 10
		}
		b = append(b, byte('0'+v/p%10))
	}
	return b
}
