package nexmark_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirstream/weir/connector/nexmark"
)

const sampleSize = 100_000

// sample is the first sampleSize events of the default generator, made
// once for the tests that check distributions.
var sample = sync.OnceValue(func() []nexmark.Event {
	g, err := nexmark.New()
	if err != nil {
		panic(err)
	}
	evs := make([]nexmark.Event, sampleSize)
	for n := range evs {
		evs[n] = g.Event(int64(n))
	}
	return evs
})

func newGen(t *testing.T, opts ...nexmark.Option) *nexmark.Generator {
	t.Helper()
	g, err := nexmark.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Every 50 events are one person, three auctions and 46 bids, in that
// order.
func TestProportions(t *testing.T) {
	g := newGen(t)
	counts := map[nexmark.Kind]int{}
	for n, ev := range sample() {
		var want nexmark.Kind
		switch off := n % 50; {
		case off == 0:
			want = nexmark.KindPerson
		case off <= 3:
			want = nexmark.KindAuction
		default:
			want = nexmark.KindBid
		}
		if ev.Kind != want || g.Kind(int64(n)) != want {
			t.Fatalf("event %d is a %v (Kind says %v), want a %v", n, ev.Kind, g.Kind(int64(n)), want)
		}
		if (ev.Person != nil) != (want == nexmark.KindPerson) || (ev.Auction != nil) != (want == nexmark.KindAuction) || (ev.Bid != nil) != (want == nexmark.KindBid) {
			t.Fatalf("event %d of kind %v sets the wrong fields: %+v", n, ev.Kind, ev)
		}
		counts[ev.Kind]++
	}
	if counts[nexmark.KindPerson] != 2_000 || counts[nexmark.KindAuction] != 6_000 || counts[nexmark.KindBid] != 92_000 {
		t.Fatalf("counts %v, want 2000 people, 6000 auctions, 92000 bids", counts)
	}
}

// People and auctions are numbered from 1000 in the order they come;
// sellers, bidders and auctions of bids refer to ones generated already
// or to one of the next ten (nexmark/nexmark's leads), and the auctions
// of bids that are not for a hot auction are among the last in flight.
func TestIDs(t *testing.T) {
	cfg := newGen(t).Config()
	nextPerson, nextAuction := int64(nexmark.FirstPersonID), int64(nexmark.FirstAuctionID)
	var ahead, refs int
	checkPerson := func(n int, role string, id int64) {
		t.Helper()
		refs++
		last := nextPerson - 1
		if id < nexmark.FirstPersonID || id > last+10 {
			t.Fatalf("event %d: %s %d is not a person up to 10 ahead of the last, %d", n, role, id, last)
		}
		if id > last {
			ahead++
		}
	}
	for n, ev := range sample() {
		switch ev.Kind {
		case nexmark.KindPerson:
			if ev.Person.ID != nextPerson {
				t.Fatalf("event %d: person %d, want %d", n, ev.Person.ID, nextPerson)
			}
			nextPerson++
		case nexmark.KindAuction:
			a := ev.Auction
			if a.ID != nextAuction {
				t.Fatalf("event %d: auction %d, want %d", n, a.ID, nextAuction)
			}
			nextAuction++
			checkPerson(n, "seller", a.Seller)
			if a.Category < 10 || a.Category > 14 {
				t.Fatalf("event %d: category %d, want 10 to 14", n, a.Category)
			}
		case nexmark.KindBid:
			b := ev.Bid
			last := nextAuction - 1
			if b.Auction < nexmark.FirstAuctionID || b.Auction > last+10 || b.Auction < last-int64(cfg.InFlightAuctions) && b.Auction != hotAuction(last) {
				t.Fatalf("event %d: bid for auction %d, last auction %d: not in flight, nor up to 10 ahead, nor the hot one", n, b.Auction, last)
			}
			refs++
			if b.Auction > last {
				ahead++
			}
			checkPerson(n, "bidder", b.Bidder)
		}
	}
	// The leads are rare: a non-hot auction pick goes ahead 10 times in
	// 111, a hot bidder when the last person starts a hundred; about 3%.
	if f := float64(ahead) / float64(refs); f > 0.05 {
		t.Fatalf("%.2f%% of references are ahead of the last id", 100*f)
	}
}

// hotAuction is the hot auction when the last one is last: the first of
// its hundred.
func hotAuction(last int64) int64 {
	return (last-nexmark.FirstAuctionID)/100*100 + nexmark.FirstAuctionID
}

// The shares of hot auctions, sellers and bidders are 1-1/ratio, within a
// point (a random pick may land on a hot one too).
func TestHotRatios(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		opts                      []nexmark.Option
		auction, sellers, bidders float64
	}{
		{"defaults", nil, 2, 4, 4},
		{"HotRatios(10, 1, 5)", []nexmark.Option{nexmark.HotRatios(10, 1, 5)}, 10, 1, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			evs := sample()
			if tc.opts != nil {
				g := newGen(t, tc.opts...)
				evs = make([]nexmark.Event, sampleSize)
				for n := range evs {
					evs[n] = g.Event(int64(n))
				}
			}
			var bids, hotA, hotB, auctions, hotS int
			for n, ev := range evs {
				lastPerson := int64(n/50) + nexmark.FirstPersonID
				hotPeople := (lastPerson-nexmark.FirstPersonID)/100*100 + nexmark.FirstPersonID
				switch ev.Kind {
				case nexmark.KindAuction:
					auctions++
					if ev.Auction.Seller == hotPeople {
						hotS++
					}
				case nexmark.KindBid:
					bids++
					lastAuction := int64(n/50)*3 + 2 + nexmark.FirstAuctionID
					if ev.Bid.Auction == hotAuction(lastAuction) {
						hotA++
					}
					if ev.Bid.Bidder == hotPeople+1 {
						hotB++
					}
				}
			}
			for _, c := range []struct {
				what       string
				hot, total int
				ratio      float64
			}{
				{"bids for hot auctions", hotA, bids, tc.auction},
				{"auctions by hot sellers", hotS, auctions, tc.sellers},
				{"bids by hot bidders", hotB, bids, tc.bidders},
			} {
				got, want := float64(c.hot)/float64(c.total), 1-1/c.ratio
				if math.Abs(got-want) > 0.01 {
					t.Errorf("%s: %.4f, want %.4f", c.what, got, want)
				}
			}
		})
	}
}

