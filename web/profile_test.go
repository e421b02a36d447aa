package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/web"
)

// TestProfileFiltersByOperator profiles a job with a CPU-heavy map: the
// flame graph of the map holds its function, that of the source does not,
// and the raw profile parses and holds only the map's samples.
func TestProfileFiltersByOperator(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(1))
	burnt := weir.Map(endless(env), burnCPU, weir.Name("burn"), weir.Parallelism(2))
	weir.SinkTo(burnt, sink.Func[int](func(context.Context, int) error { return nil }), weir.Name("discard"))
	url := serveJobUI(t, env)

	flame := func(operator string) (frames []string, total int64) {
		t.Helper()
		resp, err := http.Get(url + "/api/profile?seconds=1&operator=" + operator)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var root web.Frame
		if err := json.NewDecoder(resp.Body).Decode(&root); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /api/profile: %d %v", resp.StatusCode, err)
		}
		var walk func(f *web.Frame)
		walk = func(f *web.Frame) {
			frames = append(frames, f.Name)
			for _, c := range f.Children {
				walk(c)
			}
		}
		walk(&root)
		return frames, root.Value
	}
	has := func(frames []string, fn string) bool {
		for _, f := range frames {
			if strings.HasSuffix(f, fn) {
				return true
			}
		}
		return false
	}
	burn, total := flame("burn")
	if total == 0 || !has(burn, "web_test.burnCPU") {
		t.Errorf("the flame graph of burn (%d ns) has no web_test.burnCPU: %q", total, burn)
	}
	if src, _ := flame("amplify"); has(src, "web_test.burnCPU") {
		t.Errorf("the flame graph of amplify, chained to the source, has burn's web_test.burnCPU: %q", src)
	}

	resp, err := http.Get(url + "/api/profile?seconds=1&operator=burn&format=pprof")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p, err := profile.Parse(resp.Body)
	if err != nil {
		t.Fatalf("the raw profile does not parse: %v", err)
	}
	if len(p.Sample) == 0 {
		t.Fatal("the raw profile of burn has no samples")
	}
	for _, s := range p.Sample {
		if ops := s.Label["operator"]; len(ops) != 1 || ops[0] != "burn" {
			t.Fatalf("a sample of the raw profile of burn has operator labels %q", ops)
		}
	}
}

// TestOffCPUProfile profiles where the goroutines of a job with a slow
// sink wait: the sink's flame graph holds the sleep it waits in, which a
// CPU profile barely sees.
func TestOffCPUProfile(t *testing.T) {
	env := weir.NewEnv(weir.Parallelism(1))
	weir.SinkTo(endless(env), sink.Func[int](func(context.Context, int) error {
		time.Sleep(time.Millisecond)
		return nil
	}), weir.Name("slow-sink"), weir.Parallelism(2))
	url := serveJobUI(t, env)

	resp, err := http.Get(url + "/api/profile?seconds=1&kind=offcpu&operator=slow-sink")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var root web.Frame
	if err := json.NewDecoder(resp.Body).Decode(&root); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/profile?kind=offcpu: %d %v", resp.StatusCode, err)
	}
	var frames []string
	var walk func(f *web.Frame)
	walk = func(f *web.Frame) {
		frames = append(frames, f.Name)
		for _, c := range f.Children {
			walk(c)
		}
	}
	walk(&root)
	// Two subtasks seen for about a second: up to 2 s of goroutine time, less
	// when a loaded machine delays the sampler's ticks (it samples every
	// 100 ms and a late tick is dropped). At least one sample must count.
	if root.Value < int64(100*time.Millisecond) || !slices.Contains(frames, "time.Sleep") {
		t.Errorf("the off-CPU flame graph of slow-sink (%v) has no time.Sleep: %q", time.Duration(root.Value), frames)
	}
	if slices.ContainsFunc(frames, func(f string) bool { return strings.Contains(f, "FlatMap") }) {
		t.Errorf("the off-CPU flame graph of slow-sink has frames of the source's chain: %q", frames)
	}
}

func TestProfileRefusesBadArguments(t *testing.T) {
	h := web.Handler(&countingJob{}, web.Options{})
	for _, q := range []string{"seconds=0", "seconds=61", "seconds=x", "format=svg", "kind=heap"} {
		rec := httptestRecorder(h, "/api/profile?"+q)
		if rec.Code != http.StatusBadRequest {
			t.Errorf("GET /api/profile?%s: %d, want 400", q, rec.Code)
		}
	}
}
