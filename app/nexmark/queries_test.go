package nexmark

import (
	"cmp"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/nexmark"
	"github.com/weirstream/weir/weirtest"
)

// Each test runs a query at parallelism 2 over the test's events and
// compares its whole result with a plain computation over the same
// events.

func TestQ0(t *testing.T) {
	var want []Q0Row
	for _, b := range inputBids(t) {
		want = append(want, Q0Row{b.Auction, b.Bidder, b.Price, b.DateTime, b.Extra})
	}
	sameRows(t, runQuery(t, Q0), want)
}

func TestQ1(t *testing.T) {
	var want []Q1Row
	for _, b := range inputBids(t) {
		want = append(want, Q1Row{b.Auction, b.Bidder, Decimal3(b.Price * 908), b.DateTime, b.Extra})
	}
	sameRows(t, runQuery(t, Q1), want)
}

func TestDecimal3(t *testing.T) {
	for d, want := range map[Decimal3]string{0: "0.000", 908: "0.908", 123456: "123.456", -1250: "-1.250", 5: "0.005"} {
		if b, _ := d.MarshalJSON(); string(b) != want {
			t.Errorf("%d: %s, want %s", int64(d), b, want)
		}
	}
}

func TestQ2(t *testing.T) {
	var want []Q2Row
	for _, b := range inputBids(t) {
		if b.Auction%123 == 0 {
			want = append(want, Q2Row{b.Auction, b.Price})
		}
	}
	sameRows(t, runQuery(t, Q2), want)
}

func TestQ3(t *testing.T) {
	people := map[int64]*nexmark.Person{}
	var auctions []*nexmark.Auction
	for _, e := range input(t) {
		switch e.Kind {
		case nexmark.KindPerson:
			people[e.Person.ID] = e.Person
		case nexmark.KindAuction:
			auctions = append(auctions, e.Auction)
		}
	}
	var want []Q3Row
	for _, a := range auctions {
		p, ok := people[a.Seller]
		if ok && a.Category == 10 && (p.State == "OR" || p.State == "ID" || p.State == "CA") {
			want = append(want, Q3Row{p.Name, p.City, p.State, a.ID})
		}
	}
	sameRows(t, runQuery(t, Q3), want)
}

// exactWinners returns every auction of the input with a bid between its
// start and expiry, with its best such bid.
func exactWinners(t *testing.T) []Winner {
	events := input(t)
	var out []Winner
	for _, e := range events {
		if e.Kind != nexmark.KindAuction {
			continue
		}
		a := e.Auction
		var best *nexmark.Bid
		for _, f := range events {
			b := f.Bid
			if f.Kind != nexmark.KindBid || b.Auction != a.ID || b.DateTime.Before(a.DateTime) || b.DateTime.After(a.Expires) {
				continue
			}
			if best == nil || compareBids(b, best) < 0 {
				best = b
			}
		}
		if best != nil {
			out = append(out, Winner{*a, *best})
		}
	}
	return out
}

func TestQ4(t *testing.T) {
	type sum struct{ s, n int64 }
	sums := map[int64]sum{}
	for _, w := range exactWinners(t) {
		s := sums[w.Auction.Category]
		sums[w.Auction.Category] = sum{s.s + w.Bid.Price, s.n + 1}
	}
	var want []Q4Row
	for c, s := range sums {
		want = append(want, Q4Row{c, s.s / s.n})
	}
	got := runQuery(t, Q4)
	sameRows(t, lastPer(got, func(r Q4Row) int64 { return r.ID }), want)
}

func TestQ5(t *testing.T) {
	counts := map[int64]map[int64]int64{} // window start -> auction -> bids
	for _, b := range inputBids(t) {
		ms := b.DateTime.UnixMilli()
		for start := ms - mod(ms, 2000); start > ms-10_000; start -= 2000 {
			if counts[start] == nil {
				counts[start] = map[int64]int64{}
			}
			counts[start][b.Auction]++
		}
	}
	var want []Q5Row
	for start, byAuction := range counts {
		var most int64
		for _, n := range byAuction {
			most = max(most, n)
		}
		for a, n := range byAuction {
			if n == most {
				want = append(want, Q5Row{Auction: a, Num: n, start: start})
			}
		}
	}
	sameRows(t, runQuery(t, Q5), want)
}

