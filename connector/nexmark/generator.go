package nexmark

import (
	"fmt"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"time"
)

// Constants of the specification that are not options.
const (
	personIDLead  = 10 // people a seller or bidder may be ahead of the last one generated
	auctionIDLead = 10 // auctions a bid may be ahead of the last one generated
	hotBatch      = 100
	numCategories = 5
	numChannels   = 10000
	minStringLen  = 3
)

var (
	usStates   = []string{"AZ", "CA", "ID", "OR", "WA", "WY"}
	usCities   = []string{"Phoenix", "Los Angeles", "San Francisco", "Boise", "Portland", "Bend", "Redmond", "Seattle", "Kent", "Cheyenne"}
	firstNames = []string{"Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter"}
	lastNames  = []string{"Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris"}
	hotChannel = []string{"Google", "Facebook", "Baidu", "Apple"}
)

// maxMillis is the last millisecond of the year 9999: event times stop
// advancing there.
var maxMillis = time.Date(9999, 12, 31, 23, 59, 59, 999e6, time.UTC).UnixMilli()

// Generator makes Nexmark events by event number. It is immutable and safe
// for concurrent use: event n depends on the configuration and n only, so
// parallel readers generate disjoint sets of event numbers and together
// produce exactly what one sequential run would.
type Generator struct {
	cfg      Config
	startMs  int64
	delayUs  float64 // microseconds between events
	capUs    float64 // the offset from start at which time stops advancing
	key      uint64  // the seed, mixed
	channels []string
	urls     []string // of channels
	hotURLs  []string // of hotChannel
	padding  string   // extra fields are cut from it
}

