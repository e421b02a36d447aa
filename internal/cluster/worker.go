package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/plan"
)

// JobSpec is the job that every worker of a cluster runs: the same graph
// and settings in every process (the fingerprint checks it).
type JobSpec struct {
	Graph    *plan.Graph
	Settings plan.Settings // the worker sets Network
	// Job is the runner's spec; the worker sets Build. A job in a cluster
	// takes checkpoints, into a location every worker shares.
	Job job.Spec
	// Describe describes the graph for the fingerprint (Describe).
	Describe []Node
	// OnBuild, when set, sees what each epoch built in this process.
	OnBuild func(plan.Built)
	// OnStart, when set, is given the job's runner (for statistics) and
	// the worker, once it has joined.
	OnStart func(j *job.Job, w Running)
	// Subtasks, when set, returns the metrics of the subtasks this process
	// runs now, which the worker reports to the coordinator for every
	// worker's view of the job (report.go). It is called from the worker's
	// goroutines while epochs run.
	Subtasks func() []SubtaskReport
	// Channels, when set, returns how full the channels of this process
	// are, edge by edge, for the view as Subtasks.
	Channels func() []ChannelReport
}

// WorkerConfig is how a process takes part in a cluster.
type WorkerConfig struct {
	// Kafka are the options of the Kafka client of the membership:
	// brokers, TLS, SASL.
	Kafka []kgo.Opt
	// Name names the job's cluster: its Kafka group.
	Name string
	// ID identifies the worker (its static membership); default: made
	// from the host name and Advertise.
	ID string
	// Advertise is the host:port other workers reach this one at. Port 0
	// picks a free port when Listen is empty or has port 0 too: the
	// worker advertises the port it listens on.
	Advertise string
	// Listen is the address the worker listens on; default Advertise.
	Listen string
	// Slots is how many subtasks of each chain the worker runs.
	Slots int
	// MinWorkers is how many workers the coordinator waits for before it
	// starts the job (default 1); later generations start with whoever is
	// there.
	MinWorkers int
	// Security protects the data and control plane.
	Security Security
	// SessionTimeout is how long a worker that stopped answering stays in
	// the cluster (default DefaultSessionTimeout).
	SessionTimeout time.Duration
	// Logger logs the cluster's events; nil means slog.Default().
	Logger *slog.Logger
}

// worker runs one process's part of a job in a cluster. Its loop (run)
// reacts to the membership's events and to the epochs the coordinator
// starts; the transport's handlers hand it what other workers send.
type worker struct {
	spec JobSpec
	cfg  WorkerConfig
	self Worker
	job  *job.Job
	srv  *Server
	log  *slog.Logger

	store   *storage.Storage
	members *Membership

	starts chan Start
	done   chan Done
	failed chan Failed
	// refused says why this worker may not take part in the job.
	refused chan error
	nonce   uint64 // names this process among the worker's incarnations
	// sharedChecked is the coordinator's probe this worker found in the
	// checkpoint location (checkShared).
	sharedChecked atomic.Value // string

	// started is set once this worker, as coordinator, started the job:
	// from then on every generation starts, however few its workers.
	started atomic.Bool

	// exceptions keeps this worker's failures and, while it coordinates,
	// the job's (report.go).
	exceptions exceptions
	// reports runs the report loops of the epochs (report.go).
	reports sync.WaitGroup
	// view is the job's view this worker last got from the coordinator.
	view lastView

	servedC    <-chan error // the server's end
	servedDone bool         // the loop took it: the server failed first

	mu struct {
		sync.Mutex
		gen     Generation
		ep      *epoch
		clients map[string]*Client // by address
	}
}

