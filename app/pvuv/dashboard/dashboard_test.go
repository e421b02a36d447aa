package dashboard_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weirstream/weir/app/pvuv/dashboard"
	"github.com/weirstream/weir/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const minute = int64(60_000)

// base is a fixed minute for the tests that give from and to.
var base = time.Date(2026, 11, 24, 7, 0, 0, 0, time.UTC).UnixMilli()

// env is a dashboard over a real redis-server, served over HTTP.
type env struct {
	redis *redistest.Server
	l     layout
	d     *dashboard.Dashboard
	url   string
}

func newEnv(t *testing.T, cfg dashboard.Config) *env {
	t.Helper()
	r := redistest.Start(t)
	if cfg.Prefix == "" {
		cfg.Prefix = "test:pvuv"
	}
	cfg.RedisURL = r.URL()
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	d, err := dashboard.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(d)
	t.Cleanup(func() {
		d.Close() // ends the live streams, so that srv.Close does not wait for them
		srv.Close()
	})
	return &env{redis: r, l: layout{c: r.Client(t), prefix: cfg.Prefix}, d: d, url: srv.URL}
}

// testLogger logs to the test's output, shown when it fails or runs with -v.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

// get requests path and decodes the JSON answer into v; it fails t unless
// the status is want.
func get(t *testing.T, rawURL string, want int, v any) {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read the body: %v", rawURL, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("GET %s: status %d, want %d; body %s", rawURL, resp.StatusCode, want, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q, want application/json", rawURL, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: decode %s: %v", rawURL, body, err)
	}
}

// apiError requests path and returns the error message of an answer with
// status want.
func apiError(t *testing.T, rawURL string, want int) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	get(t, rawURL, want, &e)
	if e.Error == "" {
		t.Fatalf("GET %s: the %d answer has no error message", rawURL, want)
	}
	return e.Error
}

func win(start int64, pv, uv int64, final bool) dashboard.Window {
	return dashboard.Window{Start: start, End: start + minute, PV: pv, UV: uv, Final: final}
}

func rfc(ms int64) string { return url.QueryEscape(time.UnixMilli(ms).UTC().Format(time.RFC3339)) }

func TestPVUVRange(t *testing.T) {
	e := newEnv(t, dashboard.Config{})
	ctx := context.Background()
	// Written out of order: the answer is by start.
	for _, w := range []dashboard.Window{
		win(base+3*minute, 30, 3, false),
		win(base, 10, 1, true),
		win(base+2*minute, 20, 2, true),
		win(base+minute, 15, 5, true),
		win(base-minute, 99, 9, true),
		win(base+10*minute, 99, 9, false),
	} {
		must(t, e.l.window(ctx, w, nil))
	}
	// A window whose hash is gone is left out.
	must(t, e.l.c.Do(ctx, e.l.c.B().Zadd().Key("test:pvuv:windows").ScoreMember().ScoreMember(float64(base+4*minute), itoa(base+4*minute)).Build()).Error())
	must(t, e.l.day(ctx, dashboard.Day{Date: "2026-11-24", PV: 1234, UV: 77}))
	must(t, e.l.day(ctx, dashboard.Day{Date: "2026-11-23", PV: 1, UV: 1, Final: true}))
	must(t, e.l.counters(ctx, dashboard.Counters{Lines: 1000, BadLines: 7, Late: 2}))

	want := dashboard.PVUV{
		From: base, To: base + 4*minute,
		Windows: []dashboard.Window{
			win(base, 10, 1, true), win(base+minute, 15, 5, true),
			win(base+2*minute, 20, 2, true), win(base+3*minute, 30, 3, false),
		},
		Day:      dashboard.Day{Date: "2026-11-24", PV: 1234, UV: 77},
		Counters: dashboard.Counters{Lines: 1000, BadLines: 7, Late: 2},
	}
	// The same range as Unix ms and as RFC 3339; both ends are inclusive.
	for _, q := range []string{
		fmt.Sprintf("from=%d&to=%d", base, base+4*minute),
		fmt.Sprintf("from=%s&to=%s", rfc(base), rfc(base+4*minute)),
		fmt.Sprintf("from=%s&to=%d", url.QueryEscape("2026-11-24T08:00:00+01:00"), base+4*minute),
	} {
		var got dashboard.PVUV
		get(t, e.url+"/api/pvuv?"+q, http.StatusOK, &got)
		if !equalPVUV(got, want) {
			t.Errorf("GET /api/pvuv?%s =\n%+v\nwant\n%+v", q, got, want)
		}
	}

	// An empty range answers an empty list, not null; the day is to's.
	var empty dashboard.PVUV
	get(t, fmt.Sprintf("%s/api/pvuv?from=%d&to=%d", e.url, base-60*minute, base-30*minute), http.StatusOK, &empty)
	if empty.Windows == nil || len(empty.Windows) != 0 || empty.Day.Date != "2026-11-24" {
		t.Errorf("an empty range answered %+v", empty)
	}
	// A range that ends before midnight: the day is the 23rd.
	midnight := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC).UnixMilli()
	must(t, e.l.window(ctx, win(midnight-5*minute, 5, 5, true), nil))
	var before dashboard.PVUV
	get(t, fmt.Sprintf("%s/api/pvuv?from=%d&to=%d", e.url, midnight-10*minute, midnight-1), http.StatusOK, &before)
	if before.Day != (dashboard.Day{Date: "2026-11-23", PV: 1, UV: 1, Final: true}) || len(before.Windows) != 1 {
		t.Errorf("the range before midnight answered %+v, want one window and the day 2026-11-23", before)
	}
}

