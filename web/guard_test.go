package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/web"
	"github.com/weirstream/weir/weirtest"
)

const testToken = "t0ken-for-tests-0123456789abcdef"

// gateSink's writers block in Flush, so in every checkpoint and
// savepoint, while the gate is closed; flushing is signalled when one
// waits.
type gateSink struct {
	closed   atomic.Bool
	open     chan struct{} // closed to let flushes through
	flushing chan struct{} // one value per Flush that waits
}

func newGateSink() *gateSink {
	return &gateSink{open: make(chan struct{}), flushing: make(chan struct{}, 16)}
}

func (g *gateSink) release() {
	if !g.closed.Swap(true) {
		close(g.open)
	}
}

func (g *gateSink) NewWriter(sink.WriterContext) (sink.Writer[int], error) { return gateWriter{g}, nil }

type gateWriter struct{ g *gateSink }

func (w gateWriter) Write(context.Context, int) error { return nil }
func (w gateWriter) Close() error                     { return nil }
func (w gateWriter) Flush(ctx context.Context) error {
	select {
	case <-w.g.open:
		return nil
	default:
	}
	select {
	case w.g.flushing <- struct{}{}:
	default:
	}
	select {
	case <-w.g.open:
	case <-ctx.Done():
	}
	return nil
}

// startJob runs an endless job with checkpoints into dir every interval,
// writing to out (nil: a collector), until the test ends.
func startJob(t *testing.T, dir string, interval time.Duration, out sink.Sink[int]) *weir.Env {
	t.Helper()
	env := weir.NewEnv(weir.Checkpoints(interval, dir))
	if out == nil {
		out = weirtest.NewTxCollector[int]()
	}
	weir.SinkTo(weir.FromSource(env, &weirtest.SliceSource[int]{Forever: true}), out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx, "api") }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return env
}

// call sends a request and returns its status and body.
func call(t *testing.T, c *http.Client, method, url string, header map[string]string, body string) (int, string) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if strings.Contains(string(b), testToken) || strings.Contains(resp.Header.Get("Location"), testToken) {
		t.Errorf("%s %s: the answer contains the token: %s", method, url, b)
	}
	return resp.StatusCode, string(b)
}

