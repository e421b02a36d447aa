package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/datagen"
	weirhttp "github.com/weirstream/weir/connector/http"
	"github.com/weirstream/weir/sink/async"
)

// Targets of the async-sink benchmark.
const (
	// TargetAsyncBound is the least throughput of the async HTTP sink as a
	// share of its bound by Little's law: requests in flight × batch size ÷
	// latency.
	TargetAsyncBound = 0.90
	// TargetAsyncOverSync is the least throughput of the async HTTP sink as
	// a multiple of the synchronous one (one request per record, one at a
	// time).
	TargetAsyncOverSync = 50.0
)

// Defaults of AsyncSinkConfig.
const (
	DefaultAsyncRecords  = 200_000
	DefaultSyncRecords   = 200
	DefaultAsyncLatency  = 20 * time.Millisecond
	DefaultAsyncBatch    = 100
	DefaultAsyncInFlight = 10
)

// AsyncSinkConfig configures AsyncSinkBench. Zero values take the
// documented defaults.
type AsyncSinkConfig struct {
	// Records is the number of access-log lines the async run writes.
	// Default DefaultAsyncRecords (200,000: about 4 s at the default bound).
	Records int64
	// SyncRecords is the number of lines the synchronous run writes.
	// Default DefaultSyncRecords (200: about 4 s at the default latency).
	SyncRecords int64
	// Latency is how long the endpoint takes to answer each request.
	// Default 20ms.
	Latency time.Duration
	// BatchSize is the async sink's MaxBatchSize. Default 100.
	BatchSize int
	// InFlight is the async sink's MaxInFlightRequests. Default 10.
	InFlight int
}

func (c AsyncSinkConfig) withDefaults() AsyncSinkConfig {
	if c.Records == 0 {
		c.Records = DefaultAsyncRecords
	}
	if c.SyncRecords == 0 {
		c.SyncRecords = DefaultSyncRecords
	}
	if c.Latency == 0 {
		c.Latency = DefaultAsyncLatency
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultAsyncBatch
	}
	if c.InFlight == 0 {
		c.InFlight = DefaultAsyncInFlight
	}
	return c
}

// Validate reports every problem with c, each naming the field.
func (c AsyncSinkConfig) Validate() error {
	var errs []error
	if c.Records < 0 {
		errs = append(errs, fmt.Errorf("bench: Records is %d; pass a positive number of lines, or 0 for %d", c.Records, DefaultAsyncRecords))
	}
	if c.SyncRecords < 0 {
		errs = append(errs, fmt.Errorf("bench: SyncRecords is %d; pass a positive number of lines, or 0 for %d", c.SyncRecords, DefaultSyncRecords))
	}
	if c.Latency < 0 {
		errs = append(errs, fmt.Errorf("bench: Latency is %v; pass a positive duration, or 0 for %v", c.Latency, DefaultAsyncLatency))
	}
	if c.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("bench: BatchSize is %d; pass a positive number, or 0 for %d", c.BatchSize, DefaultAsyncBatch))
	}
	if c.InFlight < 0 {
		errs = append(errs, fmt.Errorf("bench: InFlight is %d; pass a positive number, or 0 for %d", c.InFlight, DefaultAsyncInFlight))
	}
	return errors.Join(errs...)
}

// AsyncSinkRun is the outcome of one run of the HTTP sink.
type AsyncSinkRun struct {
	Name          string        // "async" or "synchronous"
	Records       int64         // records the endpoint received
	Requests      int64         // requests the endpoint answered
	Wall          time.Duration // from the start of the job to its end
	RecordsPerSec float64       // Records / Wall
	// Sink are the sink's metrics at the end of the run (mean batch,
	// latency as the sink saw it, retries).
	Sink async.Metrics
}

