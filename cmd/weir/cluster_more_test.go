package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirstream/weir/connector/kafka/kafkatest"
)

// The process-level tests of cluster mode below share a rig: an
// in-process broker whose fetches can be slowed down, the input in its
// access topic, and weir pvuv workers started with one command line.

// clusterMaxParallelism is the max parallelism of the pvuv job (the
// engine's default): the key groups of its keyed operators.
const clusterMaxParallelism = 128

// clusterRig runs the workers of one cluster.
type clusterRig struct {
	t      *testing.T
	bin    string
	dir    string
	broker *kafkatest.Broker
	common []string // the flags every worker gets
	env    []string // added to every worker's environment
	// workers are the workers started, in order; the test fails when one
	// of them exits unless it is in mayExit.
	workers []*clusterWorker
	mayExit map[*clusterWorker]bool
}

// newClusterRig starts a broker with the lines of in in its 4-partition
// topic access, in small record batches (see slowFetches), and a
// 1-partition topic pvuv for the results. The workers read access up to
// its end and write their windows of the given size to pvuv in
// transactions, with checkpoints every 200 ms in ckptDir.
func newClusterRig(t *testing.T, in input, window time.Duration, ckptDir string) *clusterRig {
	t.Helper()
	r := &clusterRig{t: t, bin: plainBinary(t), dir: t.TempDir(), mayExit: map[*clusterWorker]bool{}}
	broker, err := kafkatest.Start(kafkatest.Config{Partitions: 4, Topics: []string{"access"}, MinSessionTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broker.Close)
	r.broker = broker
	produceLines(t, broker.Addr(), "access", 4, in.files, kgo.ProducerBatchMaxBytes(16<<10))
	// One partition, so that the windows come out in the order written.
	if _, err := newAdmin(t, broker.Addr()).CreateTopic(context.Background(), 1, 1, nil, "pvuv"); err != nil {
		t.Fatal(err)
	}
	r.common = []string{"pvuv",
		"--source", "kafka://" + broker.Addr() + "/access?bounded=true&group=pvuv",
		"--sink", "kafka://" + broker.Addr() + "/pvuv", "--window", window.String(),
		"--checkpoint-dir", ckptDir, "--checkpoint-interval", "200ms",
		"--cluster", "kafka://" + broker.Addr() + "/pvuv-cluster",
		"--slots", "1", "--session-timeout", "2s", "--progress", "off"}
	return r
}

// start starts worker id with the common flags and extra ones.
func (r *clusterRig) start(id string, extra ...string) *clusterWorker {
	r.t.Helper()
	w := &clusterWorker{id: id, advertise: freePort(r.t), http: freePort(r.t), env: r.env}
	w.args = append(slices.Clone(r.common), "--advertise", w.advertise, "--worker-id", id, "--http", w.http)
	w.args = append(w.args, extra...)
	var err error
	if w.log, err = os.Create(filepath.Join(r.dir, fmt.Sprintf("%s-%d.log", id, len(r.workers)))); err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { w.log.Close() })
	w.start(r.t, r.bin)
	// SIGKILL also ends a stopped process.
	r.t.Cleanup(func() { w.cmd.Process.Kill() })
	r.workers = append(r.workers, w)
	return w
}

// fatalf fails the test, with the end of every worker's log.
func (r *clusterRig) fatalf(format string, args ...any) {
	r.t.Helper()
	for _, w := range r.workers {
		b, _ := os.ReadFile(w.log.Name())
		r.t.Logf("worker %s (%s):\n%s", w.id, filepath.Base(w.log.Name()), tail(string(b), 4000))
	}
	r.t.Fatalf(format, args...)
}

// exited reports whether w exited, and how, without waiting.
func exited(w *clusterWorker) (bool, error) {
	select {
	case err := <-w.exited:
		w.exited <- err
		return true, err
	default:
		return false, nil
	}
}

