package nexmark

import (
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/window"
)

// Q8Row is a row of q8: a person who opened an auction in the window they
// registered in.
type Q8Row struct {
	ID    int64     `json:"id"`
	Name  string    `json:"name"`
	Stime time.Time `json:"stime"`
}

// q8Acc is what a window knows of one person: their name if they
// registered in it, and whether they opened an auction in it.
type q8Acc struct {
	Name       string
	Registered bool
	Opened     bool
}

// Q8 monitors new users: the people who registered and opened an auction
// in the same tumbling window of 10 seconds.
//
// Flink SQL: the distinct (id, name) of person per TUMBLE(person,
// dateTime, 10 s) as P, joined with the distinct seller of auction per
// TUMBLE(auction, dateTime, 10 s) as A on P.id = A.seller and the same
// window; select P.id, P.name and the window's start as stime.
//
// Here people and auctions are keyed together by the person's id and the
// seller, and one tumbling window aggregate per key notes both sides.
func Q8(events weir.Stream[nexmark.Event]) weir.Stream[Q8Row] {
	both := weir.Filter(events, func(e nexmark.Event) bool {
		return e.Kind == nexmark.KindPerson || e.Kind == nexmark.KindAuction
	}, weir.Name("q8 people and auctions"))
	byPerson := weir.KeyBy(both, func(e nexmark.Event) int64 {
		if e.Kind == nexmark.KindPerson {
			return e.Person.ID
		}
		return e.Auction.Seller
	})
	agg := weir.AggregateFunc[nexmark.Event, q8Acc, q8Acc]{
		Init: func() q8Acc { return q8Acc{} },
		Add: func(a q8Acc, e nexmark.Event) q8Acc {
			if e.Kind == nexmark.KindPerson {
				a.Name, a.Registered = e.Person.Name, true
			} else {
				a.Opened = true
			}
			return a
		},
		Result: func(a q8Acc) q8Acc { return a },
	}
	return weir.AggregateWindow(weir.Window(byPerson, window.Tumbling(10*time.Second)), agg,
		func(id int64, w window.Window, a q8Acc, out weir.Emitter[Q8Row]) error {
			if a.Registered && a.Opened {
				out.Emit(Q8Row{ID: id, Name: a.Name, Stime: w.StartTime()})
			}
			return nil
		}, weir.Name("q8 join"))
}
