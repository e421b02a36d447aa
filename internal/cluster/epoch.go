package cluster

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/plan"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/source"
)

// An epoch is one run of this process's part of the job: a generation of
// the membership and, within it, a restart after a failure. Its id is the
// generation in the high bits and the restart in the low 16, so that ids
// grow across generations and restarts alike.
type epoch struct {
	id   int64
	gen  Generation
	plan *plan.Plan
	run  *job.Run
	// ctx ends when the epoch is stopped for a newer one, or the worker
	// returns.
	ctx    context.Context
	cancel context.CancelFunc
	ended  chan struct{} // closed when the run returned
	close  func() error  // closes what OpenRun opened

	ready atomic.Bool // the run is built: handlers may use what follows
	mu    sync.Mutex
	enums map[string]*runtime.Enumeration // coordinator: every source's, by UID
	// readers holds, in a worker that is not the coordinator, the readers'
	// side of each source: its enumeration and how its splits decode.
	readers map[string]readerSide
	// assigned lists, on the coordinator, the ids of the splits handed to
	// each worker's readers, by source (for Status).
	assigned map[string]map[string][]string
	// reports holds, on the coordinator, each other worker's newest report
	// in this epoch: its subtasks and channels (report.go).
	reports map[string]Report
}

type readerSide struct {
	en     *runtime.Enumeration
	splits source.Checkpointed
}

func epochID(generation int32, restart int) int64 {
	return int64(generation)<<16 | int64(restart&0xffff)
}

type epochResult struct {
	ep  *epoch
	err error
}

// startEpoch opens and runs this process's part of the epoch st starts.
// The result goes to results when the run returns.
func (w *worker) startEpoch(ctx context.Context, st Start, results chan<- epochResult) {
	g := w.generation()
	if st.Epoch>>16 != int64(g.ID) {
		w.log.Warn("cluster: an epoch of another generation", "epoch", st.Epoch, "generation", g.ID)
		return
	}
	ectx, cancel := context.WithCancel(ctx)
	ep := &epoch{id: st.Epoch, gen: g, ctx: ectx, cancel: cancel, ended: make(chan struct{}),
		enums: map[string]*runtime.Enumeration{}, readers: map[string]readerSide{}}
	p := plan.Resolve(w.spec.Graph, g.Assignment.Parallelism(w.spec.Settings.MaxParallelism))
	ep.plan = p
	run, closeRun, err := w.job.OpenRun(ectx, w.store, st.Restore, attemptOf(st.Lifetime, st.Epoch))
	if err != nil {
		cancel()
		close(ep.ended)
		// The epoch never became this worker's: the coordinator must hear
		// of it, or it would wait for the epoch for ever.
		w.log.Warn("cluster: this worker cannot open its part of the epoch", "epoch", ep.id, "restore", st.Restore, "err", err)
		w.noteFailure(ep, err)
		w.reportFailure(ctx, ep, err)
		return
	}
	ep.run, ep.close = run, closeRun
	if !g.IsCoordinator() {
		run.ReportTo(reporter{w: w, ep: ep})
		w.reports.Go(func() { w.reportLoop(ep) })
	}
	w.srv.SetEpoch(ep.id)
	w.mu.Lock()
	w.mu.ep = ep
	w.mu.Unlock()
	w.log.Info("cluster: epoch", "epoch", ep.id, "restore", st.Restore, "parallelism", g.Assignment.Parallelism(w.spec.Settings.MaxParallelism))
	go func() {
		defer close(ep.ended)
		var driver job.Tasks
		if g.IsCoordinator() {
			driver = coordinatorTasks{w: w, ep: ep}
		}
		err := run.Execute(ectx, driver)
		if err != nil && ectx.Err() == nil && !job.Stopped(err) {
			// Before ended closes: the report that follows the end
			// carries the failure.
			w.noteFailure(ep, err)
		}
		results <- epochResult{ep: ep, err: err}
	}()
}

// stopEpoch stops the current epoch's tasks and waits for them to end.
func (w *worker) stopEpoch() {
	w.mu.Lock()
	ep := w.mu.ep
	w.mu.ep = nil
	w.mu.Unlock()
	if ep == nil {
		return
	}
	ep.cancel()
	<-ep.ended
	if ep.close != nil {
		ep.close()
	}
}