func TestQ6(t *testing.T) {
	bySeller := map[int64][]Winner{}
	for _, w := range exactWinners(t) {
		bySeller[w.Auction.Seller] = append(bySeller[w.Auction.Seller], w)
	}
	var want []Q6Row
	wantSeq := map[int64][]int64{}
	for seller, ws := range bySeller {
		slices.SortFunc(ws, func(a, b Winner) int {
			return cmp.Or(a.Auction.Expires.Compare(b.Auction.Expires), cmp.Compare(a.Auction.ID, b.Auction.ID))
		})
		for i := range ws {
			var sum, n int64
			for j := max(0, i-9); j <= i; j++ {
				sum += ws[j].Bid.Price
				n++
			}
			want = append(want, Q6Row{seller, sum / n})
			wantSeq[seller] = append(wantSeq[seller], sum/n)
		}
	}
	got := runQuery(t, Q6)
	sameRows(t, got, want)
	// Each seller's rows come in the order its auctions closed.
	gotSeq := map[int64][]int64{}
	for _, r := range got {
		gotSeq[r.Seller] = append(gotSeq[r.Seller], r.AvgPrice)
	}
	for s, seq := range wantSeq {
		if !slices.Equal(gotSeq[s], seq) {
			t.Errorf("seller %d: averages %v, want %v", s, gotSeq[s], seq)
		}
	}
}

func TestQ7(t *testing.T) {
	bids := inputBids(t)
	maxes := map[int64]int64{} // window start -> max price over [start, end)
	for _, b := range bids {
		ms := b.DateTime.UnixMilli()
		start := ms - mod(ms, 10_000)
		if p, ok := maxes[start]; !ok || b.Price > p {
			maxes[start] = b.Price
		}
	}
	var want []Q7Row
	for start, p := range maxes {
		for _, b := range bids {
			ms := b.DateTime.UnixMilli()
			if ms >= start && ms <= start+10_000 && b.Price == p {
				want = append(want, Q7Row{b.Auction, b.Bidder, b.Price, b.DateTime, b.Extra})
			}
		}
	}
	sameRows(t, runQuery(t, Q7), want)
}

func TestQ8(t *testing.T) {
	type key struct{ id, start int64 }
	window := func(t time.Time) int64 { ms := t.UnixMilli(); return ms - mod(ms, 10_000) }
	registered := map[key]string{}
	opened := map[key]bool{}
	for _, e := range input(t) {
		switch e.Kind {
		case nexmark.KindPerson:
			registered[key{e.Person.ID, window(e.Person.DateTime)}] = e.Person.Name
		case nexmark.KindAuction:
			opened[key{e.Auction.Seller, window(e.Auction.DateTime)}] = true
		}
	}
	var want []Q8Row
	for k, name := range registered {
		if opened[k] {
			want = append(want, Q8Row{k.id, name, time.UnixMilli(k.start).UTC()})
		}
	}
	sameRows(t, runQuery(t, Q8), want)
}

func TestQ9(t *testing.T) {
	var want []Q9Row
	for _, w := range exactWinners(t) {
		a, b := w.Auction, w.Bid
		want = append(want, Q9Row{a.ID, a.ItemName, a.Description, a.InitialBid, a.Reserve, a.DateTime, a.Expires,
			a.Seller, a.Category, a.Extra, b.Auction, b.Bidder, b.Price, b.DateTime, b.Extra})
	}
	sameRows(t, runQuery(t, Q9), want)
}

func TestQ10(t *testing.T) {
	var want []Q10Row
	for _, b := range inputBids(t) {
		want = append(want, Q10Row{b.Auction, b.Bidder, b.Price, b.DateTime, b.Extra,
			b.DateTime.Format("2006-01-02"), b.DateTime.Format("15:04")})
	}
	got := runQuery(t, Q10)
	sameRows(t, got, want)
	if days := lastPer(got, func(r Q10Row) string { return r.Dt }); len(days) != 2 {
		t.Errorf("the input covers %d days, want 2 (it crosses midnight)", len(days))
	}
}

