package redis

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/rueidis"
)

// Lookup reads values from Redis, for enriching records (inside
// weir.AsyncWait, for example), with an optional bounded cache in front.
// It is safe for concurrent use. Concurrent calls for the same uncached
// key each ask Redis; their requests share connections (rueidis pipelines
// them).
type Lookup struct {
	client   rueidis.Client
	endpoint Endpoint
	now      func() time.Time // the clock of cache expiry; tests replace it

	mu    sync.Mutex
	cache *cache // nil without a cache
	stats LookupStats
}

// LookupStats counts what a Lookup did.
type LookupStats struct {
	// Hits counts calls answered from the cache.
	Hits int64
	// Misses counts calls answered by Redis: all calls without a cache.
	Misses int64
	// Evictions counts answers dropped from a full cache.
	Evictions int64
	// Entries is the number of answers in the cache now (at most the
	// CacheSize).
	Entries int
}

// NewLookup connects to the Redis server at e. It fails if the endpoint
// or an option is wrong, reporting every problem at once, or if Redis does
// not answer. Close the lookup when done.
func NewLookup(e Endpoint, opts ...LookupOption) (*Lookup, error) {
	c := lookupConfig{conn: defaultConnConfig(), cacheTTL: DefaultCacheTTL}
	for _, o := range opts {
		o.applyLookup(&c)
	}
	if err := errors.Join(e.validate("lookup"), c.validate()); err != nil {
		return nil, err
	}
	client, err := e.connect(c.conn, "lookup", false)
	if err != nil {
		return nil, err
	}
	l := &Lookup{client: client, endpoint: e, now: time.Now}
	if c.cacheSize > 0 {
		l.cache = newCache(c.cacheSize, c.cacheTTL)
	}
	return l, nil
}

// Get returns the string value of key (GET key); found is false when the
// key does not exist. It blocks until Redis answers or ctx ends, unless
// the cache has the answer. An error means Redis could not be asked or
// refused (for example, WRONGTYPE when key holds a hash).
func (l *Lookup) Get(ctx context.Context, key string) (value string, found bool, err error) {
	return l.lookup(ctx, key, "", func() rueidis.Completed {
		return l.client.B().Get().Key(key).Build()
	})
}

// HGet returns the value of field in the hash at key (HGET key field);
// found is false when the key or the field does not exist. It blocks and
// fails as Get does.
func (l *Lookup) HGet(ctx context.Context, key, field string) (value string, found bool, err error) {
	return l.lookup(ctx, key, field, func() rueidis.Completed {
		return l.client.B().Hget().Key(key).Field(field).Build()
	})
}

// lookup answers from the cache, or runs the command and caches the
// answer. The cache key keeps GET key and HGET key field apart.
func (l *Lookup) lookup(ctx context.Context, key, field string, cmd func() rueidis.Completed) (string, bool, error) {
	var ck string
	if l.cache != nil {
		ck = "g\x00" + key
		if field != "" {
			ck = "h\x00" + key + "\x00" + field
		}
		l.mu.Lock()
		v, found, ok := l.cache.get(ck, l.now())
		if ok {
			l.stats.Hits++
			l.mu.Unlock()
			return v, found, nil
		}
		l.mu.Unlock()
	}
	v, err := l.client.Do(ctx, cmd()).ToString()
	found := true
	if rueidis.IsRedisNil(err) {
		v, found, err = "", false, nil
	}
	if err != nil {
		what := "GET " + key
		if field != "" {
			what = "HGET " + key + " " + field
		}
		return "", false, fmt.Errorf("redis: lookup %s at %s: %w", what, l.endpoint, err)
	}
	l.mu.Lock()
	l.stats.Misses++
	if l.cache != nil {
		l.stats.Evictions += int64(l.cache.put(ck, v, found, l.now()))
	}
	l.mu.Unlock()
	return v, found, nil
}

// Stats returns what the lookup did so far.
func (l *Lookup) Stats() LookupStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.stats
	if l.cache != nil {
		s.Entries = l.cache.len()
	}
	return s
}

// Close closes the connections to Redis. Calls after Close fail.
func (l *Lookup) Close() { l.client.Close() }
