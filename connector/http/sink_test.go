package http_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weirstream/weir"
	weirhttp "github.com/weirstream/weir/connector/http"
	"github.com/weirstream/weir/sink/async"
	"github.com/weirstream/weir/weirtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.DiscardHandler)

type rec struct {
	ID  int    `json:"id"`
	Tag string `json:"tag"`
}

// fast are the base options of the tests: small batches, short backoff.
func fast(o async.Options[[]byte]) weirhttp.SinkOption {
	if o.MaxBatchSize == 0 {
		o.MaxBatchSize = 50
	}
	o.InitialBackoff, o.MaxBackoff, o.Logger = time.Millisecond, 10*time.Millisecond, quiet
	return weirhttp.AsyncOptions(o)
}

// endpoint is a test server that decodes each batch and counts each id.
type endpoint struct {
	mu       sync.Mutex
	received map[int]int
	requests []time.Time // arrival of each request
	statuses map[int]int
	// answer, if set, decides the status of request n (from 0) and may set
	// headers; store says whether the batch counts as received even so.
	answer func(n int, w http.ResponseWriter, r *http.Request) (status int, store bool)
	bad    []string // problems with requests
}

func newEndpoint() *endpoint {
	return &endpoint{received: map[int]int{}, statuses: map[int]int{}}
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	n := len(e.requests)
	e.requests = append(e.requests, time.Now())
	answer := e.answer
	e.mu.Unlock()
	status, store := http.StatusOK, true
	if answer != nil {
		status, store = answer(n, w, r)
	}
	if status == 0 { // the answer was handled
		return
	}
	var batch []rec
	body, err := io.ReadAll(r.Body)
	if err == nil {
		err = json.Unmarshal(body, &batch)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if err != nil {
		e.bad = append(e.bad, fmt.Sprintf("request %d: %v: %.100s", n, err, body))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" || r.Method != http.MethodPost {
		e.bad = append(e.bad, fmt.Sprintf("request %d: %s with Content-Type %q", n, r.Method, ct))
	}
	if store {
		for _, v := range batch {
			e.received[v.ID]++
		}
	}
	e.statuses[status]++
	w.WriteHeader(status)
}

func (e *endpoint) check(t *testing.T) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, b := range e.bad {
		t.Error(b)
	}
}

func recs(n int) []rec {
	out := make([]rec, n)
	for i := range out {
		out[i] = rec{ID: i, Tag: "<&>" + strconv.Itoa(i)}
	}
	return out
}

// An endpoint that fails 30% of requests with 500 or 429 still receives
// every record, through a job with checkpoints at parallelism 2.
func TestFlakyEndpointReceivesEveryRecord(t *testing.T) {
	const n = 5000
	ep := newEndpoint()
	r := rand.New(rand.NewPCG(5, 6))
	ep.answer = func(_ int, w http.ResponseWriter, req *http.Request) (int, bool) {
		if req.Header.Get("Authorization") != "Bearer t0ken" {
			return http.StatusUnauthorized, false
		}
		ep.mu.Lock()
		x := r.IntN(100)
		ep.mu.Unlock()
		switch {
		case x < 10:
			return http.StatusInternalServerError, false
		case x < 15:
			// Stored, then failed: the retry makes duplicates.
			return http.StatusBadGateway, true
		case x < 30:
			w.Header().Set("Retry-After", "0")
			return http.StatusTooManyRequests, false
		}
		return http.StatusOK, true
	}
	srv := httptest.NewServer(ep)
	defer srv.Close()

	snk, err := weirhttp.NewSink[rec](srv.URL+"/ingest?key=secret", weirhttp.Header("Authorization", "Bearer t0ken"),
		fast(async.Options[[]byte]{MaxInFlightRequests: 4}))
	if err != nil {
		t.Fatal(err)
	}
	src := weirtest.FromSlice(recs(n)...)
	src.BatchSize, src.Delay = 100, time.Millisecond
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(20*time.Millisecond, t.TempDir()))
	weir.SinkTo(weir.FromSource(env, src), snk)
	if err := env.Execute(t.Context(), "flaky-http"); err != nil {
		t.Fatal(err)
	}
	ep.check(t)
	ep.mu.Lock()
	defer ep.mu.Unlock()
	dups := 0
	for id := range n {
		switch c := ep.received[id]; {
		case c == 0:
			t.Fatalf("record %d never arrived", id)
		case c > 1:
			dups += c - 1
		}
	}
	if len(ep.received) != n {
		t.Fatalf("the endpoint received %d distinct ids, want %d", len(ep.received), n)
	}
	if ep.statuses[500] == 0 || ep.statuses[429] == 0 || ep.statuses[502] == 0 || ep.statuses[401] != 0 {
		t.Fatalf("statuses answered %v: want some 500, 502 and 429, and no 401", ep.statuses)
	}
	m := snk.Metrics()
	if m.RecordsWritten != n || m.Retries == 0 {
		t.Fatalf("metrics %+v", m)
	}
	t.Logf("%d records in %d requests, statuses %v, %d duplicates (at-least-once), %d retried entries",
		n, len(ep.requests), ep.statuses, dups, m.Retries)
}