// build builds this process's part of the current epoch: job.Spec.Build.
func (w *worker) build(ctx context.Context, run *job.Run) ([]runtime.Task, error) {
	ep := w.currentEpoch()
	if ep == nil || ep.run != run {
		return nil, errors.New("cluster: the epoch ended before it was built")
	}
	// The build restores: sinks take back output published after the
	// restored checkpoint. A worker cut off while it started the epoch
	// must not do that to the newer epoch the others run by now.
	if err := w.members.Confirm(ctx, ep.gen.ID); err != nil {
		return nil, err
	}
	s := w.spec.Settings
	s.Network = network{w: w, ep: ep}
	built, err := ep.plan.Build(ctx, s, run)
	if err != nil {
		return nil, err
	}
	if w.spec.OnBuild != nil {
		w.spec.OnBuild(built)
	}
	ep.ready.Store(true)
	return built.Tasks, nil
}

// network places and connects the subtasks of an epoch: plan.Network.
type network struct {
	w  *worker
	ep *epoch
}

func (n network) Here(i, p int) bool {
	return n.ep.gen.Assignment.WorkerOf(i, p).ID == n.w.self.ID
}

func (n network) Coordinator() bool { return n.ep.gen.IsCoordinator() }

func (n network) Link(ctx context.Context, e *plan.Edge, input int, ex plan.Exchange, s, r int) (func(context.Context) error, error) {
	key := ChannelKey{Epoch: n.ep.id, Node: e.To.ID, Input: input, Sender: s, Receiver: r}
	sp, rp := n.ep.plan.Parallelism(e.From), n.ep.plan.Parallelism(e.To)
	if !n.Here(s, sp) {
		_, err := n.w.srv.Register(key, ex)
		return nil, err
	}
	peer := n.ep.gen.Assignment.WorkerOf(r, rp)
	cl, err := n.w.client(peer.Addr)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		err := cl.Channel(ctx, key, func(send, sendPrio func([]byte) error) error {
			return ex.Outbound(ctx, s, r, send, sendPrio)
		})
		if err != nil {
			return fmt.Errorf("to worker %s: %w", peer.ID, err)
		}
		return nil
	}, nil
}

func (n network) Enumeration(node *plan.Node, en *runtime.Enumeration, splits source.Checkpointed) error {
	p := n.ep.plan.Parallelism(node)
	n.ep.mu.Lock()
	defer n.ep.mu.Unlock()
	if !n.Coordinator() {
		n.ep.readers[node.UID] = readerSide{en: en, splits: splits}
		en.RequestSplit = func(subtask int) {
			cl, err := n.w.coordinatorClient()
			if err == nil {
				err = cl.SplitRequest(n.ep.ctx, SplitRequest{Epoch: n.ep.id, Source: node.UID, Subtask: subtask})
			}
			if err != nil && n.ep.ctx.Err() == nil {
				// The reader would wait for a split for ever.
				n.w.log.Warn("cluster: a split request did not reach the coordinator; the epoch must restart", "source", node.Name, "subtask", subtask, "err", err)
				n.w.reportFailure(n.ep.ctx, n.ep, fmt.Errorf("cluster: a split request of source %q: %w", node.Name, err))
			}
		}
		return nil
	}
	n.ep.enums[node.UID] = en
	for i := range p {
		if n.Here(i, p) {
			en.SetMailbox(i, notingMailbox{Mailbox: en.Mailbox(i), ep: n.ep, source: node.Name, worker: n.w.self.ID})
			continue
		}
		peer := n.ep.gen.Assignment.WorkerOf(i, p)
		cl, err := n.w.client(peer.Addr)
		if err != nil {
			return err
		}
		en.SetMailbox(i, notingMailbox{ep: n.ep, source: node.Name, worker: peer.ID,
			Mailbox: &remoteMailbox{w: n.w, ep: n.ep, cl: cl, source: node.UID, name: node.Name, subtask: i, splits: splits}})
	}
	return nil
}

// remoteMailbox is the mailbox of a reader in another process: each item
// travels in a call of its own, in order, from the enumeration's goroutine
// (runtime invariant 6: a marker stays behind the assignments before it).
type remoteMailbox struct {
	w            *worker
	ep           *epoch
	cl           *Client
	source, name string
	subtask      int
	splits       source.Checkpointed
	failed       atomic.Bool // the epoch's failure is reported
}

