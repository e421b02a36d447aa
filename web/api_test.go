package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/web"
	"github.com/weirstream/weir/weirtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestSavepointAndStopOverHTTP runs a job with checkpoints, takes a
// savepoint and then stops it with one through the API.
func TestSavepointAndStopOverHTTP(t *testing.T) {
	env := weir.NewEnv(weir.Checkpoints(50*time.Millisecond, t.TempDir()))
	src := &weirtest.SliceSource[int]{Forever: true}
	weir.SinkTo(weir.FromSource(env, src), weirtest.NewTxCollector[int]())
	done := make(chan error, 1)
	go func() { done <- env.Execute(context.Background(), "api") }()
	srv := httptest.NewServer(web.Handler(env, web.Options{SavepointTimeout: 10 * time.Second}))
	defer srv.Close()

	post := func(path string) map[string]string {
		t.Helper()
		// The job may not be running yet: retry briefly.
		for range 100 {
			resp, err := http.Post(srv.URL+path, "application/json", nil)
			if err != nil {
				t.Fatal(err)
			}
			var body map[string]string
			json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return body
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("POST %s kept failing", path)
		return nil
	}
	sp := post("/api/savepoints")
	if _, err := os.Stat(filepath.Join(sp["path"], "_metadata")); err != nil {
		t.Fatalf("savepoint %q: %v", sp["path"], err)
	}
	resp, err := http.Get(srv.URL + "/api/checkpoints")
	if err != nil {
		t.Fatal(err)
	}
	var ckpts []map[string]any
	json.NewDecoder(resp.Body).Decode(&ckpts)
	resp.Body.Close()
	if len(ckpts) == 0 || ckpts[0]["status"] == nil {
		t.Fatalf("GET /api/checkpoints: %v", ckpts)
	}
	stop := post("/api/stop")
	if err := <-done; err != nil {
		t.Fatalf("Execute after stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(stop["path"], "_metadata")); err != nil {
		t.Fatalf("stop savepoint %q: %v", stop["path"], err)
	}
}
