package weir_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
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

// clusterJob is the count job of the checkpoint tests, for a worker of a
// cluster: every worker builds the same graph.
func clusterJob(env *weir.Env, n int, out sink.Sink[string]) {
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
			Brokers: brokers, Name: "counts", Advertise: "127.0.0.1:0", Slots: 1, MinWorkers: 3,
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

// clusterWorkers starts workers of the count job in the cluster "counts";
// each gets a context of its own, so that a test can stop one.
type clusterWorkers struct {
	t       *testing.T
	brokers []string
	dir     string
	dirs    []string // when set, worker i checkpoints into dirs[i] instead
	restore string   // when set, the job starts from this checkpoint
	n       int
	out     *weirtest.TxCollector[string]
	sink    sink.Sink[string] // when set, the workers write to it instead of out
	wg      sync.WaitGroup
	mu      sync.Mutex
	envs    []*weir.Env
	stops   []context.CancelFunc
	errs    []error
}

func (c *clusterWorkers) start(ctx context.Context, minWorkers int) int {
	c.mu.Lock()
	i := len(c.envs)
	dir := c.dir
	if i < len(c.dirs) {
		dir = c.dirs[i]
	}
	opts := []weir.EnvOption{weir.Checkpoints(50*time.Millisecond, dir), weir.RetainCheckpoints(20), weir.Cluster(weir.ClusterConfig{
		Brokers: c.brokers, Name: "counts", Advertise: "127.0.0.1:0", Slots: 1, MinWorkers: minWorkers,
		ID: fmt.Sprintf("worker-%d", i), SessionTimeout: 2 * time.Second,
	})}
	if c.restore != "" {
		opts = append(opts, weir.RestoreFrom(c.restore))
	}
	env := weir.NewEnv(opts...)
	var out sink.Sink[string] = c.out
	if c.sink != nil {
		out = c.sink
	}
	clusterJob(env, c.n, out)
	wctx, stop := context.WithCancel(ctx)
	c.envs, c.stops, c.errs = append(c.envs, env), append(c.stops, stop), append(c.errs, nil)
	c.mu.Unlock()
	c.wg.Go(func() {
		err := env.Execute(wctx, "counts")
		c.mu.Lock()
		c.errs[i] = err
		c.mu.Unlock()
	})
	return i
}

// completed returns the checkpoints completed so far in the directory.
func (c *clusterWorkers) completed() int {
	metas, _ := filepath.Glob(filepath.Join(c.dir, "chk-*", "_metadata"))
	return len(metas)
}

func (c *clusterWorkers) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cleanCounts is the output of the count job in one process.
func cleanCounts(t *testing.T, n int) []string {
	clean := weir.NewEnv(weir.Parallelism(2))
	want := weirtest.NewTxCollector[string]()
	clusterJob(clean, n, want)
	if err := clean.Execute(context.Background(), "clean"); err != nil {
		t.Fatal(err)
	}
	w := want.Records()
	slices.Sort(w)
	return w
}

func sameCounts(t *testing.T, want []string, out *weirtest.TxCollector[string]) {
	t.Helper()
	g := out.Records()
	slices.Sort(g)
	if !slices.Equal(want, g) {
		t.Fatalf("the cluster's output differs from one process's: got %d results, want %d\n got %q\nwant %q", len(g), len(want), head(g), head(want))
	}
}

// TestClusterRescalesWhenTheCoordinatorLeaves stops the coordinator of a
// three-worker cluster in the middle of the job: the other two form a new
// generation, restore the newest checkpoint at parallelism 2, and the
// output is still exact — nothing lost, nothing twice.
func TestClusterRescalesWhenTheCoordinatorLeaves(t *testing.T) {
	const n = 30000
	want := cleanCounts(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := &clusterWorkers{t: t, brokers: []string{startBroker(t)}, dir: t.TempDir(), n: n, out: weirtest.NewTxCollector[string]()}
	for range 3 {
		c.start(ctx, 3)
	}
	c.waitFor("a few checkpoints", func() bool { return c.completed() >= 3 })
	coord := -1
	for i, env := range c.envs {
		if st, ok := env.ClusterStatus(); ok && st.Coordinator == st.Self {
			coord = i
		}
	}
	if coord < 0 {
		t.Fatal("no worker says it coordinates")
	}
	before := c.completed()
	c.stops[coord]()
	c.wg.Wait()
	for i, err := range c.errs {
		if i != coord && err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	if c.completed() <= before {
		t.Error("no checkpoint completed after the coordinator left")
	}
	sameCounts(t, want, c.out)
	for i, env := range c.envs {
		if i == coord {
			continue
		}
		if st, _ := env.ClusterStatus(); st.Slots != 2 {
			t.Errorf("worker %d ended in a generation of %d slots, want 2", i, st.Slots)
		}
	}
}

// TestClusterGrowsWhenAWorkerJoins starts a third worker while
// a two-worker job runs: it gets work, the parallelism grows to 3, and the
// output is exact.
func TestClusterGrowsWhenAWorkerJoins(t *testing.T) {
	const n = 30000
	want := cleanCounts(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := &clusterWorkers{t: t, brokers: []string{startBroker(t)}, dir: t.TempDir(), n: n, out: weirtest.NewTxCollector[string]()}
	c.start(ctx, 2)
	c.start(ctx, 2)
	c.waitFor("a few checkpoints", func() bool { return c.completed() >= 3 })
	third := c.start(ctx, 1)
	c.wg.Wait()
	for i, err := range c.errs {
		if err != nil {
			t.Errorf("worker %d: %v", i, err)
		}
	}
	sameCounts(t, want, c.out)
	if ms := c.envs[third].Metrics(); len(ms) == 0 {
		t.Error("the worker that joined ran nothing")
	}
	st, _ := c.envs[third].ClusterStatus()
	if st.Slots != 3 {
		t.Errorf("the job ended in a generation of %d slots, want 3", st.Slots)
	}
}

// TestClusterAttemptsGrowAcrossLifetimes stops a cluster in its second
// generation and starts it again on a group Kafka no longer knows (a new
// broker here), whose generations begin at 1 again; then stops that one
// too, and starts a third on a new broker and in a new checkpoint
// location, restoring from the second's newest checkpoint. The attempts
// their sinks write under still grow, so that each fences what the one
// before left open instead of taking it for a newer epoch's, and the
// output is exact.
func TestClusterAttemptsGrowAcrossLifetimes(t *testing.T) {
	// The first two clusters stop after about half a second each; the
	// source would take four.
	const n = 80000
	want := cleanCounts(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, out := t.TempDir(), weirtest.NewTxCollector[string]()
	stop := func(c *clusterWorkers) {
		for _, stop := range c.stops {
			stop()
		}
		c.wg.Wait()
		if _, err := os.Stat(filepath.Join(dir, "_finished")); err == nil {
			t.Fatal("the job ended before the test stopped it: give it more records")
		}
	}

	first := &attemptsSeen{TxCollector: out}
	c := &clusterWorkers{t: t, brokers: []string{startBroker(t)}, dir: dir, n: n, out: out, sink: first}
	c.start(ctx, 1)
	c.waitFor("a checkpoint", func() bool { return c.completed() >= 1 })
	c.start(ctx, 1)
	var before int
	c.waitFor("the second generation's epoch", func() bool {
		before = c.completed()
		return first.max()>>16 >= 2
	})
	c.waitFor("a checkpoint of the second generation", func() bool { return c.completed() > before+1 })
	stop(c)

	second := &attemptsSeen{TxCollector: out}
	c = &clusterWorkers{t: t, brokers: []string{startBroker(t)}, dir: dir, n: n, out: out, sink: second}
	before = c.completed()
	c.start(ctx, 1)
	c.waitFor("a checkpoint of the second cluster", func() bool { return c.completed() > before })
	stop(c)
	if second.min() <= first.max() {
		t.Errorf("the second cluster's sinks wrote under attempt %d, not above the first's %d", second.min(), first.max())
	}

	third := &attemptsSeen{TxCollector: out}
	c = &clusterWorkers{t: t, brokers: []string{startBroker(t)}, dir: t.TempDir(), restore: newestCheckpoint(t, dir), n: n, out: out, sink: third}
	c.start(ctx, 1)
	c.wg.Wait()
	if err := c.errs[0]; err != nil {
		t.Fatal(err)
	}
	sameCounts(t, want, out)
	if third.min() <= second.max() {
		t.Errorf("the third cluster's sinks wrote under attempt %d, not above the second's %d", third.min(), second.max())
	}
}

// newestCheckpoint returns the path of the newest completed checkpoint in
// dir.
func newestCheckpoint(t *testing.T, dir string) string {
	t.Helper()
	metas, _ := filepath.Glob(filepath.Join(dir, "chk-*", "_metadata"))
	newest, path := -1, ""
	for _, m := range metas {
		d := filepath.Dir(m)
		var id int
		if _, err := fmt.Sscanf(filepath.Base(d), "chk-%d", &id); err == nil && id > newest {
			newest, path = id, d
		}
	}
	if path == "" {
		t.Fatalf("no completed checkpoint in %s", dir)
	}
	return path
}

// attemptsSeen is a TxCollector that notes the attempt of every writer.
type attemptsSeen struct {
	*weirtest.TxCollector[string]
	mu   sync.Mutex
	seen []int64
}

func (a *attemptsSeen) NewWriter(ctx sink.WriterContext) (sink.Writer[string], error) {
	a.mu.Lock()
	a.seen = append(a.seen, sink.AttemptOf(ctx))
	a.mu.Unlock()
	return a.TxCollector.NewWriter(ctx)
}

func (a *attemptsSeen) max() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) == 0 {
		return 0
	}
	return slices.Max(a.seen)
}

func (a *attemptsSeen) min() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.seen) == 0 {
		return 0
	}
	return slices.Min(a.seen)
}

// TestClusterRefusesAnUnsharedCheckpointLocation runs two workers whose
// checkpoint directories differ, as on two machines with local disks: the
// one that does not see what the coordinator wrote is refused with an
// error that says why, and the coordinator runs the job alone, exactly.
func TestClusterRefusesAnUnsharedCheckpointLocation(t *testing.T) {
	const n = 3000
	want := cleanCounts(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := &clusterWorkers{t: t, brokers: []string{startBroker(t)}, dirs: []string{t.TempDir(), t.TempDir()}, n: n, out: weirtest.NewTxCollector[string]()}
	c.start(ctx, 2)
	c.start(ctx, 2)
	c.wg.Wait()
	var refused, ok int
	for i, err := range c.errs {
		switch {
		case err == nil:
			ok++
		case strings.Contains(err.Error(), "does not share the coordinator's checkpoint location"):
			refused++
		default:
			t.Errorf("worker %d: %v", i, err)
		}
	}
	if refused != 1 || ok != 1 {
		t.Fatalf("%d workers refused, %d ran the job (%v); want one of each", refused, ok, c.errs)
	}
	sameCounts(t, want, c.out)
}

// TestClusterSavepointThroughAnyWorker asks a worker that does not
// coordinate for a savepoint, then to stop with one: the coordinator takes
// both, and the job stops on every worker.
func TestClusterSavepointThroughAnyWorker(t *testing.T) {
	const n = 1_000_000 // more than the test lets it read
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := &clusterWorkers{t: t, brokers: []string{startBroker(t)}, dir: t.TempDir(), n: n, out: weirtest.NewTxCollector[string]()}
	c.start(ctx, 2)
	c.start(ctx, 2)
	c.waitFor("a checkpoint", func() bool { return c.completed() >= 1 })
	other := -1
	for i, env := range c.envs {
		if st, ok := env.ClusterStatus(); ok && st.Coordinator != st.Self {
			other = i
		}
	}
	if other < 0 {
		t.Fatal("no worker says another coordinates")
	}
	for _, stop := range []bool{false, true} {
		var path string
		var err error
		if stop {
			path, err = c.envs[other].StopWithSavepoint(ctx)
		} else {
			path, err = c.envs[other].TriggerSavepoint(ctx)
		}
		if err != nil {
			t.Fatalf("savepoint (stop %v) through worker %d: %v", stop, other, err)
		}
		if _, err := os.Stat(filepath.Join(path, "_metadata")); err != nil {
			t.Fatalf("savepoint (stop %v) at %s: %v", stop, path, err)
		}
	}
	c.wg.Wait()
	for i, err := range c.errs {
		if err != nil {
			t.Errorf("worker %d after stop with savepoint: %v", i, err)
		}
	}
}
