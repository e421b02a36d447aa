package table

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/weirstream/weir/sql/types"
)

// CachedLookup wraps fn in a cache configured by the table's options
// 'lookup.cache.max-rows' (how many keys it keeps; unset or 0: no cache)
// and 'lookup.cache.ttl' (how long an answer is used; unset: until
// evicted), as Flink's lookup cache. Answers with no rows are cached too,
// so a key that is missing is not asked for again and again.
func CachedLookup(o Options, fn LookupFunc) (LookupFunc, error) {
	max, err := o.Int("lookup.cache.max-rows", 0)
	if err != nil {
		return nil, err
	}
	if max < 0 {
		return nil, fmt.Errorf("table %s: option 'lookup.cache.max-rows' is %d: use 0 for no cache or a positive number of keys", o.Table(), max)
	}
	ttl, err := o.Duration("lookup.cache.ttl", 0)
	if err != nil {
		return nil, err
	}
	if max == 0 {
		return fn, nil
	}
	return NewCache(fn, int(max), ttl, time.Now).Lookup, nil
}

// Cache is a bounded LRU cache in front of a LookupFunc. It is safe for
// concurrent use. Two lookups of the same missing key at once may both
// ask fn; both answers are the same.
type Cache struct {
	fn  LookupFunc
	max int
	ttl time.Duration
	now func() time.Time

	mu struct {
		sync.Mutex
		entries map[string]*list.Element
		order   *list.List // front: most recently used
		hits    int64
		misses  int64
	}
}

type cacheEntry struct {
	key     string
	rows    []types.Row
	expires time.Time // zero: never
}

// NewCache returns a cache of at most max keys in front of fn, whose
// answers expire after ttl (0: never). now is the clock (time.Now).
func NewCache(fn LookupFunc, max int, ttl time.Duration, now func() time.Time) *Cache {
	c := &Cache{fn: fn, max: max, ttl: ttl, now: now}
	c.mu.entries = map[string]*list.Element{}
	c.mu.order = list.New()
	return c
}

// Lookup is the cached LookupFunc. Callers must not change the rows it
// returns: they are shared with the cache.
func (c *Cache) Lookup(ctx context.Context, keys []types.Value) ([]types.Row, error) {
	kb, _ := types.Row{Values: keys}.AppendBinary(nil)
	key := string(kb)
	now := c.now()
	c.mu.Lock()
	if el, ok := c.mu.entries[key]; ok {
		e := el.Value.(*cacheEntry)
		if e.expires.IsZero() || now.Before(e.expires) {
			c.mu.order.MoveToFront(el)
			c.mu.hits++
			c.mu.Unlock()
			return e.rows, nil
		}
		c.mu.order.Remove(el)
		delete(c.mu.entries, key)
	}
	c.mu.misses++
	c.mu.Unlock()

	rows, err := c.fn(ctx, keys)
	if err != nil {
		return nil, err
	}
	e := &cacheEntry{key: key, rows: rows}
	if c.ttl > 0 {
		e.expires = now.Add(c.ttl)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.mu.entries[key]; ok {
		c.mu.order.Remove(el)
	}
	c.mu.entries[key] = c.mu.order.PushFront(e)
	for c.mu.order.Len() > c.max {
		last := c.mu.order.Back()
		c.mu.order.Remove(last)
		delete(c.mu.entries, last.Value.(*cacheEntry).key)
	}
	return rows, nil
}

// Stats returns the cache's hits and misses so far, and how many keys it
// holds.
func (c *Cache) Stats() (hits, misses int64, size int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.hits, c.mu.misses, c.mu.order.Len()
}
