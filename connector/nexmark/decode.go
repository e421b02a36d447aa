package nexmark

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// wireEvent is every field an event's JSON may have; a nil field was
// absent (or null).
type wireEvent struct {
	Type         *string    `json:"type"`
	ID           *int64     `json:"id"`
	Name         *string    `json:"name"`
	EmailAddress *string    `json:"emailAddress"`
	CreditCard   *string    `json:"creditCard"`
	City         *string    `json:"city"`
	State        *string    `json:"state"`
	ItemName     *string    `json:"itemName"`
	Description  *string    `json:"description"`
	InitialBid   *int64     `json:"initialBid"`
	Reserve      *int64     `json:"reserve"`
	Expires      *time.Time `json:"expires"`
	Seller       *int64     `json:"seller"`
	Category     *int64     `json:"category"`
	Auction      *int64     `json:"auction"`
	Bidder       *int64     `json:"bidder"`
	Price        *int64     `json:"price"`
	Channel      *string    `json:"channel"`
	URL          *string    `json:"url"`
	DateTime     *time.Time `json:"dateTime"`
	Extra        *string    `json:"extra"`
}

// ErrMalformedEvent is wrapped by every error of [DecodeEvent].
var ErrMalformedEvent = errors.New("nexmark: malformed event")

// DecodeEvent decodes one event from the JSON object that
// [Event.AppendJSON] writes: a "type" of "person", "auction" or "bid",
// and every field of that kind, each once, with its JSON type (numbers
// are whole and fit in 64 bits; times are RFC 3339 in the years 0000 to
// 9999 once in UTC). It refuses anything else (unknown or missing fields,
// fields of another kind, nulls, text after the object) with an error
// that wraps [ErrMalformedEvent] and says what is wrong. Times are
// returned in UTC.
//
// What it accepts, AppendJSON writes back in a form that decodes to the
// same event (times to the millisecond, which is all the events have).
func DecodeEvent(b []byte) (Event, error) {
	var w wireEvent
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Event{}, malformed("%v", err)
	}
	if _, err := dec.Token(); err == nil {
		return Event{}, malformed("text after the event's JSON object")
	}
	if w.Type == nil {
		return Event{}, malformed(`no "type"; give "person", "auction" or "bid"`)
	}
	var kind Kind
	switch *w.Type {
	case "person":
		kind = KindPerson
	case "auction":
		kind = KindAuction
	case "bid":
		kind = KindBid
	default:
		return Event{}, malformed(`"type" is %q; give "person", "auction" or "bid"`, *w.Type)
	}
	fields := map[string]bool{
		"id": w.ID != nil, "name": w.Name != nil, "emailAddress": w.EmailAddress != nil, "creditCard": w.CreditCard != nil,
		"city": w.City != nil, "state": w.State != nil, "itemName": w.ItemName != nil, "description": w.Description != nil,
		"initialBid": w.InitialBid != nil, "reserve": w.Reserve != nil, "expires": w.Expires != nil, "seller": w.Seller != nil,
		"category": w.Category != nil, "auction": w.Auction != nil, "bidder": w.Bidder != nil, "price": w.Price != nil,
		"channel": w.Channel != nil, "url": w.URL != nil, "dateTime": w.DateTime != nil, "extra": w.Extra != nil,
	}
	want := kindFields[kind]
	var missing, foreign []string
	for name, present := range fields {
		mine := slices.Contains(want, name)
		switch {
		case mine && !present:
			missing = append(missing, name)
		case !mine && present:
			foreign = append(foreign, name)
		}
	}
	if len(missing) > 0 || len(foreign) > 0 {
		slices.Sort(missing)
		slices.Sort(foreign)
		var parts []string
		if len(missing) > 0 {
			parts = append(parts, "lacks "+strings.Join(missing, ", "))
		}
		if len(foreign) > 0 {
			parts = append(parts, "has "+strings.Join(foreign, ", ")+", which a "+kind.String()+" has not")
		}
		return Event{}, malformed("a %s %s (null counts as absent)", kind, strings.Join(parts, " and "))
	}
	for name, t := range map[string]*time.Time{"dateTime": w.DateTime, "expires": w.Expires} {
		if t == nil {
			continue
		}
		*t = t.UTC()
		if y := t.Year(); y < 0 || y > 9999 {
			return Event{}, malformed("%s %v is out of the years 0000 to 9999 in UTC", name, *t)
		}
	}
	switch kind {
	case KindPerson:
		return Event{Kind: kind, Person: &Person{ID: *w.ID, Name: *w.Name, EmailAddress: *w.EmailAddress,
			CreditCard: *w.CreditCard, City: *w.City, State: *w.State, DateTime: *w.DateTime, Extra: *w.Extra}}, nil
	case KindAuction:
		return Event{Kind: kind, Auction: &Auction{ID: *w.ID, ItemName: *w.ItemName, Description: *w.Description,
			InitialBid: *w.InitialBid, Reserve: *w.Reserve, DateTime: *w.DateTime, Expires: *w.Expires,
			Seller: *w.Seller, Category: *w.Category, Extra: *w.Extra}}, nil
	}
	return Event{Kind: kind, Bid: &Bid{Auction: *w.Auction, Bidder: *w.Bidder, Price: *w.Price, Channel: *w.Channel,
		URL: *w.URL, DateTime: *w.DateTime, Extra: *w.Extra}}, nil
}

// kindFields are the JSON fields of each kind of event, "type" aside.
var kindFields = map[Kind][]string{
	KindPerson:  {"id", "name", "emailAddress", "creditCard", "city", "state", "dateTime", "extra"},
	KindAuction: {"id", "itemName", "description", "initialBid", "reserve", "dateTime", "expires", "seller", "category", "extra"},
	KindBid:     {"auction", "bidder", "price", "channel", "url", "dateTime", "extra"},
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedEvent, fmt.Sprintf(format, args...))
}
