package web_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/internal/browsertest"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/web"
	"github.com/weirstream/weir/weirtest"
)

// serveJobUI runs the job of env until the test ends, serving its job UI
// with a history sampled every 200 ms, and returns the server's URL.
func serveJobUI(t *testing.T, env *weir.Env) string {
	t.Helper()
	return serveJobUIWithToken(t, env, "")
}

// serveJobUIWithToken is serveJobUI with the job's token.
func serveJobUIWithToken(t *testing.T, env *weir.Env, token string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hist := web.NewHistory(env, web.HistoryOptions{Interval: 200 * time.Millisecond})
	done := make(chan error, 2)
	go func() { done <- env.Execute(ctx, "jobui") }()
	go func() { done <- hist.Run(ctx) }()
	srv := httptest.NewServer(web.Handler(env, web.Options{History: hist, Token: token}))
	t.Cleanup(func() {
		srv.Close()
		cancel()
		for range 2 {
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("job: %v", err)
			}
		}
	})
	return srv.URL
}

// endless is a source of 10 million records that then idles until the
// job is cancelled: 10,000 records, each fanned out 1,000 times by the
// amplify operator that follows it (in small steps, so that a barrier
// never waits long behind one record).
func endless(env *weir.Env) weir.Stream[int] {
	src := weirtest.FromSlice(make([]int, 10_000)...)
	src.Forever = true
	src.BatchSize = 1
	return weir.FlatMap(weir.FromSource(env, src, weir.Name("numbers")), func(v int, out weir.Emitter[int]) {
		for i := range 1000 {
			out.Emit(v + i)
		}
	}, weir.Name("amplify"))
}

// TestJobUIShowsGraphAndBottleneck opens the job UI of a running job whose
// sink is slow: the graph has every operator, chained ones included, the
// sink is named the bottleneck and what feeds it is backpressured.
func TestJobUIShowsGraphAndBottleneck(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(1))
	parsed := weir.Map(endless(env), func(v int) int { return v * 2 }, weir.Name("parse"))
	weir.SinkTo(parsed, sink.Func[int](func(context.Context, int) error {
		time.Sleep(200 * time.Microsecond)
		return nil
	}), weir.Name("slow-sink"), weir.Parallelism(2))
	url := serveJobUI(t, env)
	// The job needs a few seconds to fill its channels, and the bottleneck
	// looks back 10 s: open the page once the API names it.
	waitFor(t, "the API to name the bottleneck", func() bool {
		var b web.Bottleneck
		getJSON(t, url+"/api/bottleneck", &b)
		return b.Chain == "slow-sink" && len(b.Backpressured) > 0
	})

	rep, err := browsertest.CheckDashboard(context.Background(), url+"/ui/?tab=operator", browsertest.Options{Hook: "weirJobUI", Gap: 2 * time.Second})
	if err != nil {
		t.Fatalf("CheckDashboard: %v\nproblems: %q", err, rep.Problems())
	}
	saveScreenshot(t, "jobui-bottleneck.png", rep.Screenshot)
	if p := rep.Problems(); len(p) > 0 {
		t.Errorf("the page has problems: %q", p)
	}
	ops := strings.Split(rep.Second.Labels["operators"], "\n")
	for _, want := range []string{"numbers", "amplify", "parse", "slow-sink"} {
		if !slices.Contains(ops, want) {
			t.Errorf("the graph shows operators %q, want %q among them", ops, want)
		}
	}
	if got := rep.Second.Labels["bottleneck"]; got != "slow-sink" {
		t.Errorf("bottleneck %q (%q), want slow-sink", got, rep.Second.Labels["bottleneck_text"])
	}
	if text := rep.Second.Labels["bottleneck_text"]; !strings.Contains(text, "slow-sink") || !strings.Contains(text, "numbers -> amplify -> parse") {
		t.Errorf("the bottleneck banner says %q: want it to name slow-sink and what waits for it", text)
	}
	// The channels into the slow sink fill up. (Rebalance blocks on one
	// receiver's channel while the other's may drain: at least half.)
	edges := rep.Second.Labels["edges"]
	if m := regexp.MustCompile(`parse -> slow-sink: rebalance .* full (\d+)%`).FindStringSubmatch(edges); m == nil {
		t.Errorf("edges %q: want parse -> slow-sink with its fill", edges)
	} else if full, _ := strconv.Atoi(m[1]); full < 50 {
		t.Errorf("the channels of parse -> slow-sink are %d%% full, want at least half: %q", full, edges)
	}
	if rows := rep.Second.Labels["subtask_rows"]; rows != "1" {
		t.Errorf("the operator tab shows %s subtasks of numbers -> amplify -> parse, want 1", rows)
	}
	if bp := strings.Split(rep.Second.Labels["backpressured"], "\n"); !slices.Contains(bp, "numbers -> amplify -> parse") {
		t.Errorf("backpressured chains %q, want the sink's upstream numbers -> amplify -> parse", bp)
	}
}