// Event n is at Start + n/EventsPerSecond, truncated to the millisecond,
// whatever the wall clock.
func TestEventTime(t *testing.T) {
	start := time.Date(2030, 1, 2, 3, 4, 5, 6e6, time.UTC)
	for _, rate := range []float64{10_000, 3, 1e6} {
		g := newGen(t, nexmark.Start(start), nexmark.EventsPerSecond(rate))
		prev := int64(math.MinInt64)
		for n := range int64(20_000) {
			ts := g.TimestampMillis(n)
			want := start.UnixMilli() + int64(float64(n)*(1e6/rate))/1000
			if ts != want || ts < prev {
				t.Fatalf("rate %v: event %d at %d, want %d (previous %d)", rate, n, ts, want, prev)
			}
			prev = ts
			ev := g.Event(n)
			if got := ev.Time(); got.UnixMilli() != ts || got.Location() != time.UTC {
				t.Fatalf("rate %v: event %d says %v, want %v", rate, n, got, time.UnixMilli(ts).UTC())
			}
		}
	}
	// The default rate: 10 events a millisecond.
	g := newGen(t)
	if d := g.TimestampMillis(100_000) - g.TimestampMillis(0); d != 10_000 {
		t.Fatalf("100,000 events span %d ms at the default rate, want 10000", d)
	}
	if got := g.Event(0).Time(); !got.Equal(time.UnixMilli(nexmark.DefaultStartUnixMilli)) {
		t.Fatalf("event 0 at %v, want the default start", got)
	}
}

// An auction lasts on average as long as InFlightAuctions auctions take
// to come: 100 auctions are 1666 events, 166 ms at 10,000 events/s.
func TestAuctionExpiry(t *testing.T) {
	var sum, count float64
	for n, ev := range sample() {
		if ev.Kind != nexmark.KindAuction {
			continue
		}
		d := ev.Auction.Expires.Sub(ev.Auction.DateTime)
		if d < time.Millisecond || d > 334*time.Millisecond {
			t.Fatalf("event %d: auction lasts %v, want 1ms to 2x166ms", n, d)
		}
		sum += float64(d.Milliseconds())
		count++
	}
	if mean := sum / count; math.Abs(mean-167) > 5 {
		t.Fatalf("auctions last %.1f ms on average, want about 167", mean)
	}
}

