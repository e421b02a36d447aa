package redis

import (
	"container/list"
	"time"
)

// cache is a bounded LRU map whose entries expire ttl after they were put.
// It is not safe for concurrent use; Lookup guards it.
type cache struct {
	max   int
	ttl   time.Duration
	order *list.List // of *cacheEntry, most recently used first
	items map[string]*list.Element
}

type cacheEntry struct {
	key     string
	value   string
	found   bool
	expires time.Time
}

func newCache(max int, ttl time.Duration) *cache {
	return &cache{max: max, ttl: ttl, order: list.New(), items: make(map[string]*list.Element, max)}
}

// get returns the entry for key if it is there and has not expired at
// now; an expired entry is dropped.
func (c *cache) get(key string, now time.Time) (value string, found, ok bool) {
	el, ok := c.items[key]
	if !ok {
		return "", false, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.order.Remove(el)
		delete(c.items, key)
		return "", false, false
	}
	c.order.MoveToFront(el)
	return e.value, e.found, true
}

// put stores an answer for key, evicting the least recently used entry
// when the cache is full. It returns how many entries it evicted.
func (c *cache) put(key, value string, found bool, now time.Time) (evicted int) {
	if el, ok := c.items[key]; ok {
		e := el.Value.(*cacheEntry)
		e.value, e.found, e.expires = value, found, now.Add(c.ttl)
		c.order.MoveToFront(el)
		return 0
	}
	for c.order.Len() >= c.max {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
		evicted++
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key: key, value: value, found: found, expires: now.Add(c.ttl)})
	return evicted
}

// len is the number of entries, expired ones included until they are
// looked up or evicted.
func (c *cache) len() int { return c.order.Len() }