func equalPVUV(a, b dashboard.PVUV) bool {
	return a.From == b.From && a.To == b.To && slices.Equal(a.Windows, b.Windows) &&
		a.Truncated == b.Truncated && a.Day == b.Day && a.Counters == b.Counters
}

func TestPVUVDefaultRange(t *testing.T) {
	e := newEnv(t, dashboard.Config{})
	ctx := context.Background()
	now := time.Now().UnixMilli()
	cur := now - now%minute
	for _, w := range []dashboard.Window{
		win(cur-90*minute, 1, 1, true), // older than 60 minutes
		win(cur-30*minute, 2, 2, true),
		win(cur-minute, 3, 3, true),
		win(cur, 4, 4, false),
	} {
		must(t, e.l.window(ctx, w, nil))
	}
	var got dashboard.PVUV
	get(t, e.url+"/api/pvuv", http.StatusOK, &got)
	if got.To-got.From != 60*minute || got.To < now {
		t.Errorf("the default range is %d..%d, want the 60 minutes up to now (%d)", got.From, got.To, now)
	}
	want := []dashboard.Window{win(cur-30*minute, 2, 2, true), win(cur-minute, 3, 3, true), win(cur, 4, 4, false)}
	if !slices.Equal(got.Windows, want) {
		t.Errorf("windows of the last hour = %+v, want %+v", got.Windows, want)
	}
	if today := time.UnixMilli(got.To).UTC().Format(time.DateOnly); got.Day.Date != today {
		t.Errorf("day %q, want today %q", got.Day.Date, today)
	}
	// from alone: up to now.
	get(t, fmt.Sprintf("%s/api/pvuv?from=%d", e.url, cur-minute), http.StatusOK, &got)
	if !slices.Equal(got.Windows, want[1:]) {
		t.Errorf("from=%d: windows %+v, want %+v", cur-minute, got.Windows, want[1:])
	}
}

func TestPVUVTruncated(t *testing.T) {
	e := newEnv(t, dashboard.Config{MaxWindows: 3})
	ctx := context.Background()
	for i := range int64(5) {
		must(t, e.l.window(ctx, win(base+i*minute, i, i, true), nil))
	}
	var got dashboard.PVUV
	get(t, fmt.Sprintf("%s/api/pvuv?from=%d&to=%d", e.url, base, base+10*minute), http.StatusOK, &got)
	if !got.Truncated || len(got.Windows) != 3 || got.Windows[0].Start != base || got.Windows[2].Start != base+2*minute {
		t.Errorf("5 windows with MaxWindows 3: %+v, want the first 3 and truncated", got)
	}
	get(t, fmt.Sprintf("%s/api/pvuv?from=%d&to=%d", e.url, base+2*minute, base+10*minute), http.StatusOK, &got)
	if got.Truncated || len(got.Windows) != 3 {
		t.Errorf("3 windows with MaxWindows 3: %+v, want all 3, not truncated", got)
	}
}