// Prices are log-uniform from 100 to 100,000,000 cents: a sixth in each
// decade; the reserve is above the initial bid.
func TestPrices(t *testing.T) {
	var decades [6]int
	var total int
	add := func(n int, p int64) {
		if p < 100 || p > 100_000_000 {
			t.Fatalf("event %d: price %d out of range", n, p)
		}
		decades[min(5, int(math.Log10(float64(p)))-2)]++
		total++
	}
	for n, ev := range sample() {
		switch ev.Kind {
		case nexmark.KindBid:
			add(n, ev.Bid.Price)
		case nexmark.KindAuction:
			add(n, ev.Auction.InitialBid)
			if ev.Auction.Reserve <= ev.Auction.InitialBid {
				t.Fatalf("event %d: reserve %d not above the initial bid %d", n, ev.Auction.Reserve, ev.Auction.InitialBid)
			}
		}
	}
	for d, c := range decades {
		if f := float64(c) / float64(total); math.Abs(f-1.0/6) > 0.01 {
			t.Errorf("%.3f of prices in [10^%d, 10^%d) cents, want 1/6", f, d+2, d+3)
		}
	}
}

// Half of the bids come from the four hot channels, each with one URL; the
// others from channel-0 to channel-9999, each with its own URL.
func TestChannels(t *testing.T) {
	urls := map[string]string{}
	var hot, bids int
	for n, ev := range sample() {
		if ev.Kind != nexmark.KindBid {
			continue
		}
		b := ev.Bid
		bids++
		switch b.Channel {
		case "Google", "Facebook", "Baidu", "Apple":
			hot++
		default:
			if !strings.HasPrefix(b.Channel, "channel-") {
				t.Fatalf("event %d: channel %q", n, b.Channel)
			}
		}
		if !strings.HasPrefix(b.URL, "https://www.nexmark.com/") || !strings.Contains(b.URL, "/item.htm?query=1") {
			t.Fatalf("event %d: url %q", n, b.URL)
		}
		if u, ok := urls[b.Channel]; ok && u != b.URL {
			t.Fatalf("event %d: channel %s has URLs %q and %q", n, b.Channel, u, b.URL)
		}
		urls[b.Channel] = b.URL
	}
	if f := float64(hot) / float64(bids); math.Abs(f-0.5) > 0.01 {
		t.Fatalf("%.3f of bids from hot channels, want 0.5", f)
	}
}

// The extra field pads each kind to its configured average size, as
// nexmark/nexmark counts it.
func TestAverageSizes(t *testing.T) {
	check := func(opts []nexmark.Option, person, auction, bid float64) {
		t.Helper()
		g := newGen(t, opts...)
		var sums, counts [4]float64
		for n := range int64(20_000) {
			ev := g.Event(n)
			var size int
			switch ev.Kind {
			case nexmark.KindPerson:
				p := ev.Person
				size = 8 + len(p.Name) + len(p.EmailAddress) + len(p.CreditCard) + len(p.City) + len(p.State) + len(p.Extra)
			case nexmark.KindAuction:
				a := ev.Auction
				size = 8 + len(a.ItemName) + len(a.Description) + 40 + len(a.Extra)
			case nexmark.KindBid:
				size = 32 + len(ev.Bid.Extra)
			}
			sums[ev.Kind] += float64(size)
			counts[ev.Kind]++
		}
		for k, want := range map[nexmark.Kind]float64{nexmark.KindPerson: person, nexmark.KindAuction: auction, nexmark.KindBid: bid} {
			if got := sums[k] / counts[k]; math.Abs(got-want) > want*0.03+1 {
				t.Errorf("%v: average size %.1f, want about %v", k, got, want)
			}
		}
	}
	check(nil, 200, 500, 100)
	check([]nexmark.Option{nexmark.AvgSizes(1000, 2000, 300)}, 1000, 2000, 300)
	// Sizes below the fields' own leave extra empty.
	g := newGen(t, nexmark.AvgSizes(0, 0, 0))
	for n := range int64(1000) {
		if b, _ := json.Marshal(g.Event(n)); !strings.HasSuffix(string(b), `"extra":""}`) {
			t.Fatalf("AvgSizes(0, 0, 0): event %d has extra: %s", n, b)
		}
	}
}

