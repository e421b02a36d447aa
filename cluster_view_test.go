package weir_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/web"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

// viewWorker is one in-process worker of the cluster "view", with its
// job API.
type viewWorker struct {
	id   string
	env  *weir.Env
	api  *httptest.Server
	fail atomic.Bool // the next record the worker's "flaky" subtask sees fails it
	stop context.CancelFunc
	err  error
}

// get decodes the answer of GET path from the worker's API into v.
func (w *viewWorker) get(t *testing.T, path string, v any) {
	t.Helper()
	resp, err := http.Get(w.api.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s of %s: %s: %s", path, w.id, resp.Status, b)
	}
	if s, ok := v.(*string); ok {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		*s = string(b)
		return
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s of %s: %v", path, w.id, err)
	}
}

type apiSubtask struct {
	Operator  string `json:"operator"`
	Subtask   int    `json:"subtask"`
	Worker    string `json:"worker"`
	RecordsIn int64  `json:"records_in"`
}

// byWorker returns the records in of each worker's subtasks that
// /api/metrics lists, and whether each row names its worker.
func (w *viewWorker) byWorker(t *testing.T) (map[string]int64, bool) {
	var subs []apiSubtask
	w.get(t, "/api/metrics", &subs)
	out := map[string]int64{}
	named := len(subs) > 0
	for _, s := range subs {
		named = named && s.Worker != ""
		out[s.Worker] += s.RecordsIn
	}
	return out, named
}

