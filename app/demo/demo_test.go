package demo_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weirstream/weir/app/demo"
	"github.com/weirstream/weir/bench/baseline"
	"github.com/weirstream/weir/internal/browsertest"
	"github.com/weirstream/weir/internal/redistest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startDemo runs the demo with a real redis-server and 5-second windows
// until the test ends.
func startDemo(t *testing.T, logs string) (demo.Addresses, *redistest.Server) {
	t.Helper()
	srv := redistest.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan demo.Addresses, 1)
	done := make(chan error, 1)
	go func() {
		done <- demo.Run(ctx, demo.Config{
			Redis: srv.URL(), HTTP: "127.0.0.1:0", LogDir: logs, Window: 5 * time.Second, Rate: 1500,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Ready:  func(a demo.Addresses) { ready <- a },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("the demo stopped with %v", err)
		}
	})
	select {
	case a := <-ready:
		return a, srv
	case err := <-done:
		t.Fatalf("the demo did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the demo did not start in a minute")
	}
	return demo.Addresses{}, nil
}

// TestDemoWindowsMatchTheLogs runs the whole pipeline and checks every
// window that closed in Redis against the exact baseline computed from the
// access logs the web servers wrote.
func TestDemoWindowsMatchTheLogs(t *testing.T) {
	logs := t.TempDir()
	_, srv := startDemo(t, logs)
	rc := srv.Client(t)
	ctx := context.Background()

	var finals []string
	deadline := time.Now().Add(90 * time.Second)
	for len(finals) < 3 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
		starts, err := rc.Do(ctx, rc.B().Zrange().Key("weir:pvuv:windows").Min("0").Max("-1").Build()).AsStrSlice()
		if err != nil {
			continue
		}
		finals = finals[:0]
		for _, s := range starts {
			if f, _ := rc.Do(ctx, rc.B().Hget().Key("weir:pvuv:window:"+s).Field("final").Build()).ToString(); f == "1" {
				finals = append(finals, s)
			}
		}
	}
	if len(finals) < 3 {
		t.Fatalf("only %d windows closed in 90 s", len(finals))
	}

	// The logs hold every line of the closed windows (the servers write
	// in event-time order, up to a few seconds).
	files, _ := filepath.Glob(filepath.Join(logs, "access-*"))
	var readers []io.Reader
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		readers = append(readers, f)
	}
	want, err := baseline.Run(io.MultiReader(readers...), 5*time.Second, 10)
	if err != nil {
		t.Fatal(err)
	}
	byStart := map[string]baseline.Window{}
	for _, w := range want.Windows {
		byStart[strconv.FormatInt(w.Start.UnixMilli(), 10)] = w
	}
	for _, s := range finals {
		got, err := rc.Do(ctx, rc.B().Hgetall().Key("weir:pvuv:window:"+s).Build()).AsStrMap()
		if err != nil {
			t.Fatal(err)
		}
		w, ok := byStart[s]
		if !ok {
			t.Fatalf("window %s is in Redis but has no line in the logs", s)
		}
		if got["pv"] != strconv.FormatInt(w.PV, 10) || got["uv"] != strconv.FormatInt(w.UV, 10) {
			t.Fatalf("window %s: Redis has pv %s uv %s, the logs give pv %d uv %d", s, got["pv"], got["uv"], w.PV, w.UV)
		}
		pages, err := rc.Do(ctx, rc.B().Zrange().Key("weir:pvuv:pages:"+s).Min("+inf").Max("-inf").Byscore().Rev().Withscores().Build()).AsZScores()
		if err != nil {
			t.Fatal(err)
		}
		if len(pages) != len(w.TopPages) {
			t.Fatalf("window %s: %d top pages in Redis, %d from the logs", s, len(pages), len(w.TopPages))
		}
		gotPages := map[string]int64{}
		for _, p := range pages {
			gotPages[p.Member] = int64(p.Score)
		}
		for _, p := range w.TopPages {
			if gotPages[p.Page] != p.PV {
				t.Fatalf("window %s: page %s has %d views in Redis, %d in the logs", s, p.Page, gotPages[p.Page], p.PV)
			}
		}
	}
	day, err := rc.Do(ctx, rc.B().Hgetall().Key("weir:pvuv:day:"+time.Now().UTC().Format(time.DateOnly)).Build()).AsStrMap()
	if err != nil {
		t.Fatal(err)
	}
	// A day holds every window: at least as many views and visitors as the
	// largest closed one.
	dayPV, _ := strconv.ParseInt(day["pv"], 10, 64)
	dayUV, _ := strconv.ParseInt(day["uv"], 10, 64)
	for _, s := range finals {
		if w := byStart[s]; dayPV < w.PV || dayUV < w.UV {
			t.Fatalf("the day (pv %d, uv %d) holds less than window %s (pv %d, uv %d)", dayPV, dayUV, s, w.PV, w.UV)
		}
	}
}

// TestDemoDashboardInABrowser opens the running demo's dashboard in
// headless Chromium: it loads without console errors or requests outside
// its origin, its charts get points and its counters move. Set
// WEIR_SCREENSHOT=docs/dashboard.png to keep the screenshot (the test then
// lets the demo run for 90 s first).
func TestDemoDashboardInABrowser(t *testing.T) {
	addrs, _ := startDemo(t, "")
	if os.Getenv("WEIR_SCREENSHOT") != "" {
		time.Sleep(90 * time.Second) // a screenshot for people: let the charts fill
	}
	rep, err := browsertest.CheckDashboard(context.Background(), addrs.Dashboard, browsertest.Options{Wait: 60 * time.Second, Timeout: 120 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if p := rep.Problems(); len(p) > 0 {
		t.Fatalf("the dashboard has problems: %v", p)
	}
	moved := rep.Moved()
	if !slices.Contains(moved, "lines") || !slices.Contains(moved, "running_pv") {
		t.Fatalf("the counters did not move between two samples: moved %v\nfirst %+v\nsecond %+v", moved, rep.First, rep.Second)
	}
	if out := os.Getenv("WEIR_SCREENSHOT"); out != "" {
		if err := os.WriteFile(out, rep.Screenshot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