// waitUntil calls cond every 50 ms until it returns nil. It fails the
// test with cond's last error after timeout, or at once when a worker not
// in mayExit exits. The timeout bounds a hang; it asserts no speed.
func (r *clusterRig) waitUntil(what string, timeout time.Duration, cond func() error) {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		for _, w := range r.workers {
			if ok, xerr := exited(w); ok && !r.mayExit[w] {
				r.fatalf("waiting for %s: worker %s exited (%v)", what, w.id, xerr)
			}
		}
		if time.Now().After(deadline) {
			r.fatalf("waiting for %s: not after %v: %v", what, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// finish waits for every worker that is not in mayExit to finish the job
// and exit 0, then checks that a read_committed consumer sees exactly the
// windows want.
func (r *clusterRig) finish(want []string) {
	r.t.Helper()
	deadline := time.After(2 * time.Minute)
	for _, w := range r.workers {
		if r.mayExit[w] {
			continue
		}
		select {
		case err := <-w.exited:
			w.exited <- err
			if err != nil {
				r.fatalf("worker %s: %v", w.id, err)
			}
		case <-deadline:
			r.fatalf("the cluster did not finish the job within 2 minutes")
		}
	}
	got := consumeCommitted(r.t, r.broker.Addr(), "pvuv", len(want))
	if len(got) != len(want) {
		r.fatalf("%d windows in the topic, want %d", len(got), len(want))
	}
	for i := range want {
		if asJSON(r.t, got[i]) != asJSON(r.t, want[i]) {
			r.fatalf("window %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

// logs returns the logs of the workers so far, one string per process.
func (r *clusterRig) logs() map[*clusterWorker]string {
	out := map[*clusterWorker]string{}
	for _, w := range r.workers {
		b, _ := os.ReadFile(w.log.Name())
		out[w] = string(b)
	}
	return out
}

// slowFetches makes the broker answer every fetch with one record batch,
// of a partition picked at random, after a pause, until release is called:
// the job reads its input slowly, so that it is still running, with state,
// while the test looks at it and adds or stops workers; after release it
// reads at full speed and ends. Fetch sessions are refused meanwhile (the
// client then lists every partition in every request): the broker answers
// a session's partitions in an order that would starve all but one.
func slowFetches(b *kafkatest.Broker, pause time.Duration) (release func()) {
	var fast atomic.Bool
	c := b.Cluster()
	c.ControlKey(int16(kmsg.Fetch), func(kreq kmsg.Request) (kmsg.Response, error, bool) {
		if fast.Load() {
			c.DropControl()
			return nil, nil, false
		}
		c.KeepControl()
		req := kreq.(*kmsg.FetchRequest)
		req.MaxBytes = 1 // the broker answers one batch at least
		req.SessionID, req.SessionEpoch = 0, -1
		for _, t := range req.Topics {
			rand.Shuffle(len(t.Partitions), func(i, j int) { t.Partitions[i], t.Partitions[j] = t.Partitions[j], t.Partitions[i] })
		}
		return nil, nil, false
	})
	// The pause holds the fetch in its connection only; the control
	// function must not sleep: it runs on the goroutine that answers
	// every client.
	slow := b.Delay(func(req kmsg.Request) time.Duration {
		if req.Key() == int16(kmsg.Fetch) {
			return pause
		}
		return 0
	})
	return func() {
		fast.Store(true)
		slow()
	}
}

// holdHeartbeat makes the broker answer the next heartbeat of the group
// member whose instance ID is id only after pause: a worker whose session
// ended learns of it that much later, and meanwhile acts in its old
// generation, as one cut off from Kafka but not from the others would.
// The requests the member sends after it on the same connection wait
// behind it.
func holdHeartbeat(b *kafkatest.Broker, id string, pause time.Duration) {
	var held atomic.Bool
	b.Delay(func(kreq kmsg.Request) time.Duration {
		req, ok := kreq.(*kmsg.HeartbeatRequest)
		if !ok || req.InstanceID == nil || *req.InstanceID != id || !held.CompareAndSwap(false, true) {
			return 0
		}
		return pause
	})
}

// s3Checkpoints is an S3 server in this process, spoken to by the
// workers over loopback, with the bucket their checkpoints go to.
type s3Checkpoints struct {
	mem      *s3mem.Backend
	location string   // the --checkpoint-dir of the workers
	env      []string // the workers' AWS environment
}

// startS3 starts the server. The workers find it through their
// environment (AWS_ENDPOINT_URL_S3; the SDK addresses an IP endpoint's
// buckets by path), or, with inURL, through the parameters of the
// location's URL.
func startS3(t *testing.T, inURL bool) *s3Checkpoints {
	t.Helper()
	mem := s3mem.New()
	if err := mem.CreateBucket("weir"); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(gofakes3.New(mem).Server())
	t.Cleanup(srv.Close)
	none := filepath.Join(t.TempDir(), "none")
	s := &s3Checkpoints{
		mem:      mem,
		location: "s3://weir/jobs/pvuv",
		// Static credentials, and no shared config or instance metadata
		// from the machine running the tests.
		env: []string{"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_SESSION_TOKEN=", "AWS_PROFILE=",
			"AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none, "AWS_EC2_METADATA_DISABLED=true"},
	}
	if inURL {
		q := url.Values{"region": {"us-east-1"}, "endpoint": {srv.URL}, "use_path_style": {"true"}, "disable_https": {"true"}}
		s.location += "?" + q.Encode()
	} else {
		s.env = append(s.env, "AWS_ENDPOINT_URL_S3="+srv.URL, "AWS_REGION=us-east-1")
	}
	return s
}

var metadataKey = regexp.MustCompile(`/chk-(\d+)/_metadata$`)

// completed returns the ids of the completed checkpoints in the bucket:
// those with a _metadata object.
func (s *s3Checkpoints) completed(t *testing.T) []int64 {
	t.Helper()
	list, err := s.mem.ListBucket("weir", &gofakes3.Prefix{HasPrefix: true, Prefix: "jobs/pvuv/"}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, c := range list.Contents {
		if m := metadataKey.FindStringSubmatch(c.Key); m != nil {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			ids = append(ids, id)
		}
	}
	return ids
}

// completedIn returns the ids of the completed checkpoints in a local
// checkpoint directory.
func completedIn(dir string) []int64 {
	metas, _ := filepath.Glob(filepath.Join(dir, "chk-*", "_metadata"))
	var ids []int64
	for _, m := range metas {
		if id, err := strconv.ParseInt(strings.TrimPrefix(filepath.Base(filepath.Dir(m)), "chk-"), 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// after is a waitPlan condition: a generation after gen.
func after(gen int32) func([]clusterView) error {
	return func(vs []clusterView) error {
		if vs[0].Generation <= gen {
			return fmt.Errorf("generation %d, want one after %d", vs[0].Generation, gen)
		}
		return nil
	}
}

// waitCheckpoint waits until a checkpoint newer than the newest in ckpt
// completes.
func (r *clusterRig) waitCheckpoint(what string, ckpt string) {
	r.t.Helper()
	before := slices.Max(completedIn(ckpt))
	r.waitUntil(what, time.Minute, func() error {
		if newest := slices.Max(completedIn(ckpt)); newest <= before {
			return fmt.Errorf("newest checkpoint %d, none after %d", newest, before)
		}
		return nil
	})
}

// clusterView is the answer of GET /api/cluster, decoded with the names
// the endpoint uses.
type clusterView struct {
	Generation  int32        `json:"generation"`
	Epoch       int64        `json:"epoch"`
	Coordinator string       `json:"coordinator"`
	Self        string       `json:"self"`
	Members     []memberView `json:"members"`
	Slots       int          `json:"slots"`
	Parallelism int          `json:"parallelism"`
}

type memberView struct {
	ID        string              `json:"id"`
	Addr      string              `json:"address"`
	Slots     int                 `json:"slots"`
	FirstSlot int                 `json:"first_slot"`
	Chains    []chainView         `json:"chains"`
	Splits    map[string][]string `json:"splits"`
}

type chainView struct {
	Chain       string   `json:"chain"`
	Parallelism int      `json:"parallelism"`
	Subtasks    []int    `json:"subtasks"`
	KeyGroups   [][2]int `json:"key_groups"`
}

// view asks the worker what it knows of its cluster.
func (w *clusterWorker) view() (clusterView, error) {
	cl := http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get("http://" + w.http + "/api/cluster")
	if err != nil {
		return clusterView{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return clusterView{}, fmt.Errorf("worker %s: GET /api/cluster: %s", w.id, resp.Status)
	}
	var v clusterView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return clusterView{}, fmt.Errorf("worker %s: GET /api/cluster: %w", w.id, err)
	}
	return v, nil
}

func (v clusterView) member(id string) (memberView, bool) {
	i := slices.IndexFunc(v.Members, func(m memberView) bool { return m.ID == id })
	if i < 0 {
		return memberView{}, false
	}
	return v.Members[i], true
}

func (v clusterView) memberIDs() []string {
	ids := make([]string, len(v.Members))
	for i, m := range v.Members {
		ids[i] = m.ID
	}
	return ids
}

// views asks every worker of ws, in order.
func views(ws ...*clusterWorker) ([]clusterView, error) {
	out := make([]clusterView, len(ws))
	for i, w := range ws {
		v, err := w.view()
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// checkPlan checks the views of the workers of one running generation:
// each runs an epoch of it; they agree on the generation, the coordinator,
// the parallelism, the members and what each member runs; each member has
// subtasks; and the plan gives every subtask of every chain, every key
// group [0, max parallelism) of a keyed chain and, when splits is not nil,
// every one of those source splits to exactly one worker.
func checkPlan(vs []clusterView, parallelism int, splits []string) error {
	var ids []string
	for _, v := range vs {
		ids = append(ids, v.Self)
	}
	slices.Sort(ids)
	first := vs[0]
	for _, v := range vs {
		switch {
		case v.Epoch == 0:
			return fmt.Errorf("worker %s runs no epoch of generation %d yet", v.Self, v.Generation)
		case v.Generation != first.Generation || v.Coordinator != first.Coordinator:
			return fmt.Errorf("worker %s says generation %d, coordinator %s; worker %s says generation %d, coordinator %s",
				v.Self, v.Generation, v.Coordinator, first.Self, first.Generation, first.Coordinator)
		case v.Parallelism != parallelism:
			return fmt.Errorf("worker %s: parallelism %d, want %d", v.Self, v.Parallelism, parallelism)
		case !slices.Equal(v.memberIDs(), ids):
			return fmt.Errorf("worker %s: members %v, want %v", v.Self, v.memberIDs(), ids)
		}
	}
	ci := slices.IndexFunc(vs, func(v clusterView) bool { return v.Self == first.Coordinator })
	if ci < 0 {
		return fmt.Errorf("the coordinator %q is none of the workers %v", first.Coordinator, ids)
	}
	coord := vs[ci]
	for _, v := range vs {
		for _, m := range v.Members {
			theirs, _ := coord.member(m.ID)
			if !reflect.DeepEqual(m.Chains, theirs.Chains) || m.Slots != theirs.Slots || m.FirstSlot != theirs.FirstSlot {
				return fmt.Errorf("worker %s and the coordinator %s disagree on what %s runs:\n%+v\n%+v", v.Self, coord.Self, m.ID, m, theirs)
			}
		}
		if own, _ := v.member(v.Self); len(own.Chains) == 0 {
			return fmt.Errorf("worker %s runs no subtask", v.Self)
		}
	}

	type cover struct {
		parallelism int
		keyed       bool
		subtasks    map[int]string // owner of each subtask
		groups      map[int]string // owner of each key group
	}
	chains := map[string]*cover{}
	for _, m := range coord.Members {
		for _, c := range m.Chains {
			cv := chains[c.Chain]
			if cv == nil {
				cv = &cover{parallelism: c.Parallelism, subtasks: map[int]string{}, groups: map[int]string{}}
				chains[c.Chain] = cv
			}
			if c.Parallelism != cv.parallelism || len(c.Subtasks) != 2 || c.Subtasks[0] > c.Subtasks[1] {
				return fmt.Errorf("chain %q on %s: parallelism %d (elsewhere %d), subtasks %v", c.Chain, m.ID, c.Parallelism, cv.parallelism, c.Subtasks)
			}
			for i := c.Subtasks[0]; i <= c.Subtasks[1]; i++ {
				if o, ok := cv.subtasks[i]; ok {
					return fmt.Errorf("subtask %d of chain %q runs on %s and on %s", i, c.Chain, o, m.ID)
				}
				cv.subtasks[i] = m.ID
			}
			if len(c.KeyGroups) > 0 {
				cv.keyed = true
				if len(c.KeyGroups) != c.Subtasks[1]-c.Subtasks[0]+1 {
					return fmt.Errorf("chain %q on %s: %d key-group ranges for subtasks %v", c.Chain, m.ID, len(c.KeyGroups), c.Subtasks)
				}
			}
			for _, r := range c.KeyGroups {
				for g := r[0]; g < r[1]; g++ {
					if o, ok := cv.groups[g]; ok {
						return fmt.Errorf("key group %d of chain %q is on %s and on %s", g, c.Chain, o, m.ID)
					}
					cv.groups[g] = m.ID
				}
			}
		}
	}
	keyed := 0
	for name, cv := range chains {
		for i := range cv.parallelism {
			if _, ok := cv.subtasks[i]; !ok {
				return fmt.Errorf("subtask %d of chain %q (parallelism %d) runs nowhere", i, name, cv.parallelism)
			}
		}
		if len(cv.subtasks) != cv.parallelism {
			return fmt.Errorf("chain %q of parallelism %d has subtasks %v", name, cv.parallelism, cv.subtasks)
		}
		if !cv.keyed {
			continue
		}
		keyed++
		for g := range clusterMaxParallelism {
			if _, ok := cv.groups[g]; !ok {
				return fmt.Errorf("key group %d of chain %q is nowhere", g, name)
			}
		}
		if len(cv.groups) != clusterMaxParallelism {
			return fmt.Errorf("chain %q has %d key groups, want %d", name, len(cv.groups), clusterMaxParallelism)
		}
	}
	// pvuv: the source and parse, the per-client and per-page counts, the
	// merge, the results, the bad lines.
	if len(chains) < 4 || keyed < 2 {
		return fmt.Errorf("%d chains, %d of them keyed: %v", len(chains), keyed, chains)
	}
	if splits == nil {
		return nil
	}
	owners := map[string]string{}
	for _, m := range coord.Members {
		for _, ids := range m.Splits {
			for _, id := range ids {
				if o, ok := owners[id]; ok {
					return fmt.Errorf("split %s was given to %s and to %s", id, o, m.ID)
				}
				owners[id] = m.ID
			}
		}
	}
	for _, id := range splits {
		if _, ok := owners[id]; !ok {
			return fmt.Errorf("split %s was given to no worker (given: %v)", id, owners)
		}
	}
	if len(owners) != len(splits) {
		return fmt.Errorf("splits given: %v, want %v", owners, splits)
	}
	return nil
}

// waitPlan waits until the workers ws run one generation whose plan
// checkPlan accepts, and returns their views.
func (r *clusterRig) waitPlan(what string, ws []*clusterWorker, parallelism int, splits []string, more func([]clusterView) error) []clusterView {
	r.t.Helper()
	var vs []clusterView
	r.waitUntil(what, time.Minute, func() error {
		var err error
		if vs, err = views(ws...); err != nil {
			return err
		}
		if err := checkPlan(vs, parallelism, splits); err != nil {
			return err
		}
		if more != nil {
			return more(vs)
		}
		return nil
	})
	return vs
}

var accessSplits = []string{"access-0", "access-1", "access-2", "access-3"}

// TestClusterS3AndAFourthWorker runs weir pvuv as three processes of one
// cluster with their checkpoints in S3 (a server in this process, spoken
// to over loopback by the workers' AWS client), while the broker hands
// out the input slowly. Their GET /api/cluster must agree on the
// generation and the coordinator and describe a plan that gives every
// subtask, key group and Kafka partition to exactly one of them. A fourth
// worker then joins: a new generation at parallelism 4 in which it has
// subtasks of its own and a checkpoint completes in the bucket. Then the
// input flows at full speed and a read_committed consumer must see exactly
// the expected windows.
func TestClusterS3AndAFourthWorker(t *testing.T) {
	t.Parallel()
	takeTurn(t, timingTurn)
	if testing.Short() {
		t.Skip("cluster process test: skipped with -short")
	}
	// The endpoint in the URL's parameters, as the README writes it: the
	// paths of checkpoints must keep them at the end.
	s3FourthWorker(t, true)
}

func s3FourthWorker(t *testing.T, endpointInURL bool) {
	in := sharedInput(t, 200_000)
	want := sharedBaseline(t, in, 10*time.Second, 10)
	s3 := startS3(t, endpointInURL)
	r := newClusterRig(t, in, 10*time.Second, s3.location)
	r.env = s3.env
	release := slowFetches(r.broker, 50*time.Millisecond)
	defer release()

	var ws []*clusterWorker
	for i := range 3 {
		ws = append(ws, r.start(fmt.Sprint("w", i), "--min-workers", "3"))
	}
	vs := r.waitPlan("three workers with one plan", ws, 3, accessSplits, nil)
	gen1 := vs[0].Generation
	t.Logf("generation %d, coordinator %s", gen1, vs[0].Coordinator)
	r.waitUntil("a checkpoint in S3", time.Minute, func() error {
		if len(s3.completed(t)) == 0 {
			return fmt.Errorf("no chk-*/_metadata in the bucket")
		}
		return nil
	})

	ws = append(ws, r.start("w3"))
	vs = r.waitPlan("four workers with one plan", ws, 4, nil, after(gen1))
	gen2 := vs[0].Generation
	// Every worker runs an epoch of the new generation: the epochs of the
	// old one ended, and a checkpoint newer than every one in the bucket
	// now is one of the new generation.
	before := slices.Max(s3.completed(t))
	r.waitUntil("a checkpoint of the new generation in S3", time.Minute, func() error {
		if newest := slices.Max(s3.completed(t)); newest <= before {
			return fmt.Errorf("newest checkpoint %d, none after %d", newest, before)
		}
		return nil
	})
	if v, err := ws[3].view(); err != nil || v.Generation != gen2 {
		r.fatalf("worker w3 after the checkpoint: %+v, %v; want generation %d", v, err, gen2)
	}
	t.Logf("generation %d at parallelism 4; checkpoints %v", gen2, s3.completed(t))

	release()
	r.finish(want)
}

// TestClusterZombieWorker stops a worker that is not the coordinator (the
// one with the first slot, which runs the transactional results sink)
// with SIGSTOP for longer than its session timeout. The two others must
// form a generation without it and complete a checkpoint; then it gets
// SIGCONT: whatever it had buffered or was about to commit belongs to the
// old generation, and the others refuse it (they log the stale epoch) and
// Kafka fences its transaction; it rejoins, and the results a
// read_committed consumer sees are exactly the expected ones.
func TestClusterZombieWorker(t *testing.T) {
	t.Parallel()
	takeTurn(t, timingTurn)
	if testing.Short() {
		t.Skip("cluster process test: skipped with -short")
	}
	in := sharedInput(t, 200_000)
	want := sharedBaseline(t, in, time.Second, 10)
	ckpt := filepath.Join(t.TempDir(), "checkpoints")
	r := newClusterRig(t, in, time.Second, ckpt)
	r.env = []string{"WEIR_LOG_LEVEL=debug"} // refused messages are logged at debug level
	release := slowFetches(r.broker, 50*time.Millisecond)
	defer release()

	// w1 starts first and waits alone: Kafka makes the first member the
	// group's leader, which coordinates, and keeps it while it stays.
	w1 := r.start("w1", "--min-workers", "3")
	r.waitUntil("w1 to coordinate", time.Minute, func() error {
		if !w1.coordinates() {
			return fmt.Errorf("w1 does not say it coordinates")
		}
		return nil
	})
	w0 := r.start("w0", "--min-workers", "3")
	w2 := r.start("w2", "--min-workers", "3")
	ws := []*clusterWorker{w0, w1, w2}
	vs := r.waitPlan("three workers with one plan", ws, 3, accessSplits, nil)
	gen1 := vs[0].Generation
	if vs[0].Coordinator != "w1" {
		r.fatalf("coordinator %s, want w1, the first to join", vs[0].Coordinator)
	}
	if m, _ := vs[0].member("w0"); m.FirstSlot != 0 {
		r.fatalf("w0 does not have the first slot: %+v", vs[0].Members)
	}
	// w0 runs the results sink: once it commits windows, the windows
	// flow, and its transactions hold records when it stops.
	results, err := kgo.NewClient(kgo.SeedBrokers(r.broker.Addr()), kgo.ConsumeTopics("pvuv"),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	committed := 0
	r.waitUntil("windows committed by w0's sink", time.Minute, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		committed += results.PollFetches(ctx).NumRecords()
		if committed < 3 {
			return fmt.Errorf("%d windows committed", committed)
		}
		return nil
	})
	results.Close()

	stoppedAt := time.Now()
	if err := w0.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			w0.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	live := []*clusterWorker{w1, w2}
	vs = r.waitPlan("two workers without w0", live, 2, nil, after(gen1))
	gen2 := vs[0].Generation
	r.waitCheckpoint("a checkpoint of the generation without w0", ckpt)
	t.Logf("generation %d without w0; checkpoints up to %d", gen2, slices.Max(completedIn(ckpt)))
	// Its checkpoints' state files carry its epoch, so that w0, which may
	// still write files of its old epoch, cannot overwrite them.
	newest := fmt.Sprintf("chk-%020d", slices.Max(completedIn(ckpt)))
	keyed, _ := filepath.Glob(filepath.Join(ckpt, newest, "*.keyed"))
	if len(keyed) == 0 {
		r.fatalf("no keyed state file in %s", newest)
	}
	for _, f := range keyed {
		m := keyedEpoch.FindStringSubmatch(filepath.Base(f))
		if m == nil {
			r.fatalf("state file %s of generation %d has no epoch in its name", f, gen2)
		}
		if epoch, _ := strconv.ParseInt(m[1], 10, 64); epoch>>16 != int64(gen2) {
			r.fatalf("state file %s of generation %d names epoch %d", f, gen2, epoch)
		}
	}

	// w0 learns that its session ended only 2 s after it goes on: it
	// acts in its old generation meanwhile.
	holdHeartbeat(r.broker, "w0", 2*time.Second)
	resumedAt := time.Now()
	if err := w0.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	vs = r.waitPlan("w0 back", ws, 3, nil, after(gen2))
	t.Logf("generation %d with w0 again", vs[0].Generation)

	release()
	r.finish(want)
	// While w0 was stopped, the sink's new subtask 0 fenced its
	// transactional ids (a newer producer epoch); once w0 went on, a live
	// worker refused a message of w0's old epoch.
	logs := r.logs()
	var fenced, refused []string
	for _, w := range live {
		for line := range strings.Lines(logs[w]) {
			at, ok := logTime(line)
			switch {
			case !ok:
			case strings.Contains(line, "kafka sink: fenced transactional ids") && at.After(stoppedAt) && at.Before(resumedAt):
				fenced = append(fenced, w.id+": "+line)
				// The new generation's writer has transactional ids of
				// its own epoch, which w0's old writer cannot fence.
				m := fencedAttempt.FindStringSubmatch(line)
				if m == nil || m[1] != m[2] {
					r.fatalf("a fencing without the writer's attempt, or with ids of another: %s", line)
				}
				if epoch, _ := strconv.ParseInt(m[1], 10, 64); epoch>>16 != int64(gen2) {
					r.fatalf("the sink's writer in generation %d fenced as attempt %d, not one of its generation's epochs: %s", gen2, epoch, line)
				}
			case at.After(resumedAt):
				if m := staleRefusal.FindStringSubmatch(line); m != nil {
					if epoch, _ := strconv.ParseInt(m[1], 10, 64); epoch>>16 == int64(gen1) {
						refused = append(refused, w.id+": "+line)
					}
				}
			}
		}
	}
	t.Logf("fenced while w0 was stopped:\n%s\nrefused after it went on:\n%s", strings.Join(fenced, ""), strings.Join(refused, ""))
	if len(fenced) == 0 || len(refused) == 0 {
		r.fatalf("the live workers' logs show %d fencings of the sink's transactions while w0 was stopped and %d refusals of its stale messages after", len(fenced), len(refused))
	}
}

// TestClusterZombieCoordinator stops the only worker, which coordinates
// and runs every task, with SIGSTOP; a second worker takes the job over
// from the latest checkpoint. When the first goes on, it runs its old
// epoch for 2 s (its heartbeat is held) with every task of it at hand, so
// its checkpoints could complete, its sink then committing what the second
// writes again, and a checkpoint it aborts would be deleted, whatever the
// second wrote under its id: before it writes a checkpoint's metadata or
// deletes a checkpoint, it asks the brokers whether its generation goes
// on, and they say no. A read_committed consumer must see exactly the
// expected windows.
func TestClusterZombieCoordinator(t *testing.T) {
	t.Parallel()
	takeTurn(t, timingTurn)
	if testing.Short() {
		t.Skip("cluster process test: skipped with -short")
	}
	in := sharedInput(t, 200_000)
	want := sharedBaseline(t, in, time.Second, 10)
	ckpt := filepath.Join(t.TempDir(), "checkpoints")
	r := newClusterRig(t, in, time.Second, ckpt)
	release := slowFetches(r.broker, 50*time.Millisecond)
	defer release()

	w1 := r.start("w1")
	vs := r.waitPlan("w1 alone", []*clusterWorker{w1}, 1, accessSplits, nil)
	gen1 := vs[0].Generation
	r.waitUntil("a checkpoint of w1", time.Minute, func() error {
		if len(completedIn(ckpt)) == 0 {
			return fmt.Errorf("no checkpoint completed")
		}
		return nil
	})
	if err := w1.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	stopped := true
	defer func() {
		if stopped {
			w1.cmd.Process.Signal(syscall.SIGCONT)
		}
	}()
	w2 := r.start("w2")
	vs = r.waitPlan("w2 alone", []*clusterWorker{w2}, 1, accessSplits, after(gen1))
	gen2 := vs[0].Generation
	r.waitCheckpoint("a checkpoint of w2", ckpt)

	holdHeartbeat(r.broker, "w1", 2*time.Second)
	if err := w1.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	stopped = false
	r.waitPlan("w1 back", []*clusterWorker{w1, w2}, 2, nil, after(gen2))
	release()
	r.finish(want)
	// w1 numbers its checkpoints after its own, w2 after the newest it
	// found: w1's next ids are w2's. Had w1 tried to complete one, it would
	// have found w2's there, and aborting it would have deleted it.
	var tried, refused []string
	for line := range strings.Lines(r.logs()[w1]) {
		switch {
		case strings.Contains(line, "it is already completed"):
			tried = append(tried, line)
		case strings.Contains(line, "no longer the job's live one"):
			refused = append(refused, line)
		}
	}
	t.Logf("w1 as a zombie:\n%s", strings.Join(refused, ""))
	if len(tried) > 0 {
		r.fatalf("w1, cut off, wrote checkpoint metadata where w2's checkpoints are:\n%s", strings.Join(tried, ""))
	}
}

// TestClusterFileSinkAcrossWorkers writes the windows with the file sink
// into a directory both workers share, as their checkpoints are. The
// worker with the first slot, which runs the results sink, is killed
// (SIGKILL) while it writes: the other takes its subtask over, publishes
// the part files the killed one pre-committed for the latest checkpoint,
// cuts the file back to that checkpoint, and writes the rest. The file
// must hold exactly the expected windows, and no part file may be left.
func TestClusterFileSinkAcrossWorkers(t *testing.T) {
	t.Parallel()
	takeTurn(t, timingTurn)
	if testing.Short() {
		t.Skip("cluster process test: skipped with -short")
	}
	in := sharedInput(t, 200_000)
	want := sharedBaseline(t, in, time.Second, 10)
	shared := t.TempDir()
	out := filepath.Join(shared, "out", "pvuv.jsonl")
	r := newClusterRig(t, in, time.Second, filepath.Join(shared, "checkpoints"))
	for i, a := range r.common {
		if a == "--sink" {
			r.common[i+1] = "file://" + out
		}
	}
	release := slowFetches(r.broker, 50*time.Millisecond)
	defer release()

	ws := []*clusterWorker{r.start("w0", "--min-workers", "2"), r.start("w1", "--min-workers", "2")}
	vs := r.waitPlan("two workers with one plan", ws, 2, accessSplits, nil)
	victim, survivor := ws[0], ws[1]
	if m, _ := vs[0].member("w1"); m.FirstSlot == 0 {
		victim, survivor = ws[1], ws[0]
	}
	r.waitUntil("windows published by "+victim.id, time.Minute, func() error {
		if n := len(readLinesIfAny(out)); n < 3 {
			return fmt.Errorf("%d windows published", n)
		}
		return nil
	})
	r.mayExit[victim] = true
	if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	r.waitPlan(survivor.id+" alone", []*clusterWorker{survivor}, 1, accessSplits, nil)
	release()
	select {
	case err := <-survivor.exited:
		survivor.exited <- err
		if err != nil {
			r.fatalf("worker %s: %v", survivor.id, err)
		}
	case <-time.After(2 * time.Minute):
		r.fatalf("the cluster did not finish the job within 2 minutes")
	}
	got := readLinesIfAny(out)
	if len(got) != len(want) {
		r.fatalf("%d windows in %s, want %d", len(got), out, len(want))
	}
	for i := range want {
		if asJSON(t, got[i]) != asJSON(t, want[i]) {
			r.fatalf("window %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	if parts, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*part*")); len(parts) > 0 {
		r.fatalf("part files left: %q", parts)
	}
}

// readLinesIfAny returns the lines of path, none if it is missing.
func readLinesIfAny(path string) []string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}

// fencedAttempt matches the debug line of a Kafka sink's writer that
// fenced transactional ids, among them its own first one, of its attempt.
var fencedAttempt = regexp.MustCompile(`attempt=(\d+) ids="\[weir-pvuv-\d+-0-a(\d+)[ \]]`)

// keyedEpoch matches the name of a keyed state file of a cluster epoch.
var keyedEpoch = regexp.MustCompile(`\.\d+\.a(\d+)\.keyed$`)

// staleRefusal matches the debug line of a worker's transport that refused
// a message of an older epoch than its own.
var staleRefusal = regexp.MustCompile(`refused.* reason="stale epoch (\d+), now (\d+)"`)

// logTime returns the time of a log line of weir's text logger.
func logTime(line string) (time.Time, bool) {
	v, ok := strings.CutPrefix(line, "time=")
	if !ok {
		return time.Time{}, false
	}
	v, _, _ = strings.Cut(v, " ")
	at, err := time.Parse(time.RFC3339Nano, v)
	return at, err == nil
}

// TestClusterOtherGraphRefused starts two workers of one cluster where
// the second runs another job graph (--uv hll counts visitors with other
// operators): the second must exit with an error that names the
// difference; the first goes on waiting for a worker of its own job, and
// runs the job with the one that comes next.
func TestClusterOtherGraphRefused(t *testing.T) {
	t.Parallel()
	takeTurn(t, timingTurn)
	if testing.Short() {
		t.Skip("cluster process test: skipped with -short")
	}
	in := generate(t, 50_000)
	_, want := in.baselineLines(t, time.Minute, 10)
	ckpt := filepath.Join(t.TempDir(), "checkpoints")
	r := newClusterRig(t, in, time.Minute, ckpt)

	a := r.start("a", "--min-workers", "2")
	r.waitUntil("a to coordinate", time.Minute, func() error {
		if !a.coordinates() {
			return fmt.Errorf("a does not say it coordinates")
		}
		return nil
	})
	b := r.start("b", "--min-workers", "2", "--uv", "hll")
	r.mayExit[b] = true
	var berr error
	r.waitUntil("b to exit", time.Minute, func() error {
		var ok bool
		if ok, berr = exited(b); !ok {
			return fmt.Errorf("b still runs")
		}
		return nil
	})
	if berr == nil {
		r.fatalf("b exited 0; want a failure")
	}
	// The error weir pvuv ends with names the difference.
	var failure string
	for line := range strings.Lines(r.logs()[b]) {
		if strings.HasPrefix(line, "weir pvuv: ") && strings.Contains(line, "this worker may not take part") {
			failure = line
		}
	}
	for _, s := range []string{`runs another job graph than the coordinator "a"`, `operator "count-clients" exists only on worker "a"`, "sketch-clients"} {
		if !strings.Contains(failure, s) {
			r.fatalf("b (%v) did not end with an error that says %q", berr, s)
		}
	}
	if v, err := a.view(); err != nil || v.Coordinator != "a" || !slices.Equal(v.memberIDs(), []string{"a"}) || v.Epoch != 0 {
		r.fatalf("a after b's refusal: %+v, %v; want a alone, waiting", v, err)
	}
	if n := len(completedIn(ckpt)); n != 0 {
		r.fatalf("%d checkpoints before the job started", n)
	}

	c := r.start("c", "--min-workers", "2")
	r.waitPlan("a and c with one plan", []*clusterWorker{a, c}, 2, accessSplits, nil)
	r.finish(want)
}
