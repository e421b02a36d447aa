package redis_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/redis"
	"github.com/weirstream/weir/internal/redistest"
	"github.com/weirstream/weir/sink/async"
	"github.com/weirstream/weir/weirtest"
)

// waitFor polls cond until it holds, failing the test if the job ended
// first (an error from done) or the test's context ends.
func waitFor(t *testing.T, what string, done <-chan error, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case err := <-done:
			t.Fatalf("the job ended (%v) while waiting until %s", err, what)
		case <-t.Context().Done():
			t.Fatalf("the test ended while waiting until %s", what)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// endpointOf returns the endpoint of srv.
func endpointOf(t *testing.T, srv *redistest.Server) redis.Endpoint {
	t.Helper()
	e, err := redis.ParseURL(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSinkWritesTheLayout(t *testing.T) {
	srv := redistest.Start(t)
	snk, err := redis.NewSink(endpointOf(t, srv), pvuvLayout("weir:pvuv"))
	if err != nil {
		t.Fatal(err)
	}
	// Two writers: each window's early and final results are in the same
	// half of the input, in order.
	const windows = 40
	env := weir.NewEnv(weir.Parallelism(2))
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(windowResults(windows)...)), snk)
	if err := env.Execute(t.Context(), "redis-layout"); err != nil {
		t.Fatal(err)
	}
	if d := diff(contents(t, srv.Client(t), "weir:pvuv:*"), wantPVUV("weir:pvuv", windows)); d != "" {
		t.Fatalf("Redis does not hold what the layout says:%s", d)
	}
	m := snk.Metrics()
	if m.RecordsWritten != 2*windows || m.RecordsBuffered != 0 || m.Retries != 0 {
		t.Errorf("metrics: %d written, %d buffered, %d retries; want %d, 0, 0", m.RecordsWritten, m.RecordsBuffered, m.Retries, 2*windows)
	}
	if o := snk.Options(); o.MaxInFlightRequests != redis.DefaultMaxInFlightRequests || o.Size == nil || !strings.HasPrefix(o.Name, "redis://127.0.0.1:") {
		t.Errorf("effective options %s; want the sink's defaults", o)
	}
}

// TestSinkRidesOutARedisRestart stops Redis in the middle of a run and
// starts it again later: the job waits, holding no more than
// MaxBufferedRecords records and holding back its source, and at the end
// every record is in Redis.
func TestSinkRidesOutARedisRestart(t *testing.T) {
	srv := redistest.Start(t)
	const (
		n          = 3000
		beforeStop = 1000 // records written before Redis stops
		maxHeld    = 100
	)
	snk, err := redis.NewSink(endpointOf(t, srv), func(i int, cmds []redis.Command) []redis.Command {
		k := strconv.Itoa(i)
		return append(cmds,
			redis.Command{"HSET", "rec:" + k, "value", "v" + k},
			redis.Command{"ZADD", "recs", k, k})
	}, redis.AsyncOptions(async.Options[redis.Entry]{
		MaxBatchSize:       25,
		MaxBufferedRecords: maxHeld,
		MaxTimeInBuffer:    time.Millisecond,
		InitialBackoff:     5 * time.Millisecond,
		MaxBackoff:         20 * time.Millisecond,
	}))
	if err != nil {
		t.Fatal(err)
	}
	records := make([]int, n)
	for i := range records {
		records[i] = i
	}
	src := weirtest.FromSlice(records...)
	src.BatchSize = 10

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	gate := make(chan struct{})
	var entered atomic.Int64 // records that reached the sink
	env := weir.NewEnv(weir.Parallelism(1))
	counted := weir.Map(weir.FromSource(env, src), func(i int) int {
		if i == beforeStop {
			select {
			case <-gate:
			case <-ctx.Done():
			}
		}
		entered.Add(1)
		return i
	})
	weir.SinkTo(counted, snk)
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx, "redis-restart") }()

	waitFor(t, "the first records are written", done, func() bool { return snk.Metrics().RecordsWritten == beforeStop })
	srv.Shutdown()
	close(gate)

	// The writer fills up and then blocks: the job stalls.
	waitFor(t, "the sink holds MaxBufferedRecords records", done, func() bool {
		m := snk.Metrics()
		return m.RecordsBuffered == maxHeld && m.RequestsFailed > 0
	})
	for range 20 {
		m := snk.Metrics()
		got := entered.Load()
		// What reached the sink is what Redis has, what the writer holds,
		// and at most the one record blocked in Write.
		if limit := m.RecordsWritten + maxHeld + 1; got > limit {
			t.Fatalf("with Redis down the source ran ahead: %d records reached the sink, %d were written, the bound is %d", got, m.RecordsWritten, maxHeld)
		}
		if m.RecordsWritten != beforeStop {
			t.Fatalf("%d records written while Redis was down, want %d", m.RecordsWritten, beforeStop)
		}
		time.Sleep(5 * time.Millisecond)
	}

	srv.Restart()
	if err := <-done; err != nil {
		t.Fatalf("the job failed: %v", err)
	}
	m := snk.Metrics()
	if m.RecordsBufferedPeak > maxHeld {
		t.Errorf("the sink held %d records at its peak, more than MaxBufferedRecords (%d)", m.RecordsBufferedPeak, maxHeld)
	}
	if m.Retries == 0 || m.RecordsWritten != n {
		t.Errorf("metrics: %d retries, %d written; want some retries and %d written", m.Retries, m.RecordsWritten, n)
	}
	c := srv.Client(t)
	got := contents(t, c, "rec:*")
	for i := range n {
		k := strconv.Itoa(i)
		if want := "hash value=v" + k; got["rec:"+k] != want {
			t.Fatalf("rec:%d = %q, want %q (%d of %d records in Redis)", i, got["rec:"+k], want, len(got), n)
		}
	}
	if card, err := c.Do(t.Context(), c.B().Zcard().Key("recs").Build()).AsInt64(); err != nil || card != n {
		t.Fatalf("ZCARD recs = %d, %v; want %d", card, err, n)
	}
}

