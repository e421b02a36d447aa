package exec

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/types"
)

// LookupFunc finds the rows of a lookup table whose key columns equal key
// (in LookupJoinSpec.Keys order). It is called from many goroutines at
// once and must return soon after ctx is done. No row is not an error.
type LookupFunc func(ctx context.Context, key []types.Value) ([]types.Row, error)

// LookupCache configures the cache in front of a LookupFunc. The zero
// value caches nothing.
type LookupCache struct {
	// MaxRows bounds the cached rows (a key that found nothing counts as
	// one); the least recently used keys leave first. 0: no cache.
	MaxRows int
	// TTL is how long a cached result is used after it was looked up.
	// 0: until it is evicted.
	TTL time.Duration
}

// LookupJoinSpec is a lookup join: L JOIN D FOR SYSTEM_TIME AS OF
// L.proctime ON L.k = D.k …, D a table a LookupFunc serves.
type LookupJoinSpec struct {
	// Type is Inner or Left: a left row without a match leaves with NULLs
	// for the looked-up columns.
	Type JoinType
	// Keys are the left columns whose values are looked up. A row with a
	// NULL key matches nothing and is not looked up.
	Keys []int
	// LeftWidth and RightWidth are the number of columns of the input row
	// and of a looked-up row.
	LeftWidth, RightWidth int
	Lookup                LookupFunc
	Cache                 LookupCache
	// Async configures the calls: Unordered, Capacity, Timeout and Retry,
	// as weir.AsyncWait takes them (the zero value: ordered, the default
	// capacity, no timeout, one attempt).
	Async weir.AsyncOptions[types.Row, []types.Row]
}

// LookupStats counts a lookup join's cache use over all its subtasks.
type LookupStats struct {
	// Hits are rows served from the cache, Misses rows that called the
	// LookupFunc.
	Hits, Misses Counter
}

// LookupJoin joins each input row with the rows spec.Lookup finds for its
// key, through weir.AsyncWait (many lookups in flight, in-flight rows in
// checkpoints and re-issued on restore) behind an LRU cache shared by the
// operator's subtasks in this process. Each match leaves as one insert row,
// the input columns then the looked-up ones, with the input's event time.
// The input must be insert-only; so is the output. The operators are named
// and identified uid (the lookups) and uid+"/rows".
func LookupJoin(s weir.Stream[types.Row], spec LookupJoinSpec, uid string) (weir.Stream[types.Row], *LookupStats, error) {
	if spec.Lookup == nil {
		return weir.Stream[types.Row]{}, nil, fmt.Errorf("exec: lookup join: no lookup function: the table's connector must serve lookups")
	}
	if spec.Type != Inner && spec.Type != Left {
		return weir.Stream[types.Row]{}, nil, fmt.Errorf("exec: lookup join: %v JOIN is not supported: use INNER or LEFT", spec.Type)
	}
	if len(spec.Keys) == 0 {
		return weir.Stream[types.Row]{}, nil, fmt.Errorf("exec: lookup join: no key: the ON clause must equate columns of the lookup table's key")
	}
	if err := checkCols("lookup join", "key", spec.Keys, spec.LeftWidth); err != nil {
		return weir.Stream[types.Row]{}, nil, err
	}
	if spec.Cache.MaxRows < 0 || spec.Cache.TTL < 0 {
		return weir.Stream[types.Row]{}, nil, fmt.Errorf("exec: lookup join: cache MaxRows %d and TTL %v must not be negative: use 0 for no cache or no expiry", spec.Cache.MaxRows, spec.Cache.TTL)
	}
	stats := &LookupStats{}
	c := newLRU(spec.Cache, time.Now)
	keys := append([]int(nil), spec.Keys...)
	lw, rw, inner, lookup := spec.LeftWidth, spec.RightWidth, spec.Type == Inner, spec.Lookup
	joined := weir.AsyncWait(s, func(ctx context.Context, r types.Row) ([]types.Row, error) {
		var found []types.Row
		if !hasNull(r, keys) {
			k := KeyOf(r, keys)
			var ok bool
			if found, ok = c.get(k); ok {
				stats.Hits.n.Add(1)
			} else {
				stats.Misses.n.Add(1)
				vals := make([]types.Value, len(keys))
				for i, col := range keys {
					vals[i] = r.Values[col]
				}
				var err error
				if found, err = lookup(ctx, vals); err != nil {
					return nil, fmt.Errorf("exec: lookup join: %w", err)
				}
				c.put(k, found)
			}
		}
		if len(found) == 0 {
			if inner {
				return nil, nil
			}
			return []types.Row{concat(r, types.Row{}, lw, rw)}, nil
		}
		out := make([]types.Row, len(found))
		for i, d := range found {
			out[i] = concat(r, d, lw, rw)
		}
		return out, nil
	}, spec.Async, weir.Name(uid), weir.UID(uid))
	return weir.FlatMap(joined, func(rs []types.Row, out weir.Emitter[types.Row]) {
		for _, r := range rs {
			out.Emit(r)
		}
	}, weir.Name(uid+"/rows"), weir.UID(uid+"/rows")), stats, nil
}

// lru is a cache of lookup results, bounded by rows, safe for concurrent
// use.
type lru struct {
	mu      sync.Mutex
	max     int
	ttl     time.Duration
	now     func() time.Time
	rows    int
	order   *list.List // front: most recently used *entry
	entries map[Key]*list.Element
}

type entry struct {
	key     Key
	rows    []types.Row
	expires time.Time
}

func newLRU(c LookupCache, now func() time.Time) *lru {
	return &lru{max: c.MaxRows, ttl: c.TTL, now: now, order: list.New(), entries: map[Key]*list.Element{}}
}

func weight(rows []types.Row) int { return max(len(rows), 1) }

func (c *lru) get(k Key) ([]types.Row, bool) {
	if c.max == 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil, false
	}
	e := el.Value.(*entry)
	if c.ttl > 0 && !c.now().Before(e.expires) {
		c.remove(el)
		return nil, false
	}
	c.order.MoveToFront(el)
	return e.rows, true
}

func (c *lru) put(k Key, rows []types.Row) {
	if c.max == 0 || weight(rows) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.remove(el)
	}
	e := &entry{key: k, rows: rows}
	if c.ttl > 0 {
		e.expires = c.now().Add(c.ttl)
	}
	c.entries[k] = c.order.PushFront(e)
	c.rows += weight(rows)
	for c.rows > c.max {
		c.remove(c.order.Back())
	}
}

func (c *lru) remove(el *list.Element) {
	e := el.Value.(*entry)
	c.order.Remove(el)
	delete(c.entries, e.key)
	c.rows -= weight(e.rows)
}
