package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/weirstream/weir/internal/job"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Timings of the tests' workers: short, so that a killed worker is noticed
// within a test, and far apart enough for two cores shared with others.
const (
	testSession   = 1500 * time.Millisecond
	testHeartbeat = 100 * time.Millisecond
	testRebalance = 5 * time.Second
	// testWait bounds every wait for the group, so that a broken test
	// fails instead of hanging; nothing is asserted about how long a
	// step takes.
	testWait = 20 * time.Second
)

// startBroker starts a kfake broker on a loopback port that allows short
// session timeouts.
func startBroker(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func graphOf(mapParallelism string) (desc, fingerprint string) {
	desc = Describe(testGraph(mapParallelism))
	return desc, Fingerprint(desc)
}

// testWorker is a joined worker whose events a goroutine records.
type testWorker struct {
	id string
	m  *Membership

	mu     sync.Mutex
	events []Event
	ended  chan struct{} // closed when Events is closed
}

type workerOpt func(*Config)

func withGraph(mapParallelism string) workerOpt {
	return func(c *Config) { c.Self.Graph, c.Self.Fingerprint = graphOf(mapParallelism) }
}

func withSession(d time.Duration) workerOpt {
	return func(c *Config) { c.SessionTimeout = d }
}

func join(t *testing.T, broker *kfake.Cluster, name, id string, slots int, opts ...workerOpt) *testWorker {
	t.Helper()
	desc, fp := graphOf("2")
	cfg := Config{
		Client: []kgo.Opt{kgo.SeedBrokers(broker.ListenAddrs()...)},
		Name:   name,
		Self: Worker{
			ID: id, Addr: "127.0.0.1:" + fmt.Sprint(7000+len(id)), Slots: slots,
			Fingerprint: fp, Graph: desc,
		},
		SessionTimeout:    testSession,
		HeartbeatInterval: testHeartbeat,
		RebalanceTimeout:  testRebalance,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	m, err := Join(ctx, cfg)
	if err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
	w := &testWorker{id: id, m: m, ended: make(chan struct{})}
	go func() {
		defer close(w.ended)
		for ev := range m.Events() {
			w.mu.Lock()
			w.events = append(w.events, ev)
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = m.Close()
		<-w.ended
	})
	return w
}

func (w *testWorker) log() []Event {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.events)
}

// last returns the worker's last event.
func (w *testWorker) last() (Event, bool) {
	evs := w.log()
	if len(evs) == 0 {
		return Event{}, false
	}
	return evs[len(evs)-1], true
}

// leave leaves the group and waits until the events have ended.
func (w *testWorker) leave(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := w.m.Leave(ctx); err != nil {
		t.Fatalf("%s: leave: %v", w.id, err)
	}
	<-w.ended
}

// kill stops the worker as a killed process stops: without leaving.
func (w *testWorker) kill() {
	w.m.abandon()
	<-w.ended
}

// waitFor polls until cond holds, failing the test after testWait.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitStable waits until every worker's last event is Assigned, of one
// generation, whose members are exactly these workers, and returns it.
func waitStable(t *testing.T, ws ...*testWorker) Generation {
	t.Helper()
	var ids []string
	for _, w := range ws {
		ids = append(ids, w.id)
	}
	slices.Sort(ids)
	var g Generation
	waitFor(t, fmt.Sprintf("a generation of %v", ids), func() bool {
		for i, w := range ws {
			ev, ok := w.last()
			if !ok || ev.Kind != Assigned || (i > 0 && ev.Generation.ID != g.ID) {
				return false
			}
			g = ev.Generation
			var got []string
			for _, m := range g.Members {
				got = append(got, m.ID)
			}
			if !slices.Equal(got, ids) {
				return false
			}
		}
		return true
	})
	checkGeneration(t, g, ws...)
	return g
}

// checkGeneration checks that every worker got the same assignment, whose
// slots are disjoint and cover [0, S), with one coordinator among them.
func checkGeneration(t *testing.T, g Generation, ws ...*testWorker) {
	t.Helper()
	coordinators := 0
	for _, w := range ws {
		ev, _ := w.last()
		if !equalAssignments(ev.Generation.Assignment, g.Assignment) || ev.Generation.Coordinator != g.Coordinator {
			t.Fatalf("%s got another assignment: %+v, want %+v", w.id, ev.Generation.Assignment, g.Assignment)
		}
		if ev.Generation.Self != w.id {
			t.Fatalf("%s: Self = %q", w.id, ev.Generation.Self)
		}
		if ev.Generation.IsCoordinator() {
			coordinators++
		}
		if cur, ok := w.m.Current(); !ok || cur.ID != g.ID {
			t.Fatalf("%s: Current() = %d, %v, want generation %d", w.id, cur.ID, ok, g.ID)
		}
	}
	if coordinators != 1 {
		t.Fatalf("%d workers coordinate generation %d, want 1", coordinators, g.ID)
	}
	owner := make([]string, g.Assignment.Slots)
	for _, w := range g.Assignment.Workers {
		for s := w.Start; s < w.End(); s++ {
			if owner[s] != "" {
				t.Fatalf("slot %d owned by %s and %s", s, owner[s], w.ID)
			}
			owner[s] = w.ID
		}
	}
	if i := slices.Index(owner, ""); i >= 0 {
		t.Fatalf("slot %d of %d has no owner", i, len(owner))
	}
	if g.Assignment.Generation != g.ID {
		t.Fatalf("assignment of generation %d is for generation %d", g.ID, g.Assignment.Generation)
	}
	for _, m := range g.Members {
		if ws, ok := g.Assignment.Worker(m.ID); !ok || ws.Start != m.Start || ws.Slots != m.Slots || ws.Addr != m.Addr {
			t.Fatalf("member %+v does not match the assignment's %+v", m, ws)
		}
	}
}

// checkOrder checks cluster invariant 3 on a worker's events: Assigned and
// Revoked alternate, each Revoked ends the generation of the Assigned
// before it, and generations grow.
func checkOrder(t *testing.T, w *testWorker) {
	t.Helper()
	var open *Generation
	last := int32(-1)
	for i, ev := range w.log() {
		switch ev.Kind {
		case Assigned:
			if open != nil {
				t.Fatalf("%s: event %d assigns generation %d while %d was not revoked: %v", w.id, i, ev.Generation.ID, open.ID, kinds(w.log()))
			}
			if ev.Generation.ID <= last {
				t.Fatalf("%s: generation %d after %d", w.id, ev.Generation.ID, last)
			}
			g := ev.Generation
			open, last = &g, g.ID
		case Revoked:
			if open == nil || open.ID != ev.Generation.ID {
				t.Fatalf("%s: event %d revokes generation %d, which is not the open one: %v", w.id, i, ev.Generation.ID, kinds(w.log()))
			}
			open = nil
		case Refused:
			t.Fatalf("%s: refused: %v", w.id, ev.Err)
		}
	}
}

func kinds(evs []Event) []string {
	var s []string
	for _, ev := range evs {
		s = append(s, fmt.Sprintf("%s(%d)", ev.Kind, ev.Generation.ID))
	}
	return s
}

// revokedSince reports whether the worker's events, after the first n,
// revoke generation gen before assigning a later one.
func revokedSince(evs []Event, n int, gen int32) bool {
	for _, ev := range evs[n:] {
		switch {
		case ev.Kind == Revoked && ev.Generation.ID == gen:
			return true
		case ev.Kind == Assigned:
			return false
		}
	}
	return false
}

// members returns the instance IDs of the group's members as the broker
// sees them.
func members(t *testing.T, broker *kfake.Cluster, group string) []string {
	t.Helper()
	var ids []string
	for _, m := range describeGroup(t, broker, group).Members {
		if m.InstanceID != nil {
			ids = append(ids, *m.InstanceID)
		}
	}
	slices.Sort(ids)
	return ids
}

// describeGroup returns what the brokers say of a group.
func describeGroup(t *testing.T, broker *kfake.Cluster, group string) kadm.DescribedGroup {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	groups, err := kadm.NewClient(cl).DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	return groups[group]
}

// partitions returns the number of partitions of a topic, 0 if it is
// missing.
func partitions(t *testing.T, broker *kfake.Cluster, topic string) int {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(broker.ListenAddrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	topics, err := kadm.NewClient(cl).ListTopics(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	return len(topics[topic].Partitions)
}

// TestMembershipLifecycle follows a job's group through its life: three
// workers form one generation; the coordinator forces a new one; a fourth
// joins; one leaves; one is killed. Every worker sees every change as
// Revoked of the old generation, then Assigned of the new one, and all
// members of a generation agree on its assignment.
func TestMembershipLifecycle(t *testing.T) {
	broker := startBroker(t)
	var a, b, c, d *testWorker
	var wg sync.WaitGroup
	for _, p := range []struct {
		w     **testWorker
		id    string
		slots int
	}{{&a, "a", 2}, {&b, "b", 1}, {&c, "c", 3}} {
		wg.Go(func() { *p.w = join(t, broker, "job", p.id, p.slots) })
	}
	wg.Wait()

	g1 := waitStable(t, a, b, c)
	if g1.Assignment.Slots != 6 {
		t.Fatalf("3 workers with 2+1+3 slots: S = %d", g1.Assignment.Slots)
	}
	if got := []WorkerSlots(g1.Assignment.Workers); got[0].ID != "a" || got[1].ID != "b" || got[1].Start != 2 || got[2].Start != 3 {
		t.Fatalf("workers not in ID order with consecutive slots: %+v", got)
	}
	t.Logf("generation %d: coordinator %s, %+v", g1.ID, g1.Coordinator, g1.Assignment.Workers)
	if p := partitions(t, broker, Topic("job")); p != 1 {
		t.Fatalf("topic %s has %d partitions, want 1", Topic("job"), p)
	}
	waitFor(t, "a heartbeat", func() bool { return !a.m.LastHeartbeat().IsZero() })

	// The coordinator forces a new generation with the same workers.
	coordinator := map[string]*testWorker{"a": a, "b": b, "c": c}[g1.Coordinator]
	n := map[*testWorker]int{a: len(a.log()), b: len(b.log()), c: len(c.log())}
	coordinator.m.Rebalance()
	waitFor(t, "a generation after Rebalance", func() bool {
		ev, _ := a.last()
		return ev.Generation.ID > g1.ID
	})
	g2 := waitStable(t, a, b, c)
	for _, w := range []*testWorker{a, b, c} {
		if !revokedSince(w.log(), n[w], g1.ID) {
			t.Fatalf("%s: generation %d not revoked before %d: %v", w.id, g1.ID, g2.ID, kinds(w.log()))
		}
	}

	// A fourth worker joins: more slots; the old generation is revoked
	// first on every member.
	n = map[*testWorker]int{a: len(a.log()), b: len(b.log()), c: len(c.log())}
	d = join(t, broker, "job", "d", 2, withSession(3*time.Second))
	g3 := waitStable(t, a, b, c, d)
	if g3.Assignment.Slots != 8 || g3.Coordinator != g1.Coordinator {
		t.Fatalf("after d joined: S = %d, coordinator %s; want 8 and %s", g3.Assignment.Slots, g3.Coordinator, g1.Coordinator)
	}
	for _, w := range []*testWorker{a, b, c} {
		if !revokedSince(w.log(), n[w], g2.ID) {
			t.Fatalf("%s: generation %d not revoked before %d: %v", w.id, g2.ID, g3.ID, kinds(w.log()))
		}
	}

	// One leaves: it is out of the group as soon as Leave returns (a
	// static member's client would not leave by itself), and the others
	// form a generation without it.
	leaver, stay := b, []*testWorker{a, c, d}
	if g1.Coordinator == "b" {
		leaver, stay = c, []*testWorker{a, b, d}
	}
	leaver.leave(t)
	if got := members(t, broker, "job"); slices.Contains(got, leaver.id) {
		t.Fatalf("%s still in the group after Leave: %v", leaver.id, got)
	}
	g4 := waitStable(t, stay...)
	if _, ok := g4.Assignment.Worker(leaver.id); ok {
		t.Fatalf("%s still assigned after leaving", leaver.id)
	}

	// One is killed (it does not leave): the group keeps it until its
	// session times out, then forms a generation without it.
	victim, rest := d, slices.DeleteFunc(slices.Clone(stay), func(w *testWorker) bool { return w == d })
	// d's session (3s) is longer than the others' so that the check
	// below surely comes before it times out.
	victim.kill()
	if got := members(t, broker, "job"); !slices.Contains(got, victim.id) {
		t.Fatalf("a killed worker left the group by itself: %v", got)
	}
	g5 := waitStable(t, rest...)
	if _, ok := g5.Assignment.Worker(victim.id); ok || g5.ID <= g4.ID {
		t.Fatalf("generation %d after the kill still has %s", g5.ID, victim.id)
	}

	for _, w := range []*testWorker{a, b, c, d} {
		checkOrder(t, w)
	}
}

// TestRefusedGraph: a worker whose job graph differs from the
// coordinator's is refused with a message that names the difference, and
// the generation goes on without it.
func TestRefusedGraph(t *testing.T) {
	broker := startBroker(t)
	a := join(t, broker, "job", "a", 2)
	waitStable(t, a)
	b := join(t, broker, "job", "b", 1, withGraph("1"))
	waitFor(t, "b to be refused", func() bool {
		ev, ok := b.last()
		return ok && ev.Kind == Refused
	})
	ev, _ := b.last()
	want := `parallelism of operator "map": 2 on worker "a" vs 1 on worker "b"`
	if !errors.Is(ev.Err, ErrRefused) || !strings.Contains(ev.Err.Error(), want) {
		t.Fatalf("refusal = %v, want ErrRefused naming %q", ev.Err, want)
	}
	if ev.Generation.Coordinator != "a" {
		t.Fatalf("refused by %q, want the coordinator a", ev.Generation.Coordinator)
	}
	if _, ok := b.m.Current(); ok {
		t.Fatal("a refused worker has a current generation")
	}
	for _, e := range b.log() {
		if e.Kind != Refused {
			t.Fatalf("the refused worker got %v", kinds(b.log()))
		}
	}
	g := waitStable(t, a)
	if len(g.Assignment.Workers) != 1 || g.Assignment.Slots != 2 {
		t.Fatalf("the refused worker was assigned slots: %+v", g.Assignment)
	}
	checkOrder(t, a)
}

// TestStaticRestart: a worker that restarts with the same ID inside the
// session timeout takes its place again without a rebalance: it gets the
// same generation back, and the others see no change. That holds for the
// coordinator too (KIP-814: the broker tells the restarted leader to skip
// balancing; its plan equals the stored one, so it does not rejoin).
func TestStaticRestart(t *testing.T) {
	broker := startBroker(t)
	long := withSession(20 * time.Second) // the restart must come well inside it
	a := join(t, broker, "job", "a", 1, long)
	waitStable(t, a)
	b := join(t, broker, "job", "b", 1, long)
	g := waitStable(t, a, b)

	for _, id := range []string{"b", g.Coordinator} {
		old := map[string]*testWorker{"a": a, "b": b}[id]
		other := map[string]*testWorker{"a": b, "b": a}[id]
		seen := len(other.log())
		old.kill()
		back := join(t, broker, "job", id, 1, long)
		waitFor(t, id+" to get a generation again", func() bool {
			ev, ok := back.last()
			return ok && ev.Kind == Assigned
		})
		ev, _ := back.last()
		if ev.Generation.ID != g.ID || !equalAssignments(ev.Generation.Assignment, g.Assignment) {
			t.Fatalf("%s restarted into generation %d (%+v), want %d unchanged: it rebalanced", id, ev.Generation.ID, ev.Generation.Assignment, g.ID)
		}
		if got := other.log()[seen:]; len(got) != 0 {
			t.Fatalf("%s saw %v when %s restarted", other.id, kinds(got), id)
		}
		if id == "a" {
			a = back
		} else {
			b = back
		}
		checkOrder(t, back)
	}
	checkOrder(t, a)
	checkOrder(t, b)
}

// TestSameIDFencesTheOther: a second process with a running worker's ID
// takes its place; the first loses its generation and is refused with a
// message that says why.
func TestSameIDFencesTheOther(t *testing.T) {
	broker := startBroker(t)
	first := join(t, broker, "job", "a", 1)
	g := waitStable(t, first)
	second := join(t, broker, "job", "a", 1)
	waitFor(t, "the first to be refused", func() bool {
		ev, ok := first.last()
		return ok && ev.Kind == Refused
	})
	evs := first.log()
	i := slices.IndexFunc(evs, func(ev Event) bool { return ev.Kind == Refused })
	if i < 1 || evs[i-1].Kind != Revoked || !evs[i-1].Lost || evs[i-1].Generation.ID != g.ID {
		t.Fatalf("the fenced worker's events: %v, want its generation lost before the refusal", kinds(evs))
	}
	if err := evs[i].Err; !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), `another process joined with this worker's ID "a"`) {
		t.Fatalf("refusal = %v", err)
	}
	if ev, _ := second.last(); ev.Kind != Assigned || ev.Generation.ID != g.ID {
		t.Fatalf("the second process: %v, want generation %d", kinds(second.log()), g.ID)
	}
}

// TestConfirmAsksTheBrokers: a worker learns that its generation is over
// only at its next heartbeat, and a cut-off one runs its old epoch until
// then. Confirm asks the brokers at once: it fails as soon as the group is
// forming a new generation, whatever the worker's own client believes,
// and for a worker that another process with its ID has replaced.
func TestConfirmAsksTheBrokers(t *testing.T) {
	broker := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	// Heartbeats far apart: a's client stays in its generation for a
	// while after the brokers have moved on.
	slow := func(c *Config) { c.SessionTimeout, c.HeartbeatInterval = 10*time.Second, 3*time.Second }
	a := join(t, broker, "job", "a", 1, slow)
	g := waitStable(t, a)
	if err := a.m.Confirm(ctx, g.ID); err != nil {
		t.Fatalf("confirm generation %d of its only member: %v", g.ID, err)
	}
	b := join(t, broker, "job", "b", 1)
	waitFor(t, "the brokers to form a new generation", func() bool { return describeGroup(t, broker, "job").State == "PreparingRebalance" })
	err := a.m.Confirm(ctx, g.ID)
	if _, local := a.m.cl.GroupMetadata(); local == g.ID && !errors.Is(err, kerr.RebalanceInProgress) {
		t.Fatalf("confirm while a new generation forms, a's client still in generation %d: %v, want REBALANCE_IN_PROGRESS", g.ID, err)
	}
	if err == nil {
		t.Fatal("confirmed a generation that is ending")
	}
	g2 := waitStable(t, a, b)
	if err := a.m.Confirm(ctx, g.ID); err == nil {
		t.Fatalf("confirmed generation %d after generation %d began", g.ID, g2.ID)
	}
	if err := a.m.Confirm(ctx, g2.ID); err != nil {
		t.Fatalf("confirm generation %d: %v", g2.ID, err)
	}
	// What asks: the coordinator's checkpoint driver, and a worker about
	// to build (and so restore) an epoch.
	w := &worker{members: a.m}
	var confirmer job.Confirmer = coordinatorTasks{w: w, ep: &epoch{gen: g}}
	if err := confirmer.Confirm(ctx); err == nil {
		t.Fatalf("the coordinator of generation %d confirmed it in generation %d", g.ID, g2.ID)
	}
	if err := (coordinatorTasks{w: w, ep: &epoch{gen: g2}}).Confirm(ctx); err != nil {
		t.Fatalf("the coordinator of generation %d: %v", g2.ID, err)
	}
	run := &job.Run{}
	w.mu.ep = &epoch{gen: g, run: run}
	if _, err := w.build(ctx, run); err == nil || !strings.Contains(err.Error(), "generation") {
		t.Fatalf("built an epoch of generation %d in generation %d: %v", g.ID, g2.ID, err)
	}
	w.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if done, err := w.finish(ctx, w.mu.ep); done || err != nil { // its run would fail the test: it has no store
		t.Fatalf("finished the job in an epoch of generation %d in generation %d: %v, %v", g.ID, g2.ID, done, err)
	}
	// Another process with b's ID takes b's place.
	join(t, broker, "job", "b", 1)
	waitFor(t, "b to be refused", func() bool {
		ev, ok := b.last()
		return ok && ev.Kind == Refused
	})
	if err := b.m.Confirm(ctx, g2.ID); err == nil {
		t.Fatal("a worker replaced by another process with its ID confirmed its generation")
	}
}

func TestJoinValidatesConfig(t *testing.T) {
	_, err := Join(context.Background(), Config{
		Name:              "no spaces",
		Self:              Worker{ID: "host:1", Addr: "nowhere", Slots: 0},
		SessionTimeout:    time.Second,
		HeartbeatInterval: 2 * time.Second,
	})
	for _, want := range []string{
		"Client is empty", `Name "no spaces"`, `ID "host:1" has ':'`, `Addr "nowhere" is not host:port`,
		"Slots 0 is not 1 to 32768", "Fingerprint is empty", "HeartbeatInterval 2s must be positive and below SessionTimeout 1s",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Join error = %v\nwant it to say %q", err, want)
		}
	}
}

