package browsertest

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// healthy is a page with the hook: one chart with three points and a
// counter that counts up.
const healthy = `<!doctype html><html><head><meta charset="utf-8"><title>ok</title>
<link rel="icon" href="data:,"></head>
<body style="height:1500px"><h1>healthy</h1><script>
let n = 0;
setInterval(() => { n++; }, 50);
window.weirDashboard = { state: () => ({ ready: true, points: { line: 3 }, counters: { n: n, still: 7 } }) };
</script></body></html>`

// broken logs an error, throws, and loads an image from the internet.
const broken = `<!doctype html><html><head><meta charset="utf-8"><title>broken</title>
<link rel="icon" href="data:,"></head>
<body><img src="http://weir-test.invalid/logo.png" alt=""><script>
console.error("boom", 42);
setTimeout(() => { throw new Error("kaboom"); }, 0);
window.weirDashboard = { state: () => ({ ready: true, points: { line: 1, empty: 0 }, counters: {} }) };
</script></body></html>`

// noHook never defines the hook.
const noHook = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,"></head><body>nothing</body></html>`

func serve(t *testing.T, page string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(page))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// assertGone fails t if a process still names the report's profile, or
// the profile directory is still there.
func assertGone(t *testing.T, rep *Report) {
	t.Helper()
	if rep.Profile == "" {
		t.Fatal("the report names no profile directory")
	}
	if pids := processesWith([]byte("--user-data-dir=" + rep.Profile)); len(pids) > 0 {
		t.Errorf("browser processes %v are still running after the check", pids)
	}
	if _, err := os.Stat(rep.Profile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the profile %s was not removed: %v", rep.Profile, err)
	}
}

func TestHealthyPage(t *testing.T) {
	rep, err := CheckDashboard(context.Background(), serve(t, healthy), Options{Gap: 500 * time.Millisecond, Width: 800, Height: 600})
	if err != nil {
		t.Fatalf("CheckDashboard: %v", err)
	}
	if p := rep.Problems(); len(p) > 0 {
		t.Errorf("a healthy page has problems: %q", p)
	}
	if got := rep.First.Points["line"]; got != 3 {
		t.Errorf("points of line = %d, want 3", got)
	}
	if got, want := rep.Moved(), []string{"n"}; !slices.Equal(got, want) {
		t.Errorf("Moved() = %q, want %q (first %v, second %v)", got, want, rep.First.Counters, rep.Second.Counters)
	}
	if !bytes.HasPrefix(rep.Screenshot, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("the screenshot is not a PNG: %q...", rep.Screenshot[:min(16, len(rep.Screenshot))])
	}
	if len(rep.Requests) == 0 || !strings.HasPrefix(rep.Requests[0], rep.URL) {
		t.Errorf("requests %q do not start with the page %s", rep.Requests, rep.URL)
	}
	assertGone(t, rep)
}

func TestBrokenPage(t *testing.T) {
	rep, err := CheckDashboard(context.Background(), serve(t, broken), Options{Wait: 2 * time.Second})
	if err == nil {
		t.Fatal("CheckDashboard succeeded though a chart never has points")
	}
	if !strings.Contains(err.Error(), "never reported points") || !strings.Contains(err.Error(), "kaboom") {
		t.Errorf("the error does not say what went wrong: %v", err)
	}
	// The hook answered, but a chart stayed empty: the check waits for
	// Options.Wait and reports what it saw so far.
	if !slices.ContainsFunc(rep.ConsoleErrors, func(s string) bool { return s == "boom 42" }) {
		t.Errorf("console errors %q lack console.error(\"boom\", 42)", rep.ConsoleErrors)
	}
	if !slices.ContainsFunc(rep.Exceptions, func(s string) bool { return strings.Contains(s, "kaboom") }) {
		t.Errorf("exceptions %q lack the thrown error", rep.Exceptions)
	}
	if !slices.Contains(rep.Foreign, "http://weir-test.invalid/logo.png") {
		t.Errorf("foreign requests %q lack the image from outside", rep.Foreign)
	}
	if len(rep.Problems()) < 3 {
		t.Errorf("Problems() = %q, want the console error, the exception and the foreign request", rep.Problems())
	}
	assertGone(t, rep)
}

func TestNoHook(t *testing.T) {
	rep, err := CheckDashboard(context.Background(), serve(t, noHook), Options{Wait: time.Second})
	if err == nil || !strings.Contains(err.Error(), "never defined window.weirDashboard.state()") {
		t.Fatalf("CheckDashboard error = %v, want one that says the hook is missing", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the error %v does not wrap context.DeadlineExceeded", err)
	}
	assertGone(t, rep)
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := CheckDashboard(ctx, serve(t, healthy), Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CheckDashboard with a canceled context: %v, want context.Canceled", err)
	}
	assertGone(t, rep)
}

func TestNoChromium(t *testing.T) {
	_, err := CheckDashboard(context.Background(), "http://127.0.0.1:1/", Options{Chromium: "/nonexistent/chromium"})
	if !errors.Is(err, ErrNoChromium) {
		t.Fatalf("CheckDashboard with a missing browser: %v, want ErrNoChromium", err)
	}
	if !strings.Contains(err.Error(), "run scripts/test-deps.sh") {
		t.Errorf("the error %q does not say how to install chromium", err)
	}
}

func TestFindChromium(t *testing.T) {
	p, err := FindChromium("")
	if err != nil {
		t.Fatalf("FindChromium: %v (the browser tests need chromium: run scripts/test-deps.sh)", err)
	}
	if st, err := os.Stat(p); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("FindChromium() = %q, not an executable: %v", p, err)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Hook: "a.b()"}, "Hook"},
		{Options{Width: -1}, "Width"},
		{Options{Gap: -time.Second}, "Gap"},
		{Options{Wait: -time.Second}, "Wait"},
	} {
		err := tc.opts.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", tc.opts, err, tc.want)
		}
	}
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("the zero Options do not validate: %v", err)
	}
	if _, err := CheckDashboard(context.Background(), "file:///etc/passwd", Options{}); err == nil || !strings.Contains(err.Error(), "http") {
		t.Errorf("CheckDashboard of a file URL: %v, want an error that asks for http", err)
	}
}

func TestForeign(t *testing.T) {
	origin := "http://127.0.0.1:8080"
	for u, want := range map[string]bool{
		"http://127.0.0.1:8080/api/pvuv":  false,
		"data:image/png;base64,AAAA":      false,
		"blob:http://127.0.0.1:8080/1234": false,
		"http://127.0.0.1:8081/":          true,
		"https://127.0.0.1:8080/":         true,
		"http://example.com/echarts.js":   true,
	} {
		if got := foreign(origin, u); got != want {
			t.Errorf("foreign(%q) = %v, want %v", u, got, want)
		}
	}
}
