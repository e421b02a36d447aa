package datagen

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults of the generator's options.
const (
	DefaultSeed            = 1
	DefaultEventsPerSecond = 1000
	DefaultPages           = 1000
	DefaultClients         = 100000
	DefaultZipfS           = 1.1
	DefaultOutOfOrderness  = 5 * time.Second
	DefaultBadLineRatio    = 0.001
)

// DefaultStartUnix is the event time of the first line without [Start]:
// 2026-11-24T07:40:00Z.
const DefaultStartUnix = 1795506000

// MaxClients is the most distinct clients: each is an address in 10.0.0.0/8.
const MaxClients = 1 << 24

// Config is the configuration of a generator, defaults included, as
// [Generator.Config] and [Source.Config] report it. The options set it.
type Config struct {
	// Seed selects the sequence ([Seed]).
	Seed int64
	// Start is the event time of the first line, whole seconds ([Start]).
	Start time.Time
	// EventsPerSecond is the lines per second of event time
	// ([EventsPerSecond]).
	EventsPerSecond float64
	// Pages is the number of distinct pages ([Pages]).
	Pages int
	// Clients is the number of distinct client addresses ([Clients]).
	Clients int
	// ZipfS is the Zipf skew of pages and clients ([ZipfS]).
	ZipfS float64
	// OutOfOrderness bounds how late a line may be; zero: in order
	// ([OutOfOrderness]).
	OutOfOrderness time.Duration
	// BadLineRatio is the share of malformed lines ([BadLineRatio]).
	BadLineRatio float64
}

// defaultConfig is the configuration without options.
func defaultConfig() Config {
	return Config{
		Seed:            DefaultSeed,
		Start:           time.Unix(DefaultStartUnix, 0).UTC(),
		EventsPerSecond: DefaultEventsPerSecond,
		Pages:           DefaultPages,
		Clients:         DefaultClients,
		ZipfS:           DefaultZipfS,
		OutOfOrderness:  DefaultOutOfOrderness,
		BadLineRatio:    DefaultBadLineRatio,
	}
}

// Option configures a generator: [New] and [NewSource] take it. Each
// option's documentation states the default it overrides; when an option
// is given twice, the last one counts.
type Option interface {
	SourceOption
	applyGen(*Config)
}

// SourceOption configures [NewSource]: an [Option], [Rate] or [Limit].
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
// make the same lines. Any number will do. The default is 1.
func Seed(n int64) Option {
	return genOption(func(c *Config) { c.Seed = n })
}

// Start sets the event time of the first line, truncated to the second
// because log timestamps have second resolution; its year must be between
// 1 and 9998. The default is 2026-11-24T07:40:00Z ([DefaultStartUnix]).
func Start(t time.Time) Option {
	return genOption(func(c *Config) { c.Start = t })
}

// EventsPerSecond sets the event-time density: lines per second of event
// time. It must be positive. Times stop advancing at the end of 9999-12-30
// UTC. The default is 1000.
func EventsPerSecond(n float64) Option {
	return genOption(func(c *Config) { c.EventsPerSecond = n })
}

// Pages sets the number of distinct pages, with Zipf-skewed popularity. It
// must be positive. The default is 1000.
func Pages(n int) Option {
	return genOption(func(c *Config) { c.Pages = n })
}

// Clients sets the number of distinct client addresses, with Zipf-skewed
// activity: 1 to [MaxClients]. The default is 100000.
func Clients(n int) Option {
	return genOption(func(c *Config) { c.Clients = n })
}

// ZipfS sets the Zipf skew of pages and clients, a finite number greater
// than 1. The default is 1.1.
func ZipfS(s float64) Option {
	return genOption(func(c *Config) { c.ZipfS = s })
}

// OutOfOrderness bounds how late a line may be: every line's time is at
// least the greatest time so far minus d. Only whole seconds count, since
// timestamps have second resolution, and no line is earlier than Start.
// Zero makes timestamps non-decreasing; d must not be negative. The
// default is 5s.
func OutOfOrderness(d time.Duration) Option {
	return genOption(func(c *Config) { c.OutOfOrderness = d })
}

// BadLineRatio sets the share of malformed lines, in [0, 1]; zero makes
// every line a good one. The default is 0.001.
func BadLineRatio(r float64) Option {
	return genOption(func(c *Config) { c.BadLineRatio = r })
}

// validate reports every problem with c, each naming the option and the
// fix, joined into one error.
func (c Config) validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("datagen: "+format, args...))
	}
	if y := c.Start.Year(); c.Start.IsZero() || y < 1 || y > 9998 {
		add("Start(%v): pass a time in the years 1 to 9998, which a log line can carry, or leave Start out for %v", c.Start, time.Unix(DefaultStartUnix, 0).UTC())
	}
	if e := c.EventsPerSecond; math.IsNaN(e) || math.IsInf(e, 0) || e <= 0 {
		add("EventsPerSecond(%v): pass a positive number, or leave EventsPerSecond out for %d", e, DefaultEventsPerSecond)
	}
	if c.Pages <= 0 {
		add("Pages(%d): pass a positive number, or leave Pages out for %d", c.Pages, DefaultPages)
	}
	if c.Clients <= 0 || c.Clients > MaxClients {
		add("Clients(%d): pass 1 to %d, or leave Clients out for %d", c.Clients, MaxClients, DefaultClients)
	}
	if s := c.ZipfS; !(s > 1 && !math.IsInf(s, 0)) {
		add("ZipfS(%v): pass a finite number greater than 1, or leave ZipfS out for %v", s, DefaultZipfS)
	}
	if c.OutOfOrderness < 0 {
		add("OutOfOrderness(%v): pass a positive duration, zero for lines in order, or leave OutOfOrderness out for %v", c.OutOfOrderness, DefaultOutOfOrderness)
	}
	if r := c.BadLineRatio; math.IsNaN(r) || r < 0 || r > 1 {
		add("BadLineRatio(%v): pass a share in [0, 1], zero for no bad lines, or leave BadLineRatio out for %v", r, DefaultBadLineRatio)
	}
	return errors.Join(errs...)
}