func (m *remoteMailbox) send(item MailItem) {
	err := m.cl.Mailbox(m.ep.ctx, Mailbox{Epoch: m.ep.id, Source: m.source, Subtask: m.subtask, Items: []MailItem{item}})
	if err != nil {
		m.fail(fmt.Errorf("cluster: a split assignment of source %q did not reach reader %d: %w", m.name, m.subtask, err))
	}
}

// fail restarts the epoch: a reader that misses an assignment would wait
// for its splits for ever.
func (m *remoteMailbox) fail(err error) {
	if m.ep.ctx.Err() != nil || m.failed.Swap(true) {
		return
	}
	m.w.log.Warn("cluster: the epoch must restart", "err", err)
	m.w.reportFailure(m.ep.ctx, m.ep, err)
}

func (m *remoteMailbox) Assign(splits ...source.Split) {
	enc := make([][]byte, len(splits))
	for i, sp := range splits {
		b, err := m.splits.EncodeSplit(sp)
		if err != nil {
			m.fail(fmt.Errorf("cluster: split %s of source %q cannot be encoded for its reader: %w", sp.SplitID(), m.name, err))
			return
		}
		enc[i] = b
	}
	m.send(MailItem{Splits: enc})
}

func (m *remoteMailbox) NoMoreSplits() { m.send(MailItem{NoMoreSplits: true}) }

func (m *remoteMailbox) Marker(id int64) { m.send(MailItem{Checkpoint: id}) }

// notingMailbox notes the splits a mailbox passes on, for Status.
type notingMailbox struct {
	runtime.Mailbox
	ep             *epoch
	source, worker string
}

func (m notingMailbox) Assign(splits ...source.Split) {
	ids := make([]string, len(splits))
	for i, sp := range splits {
		ids[i] = sp.SplitID()
	}
	m.ep.noteSplits(m.source, m.worker, ids)
	m.Mailbox.Assign(splits...)
}

// coordinatorTasks reaches the tasks of the whole job for the
// coordinator's checkpoint driver: job.Tasks.
type coordinatorTasks struct {
	w  *worker
	ep *epoch
}

func (c coordinatorTasks) Trigger(ctx context.Context, id int64) {
	c.ep.mu.Lock()
	enums := make([]*runtime.Enumeration, 0, len(c.ep.enums))
	for _, en := range c.ep.enums {
		enums = append(enums, en)
	}
	c.ep.mu.Unlock()
	for _, en := range enums {
		en.Trigger(ctx, id)
	}
}

func (c coordinatorTasks) Notify(ctx context.Context, t checkpoint.TaskID, cmd runtime.Command) bool {
	if t.Subtask < 0 {
		return job.LocalTasks(c.ep.run).Notify(ctx, t, cmd) // enumerators run here
	}
	p := c.ep.plan.Parallelism(c.w.spec.Graph.Nodes[t.Chain])
	peer := c.ep.gen.Assignment.WorkerOf(t.Subtask, p)
	if peer.ID == c.w.self.ID {
		return job.LocalTasks(c.ep.run).Notify(ctx, t, cmd)
	}
	cl, err := c.w.client(peer.Addr)
	if err == nil {
		err = cl.Notify(ctx, Notify{Epoch: c.ep.id, Task: t, Kind: cmd.Kind, Checkpoint: cmd.ID})
	}
	if err != nil {
		if ctx.Err() != nil {
			return false
		}
		c.w.log.Warn("cluster: a checkpoint notification did not reach its task", "task", t, "checkpoint", cmd.ID, "err", err)
	}
	return true
}

var _ job.Confirmer = coordinatorTasks{}

// Confirm asks the group whether the epoch's generation goes on:
// job.Confirmer. The coordinator's worker may have been cut off from the
// others, who go on without it; it must then neither complete a checkpoint
// nor delete one.
func (c coordinatorTasks) Confirm(ctx context.Context) error {
	return c.w.members.Confirm(ctx, c.ep.gen.ID)
}

// reporter sends the reports of this process's tasks to the coordinator:
// job.Reporter.
type reporter struct {
	w  *worker
	ep *epoch
}

func (r reporter) client() (*Client, error) { return r.w.coordinatorClient() }

