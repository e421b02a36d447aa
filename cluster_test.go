package weir_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/weirtest"
	"github.com/weirstream/weir/window"
)

// startBroker starts an in-process Kafka-protocol broker whose groups
// accept short session timeouts.
func startBroker(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// clusterJob is the count job of the checkpoint tests, for a worker of a
// cluster: every worker builds the same graph.
func clusterJob(env *weir.Env, n int, out *weirtest.TxCollector[string]) {
	src := timedSource(n, 10, func(i int) kv { return kv{string(rune('a' + i%7)), 1} })
	src.BatchSize = 20
	src.Delay = time.Millisecond
	s := weir.FromSource(env, src, weir.Name("source"))
	s = weir.Watermarks(s, weir.BoundedOutOfOrderness[kv](time.Second, nil), weir.Name("wm"))
	counts := weir.AggregateWindow(weir.Window(weir.KeyBy(s, func(v kv) string { return v.K }), window.Tumbling(10*time.Second)), count, describe, weir.Name("count"))
	weir.SinkTo(counts, out, weir.Name("sink"))
}

// TestClusterRunsOneJobAcrossWorkers runs one job as three workers of a
// cluster, each a separate Env with one slot, meeting through an
// in-process broker, with checkpoints in a shared directory: the job runs
// at parallelism 3, every subtask in exactly one worker, and the committed
// output equals a run in one process.
func TestClusterRunsOneJobAcrossWorkers(t *testing.T) {
	const n = 3000
	clean := weir.NewEnv(weir.Parallelism(3))
	want := weirtest.NewTxCollector[string]()
	clusterJob(clean, n, want)
	if err := clean.Execute(context.Background(), "clean"); err != nil {
		t.Fatal(err)
	}

	brokers := []string{startBroker(t)}
	dir := t.TempDir()
	out := weirtest.NewTxCollector[string]()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	envs := make([]*weir.Env, 3)
	errs := make([]error, 3)
	for i := range envs {
		envs[i] = weir.NewEnv(weir.Checkpoints(50*time.Millisecond, dir), weir.Cluster(weir.ClusterConfig{
			Brokers: brokers, Name: "counts", Advertise: freeAddr(t), Slots: 1, MinWorkers: 3,
			ID: fmt.Sprintf("worker-%d", i), SessionTimeout: 2 * time.Second,
		}))
		clusterJob(envs[i], n, out)
		wg.Go(func() { errs[i] = envs[i].Execute(ctx, "counts") })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	w, g := want.Records(), out.Records()
	slices.Sort(w)
	slices.Sort(g)
	if !slices.Equal(w, g) {
		t.Fatalf("the cluster's output differs from one process's: got %d results, want %d\n got %q\nwant %q", len(g), len(w), head(g), head(w))
	}
	// Every worker ran one subtask of every chain: a third of the job.
	ran := map[string][]int{}
	for i, env := range envs {
		ms := env.Metrics()
		if len(ms) == 0 {
			t.Errorf("worker %d ran nothing", i)
		}
		for _, m := range ms {
			ran[m.Operator] = append(ran[m.Operator], m.Subtask)
		}
	}
	for op, subs := range ran {
		slices.Sort(subs)
		if !slices.Equal(subs, []int{0, 1, 2}) {
			t.Errorf("the workers ran subtasks %v of %q, want 0, 1 and 2, one each", subs, op)
		}
	}
}

func head(s []string) []string { return s[:min(len(s), 5)] }

// TestClusterNeedsCheckpoints: a cluster job without checkpoints is a
// usage error that says what to add.
func TestClusterNeedsCheckpoints(t *testing.T) {
	env := weir.NewEnv(weir.Cluster(weir.ClusterConfig{Brokers: []string{"127.0.0.1:1"}, Name: "x", Advertise: "127.0.0.1:2"}))
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(1)), weirtest.NewCollector[int]())
	err := env.Execute(context.Background(), "x")
	if err == nil || !strings.Contains(err.Error(), "needs Checkpoints") {
		t.Fatalf("Execute: %v, want it to say the cluster needs checkpoints", err)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("it tried to join")
	}
}
