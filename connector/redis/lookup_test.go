package redis

import (
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/weirstream/weir/internal/redistest"
)

// fakeClock is the cache's clock in tests: time moves only when the test
// says.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newLookup(t *testing.T, srv *redistest.Server, opts ...LookupOption) (*Lookup, *fakeClock) {
	t.Helper()
	l, err := NewLookup(endpointOf(t, srv), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(l.Close)
	clock := &fakeClock{now: time.Unix(1795506000, 0)}
	l.now = clock.Now
	return l, clock
}

func do(t *testing.T, c rueidis.Client, args ...string) {
	t.Helper()
	if err := c.Do(t.Context(), c.B().Arbitrary(args...).Build()).Error(); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

type answer struct {
	value string
	found bool
}

func get(t *testing.T, l *Lookup, key string) answer {
	t.Helper()
	v, found, err := l.Get(t.Context(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return answer{v, found}
}

func TestLookupWithoutCacheAsksRedisEveryTime(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	do(t, c, "SET", "page:/home", "landing")
	do(t, c, "HSET", "pages", "/cart", "shop")
	l, _ := newLookup(t, srv)

	if got := get(t, l, "page:/home"); got != (answer{"landing", true}) {
		t.Errorf("Get page:/home = %+v", got)
	}
	if got := get(t, l, "page:/nowhere"); got != (answer{"", false}) {
		t.Errorf("Get of a missing key = %+v, want not found", got)
	}
	do(t, c, "SET", "page:/home", "home")
	if got := get(t, l, "page:/home"); got != (answer{"home", true}) {
		t.Errorf("Get page:/home after a change = %+v, want the new value", got)
	}
	for field, want := range map[string]answer{"/cart": {"shop", true}, "/none": {"", false}} {
		v, found, err := l.HGet(t.Context(), "pages", field)
		if err != nil || (answer{v, found}) != want {
			t.Errorf("HGet pages %s = %q, %v, %v; want %+v", field, v, found, err, want)
		}
	}
	if v, found, err := l.HGet(t.Context(), "no-hash", "f"); err != nil || found || v != "" {
		t.Errorf("HGet of a missing key = %q, %v, %v; want not found", v, found, err)
	}
	if s := l.Stats(); s != (LookupStats{Misses: 6}) {
		t.Errorf("Stats = %+v, want 6 misses and nothing else", s)
	}
}

func TestLookupCacheHitsMissesAndBound(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	for _, k := range []string{"a", "b", "c"} {
		do(t, c, "SET", k, k+"1")
	}
	do(t, c, "HSET", "h", "a", "field a")
	l, _ := newLookup(t, srv, CacheSize(2))

	get(t, l, "a") // miss
	do(t, c, "SET", "a", "a2")
	if got := get(t, l, "a"); got != (answer{"a1", true}) {
		t.Fatalf("second Get a = %+v, want the cached a1", got)
	}
	get(t, l, "b") // miss: the cache is full
	get(t, l, "a") // hit: a is now the most recently used
	get(t, l, "c") // miss: evicts b, the least recently used
	if s := l.Stats(); s != (LookupStats{Hits: 2, Misses: 3, Evictions: 1, Entries: 2}) {
		t.Fatalf("Stats = %+v, want 2 hits, 3 misses, 1 eviction, 2 entries", s)
	}
	do(t, c, "SET", "b", "b2")
	if got := get(t, l, "b"); got != (answer{"b2", true}) {
		t.Fatalf("Get b after its eviction = %+v, want b2 from Redis", got)
	}
	if got := get(t, l, "a"); got != (answer{"a2", true}) {
		t.Fatalf("Get a = %+v, want a2: a was evicted by b, the cache holds 2 entries", got)
	}
	// GET a and HGET h a are different questions.
	if v, found, err := l.HGet(t.Context(), "h", "a"); err != nil || !found || v != "field a" {
		t.Fatalf("HGet h a = %q, %v, %v; want the field's value, not key a's", v, found, err)
	}
	if s := l.Stats(); s.Entries != 2 || s.Hits != 2 || s.Misses != 6 {
		t.Fatalf("Stats = %+v, want 2 entries, 2 hits, 6 misses", s)
	}
}

func TestLookupCacheExpires(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	do(t, c, "SET", "a", "old")
	l, clock := newLookup(t, srv, CacheSize(10), CacheTTL(time.Minute))

	get(t, l, "a")
	get(t, l, "missing") // answers that a key is missing are cached too
	do(t, c, "SET", "a", "new")
	do(t, c, "SET", "missing", "here now")
	clock.Advance(time.Minute - time.Nanosecond)
	if got := get(t, l, "a"); got != (answer{"old", true}) {
		t.Fatalf("Get a just before the TTL = %+v, want the cached old", got)
	}
	if got := get(t, l, "missing"); got.found {
		t.Fatalf("Get missing just before the TTL = %+v, want the cached not found", got)
	}
	clock.Advance(time.Nanosecond)
	if got := get(t, l, "a"); got != (answer{"new", true}) {
		t.Fatalf("Get a at the TTL = %+v, want new from Redis", got)
	}
	if got := get(t, l, "missing"); got != (answer{"here now", true}) {
		t.Fatalf("Get missing at the TTL = %+v, want the value now in Redis", got)
	}
	if s := l.Stats(); s.Hits != 2 || s.Misses != 4 || s.Evictions != 0 {
		t.Fatalf("Stats = %+v, want 2 hits and 4 misses", s)
	}
}

func TestLookupConcurrentUseStaysBounded(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	const keys = 50
	for i := range keys {
		do(t, c, "SET", fmt.Sprint("k", i), fmt.Sprint("v", i))
	}
	l, _ := newLookup(t, srv, CacheSize(8))
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := (g*7 + i*13) % keys
				v, found, err := l.Get(t.Context(), fmt.Sprint("k", k))
				if err != nil || !found || v != fmt.Sprint("v", k) {
					errs <- fmt.Errorf("Get k%d = %q, %v, %v", k, v, found, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s := l.Stats()
	if s.Hits+s.Misses != 8*200 || s.Entries > 8 || s.Entries == 0 {
		t.Fatalf("Stats = %+v, want 1600 calls and at most 8 entries", s)
	}
}

func TestLookupErrors(t *testing.T) {
	srv := redistest.Start(t)
	do(t, srv.Client(t), "HSET", "h", "f", "v")
	l, _ := newLookup(t, srv, CacheSize(4))
	_, _, err := l.Get(t.Context(), "h")
	if err == nil || !strings.Contains(err.Error(), "WRONGTYPE") || !strings.Contains(err.Error(), "GET h") {
		t.Fatalf("Get of a hash = %v; want WRONGTYPE naming the command", err)
	}
	srv.Stop()
	if _, _, err := l.Get(t.Context(), "k"); err == nil || !strings.Contains(err.Error(), srv.URL()) {
		t.Fatalf("Get with Redis down = %v; want an error naming the server", err)
	}
	if s := l.Stats(); s.Entries != 0 || s.Misses != 0 {
		t.Fatalf("Stats = %+v: failed calls must not be cached or counted as answers", s)
	}
}

// TestLookupOptionErrors: NewLookup reports every problem with the
// endpoint and the options at once, each naming what to fix, before it
// connects (no server runs here).
func TestLookupOptionErrors(t *testing.T) {
	h := Endpoint{Addr: "h:6379"}
	for _, c := range []struct {
		e    Endpoint
		opts []LookupOption
		want []string
	}{
		{Endpoint{}, nil, []string{"Endpoint.Addr is empty"}},
		{Endpoint{Addr: "h", DB: -1}, nil, []string{"Endpoint.Addr \"h\" is not host:port", "Endpoint.DB is -1"}},
		{h, []LookupOption{CacheSize(-1), CacheTTL(-time.Second)}, []string{"CacheSize(-1)", "CacheTTL(-1s)"}},
		{h, []LookupOption{CacheTTL(time.Second)}, []string{"without CacheSize"}},
		{h, []LookupOption{DialTimeout(-1)}, []string{"DialTimeout(-1ns)"}},
		{Endpoint{Addr: "h:1", TLSConfig: &tls.Config{}}, []LookupOption{DialTimeout(0), CacheSize(-2)}, []string{"TLSConfig", "DialTimeout(0s)", "CacheSize(-2)"}},
	} {
		_, err := NewLookup(c.e, c.opts...)
		if err == nil {
			t.Errorf("NewLookup(%+v) = nil error", c.e)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("NewLookup(%+v) = %q, want it to mention %q", c.e, err, w)
			}
		}
		if n := strings.Count(err.Error(), "redis: lookup: "); n != len(c.want) {
			t.Errorf("NewLookup(%+v) reports %d problems, want %d:\n%v", c.e, n, len(c.want), err)
		}
	}
}

func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	now := time.Unix(0, 0)
	c := newCache(3, time.Second)
	for _, k := range []string{"a", "b", "c"} {
		if n := c.put(k, k, true, now); n != 0 {
			t.Fatalf("put %s evicted %d", k, n)
		}
	}
	c.get("a", now) // b is now the least recently used
	if n := c.put("d", "d", true, now); n != 1 {
		t.Fatalf("put d evicted %d, want 1", n)
	}
	if _, _, ok := c.get("b", now); ok {
		t.Fatal("b is still cached; it was the least recently used")
	}
	for _, k := range []string{"a", "c", "d"} {
		if _, _, ok := c.get(k, now); !ok {
			t.Fatalf("%s was evicted", k)
		}
	}
	c.put("a", "a2", false, now) // an update neither grows nor evicts
	if v, found, ok := c.get("a", now); !ok || found || v != "a2" || c.len() != 3 {
		t.Fatalf("after updating a: %q, %v, %v, len %d", v, found, ok, c.len())
	}
	if _, _, ok := c.get("a", now.Add(time.Second)); ok || c.len() != 2 {
		t.Fatalf("a expired but is still cached (len %d)", c.len())
	}
}
