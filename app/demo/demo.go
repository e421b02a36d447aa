// Package demo runs the whole PV/UV pipeline in one process, with embedded
// defaults, for `weir demo`:
//
//	web servers ──access logs──▶ shipper ──▶ Kafka ──▶ PV/UV job ──▶ Redis ──▶ dashboard
//
// Synthetic web servers write nginx access logs to a directory and rotate
// them; the shipper (package app/ship) produces their lines to a Kafka
// topic, positions and lines in one transaction; the PV/UV job reads the
// topic with one watermark per partition, takes checkpoints, and writes
// its windows, running and final, and the daily figures to Redis; the
// dashboard reads them from Redis. Kafka is an in-process broker and Redis
// an in-process server (miniredis) unless real ones are given.
//
// A demo left open for days stays bounded. The embedded broker deletes
// the records that the job committed past and that are older than
// Config.Retention (and the shipper's positions records before its last
// one); its topics have small segments, so what it deletes leaves memory.
// The windows and days in Redis expire Config.WindowTTL after their last
// write (pvuv.RedisTTL); the embedded Redis is told how much time passed
// every second, as miniredis needs. The dashboard shows the process's
// memory, which GET /api/memory answers too.
package demo

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/app/pvuv/dashboard"
	"github.com/weirstream/weir/app/ship"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/connector/redis"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/web"
)

// Config says how to run the demo. The zero value runs everything
// embedded, with the defaults below.
type Config struct {
	// Kafka is a real cluster's brokers (host:port, comma-separated) to use
	// instead of the embedded broker.
	Kafka string
	// Redis is a real Redis (redis://host:port/db) to use instead of the
	// embedded server.
	Redis string
	// Rate is the access-log lines per second over all web servers.
	// Default 2000.
	Rate float64
	// Servers is the number of synthetic web servers. Default 2.
	Servers int
	// HTTP is the address of the dashboard and the job's API. Default
	// 127.0.0.1:8080; port 0 picks a free one.
	HTTP string
	// HTTPToken, when set, guards the dashboard and the job's API with
	// web.Guard's rules: a user opens the dashboard once with ?token=, a
	// tool sends Authorization: Bearer. Serve beyond loopback only with a
	// token (weir demo refuses to start without one).
	HTTPToken string
	// HTTPTLS, when set, serves HTTP over TLS with this configuration.
	HTTPTLS *tls.Config
	// LogDir is where the web servers write their logs. Given, every
	// rotated log is kept there (a test can recount them); by default a
	// temporary directory keeps the last few and is removed at the end.
	LogDir string
	// Window is the size of the windows. Default 1 minute.
	Window time.Duration
	// Parallelism of the job. Default 2.
	Parallelism int
	// UV is "exact" (default) or "hll".
	UV string
	// Topic is the Kafka topic of the access logs. Default "access".
	Topic string
	// Retention is how long the embedded broker keeps records: it deletes
	// the access logs' records older than Retention that the job has
	// committed past, and the shipper's positions records older than
	// Retention but its last one. Default DefaultRetention; negative keeps
	// every record. A real Kafka (Kafka) applies its own retention.
	Retention time.Duration
	// WindowTTL is how long a window and a day stay in Redis after their
	// last write (pvuv.RedisTTL), in the embedded Redis or a real one.
	// Default DefaultWindowTTL, the span the dashboard draws; negative
	// keeps every window. At least Window.
	WindowTTL time.Duration
	// Logger gets the components' logs. Default slog.Default().
	Logger *slog.Logger
	// Ready, when set, is called once everything runs, with where it is.
	Ready func(Addresses)
	// OnWindow, when set, is called with every window's final result, from
	// the job's goroutine.
	OnWindow func(pvuv.Result)
	// Stopped, when set, is called when the job was stopped through its
	// API (POST /api/stop). Run then stops every part and returns nil,
	// rather than serve the frozen numbers of a job that no longer runs.
	Stopped func()
}