// TestClusterJobViewOnEveryWorker runs a job as two in-process workers,
// each serving the job API as weir's --http does, and checks that either
// worker's API shows the whole job: the subtasks of both workers, each
// with its worker and records; every worker's channels; the checkpoint
// timeline of every task; the failure of a subtask that ran on the worker
// that does not coordinate. GET /metrics stays each worker's own. Once the
// worker that does not coordinate leaves, its subtasks drop out of the
// view after the rescale, and its failure stays in the history.
func TestClusterJobViewOnEveryWorker(t *testing.T) {
	brokers := []string{startBroker(t)}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	ws := make([]*viewWorker, 2)
	for i := range ws {
		w := &viewWorker{id: fmt.Sprintf("view-%d", i)}
		w.env = weir.NewEnv(weir.Checkpoints(100*time.Millisecond, dir), weir.Restart(weir.FixedDelayRestart(-1, 10*time.Millisecond)),
			weir.Cluster(weir.ClusterConfig{Brokers: brokers, Name: "view", Advertise: "127.0.0.1:0", Slots: 1, MinWorkers: 2,
				ID: w.id, SessionTimeout: 2 * time.Second}))
		viewJob(w.env, &w.fail)
		w.api = httptest.NewServer(web.Handler(w.env, web.Options{}))
		defer w.api.Close()
		wctx, stop := context.WithCancel(ctx)
		w.stop = stop
		wg.Go(func() { w.err = w.env.Execute(wctx, "view") })
		ws[i] = w
	}
	eventually := func(what string, cond func() error) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			err := cond()
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited 30s for %s: %v", what, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// Either worker lists the subtasks of both, each with its worker, and
	// both workers' records.
	for _, w := range ws {
		eventually("the API of "+w.id+" to show both workers' subtasks with records", func() error {
			got, named := w.byWorker(t)
			if !named {
				return fmt.Errorf("a subtask without its worker: %v", got)
			}
			for _, o := range ws {
				if got[o.id] == 0 {
					return fmt.Errorf("records in by worker %v: none of %s", got, o.id)
				}
			}
			return nil
		})
	}

	// The channels of every edge, summed over the workers.
	for _, w := range ws {
		eventually("the API of "+w.id+" to show both workers' channels", func() error {
			var got []weir.ChannelFill
			w.get(t, "/api/channels", &got)
			want := map[[2]int]int{}
			for _, o := range ws {
				for _, c := range o.env.Channels() {
					want[[2]int{c.From, c.To}] += c.Capacity
				}
			}
			for _, c := range got {
				if n := want[[2]int{c.From, c.To}]; c.Capacity != n || n == 0 {
					return fmt.Errorf("edge %d→%d has capacity %d, want %d, the sum of the workers'", c.From, c.To, c.Capacity, n)
				}
			}
			if len(got) == 0 || len(got) != len(want) {
				return fmt.Errorf("%d edges, want %d", len(got), len(want))
			}
			return nil
		})
	}

	// GET /metrics: each worker's own subtasks.
	for _, w := range ws {
		var text string
		w.get(t, "/metrics", &text)
		own, all := len(w.env.Metrics()), len(w.env.ClusterMetrics())
		if n := strings.Count(text, "\nweir_records_in_total{"); n != own || own >= all {
			t.Errorf("GET /metrics of %s has %d subtasks' records in, want its own %d of the job's %d", w.id, n, own, all)
		}
	}

	// The checkpoint timeline has every task of both workers.
	for _, w := range ws {
		eventually("a checkpoint timeline with both workers' tasks on "+w.id, func() error {
			var cps []struct {
				Status string `json:"status"`
				Tasks  []struct {
					Task     string  `json:"task"`
					UploadMs float64 `json:"upload_end_ms"`
				} `json:"tasks"`
			}
			w.get(t, "/api/checkpoints", &cps)
			for _, c := range cps {
				timed := map[string]bool{}
				for _, tk := range c.Tasks {
					if tk.UploadMs > 0 {
						timed[tk.Task] = true
					}
				}
				if c.Status == "completed" && timed["count (subtask 0)"] && timed["count (subtask 1)"] {
					return nil
				}
			}
			return fmt.Errorf("no completed checkpoint timed both subtasks of count among %d", len(cps))
		})
	}

	// A failure on the worker that does not coordinate.
	coord, other := ws[0], ws[1]
	if st, ok := ws[1].env.ClusterStatus(); ok && st.Coordinator == ws[1].id {
		coord, other = ws[1], ws[0]
	}
	other.fail.Store(true)
	for _, w := range ws {
		eventually("the failure on "+other.id+" in the exceptions of "+w.id, func() error {
			var exs []weir.JobException
			w.get(t, "/api/exceptions", &exs)
			for _, x := range exs {
				if x.Worker == other.id && strings.Contains(x.Operator, "flaky") && strings.Contains(x.Error, "boom") {
					return nil
				}
			}
			return fmt.Errorf("exceptions %+v", exs)
		})
	}

	// The other worker leaves: after the rescale the view has the
	// coordinator's subtasks only, and the history keeps the failure.
	other.stop()
	eventually("the view of "+coord.id+" to drop the worker that left", func() error {
		st, _ := coord.env.ClusterStatus()
		got, _ := coord.byWorker(t)
		if _, ok := got[coord.id]; st.Slots != 1 || len(got) != 1 || !ok {
			return fmt.Errorf("slots %d, records in by worker %v", st.Slots, got)
		}
		return nil
	})
	var exs []weir.JobException
	coord.get(t, "/api/exceptions", &exs)
	kept := false
	for _, x := range exs {
		kept = kept || x.Worker == other.id
	}
	if !kept {
		t.Errorf("the failure of the worker that left is gone from the history: %+v", exs)
	}
	cancel()
	wg.Wait()
	for _, w := range ws {
		if w.err != nil && !errors.Is(w.err, context.Canceled) {
			t.Errorf("worker %s: %v", w.id, w.err)
		}
	}
}

// viewJob is the job of TestClusterJobViewOnEveryWorker: a slow unbounded
// source, a map that fails once when fail is set, and a keyed window.
func viewJob(env *weir.Env, fail *atomic.Bool) {
	src := timedSource(40000, 100, func(i int) kv { return kv{string(rune('a' + i%7)), 1} })
	src.BatchSize = 10
	src.Delay = 5 * time.Millisecond
	src.Forever = true
	s := weir.FromSource(env, src, weir.Name("source"))
	s = weir.Process(s, func(_ *weir.Context, v kv, out weir.Emitter[kv]) error {
		if fail.CompareAndSwap(true, false) {
			return errors.New("boom")
		}
		out.Emit(v)
		return nil
	}, weir.Name("flaky"))
	s = weir.Watermarks(s, weir.BoundedOutOfOrderness[kv](time.Second, nil), weir.Name("wm"))
	counts := weir.AggregateWindow(weir.Window(weir.KeyBy(s, func(v kv) string { return v.K }), window.Tumbling(10*time.Second)), count, describe, weir.Name("count"))
	weir.SinkTo(counts, weirtest.NewCollector[string](), weir.Name("sink"))
}
