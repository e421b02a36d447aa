package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Worker describes one process of a cluster job: what it puts in its join
// metadata.
type Worker struct {
	// ID names the worker, stably across restarts: it is the static
	// member's instance ID, so a restart with the same ID inside the
	// session timeout gets its generation back. Kafka allows letters,
	// digits, '.', '_' and '-', at most 249 of them (see MakeID).
	ID string `cbor:"1,keyasint,omitempty"`
	// Addr is the host:port of the worker's data and control server, as
	// the other workers reach it.
	Addr string `cbor:"2,keyasint,omitempty"`
	// Slots is how many subtasks of each chain the worker runs, at least 1.
	Slots int `cbor:"3,keyasint,omitempty"`
	// Fingerprint identifies the job graph (see Fingerprint): workers with
	// another fingerprint than the coordinator's are refused.
	Fingerprint string `cbor:"4,keyasint,omitempty"`
	// Graph is the graph's description (see Describe), from which a
	// refusal names the differences.
	Graph string `cbor:"5,keyasint,omitempty"`
}

// Limits of a Worker.
const (
	maxIDLen    = 249 // Kafka's limit for group.instance.id and topic names
	maxGraphLen = 64 << 10
)

// The encoding of a Worker in the join metadata: workerMagic, one version
// byte, then the core deterministic CBOR of the Worker. Equal workers give
// equal bytes, which is what lets a static member rejoin without a
// rebalance.
const (
	workerMagic   = "WEIRWKR"
	workerVersion = 1
)

func encodeWorker(w Worker) ([]byte, error) {
	return encodeVersioned(workerMagic, workerVersion, w)
}

func decodeWorker(b []byte) (Worker, error) {
	var w Worker
	if err := decodeVersioned(b, workerMagic, workerVersion, "join metadata", &w); err != nil {
		return Worker{}, err
	}
	if err := w.validate(); err != nil {
		return Worker{}, fmt.Errorf("%w: join metadata: %w", ErrMalformed, err)
	}
	return w, nil
}

func (w Worker) validate() error {
	var errs []error
	if err := checkName(w.ID); err != nil {
		errs = append(errs, fmt.Errorf("worker ID %q %w: it is the group's instance ID (see cluster.MakeID)", w.ID, err))
	}
	if _, _, err := net.SplitHostPort(w.Addr); err != nil {
		errs = append(errs, fmt.Errorf("worker Addr %q is not host:port: set it to the address the other workers reach this one's server at", w.Addr))
	}
	if w.Slots < 1 || w.Slots > MaxSlots {
		errs = append(errs, fmt.Errorf("worker Slots %d is not 1 to %d", w.Slots, MaxSlots))
	}
	if w.Fingerprint == "" {
		errs = append(errs, errors.New("worker Fingerprint is empty: set it from the job graph (cluster.Fingerprint of cluster.Describe)"))
	}
	if len(w.Graph) > maxGraphLen {
		errs = append(errs, fmt.Errorf("worker Graph is %d bytes, more than %d: describe each operator in fewer words", len(w.Graph), maxGraphLen))
	}
	return errors.Join(errs...)
}

// checkName checks a Kafka group instance ID or topic name.
func checkName(s string) error {
	switch {
	case s == "":
		return errors.New("is empty")
	case len(s) > maxIDLen:
		return fmt.Errorf("is %d characters, more than %d", len(s), maxIDLen)
	case s == "." || s == "..":
		return errors.New(`may not be "." or ".."`)
	}
	for _, c := range []byte(s) {
		if !legalNameByte(c) {
			return fmt.Errorf("has %q: use only letters, digits, '.', '_' and '-'", c)
		}
	}
	return nil
}

func legalNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
}

// MakeID turns any text, such as a host name and an advertised address,
// into a valid Worker.ID: every byte Kafka does not allow becomes '-', and
// the result is cut to 249 bytes.
func MakeID(s string) string {
	b := []byte(s)
	for i, c := range b {
		if !legalNameByte(c) {
			b[i] = '-'
		}
	}
	if len(b) > maxIDLen {
		b = b[:maxIDLen]
	}
	if s := string(b); s != "" && s != "." && s != ".." {
		return s
	}
	return "worker" + string(b)
}

