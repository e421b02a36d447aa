// Package dashboard serves the live dashboard of the PV/UV job: one web page
// and the JSON API it reads, both over the results the job writes to Redis.
//
//	d, err := dashboard.New(dashboard.Config{RedisURL: "redis://127.0.0.1:6379/0"})
//	if err != nil {
//		return err
//	}
//	defer d.Close()
//	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: d}
//	srv.RegisterOnShutdown(func() { d.Close() }) // ends the live streams
//
// The dashboard only reads Redis, so any number of them can serve one job,
// and it starts before Redis does: until Redis answers, the API answers 503
// and the page says so and retries.
//
// # Redis key layout
//
// The PV/UV job writes these keys; P is the prefix (Config.Prefix, default
// "weir:pvuv"). Every write overwrites, so a replay after a restore is
// harmless.
//
//	P:window:<start>    HASH  start, end (Unix ms), pv, uv, final ("1" when the
//	                          window closed, "0" for the running early result)
//	P:windows           ZSET  member "<start>", score start: the index of the windows
//	P:pages:<start>     ZSET  member page path, score page views: the window's top pages
//	P:day:<YYYY-MM-DD>  HASH  pv, uv, final: the UTC day (UV: distinct clients all day)
//	P:counters          HASH  lines, bad_lines, late: the job's totals, exact as of
//	                          the windows written
//
// A field that is missing reads as 0 (false for final); a window in the
// index whose hash is gone is left out.
//
// # API
//
// The API is stable: the page uses nothing else, and other programs may use
// it too. Times in answers are Unix milliseconds (UTC); a time parameter is
// RFC 3339 (2026-11-24T07:40:00Z) or Unix milliseconds. Every answer is JSON,
// sent with Cache-Control: no-store.
//
//	GET /api/pvuv?from=&to=
//
// The windows whose start lies in [from, to], sorted by start; by default the
// last 60 minutes (to: now, from: to minus 60 minutes). The range may span at
// most Config.MaxRange (default 24 hours); past Config.MaxWindows windows
// (default 2000) the answer is cut and "truncated" is true. Day is the UTC
// day that contains "to"; counters are the job's totals.
//
//	{"from": 1795506000000, "to": 1795509600000,
//	 "windows": [{"start": 1795509540000, "end": 1795509600000, "pv": 1234, "uv": 567, "final": true}],
//	 "truncated": false,
//	 "day": {"date": "2026-11-24", "pv": 81234, "uv": 9567, "final": false},
//	 "counters": {"lines": 90000, "bad_lines": 12, "late": 3}}
//
//	GET /api/pages?window=&limit=
//
// The top pages of the window that starts at "window" (default: the latest
// window), most viewed first, at most "limit" of them (1 to 1000, default
// 10). "window" is null and "pages" empty when the job has written no window
// yet; a "window" parameter that names no window answers 404.
//
//	{"window": {"start": 1795509540000, "end": 1795509600000, "pv": 1234, "uv": 567, "final": true},
//	 "pages": [{"page": "/index.html", "pv": 99}]}
//
//	GET /api/live
//
// A stream of server-sent events (text/event-stream), one every
// Config.LiveInterval (default 1 s), the first at once. Each plain ("message")
// event is the newest window (the running minute while it is open, null
// before the first) with the day of that window and the counters:
//
//	data: {"time": 1795509581000, "window": {"start": ..., "final": false}, "day": {...}, "counters": {...}}
//
// When Redis cannot be read the stream stays open and sends
// "event: redis-error" with data {"error": "..."} each interval until it
// can. With Config.ProcessMemory an event also carries "memory", the
// memory of the dashboard's process (see Memory).
//
// One poller per dashboard reads the live record once per interval and
// hands the same event to every stream, so Redis sees one read per
// interval however many viewers there are; the poller runs only while a
// stream is open. A viewer that reads slower than the events come skips
// the older ones (it holds at most one unsent event), and a viewer that
// stops reading is dropped once a write to it waits
// Config.LiveWriteTimeout (default 10 s): neither slows the others.
// Config.MaxLiveStreams (default 10000) bounds the streams, and with them
// the memory they hold.
//
// Errors answer {"error": "..."}: 400 names the bad parameter and what it
// accepts; 404 for a window that does not exist or an unknown /api/ path; 405
// for a method other than GET or HEAD; 503 when Redis cannot be reached, too
// many live streams are open, or the dashboard is closed; 502 when
// Redis answers with an error or holds a value that the layout does not allow
// (a key of another type under the prefix, a count that is not a number).
//
// # Why server-sent events for the live feed
//
// The running minute changes many times a second and the page shows it every
// second. Server-sent events cost one long-lived GET per page instead of one
// request a second, need nothing but the browser's EventSource (which
// reconnects by itself) and plain HTTP/1.1 (proxies and curl read them), and
// push each update as soon as it is read, where polling adds up to an
// interval of delay. The stream carries only the small live record; the
// minute series and the top pages are re-read through the two GET endpoints
// when a new window appears (and every few seconds), so they share the
// stable API with other consumers.
//
// # The page
//
// GET / serves the page; its files are embedded in the binary (go:embed) and
// it loads nothing from anywhere else: a Content-Security-Policy header lets
// it reach only its own origin. It shows PV and UV per minute as live line
// charts (Apache ECharts), the running minute's PV and UV, the day's PV and
// UV, the top pages of the latest window and the job's counters (lines, bad
// lines, late records), and the process's memory when the live events
// carry it. All its URLs are relative, so the dashboard can be
// mounted under a path with http.StripPrefix.
//
// For tests and tools the page exposes window.weirDashboard.state(), which
// returns
//
//	{"ready": true,                                  // the first data arrived
//	 "points": {"pv": 42, "uv": 42},                 // points in each chart, read from ECharts
//	 "counters": {"lines": 90000, "bad_lines": 12, "late": 3, "running_pv": 120,
//	              "running_uv": 40, "day_pv": 81234, "day_uv": 9567, "pages": 10,
//	              "live_events": 17}}
//
// with "heap_inuse_bytes" and "rss_bytes" in "counters" too when the live
// events carry the process's memory. internal/browsertest drives it.
//
// # Building the assets
//
// The page's own files (assets/index.html, dashboard.js, dashboard.css) are
// written by hand. Apache ECharts comes from the npm registry at the exact
// version pinned in ui/package.json and ui/package-lock.json;
// scripts/build-dashboard.sh runs `npm ci` in ui/ and copies
// echarts.min.js and its licenses into assets/vendor. The output is checked
// in, so building weir needs no npm; run the script only to change the
// ECharts version (its header says how). Two runs give byte-identical files.
package dashboard