// Addresses says where the running demo's parts are.
type Addresses struct {
	Dashboard string // http://host:port/ (https:// with Config.HTTPTLS)
	JobAPI    string // http://host:port/api/metrics
	JobUI     string // http://host:port/ui/: the job's graph, bottleneck, checkpoints, flame graphs
	Memory    string // http://host:port/api/memory: the process's memory, as JSON
	Kafka     string // host:port
	Topic     string
	Redis     string // redis://host:port/0
	Logs      string // the directory of the access logs
}

// Defaults of Config.
const (
	DefaultRetention = 2 * time.Minute
	DefaultWindowTTL = time.Hour
)

func (c Config) withDefaults() Config {
	if c.Rate == 0 {
		c.Rate = 2000
	}
	if c.Servers == 0 {
		c.Servers = 2
	}
	if c.HTTP == "" {
		c.HTTP = "127.0.0.1:8080"
	}
	if c.Window == 0 {
		c.Window = time.Minute
	}
	if c.Parallelism == 0 {
		c.Parallelism = 2
	}
	if c.UV == "" {
		c.UV = "exact"
	}
	if c.Topic == "" {
		c.Topic = "access"
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.WindowTTL == 0 {
		c.WindowTTL = DefaultWindowTTL
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every problem with the configuration.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if !(c.Rate > 0) || c.Rate > 1_000_000 {
		errs = append(errs, fmt.Errorf("demo: rate %v is not between 1 and 1000000 lines per second", c.Rate))
	}
	if c.Servers < 1 || c.Servers > 64 {
		errs = append(errs, fmt.Errorf("demo: servers %d is not between 1 and 64", c.Servers))
	}
	if c.Parallelism < 1 {
		errs = append(errs, fmt.Errorf("demo: parallelism %d must be at least 1", c.Parallelism))
	}
	if c.Kafka != "" {
		if _, err := kafka.ParseBrokers(c.Kafka); err != nil {
			errs = append(errs, fmt.Errorf("demo: kafka: %w", err))
		}
	}
	if c.Redis != "" {
		if _, err := redis.ParseURL(c.Redis); err != nil {
			errs = append(errs, fmt.Errorf("demo: redis: %w", err))
		}
	}
	if c.WindowTTL > 0 && c.WindowTTL < c.Window {
		errs = append(errs, fmt.Errorf("demo: window TTL %v is shorter than the window %v: windows would expire while they run; give at least the window, or a negative TTL to keep them", c.WindowTTL, c.Window))
	}
	if err := (pvuv.Options{Window: c.Window, UV: c.UV}).Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Run runs the demo until ctx is done, its job is stopped through the API
// (Config.Stopped) or a part fails, and then stops every part. It returns
// nil when ctx or the stop ended it.
func Run(ctx context.Context, cfg Config) (err error) {
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg = cfg.withDefaults()
	log := cfg.Logger
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	fail := func(part string, err error) {
		if err != nil && ctx.Err() == nil {
			cancel(fmt.Errorf("%s: %w", part, err))
		}
	}

	addrs := Addresses{Topic: cfg.Topic}
	logDir, keepLogs := cfg.LogDir, cfg.LogDir != ""
	if logDir == "" {
		if logDir, err = os.MkdirTemp("", "weir-demo-logs-"); err != nil {
			return fmt.Errorf("demo: a directory for the logs: %w", err)
		}
		defer os.RemoveAll(logDir)
	} else if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fmt.Errorf("demo: the log directory: %w", err)
	}
	addrs.Logs = logDir
	ckptDir, err := os.MkdirTemp("", "weir-demo-checkpoints-")
	if err != nil {
		return fmt.Errorf("demo: a directory for checkpoints: %w", err)
	}
	defer os.RemoveAll(ckptDir)

	// Kafka.
	var brokers []string
	var keep *retention // the embedded broker's retention
	if cfg.Kafka != "" {
		brokers, _ = kafka.ParseBrokers(cfg.Kafka)
	} else {
		b, err := kafkatest.Start(kafkatest.Config{Partitions: 4, Topics: []string{cfg.Topic}})
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer b.Close()
		brokers = []string{b.Addr()}
		if cfg.Retention > 0 {
			keep = &retention{
				opts:  kafka.Client{Brokers: brokers, ClientID: "weir-demo-retention"}.Opts(),
				topic: cfg.Topic, positions: cfg.Topic + ".positions", group: jobGroup,
				keep: cfg.Retention, log: log,
			}
			// Before the shipper creates the positions topic itself.
			if err := keep.prepare(ctx); err != nil {
				return fmt.Errorf("demo: %w", err)
			}
		}
	}
	addrs.Kafka = brokers[0]

	// Redis.
	redisURL := cfg.Redis
	var embedded *miniredis.Miniredis
	if redisURL == "" {
		embedded = miniredis.NewMiniRedis()
		if err := embedded.StartAddr("127.0.0.1:0"); err != nil {
			return fmt.Errorf("demo: start the embedded Redis: %w", err)
		}
		defer embedded.Close()
		redisURL = "redis://" + embedded.Addr() + "/0"
	}
	addrs.Redis = redisURL
	server, err := redis.ParseURL(redisURL)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	server.ClientName = "weir-demo"
	rc, err := redis.NewClient(server)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer rc.Close()

	// Everything that uses Kafka and Redis stops before they close.
	defer func() {
		cancel(nil)
		wg.Wait()
	}()
	if keep != nil {
		wg.Go(func() { keep.run(ctx) })
	}
	if embedded != nil && cfg.WindowTTL > 0 {
		wg.Go(func() { passTime(ctx, embedded, min(time.Second, cfg.WindowTTL/4)) })
	}

	// The web servers and the shipper.
	pattern := filepath.Join(logDir, "access-*.log")
	for i := range cfg.Servers {
		w := &logWriter{dir: logDir, server: i, rate: cfg.Rate / float64(cfg.Servers), keep: keepLogs, log: log}
		wg.Go(func() { fail("web server", w.run(ctx)) })
	}
	shipper, err := ship.New(ship.Config{
		Client:  kafka.Client{Brokers: brokers, ClientID: "weir-demo-ship"},
		Pattern: pattern, Topic: cfg.Topic, Logger: log, ProgressInterval: -1,
	})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	wg.Go(func() { fail("shipper", shipper.Run(ctx)) })

	// The job.
	env, err := buildJob(cfg, brokers, server, ckptDir)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}

	// The dashboard and the job's API on one address.
	board, err := dashboard.New(dashboard.Config{Client: rc, Logger: log, ProcessMemory: true})
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	defer board.Close()
	ln, err := net.Listen("tcp", cfg.HTTP)
	if err != nil {
		return fmt.Errorf("demo: listen on %s (use another address, such as 127.0.0.1:0): %w", cfg.HTTP, err)
	}
	if cfg.HTTPTLS != nil {
		ln = tls.NewListener(ln, cfg.HTTPTLS)
	}
	mux := http.NewServeMux()
	hist := web.NewHistory(env, web.HistoryOptions{})
	wg.Go(func() { hist.Run(ctx) })
	api := web.Handler(env, web.Options{Token: cfg.HTTPToken, Logger: log, History: hist})
	for _, p := range []string{"/api/metrics", "/api/checkpoints", "/api/savepoints", "/api/stop", "/debug/pprof/",
		"/ui/", "/api/graph", "/api/channels", "/api/bottleneck", "/api/history", "/api/subtasks", "/api/exceptions", "/api/restores", "/api/profile"} {
		mux.Handle(p, api)
	}
	pages := http.NewServeMux()
	pages.HandleFunc("GET /api/memory", serveMemory)
	pages.Handle("/", board)
	mux.Handle("/", web.Guard(pages, cfg.HTTPToken))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	wg.Go(func() {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			fail("http", err)
		}
	})
	defer func() {
		sctx, stop := context.WithTimeout(context.Background(), 2*time.Second)
		srv.Shutdown(sctx) // live streams end with the dashboard's Close
		stop()
	}()
	base := "http://" + ln.Addr().String()
	if cfg.HTTPTLS != nil {
		base = "https://" + ln.Addr().String()
	}
	addrs.Dashboard = base + "/"
	addrs.JobAPI = base + "/api/metrics"
	addrs.JobUI = base + "/ui/"
	addrs.Memory = base + "/api/memory"
	if cfg.Ready != nil {
		cfg.Ready(addrs)
	}

	jobErr := env.Execute(ctx, "pvuv-demo")
	if jobErr == nil && ctx.Err() == nil {
		// The Kafka source never ends: only a stop through the API ends
		// the job without an error.
		log.Info("demo: the job was stopped through its API; stopping the demo")
		if cfg.Stopped != nil {
			cfg.Stopped()
		}
		return nil
	}
	fail("job", jobErr)
	<-ctx.Done()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("demo: %w", cause)
	}
	return nil
}