// Topic returns the name of the one-partition topic that the group of job
// name "consumes" so that Kafka manages it; it carries no data.
func Topic(name string) string { return "weir-cluster." + name }

// Protocol names in the JoinGroup requests: the type keeps weir's groups
// apart from consumer groups of the same name, the name versions the join
// metadata and the assignment (Kafka picks a name every member offers).
const (
	protocolType = "weir"
	protocolName = "weir.v1"
)

// Config says how to join a cluster.
type Config struct {
	// Client are the options of the Kafka client: brokers (kgo.SeedBrokers),
	// TLS, SASL. Required.
	Client []kgo.Opt
	// Name is the job's name: the group's, and that of its topic
	// weir-cluster.<Name>. Letters, digits, '.', '_' and '-'. Required.
	Name string
	// Self is this worker.
	Self Worker
	// SessionTimeout is how long the group waits for a silent worker
	// (killed, cut off) before it starts a generation without it; a worker
	// that restarts inside it with the same ID gets its generation back.
	// The brokers bound it (group.min.session.timeout.ms, 6s by default,
	// to group.max.session.timeout.ms). Default 10s.
	SessionTimeout time.Duration
	// HeartbeatInterval is how often the worker tells the group it is
	// alive; it is also how soon a worker learns that a new generation is
	// forming. Default SessionTimeout/10.
	HeartbeatInterval time.Duration
	// RebalanceTimeout is how long the group waits, once a new generation
	// is forming, for each worker to stop its tasks and rejoin; one that
	// takes longer is dropped from the generation. Default 30s.
	RebalanceTimeout time.Duration
	// Logger receives the membership's log lines. Default slog.Default().
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultSessionTimeout   = 10 * time.Second
	DefaultRebalanceTimeout = 30 * time.Second
)