// New returns a generator configured by the options, or an error that
// lists every problem with them, each naming the option and the fix.
func New(opts ...Option) (*Generator, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.applyGen(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newGenerator(cfg), nil
}

// newGenerator returns the generator of a valid configuration.
func newGenerator(cfg Config) *Generator {
	cfg.Start = cfg.Start.Truncate(time.Millisecond).UTC()
	g := &Generator{
		cfg:     cfg,
		startMs: cfg.Start.UnixMilli(),
		delayUs: 1e6 / cfg.EventsPerSecond,
		key:     mix(uint64(cfg.Seed) + golden),
	}
	g.capUs = float64(maxMillis-g.startMs) * 1000
	// The channels' URLs and the padding come from streams of their own,
	// so that they are the same for every event number.
	r := rng{s: mix(g.key ^ 0x6368616e6e656c73)}
	g.hotURLs = make([]string, len(hotChannel))
	for i := range g.hotURLs {
		g.hotURLs[i] = r.baseURL()
	}
	g.channels = make([]string, numChannels)
	g.urls = make([]string, numChannels)
	for i := range numChannels {
		g.channels[i] = "channel-" + strconv.Itoa(i)
		u := r.baseURL()
		if r.intn(10) > 0 {
			u += "&channel_id=" + strconv.FormatInt(abs(int64(int32(bits.Reverse32(uint32(i))))), 10)
		}
		g.urls[i] = u
	}
	r = rng{s: mix(g.key ^ 0x70616464696e67)}
	pad := make([]byte, 4*maxSize)
	for i := range pad {
		pad[i] = byte('a' + r.intn(26))
	}
	g.padding = string(pad)
	return g
}

// Config returns the effective configuration, defaults included.
func (g *Generator) Config() Config { return g.cfg }

// Kind returns the kind of event n: of every 50 event numbers, one person,
// then three auctions, then 46 bids.
func (g *Generator) Kind(n int64) Kind {
	switch rem := n % TotalProportion; {
	case rem < PersonProportion:
		return KindPerson
	case rem < PersonProportion+AuctionProportion:
		return KindAuction
	}
	return KindBid
}

// TimestampMillis returns the event time of event n in Unix milliseconds:
// Start plus n inter-event delays of 1/EventsPerSecond seconds, truncated
// to the millisecond. It never decreases with n, and stops advancing at
// the end of the year 9999.
func (g *Generator) TimestampMillis(n int64) int64 {
	us := min(float64(n)*g.delayUs, g.capUs)
	return g.startMs + int64(us)/1000
}

// Event returns event n, which must not be negative; it panics otherwise,
// as an index out of range does.
func (g *Generator) Event(n int64) Event {
	if n < 0 {
		panic(fmt.Sprintf("nexmark: Generator.Event(%d): event numbers start at 0", n))
	}
	r := rng{s: mix(g.key ^ uint64(n))}
	ts := g.TimestampMillis(n)
	switch g.Kind(n) {
	case KindPerson:
		return Event{Kind: KindPerson, Person: g.person(n, &r, ts)}
	case KindAuction:
		return Event{Kind: KindAuction, Auction: g.auction(n, &r, ts)}
	}
	return Event{Kind: KindBid, Bid: g.bid(n, &r, ts)}
}

func (g *Generator) person(n int64, r *rng, ts int64) *Person {
	name := firstNames[r.intn(len(firstNames))] + " " + lastNames[r.intn(len(lastNames))]
	email := r.str(7, ' ') + "@" + r.str(5, ' ') + ".com"
	var cc strings.Builder
	cc.Grow(19)
	for i := range 4 {
		if i > 0 {
			cc.WriteByte(' ')
		}
		cc.WriteString(strconv.Itoa(10000 + r.intn(10000))[1:]) // 4 digits, zero padded
	}
	p := &Person{
		ID:           lastPerson(n) + FirstPersonID,
		Name:         name,
		EmailAddress: email,
		CreditCard:   cc.String(),
		City:         usCities[r.intn(len(usCities))],
		State:        usStates[r.intn(len(usStates))],
		DateTime:     time.UnixMilli(ts).UTC(),
	}
	size := 8 + len(p.Name) + len(p.EmailAddress) + len(p.CreditCard) + len(p.City) + len(p.State)
	p.Extra = g.extra(r, size, g.cfg.AvgPersonSize)
	return p
}

func (g *Generator) auction(n int64, r *rng, ts int64) *Auction {
	var seller int64
	if r.intn(g.cfg.HotSellersRatio) > 0 {
		seller = lastPerson(n) / hotBatch * hotBatch // the first of the latest batch of people
	} else {
		seller = g.somePerson(n, r)
	}
	a := &Auction{
		ID:       lastAuction(n) + FirstAuctionID,
		Seller:   seller + FirstPersonID,
		Category: FirstCategoryID + int64(r.intn(numCategories)),
		DateTime: time.UnixMilli(ts).UTC(),
	}
	a.InitialBid = price(r)
	a.Expires = time.UnixMilli(ts + g.auctionLength(n, r, ts)).UTC()
	a.ItemName = r.str(20, ' ')
	a.Description = r.str(100, ' ')
	a.Reserve = a.InitialBid + price(r)
	a.Extra = g.extra(r, 8+len(a.ItemName)+len(a.Description)+5*8, g.cfg.AvgAuctionSize)
	return a
}

func (g *Generator) bid(n int64, r *rng, ts int64) *Bid {
	var auction, bidder int64
	if r.intn(g.cfg.HotAuctionRatio) > 0 {
		auction = lastAuction(n) / hotBatch * hotBatch // the first of the latest batch of auctions
	} else {
		auction = g.someAuction(n, r)
	}
	if r.intn(g.cfg.HotBiddersRatio) > 0 {
		// The second of the latest batch of people, so that hot bidders
		// are not hot sellers.
		bidder = lastPerson(n)/hotBatch*hotBatch + 1
	} else {
		bidder = g.somePerson(n, r)
	}
	b := &Bid{
		Auction:  auction + FirstAuctionID,
		Bidder:   bidder + FirstPersonID,
		Price:    price(r),
		DateTime: time.UnixMilli(ts).UTC(),
	}
	if r.intn(2) > 0 {
		i := r.intn(len(hotChannel))
		b.Channel, b.URL = hotChannel[i], g.hotURLs[i]
	} else {
		i := r.intn(numChannels)
		b.Channel, b.URL = g.channels[i], g.urls[i]
	}
	b.Extra = g.extra(r, 4*8, g.cfg.AvgBidSize)
	return b
}

// lastPerson returns the base-0 id of the last person generated at or
// before event n.
func lastPerson(n int64) int64 {
	epoch, offset := n/TotalProportion, n%TotalProportion
	if offset >= PersonProportion {
		offset = PersonProportion - 1
	}
	return epoch*PersonProportion + offset
}

// lastAuction returns the base-0 id of the last auction generated at or
// before event n; -1 before the first.
func lastAuction(n int64) int64 {
	epoch, offset := n/TotalProportion, n%TotalProportion
	switch {
	case offset < PersonProportion:
		epoch--
		offset = AuctionProportion - 1
	case offset >= PersonProportion+AuctionProportion:
		offset = AuctionProportion - 1
	default:
		offset -= PersonProportion
	}
	return epoch*AuctionProportion + offset
}

// somePerson returns the base-0 id of one of the active people at event n,
// or of one of the few people who come next (so that a new person and
// their first auction or bid may appear swapped in time, as in
// nexmark/nexmark).
func (g *Generator) somePerson(n int64, r *rng) int64 {
	people := lastPerson(n) + 1
	active := min(people, int64(g.cfg.ActivePeople))
	return people - active + int64(r.uint64n(uint64(active+personIDLead)))
}

// someAuction returns the base-0 id of one of the auctions likely still
// open at event n, or of one of the few that come next.
func (g *Generator) someAuction(n int64, r *rng) int64 {
	last := lastAuction(n)
	first := max(last-int64(g.cfg.InFlightAuctions), 0)
	return first + int64(r.uint64n(uint64(last-first+1+auctionIDLead)))
}

// auctionLength returns how long the auction of event n at ts lasts: on
// average as long as it takes to generate InFlightAuctions more auctions.
func (g *Generator) auctionLength(n int64, r *rng, ts int64) int64 {
	events := int64(g.cfg.InFlightAuctions) * TotalProportion / AuctionProportion
	horizon := g.TimestampMillis(n+events) - ts
	return 1 + int64(r.uint64n(uint64(max(2*horizon, 1))))
}

// extra returns the padding that brings an event of size to about avg
// bytes: avg-size ±20%, or nothing when the event is already that big.
func (g *Generator) extra(r *rng, size, avg int) string {
	if size > avg {
		return ""
	}
	avg -= size
	delta := (2*avg + 5) / 10 // avg*0.2, rounded
	length := avg - delta
	if delta > 0 {
		length += r.intn(2 * delta)
	}
	off := r.intn(len(g.padding) - length)
	return g.padding[off : off+length]
}

// price returns a price in cents, log-uniform from $1 to $1,000,000.
func price(r *rng) int64 {
	return int64(math.Round(exp10(r.float64()*6) * 100))
}

// exp10 returns 10**x for x in [0, 6) the same way on every machine:
// math.Pow may differ in the last bit between architectures, and the
// explicit conversions keep the compiler from fusing multiply-adds.
func exp10(x float64) float64 {
	e := math.Floor(x)
	z := float64(float64(x-e)*math.Ln10) * 0.25
	sum, term := 1.0, 1.0
	for i := 1; i < 30 && term > 1e-18; i++ {
		term = float64(float64(term*z) / float64(i))
		sum = float64(sum + term)
	}
	sum = float64(sum * sum)
	sum = float64(sum * sum)
	return float64(sum * pow10[int(e)])
}

var pow10 = [...]float64{1, 10, 100, 1e3, 1e4, 1e5, 1e6}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// golden is the increment of SplitMix64.
const golden = 0x9e3779b97f4a7c15

// mix is SplitMix64's finaliser, a bijection that scatters bits.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// rng is SplitMix64 (the generator behind Java's SplittableRandom, which
// nexmark/nexmark uses), seeded per event from the seed and the event
// number: a few instructions to start, so any event can be generated on
// its own.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += golden
	return mix(r.s)
}