func TestValidation(t *testing.T) {
	e := newEnv(t, dashboard.Config{MaxRange: 2 * time.Hour})
	for _, tc := range []struct {
		query string
		want  []string // in the message
	}{
		{"/api/pvuv?from=yesterday", []string{`"from"`, "yesterday", "RFC 3339"}},
		{"/api/pvuv?to=2026-11-24", []string{`"to"`, "RFC 3339"}},
		{"/api/pvuv?from=12.5", []string{`"from"`}},
		{"/api/pvuv?from=99999999999999999999", []string{`"from"`, "years"}},
		{fmt.Sprintf("/api/pvuv?from=%d&to=%d", base+minute, base), []string{`"from"`, "after", `"to"`}},
		{fmt.Sprintf("/api/pvuv?from=%d&to=%d", base, base+3*60*minute), []string{`"from"`, "2h0m0s"}},
		{"/api/pages?window=noon", []string{`"window"`, "RFC 3339"}},
		{"/api/pages?limit=0", []string{`"limit"`, "1 to 1000"}},
		{"/api/pages?limit=ten", []string{`"limit"`}},
	} {
		msg := apiError(t, e.url+tc.query, http.StatusBadRequest)
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("GET %s: error %q does not contain %q", tc.query, msg, w)
			}
		}
	}
	if msg := apiError(t, e.url+"/api/nothing", http.StatusNotFound); !strings.Contains(msg, "/api/pvuv") {
		t.Errorf("an unknown API path answered %q, want a message listing the API", msg)
	}
}

func TestPages(t *testing.T) {
	e := newEnv(t, dashboard.Config{})
	ctx := context.Background()

	var none dashboard.Pages
	get(t, e.url+"/api/pages", http.StatusOK, &none)
	if none.Window != nil || none.Pages == nil || len(none.Pages) != 0 {
		t.Errorf("pages before any window = %+v, want a null window and no pages", none)
	}

	must(t, e.l.window(ctx, win(base, 100, 10, true), map[string]int64{"/a": 50, "/b": 30, "/c": 20}))
	must(t, e.l.window(ctx, win(base+minute, 40, 4, false), map[string]int64{"/x": 5, "/y": 25, "/z?q=<script>": 10}))

	var latest dashboard.Pages
	get(t, e.url+"/api/pages", http.StatusOK, &latest)
	want := dashboard.Pages{Window: ptr(win(base+minute, 40, 4, false)), Pages: []dashboard.Page{{"/y", 25}, {"/z?q=<script>", 10}, {"/x", 5}}}
	if !equalPages(latest, want) {
		t.Errorf("pages of the latest window = %+v, want %+v", latest, want)
	}
	for _, q := range []string{fmt.Sprintf("window=%d&limit=2", base), "limit=2&window=" + rfc(base)} {
		var first dashboard.Pages
		get(t, e.url+"/api/pages?"+q, http.StatusOK, &first)
		want := dashboard.Pages{Window: ptr(win(base, 100, 10, true)), Pages: []dashboard.Page{{"/a", 50}, {"/b", 30}}}
		if !equalPages(first, want) {
			t.Errorf("GET /api/pages?%s = %+v, want %+v", q, first, want)
		}
	}
	msg := apiError(t, fmt.Sprintf("%s/api/pages?window=%d", e.url, base+5*minute), http.StatusNotFound)
	if !strings.Contains(msg, "2026-11-24T07:05:00Z") {
		t.Errorf("a missing window answered %q, want a message naming it", msg)
	}
}

func ptr[T any](v T) *T { return &v }

func equalPages(a, b dashboard.Pages) bool {
	if (a.Window == nil) != (b.Window == nil) || (a.Window != nil && *a.Window != *b.Window) {
		return false
	}
	return slices.Equal(a.Pages, b.Pages)
}

// event is one server-sent event.
type event struct {
	name string
	data string
}

// stream reads server-sent events from r until it ends.
func stream(r io.Reader, out chan<- event) {
	defer close(out)
	sc := bufio.NewScanner(r)
	var ev event
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev.data != "" {
				out <- ev
			}
			ev = event{}
		case strings.HasPrefix(line, "event: "):
			ev.name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			ev.data = strings.TrimPrefix(line, "data: ")
		}
	}
}

