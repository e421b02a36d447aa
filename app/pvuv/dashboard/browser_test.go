package dashboard_test

import (
	"bytes"
	"context"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/weirstream/weir/app/pvuv/dashboard"
	"github.com/weirstream/weir/internal/browsertest"
	"github.com/weirstream/weir/internal/redistest"
)

// traffic writes what the PV/UV job would: closed windows for the past
// minutes, and a running window for the current minute that grows on
// every tick, with the day and the counters, per the key layout.
type traffic struct {
	l        layout
	tick     int
	cur      dashboard.Window
	pages    map[string]int64
	day      dashboard.Day
	counters dashboard.Counters
}

var paths = []string{"/", "/products", "/products/42", "/cart", "/checkout", "/blog/streams-in-go",
	"/docs/windows", "/about", "/pricing", "/search?q=weir", "/login", "/signup"}

// pagesFor spreads pv over the paths, the first most (a Zipf-like mix).
func pagesFor(pv int64, shift int) map[string]int64 {
	out := map[string]int64{}
	left := pv
	for i := range paths {
		n := left / 2
		if i == len(paths)-1 || n == 0 {
			n = left
		}
		out[paths[(i+shift)%len(paths)]] += n
		left -= n
		if left == 0 {
			break
		}
	}
	return out
}

// prefill writes the closed windows of the past minutes, with a daily
// rhythm and some noise so the charts look like traffic.
func (tr *traffic) prefill(ctx context.Context, minutes int) error {
	now := time.Now().UnixMilli()
	start := now - now%minute
	tr.day.Date = time.UnixMilli(start).UTC().Format(time.DateOnly)
	for i := minutes; i > 0; i-- {
		s := start - int64(i)*minute
		pv := int64(600 + 250*math.Sin(float64(i)/6) + float64((i*37)%90))
		uv := pv/4 + int64((i*13)%25)
		if err := tr.l.window(ctx, dashboard.Window{Start: s, End: s + minute, PV: pv, UV: uv, Final: true}, pagesFor(pv, i%3)); err != nil {
			return err
		}
		tr.day.PV += pv
		tr.day.UV += uv / 3
		tr.counters.Lines += pv + pv/40
		tr.counters.BadLines += pv / 40
		tr.counters.Late += int64(i % 2)
	}
	tr.cur = dashboard.Window{Start: start, End: start + minute}
	tr.pages = map[string]int64{}
	return tr.step(ctx)
}

// step adds a fifth of a second of traffic to the running window; when the
// minute turned, it closes the window and opens the next.
func (tr *traffic) step(ctx context.Context) error {
	if now := time.Now().UnixMilli(); now >= tr.cur.End {
		tr.cur.Final = true
		if err := tr.l.window(ctx, tr.cur, tr.pages); err != nil {
			return err
		}
		s := now - now%minute
		tr.cur = dashboard.Window{Start: s, End: s + minute}
		tr.pages = map[string]int64{}
	}
	tr.tick++
	views := int64(3 + tr.tick%5)
	tr.cur.PV += views
	tr.cur.UV += int64(1 + tr.tick%2)
	for p, n := range pagesFor(views, tr.tick%4) {
		tr.pages[p] += n
	}
	tr.day.PV += views
	tr.day.UV++
	tr.counters.Lines += views
	if tr.tick%3 == 0 {
		tr.counters.Lines++
		tr.counters.BadLines++
	}
	if tr.tick%7 == 0 {
		tr.counters.Late++
	}
	if err := tr.l.window(ctx, tr.cur, tr.pages); err != nil {
		return err
	}
	if err := tr.l.day(ctx, tr.day); err != nil {
		return err
	}
	return tr.l.counters(ctx, tr.counters)
}

// run steps every interval until ctx ends.
func (tr *traffic) run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := tr.step(ctx); err != nil && ctx.Err() == nil {
			return err
		}
	}
}

// TestBrowser loads the page in headless Chromium over a real Redis that
// changes every 200 ms, as it does under a running job.
func TestBrowser(t *testing.T) {
	r := redistest.Start(t)
	client := r.Client(t)
	d, err := dashboard.New(dashboard.Config{Client: client, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d)
	defer srv.Close()
	defer d.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := &traffic{l: layout{c: client, prefix: dashboard.DefaultPrefix}}
	const past = 40
	must(t, tr.prefill(ctx, past))
	wrote := make(chan error, 1)
	go func() { wrote <- tr.run(ctx, 200*time.Millisecond) }()

	rep, err := browsertest.CheckDashboard(ctx, srv.URL+"/", browsertest.Options{})
	cancel()
	if werr := <-wrote; werr != nil {
		t.Errorf("writing the traffic: %v", werr)
	}
	if err != nil {
		t.Fatalf("CheckDashboard: %v\nproblems: %q", err, rep.Problems())
	}
	saveScreenshot(t, rep.Screenshot)

	if p := rep.Problems(); len(p) > 0 {
		t.Errorf("the page has problems: %q", p)
	}
	for _, chart := range []string{"pv", "uv"} {
		if n := rep.First.Points[chart]; n < past {
			t.Errorf("the %s chart has %d points, want the %d past minutes and the running one", chart, n, past)
		}
	}
	moved := rep.Moved()
	for _, c := range []string{"lines", "running_pv", "running_uv", "day_pv", "live_events"} {
		if !slices.Contains(moved, c) {
			t.Errorf("counter %q did not move between the samples (%v, then %v)", c, rep.First.Counters, rep.Second.Counters)
		}
	}
	// The page shows what Redis held, never more.
	if got := rep.Second.Counters["lines"]; got <= 0 || got > float64(tr.counters.Lines) {
		t.Errorf("the page shows %v lines; the job wrote %d at the end", got, tr.counters.Lines)
	}
	if got := rep.Second.Counters["pages"]; got < 1 || got > 10 {
		t.Errorf("the top pages table has %v rows, want 1 to 10", got)
	}
	if len(rep.Requests) < 4 {
		t.Errorf("the page made %d requests (%q): it should load its script, ECharts and the API", len(rep.Requests), rep.Requests)
	}
}

// saveScreenshot writes the page's screenshot to the test's directory and,
// when WEIR_SCREENSHOT names a file, there too.
func saveScreenshot(t *testing.T, png []byte) {
	t.Helper()
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the screenshot is not a PNG (%d bytes)", len(png))
	}
	path := filepath.Join(t.TempDir(), "dashboard.png")
	must(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s (%d bytes)", path, len(png))
	if out := os.Getenv("WEIR_SCREENSHOT"); out != "" {
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Errorf("WEIR_SCREENSHOT: %v", err)
		} else {
			t.Logf("screenshot: %s", out)
		}
	}
}
