package dashboard

import (
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// DefaultPrefix is the key prefix the PV/UV job writes under by default.
const DefaultPrefix = "weir:pvuv"

// Config configures a Dashboard. Exactly one of Client and RedisURL is
// required; every other field has a default.
type Config struct {
	// Client reads the job's results. The dashboard does not close it.
	Client rueidis.Client
	// RedisURL is where to read them instead, as
	// redis://[user:password@]host:port/db; the dashboard opens a client
	// and Close closes it. Redis need not be up yet.
	RedisURL string
	// Prefix is the key prefix the job writes under. Default DefaultPrefix.
	Prefix string
	// Timeout bounds the Redis reads of one request. Default 2s.
	Timeout time.Duration
	// LiveInterval is the time between two events of /api/live, and
	// between two reads of the live record: one poller reads it for every
	// stream. Default 1s.
	LiveInterval time.Duration
	// MaxLiveStreams bounds the /api/live streams open at once; one more
	// answers 503. A stream costs no Redis read of its own, only a
	// goroutine and its connection's buffers (about 20 KiB). Default
	// 10000.
	MaxLiveStreams int
	// LiveWriteTimeout bounds the write of one event to a live stream: a
	// viewer that stops reading fills its connection's buffers, and when
	// a write then waits this long its stream ends (the browser's
	// EventSource reconnects by itself). Default 10s.
	LiveWriteTimeout time.Duration
	// ProcessMemory adds the memory of the process that serves the
	// dashboard (see Memory) to every live event, for a dashboard that
	// runs in the job's process, as weir demo's does. Default false.
	ProcessMemory bool
	// MaxRange is the longest from..to range /api/pvuv accepts. Default 24h.
	MaxRange time.Duration
	// MaxWindows is the most windows one /api/pvuv answer holds. Default 2000.
	MaxWindows int
	// Logger gets the dashboard's logs. Default slog.Default().
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if c.Timeout == 0 {
		c.Timeout = 2 * time.Second
	}
	if c.LiveInterval == 0 {
		c.LiveInterval = time.Second
	}
	if c.MaxLiveStreams == 0 {
		c.MaxLiveStreams = 10000
	}
	if c.LiveWriteTimeout == 0 {
		c.LiveWriteTimeout = 10 * time.Second
	}
	if c.MaxRange == 0 {
		c.MaxRange = 24 * time.Hour
	}
	if c.MaxWindows == 0 {
		c.MaxWindows = 2000
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every problem with the configuration, each naming the
// field and the fix.
func (c Config) Validate() error {
	var p []string
	switch {
	case c.Client == nil && c.RedisURL == "":
		p = append(p, "set Client or RedisURL (for example redis://127.0.0.1:6379/0): the dashboard reads the job's results from Redis")
	case c.Client != nil && c.RedisURL != "":
		p = append(p, "set Client or RedisURL, not both")
	}
	if strings.ContainsAny(c.Prefix, " \t\r\n") {
		p = append(p, fmt.Sprintf("Prefix %q must not contain white space; use the prefix the PV/UV job writes under", c.Prefix))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"Timeout", c.Timeout}, {"LiveInterval", c.LiveInterval}, {"LiveWriteTimeout", c.LiveWriteTimeout}, {"MaxRange", c.MaxRange}} {
		if d.v < 0 {
			p = append(p, fmt.Sprintf("%s %v must not be negative (0 takes the default)", d.name, d.v))
		}
	}
	if c.MaxLiveStreams < 0 {
		p = append(p, fmt.Sprintf("MaxLiveStreams %d must not be negative (0 takes the default)", c.MaxLiveStreams))
	}
	if c.MaxWindows < 0 {
		p = append(p, fmt.Sprintf("MaxWindows %d must not be negative (0 takes the default)", c.MaxWindows))
	}
	if len(p) > 0 {
		return fmt.Errorf("dashboard: %s", strings.Join(p, "; "))
	}
	return nil
}

// Dashboard is the dashboard's HTTP handler: the page at / and the API
// under /api/. It is safe for concurrent use.
type Dashboard struct {
	cfg    Config
	store  store
	owned  bool   // the client was opened from RedisURL: Close closes it
	addr   string // Redis, for messages
	log    *slog.Logger
	mux    *http.ServeMux
	static http.Handler

	live  *live
	done  chan struct{} // closed by Close: live streams end
	close sync.Once
	down  atomic.Bool // the last Redis read failed: log only the changes
}

//go:embed assets
var assets embed.FS

// New returns a dashboard over the Redis that cfg names. It starts no
// goroutine of its own (a client it opens from RedisURL has its
// connection's) but the poller of /api/live, which runs while live streams
// are open; Close releases what it holds.
func New(cfg Config) (*Dashboard, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	d := &Dashboard{
		cfg:  cfg,
		log:  cfg.Logger.With("component", "dashboard"),
		done: make(chan struct{}),
	}
	d.live = newLive(d)
	client := cfg.Client
	if client == nil {
		opt, err := rueidis.ParseURL(cfg.RedisURL)
		if err != nil {
			safe := redactURL(cfg.RedisURL)
			if safe != cfg.RedisURL && strings.Contains(err.Error(), cfg.RedisURL) {
				// The parser quotes the URL: keep the password out of logs.
				err = errors.New(strings.ReplaceAll(err.Error(), cfg.RedisURL, safe))
			}
			return nil, fmt.Errorf("dashboard: RedisURL %q: %w; write it as redis://[user:password@]host:port/db", safe, err)
		}
		// One standalone Redis, so the client may start before Redis does
		// (ForceSingleClient returns a client even when the first dial
		// fails); the dashboard reads with plain commands (no client-side
		// cache), which also suits Redis-protocol servers without RESP3.
		opt.ForceSingleClient = true
		opt.DisableCache = true
		d.addr = strings.Join(opt.InitAddress, ",")
		client, err = rueidis.NewClient(opt)
		if client == nil {
			return nil, fmt.Errorf("dashboard: cannot make a Redis client for %s: %w", d.addr, err)
		}
		if err != nil {
			d.log.Warn("Redis is not reachable yet; the API answers 503 until it is", "addr", d.addr, "err", err)
		}
		d.owned = true
	} else {
		d.addr = strings.Join(slices.Sorted(maps.Keys(client.Nodes())), ",")
	}
	d.store = store{client: client, prefix: cfg.Prefix}

	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("dashboard: embedded assets: %w", err) // cannot happen: the directory is embedded
	}
	d.static = http.FileServerFS(sub)
	d.mux = http.NewServeMux()
	d.mux.HandleFunc("GET /api/pvuv", d.servePVUV)
	d.mux.HandleFunc("GET /api/pages", d.servePages)
	d.mux.HandleFunc("GET /api/live", d.serveLive)
	d.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		status := http.StatusNotFound
		switch r.URL.Path {
		case "/api/pvuv", "/api/pages", "/api/live":
			status = http.StatusMethodNotAllowed
			w.Header().Set("Allow", "GET, HEAD")
		}
		writeError(w, status, fmt.Sprintf("dashboard: no API at %s %s; the API is GET /api/pvuv, GET /api/pages and GET /api/live", r.Method, r.URL.Path))
	})
	d.mux.HandleFunc("/", d.servePage)
	return d, nil
}