// Retry-After, in seconds or as an HTTP date, is the least wait before the
// retry.
func TestRetryAfterHonoured(t *testing.T) {
	ep := newEndpoint()
	var date time.Time
	ep.answer = func(n int, w http.ResponseWriter, _ *http.Request) (int, bool) {
		switch n {
		case 0:
			w.Header().Set("Retry-After", "1")
			return http.StatusTooManyRequests, false
		case 1:
			ep.mu.Lock()
			date = time.Now().Add(2 * time.Second).Truncate(time.Second)
			ep.mu.Unlock()
			w.Header().Set("Retry-After", date.UTC().Format(http.TimeFormat))
			return http.StatusServiceUnavailable, false
		}
		return http.StatusOK, true
	}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	snk, err := weirhttp.NewSink[rec](srv.URL, fast(async.Options[[]byte]{}))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(rec{ID: 1})), snk)
	if err := env.Execute(t.Context(), "retry-after"); err != nil {
		t.Fatal(err)
	}
	ep.check(t)
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if len(ep.requests) != 3 || ep.received[1] != 1 {
		t.Fatalf("%d requests, received %v; want 3 requests and the record once", len(ep.requests), ep.received)
	}
	if gap := ep.requests[1].Sub(ep.requests[0]); gap < time.Second {
		t.Errorf("the retry after Retry-After: 1 came %v after the first request", gap)
	}
	if ep.requests[2].Before(date) {
		t.Errorf("the retry after Retry-After: %s came at %s, before that date", date.Format(http.TimeFormat), ep.requests[2].Format(time.RFC3339Nano))
	}
}

// A 400 fails the job at once, with the status and the start of the body.
func TestBadRequestFailsJob(t *testing.T) {
	ep := newEndpoint()
	ep.answer = func(n int, w http.ResponseWriter, _ *http.Request) (int, bool) {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error": "record 3: field \"id\" must be a string"}`+strings.Repeat(" pad", 300)+"END")
		return 0, false
	}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	snk, err := weirhttp.NewSink[rec](srv.URL+"/ingest?token=secret", fast(async.Options[[]byte]{}))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(recs(10)...)), snk)
	err = env.Execute(t.Context(), "bad-request")
	if err == nil {
		t.Fatal("the job succeeded though the endpoint answered 400")
	}
	msg := err.Error()
	for _, want := range []string{"400 Bad Request", `record 3: field \"id\" must be a string`, "http POST " + srv.URL + "/ingest", "retrying will not help"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "END") || strings.Contains(msg, "secret") {
		t.Errorf("the error quotes the whole body or the query:\n%s", msg)
	}
	var se *weirhttp.StatusError
	if !errors.As(err, &se) || se.StatusCode != 400 || len(se.Body) != weirhttp.MaxErrorBody {
		t.Fatalf("errors.As(*StatusError): %+v", se)
	}
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if len(ep.requests) != 1 {
		t.Fatalf("%d requests, want 1: a 400 is not retried", len(ep.requests))
	}
}

// A dropped connection and a request that outlives Timeout are retried.
func TestNetworkErrorsAndTimeoutsRetry(t *testing.T) {
	ep := newEndpoint()
	ep.answer = func(n int, w http.ResponseWriter, r *http.Request) (int, bool) {
		switch n {
		case 0:
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return 0, false
		case 1:
			// Read the body, so that the server notices when the client
			// gives up, and wait until it does.
			io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
			return 0, false
		}
		return http.StatusOK, true
	}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	snk, err := weirhttp.NewSink[rec](srv.URL, weirhttp.Timeout(100*time.Millisecond), fast(async.Options[[]byte]{MaxInFlightRequests: 1}))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(recs(120)...)), snk)
	if err := env.Execute(t.Context(), "network-errors"); err != nil {
		t.Fatal(err)
	}
	ep.check(t)
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if len(ep.received) != 120 || len(ep.requests) < 5 {
		t.Fatalf("received %d records in %d requests, want 120 in at least 5", len(ep.received), len(ep.requests))
	}
}

// A redirect that would turn the POST into a GET fails the job instead of
// dropping the batch.
func TestRedirectToGetFails(t *testing.T) {
	ep := newEndpoint()
	ep.answer = func(n int, w http.ResponseWriter, r *http.Request) (int, bool) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusOK)
			return 0, false
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
		return 0, false
	}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	snk, err := weirhttp.NewSink[rec](srv.URL, fast(async.Options[[]byte]{}))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(recs(3)...)), snk)
	err = env.Execute(t.Context(), "redirect")
	var se *weirhttp.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusFound {
		t.Fatalf("Execute: %v, want a StatusError with 302", err)
	}
}