func (r reporter) Ack(ctx context.Context, a job.Ack) error {
	cl, err := r.client()
	if err != nil {
		return err
	}
	return cl.Ack(ctx, Ack{Epoch: r.ep.id, Task: a.Task, Checkpoint: a.ID, Operators: a.Ops, Alignment: a.Alignment, Declined: a.Err,
		Timing: ackTiming(a.Timing, time.Now())})
}

func (r reporter) Ended(ctx context.Context, e job.Ended) error {
	cl, err := r.client()
	if err != nil {
		return err
	}
	return cl.Finished(ctx, finishedOf(r.ep.id, e))
}

// finishedOf is the message that carries e to the coordinator of epoch
// epoch; Finished.ended gives e back.
func finishedOf(epoch int64, e job.Ended) Finished {
	return Finished{Epoch: epoch, Task: e.Task, Final: e.Final, Barrier: e.Barrier}
}

// ended is the task end m carries (finishedOf).
func (m Finished) ended() job.Ended {
	return job.Ended{Task: m.Task, Final: m.Final, Barrier: m.Barrier}
}

func (r reporter) FinalCommit(ctx context.Context, fc job.FinalCommit) error {
	cl, err := r.client()
	if err != nil {
		return err
	}
	return cl.FinalCommit(ctx, FinalCommit{Epoch: r.ep.id, UID: fc.UID, Subtask: fc.Subtask, Parallelism: fc.Parallelism,
		Committables: fc.Committables, State: fc.State})
}

// coordinator starts the epochs of a generation on every worker, and
// restarts them after a failure, as the job's restart strategy allows.
type coordinator struct {
	cancel   context.CancelFunc
	failures chan Failed
	done     chan struct{}
}

// coordinate starts coordinating generation g.
func (w *worker) coordinate(ctx context.Context, g Generation) coordinator {
	cctx, cancel := context.WithCancel(ctx)
	c := coordinator{cancel: cancel, failures: make(chan Failed, 16), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		w.coordinateLoop(cctx, g, c.failures)
	}()
	return c
}

func (c *coordinator) stop() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	<-c.done
	*c = coordinator{}
}

// failed passes a failure report to the coordination, if this worker
// coordinates.
func (c *coordinator) failed(f Failed) {
	if c.failures == nil {
		return
	}
	select {
	case c.failures <- f:
	default: // a restart is on its way already
	}
}

