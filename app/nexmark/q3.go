package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/state"
)

// Q3Row is a row of q3: an auction of category 10 and its seller.
type Q3Row struct {
	Name  string `json:"name"`
	City  string `json:"city"`
	State string `json:"state"`
	ID    int64  `json:"id"`
}

// Q3 suggests local items: every auction of category 10 whose seller
// lives in Oregon, Idaho or California, with the seller's name, city and
// state.
//
// Flink SQL: select P.name, P.city, P.state and A.id from auction A
// joined with person P on A.seller = P.id, where A.category = 10 and
// P.state is OR, ID or CA: a regular (unwindowed) join.
//
// Here people and the auctions of category 10 are keyed together by the
// person's id and the seller. The state of a key is whether its person
// registered and lives in one of the states, and the auctions that came
// before their seller (the generator may name a seller a little before
// the person's event), which wait for it.
func Q3(events weir.Stream[nexmark.Event]) weir.Stream[Q3Row] {
	both := weir.Filter(events, func(e nexmark.Event) bool {
		return e.Kind == nexmark.KindPerson || e.Kind == nexmark.KindAuction && e.Auction.Category == 10
	}, weir.Name("q3 people and auctions"))
	bySeller := weir.KeyBy(both, func(e nexmark.Event) int64 {
		if e.Kind == nexmark.KindPerson {
			return e.Person.ID
		}
		return e.Auction.Seller
	})
	return weir.ProcessKeyed(bySeller, func(s *state.Store[int64]) weir.KeyedProcessFunction[int64, nexmark.Event, Q3Row] {
		return &localItems{seller: state.ValueOf[q3Seller](s, "seller"), waiting: state.ListOf[int64](s, "waiting")}
	}, weir.Name("q3 join"))
}

// q3Seller is a registered person as q3 keeps them: Local says they live
// in OR, ID or CA, and only then are the other fields kept.
type q3Seller struct {
	Local             bool
	Name, City, State string
}

type localItems struct {
	seller  state.Value[q3Seller]
	waiting state.List[int64] // ids of auctions that came before their seller
}

func (l *localItems) ProcessElement(ctx *weir.KeyedContext[int64, Q3Row], e nexmark.Event) error {
	if e.Kind == nexmark.KindPerson {
		p := e.Person
		s := q3Seller{}
		if p.State == "OR" || p.State == "ID" || p.State == "CA" {
			s = q3Seller{Local: true, Name: p.Name, City: p.City, State: p.State}
			for _, id := range l.waiting.Get() {
				ctx.Emit(Q3Row{Name: s.Name, City: s.City, State: s.State, ID: id})
			}
		}
		l.waiting.Clear()
		l.seller.Set(s)
		return nil
	}
	s, known := l.seller.Get()
	switch {
	case !known:
		l.waiting.Add(e.Auction.ID)
	case s.Local:
		ctx.Emit(Q3Row{Name: s.Name, City: s.City, State: s.State, ID: e.Auction.ID})
	}
	return nil
}

func (l *localItems) OnTimer(*weir.KeyedContext[int64, Q3Row], time.Time, weir.TimeDomain) error {
	return nil
}