// Run runs this process's part of spec's job in the cluster cfg names,
// until the job finishes (nil), ctx ends, or the job fails for good. Every
// worker of the job runs the same program; Kafka's group protocol finds
// the others, elects the coordinator and hands out the work.
func Run(ctx context.Context, spec JobSpec, cfg WorkerConfig) error {
	if cfg.Listen == "" {
		cfg.Listen = cfg.Advertise
	}
	lis, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("cluster: listen on %s (--advertise or ClusterConfig.Listen): %w", cfg.Listen, err)
	}
	cfg.Advertise = advertised(cfg.Advertise, lis.Addr())
	w, err := newWorker(spec, cfg)
	if err != nil {
		lis.Close()
		return err
	}
	w.srv = NewServer(ServerConfig{Security: cfg.Security, Handler: w, Logger: w.log})
	served := make(chan error, 1)
	go func() { served <- w.srv.Serve(lis) }()
	defer func() {
		w.srv.Stop()
		if !w.servedDone { // the loop did not take the server's end
			<-served
		}
		w.closeClients()
	}()
	w.servedC = served
	defer w.reports.Wait() // each ends with its epoch, within a report's timeout

	w.store, err = storage.Open(ctx, spec.Job.Checkpoints.Location)
	if err != nil {
		return fmt.Errorf("weir: Checkpoints: %w", err)
	}
	defer w.store.Close()

	w.members, err = Join(ctx, Config{Client: cfg.Kafka, Name: cfg.Name, Self: w.self, SessionTimeout: cfg.SessionTimeout, Logger: w.log})
	if err != nil {
		return err
	}
	if spec.OnStart != nil {
		spec.OnStart(w.job, w)
	}
	err = w.loop(ctx)
	leaveCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if lerr := w.members.Leave(leaveCtx); lerr != nil && err == nil {
		w.log.Warn("cluster: could not leave the group; the others notice at the session timeout", "err", lerr)
	}
	return err
}

// advertised is the address to advertise: adv, or, when adv's port is 0,
// adv's host with the port the listener got.
func advertised(adv string, got net.Addr) string {
	host, port, err := net.SplitHostPort(adv)
	if err != nil || port != "0" {
		return adv
	}
	_, p, err := net.SplitHostPort(got.String())
	if err != nil {
		return adv
	}
	return net.JoinHostPort(host, p)
}