// jobGroup is the consumer group of the job's Kafka source: it commits
// the offsets of completed checkpoints there.
const jobGroup = "weir-demo"

// passTime tells the embedded Redis every so often how much time passed:
// miniredis expires keys only when told (FastForward), never by itself.
func passTime(ctx context.Context, m *miniredis.Miniredis, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			m.FastForward(now.Sub(last))
			last = now
		}
	}
}

// serveMemory answers the process's memory as JSON (dashboard.Memory).
func serveMemory(w http.ResponseWriter, _ *http.Request) {
	b, _ := json.Marshal(dashboard.ReadMemory()) // cannot fail: numbers
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}

// buildJob builds the PV/UV job from the Kafka topic to Redis.
func buildJob(cfg Config, brokers []string, server redis.Endpoint, ckptDir string) (*weir.Env, error) {
	env := weir.NewEnv(weir.Parallelism(cfg.Parallelism), weir.Checkpoints(time.Second, ckptDir), weir.WithLogger(cfg.Logger))
	src, err := kafka.NewSource(kafka.Client{Brokers: brokers, ClientID: "weir-demo"}, kafka.Topics(cfg.Topic), kafka.StringValue,
		kafka.WithLogger(cfg.Logger),
		kafka.Group(jobGroup), kafka.DiscoveryInterval(5*time.Second))
	if err != nil {
		return nil, err
	}
	const outOfOrderness = 5 * time.Second
	strategy := weir.BoundedOutOfOrderness(outOfOrderness, pvuv.LineTime).WithIdleness(10 * time.Second)
	lines := weir.FromSourceWithWatermarks(env, src, strategy, weir.Name("kafka"))
	job, err := pvuv.Build(lines, pvuv.Options{
		Window: cfg.Window, OutOfOrderness: outOfOrderness, TopN: 10, UV: cfg.UV,
		SourceWatermarks: true, SourceDeadLetters: true, EarlyResults: time.Second,
	})
	if err != nil {
		return nil, err
	}
	var ttl []pvuv.RedisOption
	if cfg.WindowTTL > 0 {
		ttl = append(ttl, pvuv.RedisTTL(cfg.WindowTTL))
	}
	if err := job.SinkToRedis(server, "", ttl...); err != nil {
		return nil, err
	}
	weir.SinkTo(job.Bad, sink.Func[pvuv.BadLine](func(context.Context, pvuv.BadLine) error { return nil }), weir.Name("count-bad"))
	if cfg.OnWindow != nil {
		weir.SinkTo(job.Results, sink.Func[pvuv.Result](func(_ context.Context, r pvuv.Result) error {
			if !r.Running {
				cfg.OnWindow(r)
			}
			return nil
		}), weir.Name("console"), weir.Parallelism(1))
	}
	return env, nil
}
