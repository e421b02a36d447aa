// Package pvuv is the PV/UV (page views and unique visitors) application:
// it parses access-log lines, counts page views (PV) and unique visitors
// (UV) per event-time window and per UTC day, and writes the results in
// the Redis layout that the dashboard reads.
//
// # Parsing
//
// A line is a page view when it has, in order:
//
//  1. a client address: the first space-separated field, non-empty;
//  2. a bracketed timestamp [dd/Mon/yyyy:HH:MM:SS ±hhmm] naming a real
//     instant (no 31/Feb, no hour 25), with years 0001–9999 after conversion
//     to UTC;
//  3. a quoted request "METHOD /path PROTOCOL": the method is uppercase
//     ASCII letters, the path starts with '/' and holds no control bytes,
//     the protocol starts with "HTTP/";
//  4. a space and a three-digit status (100–999) that ends the line or is
//     followed by a space;
//  5. no NUL byte anywhere (ReasonNUL where no other rule refuses it).
//
// Whatever follows the status (size, referrer, user agent) is not examined
// but for NUL bytes, so both the combined and the common log formats
// parse. Every other line is a bad line and is reported with one of the
// Reason constants. The parser is written by hand, without regular
// expressions or time.Parse, because it runs once per input record.
//
// # The job
//
// Build adds the job to a stream of lines; BuildHits adds it to a stream
// of hits that a source parsed as it read them (a file.DecodedSource with
// Counters.NewDecoder: the line is never copied, only its client and page),
// with the lines the source could not parse as its dead letters: the same
// job without its parse step. UV is counted without a hot
// subtask, as Flink's split distinct aggregation does: parallel steps
// count disjoint parts of each window and send partial counts to a merge
// at parallelism 1.
//
//	lines ─▶ parse ─▶ watermarks ─┬─▶ key by client ─▶ count-clients  ─┐  (UV "exact")
//	           │                  ├─▶ key by shard  ─▶ sketch-clients ─┤  (UV "hll")
//	           │                  │                                     ├─▶ merge ─▶ Results
//	           │                  │                                     └─▶ days  ─▶ Days
//	           │                  └─▶ key by page   ─▶ count-pages ─────▶ merge
//	           └─▶ bad lines, and late lines from the client step ─▶ Bad
//
//	merge (the page views each result adds) and Bad ─▶ totals ─▶ Totals
//
// Every counting step is a tumbling event-time window of Options.Window
// with the same allowed lateness, so a window closes in every step at the
// same watermark. Its window function reports only what changed since
// its last report (a counter remembers how many views it reported), so
// the merge adds partials and counts every view once, however often a
// window fires: early, on time, or again for a late line.
//
// With exact UV (Options.UV "exact", the default) the client step is keyed
// by client address; a client's first report in a window carries UV 1,
// and the merge adds them. With HyperLogLog UV ("hll") it is keyed by one
// of 64 shards of the client's hash, and each shard keeps a sketch per
// window; a report carries the shard's whole sketch, and the merge merges
// it into the window's sketch (merging a sketch again changes nothing).
// Sketches are stored in checkpoints, and sent in partials, as the bytes
// of their MarshalBinary.
//
// The totals step, one key at parallelism 1, adds the page views each
// window result adds (the merge keeps, per window, how many it counted)
// and the bad and late lines into the job's Totals, in checkpointed
// state: a restore brings them back with the windows, and the lines read
// again after it are not counted twice. It takes one record per window
// result and per bad or late line, never one per page view.
//
// The daily step, keyed by UTC day at parallelism 1, takes the client
// step's partials too: their views, and their clients' hashes (exact) or
// shard sketches (HyperLogLog), which it adds to a sketch per day. The
// daily UV is thus a HyperLogLog estimate in both modes, the same in both
// (see DayResult).
//
// # State backends
//
// On the heap backend (the default) sketches stay decoded between
// checkpoints: adding a visitor is one register update. On the pebble
// backend every update of a sketch reads and writes it whole (16 KiB): with
// UV "hll", every page view does. UV "hll" needs little state (at most 64
// sketches per open window), so keep it on the heap. The daily step
// collects the clients' hashes of exact UV in its small totals and adds
// them to the day's sketch 256 at a time. Running results need the heap
// backend.
//
// # Running results
//
// With Options.EarlyResults the counting steps fire their open windows
// early (weir.EarlyFiring), and the merge and the daily step emit running
// results (Running true) at most every EarlyResults of processing time,
// each followed by the final result when the window or the day closes.
// Running results of a window never decrease and never exceed its final
// result in PV or exact UV, and the final result is the one a job without
// early results gives.
//
// # Redis
//
// RedisLayout, RedisDayLayout and RedisTotalsLayout write the results
// under a prefix P (DefaultRedisPrefix):
//
//	P:window:<start>     HASH  start, end (Unix ms), pv, uv, final ("1" or "0")
//	P:windows            ZSET  member "<start>", score start
//	P:pages:<start>      ZSET  member page, score page views: the top pages
//	P:day:<YYYY-MM-DD>   HASH  pv, uv, final ("1" or "0")
//	P:counters           HASH  lines, bad_lines, late
//
// Final results overwrite; a running result is written by a Lua script
// that leaves a final result in place, so a retried write that lands late
// never turns a final result back into a running one. Nothing expires,
// unless RedisTTL gives windows and days a time to live.
package pvuv
