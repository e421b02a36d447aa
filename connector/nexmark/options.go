package nexmark

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// The proportions of the kinds of events: in every 50 consecutive event
// numbers, the first is a person, the next 3 are auctions and the last 46
// are bids.
const (
	PersonProportion  = 1
	AuctionProportion = 3
	BidProportion     = 46
	TotalProportion   = PersonProportion + AuctionProportion + BidProportion
)

// The first ids, as in nexmark/nexmark: they start above zero so that
// queries find matches even on small inputs.
const (
	FirstPersonID   = 1000
	FirstAuctionID  = 1000
	FirstCategoryID = 10
)

// Defaults of the generator's options; they are nexmark/nexmark's.
const (
	DefaultSeed             = 1
	DefaultEventsPerSecond  = 10000
	DefaultHotAuctionRatio  = 2
	DefaultHotSellersRatio  = 4
	DefaultHotBiddersRatio  = 4
	DefaultInFlightAuctions = 100
	DefaultActivePeople     = 1000
	DefaultAvgPersonSize    = 200
	DefaultAvgAuctionSize   = 500
	DefaultAvgBidSize       = 100
)

// DefaultStartUnixMilli is the time of event 0 without [Start]:
// 2026-11-24T07:40:00Z.
const DefaultStartUnixMilli = 1795506000_000

// maxSize bounds the average sizes: the padding of an event is cut from a
// shared string of this length.
const maxSize = 64 << 10

// Config is the configuration of a generator, defaults included, as
// [Generator.Config] and [Source.Config] report it. The options set it.
type Config struct {
	// Seed selects the sequence ([Seed]).
	Seed int64
	// Start is the time of event 0, whole milliseconds ([Start]).
	Start time.Time
	// EventsPerSecond is the number of events per second of event time
	// ([EventsPerSecond]).
	EventsPerSecond float64
	// HotAuctionRatio, HotSellersRatio and HotBiddersRatio set how often a
	// bid goes to a hot auction, an auction to a hot seller and a bid
	// comes from a hot bidder ([HotRatios]).
	HotAuctionRatio, HotSellersRatio, HotBiddersRatio int
	// InFlightAuctions is the number of auctions open at a time
	// ([InFlightAuctions]).
	InFlightAuctions int
	// ActivePeople is the number of people who sell and bid
	// ([ActivePeople]).
	ActivePeople int
	// AvgPersonSize, AvgAuctionSize and AvgBidSize are the average sizes
	// of the events in bytes, which the extra field pads to ([AvgSizes]).
	AvgPersonSize, AvgAuctionSize, AvgBidSize int
}

// defaultConfig is the configuration without options.
func defaultConfig() Config {
	return Config{
		Seed:             DefaultSeed,
		Start:            time.UnixMilli(DefaultStartUnixMilli).UTC(),
		EventsPerSecond:  DefaultEventsPerSecond,
		HotAuctionRatio:  DefaultHotAuctionRatio,
		HotSellersRatio:  DefaultHotSellersRatio,
		HotBiddersRatio:  DefaultHotBiddersRatio,
		InFlightAuctions: DefaultInFlightAuctions,
		ActivePeople:     DefaultActivePeople,
		AvgPersonSize:    DefaultAvgPersonSize,
		AvgAuctionSize:   DefaultAvgAuctionSize,
		AvgBidSize:       DefaultAvgBidSize,
	}
}

// Option configures a generator: [New] and [NewSource] take it. Each
// option's documentation states the default it overrides; when an option
// is given twice, the last one counts.
type Option interface {
	SourceOption
	applyGen(*Config)
}

// SourceOption configures [NewSource]: an [Option], [Events] or [Splits].
type SourceOption interface {
	applySource(*sourceConfig)
}

// genOption is an Option.
type genOption func(*Config)

func (f genOption) applyGen(c *Config)          { f(c) }
func (f genOption) applySource(c *sourceConfig) { f(&c.gen) }

// sourceOption is a SourceOption that only a source takes.
type sourceOption func(*sourceConfig)

func (f sourceOption) applySource(c *sourceConfig) { f(c) }

// Seed selects the sequence: generators with the same options and seed
// make the same events, on any machine. Any number will do. The default
// is 1.
func Seed(n int64) Option {
	return genOption(func(c *Config) { c.Seed = n })
}