// uint64n returns a uniform number in [0, n), n > 0 (Lemire's method).
func (r *rng) uint64n(n uint64) uint64 {
	hi, lo := bits.Mul64(r.next(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(r.next(), n)
		}
	}
	return hi
}

// intn returns a uniform number in [0, n), n > 0.
func (r *rng) intn(n int) int { return int(r.uint64n(uint64(n))) }

// float64 returns a uniform number in [0, 1).
func (r *rng) float64() float64 { return float64(r.next()>>11) / (1 << 53) }

// str returns a string of 3 to maxLen-1 lower-case letters, about one in
// 13 of them special instead, without leading or trailing spaces.
func (r *rng) str(maxLen int, special byte) string {
	n := minStringLen + r.intn(maxLen-minStringLen)
	b := make([]byte, n)
	for i := range b {
		if r.intn(13) == 0 {
			b[i] = special
		} else {
			b[i] = byte('a' + r.intn(26))
		}
	}
	return strings.TrimSpace(string(b))
}

// baseURL returns a URL of the shape nexmark/nexmark gives its channels.
func (r *rng) baseURL() string {
	return "https://www.nexmark.com/" + r.str(5, '_') + "/" + r.str(5, '_') + "/" + r.str(5, '_') + "/item.htm?query=1"
}