func TestQ11(t *testing.T) {
	times := map[int64][]int64{}
	for _, b := range inputBids(t) {
		times[b.Bidder] = append(times[b.Bidder], b.DateTime.UnixMilli())
	}
	var want []Q11Row
	for bidder, ts := range times {
		slices.Sort(ts)
		first, last, n := ts[0], ts[0], int64(0)
		for _, ms := range ts {
			if ms > last+10_000 {
				want = append(want, Q11Row{bidder, n, time.UnixMilli(first).UTC(), time.UnixMilli(last + 10_000).UTC()})
				first, n = ms, 0
			}
			last = ms
			n++
		}
		want = append(want, Q11Row{bidder, n, time.UnixMilli(first).UTC(), time.UnixMilli(last + 10_000).UTC()})
	}
	sameRows(t, runQuery(t, Q11), want)
}

// q12's windows follow the wall clock, so only each bidder's total is
// known in advance.
func TestQ12(t *testing.T) {
	want := map[int64]int64{}
	for _, b := range inputBids(t) {
		want[b.Bidder]++
	}
	got := map[int64]int64{}
	for _, r := range runQuery(t, Q12) {
		if r.Endtime.Sub(r.Starttime) != 10*time.Second {
			t.Fatalf("row %+v: not a window of 10 seconds", r)
		}
		got[r.Bidder] += r.BidCount
	}
	if len(got) != len(want) {
		t.Fatalf("%d bidders, want %d", len(got), len(want))
	}
	for b, n := range want {
		if got[b] != n {
			t.Errorf("bidder %d: %d bids, want %d", b, got[b], n)
		}
	}
}

func TestQ13(t *testing.T) {
	side := map[int64]string{}
	for k := int64(0); k < 10000; k += 3 { // a third of the keys: some bids find no row
		side[k] = "v" + strconv.FormatInt(k, 10)
	}
	var want []Q13Row
	for _, b := range inputBids(t) {
		if v, ok := side[b.Auction%10000]; ok {
			want = append(want, Q13Row{b.Auction, b.Bidder, b.Price, b.DateTime, v})
		}
	}
	sameRows(t, runQuery(t, func(events weir.Stream[nexmark.Event]) weir.Stream[Q13Row] { return Q13(events, side) }), want)
	if s := SideInput(3); len(s) != 3 || s[2] != "2" {
		t.Fatalf("SideInput(3) = %v", s)
	}
}

func TestQ14(t *testing.T) {
	var want []Q14Row
	for _, b := range inputBids(t) {
		p := float64(b.Price) * 0.908
		if !(p > 1_000_000 && p < 50_000_000) {
			continue
		}
		kind := "otherTime"
		if h := b.DateTime.Hour(); h >= 8 && h <= 18 {
			kind = "dayTime"
		} else if h <= 6 || h >= 20 {
			kind = "nightTime"
		}
		want = append(want, Q14Row{b.Auction, b.Bidder, Decimal3(b.Price * 908), kind, b.DateTime, b.Extra,
			int64(strings.Count(b.Extra, "c"))})
	}
	sameRows(t, runQuery(t, Q14), want)
	for h, want := range map[int]string{0: "nightTime", 6: "nightTime", 7: "otherTime", 8: "dayTime", 18: "dayTime", 19: "otherTime", 20: "nightTime"} {
		if got := bidTimeType(time.Date(2026, 1, 1, h, 30, 0, 0, time.UTC)); got != want {
			t.Errorf("hour %d: %s, want %s", h, got, want)
		}
	}
}

// exactStats computes BidStats over bids with sets, as the SQL states it.
func exactStats(bids []*nexmark.Bid) BidStats {
	var s BidStats
	bidders := [4]map[int64]bool{{}, {}, {}, {}}
	auctions := [4]map[int64]bool{{}, {}, {}, {}}
	for _, b := range bids {
		r := 3
		if b.Price < 10000 {
			r = 1
		} else if b.Price < 1000000 {
			r = 2
		}
		s.TotalBids++
		*[]*int64{nil, &s.Rank1Bids, &s.Rank2Bids, &s.Rank3Bids}[r]++
		for _, i := range []int{0, r} {
			bidders[i][b.Bidder] = true
			auctions[i][b.Auction] = true
		}
	}
	s.TotalBidders, s.Rank1Bidders, s.Rank2Bidders, s.Rank3Bidders = int64(len(bidders[0])), int64(len(bidders[1])), int64(len(bidders[2])), int64(len(bidders[3]))
	s.TotalAuctions, s.Rank1Auctions, s.Rank2Auctions, s.Rank3Auctions = int64(len(auctions[0])), int64(len(auctions[1])), int64(len(auctions[2])), int64(len(auctions[3]))
	return s
}