// TestSinkReplayIsIdempotent fails a job after its sink wrote part of the
// results; the job restarts with no completed checkpoint, so it replays
// everything from the start, writing those results a second time. Redis
// must end as a run without failure leaves it.
func TestSinkReplayIsIdempotent(t *testing.T) {
	srv := redistest.Start(t)
	const windows = 30
	results := windowResults(windows)
	snk, err := redis.NewSink(endpointOf(t, srv), pvuvLayout("weir:pvuv"),
		redis.AsyncOptions(async.Options[redis.Entry]{MaxBatchSize: 8, MaxTimeInBuffer: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	indexes := make([]int, len(results))
	for i := range indexes {
		indexes[i] = i
	}
	// The failure comes after window 20's early result: Redis holds it
	// when the job fails, and its final result comes after the replay.
	const failAt = 41
	var failed atomic.Bool
	env := weir.NewEnv(weir.Parallelism(1), weir.Checkpoints(time.Hour, t.TempDir()),
		weir.Restart(weir.FixedDelayRestart(1, time.Millisecond)))
	out := weir.Process(weir.FromSource(env, weirtest.FromSlice(indexes...)), func(ctx *weir.Context, i int, out weir.Emitter[windowResult]) error {
		if i == failAt && !failed.Swap(true) {
			for snk.Metrics().RecordsWritten < failAt {
				select {
				case <-t.Context().Done():
					return t.Context().Err()
				case <-time.After(time.Millisecond):
				}
			}
			return errors.New("injected failure")
		}
		out.Emit(results[i])
		return nil
	})
	weir.SinkTo(out, snk)
	if err := env.Execute(t.Context(), "redis-replay"); err != nil {
		t.Fatal(err)
	}
	if !failed.Load() {
		t.Fatal("the failure was not injected")
	}
	if got, want := snk.Metrics().RecordsWritten, int64(failAt+len(results)); got != want {
		t.Fatalf("%d records written, want %d: the first %d twice", got, want, failAt)
	}
	if d := diff(contents(t, srv.Client(t), "weir:pvuv:*"), wantPVUV("weir:pvuv", windows)); d != "" {
		t.Fatalf("after the replay Redis differs from a run without failure:%s", d)
	}
}

func TestSinkCommandErrorFailsTheJob(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	if err := c.Do(t.Context(), c.B().Set().Key("weir:pvuv:windows").Value("a string").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	// MaxAttempts turns a refusal mistaken for a transient failure into a
	// failure of this test instead of endless retries.
	snk, err := redis.NewSink(endpointOf(t, srv), pvuvLayout("weir:pvuv"),
		redis.AsyncOptions(async.Options[redis.Entry]{MaxAttempts: 3, InitialBackoff: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(windowResults(2)...)), snk)
	err = env.Execute(t.Context(), "redis-wrongtype")
	if err == nil {
		t.Fatal("the job succeeded writing a sorted set over a string")
	}
	if strings.Contains(err.Error(), "MaxAttempts") {
		t.Errorf("WRONGTYPE was retried: %v", err)
	}
	for _, want := range []string{"WRONGTYPE", `key "weir:pvuv:windows"`, "ZADD weir:pvuv:windows", "delete the key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestSinkFailsAtStartWhenRedisIsDown(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	snk, err := redis.NewSink(endpointOf(t, srv), func(i int, cmds []redis.Command) []redis.Command {
		return append(cmds, redis.Command{"SET", "k", strconv.Itoa(i)})
	}, redis.DialTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(1, 2, 3)), snk)
	err = env.Execute(t.Context(), "redis-down")
	if err == nil || !strings.Contains(err.Error(), "connect to "+srv.URL()) {
		t.Fatalf("Execute with Redis down = %v; want an error naming the server", err)
	}
}

// TestNewSinkChecksItsConfiguration: NewSink reports every problem with
// the endpoint, the layout and the options at once, the async base's
// included, each naming what to fix.
func TestNewSinkChecksItsConfiguration(t *testing.T) {
	layout := func(int, []redis.Command) []redis.Command { return nil }
	x := redis.Endpoint{Addr: "x:6379"}
	for _, c := range []struct {
		e      redis.Endpoint
		layout redis.Layout[int]
		opts   []redis.SinkOption
		want   []string
	}{
		{redis.Endpoint{}, layout, nil, []string{"Endpoint.Addr is empty"}},
		{x, nil, nil, []string{"layout is nil"}},
		{x, layout, []redis.SinkOption{redis.DialTimeout(-1)}, []string{"DialTimeout(-1ns)"}},
		{x, layout, []redis.SinkOption{redis.AsyncOptions(async.Options[redis.Entry]{MaxBatchSize: -1})}, []string{"MaxBatchSize"}},
		{redis.Endpoint{Addr: "x", DB: -2}, nil, []redis.SinkOption{redis.DialTimeout(-1), redis.AsyncOptions(async.Options[redis.Entry]{MaxBatchSize: -1})},
			[]string{"Endpoint.Addr \"x\"", "Endpoint.DB is -2", "layout is nil", "DialTimeout", "MaxBatchSize"}},
	} {
		_, err := redis.NewSink(c.e, c.layout, c.opts...)
		if err == nil {
			t.Errorf("NewSink(%+v) succeeded", c.e)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("NewSink(%+v) = %q, want it to mention %q", c.e, err, w)
			}
		}
	}
}

func TestSinkRejectsACommandWithoutKey(t *testing.T) {
	srv := redistest.Start(t)
	snk, err := redis.NewSink(endpointOf(t, srv), func(int, []redis.Command) []redis.Command {
		return []redis.Command{{"FLUSHALL"}}
	})
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(1)), snk)
	if err := env.Execute(t.Context(), "redis-bad-layout"); err == nil || !strings.Contains(err.Error(), "fix the layout") {
		t.Fatalf("Execute = %v; want an error asking to fix the layout", err)
	}
}