// AsyncSinkReport is the outcome of AsyncSinkBench.
type AsyncSinkReport struct {
	Config AsyncSinkConfig // effective
	// Bound is InFlight × BatchSize ÷ Latency, in records per second: what
	// the async sink could reach with no cost but the endpoint's latency.
	Bound       float64
	Async, Sync AsyncSinkRun
	// Baseline is a hand-written client without weir: InFlight goroutines
	// that POST the same batch of BatchSize encoded lines, again and again,
	// until Records records are sent. It shows what the machine allows.
	Baseline AsyncSinkRun
	// BaselineRatio is Async's throughput over Baseline's. For
	// information; it has no target.
	BaselineRatio float64
	// BoundRatio is Async's throughput over Bound; BoundMet whether it
	// reaches TargetAsyncBound.
	BoundRatio float64
	BoundMet   bool
	// LatencyBoundRatio is Async's throughput over the bound computed
	// with the mean batch size and the mean latency the sink measured
	// instead of the configured ones: near 1 when the sink keeps its
	// requests in flight and full, whatever the machine adds to the
	// latency. For information; it has no target.
	LatencyBoundRatio float64
	// SyncRatio is Async's throughput over Sync's; SyncMet whether it
	// reaches TargetAsyncOverSync.
	SyncRatio float64
	SyncMet   bool
}

// AsyncSinkBench measures the HTTP sink on the async base against its
// bound and against its synchronous mode, in one process, one run after
// the other. It starts an HTTP endpoint on a loopback port that answers
// every request after Config.Latency, then runs a weir job that writes
// datagen access-log lines to it: first Config.Records lines with the
// async sink (batches of Config.BatchSize, Config.InFlight requests in
// flight), then Config.SyncRecords lines with one request per record, one
// at a time. It checks that the endpoint received every line.
//
// It returns an error when the configuration is invalid, a run fails, the
// endpoint misses records, or ctx ends; a missed target is reported in the
// report, not as an error. Print writes the report.
func AsyncSinkBench(ctx context.Context, cfg AsyncSinkConfig) (AsyncSinkReport, error) {
	if err := cfg.Validate(); err != nil {
		return AsyncSinkReport{}, err
	}
	cfg = cfg.withDefaults()
	rep := AsyncSinkReport{Config: cfg}
	rep.Bound = float64(cfg.InFlight*cfg.BatchSize) / cfg.Latency.Seconds()

	ep, err := startEndpoint(cfg.Latency)
	if err != nil {
		return rep, err
	}
	defer ep.close()

	rep.Async, err = runHTTPSink(ctx, ep, "async", cfg.Records, async.Options[[]byte]{MaxBatchSize: cfg.BatchSize, MaxInFlightRequests: cfg.InFlight})
	if err != nil {
		return rep, err
	}
	rep.Sync, err = runHTTPSink(ctx, ep, "synchronous", cfg.SyncRecords, async.Options[[]byte]{Synchronous: true})
	if err != nil {
		return rep, err
	}
	rep.Baseline, err = runHTTPBaseline(ctx, ep, cfg)
	if err != nil {
		return rep, err
	}
	if rep.Baseline.RecordsPerSec > 0 {
		rep.BaselineRatio = rep.Async.RecordsPerSec / rep.Baseline.RecordsPerSec
	}
	rep.BoundRatio = rep.Async.RecordsPerSec / rep.Bound
	rep.BoundMet = rep.BoundRatio >= TargetAsyncBound
	if lat := rep.Async.Sink.MeanLatency(); lat > 0 {
		rep.LatencyBoundRatio = rep.Async.RecordsPerSec / (float64(cfg.InFlight) * rep.Async.Sink.MeanBatchSize() / lat.Seconds())
	}
	if rep.Sync.RecordsPerSec > 0 {
		rep.SyncRatio = rep.Async.RecordsPerSec / rep.Sync.RecordsPerSec
	}
	rep.SyncMet = rep.SyncRatio >= TargetAsyncOverSync
	return rep, nil
}