func (c Config) withDefaults() Config {
	if c.SessionTimeout == 0 {
		c.SessionTimeout = DefaultSessionTimeout
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = c.SessionTimeout / 10
	}
	if c.RebalanceTimeout == 0 {
		c.RebalanceTimeout = DefaultRebalanceTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// validate reports every problem of a defaulted Config.
func (c Config) validate() error {
	var errs []error
	if len(c.Client) == 0 {
		errs = append(errs, errors.New("cluster: Client is empty: give the brokers at least (kgo.SeedBrokers)"))
	}
	if err := checkName(Topic(c.Name)); c.Name == "" || err != nil {
		errs = append(errs, fmt.Errorf("cluster: Name %q: name the job with letters, digits, '.', '_' and '-' (at most %d)", c.Name, maxIDLen-len(Topic(""))))
	}
	if err := c.Self.validate(); err != nil {
		errs = append(errs, fmt.Errorf("cluster: Self: %w", err))
	}
	if c.SessionTimeout < 0 || c.SessionTimeout%time.Millisecond != 0 {
		errs = append(errs, fmt.Errorf("cluster: SessionTimeout %v: give a positive number of milliseconds", c.SessionTimeout))
	}
	if c.HeartbeatInterval <= 0 || c.HeartbeatInterval >= c.SessionTimeout {
		errs = append(errs, fmt.Errorf("cluster: HeartbeatInterval %v must be positive and below SessionTimeout %v (a third of it at most is best)", c.HeartbeatInterval, c.SessionTimeout))
	}
	if c.RebalanceTimeout < 0 || c.RebalanceTimeout%time.Millisecond != 0 {
		errs = append(errs, fmt.Errorf("cluster: RebalanceTimeout %v: give a positive number of milliseconds", c.RebalanceTimeout))
	}
	return errors.Join(errs...)
}

// Member is one worker of a generation.
type Member struct {
	// Worker is the worker as it joined. Fingerprint is the assignment's
	// (every member has it); Graph is left empty.
	Worker
	// Start is the worker's first slot: it owns [Start, Start+Slots).
	Start int
}

// Generation is one epoch of the cluster: Kafka's group generation, the
// members, who coordinates, and the assignment.
type Generation struct {
	// ID is the group generation: the job's epoch. Every control and data
	// message of the generation carries it.
	ID int32
	// Coordinator is the Worker.ID of the group leader, which computed the
	// assignment.
	Coordinator string
	// Self is this worker's ID.
	Self string
	// Members are the workers of the generation, sorted by ID.
	Members []Member
	// Assignment is the plan every member received.
	Assignment Assignment
}

// IsCoordinator says whether this worker coordinates the generation.
func (g Generation) IsCoordinator() bool { return g.Self != "" && g.Self == g.Coordinator }

// EventKind says what an Event reports.
type EventKind int

const (
	// Assigned reports a new generation: run its tasks.
	Assigned EventKind = iota + 1
	// Revoked reports that the generation of the last Assigned event has
	// ended: stop its tasks now, abort what they have not committed.
	Revoked
	// Refused reports that this worker may not take part (its job graph
	// differs from the coordinator's, another process took its ID, the
	// brokers reject its settings): Err says why and what to do. The
	// worker should leave and exit.
	Refused
)

func (k EventKind) String() string {
	switch k {
	case Assigned:
		return "assigned"
	case Revoked:
		return "revoked"
	case Refused:
		return "refused"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is what the membership reports on its channel.
type Event struct {
	Kind EventKind
	// Generation is the new generation (Assigned), the one that ended
	// (Revoked), or the one that refused this worker, as far as it is
	// known (Refused).
	Generation Generation
	// Lost, for Revoked, says that the worker lost its membership (its
	// session expired, or the brokers fenced it) rather than that the
	// group moved to a new generation in order: the other workers may
	// already run a newer one.
	Lost bool
	// Err, for Refused, says why; it wraps ErrRefused.
	Err error
}

// ErrRefused is wrapped by the error of every Refused event.
var ErrRefused = errors.New("cluster: this worker may not take part")

// Membership is this worker's membership of a cluster job's group. Create
// it with Join; end it with Leave or Close.
type Membership struct {
	cfg    Config
	topic  string
	cl     *kgo.Client
	events chan Event

	quit      chan struct{} // closed by Leave: callbacks stop delivering
	stopPoll  context.CancelFunc
	pollDone  chan struct{}
	leaveOnce sync.Once
	leaveErr  error

	lastHeartbeat atomic.Int64 // unix nanoseconds

	mu struct {
		sync.Mutex
		synced    Assignment // what the last SyncGroup answer held
		syncedErr error
		current   *Generation // assigned and not yet revoked, as the group loop sees it
		refused   string      // the reason of the last Refused event, until the next Assigned
	}
}

// Join joins the group of job cfg.Name as worker cfg.Self, creating the
// group's topic if it is missing, and returns the membership. It blocks
// until the topic exists (or ctx ends), not until the first generation:
// that arrives on Events.
//
// The caller must read Events promptly: the group's loop waits for each
// event to be received before it goes on (and heartbeats meanwhile).
func Join(ctx context.Context, cfg Config) (*Membership, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	meta, err := encodeWorker(cfg.Self)
	if err != nil {
		return nil, err
	}
	m := &Membership{
		cfg:      cfg,
		topic:    Topic(cfg.Name),
		events:   make(chan Event),
		quit:     make(chan struct{}),
		pollDone: make(chan struct{}),
	}
	if err := m.ensureTopic(ctx); err != nil {
		return nil, err
	}
	opts := append(slices.Clone(cfg.Client),
		kgo.ConsumerGroup(cfg.Name),
		kgo.ConsumeTopics(m.topic),
		kgo.GroupProtocol(protocolType),
		kgo.Balancers(&balancer{m: m, meta: meta}),
		kgo.InstanceID(cfg.Self.ID),
		kgo.SessionTimeout(cfg.SessionTimeout),
		kgo.HeartbeatInterval(cfg.HeartbeatInterval),
		kgo.RebalanceTimeout(cfg.RebalanceTimeout),
		kgo.DisableAutoCommit(),
		kgo.OnPartitionsAssigned(m.onAssigned),
		kgo.OnPartitionsRevoked(func(context.Context, *kgo.Client, map[string][]int32) { m.onEnd(false) }),
		kgo.OnPartitionsLost(func(context.Context, *kgo.Client, map[string][]int32) { m.onEnd(true) }),
		kgo.WithHooks(hooks{m}),
	)
	m.cl, err = kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("cluster: job %q: create the Kafka client: %w", cfg.Name, err)
	}
	pollCtx, stop := context.WithCancel(context.Background())
	m.stopPoll = stop
	go m.drain(pollCtx)
	cfg.Logger.Info("cluster: joining", "job", cfg.Name, "worker", cfg.Self.ID, "addr", cfg.Self.Addr, "slots", cfg.Self.Slots)
	return m, nil
}

// ensureTopic creates the group's topic with one partition unless it
// exists: kgo manages a group only once its topic has partitions. It looks
// first, so that workers without the right to create topics can join a
// job whose topic was made for them.
func (m *Membership) ensureTopic(ctx context.Context) error {
	cl, err := kgo.NewClient(m.cfg.Client...)
	if err != nil {
		return fmt.Errorf("cluster: job %q: create the Kafka client: %w", m.cfg.Name, err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	topics, err := adm.ListTopics(ctx, m.topic)
	if err != nil {
		return fmt.Errorf("cluster: job %q: look up topic %q (check the brokers in Client and that they are reachable): %w", m.cfg.Name, m.topic, err)
	}
	if t, ok := topics[m.topic]; ok && t.Err == nil && len(t.Partitions) > 0 {
		return nil
	}
	resp, err := adm.CreateTopic(ctx, 1, -1, nil, m.topic)
	if err == nil {
		err = resp.Err
	}
	switch {
	case err == nil || errors.Is(err, kerr.TopicAlreadyExists):
		return nil
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
		return fmt.Errorf("cluster: job %q: create topic %q: %w: create it yourself with one partition, or grant this worker CREATE on it", m.cfg.Name, m.topic, err)
	}
	return fmt.Errorf("cluster: job %q: create topic %q: %w", m.cfg.Name, m.topic, err)
}

// Events delivers, in order: Assigned for each generation this worker takes
// part in, then Revoked when that generation ends, before any later
// Assigned; Refused when the worker may not take part (no Revoked follows
// it). Each Assigned is followed by exactly one Revoked, unless the
// membership is left first. The channel is closed once the membership has
// ended after Leave or Close; what the group does meanwhile is not
// delivered.
//
// Events are sent from the client's group goroutine, which waits until the
// event is received; meanwhile the worker keeps heartbeating, but a worker
// that does not read within RebalanceTimeout of a rebalance is dropped
// from the next generation.
func (m *Membership) Events() <-chan Event { return m.events }

// Current returns the generation the group loop last assigned and has not
// revoked, if any. It may be ahead of what Events has delivered.
func (m *Membership) Current() (Generation, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.mu.current == nil {
		return Generation{}, false
	}
	return *m.mu.current, true
}

// LastHeartbeat returns when the brokers last answered this worker's
// heartbeat, or the zero time.
func (m *Membership) LastHeartbeat() time.Time {
	n := m.lastHeartbeat.Load()
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Confirm asks the group whether this worker is still a member of
// generation gen, with a heartbeat of its own: nil when the brokers
// answered that it is and that no new generation is being formed. A
// worker cut off from the others (stopped, behind a partition) learns
// that its generation is over only at its next heartbeat; until then it
// runs its old epoch, and Confirm is how it asks before it does what only
// the live epoch may do. After a nil answer, the group
// cannot start a generation without this worker for a session timeout at
// least, unless another process joins with this worker's ID.
func (m *Membership) Confirm(ctx context.Context, gen int32) error {
	member, current := m.cl.GroupMetadata()
	if current != gen || member == "" {
		return fmt.Errorf("cluster: worker %s is no longer in generation %d (its group session is at generation %d)", m.cfg.Self.ID, gen, current)
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.SessionTimeout)
	defer cancel()
	req := kmsg.NewPtrHeartbeatRequest()
	req.Group = m.cfg.Name
	req.Generation = gen
	req.MemberID = member
	req.InstanceID = &m.cfg.Self.ID
	resp, err := req.RequestWith(ctx, m.cl)
	if err == nil {
		err = kerr.ErrorForCode(resp.ErrorCode)
	}
	if err != nil {
		return fmt.Errorf("cluster: worker %s could not confirm that generation %d goes on: %w", m.cfg.Self.ID, gen, err)
	}
	return nil
}

// Rebalance asks for a new generation with the same workers, as after a
// task failed. Only the coordinator can force one (Kafka starts a new
// generation when its leader rejoins); on another worker it does nothing.
// It does not block.
func (m *Membership) Rebalance() { m.cl.ForceRebalance() }

// Leave leaves the group now, so that the other workers form a new
// generation at once rather than after the session timeout, and releases
// the client. From its call on no event is delivered; Events is closed
// when everything has stopped. The caller stops its own tasks. Calling
// Leave again returns the first call's error.
//
// Leave blocks until the group has been left or ctx ends; if ctx ends
// first, the worker is left to time out, and closing the client may still
// wait for a JoinGroup or SyncGroup in flight (the brokers answer it within
// the rebalance timeout). It may be called from any goroutine, the reader
// of Events included: an event waiting to be received is dropped.
func (m *Membership) Leave(ctx context.Context) error {
	m.leaveOnce.Do(func() { m.leaveErr = m.stop(ctx, true) })
	return m.leaveErr
}

// Close is Leave bounded by the session timeout: past it the group notices
// the worker's absence on its own.
func (m *Membership) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.SessionTimeout)
	defer cancel()
	return m.Leave(ctx)
}

// abandon stops the membership without leaving the group, as a killed
// process would: the group keeps the worker until its session times out,
// and a restart with the same ID before then takes its place.
func (m *Membership) abandon() {
	m.leaveOnce.Do(func() { m.leaveErr = m.stop(context.Background(), false) })
}

func (m *Membership) stop(ctx context.Context, leave bool) error {
	close(m.quit)
	var errs []error
	if leave {
		// kgo stops the group's loop but, for a static member, sends no
		// LeaveGroup (so that a restart can take the member's place); we
		// send it ourselves, naming our member ID (which leaving keeps) so
		// that a newer process with our ID is not removed.
		if err := m.cl.LeaveGroupContext(ctx); err != nil {
			errs = append(errs, err)
		}
		if memberID, _ := m.cl.GroupMetadata(); memberID != "" && ctx.Err() == nil {
			if err := m.leaveGroup(ctx, memberID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	m.stopPoll()
	m.cl.Close()
	<-m.pollDone
	close(m.events)
	m.cfg.Logger.Info("cluster: left", "job", m.cfg.Name, "worker", m.cfg.Self.ID, "leave_group", leave)
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("cluster: job %q: leave the group (the others notice at the session timeout): %w", m.cfg.Name, err)
	}
	return nil
}

func (m *Membership) leaveGroup(ctx context.Context, memberID string) error {
	req := kmsg.NewPtrLeaveGroupRequest()
	req.Group = m.cfg.Name
	req.MemberID = memberID
	mem := kmsg.NewLeaveGroupRequestMember()
	mem.MemberID = memberID
	mem.InstanceID = kmsg.StringPtr(m.cfg.Self.ID)
	mem.Reason = kmsg.StringPtr("weir worker leaving")
	req.Members = append(req.Members, mem)
	resp, err := req.RequestWith(ctx, m.cl)
	if err != nil {
		return err
	}
	if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
		return err
	}
	for _, r := range resp.Members {
		// UnknownMemberID: the group had already dropped us.
		if err := kerr.ErrorForCode(r.ErrorCode); err != nil && !errors.Is(err, kerr.UnknownMemberID) {
			return err
		}
	}
	return nil
}

// drain polls the client, which is assigned nothing, so that the errors
// kgo injects as fake fetches do not pile up; group errors are logged by
// the hook.
func (m *Membership) drain(ctx context.Context) {
	defer close(m.pollDone)
	for {
		fs := m.cl.PollFetches(ctx)
		if ctx.Err() != nil || fs.IsClientClosed() {
			return
		}
		fs.EachError(func(topic string, _ int32, err error) {
			var gs *kgo.ErrGroupSession
			if !errors.As(err, &gs) {
				m.cfg.Logger.Debug("cluster: fetch error", "job", m.cfg.Name, "topic", topic, "err", err)
			}
		})
	}
}

// deliver sends an event unless the membership is being left.
func (m *Membership) deliver(ev Event) {
	select {
	case m.events <- ev:
	case <-m.quit:
	}
}

// onAssigned runs on the group goroutine once a generation's SyncGroup
// answer has been parsed (by balancer.ParseSyncAssignment). It uses cl,
// not m.cl: the first session can begin before kgo.NewClient has returned.
func (m *Membership) onAssigned(_ context.Context, cl *kgo.Client, _ map[string][]int32) {
	m.mu.Lock()
	a, err := m.mu.synced, m.mu.syncedErr
	m.mu.Unlock()
	self := m.cfg.Self
	g := Generation{ID: a.Generation, Coordinator: a.Coordinator, Self: self.ID, Assignment: a}
	var why string
	switch _, in := a.Worker(self.ID); {
	case err != nil:
		why = fmt.Sprintf("the coordinator's assignment cannot be read: %v", err)
	case a.Refused != "":
		why = a.Refused
	case !in:
		why = fmt.Sprintf("the assignment of generation %d does not include worker %q", a.Generation, self.ID)
	case a.Fingerprint != self.Fingerprint:
		why = fmt.Sprintf("the job graph fingerprint of generation %d is %s, this worker's is %s: run the same program on every worker", a.Generation, a.Fingerprint, self.Fingerprint)
	}
	if why != "" {
		m.setCurrent(nil)
		m.refuse(why, Event{Kind: Refused, Generation: g, Err: fmt.Errorf("%w in job %q: %s", ErrRefused, m.cfg.Name, why)})
		return
	}
	if _, gen := cl.GroupMetadata(); gen != a.Generation {
		m.cfg.Logger.Warn("cluster: the assignment's generation is not the group's", "job", m.cfg.Name, "assignment", a.Generation, "group", gen)
	}
	for _, w := range a.Workers {
		g.Members = append(g.Members, Member{
			Worker: Worker{ID: w.ID, Addr: w.Addr, Slots: w.Slots, Fingerprint: a.Fingerprint},
			Start:  w.Start,
		})
	}
	m.mu.Lock()
	m.mu.current, m.mu.refused = &g, ""
	m.mu.Unlock()
	m.cfg.Logger.Info("cluster: generation", "job", m.cfg.Name, "generation", g.ID, "coordinator", g.Coordinator, "workers", len(a.Workers), "slots", a.Slots)
	m.deliver(Event{Kind: Assigned, Generation: g})
}

// onEnd runs on the group goroutine when a generation ends: in order
// (revoked) or because the membership was lost.
func (m *Membership) onEnd(lost bool) {
	m.mu.Lock()
	g := m.mu.current
	m.mu.current = nil
	m.mu.Unlock()
	if g == nil {
		return
	}
	m.cfg.Logger.Info("cluster: generation ended", "job", m.cfg.Name, "generation", g.ID, "lost", lost)
	m.deliver(Event{Kind: Revoked, Generation: *g, Lost: lost})
}

// refuse delivers a Refused event, unless the last event was a refusal
// for the same reason: a refused worker that stays in the group is refused
// again at each generation, and kgo retries a fenced one without end.
func (m *Membership) refuse(why string, ev Event) {
	m.mu.Lock()
	again := m.mu.refused == why
	m.mu.refused = why
	m.mu.Unlock()
	if again {
		return
	}
	m.cfg.Logger.Error("cluster: refused", "job", m.cfg.Name, "worker", m.cfg.Self.ID, "generation", ev.Generation.ID, "why", why)
	m.deliver(ev)
}

func (m *Membership) setCurrent(g *Generation) {
	m.mu.Lock()
	m.mu.current = g
	m.mu.Unlock()
}

// hooks observes the client: heartbeats, and the errors that end a group
// session.
type hooks struct{ m *Membership }

var (
	_ kgo.HookBrokerE2E        = hooks{}
	_ kgo.HookGroupManageError = hooks{}
)

// OnBrokerE2E notes answered heartbeats.
func (h hooks) OnBrokerE2E(_ kgo.BrokerMetadata, key int16, e2e kgo.BrokerE2E) {
	if key == kmsg.Heartbeat.Int16() && e2e.Err() == nil {
		h.m.lastHeartbeat.Store(time.Now().UnixNano())
	}
}

// OnGroupManageError runs on the group goroutine after an error ended the
// group session (and after OnPartitionsLost); kgo then backs off and
// rejoins. Errors that rejoining cannot cure refuse the worker.
func (h hooks) OnGroupManageError(err error) {
	m := h.m
	if errors.Is(err, context.Canceled) {
		return
	}
	m.cfg.Logger.Warn("cluster: group session ended by an error; rejoining", "job", m.cfg.Name, "worker", m.cfg.Self.ID, "err", err)
	var why string
	switch {
	case errors.Is(err, kerr.FencedInstanceID):
		why = fmt.Sprintf("another process joined with this worker's ID %q and took its place: give every worker its own ID", m.cfg.Self.ID)
	case errors.Is(err, kerr.InvalidSessionTimeout):
		why = fmt.Sprintf("the brokers reject SessionTimeout %v: choose one between their group.min.session.timeout.ms and group.max.session.timeout.ms", m.cfg.SessionTimeout)
	case errors.Is(err, kerr.InconsistentGroupProtocol):
		why = fmt.Sprintf("group %q is in use by clients that are not weir workers (or by another weir release): give the job another name", m.cfg.Name)
	case errors.Is(err, kerr.GroupAuthorizationFailed):
		why = fmt.Sprintf("the brokers deny this worker group %q: grant it READ on the group", m.cfg.Name)
	case errors.Is(err, kerr.GroupMaxSizeReached):
		why = fmt.Sprintf("group %q has reached the brokers' group.max.size", m.cfg.Name)
	default:
		return
	}
	m.refuse(why, Event{Kind: Refused, Err: fmt.Errorf("%w in job %q: %s: %w", ErrRefused, m.cfg.Name, why, err)})
}

// balancer is weir's kgo.GroupBalancer: its join metadata is the worker;
// as leader it computes the Assignment; as member it parses its own.
type balancer struct {
	m    *Membership
	meta []byte
}

var _ kgo.GroupBalancer = (*balancer)(nil)

func (b *balancer) ProtocolName() string { return protocolName }
func (b *balancer) IsCooperative() bool  { return false }

// JoinGroupMetadata returns the encoded worker, the same bytes every time:
// a static member that rejoins with equal metadata keeps its generation.
func (b *balancer) JoinGroupMetadata([]string, map[string][]int32, int32) []byte { return b.meta }

// ParseSyncAssignment keeps this member's assignment for onAssigned, which
// kgo calls next on the same goroutine, and assigns no partition.
func (b *balancer) ParseSyncAssignment(raw []byte) (map[string][]int32, error) {
	a, err := DecodeAssignment(raw)
	b.m.mu.Lock()
	b.m.mu.synced, b.m.mu.syncedErr = a, err
	b.m.mu.Unlock()
	return map[string][]int32{}, nil
}

// MemberBalancer returns the leader's balancer of the members. No topic
// needs metadata: the group's topic is never assigned.
func (b *balancer) MemberBalancer(members []kmsg.JoinGroupResponseMember) (kgo.GroupMemberBalancer, map[string]struct{}, error) {
	return &leaderBalancer{log: b.m.cfg.Logger, members: members}, map[string]struct{}{}, nil
}

// leaderBalancer computes one generation's assignment on the leader.
type leaderBalancer struct {
	log     *slog.Logger
	members []kmsg.JoinGroupResponseMember
	info    kgo.BalanceInfo
}

var (
	_ kgo.GroupMemberBalancerOrError = (*leaderBalancer)(nil)
	_ kgo.GroupMemberBalancerInfo    = (*leaderBalancer)(nil)
)

func (l *leaderBalancer) SetBalanceInfo(info kgo.BalanceInfo) { l.info = info }

// Balance is never called by kgo (BalanceOrError is); it is here to
// satisfy kgo.GroupMemberBalancer.
func (l *leaderBalancer) Balance(topics map[string]int32) kgo.IntoSyncAssignment {
	p, _ := l.BalanceOrError(topics)
	return p
}

func (l *leaderBalancer) BalanceOrError(map[string]int32) (kgo.IntoSyncAssignment, error) {
	joined := make([]joinedMember, len(l.members))
	for i, mem := range l.members {
		joined[i] = joinedMember{MemberID: mem.MemberID, InstanceID: mem.InstanceID, Metadata: mem.ProtocolMetadata}
	}
	a, refused, err := balance(l.info.Group, l.info.Generation, l.info.LeaderID, joined)
	if err != nil {
		return nil, err
	}
	for id, why := range refused {
		l.log.Warn("cluster: refusing a worker", "job", l.info.Group, "generation", a.Generation, "member", id, "why", why)
	}
	return encodePlan(a, joined, refused)
}

// joinedMember is one member of a JoinGroup answer, as the leader sees it.
type joinedMember struct {
	MemberID   string
	InstanceID *string
	Metadata   []byte
}

// balance computes the assignment of generation gen of job group from the
// members' join metadata, the leader's (member ID leader) first: the
// leader's job graph is the job's. It returns the assignment and, for each
// member that may not take part, why. It fails only when the leader itself
// is not among the members or cannot be read.
func balance(group string, gen int32, leader string, members []joinedMember) (Assignment, map[string]string, error) {
	li := slices.IndexFunc(members, func(m joinedMember) bool { return m.MemberID == leader })
	if li < 0 {
		return Assignment{}, nil, fmt.Errorf("cluster: job %q: the leader %q is not among the group's members", group, leader)
	}
	lw, err := decodeWorker(members[li].Metadata)
	if err != nil {
		return Assignment{}, nil, fmt.Errorf("cluster: job %q: the leader's own join metadata: %w", group, err)
	}
	a := Assignment{Generation: gen, Coordinator: lw.ID, Fingerprint: lw.Fingerprint}
	refused := map[string]string{}
	taken := map[string]bool{}
	var accepted []Worker
	consider := func(m joinedMember) {
		w, err := decodeWorker(m.Metadata)
		var why string
		switch {
		case err != nil:
			why = fmt.Sprintf("its join metadata cannot be read (%v)", err)
		case m.InstanceID != nil && *m.InstanceID != w.ID:
			why = fmt.Sprintf("worker %q joined under another instance ID, %q", w.ID, *m.InstanceID)
		case taken[w.ID]:
			why = fmt.Sprintf("another member already has the worker ID %q: give every worker its own ID", w.ID)
		case w.Fingerprint != lw.Fingerprint:
			why = fmt.Sprintf("worker %q runs another job graph than the coordinator %q: %s; run the same program, with the same options, on every worker",
				w.ID, lw.ID, diffGraphs(lw.ID, lw.Graph, w.ID, w.Graph))
		case a.Slots+w.Slots > MaxSlots:
			why = fmt.Sprintf("the other workers already have %d slots, and a cluster has at most %d", a.Slots, MaxSlots)
		}
		if why != "" {
			refused[m.MemberID] = why
			return
		}
		taken[w.ID] = true
		a.Slots += w.Slots
		accepted = append(accepted, w)
	}
	consider(members[li])
	for i, m := range members {
		if i != li {
			consider(m)
		}
	}
	slices.SortFunc(accepted, func(x, y Worker) int { return cmp.Compare(x.ID, y.ID) })
	start := 0
	for _, w := range accepted {
		a.Workers = append(a.Workers, WorkerSlots{ID: w.ID, Addr: w.Addr, Start: start, Slots: w.Slots})
		start += w.Slots
	}
	return a, refused, nil
}

// syncPlan is what the leader sends in its SyncGroup request.
type syncPlan []kmsg.SyncGroupRequestGroupAssignment

func (p syncPlan) IntoSyncAssignment() []kmsg.SyncGroupRequestGroupAssignment { return p }

// encodePlan encodes each member's assignment: the plan, with the reason
// for a refused member, in member ID order.
func encodePlan(a Assignment, members []joinedMember, refused map[string]string) (syncPlan, error) {
	plain, err := EncodeAssignment(a)
	if err != nil {
		return nil, err
	}
	plan := make(syncPlan, 0, len(members))
	for _, m := range members {
		b := plain
		if why, ok := refused[m.MemberID]; ok {
			r := a
			r.Refused = why
			if b, err = EncodeAssignment(r); err != nil {
				return nil, err
			}
		}
		s := kmsg.NewSyncGroupRequestGroupAssignment()
		s.MemberID, s.MemberAssignment = m.MemberID, b
		plan = append(plan, s)
	}
	slices.SortFunc(plan, func(x, y kmsg.SyncGroupRequestGroupAssignment) int { return strings.Compare(x.MemberID, y.MemberID) })
	return plan, nil
}