// The same options and seed make the same events, here and on any
// machine: the digest of the first 2000 events of seed 1 is fixed.
func TestDeterministic(t *testing.T) {
	digest := func(g *nexmark.Generator, n int64) string {
		h := sha256.New()
		var b []byte
		for i := range n {
			b = g.Event(i).AppendJSON(b[:0])
			h.Write(append(b, '\n'))
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	a, b := newGen(t, nexmark.Seed(1)), newGen(t, nexmark.Seed(1))
	if da, db := digest(a, 2000), digest(b, 2000); da != db {
		t.Fatal("two generators of seed 1 differ")
	}
	const golden = "f51c7df17a0ff416e7dccaaa7a30b74c306d87a8f3477db7711a3c727955833a"
	if got := digest(a, 2000); got != golden {
		t.Errorf("seed 1 digest %s, want %s: the sequence changed, and with it every recorded result", got, golden)
	}
	if digest(newGen(t, nexmark.Seed(2)), 2000) == digest(a, 2000) {
		t.Fatal("seeds 1 and 2 make the same events")
	}
	// Random access: event n alone is event n of a run.
	for _, n := range []int64{0, 1, 49, 50, 77_777, 99_999} {
		if got, want := a.Event(n), sample()[n]; !reflect.DeepEqual(got, want) {
			t.Fatalf("event %d alone differs from the run's", n)
		}
	}
}

// The JSON of an event has its type and nexmark/nexmark's field names, and
// decodes into the structs.
func TestJSON(t *testing.T) {
	want := map[nexmark.Kind][]string{
		nexmark.KindPerson:  {"type", "id", "name", "emailAddress", "creditCard", "city", "state", "dateTime", "extra"},
		nexmark.KindAuction: {"type", "id", "itemName", "description", "initialBid", "reserve", "dateTime", "expires", "seller", "category", "extra"},
		nexmark.KindBid:     {"type", "auction", "bidder", "price", "channel", "url", "dateTime", "extra"},
	}
	for _, n := range []int{0, 1, 4} {
		ev := sample()[n]
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		if slices.Sort(keys); !slices.Equal(keys, slices.Sorted(slices.Values(want[ev.Kind]))) {
			t.Fatalf("%v fields %v, want %v", ev.Kind, keys, want[ev.Kind])
		}
		if m["type"] != ev.Kind.String() {
			t.Fatalf("type %v, want %v", m["type"], ev.Kind)
		}
		var got any
		switch ev.Kind {
		case nexmark.KindPerson:
			got = &nexmark.Person{}
		case nexmark.KindAuction:
			got = &nexmark.Auction{}
		case nexmark.KindBid:
			got = &nexmark.Bid{}
		}
		if err := json.Unmarshal(b, got); err != nil {
			t.Fatal(err)
		}
		inner := reflect.ValueOf(ev).FieldByName(map[nexmark.Kind]string{nexmark.KindPerson: "Person", nexmark.KindAuction: "Auction", nexmark.KindBid: "Bid"}[ev.Kind]).Interface()
		if !reflect.DeepEqual(got, inner) {
			t.Fatalf("decoded %+v, want %+v", got, inner)
		}
	}
	// Strings that need escaping are escaped.
	ev := nexmark.Event{Kind: nexmark.KindBid, Bid: &nexmark.Bid{Channel: "a\"b\\c\n<é>", DateTime: time.UnixMilli(1).UTC()}}
	var b nexmark.Bid
	if err := json.Unmarshal(ev.AppendJSON(nil), &b); err != nil || b.Channel != ev.Bid.Channel {
		t.Fatalf("channel %q came back as %q, %v", ev.Bid.Channel, b.Channel, err)
	}
}

func TestOptionErrors(t *testing.T) {
	_, err := nexmark.New(nexmark.EventsPerSecond(0), nexmark.HotRatios(0, 1, 1), nexmark.InFlightAuctions(0),
		nexmark.ActivePeople(-1), nexmark.AvgSizes(1, 1<<20, 1), nexmark.Start(time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)))
	if err == nil {
		t.Fatal("New accepted bad options")
	}
	for _, opt := range []string{"EventsPerSecond(0)", "HotRatios(0, 1, 1)", "InFlightAuctions(0)", "ActivePeople(-1)", "AvgSizes(1, 1048576, 1)", "Start(1960"} {
		if !strings.Contains(err.Error(), "nexmark: "+opt) {
			t.Errorf("error does not name %s:\n%v", opt, err)
		}
	}
}

func BenchmarkEvent(b *testing.B) {
	g, _ := nexmark.New()
	b.ReportAllocs()
	var n int64
	for b.Loop() {
		_ = g.Event(n)
		n++
	}
}
