package weir_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"runtime/pprof"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/pprof/profile"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/weirtest"
)

// burnCPU is the CPU-heavy function of the profiled map.
func burnCPU(v int) int {
	h := sha256.Sum256([]byte{byte(v), byte(v >> 8)})
	for range 100 {
		h = sha256.Sum256(h[:])
	}
	return int(h[0])
}

// TestCPUProfileLabelsOperators takes a CPU profile of a job with a
// CPU-heavy map and checks that the map's samples carry its chain's name
// and subtask as pprof labels.
func TestCPUProfileLabelsOperators(t *testing.T) {
	nums := make([]int, 1_000_000)
	for i := range nums {
		nums[i] = i
	}
	env := weir.NewEnv(weir.Parallelism(2))
	src := weir.FromSource(env, weirtest.FromSlice(nums...), weir.Name("numbers"))
	// Rebalance starts a chain of its own at the map.
	burnt := weir.Map(weir.Rebalance(src), burnCPU, weir.Name("burn"))
	weir.SinkTo(burnt, weirtest.NewCollector[int](), weir.Name("collect"))

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- env.Execute(ctx, "burn") }()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Execute: %v", err)
		}
	}()

	// Profile until the map shows up: on a busy machine it may take a few
	// rounds to be sampled.
	var labels []map[string][]string
	for round := 0; round < 10 && len(labels) < 5; round++ {
		var buf bytes.Buffer
		if err := pprof.StartCPUProfile(&buf); err != nil {
			t.Fatalf("StartCPUProfile: %v", err)
		}
		time.Sleep(300 * time.Millisecond)
		pprof.StopCPUProfile()
		p, err := profile.Parse(&buf)
		if err != nil {
			t.Fatalf("parse the profile: %v", err)
		}
		for _, s := range p.Sample {
			if inFunction(s, "burnCPU") {
				labels = append(labels, s.Label)
			}
		}
	}
	if len(labels) == 0 {
		t.Fatal("no CPU sample of burnCPU in the profiles")
	}
	var chain string
	for _, m := range env.Metrics() {
		if strings.Contains(m.Operator, "burn") {
			chain = m.Operator
		}
	}
	for _, l := range labels {
		if !slices.Equal(l["operator"], []string{chain}) {
			t.Fatalf("a sample of burnCPU has operator %q, want the map's chain %q (labels %v)", l["operator"], chain, l)
		}
		if sub := l["subtask"]; len(sub) != 1 || (sub[0] != "0" && sub[0] != "1") {
			t.Fatalf("a sample of burnCPU has subtask %q, want 0 or 1", sub)
		}
	}
}

// inFunction reports whether a frame of s is in a function whose name
// ends in name.
func inFunction(s *profile.Sample, name string) bool {
	for _, loc := range s.Location {
		for _, line := range loc.Line {
			if line.Function != nil && strings.HasSuffix(line.Function.Name, "."+name) {
				return true
			}
		}
	}
	return false
}