// Print writes the figures, the ratios and whether each target is met.
func (r AsyncSinkReport) Print(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "weir bench async-sink: HTTP endpoint answering after %v; async: batches of %d, %d requests in flight\n",
		c.Latency, c.BatchSize, c.InFlight)
	fmt.Fprintf(w, "bound (in flight × batch ÷ latency): %s records/s\n\n", count(int64(r.Bound)))
	fmt.Fprintf(w, "%-12s %10s %9s %6s %13s %12s %10s\n", "run", "records", "requests", "batch", "mean latency", "records/s", "wall")
	for _, run := range []AsyncSinkRun{r.Async, r.Sync, r.Baseline} {
		fmt.Fprintf(w, "%-12s %10s %9s %6.1f %13v %12s %10v\n", run.Name, count(run.Records), count(run.Requests),
			run.Sink.MeanBatchSize(), run.Sink.MeanLatency().Round(10*time.Microsecond), count(int64(run.RecordsPerSec)), run.Wall.Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-20s %8s   target %-8s %s\n", "async / bound", fmt.Sprintf("%.3f", r.BoundRatio),
		fmt.Sprintf(">= %.2f", TargetAsyncBound), passMiss(r.BoundMet))
	fmt.Fprintf(w, "%-20s %8s   target %-8s %s\n", "async / synchronous", fmt.Sprintf("%.0fx", r.SyncRatio),
		fmt.Sprintf(">= %.0fx", TargetAsyncOverSync), passMiss(r.SyncMet))
	fmt.Fprintf(w, "(async over the hand-written baseline: %.3f; the baseline over the bound: %.3f)\n",
		r.BaselineRatio, r.Baseline.RecordsPerSec/r.Bound)
	fmt.Fprintf(w, "(async over the bound with the measured mean batch and latency, %.1f and %v: %.3f)\n",
		r.Async.Sink.MeanBatchSize(), r.Async.Sink.MeanLatency().Round(10*time.Microsecond), r.LatencyBoundRatio)
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

// runHTTPSink runs one job: n datagen lines into the HTTP sink with o,
// posting to ep.
func runHTTPSink(ctx context.Context, ep *endpoint, name string, n int64, o async.Options[[]byte]) (AsyncSinkRun, error) {
	run := AsyncSinkRun{Name: name}
	o.Logger = slog.Default()
	snk, err := weirhttp.NewSink[string](ep.url, weirhttp.AsyncOptions(o))
	if err != nil {
		return run, fmt.Errorf("bench: %w", err)
	}
	src, err := datagen.NewSource(datagen.Limit(n))
	if err != nil {
		return run, fmt.Errorf("bench: %w", err)
	}
	records0, requests0 := ep.records.Load(), ep.requests.Load()
	start := time.Now()
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, src, weir.Name("datagen")), snk, weir.Name("http"))
	if err := env.Execute(ctx, "bench-async-sink-"+name); err != nil {
		return run, fmt.Errorf("bench: %s run: %w", name, err)
	}
	run.Wall = time.Since(start)
	run.Records = ep.records.Load() - records0
	run.Requests = ep.requests.Load() - requests0
	run.RecordsPerSec = float64(run.Records) / run.Wall.Seconds()
	run.Sink = snk.Metrics()
	if run.Records < n {
		return run, fmt.Errorf("bench: %s run: the endpoint received %d of %d records", name, run.Records, n)
	}
	return run, nil
}