// burnCPU is the CPU-heavy function the flame graph must find.
//
//go:noinline
func burnCPU(v int) int {
	x := uint64(v) | 1
	for range 20_000 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return int(x)
}

// TestJobUIFlameGraph opens the job UI on a flame graph of a CPU-heavy map:
// it holds the map's function and nothing of the other chains. The job
// checkpoints, and its source's chain fails once: the page shows the
// timeline of a checkpoint and the failure. The job has a token, and the
// page is opened as /ui/?token=T#token=T: the cookie opens the pages, and
// the page sends the token for the profile.
func TestJobUIFlameGraph(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(1), weir.Checkpoints(100*time.Millisecond, t.TempDir()),
		weir.Restart(weir.FixedDelayRestart(3, time.Millisecond)))
	var failed atomic.Bool
	flaky := weir.Map(endless(env), func(v int) int {
		if env.JobMetrics().CheckpointsCompleted > 0 && failed.CompareAndSwap(false, true) {
			panic("flaky gave up once")
		}
		return v
	}, weir.Name("flaky"))
	// Rebalance puts burn in a chain of its own, one subtask on one core.
	burnt := weir.Map(weir.Rebalance(flaky, weir.Name("spread")), burnCPU, weir.Name("burn"))
	weir.SinkTo(burnt, sink.Func[int](func(context.Context, int) error { return nil }), weir.Name("discard"), weir.Parallelism(2))
	url := serveJobUIWithToken(t, env, testToken)

	rep, err := browsertest.CheckDashboard(context.Background(), url+"/ui/?flame=burn&seconds=1&token="+testToken+"#token="+testToken,
		browsertest.Options{Hook: "weirJobUI", Gap: time.Millisecond})
	if err != nil {
		t.Fatalf("CheckDashboard: %v\nproblems: %q", err, rep.Problems())
	}
	saveScreenshot(t, "jobui-flame.png", rep.Screenshot)
	if p := rep.Problems(); len(p) > 0 {
		t.Errorf("the page has problems: %q", p)
	}
	fns := rep.Second.Labels["flame_functions"]
	if !strings.Contains(fns, "web_test.burnCPU") {
		t.Errorf("the flame graph of burn has no web_test.burnCPU; its frames:\n%s", fns)
	}
	if strings.Contains(fns, "sink.Func") || strings.Contains(fns, "TestJobUIFlameGraph.func1") {
		t.Errorf("the flame graph of burn has frames of the sink or of flaky: it is not filtered:\n%s", fns)
	}
	if tasks := rep.Second.Labels["timeline_tasks"]; !strings.Contains(tasks, "spread (subtask 0)") || !strings.Contains(tasks, "discard (subtask 1)") {
		t.Errorf("the timeline of the newest checkpoint has tasks %q, want those of spread -> burn and discard", tasks)
	}
	if ex := rep.Second.Labels["exceptions"]; !strings.Contains(ex, "flaky gave up once") {
		t.Errorf("the exceptions tab shows %q, want flaky's panic", ex)
	}
}

// saveScreenshot keeps the page's screenshot when WEIR_SCREENSHOTS names
// a directory.
func saveScreenshot(t *testing.T, name string, png []byte) {
	dir := os.Getenv("WEIR_SCREENSHOTS")
	if dir == "" || len(png) == 0 {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Error(err)
	}
}