func TestQ15(t *testing.T) {
	byDay := map[string][]*nexmark.Bid{}
	for _, b := range inputBids(t) {
		d := b.DateTime.Format("2006-01-02")
		byDay[d] = append(byDay[d], b)
	}
	var want []Q15Row
	for d, bids := range byDay {
		want = append(want, Q15Row{d, exactStats(bids)})
	}
	sameRows(t, runQuery(t, Q15), want)
}

func TestQ16(t *testing.T) {
	type key struct{ channel, day string }
	groups := map[key][]*nexmark.Bid{}
	for _, b := range inputBids(t) {
		k := key{b.Channel, b.DateTime.Format("2006-01-02")}
		groups[k] = append(groups[k], b)
	}
	var want []Q16Row
	for k, bids := range groups {
		var minute string
		for _, b := range bids {
			minute = max(minute, b.DateTime.Format("15:04"))
		}
		want = append(want, Q16Row{k.channel, k.day, minute, exactStats(bids)})
	}
	sameRows(t, runQuery(t, Q16), want)
}

func TestQ17(t *testing.T) {
	type key struct {
		auction int64
		day     string
	}
	groups := map[key][]*nexmark.Bid{}
	for _, b := range inputBids(t) {
		k := key{b.Auction, b.DateTime.Format("2006-01-02")}
		groups[k] = append(groups[k], b)
	}
	var want []Q17Row
	for k, bids := range groups {
		r := Q17Row{Auction: k.auction, Day: k.day, MinPrice: bids[0].Price, MaxPrice: bids[0].Price}
		for _, b := range bids {
			r.TotalBids++
			switch {
			case b.Price < 10000:
				r.Rank1Bids++
			case b.Price < 1000000:
				r.Rank2Bids++
			default:
				r.Rank3Bids++
			}
			r.MinPrice, r.MaxPrice, r.SumPrice = min(r.MinPrice, b.Price), max(r.MaxPrice, b.Price), r.SumPrice+b.Price
		}
		r.AvgPrice = r.SumPrice / r.TotalBids
		want = append(want, r)
	}
	sameRows(t, runQuery(t, Q17), want)
}

func TestQ18(t *testing.T) {
	last := map[bidderAuction]*nexmark.Bid{}
	for _, b := range inputBids(t) {
		k := bidderAuction{b.Bidder, b.Auction}
		if p, ok := last[k]; !ok || b.DateTime.After(p.DateTime) || b.DateTime.Equal(p.DateTime) && compareBids(b, p) > 0 {
			last[k] = b
		}
	}
	var want []Q18Row
	for _, b := range last {
		want = append(want, Q18Row{b.Auction, b.Bidder, b.Price, b.Channel, b.URL, b.DateTime, b.Extra})
	}
	got := runQuery(t, Q18)
	sameRows(t, lastPer(got, func(r Q18Row) bidderAuction { return bidderAuction{r.Bidder, r.Auction} }), want)
}

func TestQ19(t *testing.T) {
	byAuction := map[int64][]*nexmark.Bid{}
	for _, b := range inputBids(t) {
		byAuction[b.Auction] = append(byAuction[b.Auction], b)
	}
	var want []Q19Row
	for _, bids := range byAuction {
		slices.SortFunc(bids, compareBids)
		for i, b := range bids[:min(10, len(bids))] {
			want = append(want, Q19Row{b.Auction, b.Bidder, b.Price, b.Channel, b.URL, b.DateTime, b.Extra, int64(i + 1)})
		}
	}
	type key struct{ auction, rank int64 }
	got := runQuery(t, Q19)
	sameRows(t, lastPer(got, func(r Q19Row) key { return key{r.Auction, r.RankNumber} }), want)
}

func TestQ20(t *testing.T) {
	auctions := map[int64]*nexmark.Auction{}
	for _, e := range input(t) {
		if e.Kind == nexmark.KindAuction {
			auctions[e.Auction.ID] = e.Auction
		}
	}
	var want []Q20Row
	for _, b := range inputBids(t) {
		if a, ok := auctions[b.Auction]; ok && a.Category == 10 {
			want = append(want, Q20Row{b.Auction, b.Bidder, b.Price, b.Channel, b.URL, b.DateTime, b.Extra,
				a.ItemName, a.Description, a.InitialBid, a.Reserve, a.DateTime, a.Expires, a.Seller, a.Category, a.Extra})
		}
	}
	sameRows(t, runQuery(t, Q20), want)
}