// TestBalance checks the leader's plan on its own: workers sorted by ID
// with consecutive slots, the leader's graph wins, and every refusal says
// why.
func TestBalance(t *testing.T) {
	desc, fp := graphOf("2")
	otherDesc, otherFP := graphOf("1")
	meta := func(id string, slots int, fp, desc string) []byte {
		b, err := encodeWorker(Worker{ID: id, Addr: "h:1", Slots: slots, Fingerprint: fp, Graph: desc})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	str := func(s string) *string { return &s }
	members := []joinedMember{
		{MemberID: "m-c", InstanceID: str("c"), Metadata: meta("c", 3, fp, desc)},
		{MemberID: "m-a", InstanceID: str("a"), Metadata: meta("a", 2, fp, desc)},
		{MemberID: "m-x", InstanceID: str("x"), Metadata: meta("x", 1, otherFP, otherDesc)},
		{MemberID: "m-y", InstanceID: str("y"), Metadata: []byte{0, 1, 2}},
		{MemberID: "m-a2", Metadata: meta("a", 1, fp, desc)}, // no instance ID: a JoinGroup answer before v5
		{MemberID: "m-z", InstanceID: str("zz"), Metadata: meta("z", 1, fp, desc)},
		{MemberID: "m-big", InstanceID: str("big"), Metadata: meta("big", MaxSlots, fp, desc)},
	}
	a, refused, err := balance("job", 5, "m-c", members)
	if err != nil {
		t.Fatal(err)
	}
	want := []WorkerSlots{{ID: "a", Addr: "h:1", Start: 0, Slots: 2}, {ID: "c", Addr: "h:1", Start: 2, Slots: 3}}
	if !slices.Equal(a.Workers, want) || a.Slots != 5 || a.Coordinator != "c" || a.Generation != 5 || a.Fingerprint != fp {
		t.Fatalf("assignment %+v, want workers %+v led by c", a, want)
	}
	for id, w := range map[string]string{
		"m-x":   `parallelism of operator "map": 2 on worker "c" vs 1 on worker "x"`,
		"m-y":   "its join metadata cannot be read",
		"m-a2":  `another member already has the worker ID "a"`,
		"m-big": "a cluster has at most 32768",
		"m-z":   `worker "z" joined under another instance ID, "zz"`,
	} {
		if !strings.Contains(refused[id], w) {
			t.Errorf("refusal of %s = %q, want it to say %q", id, refused[id], w)
		}
	}
	if len(refused) != 5 {
		t.Errorf("refused %v, want 5 members", refused)
	}
	plan, err := encodePlan(a, members, refused)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range plan {
		got, err := DecodeAssignment(s.MemberAssignment)
		if err != nil {
			t.Fatal(err)
		}
		if (got.Refused != "") != (refused[s.MemberID] != "") || !slices.Equal(got.Workers, want) {
			t.Errorf("%s gets %+v", s.MemberID, got)
		}
	}
	if _, _, err := balance("job", 5, "m-gone", members); err == nil {
		t.Error("balance without the leader among the members succeeded")
	}
}