func (w *worker) coordinateLoop(ctx context.Context, g Generation, failures <-chan Failed) {
	if n := len(g.Assignment.Workers); n < w.cfg.MinWorkers && !w.started.Load() {
		// Only the job's first start waits: once it has checkpoints, it
		// goes on with whoever is there.
		if done, err := w.store.Completed(ctx); err != nil || len(done) == 0 {
			w.log.Info("cluster: waiting for more workers before the job starts", "workers", n, "min", w.cfg.MinWorkers)
			return
		}
	}
	w.started.Store(true)
	// Epoch ids must not repeat within a generation: a coordinator that
	// was restarted (static membership keeps its generation) starts its
	// restarts at a number of its own, so that no message of the previous
	// process's epochs is taken for one of its own; numbering puts them
	// above the last one recorded, too.
	restart := 1 + rand.IntN(0x7fff)
	strikes := 0 // failures since the job last made progress
	probe, token := "coordinator."+w.self.ID, fmt.Sprintf("%016x", w.nonce)
	if err := w.store.WriteProbe(ctx, probe, []byte(token)); err != nil {
		if ctx.Err() == nil {
			w.endJob(ctx, g, err)
		}
		return
	}
	last, found, err := w.lastEpoch(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.endJob(ctx, g, err)
		}
		return
	}
	var confirmErr error
	life, restart, err := numbering(last, found, g.ID, restart, func() error {
		confirmErr = w.members.Confirm(ctx, g.ID)
		return confirmErr
	})
	switch {
	case err != nil && ctx.Err() != nil:
		return
	case confirmErr != nil:
		w.log.Warn("cluster: this worker's generation ended before it started the job; the group will rebalance", "generation", g.ID, "err", err)
		w.members.Rebalance()
		return
	case err != nil:
		w.endJob(ctx, g, err)
		return
	}
	for {
		path, done, err := w.job.StartPoint(ctx, w.store)
		switch {
		case err != nil && ctx.Err() == nil:
			w.endJob(ctx, g, err)
			return
		case done:
			w.endJob(ctx, g, nil)
			return
		case restart >= 0xffff:
			w.endJob(ctx, g, errors.New("too many restarts in one generation"))
			return
		case err != nil:
			return
		}
		id := epochID(g.ID, restart)
		// Recorded before any worker may use the attempt.
		if err := writeEpochs(ctx, w.store, epochRecord{Lifetime: life, Generation: g.ID, Restart: restart}); err != nil {
			if ctx.Err() == nil {
				w.log.Warn("cluster: could not record the epoch in the checkpoint location; the group will rebalance", "epoch", id, "err", err)
				w.members.Rebalance()
			}
			return
		}
		w.log.Info("cluster: starting an epoch on every worker", "epoch", id, "attempt", attemptOf(life, id), "restore", path)
		took := map[string]uint64{} // the process of each worker that took the epoch
		for _, ws := range g.Assignment.Workers {
			c, err := w.client(ws.Addr)
			var st Started
			if err == nil {
				st, err = c.Start(ctx, Start{Epoch: id, Restore: path, Probe: probe, Token: token, Lifetime: life})
				took[ws.ID] = st.Nonce
			}
			if err != nil {
				if ctx.Err() == nil {
					w.log.Warn("cluster: could not start the epoch on a worker; the group will rebalance", "to", ws.ID, "err", err)
					w.members.Rebalance()
				}
				return
			}
		}
		var f Failed
		for {
			select {
			case <-ctx.Done():
				return
			case f = <-failures:
			}
			if f.Epoch == id {
				break
			}
			if nonce, ok := took[f.Member]; f.Rejoined && f.Epoch>>16 == id>>16 && ok && nonce != f.Nonce {
				break // the process that took the epoch is gone
			}
		}
		restart++
		// A failure after the epoch completed a checkpoint is a new
		// failure, not one more of the same: the restart strategy counts
		// the failures since the job last made progress.
		if newest, _, err := w.job.StartPoint(ctx, w.store); err == nil && newest != path {
			strikes = 0
		}
		strikes++
		delay, ok := w.spec.Job.Checkpoints.Restart.Next(strikes)
		w.exceptions.restarted(id, ok && restart < 0xffff)
		if !ok || restart >= 0xffff {
			w.endJob(ctx, g, fmt.Errorf("gave up after %d restarts without progress: %s", strikes-1, f.Error))
			return
		}
		w.log.Warn("cluster: the job failed; restarting it on every worker", "epoch", id, "in", delay, "err", f.Error)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return
		}
	}
}

// endJob tells every worker that the job is over: done, or failed for good.
func (w *worker) endJob(ctx context.Context, g Generation, err error) {
	d := Done{Epoch: epochID(g.ID, 0), Error: errText(err)}
	for _, ws := range g.Assignment.Workers {
		if c, cerr := w.client(ws.Addr); cerr == nil {
			d.Epoch = max(d.Epoch, w.srv.Epoch())
			if serr := c.Done(ctx, d); serr != nil && ctx.Err() == nil {
				w.log.Warn("cluster: could not tell a worker the job is over", "to", ws.ID, "err", serr)
			}
		}
	}
}

// The transport's handlers: what other workers send this one.

// epochFor returns the current epoch when it is built; ErrNotReady makes
// the sender try again while it is being built.
func (w *worker) epochFor(id int64) (*epoch, error) {
	ep := w.currentEpoch()
	if ep == nil || ep.id != id || !ep.ready.Load() {
		return nil, ErrNotReady
	}
	return ep, nil
}

func (w *worker) Ack(ctx context.Context, m Ack) error {
	ep, err := w.epochFor(m.Epoch)
	if err != nil {
		return err
	}
	return ep.run.Receive(ctx, job.Ack{ID: m.Checkpoint, Task: m.Task, Ops: m.Operators, Alignment: m.Alignment, Err: m.Declined,
		Timing: m.Timing.at(time.Now())})
}

func (w *worker) Finished(ctx context.Context, m Finished) error {
	ep, err := w.epochFor(m.Epoch)
	if err != nil {
		return err
	}
	return ep.run.ReceiveEnded(ctx, m.ended())
}