// postUntilRunning retries a savepoint request while the job starts.
func postUntilRunning(t *testing.T, c *http.Client, url string, header map[string]string) string {
	t.Helper()
	for range 200 {
		code, body := call(t, c, http.MethodPost, url, header, "")
		if code == http.StatusOK {
			var out struct{ Path string }
			if err := json.Unmarshal([]byte(body), &out); err != nil {
				t.Fatalf("POST %s: %v: %s", url, err, body)
			}
			return out.Path
		}
		if code != http.StatusConflict || !strings.Contains(body, "no job with checkpoints is running") {
			t.Fatalf("POST %s: %d %s", url, code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("POST %s: the job did not start", url)
	return ""
}

// TestTokenRules: with a token, every request needs it; mutations are
// same-origin POSTs with JSON or no body; pprof needs the header.
func TestTokenRules(t *testing.T) {
	env := startJob(t, t.TempDir(), 50*time.Millisecond, nil)
	srv := httptest.NewServer(web.Handler(env, web.Options{Token: testToken}))
	defer srv.Close()
	c := srv.Client()
	bearer := map[string]string{"Authorization": "Bearer " + testToken}
	wrong := map[string]string{"Authorization": "Bearer " + testToken[:len(testToken)-1] + "x"}
	with := func(h map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for hk, hv := range h {
			out[hk] = hv
		}
		return out
	}
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		body               string
		want               int
	}{
		{"GET without a token", "GET", "/api/metrics", nil, "", 401},
		{"GET with a wrong token", "GET", "/api/metrics", wrong, "", 401},
		{"GET with the token", "GET", "/api/metrics", bearer, "", 200},
		{"savepoint without a token", "POST", "/api/savepoints", nil, "", 401},
		{"savepoint with a wrong token", "POST", "/api/savepoints", wrong, "", 401},
		{"stop with a wrong token", "POST", "/api/stop", wrong, "", 401},
		{"stop cross-origin", "POST", "/api/stop", with(bearer, "Origin", "http://evil.example"), "", 403},
		{"stop from another site", "POST", "/api/stop", with(bearer, "Sec-Fetch-Site", "cross-site"), "", 403},
		{"stop as a form", "POST", "/api/stop", with(bearer, "Content-Type", "application/x-www-form-urlencoded"), "a=1", 415},
		{"stop as text", "POST", "/api/stop", with(bearer, "Content-Type", "text/plain"), "{}", 415},
		{"stop with a body but no type", "POST", "/api/stop", bearer, "{}", 415},
		{"stop by GET", "GET", "/api/stop", bearer, "", 405},
		{"pprof without a token", "GET", "/debug/pprof/", nil, "", 401},
		{"pprof with a wrong token", "GET", "/debug/pprof/", wrong, "", 401},
		{"pprof with ?token=", "GET", "/debug/pprof/?token=" + testToken, nil, "", 401},
		{"pprof with the token", "GET", "/debug/pprof/", bearer, "", 200},
		{"a goroutine profile with the token", "GET", "/debug/pprof/goroutine?debug=1", bearer, "", 200},
	} {
		code, body := call(t, c, tc.method, srv.URL+tc.path, tc.header, tc.body)
		if code != tc.want {
			t.Errorf("%s: %s %s answered %d, want %d: %s", tc.name, tc.method, tc.path, code, tc.want, body)
		}
	}
	// The job still runs: none of the refused stops went through.
	path := postUntilRunning(t, c, srv.URL+"/api/savepoints", with(bearer, "Content-Type", "application/json"))
	if _, err := os.Stat(filepath.Join(path, "_metadata")); err != nil {
		t.Fatalf("savepoint %q: %v", path, err)
	}
	same := with(bearer, "Origin", srv.URL)
	if code, body := call(t, c, "POST", srv.URL+"/api/stop", same, ""); code != 200 {
		t.Fatalf("same-origin stop with the token: %d %s", code, body)
	}
}

// TestTokenCookie: a page opened once with ?token= sets a cookie and
// redirects to the URL without the token; the cookie then opens pages and
// GET APIs, but drives nothing.
func TestTokenCookie(t *testing.T) {
	env := startJob(t, t.TempDir(), 50*time.Millisecond, nil)
	srv := httptest.NewServer(web.Handler(env, web.Options{Token: testToken}))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	noFollow := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	if code, _ := call(t, noFollow, "GET", srv.URL+"/api/checkpoints?token=wrong-"+testToken, nil, ""); code != 401 {
		t.Fatalf("a wrong ?token=: %d, want 401", code)
	}
	if cs := jar.Cookies(mustURL(t, srv.URL)); len(cs) != 0 {
		t.Fatalf("a wrong ?token= set cookies %v", cs)
	}
	resp, err := noFollow.Get(srv.URL + "/api/metrics?token=" + testToken + "&x=1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/api/metrics?x=1" {
		t.Fatalf("?token=: %s to %q, want 303 to /api/metrics?x=1", resp.Status, resp.Header.Get("Location"))
	}
	set := resp.Header.Get("Set-Cookie")
	for _, w := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(set, w) {
			t.Errorf("Set-Cookie %q lacks %s", set, w)
		}
	}
	if strings.Contains(set, testToken) {
		t.Errorf("the cookie is the token itself: %q", set)
	}
	if code, body := call(t, noFollow, "GET", srv.URL+"/api/checkpoints", nil, ""); code != 200 {
		t.Fatalf("GET with the cookie: %d %s", code, body)
	}
	if code, _ := call(t, noFollow, "GET", srv.URL+"/debug/pprof/", nil, ""); code != 401 {
		t.Fatalf("pprof with the cookie only: %d, want 401", code)
	}
	if code, _ := call(t, noFollow, "POST", srv.URL+"/api/stop", nil, ""); code != 401 {
		t.Fatalf("stop with the cookie only: %d, want 401", code)
	}
	if code, _ := call(t, noFollow, "GET", srv.URL+"/api/profile?seconds=1", nil, ""); code != 401 {
		t.Fatalf("a CPU profile with the cookie only: %d, want 401", code)
	}
	if code, body := call(t, noFollow, "GET", srv.URL+"/ui/", nil, ""); code != 200 || !strings.Contains(body, "jobui.js") {
		t.Fatalf("the job UI with the cookie: %d %s", code, body)
	}
	// Another client has no cookie.
	if code, _ := call(t, srv.Client(), "GET", srv.URL+"/api/checkpoints", nil, ""); code != 401 {
		t.Fatalf("GET without the cookie: %d, want 401", code)
	}
}

// TestHTTPSCookie: over TLS the cookie is Secure.
func TestHTTPSCookie(t *testing.T) {
	env := startJob(t, t.TempDir(), time.Hour, nil)
	srv := httptest.NewTLSServer(web.Handler(env, web.Options{Token: testToken}))
	defer srv.Close()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(srv.URL + "/?token=" + testToken)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if set := resp.Header.Get("Set-Cookie"); resp.StatusCode != http.StatusSeeOther || !strings.Contains(set, "Secure") {
		t.Fatalf("?token= over TLS: %s, Set-Cookie %q: want 303 and a Secure cookie", resp.Status, set)
	}
}

// TestNoToken: without a token, a loopback server answers as before, but
// refuses cross-origin and non-JSON mutations, and requests addressed to
// a name that is not loopback (DNS rebinding).
func TestNoToken(t *testing.T) {
	env := startJob(t, t.TempDir(), time.Hour, nil)
	srv := httptest.NewServer(web.Handler(env, web.Options{}))
	defer srv.Close()
	c := srv.Client()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	for _, tc := range []struct {
		name, method, path string
		header             map[string]string
		body               string
		want               int
	}{
		{"GET", "GET", "/api/metrics", nil, "", 200},
		{"GET as localhost", "GET", "/api/metrics", map[string]string{"Host": "localhost:" + port}, "", 200},
		{"pprof", "GET", "/debug/pprof/", nil, "", 200},
		{"GET by a rebound name", "GET", "/api/metrics", map[string]string{"Host": "evil.example:" + port}, "", 403},
		{"stop by a rebound name", "POST", "/api/stop", map[string]string{"Host": "evil.example:" + port, "Origin": "http://evil.example:" + port}, "", 403},
		{"stop cross-origin", "POST", "/api/stop", map[string]string{"Origin": "http://evil.example"}, "", 403},
		{"stop as text", "POST", "/api/stop", map[string]string{"Content-Type": "text/plain"}, "x", 415},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		for k, v := range tc.header {
			req.Header.Set(k, v)
		}
		if h, ok := tc.header["Host"]; ok {
			req.Host = h
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %s %s answered %d, want %d: %s", tc.name, tc.method, tc.path, resp.StatusCode, tc.want, b)
		}
	}
}

// TestSavepointInProgress: a savepoint asked while one is in progress is
// refused with 409; once it completed, the next one is taken.
func TestSavepointInProgress(t *testing.T) {
	gate := newGateSink()
	env := startJob(t, t.TempDir(), time.Hour, gate) // no periodic checkpoint gets in the way
	srv := httptest.NewServer(web.Handler(env, web.Options{}))
	defer srv.Close()
	defer gate.release() // first: Close waits for the savepoints
	c := srv.Client()
	// The job may not run yet: the first request waits for it.
	first := make(chan int, 1)
	go func() {
		for {
			resp, err := c.Post(srv.URL+"/api/savepoints", "", nil)
			if err != nil {
				first <- 0
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusConflict || !strings.Contains(string(b), "no job with checkpoints is running") {
				first <- resp.StatusCode
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	select {
	case <-gate.flushing: // the first savepoint is in progress
	case code := <-first:
		t.Fatalf("the first savepoint answered %d before it could complete", code)
	}
	// Were it not refused, it would wait for the gate: fail, not hang.
	quick := &http.Client{Timeout: 20 * time.Second}
	code, body := call(t, quick, "POST", srv.URL+"/api/savepoints", nil, "")
	if code != http.StatusConflict || !strings.Contains(body, "in progress") {
		t.Fatalf("a savepoint while one is in progress: %d %s, want 409 in progress", code, body)
	}
	if code, body := call(t, quick, "POST", srv.URL+"/api/stop", nil, ""); code != http.StatusConflict || !strings.Contains(body, "in progress") {
		t.Fatalf("a stop while a savepoint is in progress: %d %s, want 409 in progress", code, body)
	}
	gate.release()
	if code := <-first; code != http.StatusOK {
		t.Fatalf("the first savepoint: %d, want 200", code)
	}
	if code, body := call(t, c, "POST", srv.URL+"/api/savepoints", nil, ""); code != 200 {
		t.Fatalf("a savepoint after the first completed: %d %s", code, body)
	}
}

// TestRetainSavepoints: the API keeps its newest RetainSavepoints
// savepoints and never deletes one it did not take.
func TestRetainSavepoints(t *testing.T) {
	env := startJob(t, t.TempDir(), time.Hour, nil)
	srv := httptest.NewServer(web.Handler(env, web.Options{RetainSavepoints: 2}))
	defer srv.Close()
	c := srv.Client()
	var taken []string
	for range 4 {
		taken = append(taken, postUntilRunning(t, c, srv.URL+"/api/savepoints", nil))
		if len(taken) == 1 {
			// One taken beside the API, as a restored one would be.
			p, err := env.TriggerSavepoint(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			taken = append(taken, p)
		}
	}
	// taken: API, beside, API, API, API.
	wantKept := []bool{false, true, false, true, true}
	for i, p := range taken {
		_, err := os.Stat(p)
		if kept := err == nil; kept != wantKept[i] {
			t.Errorf("savepoint %d (%s): kept %v, want %v", i, p, kept, wantKept[i])
		}
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestHealthNeedsNoToken: /healthz and /readyz answer probes that carry no
// secret, and say nothing else; a cluster's worker is not ready before it
// is a member.
func TestHealthNeedsNoToken(t *testing.T) {
	env := startJob(t, t.TempDir(), time.Hour, nil)
	srv := httptest.NewServer(web.Handler(env, web.Options{Token: testToken}))
	defer srv.Close()
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := call(t, srv.Client(), http.MethodGet, srv.URL+path, nil, ""); code != http.StatusOK {
			t.Errorf("GET %s without the token: %d %s, want 200", path, code, body)
		}
	}
	if code, _ := call(t, srv.Client(), http.MethodGet, srv.URL+"/api/metrics", nil, ""); code != http.StatusUnauthorized {
		t.Errorf("GET /api/metrics without the token: %d, want 401", code)
	}
	if code, _ := call(t, srv.Client(), http.MethodPost, srv.URL+"/healthz", nil, ""); code != http.StatusUnauthorized {
		t.Errorf("POST /healthz without the token: %d, want 401", code)
	}

	// A worker that has not joined its cluster (no broker answers).
	worker := weir.NewEnv(weir.Checkpoints(time.Hour, t.TempDir()),
		weir.Cluster(weir.ClusterConfig{Brokers: []string{"127.0.0.1:1"}, Name: "x", Advertise: "127.0.0.1:0"}))
	weir.SinkTo(weir.FromSource(worker, &weirtest.SliceSource[int]{Forever: true}), weirtest.NewCollector[int]())
	ws := httptest.NewServer(web.Handler(worker, web.Options{Token: testToken}))
	defer ws.Close()
	if code, body := call(t, ws.Client(), http.MethodGet, ws.URL+"/readyz", nil, ""); code != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz of a worker that has not joined: %d %s, want 503", code, body)
	}
}
