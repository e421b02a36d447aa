package demo_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/app/demo"
	"github.com/weirstream/weir/internal/redistest"
)

// TestDemoEndsWhenItsJobIsStopped: POST /api/stop stops the job, and the
// demo says so and ends without an error instead of serving frozen
// numbers.
func TestDemoEndsWhenItsJobIsStopped(t *testing.T) {
	srv := redistest.Start(t)
	ready := make(chan demo.Addresses, 1)
	stopped := make(chan struct{}, 1)
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		done <- demo.Run(ctx, demo.Config{
			Redis: srv.URL(), HTTP: "127.0.0.1:0", Window: 5 * time.Second, Rate: 500,
			Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
			Ready:   func(a demo.Addresses) { ready <- a },
			Stopped: func() { stopped <- struct{}{} },
		})
	}()
	var a demo.Addresses
	select {
	case a = <-ready:
	case err := <-done:
		t.Fatalf("the demo did not start: %v", err)
	}
	stopURL := strings.TrimSuffix(a.Dashboard, "/") + "/api/stop"
	var answer struct{ Path, Error string }
	for i := 0; ; i++ {
		resp, err := http.Post(stopURL, "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&answer)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			break
		}
		if i == 300 { // the job takes its first checkpoint within a second or two
			t.Fatalf("POST /api/stop: %s: %s", resp.Status, answer.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the demo ended with %v after its job was stopped", err)
		}
	case <-time.After(60 * time.Second):
		cancel()
		<-done
		t.Fatal("the demo went on serving a minute after its job was stopped")
	}
	select {
	case <-stopped:
	default:
		t.Fatal("the demo ended without saying its job was stopped (Config.Stopped)")
	}
}