func TestQ21(t *testing.T) {
	re := regexp.MustCompile(`(&|^)channel_id=([^&]*)`)
	ids := map[string]string{"apple": "0", "google": "1", "facebook": "2", "baidu": "3"}
	var want []Q21Row
	for _, b := range inputBids(t) {
		id, ok := ids[strings.ToLower(b.Channel)]
		if !ok {
			if m := re.FindStringSubmatch(b.URL); m != nil {
				id, ok = m[2], true
			}
		}
		if ok {
			want = append(want, Q21Row{b.Auction, b.Bidder, b.Price, b.Channel, id})
		}
	}
	sameRows(t, runQuery(t, Q21), want)
	for _, url := range []string{"channel_id=7&x=1", "a?b=1&channel_id=&c", "a?xchannel_id=1&channel_id=2", "a?xchannel_id=1", "channel_id", ""} {
		want, wantOK := "", false
		if m := re.FindStringSubmatch(url); m != nil {
			want, wantOK = m[2], true
		}
		if got, ok := channelIDParam(url); got != want || ok != wantOK {
			t.Errorf("%q: %q %v, want %q %v", url, got, ok, want, wantOK)
		}
	}
}

func TestQ22(t *testing.T) {
	var want []Q22Row
	for _, b := range inputBids(t) {
		parts := strings.Split(b.URL, "/")
		at := func(i int) string {
			if i < len(parts) {
				return parts[i]
			}
			return ""
		}
		want = append(want, Q22Row{b.Auction, b.Bidder, b.Price, b.Channel, at(3), at(4), at(5)})
	}
	sameRows(t, runQuery(t, Q22), want)
}

// Every query is registered under its name, and its JSON rows carry the
// column names of the Flink query.
func TestQueriesRegistry(t *testing.T) {
	qs := Queries()
	if len(qs) != 23 {
		t.Fatalf("%d queries, want q0 to q22", len(qs))
	}
	for i, q := range qs {
		if want := "q" + strconv.Itoa(i); q.Name != want {
			t.Errorf("query %d is %s, want %s", i, q.Name, want)
		}
		if got, ok := Lookup(q.Name); !ok || got.Name != q.Name {
			t.Errorf("Lookup(%s) = %v, %v", q.Name, got.Name, ok)
		}
	}
	if _, ok := Lookup("q23"); ok {
		t.Error("Lookup(q23) found a query")
	}
}

// A bid at a window's end belongs to the next window but also matches the
// highest price of the window before, as q7's BETWEEN includes both ends.
func TestQ7BidAtWindowEnd(t *testing.T) {
	at := func(ms, price int64) weirtest.Timed[nexmark.Event] {
		ts := time.UnixMilli(ms).UTC()
		return weirtest.Timed[nexmark.Event]{Value: nexmark.Event{Kind: nexmark.KindBid,
			Bid: &nexmark.Bid{Auction: 1000, Bidder: ms, Price: price, DateTime: ts}}, Time: ts}
	}
	env := weir.NewEnv(weir.Parallelism(1))
	events := weir.FromSourceWithWatermarks(env, weirtest.FromTimed(at(0, 5), at(5000, 9), at(10_000, 9), at(12_000, 3)),
		weir.BoundedOutOfOrderness[nexmark.Event](0, nil))
	got := weirtest.NewCollector[Q7Row]()
	weir.SinkTo(Q7(events), got)
	if err := env.Execute(t.Context(), t.Name()); err != nil {
		t.Fatal(err)
	}
	var bidders []int64
	for _, r := range got.Records() {
		bidders = append(bidders, r.Bidder)
	}
	slices.Sort(bidders)
	// Window [0, 10s): max 9, matched by the bids at 5s and at 10s.
	// Window [10s, 20s): max 9, matched by the bid at 10s.
	if want := []int64{5000, 10_000, 10_000}; !slices.Equal(bidders, want) {
		t.Fatalf("rows of the bids of %v, want %v", bidders, want)
	}
}
