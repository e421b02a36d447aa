package nexmark

import (
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"
)

// Kind says which of its fields an Event carries.
type Kind uint8

// The kinds of events. The zero Kind is no event.
const (
	KindPerson Kind = iota + 1
	KindAuction
	KindBid
)

// String returns "person", "auction" or "bid", the value of an event's
// "type" in JSON.
func (k Kind) String() string {
	switch k {
	case KindPerson:
		return "person"
	case KindAuction:
		return "auction"
	case KindBid:
		return "bid"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Event is one Nexmark event: a new person, a new auction or a bid. Exactly
// the field that Kind names is set.
type Event struct {
	Kind    Kind
	Person  *Person
	Auction *Auction
	Bid     *Bid
}

// Time returns the event's time (its dateTime).
func (e Event) Time() time.Time {
	switch e.Kind {
	case KindPerson:
		return e.Person.DateTime
	case KindAuction:
		return e.Auction.DateTime
	case KindBid:
		return e.Bid.DateTime
	}
	return time.Time{}
}

// Person is a person who registers to sell or bid. Its JSON field names are
// those of nexmark/nexmark.
type Person struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	EmailAddress string    `json:"emailAddress"`
	CreditCard   string    `json:"creditCard"`
	City         string    `json:"city"`
	State        string    `json:"state"`
	DateTime     time.Time `json:"dateTime"`
	Extra        string    `json:"extra"`
}

// Auction is an item put up for auction by a person (Seller). Prices are in
// cents.
type Auction struct {
	ID          int64     `json:"id"`
	ItemName    string    `json:"itemName"`
	Description string    `json:"description"`
	InitialBid  int64     `json:"initialBid"`
	Reserve     int64     `json:"reserve"`
	DateTime    time.Time `json:"dateTime"`
	Expires     time.Time `json:"expires"`
	Seller      int64     `json:"seller"`
	Category    int64     `json:"category"`
	Extra       string    `json:"extra"`
}

// Bid is a bid of a person (Bidder) on an auction. Price is in cents.
type Bid struct {
	Auction  int64     `json:"auction"`
	Bidder   int64     `json:"bidder"`
	Price    int64     `json:"price"`
	Channel  string    `json:"channel"`
	URL      string    `json:"url"`
	DateTime time.Time `json:"dateTime"`
	Extra    string    `json:"extra"`
}

// timeLayout writes times as RFC 3339 in UTC with milliseconds, the
// resolution of Nexmark's timestamps.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes the event as one JSON object: "type" ("person",
// "auction" or "bid") followed by the fields of the Person, Auction or Bid,
// with nexmark/nexmark's field names. Times are RFC 3339 in UTC with
// milliseconds.
func (e Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(nil), nil
}

// AppendJSON appends what MarshalJSON writes to b and returns the extended
// buffer; it allocates nothing when b has room. An event of no kind is
// written as {"type":"Kind(0)"}.
func (e Event) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, e.Kind.String()...)
	b = append(b, '"')
	switch e.Kind {
	case KindPerson:
		p := e.Person
		b = appendInt(b, "id", p.ID)
		b = appendString(b, "name", p.Name)
		b = appendString(b, "emailAddress", p.EmailAddress)
		b = appendString(b, "creditCard", p.CreditCard)
		b = appendString(b, "city", p.City)
		b = appendString(b, "state", p.State)
		b = appendTime(b, "dateTime", p.DateTime)
		b = appendString(b, "extra", p.Extra)
	case KindAuction:
		a := e.Auction
		b = appendInt(b, "id", a.ID)
		b = appendString(b, "itemName", a.ItemName)
		b = appendString(b, "description", a.Description)
		b = appendInt(b, "initialBid", a.InitialBid)
		b = appendInt(b, "reserve", a.Reserve)
		b = appendTime(b, "dateTime", a.DateTime)
		b = appendTime(b, "expires", a.Expires)
		b = appendInt(b, "seller", a.Seller)
		b = appendInt(b, "category", a.Category)
		b = appendString(b, "extra", a.Extra)
	case KindBid:
		d := e.Bid
		b = appendInt(b, "auction", d.Auction)
		b = appendInt(b, "bidder", d.Bidder)
		b = appendInt(b, "price", d.Price)
		b = appendString(b, "channel", d.Channel)
		b = appendString(b, "url", d.URL)
		b = appendTime(b, "dateTime", d.DateTime)
		b = appendString(b, "extra", d.Extra)
	}
	return append(b, '}')
}

func appendKey(b []byte, key string) []byte {
	b = append(b, `,"`...)
	b = append(b, key...)
	return append(b, `":`...)
}

func appendInt(b []byte, key string, v int64) []byte {
	return strconv.AppendInt(appendKey(b, key), v, 10)
}

func appendTime(b []byte, key string, t time.Time) []byte {
	b = append(appendKey(b, key), '"')
	b = t.UTC().AppendFormat(b, timeLayout)
	return append(b, '"')
}

// appendString writes s as a JSON string. The generator's strings are
// plain ASCII and take the fast path; other strings (an Event built by
// hand) are escaped by encoding/json.
func appendString(b []byte, key, s string) []byte {
	b = appendKey(b, key)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