// runHTTPBaseline posts cfg.Records records to ep the way a hand-written
// client would: cfg.InFlight goroutines, each posting one prepared batch of
// cfg.BatchSize encoded datagen lines in a loop.
func runHTTPBaseline(ctx context.Context, ep *endpoint, cfg AsyncSinkConfig) (AsyncSinkRun, error) {
	run := AsyncSinkRun{Name: "baseline"}
	g, err := datagen.New()
	if err != nil {
		return run, fmt.Errorf("bench: %w", err)
	}
	body := []byte{'['}
	var line []byte
	for i := range cfg.BatchSize {
		if i > 0 {
			body = append(body, ',')
		}
		line, _ = g.Next(line[:0])
		enc, err := json.Marshal(string(line))
		if err != nil {
			return run, fmt.Errorf("bench: %w", err)
		}
		body = append(body, enc...)
	}
	body = append(body, ']')

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = cfg.InFlight, cfg.InFlight
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	batches := (cfg.Records + int64(cfg.BatchSize) - 1) / int64(cfg.BatchSize)
	var next, latency atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, cfg.InFlight)
	records0, requests0 := ep.records.Load(), ep.requests.Load()
	start := time.Now()
	for i := range cfg.InFlight {
		wg.Go(func() {
			for next.Add(1) <= batches {
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(body))
				if err != nil {
					errs[i] = err
					return
				}
				req.Header.Set("Content-Type", "application/json")
				sent := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs[i] = err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				latency.Add(int64(time.Since(sent)))
				if resp.StatusCode/100 != 2 {
					errs[i] = fmt.Errorf("the endpoint answered %s", resp.Status)
					return
				}
			}
		})
	}
	wg.Wait()
	run.Wall = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return run, fmt.Errorf("bench: baseline: %w", err)
	}
	run.Records = ep.records.Load() - records0
	run.Requests = ep.requests.Load() - requests0
	run.RecordsPerSec = float64(run.Records) / run.Wall.Seconds()
	run.Sink.Requests, run.Sink.BatchRecords, run.Sink.LatencyTotal = run.Requests, run.Records, time.Duration(latency.Load())
	return run, nil
}

// endpoint is a local HTTP server that answers each POST after a fixed
// latency and counts the records of the JSON arrays it receives.
type endpoint struct {
	url      string
	srv      *http.Server
	done     chan struct{}
	latency  time.Duration
	records  atomic.Int64
	requests atomic.Int64
}

func startEndpoint(latency time.Duration) (*endpoint, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("bench: start the HTTP endpoint: %w", err)
	}
	ep := &endpoint{url: "http://" + ln.Addr().String() + "/ingest", latency: latency, done: make(chan struct{})}
	ep.srv = &http.Server{Handler: ep, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(ep.done)
		ep.srv.Serve(ln)
	}()
	return ep, nil
}

func (ep *endpoint) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if ep.srv.Shutdown(ctx) != nil {
		ep.srv.Close()
	}
	<-ep.done
}

func (ep *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n, ok := countJSONArray(body)
	if !ok {
		http.Error(w, "the body is not a JSON array", http.StatusBadRequest)
		return
	}
	t := time.NewTimer(ep.latency - time.Since(arrived))
	select {
	case <-t.C:
	case <-r.Context().Done():
		t.Stop()
		return
	}
	ep.records.Add(int64(n))
	ep.requests.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// countJSONArray counts the elements of a JSON array of scalars or
// strings, cheaply: it counts the commas outside strings. It reports false
// when b is not enclosed in brackets or a string is not closed.
func countJSONArray(b []byte) (int, bool) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return 0, false
	}
	inner := b[1 : len(b)-1]
	n, empty := 1, true
	for i := 0; i < len(inner); i++ {
		switch c := inner[i]; c {
		case '"':
			// Skip to the closing quote: the first one after an even
			// number of backslashes.
			j := i + 1
			for {
				k := bytes.IndexByte(inner[j:], '"')
				if k < 0 {
					return 0, false
				}
				j += k
				escapes := 0
				for p := j - 1; p > i && inner[p] == '\\'; p-- {
					escapes++
				}
				if escapes%2 == 0 {
					break
				}
				j++
			}
			i, empty = j, false
		case ',':
			n++
		case ' ', '\n', '\t', '\r':
		default:
			empty = false
		}
	}
	if empty {
		return 0, true
	}
	return n, true
}