// ServeHTTP serves the page and the API.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/api/") {
		select {
		case <-d.done:
			writeError(w, http.StatusServiceUnavailable, errClosed)
			return
		default:
		}
	}
	d.mux.ServeHTTP(w, r)
}

const errClosed = "dashboard: closed; it is shutting down"

// Close ends the open live streams and, when the dashboard opened the Redis
// client from Config.RedisURL, closes it; requests that come later answer
// 503. Close does not wait for the handlers to return (http.Server.Shutdown
// does), and a second call does nothing.
func (d *Dashboard) Close() error {
	d.close.Do(func() {
		close(d.done)
		d.live.close()
		if d.owned {
			d.store.client.Close()
		}
	})
	return nil
}

// contentSecurityPolicy lets the page load and fetch from its own origin
// only. ECharts sets inline styles on the elements it makes.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

func (d *Dashboard) servePage(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "dashboard: the page is read-only: use GET", http.StatusMethodNotAllowed)
		return
	}
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// The files have no modification time (they are embedded): ask the
	// browser to revalidate, so a new binary's page is never mixed with an
	// old one's script.
	h.Set("Cache-Control", "no-cache")
	d.static.ServeHTTP(w, r)
}

// errorBody is the JSON form of every error answer.
type errorBody struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen: the answers are plain structs
		status, b = http.StatusInternalServerError, []byte(`{"error":"dashboard: cannot encode the answer"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

// fail answers a request whose Redis read failed with err.
func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		return // the client left; nobody reads an answer
	}
	status, msg := d.classify(err)
	d.log.Debug("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
	writeError(w, status, msg)
}

// classify turns a failed read into a status and a message for the user,
// and logs when Redis goes down or comes back.
func (d *Dashboard) classify(err error) (int, string) {
	var fe *formatError
	if errors.As(err, &fe) {
		d.noteUp()
		return http.StatusBadGateway, err.Error()
	}
	if re := (*rueidis.RedisError)(nil); errors.As(err, &re) && !re.IsNil() {
		d.noteUp()
		return http.StatusBadGateway, fmt.Sprintf("dashboard: Redis at %s answered an error: %v; check that Config.Prefix %q names the keys the PV/UV job writes", d.addr, err, d.cfg.Prefix)
	}
	select {
	case <-d.done:
		return http.StatusServiceUnavailable, errClosed
	default:
	}
	if d.down.CompareAndSwap(false, true) {
		d.log.Warn("cannot read from Redis; the API answers 503 until it can", "addr", d.addr, "err", err)
	}
	return http.StatusServiceUnavailable, fmt.Sprintf("dashboard: cannot read from Redis at %s: %v; check that Redis runs there and that the dashboard's Redis address is right", d.addr, err)
}

// noteUp records a successful read.
func (d *Dashboard) noteUp() {
	if d.down.CompareAndSwap(true, false) {
		d.log.Info("Redis answers again", "addr", d.addr)
	}
}

// redactURL hides the password of a Redis URL in messages.
func redactURL(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		if j := strings.LastIndex(s, "@"); j > i {
			if k := strings.Index(s[i+3:j], ":"); k >= 0 {
				return s[:i+3+k+1] + "xxxxx" + s[j:]
			}
		}
	}
	return s
}
