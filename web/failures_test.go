package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
)

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// waitFor polls cond every 20 ms for up to 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 1000 {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("gave up waiting: %s", what)
}

// TestExceptionsAndLineage runs a job whose map panics once, after a
// checkpoint completed: GET /api/exceptions names the map, its subtask,
// the restart and the stack, and GET /api/restores the checkpoint the
// restart restored.
func TestExceptionsAndLineage(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(1), weir.Checkpoints(20*time.Millisecond, t.TempDir()),
		weir.Restart(weir.FixedDelayRestart(3, time.Millisecond)))
	var failed atomic.Bool
	mapped := weir.Map(endless(env), func(v int) int {
		if env.JobMetrics().CheckpointsCompleted > 0 && failed.CompareAndSwap(false, true) {
			panic("flaky-map gave up")
		}
		return v
	}, weir.Name("flaky-map"))
	weir.SinkTo(mapped, sink.Func[int](func(context.Context, int) error { return nil }), weir.Name("discard"), weir.Parallelism(2))
	url := serveJobUI(t, env)

	var exs []weir.JobException
	waitFor(t, "an exception", func() bool { getJSON(t, url+"/api/exceptions", &exs); return len(exs) > 0 })
	x := exs[0]
	if !strings.Contains(x.Operator, "flaky-map") || x.Subtask != 0 || x.Restart != 1 || !strings.Contains(x.Error, "flaky-map gave up") ||
		!strings.Contains(x.Stack, "web_test.TestExceptionsAndLineage") || x.Time.IsZero() {
		t.Errorf("exception %+v: want flaky-map's panic in subtask 0, restart 1, with its stack", x)
	}
	var restores []struct {
		Path       string `json:"path"`
		Checkpoint int64  `json:"checkpoint"`
	}
	waitFor(t, "a restore", func() bool { getJSON(t, url+"/api/restores", &restores); return len(restores) > 0 })
	if restores[0].Checkpoint < 1 || restores[0].Path == "" {
		t.Errorf("restores %+v: want the checkpoint the restart restored", restores)
	}
}

// TestCheckpointTimeline: every task of a completed checkpoint reports its
// steps in order, and the source its state's size.
func TestCheckpointTimeline(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(1), weir.Checkpoints(20*time.Millisecond, t.TempDir()))
	weir.SinkTo(endless(env), sink.Func[int](func(context.Context, int) error { return nil }), weir.Name("discard"), weir.Parallelism(2))
	url := serveJobUI(t, env)

	type task struct {
		Task           string  `json:"task"`
		BarrierMs      float64 `json:"barrier_ms"`
		AlignmentEndMs float64 `json:"alignment_end_ms"`
		SnapshotEndMs  float64 `json:"snapshot_end_ms"`
		UploadEndMs    float64 `json:"upload_end_ms"`
		AckMs          float64 `json:"ack_ms"`
		Size           int64   `json:"size"`
	}
	type checkpoint struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		Tasks  []task `json:"tasks"`
	}
	var done checkpoint
	waitFor(t, "a completed checkpoint", func() bool {
		var cps []checkpoint
		getJSON(t, url+"/api/checkpoints", &cps)
		for _, c := range cps {
			if c.Status == "completed" {
				done = c
				return true
			}
		}
		return false
	})
	// The source's chain and the two subtasks of the sink.
	if len(done.Tasks) != 3 {
		t.Fatalf("checkpoint %d has the timelines of %d tasks, want 3: %+v", done.ID, len(done.Tasks), done.Tasks)
	}
	for _, x := range done.Tasks {
		if !(0 <= x.BarrierMs && x.BarrierMs <= x.AlignmentEndMs && x.AlignmentEndMs <= x.SnapshotEndMs &&
			x.SnapshotEndMs <= x.UploadEndMs && x.UploadEndMs <= x.AckMs) {
			t.Errorf("task %s: steps out of order: %+v", x.Task, x)
		}
		if strings.HasPrefix(x.Task, "numbers") && x.Size <= 0 {
			t.Errorf("task %s: size %d, want the bytes of its split state", x.Task, x.Size)
		}
	}
}