func (w *worker) FinalCommit(ctx context.Context, m FinalCommit) error {
	ep, err := w.epochFor(m.Epoch)
	if err != nil {
		return err
	}
	ep.run.ReceiveFinalCommit(job.FinalCommit{UID: m.UID, Subtask: m.Subtask, Parallelism: m.Parallelism, Committables: m.Committables, State: m.State})
	return nil
}

func (w *worker) SplitRequest(ctx context.Context, m SplitRequest) error {
	ep, err := w.epochFor(m.Epoch)
	if err != nil {
		return err
	}
	ep.mu.Lock()
	en := ep.enums[m.Source]
	ep.mu.Unlock()
	if en == nil {
		return fmt.Errorf("cluster: no source %q here: is this worker the coordinator?", m.Source)
	}
	en.Request(ctx, m.Subtask)
	return nil
}

func (w *worker) Mailbox(ctx context.Context, m Mailbox) error {
	ep, err := w.epochFor(m.Epoch)
	if err != nil {
		return err
	}
	ep.mu.Lock()
	rs, ok := ep.readers[m.Source]
	ep.mu.Unlock()
	if !ok {
		return fmt.Errorf("cluster: no reader of source %q here", m.Source)
	}
	mb := rs.en.Mailbox(m.Subtask)
	for _, it := range m.Items {
		switch {
		case it.NoMoreSplits:
			mb.NoMoreSplits()
		case it.Checkpoint != 0:
			mb.Marker(it.Checkpoint)
		default:
			splits := make([]source.Split, len(it.Splits))
			for i, b := range it.Splits {
				sp, err := rs.splits.DecodeSplit(b)
				if err != nil {
					return fmt.Errorf("cluster: a split of source %q does not decode: %w", m.Source, err)
				}
				splits[i] = sp
			}
			mb.Assign(splits...)
		}
	}
	return nil
}

func (w *worker) Notify(ctx context.Context, m Notify) error {
	ep, err := w.epochFor(m.Epoch)
	if err != nil {
		return err
	}
	job.LocalTasks(ep.run).Notify(ctx, m.Task, m.Command())
	return nil
}

func (w *worker) Failed(ctx context.Context, m Failed) error {
	select {
	case w.failed <- m:
	default:
	}
	return nil
}

func (w *worker) Start(ctx context.Context, m Start) (Started, error) {
	if err := w.checkShared(ctx, m); err != nil {
		return Started{}, err
	}
	select {
	case w.starts <- m:
		return Started{Nonce: w.nonce}, nil
	case <-ctx.Done():
		return Started{}, ctx.Err()
	}
}

// Savepoint takes the savepoint another worker was asked for.
func (w *worker) Savepoint(ctx context.Context, m SavepointRequest) (SavepointTaken, error) {
	if g := w.generation(); !g.IsCoordinator() {
		return SavepointTaken{}, fmt.Errorf("cluster: worker %s does not coordinate the job (%s does since generation %d): ask again", w.self.ID, g.Coordinator, g.ID)
	}
	path, err := w.job.Savepoint(ctx, m.Stop)
	return SavepointTaken{Path: path}, err
}

func (w *worker) Done(ctx context.Context, m Done) error {
	select {
	case w.done <- m:
	default:
	}
	return nil
}

// checkShared checks that this worker sees what the coordinator wrote in
// the checkpoint location: workers restore each other's state from it.
// A worker that does not is refused: it leaves the cluster and its Run
// returns the reason.
func (w *worker) checkShared(ctx context.Context, m Start) error {
	if m.Probe == "" {
		return nil
	}
	key := m.Probe + "=" + m.Token
	if w.sharedChecked.Load() == key {
		return nil
	}
	b, ok, err := w.store.ReadProbe(ctx, m.Probe)
	if err != nil {
		return fmt.Errorf("cluster: worker %s cannot check its checkpoint location: %w", w.self.ID, err)
	}
	if !ok || string(b) != m.Token {
		err := fmt.Errorf("cluster: worker %s does not share the coordinator's checkpoint location: the coordinator wrote _probes/%s in its location, and %s shows no such file (or an older one). Every worker of a cluster must use the same location, which all of them can read and write (s3://…, or a directory every worker mounts): they restore each other's state from it",
			w.self.ID, m.Probe, w.store.Location())
		select {
		case w.refused <- err:
		default:
		}
		return err
	}
	w.sharedChecked.Store(key)
	return nil
}
