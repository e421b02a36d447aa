package redis

import (
	"errors"
	"fmt"
	"time"

	"github.com/weirstream/weir/sink/async"
)

// DefaultDialTimeout bounds how long connecting to Redis may take.
const DefaultDialTimeout = 5 * time.Second

// DefaultMaxInFlightRequests is the sink's default for
// async.Options.MaxInFlightRequests: one request at a time per writer, so
// records reach Redis in the order they were written.
const DefaultMaxInFlightRequests = 1

// DefaultCacheTTL is how long a cached lookup answer is used without
// [CacheTTL].
const DefaultCacheTTL = time.Minute

// SinkOption configures [NewSink]: an [Option] or [AsyncOptions]. Each
// option's documentation states the default it overrides; when an option
// is given twice, the last one counts.
type SinkOption interface {
	applySink(*sinkConfig)
}

// LookupOption configures [NewLookup]: an [Option], [CacheSize] or
// [CacheTTL].
type LookupOption interface {
	applyLookup(*lookupConfig)
}

// Option configures the connections to Redis: [NewSink], [NewLookup] and
// [NewClient] take it.
type Option interface {
	SinkOption
	LookupOption
	applyConn(*connConfig)
}

// connConfig is what the options say about connections.
type connConfig struct {
	dialTimeout time.Duration
}

func defaultConnConfig() connConfig { return connConfig{dialTimeout: DefaultDialTimeout} }

func (c connConfig) validate(what string) error {
	if c.dialTimeout <= 0 {
		return fmt.Errorf("redis: %s: DialTimeout(%v): pass a positive duration, or leave DialTimeout out for %v", what, c.dialTimeout, DefaultDialTimeout)
	}
	return nil
}

type sinkConfig struct {
	conn  connConfig
	async async.Options[Entry]
}

type lookupConfig struct {
	conn      connConfig
	cacheSize int
	cacheTTL  time.Duration
	ttlSet    bool // CacheTTL given
}

// connOption is an Option.
type connOption func(*connConfig)

func (f connOption) applyConn(c *connConfig)     { f(c) }
func (f connOption) applySink(c *sinkConfig)     { f(&c.conn) }
func (f connOption) applyLookup(c *lookupConfig) { f(&c.conn) }

type sinkOption func(*sinkConfig)

func (f sinkOption) applySink(c *sinkConfig) { f(c) }

type lookupOption func(*lookupConfig)

func (f lookupOption) applyLookup(c *lookupConfig) { f(c) }

// DialTimeout bounds how long connecting to Redis may take. It must be
// positive. The default is [DefaultDialTimeout] (5s).
func DialTimeout(d time.Duration) Option {
	return connOption(func(c *connConfig) { c.dialTimeout = d })
}

// AsyncOptions tunes the AsyncSink base of a sink: batch size and bytes,
// time in buffer, requests in flight, the bound on records held, retries
// and backoff. By default, and for each zero field, the base's defaults
// apply (see async.Options), except:
//
//   - Name defaults to the endpoint's URL (password hidden);
//   - Size defaults to Entry.Size, so MaxBatchBytes counts;
//   - MaxInFlightRequests defaults to 1 ([DefaultMaxInFlightRequests]).
//
// With one request in flight, a batch is written only after the one
// before it, so a later result of a key (a window's final result after
// its early ones) lands after the earlier one, as a last-write-wins
// layout needs. A request is one pipelined round trip of up to
// MaxBatchSize records, which keeps a local Redis busy; raise
// MaxInFlightRequests when records never write the same key twice, or
// when Redis is far away. Note that a retried batch may still land after
// newer ones (see package sink/async).
func AsyncOptions(o async.Options[Entry]) SinkOption {
	return sinkOption(func(c *sinkConfig) { c.async = o })
}

// CacheSize makes a lookup keep up to n answers in memory; when the cache
// is full, the least recently used answer goes. Answers that a key is
// missing are cached too. n must not be negative. By default (and with 0)
// there is no cache: every call asks Redis.
func CacheSize(n int) LookupOption {
	return lookupOption(func(c *lookupConfig) { c.cacheSize = n })
}

// CacheTTL sets how long a cached answer is used before Redis is asked
// again: the most a lookup lags behind a change in Redis. It must be
// positive, and needs [CacheSize]. The default is [DefaultCacheTTL] (one
// minute).
func CacheTTL(d time.Duration) LookupOption {
	return lookupOption(func(c *lookupConfig) { c.cacheTTL, c.ttlSet = d, true })
}

// asyncOptions returns the base options with the sink's defaults applied.
func (c sinkConfig) asyncOptions(e Endpoint) async.Options[Entry] {
	o := c.async
	if o.Name == "" {
		o.Name = e.String()
	}
	if o.Size == nil {
		o.Size = Entry.Size
	}
	if o.MaxInFlightRequests == 0 {
		o.MaxInFlightRequests = DefaultMaxInFlightRequests
	}
	return o
}

// validate reports every problem with the lookup's options.
func (c lookupConfig) validate() error {
	errs := []error{c.conn.validate("lookup")}
	if c.cacheSize < 0 {
		errs = append(errs, fmt.Errorf("redis: lookup: CacheSize(%d): pass a positive number of entries, or leave CacheSize out for no cache", c.cacheSize))
	}
	if c.ttlSet {
		if c.cacheTTL <= 0 {
			errs = append(errs, fmt.Errorf("redis: lookup: CacheTTL(%v): pass a positive duration, or leave CacheTTL out for %v", c.cacheTTL, DefaultCacheTTL))
		}
		if c.cacheSize == 0 {
			errs = append(errs, errors.New("redis: lookup: CacheTTL is given without CacheSize: add CacheSize to cache answers, or leave CacheTTL out"))
		}
	}
	return errors.Join(errs...)
}