func newWorker(spec JobSpec, cfg WorkerConfig) (*worker, error) {
	if spec.Job.Checkpoints == nil {
		return nil, errors.New("weir: a job in a cluster needs Checkpoints, in a location every worker shares (s3://, or a directory every worker mounts): its workers restore from them whenever one joins or leaves")
	}
	if cfg.Listen == "" {
		cfg.Listen = cfg.Advertise
	}
	if cfg.ID == "" {
		cfg.ID = MakeID(hostname() + "-" + cfg.Advertise)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("worker", cfg.ID)
	desc := Describe(spec.Describe)
	w := &worker{
		spec: spec, cfg: cfg, log: log,
		self:    Worker{ID: cfg.ID, Addr: cfg.Advertise, Slots: cfg.Slots, Fingerprint: Fingerprint(desc), Graph: desc},
		starts:  make(chan Start, 1),
		done:    make(chan Done, 1),
		failed:  make(chan Failed, 16),
		refused: make(chan error, 1),
		nonce:   rand.Uint64(),
	}
	w.mu.clients = map[string]*Client{}
	js := spec.Job
	js.Build = w.build
	w.job = job.New(js)
	return w, nil
}

// Running is a worker that runs its part of a job: what its process may
// ask of the cluster.
type Running interface {
	// Status reports what the worker knows of its cluster.
	Status() Status
	// TakeSavepoint takes a savepoint of the whole job, and stops it
	// when stop is set; the coordinator takes it, whichever worker is
	// asked.
	TakeSavepoint(ctx context.Context, stop bool) (string, error)
	// ID returns the worker's ID.
	ID() string
	// JobView returns the whole job as the coordinator knows it: every
	// worker's subtasks in the current epoch, the job's failures and its
	// checkpoints. A worker that does not coordinate asks the coordinator,
	// waiting at most viewTimeout (2s); when it cannot, it returns its own
	// part and the error.
	JobView(ctx context.Context) (JobView, error)
}

// ID returns the worker's ID: Running.ID.
func (w *worker) ID() string { return w.self.ID }

// TakeSavepoint takes a savepoint of the job: here if this worker
// coordinates, else through the coordinator.
func (w *worker) TakeSavepoint(ctx context.Context, stop bool) (string, error) {
	g := w.generation()
	if g.Coordinator == "" {
		return "", errors.New("weir: the worker has not joined its cluster yet: ask again in a moment")
	}
	if g.IsCoordinator() {
		return w.job.Savepoint(ctx, stop)
	}
	cl, err := w.coordinatorClient()
	if err != nil {
		return "", err
	}
	r, err := cl.Savepoint(ctx, SavepointRequest{Epoch: epochID(g.ID, 0), Stop: stop})
	if err != nil {
		return "", fmt.Errorf("weir: the savepoint, asked of coordinator %s: %w", g.Coordinator, err)
	}
	return r.Path, nil
}

// earlyStart keeps the newest Start of a generation this worker has not
// been assigned yet: the coordinator begins a generation as soon as it is
// assigned, and the membership may tell this worker of it a moment later.
type earlyStart struct{ st *Start }

// hold keeps st when its generation is newer than gen, the worker's, and
// reports whether it did.
func (e *earlyStart) hold(st Start, gen int32) bool {
	if st.Epoch>>16 <= int64(gen) {
		return false
	}
	if e.st == nil || st.Epoch > e.st.Epoch {
		e.st = &st
	}
	return true
}

// take returns the Start held, once generation gen is assigned, unless
// it belongs to a later generation still.
func (e *earlyStart) take(gen int32) (Start, bool) {
	if e.st == nil || e.st.Epoch>>16 > int64(gen) {
		return Start{}, false
	}
	st := *e.st
	e.st = nil
	return st, true
}

// loop runs epochs until the job is done.
func (w *worker) loop(ctx context.Context) error {
	var coord coordinator // this worker's coordination of the current generation
	defer coord.stop()
	first := true // the first generation of this process
	var early earlyStart
	results := make(chan epochResult, 1)
	for {
		select {
		case <-ctx.Done():
			w.stopEpoch()
			return ctx.Err()
		case err := <-w.servedC:
			w.stopEpoch()
			w.servedDone = true
			if err == nil {
				err = errors.New("cluster: the worker's server stopped")
			}
			return err
		case ev, ok := <-w.members.Events():
			if !ok {
				w.stopEpoch()
				return errors.New("cluster: the membership ended")
			}
			switch ev.Kind {
			case Refused:
				w.stopEpoch()
				return ev.Err
			case Revoked:
				coord.stop()
				w.stopEpoch()
			case Assigned:
				coord.stop()
				w.stopEpoch()
				w.setGeneration(ev.Generation)
				if ev.Generation.IsCoordinator() {
					coord = w.coordinate(ctx, ev.Generation)
				} else if first {
					// A worker restarted within the session timeout is
					// back in a generation whose epoch it has none of:
					// the others must start one afresh with it.
					w.rejoined(ctx, ev.Generation)
				}
				first = false
				if st, ok := early.take(ev.Generation.ID); ok {
					w.startEpoch(ctx, st, results) // refuses an older one
				}
			}
		case st := <-w.starts:
			if ep := w.currentEpoch(); ep != nil && ep.id == st.Epoch {
				continue // the coordinator sent it again
			}
			if early.hold(st, w.generation().ID) {
				continue
			}
			w.stopEpoch()
			w.startEpoch(ctx, st, results)
		case res := <-results:
			if done, err := w.epochEnded(ctx, res, &coord); done {
				return err
			}
		case f := <-w.failed:
			coord.failed(f)
		case err := <-w.refused:
			w.stopEpoch()
			return err
		case d := <-w.done:
			w.stopEpoch()
			if d.Error != "" {
				return fmt.Errorf("weir: the job failed (coordinator %s): %s", w.generation().Coordinator, d.Error)
			}
			if d.Savepoint != "" {
				w.log.Info("cluster: the job is done", "savepoint", d.Savepoint)
			} else {
				w.log.Info("cluster: the job is done")
			}
			return nil
		}
	}
}

// epochEnded handles the end of this worker's part of an epoch. It
// returns true when the job is over for this worker.
func (w *worker) epochEnded(ctx context.Context, res epochResult, coord *coordinator) (bool, error) {
	ep := res.ep
	if ep != w.currentEpoch() {
		return false, nil // an epoch stopped for a newer one
	}
	switch {
	case res.err == nil && ep.gen.IsCoordinator():
		return w.finish(ctx, ep)
	case job.Stopped(res.err) && ep.gen.IsCoordinator():
		w.broadcast(ctx, ep, func(cl *Client) error { return cl.Done(ctx, Done{Epoch: ep.id}) })
		return true, nil
	case res.err == nil:
		// This worker's tasks ended; the coordinator says when the whole
		// job has.
		return false, nil
	case ctx.Err() != nil || ep.ctx.Err() != nil:
		return false, nil // stopped on purpose
	case ep.gen.IsCoordinator():
		coord.failed(Failed{Epoch: ep.id, Error: res.err.Error()})
	default:
		w.log.Warn("cluster: this worker's part of the job failed; the coordinator restarts the job", "epoch", ep.id, "err", res.err)
		w.reportFailure(ctx, ep, res.err)
	}
	return false, nil
}

// finish ends the job after every task of epoch ep ended its input: it
// publishes the end of the output and tells the other workers. Only the
// live epoch may (job.Confirmer): if the brokers do not confirm ep's
// generation, it asks for a new one, which finishes the job from the
// latest checkpoint, and reports the job not done.
func (w *worker) finish(ctx context.Context, ep *epoch) (bool, error) {
	if err := w.members.Confirm(ctx, ep.gen.ID); err != nil {
		w.log.Warn("cluster: the job's input ended in an epoch the others may have left; a new generation finishes it", "epoch", ep.id, "err", err)
		w.members.Rebalance()
		return false, nil
	}
	err := ep.run.Finish(ctx)
	w.broadcast(ctx, ep, func(cl *Client) error { return cl.Done(ctx, Done{Epoch: ep.id, Error: errText(err)}) })
	return true, err
}

// reportFailure tells the coordinator that epoch ep failed here, so that
// it restarts the job on every worker. It does not wait: the loop must go
// on reading the membership's events meanwhile (a coordinator that is gone
// makes the call wait until it times out or the group rebalances).
func (w *worker) reportFailure(ctx context.Context, ep *epoch, cause error) {
	f := Failed{Epoch: ep.id, Error: cause.Error()}
	if ep.gen.IsCoordinator() {
		select {
		case w.failed <- f:
		default: // a restart is on its way already
		}
		return
	}
	go func() {
		rctx, cancel := context.WithTimeout(ctx, reportTimeout)
		defer cancel()
		cl, err := w.coordinatorClient()
		if err == nil {
			err = cl.Failed(rctx, f)
		}
		if err != nil && ctx.Err() == nil && !errors.Is(err, ErrStaleEpoch) && w.generation().ID == ep.gen.ID {
			w.log.Warn("cluster: could not tell the coordinator of the failure; the group will rebalance", "err", err)
			w.members.Rebalance()
		}
	}()
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (w *worker) setGeneration(g Generation) {
	w.mu.Lock()
	w.mu.gen = g
	w.mu.Unlock()
}

func (w *worker) generation() Generation {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.gen
}

func (w *worker) currentEpoch() *epoch {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.mu.ep
}

// client returns the client of the worker at addr, dialing it once.
func (w *worker) client(addr string) (*Client, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.mu.clients[addr]; c != nil {
		return c, nil
	}
	c, err := Dial(addr, w.cfg.Security)
	if err != nil {
		return nil, err
	}
	w.mu.clients[addr] = c
	return c, nil
}

func (w *worker) closeClients() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for addr, c := range w.mu.clients {
		c.Close()
		delete(w.mu.clients, addr)
	}
}

// coordinatorClient returns the client of the current generation's
// coordinator.
func (w *worker) coordinatorClient() (*Client, error) {
	g := w.generation()
	ws, ok := g.Assignment.Worker(g.Coordinator)
	if !ok {
		return nil, fmt.Errorf("cluster: no coordinator in generation %d", g.ID)
	}
	return w.client(ws.Addr)
}

// broadcast calls send for the client of every worker of ep's generation,
// this one included, and logs the failures.
func (w *worker) broadcast(ctx context.Context, ep *epoch, send func(*Client) error) {
	for _, ws := range ep.gen.Assignment.Workers {
		c, err := w.client(ws.Addr)
		if err == nil {
			err = send(c)
		}
		if err != nil && ctx.Err() == nil {
			w.log.Warn("cluster: could not reach a worker", "to", ws.ID, "err", err)
		}
	}
}

// rejoined tells the coordinator of generation g that this process is
// new in it. If another process of this worker took the generation's
// epoch, the coordinator starts a new one.
func (w *worker) rejoined(ctx context.Context, g Generation) {
	go func() {
		rctx, cancel := context.WithTimeout(ctx, reportTimeout)
		defer cancel()
		cl, err := w.coordinatorClient()
		if err == nil {
			err = cl.Failed(rctx, Failed{Epoch: epochID(g.ID, 0), Rejoined: true, Member: w.self.ID, Nonce: w.nonce,
				Error: "worker " + w.self.ID + " restarted"})
		}
		if err != nil && ctx.Err() == nil {
			w.log.Debug("cluster: could not tell the coordinator this worker restarted", "err", err)
		}
	}()
}

// reportTimeout bounds a call that reports to the coordinator outside an
// epoch's tasks: a coordinator that died is noticed at the session timeout,
// and the report is moot then.
const reportTimeout = 10 * time.Second

// hostname names this machine in default worker IDs.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "weir"
	}
	return h
}