func TestParseURL(t *testing.T) {
	for _, c := range []struct {
		in   string
		want redis.Endpoint
	}{
		{"redis://127.0.0.1:6380/2", redis.Endpoint{Addr: "127.0.0.1:6380", DB: 2}},
		{"redis://cache.internal", redis.Endpoint{Addr: "cache.internal:6379"}},
		{"redis://cache.internal/", redis.Endpoint{Addr: "cache.internal:6379"}},
		{"rediss://u:p%40ss@[::1]:7000/1", redis.Endpoint{Addr: "[::1]:7000", DB: 1, Username: "u", Password: "p@ss", TLS: true}},
		{"redis://:secret@h:1/0", redis.Endpoint{Addr: "h:1", Password: "secret"}},
	} {
		got, err := redis.ParseURL(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
	for in, want := range map[string]string{
		"":                          "no scheme",
		"127.0.0.1:6379":            "scheme",
		"http://h:1":                `scheme "http"`,
		"redis://":                  "no host",
		"redis://h:0":               "port",
		"redis://h:99999":           "port",
		"redis://h:1/x":             `database "x"`,
		"redis://h:1/-1":            `database "-1"`,
		"redis://h:1/0?timeout=1s":  "query parameters",
		"redis://u:topsecret@h:1/x": "xxxxx",
		"redis://u:topsecret@h:%zz": "xxxxx",
	} {
		_, err := redis.ParseURL(in)
		if err == nil {
			t.Errorf("ParseURL(%q) succeeded", in)
			continue
		}
		if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "redis://") {
			t.Errorf("ParseURL(%q) = %q; want it to mention %q and show the form", in, err, want)
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("ParseURL(%q) = %q shows the password", in, err)
		}
	}
}

func TestEndpointStringHidesThePassword(t *testing.T) {
	e, err := redis.ParseURL("rediss://user:topsecret@h:1/3")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(e); got != "rediss://user:xxxxx@h:1/3" {
		t.Fatalf("String = %q", got)
	}
}

// TestLookupInAsyncWait runs the enrichment of ExampleNewLookup against a
// real server.
func TestLookupInAsyncWait(t *testing.T) {
	srv := redistest.Start(t)
	c := srv.Client(t)
	if err := c.Do(t.Context(), c.B().Hset().Key("weir:pages:category").FieldValue().
		FieldValue("/home", "landing").FieldValue("/cart", "shop").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	lookup, err := redis.NewLookup(endpointOf(t, srv), redis.CacheSize(10))
	if err != nil {
		t.Fatal(err)
	}
	defer lookup.Close()
	pages := []string{"/home", "/cart", "/about"}
	// Read each page once before the job: every call of the job is then
	// answered from the cache, whatever order the calls run in.
	for _, p := range pages {
		if _, err := categoryOf(lookup)(t.Context(), pageView{Page: p}); err != nil {
			t.Fatal(err)
		}
	}
	var views []pageView
	for i := range 300 {
		views = append(views, pageView{Page: pages[i%3], Client: fmt.Sprint("10.0.0.", i)})
	}
	env := weir.NewEnv(weir.Parallelism(2))
	out := weirtest.NewCollector[categorized]()
	enriched := weir.AsyncWait(weir.FromSource(env, weirtest.FromSlice(views...)), categoryOf(lookup),
		weir.AsyncOptions[pageView, categorized]{Capacity: 20})
	weir.SinkTo(enriched, out)
	if err := env.Execute(t.Context(), "enrich"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"/home": "landing", "/cart": "shop", "/about": "other"}
	got := out.Records()
	if len(got) != len(views) {
		t.Fatalf("%d records out, want %d", len(got), len(views))
	}
	for _, r := range got {
		if r.Category != want[r.Page] {
			t.Fatalf("%+v: category %q, want %q", r, r.Category, want[r.Page])
		}
	}
	if s := lookup.Stats(); s != (redis.LookupStats{Hits: int64(len(views)), Misses: 3, Entries: 3}) {
		t.Fatalf("Stats = %+v, want %d hits, 3 misses (the warm-up), 3 entries", s, len(views))
	}
}

// TestNewClient: a client made from an endpoint carries its settings (the
// connection's name), and a wrong endpoint or option is reported before
// anything connects.
func TestNewClient(t *testing.T) {
	srv := redistest.Start(t)
	e := endpointOf(t, srv)
	e.ClientName = "weir-test"
	c, err := redis.NewClient(e, redis.DialTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if name, err := c.Do(t.Context(), c.B().ClientGetname().Build()).ToString(); err != nil || name != "weir-test" {
		t.Fatalf("CLIENT GETNAME = %q, %v; want weir-test", name, err)
	}
	_, err = redis.NewClient(redis.Endpoint{}, redis.DialTimeout(0))
	for _, want := range []string{"Endpoint.Addr is empty", "DialTimeout(0s)"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewClient(Endpoint{}, DialTimeout(0)) = %v; want it to mention %q", err, want)
		}
	}
}