// Start sets the time of event 0, truncated to the millisecond; its year
// must be between 1970 and 9999. The default is 2026-11-24T07:40:00Z
// ([DefaultStartUnixMilli]); nexmark/nexmark starts at the wall-clock time
// of its start, which no two runs share.
func Start(t time.Time) Option {
	return genOption(func(c *Config) { c.Start = t })
}

// EventsPerSecond sets the rate of event time: event n is at Start plus n
// times the inter-event delay of 1/EventsPerSecond seconds, truncated to
// the millisecond. It must be positive and at most 1e9. The default is
// 10000, nexmark/nexmark's.
func EventsPerSecond(r float64) Option {
	return genOption(func(c *Config) { c.EventsPerSecond = r })
}

// HotRatios sets how skewed bids and auctions are: a bid goes to a hot
// auction with probability 1-1/auction, a new auction is by a hot seller
// with probability 1-1/sellers, and a bid is by a hot bidder with
// probability 1-1/bidders. Each must be at least 1 (1: nothing is hot).
// The defaults are 2, 4 and 4.
func HotRatios(auction, sellers, bidders int) Option {
	return genOption(func(c *Config) {
		c.HotAuctionRatio, c.HotSellersRatio, c.HotBiddersRatio = auction, sellers, bidders
	})
}

// InFlightAuctions sets how many auctions are open at a time on average:
// a bid that is not for a hot auction goes to one of the last n auctions,
// and an auction lasts on average as long as n new auctions take. It must
// be positive. The default is 100.
func InFlightAuctions(n int) Option {
	return genOption(func(c *Config) { c.InFlightAuctions = n })
}

// ActivePeople sets how many of the latest people sell and bid when the
// seller or bidder is not a hot one. It must be positive. The default is
// 1000.
func ActivePeople(n int) Option {
	return genOption(func(c *Config) { c.ActivePeople = n })
}

// AvgSizes sets the average sizes of a person, an auction and a bid in
// bytes, which the extra field pads each event to (±20%), as in
// nexmark/nexmark. Each must be between 0 and 65536; 0 leaves extra empty.
// The defaults are 200, 500 and 100.
func AvgSizes(person, auction, bid int) Option {
	return genOption(func(c *Config) {
		c.AvgPersonSize, c.AvgAuctionSize, c.AvgBidSize = person, auction, bid
	})
}

// validate reports every problem with c, each naming the option and the
// fix, joined into one error.
func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("nexmark: "+format, args...))
	}
	if y := c.Start.Year(); y < 1970 || y > 9999 {
		add("Start(%v): pass a time in the years 1970 to 9999, or leave Start out for %v", c.Start, time.UnixMilli(DefaultStartUnixMilli).UTC())
	}
	if r := c.EventsPerSecond; math.IsNaN(r) || r <= 0 || r > 1e9 {
		add("EventsPerSecond(%v): pass a positive number of events per second up to 1e9, or leave EventsPerSecond out for %d", r, DefaultEventsPerSecond)
	}
	if c.HotAuctionRatio < 1 || c.HotSellersRatio < 1 || c.HotBiddersRatio < 1 {
		add("HotRatios(%d, %d, %d): pass ratios of at least 1 (1: nothing is hot), or leave HotRatios out for %d, %d, %d",
			c.HotAuctionRatio, c.HotSellersRatio, c.HotBiddersRatio, DefaultHotAuctionRatio, DefaultHotSellersRatio, DefaultHotBiddersRatio)
	}
	if c.InFlightAuctions < 1 {
		add("InFlightAuctions(%d): pass a positive number, or leave InFlightAuctions out for %d", c.InFlightAuctions, DefaultInFlightAuctions)
	}
	if c.ActivePeople < 1 {
		add("ActivePeople(%d): pass a positive number, or leave ActivePeople out for %d", c.ActivePeople, DefaultActivePeople)
	}
	for _, s := range []int{c.AvgPersonSize, c.AvgAuctionSize, c.AvgBidSize} {
		if s < 0 || s > maxSize {
			add("AvgSizes(%d, %d, %d): pass sizes from 0 to %d bytes, or leave AvgSizes out for %d, %d, %d",
				c.AvgPersonSize, c.AvgAuctionSize, c.AvgBidSize, maxSize, DefaultAvgPersonSize, DefaultAvgAuctionSize, DefaultAvgBidSize)
			break
		}
	}
	return errors.Join(errs...)
}
