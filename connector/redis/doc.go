// Package redis writes a weir job's results to Redis and reads Redis values
// to enrich records.
//
// # Sink
//
// NewSink writes every record as the Redis commands that a Layout makes of
// it. It is built on the AsyncSink base (package sink/async), which
// batches records, keeps several requests in flight, retries failures with
// backoff, bounds the records it holds and flushes at every checkpoint;
// the option AsyncOptions tunes it. The connector adds what is Redis's own:
//
//   - A batch is one pipelined round trip (a single DoMulti of the
//     rueidis client).
//   - The commands of one record run atomically: in MULTI/EXEC when the
//     layout makes more than one, so a reader never sees half a record.
//   - A connection error, a timeout, or a reply that says the server is
//     not ready (LOADING, BUSY, TRYAGAIN, MASTERDOWN, READONLY, ...) is
//     retried, without limit by default: while Redis is down the sink holds
//     at most MaxBufferedRecords records (async.Options) and backpressures
//     the job.
//   - A reply that refuses a command (WRONGTYPE, a syntax error, NOPERM,
//     OOM, ...) fails the job with an error that shows the command, the key
//     and the fix.
//
// # Delivery guarantee
//
// Writes are at-least-once: the job flushes the sink at every checkpoint
// barrier and waits until Redis acknowledged every record before the
// checkpoint completes; after a failure the job restores the last completed
// checkpoint and replays the records that came after it, some of which
// Redis may already hold.
//
// Results are exactly-once when the layout is idempotent: when its commands
// overwrite (SET, HSET, ZADD, DEL then ZADD) instead of accumulating (INCR,
// HINCRBY, RPUSH), a replayed record writes the same values again, and
// Redis ends with the same contents as a run without failure. Window
// results are the natural fit: a window's result is a value, written under
// a key named by the window.
//
// When a key is written more than once (a window's early results, then its
// final one), the last write must land last. Each writer keeps one request
// in flight by default (MaxInFlightRequests, see AsyncOptions), so its
// batches land in the order it wrote them; records of one key must come
// through one writer (key the stream, or give the sink parallelism 1). A
// batch that failed and is retried after its backoff can still land after
// a newer batch that went through in the meantime.
//
// # Key layout of the PV/UV application
//
// The PV/UV job writes its results under a prefix P (default "weir:pvuv"),
// and every write overwrites, so replays are harmless:
//
//	P:window:<start>     HASH  start, end (Unix ms), pv, uv,
//	                           final ("1" once the window closed, "0" for a running early result)
//	P:windows            ZSET  member "<start>", score start: the windows there are
//	P:pages:<start>      ZSET  member page, score page views: the window's top pages,
//	                           written as DEL + ZADD in one MULTI/EXEC
//	P:day:<YYYY-MM-DD>   HASH  pv, uv, final
//	P:counters           HASH  lines, bad_lines, late
//
// A Layout for a window result reads:
//
//	func layout(w Window, cmds []redis.Command) []redis.Command {
//		start := strconv.FormatInt(w.Start, 10)
//		cmds = append(cmds,
//			redis.Command{"HSET", "weir:pvuv:window:" + start, "start", start, "end", ..., "pv", ..., "uv", ..., "final", "1"},
//			redis.Command{"ZADD", "weir:pvuv:windows", start, start})
//		return cmds
//	}
//
// # Servers
//
// The connector speaks to one Redis server (a primary, or a proxy in front
// of several); it does not follow the Redis Cluster protocol's redirects.
//
// # Lookup
//
// NewLookup returns a Lookup that reads single values (GET, HGET) with an
// optional bounded cache (least recently used entries go first; every entry
// expires after a TTL) and counts its hits and misses. It is safe for
// concurrent use, as an asynchronous enrichment function (weir.AsyncWait)
// needs.
//
// # Connections
//
// Both take an Endpoint, the server and the login, which ParseURL makes of
// a URL, redis://[user:password@]host:port/db or rediss:// for TLS:
//
//	server, err := redis.ParseURL("redis://127.0.0.1:6379/0")
//	...
//	lookup, err := redis.NewLookup(server, redis.CacheSize(10_000))
//
// They connect when created (a sink: when each of its writers is
// created), so a wrong address fails the job at start. What is optional
// is an option (DialTimeout, AsyncOptions, CacheSize, CacheTTL); NewClient
// opens a plain rueidis client with the same settings.
package redis