type point struct{ x, y int }

func (p point) AppendJSON(dst []byte) []byte {
	return fmt.Appendf(dst, `{"id":%d,"tag":"p%d"}`, p.x, p.y)
}

func TestEncoders(t *testing.T) {
	ep := newEndpoint()
	srv := httptest.NewServer(ep)
	defer srv.Close()
	byFunc, err := weirhttp.NewSinkFunc(srv.URL, func(id int) ([]byte, error) { return fmt.Appendf(nil, `{"id":%d}`, id), nil }, fast(async.Options[[]byte]{}))
	if err != nil {
		t.Fatal(err)
	}
	byMethod, err := weirhttp.NewSink[point](srv.URL, fast(async.Options[[]byte]{}))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(1, 2, 3)), byFunc)
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(point{10, 1}, point{11, 2})), byMethod)
	if err := env.Execute(t.Context(), "encoders"); err != nil {
		t.Fatal(err)
	}
	ep.check(t)
	ep.mu.Lock()
	defer ep.mu.Unlock()
	for _, id := range []int{1, 2, 3, 10, 11} {
		if ep.received[id] != 1 {
			t.Errorf("id %d received %d times, want once: %v", id, ep.received[id], ep.received)
		}
	}
}

// The synchronous mode sends one record per request.
func TestSynchronous(t *testing.T) {
	ep := newEndpoint()
	srv := httptest.NewServer(ep)
	defer srv.Close()
	snk, err := weirhttp.NewSink[rec](srv.URL, fast(async.Options[[]byte]{Synchronous: true}))
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv()
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(recs(20)...)), snk)
	if err := env.Execute(t.Context(), "sync"); err != nil {
		t.Fatal(err)
	}
	ep.check(t)
	ep.mu.Lock()
	defer ep.mu.Unlock()
	if len(ep.requests) != 20 || len(ep.received) != 20 {
		t.Fatalf("%d requests for %d records, want one each", len(ep.requests), len(ep.received))
	}
}

func TestNewSinkValidates(t *testing.T) {
	_, err := weirhttp.NewSink[rec]("ftp://example.com/x", weirhttp.Timeout(-time.Second),
		weirhttp.AsyncOptions(async.Options[[]byte]{MaxBatchSize: -1}))
	if err == nil {
		t.Fatal("NewSink accepted a bad URL and timeout")
	}
	// Every problem at once: the base's options too.
	for _, want := range []string{"ftp://example.com/x", "Timeout(-1s)", "http://", "MaxBatchSize"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q:\n%v", want, err)
		}
	}
	if _, err := weirhttp.NewSink[rec]("http://127.0.0.1:1/", weirhttp.AsyncOptions(async.Options[[]byte]{MaxBatchSize: -1})); err == nil || !strings.Contains(err.Error(), "MaxBatchSize") {
		t.Fatalf("NewSink with a negative MaxBatchSize: %v", err)
	}
	s, err := weirhttp.NewSink[rec]("https://example.com/in?key=secret")
	if err != nil {
		t.Fatal(err)
	}
	if name := s.Options().Name; name != "http POST https://example.com/in" {
		t.Fatalf("default name %q", name)
	}
}

// Write blocks while the endpoint does not answer: the sink holds at most
// MaxBufferedRecords records.
func TestStalledEndpointBackpressures(t *testing.T) {
	release := make(chan struct{})
	ep := newEndpoint()
	ep.answer = func(n int, w http.ResponseWriter, r *http.Request) (int, bool) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-release:
		case <-r.Context().Done():
		}
		return http.StatusOK, true
	}
	srv := httptest.NewServer(ep)
	defer srv.Close()
	snk, err := weirhttp.NewSink[rec](srv.URL, fast(async.Options[[]byte]{MaxBatchSize: 10, MaxInFlightRequests: 2, MaxBufferedRecords: 40}))
	if err != nil {
		t.Fatal(err)
	}
	w, err := snk.NewWriter(subtask0{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx, cancel := context.WithCancel(t.Context())
	accepted := make(chan int)
	go func() {
		n := 0
		for _, r := range recs(100) {
			if w.Write(ctx, r) != nil {
				break
			}
			n++
		}
		accepted <- n
	}()
	// Wait until the writer holds its bound; the next Write blocks.
	for snk.Metrics().RecordsBuffered < 40 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if n := <-accepted; n != 40 {
		t.Fatalf("Write accepted %d records while the endpoint stalled, want MaxBufferedRecords = 40", n)
	}
	if m := snk.Metrics(); m.RecordsBufferedPeak != 40 {
		t.Fatalf("buffered peak %d, want 40", m.RecordsBufferedPeak)
	}
	close(release)
}

type subtask0 struct{}

func (subtask0) Subtask() int        { return 0 }
func (subtask0) Parallelism() int    { return 1 }
func (subtask0) Checkpointing() bool { return false }
func (subtask0) Restored() []byte    { return nil }