// openLive opens /api/live; the stream ends when ctx does.
func openLive(ctx context.Context, t *testing.T, base string) (*http.Response, <-chan event) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/live", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET /api/live: %v", err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	events := make(chan event, 16)
	if resp.StatusCode == http.StatusOK {
		go stream(resp.Body, events)
	} else {
		close(events)
	}
	return resp, events
}

// next returns the next event, failing t if the stream ends first.
func next(t *testing.T, events <-chan event) event {
	t.Helper()
	ev, ok := <-events
	if !ok {
		t.Fatal("the live stream ended")
	}
	return ev
}

func TestLive(t *testing.T) {
	e := newEnv(t, dashboard.Config{LiveInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, events := openLive(ctx, t, e.url)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /api/live: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var l dashboard.Live
	must(t, json.Unmarshal([]byte(next(t, events).data), &l))
	if l.Window != nil || l.Time == 0 || l.Day.Date != time.UnixMilli(l.Time).UTC().Format(time.DateOnly) {
		t.Errorf("the first event before any window = %+v, want no window and today", l)
	}

	// The job opens a window and updates its running result: the stream
	// shows the newest state.
	must(t, e.l.window(ctx, win(base, 10, 2, true), nil))
	must(t, e.l.window(ctx, win(base+minute, 5, 1, false), nil))
	must(t, e.l.day(ctx, dashboard.Day{Date: "2026-11-24", PV: 15, UV: 3}))
	must(t, e.l.counters(ctx, dashboard.Counters{Lines: 20, BadLines: 4, Late: 1}))
	want := dashboard.Live{Window: ptr(win(base+minute, 5, 1, false)), Day: dashboard.Day{Date: "2026-11-24", PV: 15, UV: 3},
		Counters: dashboard.Counters{Lines: 20, BadLines: 4, Late: 1}}
	waitLive(t, events, want)
	must(t, e.l.window(ctx, win(base+minute, 9, 3, true), nil))
	want.Window = ptr(win(base+minute, 9, 3, true))
	waitLive(t, events, want)

	// The client leaves: the handler returns (else the server's Close,
	// and goleak, would wait for it).
	cancel()
	for range events {
	}
}

// waitLive reads events until one equals want (but for its time).
func waitLive(t *testing.T, events <-chan event, want dashboard.Live) {
	t.Helper()
	var l dashboard.Live
	for {
		ev := next(t, events)
		if ev.name != "" {
			t.Fatalf("unexpected %q event: %s", ev.name, ev.data)
		}
		must(t, json.Unmarshal([]byte(ev.data), &l))
		l.Time = 0
		if l.Day == want.Day && l.Counters == want.Counters && l.Window != nil && *l.Window == *want.Window {
			return
		}
	}
}

func TestLiveLimit(t *testing.T) {
	e := newEnv(t, dashboard.Config{MaxLiveStreams: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	resp, events := openLive(ctx, t, e.url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the first stream: status %d", resp.StatusCode)
	}
	next(t, events) // the first stream is open
	if msg := apiError(t, e.url+"/api/live", http.StatusServiceUnavailable); !strings.Contains(msg, "MaxLiveStreams") {
		t.Errorf("a stream past the limit answered %q, want a message naming MaxLiveStreams", msg)
	}
}

func TestClose(t *testing.T) {
	e := newEnv(t, dashboard.Config{LiveInterval: time.Hour})
	resp, events := openLive(context.Background(), t, e.url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	next(t, events)
	e.d.Close() // ends the stream long before the next event
	for range events {
	}
	if msg := apiError(t, e.url+"/api/pvuv", http.StatusServiceUnavailable); !strings.Contains(msg, "closed") {
		t.Errorf("after Close: %q, want a message that says the dashboard closed", msg)
	}
}

// logs is a log destination that handlers on several goroutines share.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) count(s string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.buf.String(), s)
}

func TestRedisDown(t *testing.T) {
	var log logs
	e := newEnv(t, dashboard.Config{LiveInterval: 20 * time.Millisecond, Timeout: 500 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, e.l.window(ctx, win(base, 10, 2, true), map[string]int64{"/": 10}))
	_, events := openLive(ctx, t, e.url)
	next(t, events)

	e.redis.Stop()
	for _, path := range []string{"/api/pvuv", "/api/pages", "/api/live"} {
		msg := apiError(t, e.url+path, http.StatusServiceUnavailable)
		if !strings.Contains(msg, e.redis.Addr()) || !strings.Contains(msg, "check that Redis runs") {
			t.Errorf("GET %s with Redis down: %q, want a message naming Redis's address and the fix", path, msg)
		}
	}
	// The open stream stays open and says what is wrong.
	for {
		ev := next(t, events)
		if ev.name == "redis-error" {
			if !strings.Contains(ev.data, e.redis.Addr()) {
				t.Errorf("redis-error event %s does not name Redis's address", ev.data)
			}
			break
		}
	}

	// Redis comes back (empty): the dashboard answers again, no restart.
	e.redis.Restart()
	// The test's own client may fail a write or two on its old connection
	// (writes are not retried) before it reconnects.
	for err := e.l.window(ctx, win(base, 11, 3, true), nil); err != nil; err = e.l.window(ctx, win(base, 11, 3, true), nil) {
		if ctx.Err() != nil {
			t.Fatalf("writing after Redis restarted: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for {
		ev := next(t, events)
		if ev.name != "" {
			continue
		}
		var l dashboard.Live
		must(t, json.Unmarshal([]byte(ev.data), &l))
		if l.Window != nil && l.Window.PV == 11 {
			break
		}
	}
	var got dashboard.PVUV
	get(t, fmt.Sprintf("%s/api/pvuv?from=%d&to=%d", e.url, base, base), http.StatusOK, &got)
	if len(got.Windows) != 1 || got.Windows[0].PV != 11 {
		t.Errorf("after Redis came back: %+v", got)
	}
	// Many failed reads, one warning; and one line when Redis is back.
	if down, up := log.count("cannot read from Redis"), log.count("Redis answers again"); down != 1 || up != 1 {
		t.Errorf("logged %d warnings that Redis is down and %d lines that it is back, want 1 and 1:\n%s", down, up, log.buf.String())
	}
}

func TestRedisDownAtStart(t *testing.T) {
	r := redistest.Start(t)
	r.Stop()
	d, err := dashboard.New(dashboard.Config{RedisURL: r.URL(), Timeout: 500 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("New with Redis down: %v; the dashboard must start before Redis", err)
	}
	srv := httptest.NewServer(d)
	defer srv.Close()
	defer d.Close()
	apiError(t, srv.URL+"/api/pvuv", http.StatusServiceUnavailable)
	r.Restart()
	var got dashboard.PVUV
	get(t, srv.URL+"/api/pvuv", http.StatusOK, &got)
}

func TestBadData(t *testing.T) {
	e := newEnv(t, dashboard.Config{})
	ctx := context.Background()
	c := e.l.c
	must(t, e.l.window(ctx, win(base, 10, 2, true), nil))
	must(t, c.Do(ctx, c.B().Hset().Key("test:pvuv:window:"+itoa(base)).FieldValue().FieldValue("pv", "ten").Build()).Error())
	msg := apiError(t, fmt.Sprintf("%s/api/pvuv?from=%d&to=%d", e.url, base, base), http.StatusBadGateway)
	for _, w := range []string{"test:pvuv:window:" + itoa(base), `"pv"`, `"ten"`, "Config.Prefix"} {
		if !strings.Contains(msg, w) {
			t.Errorf("a window with pv \"ten\": %q lacks %q", msg, w)
		}
	}
	// A key of another type under the prefix: Redis answers WRONGTYPE.
	must(t, c.Do(ctx, c.B().Set().Key("test:pvuv:counters").Value("x").Build()).Error())
	msg = apiError(t, fmt.Sprintf("%s/api/pvuv?from=%d&to=%d", e.url, base+minute, base+minute), http.StatusBadGateway)
	if !strings.Contains(msg, "WRONGTYPE") || !strings.Contains(msg, "test:pvuv") {
		t.Errorf("a counters key of the wrong type: %q", msg)
	}
}

func TestConfig(t *testing.T) {
	client := redistest.Start(t).Client(t)
	for _, tc := range []struct {
		cfg  dashboard.Config
		want []string
	}{
		{dashboard.Config{}, []string{"set Client or RedisURL"}},
		{dashboard.Config{Client: client, RedisURL: "redis://127.0.0.1:1"}, []string{"not both"}},
		{dashboard.Config{Client: client, Timeout: -1, MaxLiveStreams: -1, Prefix: "a b"}, []string{"Timeout", "MaxLiveStreams", "Prefix"}},
		{dashboard.Config{RedisURL: "http://u:secret@127.0.0.1:1"}, []string{"RedisURL", "xxxxx", "redis://"}},
		{dashboard.Config{RedisURL: "redis://u:secret@127.0.0.1:1/x y"}, []string{"RedisURL", "xxxxx"}},
		{dashboard.Config{RedisURL: "redis://u:secret@[::1"}, []string{"RedisURL", "xxxxx"}},
	} {
		_, err := dashboard.New(tc.cfg)
		if err == nil {
			t.Errorf("New(%+v) succeeded", tc.cfg)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("New(%+v) = %q, want it to contain %q", tc.cfg, err, w)
			}
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("New's error %q shows the password", err)
		}
	}
	// A client the caller owns stays open after Close.
	d, err := dashboard.New(dashboard.Config{Client: client})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	defer srv.Close()
	d.Close()
	if err := client.Do(context.Background(), client.B().Ping().Build()).Error(); err != nil {
		t.Errorf("Close closed the caller's client: %v", err)
	}
	if msg := apiError(t, srv.URL+"/api/pages", http.StatusServiceUnavailable); !strings.Contains(msg, "closed") {
		t.Errorf("after Close, with the caller's client: %q, want a message that says the dashboard closed", msg)
	}
}

func TestPage(t *testing.T) {
	e := newEnv(t, dashboard.Config{})
	for path, ctype := range map[string]string{
		"/":                             "text/html; charset=utf-8",
		"/dashboard.js":                 "text/javascript; charset=utf-8",
		"/dashboard.css":                "text/css; charset=utf-8",
		"/vendor/echarts.min.js":        "text/javascript; charset=utf-8",
		"/vendor/LICENSE-echarts":       "",
		"/favicon.svg":                  "image/svg+xml",
		"/api/../vendor/NOTICE-echarts": "",
	} {
		resp, err := http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", path, resp.StatusCode)
		}
		if ctype != "" && resp.Header.Get("Content-Type") != ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", path, resp.Header.Get("Content-Type"), ctype)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q does not keep the page to its origin", path, csp)
		}
	}
}

// TestMounted serves the dashboard under a path: the page's relative URLs
// reach the API there.
func TestMounted(t *testing.T) {
	r := redistest.Start(t)
	d, err := dashboard.New(dashboard.Config{RedisURL: r.URL(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	mux := http.NewServeMux()
	mux.Handle("/pvuv/", http.StripPrefix("/pvuv", d))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var got dashboard.PVUV
	get(t, srv.URL+"/pvuv/api/pvuv", http.StatusOK, &got)
	resp, err := http.Get(srv.URL + "/pvuv/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), `src="dashboard.js"`) {
		t.Errorf("GET /pvuv/: %d, want the page with relative script URLs", resp.StatusCode)
	}
}

// TestNothingFromOutside checks the page's own files: every URL they load
// is relative (the browser test checks what the page requests).
func TestNothingFromOutside(t *testing.T) {
	absolute := regexp.MustCompile(`(?i)(src|href|url)\s*[=(]\s*["']?\s*(https?:)?//`)
	for _, name := range []string{"index.html", "dashboard.js", "dashboard.css", "favicon.svg"} {
		b, err := os.ReadFile(filepath.Join("assets", name))
		if err != nil {
			t.Fatal(err)
		}
		if m := absolute.Find(b); m != nil {
			t.Errorf("assets/%s loads from outside: %q", name, m)
		}
		if strings.Contains(string(b), "fetch('http") || strings.Contains(string(b), "EventSource('http") {
			t.Errorf("assets/%s reaches an absolute URL", name)
		}
	}
}
