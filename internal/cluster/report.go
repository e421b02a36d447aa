package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/source"
)

// The job's view across workers. Each worker runs only its own subtasks,
// but the job UI and API of any worker show the whole job, as Flink's
// JobManager shows every TaskManager's subtasks:
//
//   - Every worker that does not coordinate sends the coordinator a Report
//     every reportInterval while an epoch runs, and once more when its part
//     of the epoch ends: its subtasks' metrics, how full its channels are,
//     and the failures of its subtasks that the coordinator does not hold
//     yet.
//   - The coordinator keeps each worker's newest report on the epoch, so a
//     new epoch starts without them: a worker that left drops out of the
//     view once the next epoch starts. It merges the failures into the
//     job's exception history, which outlives epochs. The checkpoints'
//     statistics are its own already: every task acknowledges to it, with
//     the timing of its part.
//   - Any worker answers its UI from View: the coordinator from what it
//     holds, any other by asking the coordinator (one call per question).
//
// Why to the coordinator and not from every worker to every other: the
// coordinator already receives every acknowledgement and failure, every
// worker knows which worker it is in each generation, and the traffic grows
// with the workers, not with their square. When the coordinator changes
// (it left), the next reports go to the new one; a worker resends the
// failures it holds to a coordinator that does not have them (each answer
// says how many of the worker's failures the coordinator holds).
//
// GET /metrics stays each worker's own (Prometheus scrapes every worker);
// only the API and the UI show the merged view.

// reportInterval is how often a worker reports to the coordinator.
const reportInterval = time.Second

// viewTimeout bounds a worker's question to the coordinator: the UI
// falls back to the worker's own part when the coordinator does not answer.
const viewTimeout = 2 * time.Second

// viewFresh is how long a worker answers from the view it last got: a
// page's refresh asks for several parts of it at once.
const viewFresh = 250 * time.Millisecond

// lastView is the view a worker that does not coordinate last got; its
// mutex is held while the worker asks, so that questions asked at once
// share one call.
type lastView struct {
	mu   sync.Mutex
	at   time.Time
	view JobView
	err  error
}

// The bounds of what a report and a view carry, so that neither nears the
// transport's message limit however large the job.
const (
	maxExceptions      = 100     // failures a worker and the job's history keep: the newest
	maxErrorText       = 4 << 10 // bytes of a failure's error text
	maxStackText       = 16 << 10
	maxSplitsReported  = 64   // split progresses per subtask
	maxSubtaskReports  = 4096 // subtasks per report and view
	maxTimedViewed     = 10   // the newest checkpoints a view carries per-task details of
	maxCheckpointsView = 100
	maxExceptionKeys   = 1024 // worker processes whose failures the coordinator tracks
	maxChannelReports  = 4096 // edges per report and view
)

// SubtaskReport is the metrics of one subtask (weir.SubtaskMetrics), as a
// worker reports them to the coordinator and a view carries them.
type SubtaskReport struct {
	// Worker is the ID of the worker that runs the subtask.
	Worker        string        `cbor:"1,keyasint,omitempty"`
	Operator      string        `cbor:"2,keyasint"`
	Subtask       int           `cbor:"3,keyasint"`
	RecordsIn     int64         `cbor:"4,keyasint,omitempty"`
	RecordsOut    int64         `cbor:"5,keyasint,omitempty"`
	DeadLetters   int64         `cbor:"6,keyasint,omitempty"`
	Busy          time.Duration `cbor:"7,keyasint,omitempty"`
	Idle          time.Duration `cbor:"8,keyasint,omitempty"`
	Backpressured time.Duration `cbor:"9,keyasint,omitempty"`
	// InputWatermark and OutputWatermark are Unix milliseconds; 0 when
	// the subtask has none.
	InputWatermark  int64                  `cbor:"10,keyasint,omitempty"`
	OutputWatermark int64                  `cbor:"11,keyasint,omitempty"`
	Splits          []source.SplitProgress `cbor:"12,keyasint,omitempty"`
	LatencyP50      time.Duration          `cbor:"13,keyasint,omitempty"`
	LatencyP99      time.Duration          `cbor:"14,keyasint,omitempty"`
	LatencySamples  int64                  `cbor:"15,keyasint,omitempty"`
	StateAccess     []StateAccessReport    `cbor:"16,keyasint,omitempty"`
	StateBytes      int64                  `cbor:"17,keyasint,omitempty"`
}

// StateAccessReport is one kind of a subtask's keyed-state accesses
// (weir.StateAccessStats).
type StateAccessReport struct {
	Backend string        `cbor:"1,keyasint"`
	Op      string        `cbor:"2,keyasint"`
	P50     time.Duration `cbor:"3,keyasint,omitempty"`
	P99     time.Duration `cbor:"4,keyasint,omitempty"`
	Count   int64         `cbor:"5,keyasint,omitempty"`
}

// ChannelReport is how full the channels of one edge are in a worker
// (weir.ChannelFill); a view sums the workers'.
type ChannelReport struct {
	From     int `cbor:"1,keyasint"` // the operator IDs of the sender
	To       int `cbor:"2,keyasint"` // and of the receiver
	Queued   int `cbor:"3,keyasint,omitempty"`
	Capacity int `cbor:"4,keyasint,omitempty"`
}

// Exception is one failure of a worker's part of the job, for the job's
// exception history.
type Exception struct {
	// Time is when it failed, in Unix nanoseconds of the worker's clock.
	Time int64 `cbor:"1,keyasint"`
	// Worker and Nonce name the worker and its process; Seq numbers the
	// process's failures from 1.
	Worker string `cbor:"2,keyasint"`
	Nonce  uint64 `cbor:"3,keyasint"`
	Seq    uint64 `cbor:"4,keyasint"`
	// Epoch is the epoch that failed.
	Epoch int64 `cbor:"5,keyasint"`
	// Operator and Subtask name the failed subtask's chain; "" and -1
	// when the failure was not an operator's.
	Operator string `cbor:"6,keyasint,omitempty"`
	Subtask  int    `cbor:"7,keyasint"`
	Error    string `cbor:"8,keyasint"`
	Stack    string `cbor:"9,keyasint,omitempty"`
	// Restart is the coordinator's count of the restarts after failures,
	// for the restart that followed this one; 0 when the job gave up or
	// the coordinator that restarted it is gone. Set in views only.
	Restart int `cbor:"10,keyasint,omitempty"`
}

// Report is a worker's part of the job (worker → coordinator): its
// subtasks' metrics now, and its failures after the Have of the
// coordinator's last answer.
type Report struct {
	Epoch      int64           `cbor:"1,keyasint"`
	Worker     string          `cbor:"2,keyasint"`
	Nonce      uint64          `cbor:"3,keyasint"`
	Subtasks   []SubtaskReport `cbor:"4,keyasint,omitempty"`
	Exceptions []Exception     `cbor:"5,keyasint,omitempty"`
	Channels   []ChannelReport `cbor:"6,keyasint,omitempty"`
}

// ReportTaken answers Report: Have is the highest Seq of the worker
// process's failures the coordinator holds, so that the next report
// carries only newer ones (all of them, to a new coordinator).
type ReportTaken struct {
	Have uint64 `cbor:"1,keyasint"`
}

// ViewRequest asks the coordinator for the whole job's view (a worker
// whose user opened its UI → the coordinator).
type ViewRequest struct {
	Epoch int64 `cbor:"1,keyasint"`
}

// View is the whole job as the coordinator sees it: ViewRequest's answer.
type View struct {
	Epoch int64 `cbor:"1,keyasint"`
	// Subtasks are every worker's subtasks in the epoch, each with its
	// worker.
	Subtasks []SubtaskReport `cbor:"2,keyasint,omitempty"`
	// Exceptions are the job's failures, oldest first, the newest
	// maxExceptions.
	Exceptions  []Exception      `cbor:"3,keyasint,omitempty"`
	Checkpoints []CheckpointView `cbor:"4,keyasint,omitempty"`
	// Channels are the fill of every edge's channels, summed over the
	// workers.
	Channels []ChannelReport `cbor:"5,keyasint,omitempty"`
}

// CheckpointView is one checkpoint of the coordinator's statistics
// (checkpoint.Stat) on the wire: times in nanoseconds, tasks as a list.
type CheckpointView struct {
	ID       int64         `cbor:"1,keyasint"`
	Status   string        `cbor:"2,keyasint"`
	Started  int64         `cbor:"3,keyasint"` // Unix nanoseconds
	Duration time.Duration `cbor:"4,keyasint,omitempty"`
	Size     int64         `cbor:"5,keyasint,omitempty"`
	Failure  string        `cbor:"6,keyasint,omitempty"`
	Tasks    []TaskView    `cbor:"7,keyasint,omitempty"`
}

// TaskView is one task's part in a checkpoint: what it acknowledged, how
// long it aligned, when it took each step.
type TaskView struct {
	Chain     int            `cbor:"1,keyasint"`
	Subtask   int            `cbor:"2,keyasint"`
	Ack       *time.Duration `cbor:"3,keyasint,omitempty"`
	Alignment *time.Duration `cbor:"4,keyasint,omitempty"`
	Timing    *TimingView    `cbor:"5,keyasint,omitempty"`
}

// TimingView is checkpoint.TaskTiming on the wire.
type TimingView struct {
	Barrier     time.Duration `cbor:"1,keyasint,omitempty"`
	Aligned     time.Duration `cbor:"2,keyasint,omitempty"`
	Snapshotted time.Duration `cbor:"3,keyasint,omitempty"`
	Uploaded    time.Duration `cbor:"4,keyasint,omitempty"`
	Size        int64         `cbor:"5,keyasint,omitempty"`
}

// JobView is the whole job as a worker's UI shows it (Running.JobView).
type JobView struct {
	Subtasks    []SubtaskReport
	Exceptions  []Exception
	Checkpoints []checkpoint.Stat
	Channels    []ChannelReport
}

// Report sends m to the coordinator (see Ack) and returns its answer.
func (c *Client) Report(ctx context.Context, m Report) (ReportTaken, error) {
	var r ReportTaken
	err := c.callReply(ctx, "Report", m, &r)
	return r, err
}

// View asks the coordinator for the job's view (see Ack).
func (c *Client) View(ctx context.Context, m ViewRequest) (View, error) {
	var r View
	err := c.callReply(ctx, "View", m, &r)
	return r, err
}

// exceptions keeps a worker's failures, and, on the coordinator, the
// job's: what the reports brought and its own.
type exceptions struct {
	mu struct {
		sync.Mutex
		own  []Exception // this process's newest, oldest first
		seq  uint64      // the Seq of the newest of own
		sent uint64      // the coordinator holds own up to this Seq
		job  []Exception // the job's newest, oldest first
		// have is the newest Seq held of each worker process (ID and
		// nonce).
		have map[string]uint64
		// restarts is the restart that followed each failed epoch, as
		// this worker, coordinating, counted them; 0: it gave up.
		restarts map[int64]int
		count    int // restarts after failures this worker made
	}
}

func exceptionKey(worker string, nonce uint64) string { return fmt.Sprintf("%s/%016x", worker, nonce) }

// failed records a failure of this worker's part of epoch.
func (x *exceptions) failed(self string, nonce uint64, epoch int64, at time.Time, err error) Exception {
	e := Exception{Time: at.UnixNano(), Worker: self, Nonce: nonce, Epoch: epoch, Subtask: -1, Error: truncate(err.Error(), maxErrorText)}
	if oe, ok := errors.AsType[*runtime.OperatorError](err); ok {
		e.Operator, e.Subtask = oe.Operator, oe.Subtask
	}
	if pe, ok := errors.AsType[*runtime.PanicError](err); ok {
		e.Stack = truncate(string(pe.Stack), maxStackText)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.mu.seq++
	e.Seq = x.mu.seq
	x.mu.own = appendBounded(x.mu.own, e)
	return e
}

// unsent returns this process's failures the coordinator does not hold.
func (x *exceptions) unsent() []Exception {
	x.mu.Lock()
	defer x.mu.Unlock()
	var out []Exception
	for _, e := range x.mu.own {
		if e.Seq > x.mu.sent {
			out = append(out, e)
		}
	}
	return out
}

// taken notes that the coordinator holds this process's failures up to
// have: a new coordinator holds none, and gets them all again.
func (x *exceptions) taken(have uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.mu.sent = have
}

// merge adds a worker's failures to the job's history and returns the
// newest Seq it holds of that worker's process.
func (x *exceptions) merge(worker string, nonce uint64, es []Exception) uint64 {
	key := exceptionKey(worker, nonce)
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.mu.have == nil {
		x.mu.have = map[string]uint64{}
	}
	have, known := x.mu.have[key]
	if !known && len(x.mu.have) >= maxExceptionKeys {
		// Many processes came and went: forget the ones that left nothing
		// in the history (a worker forgotten by mistake resends, and
		// duplicates are skipped below).
		for k := range x.mu.have {
			if !slices.ContainsFunc(x.mu.job, func(e Exception) bool { return exceptionKey(e.Worker, e.Nonce) == k }) {
				delete(x.mu.have, k)
			}
		}
	}
	for _, e := range es {
		if e.Seq <= have || e.Worker != worker || e.Nonce != nonce {
			continue
		}
		e.Error, e.Stack, e.Restart = truncate(e.Error, maxErrorText), truncate(e.Stack, maxStackText), 0
		x.mu.job = insertByTime(x.mu.job, e)
		have = e.Seq
	}
	x.mu.have[key] = have
	return have
}

// restarted records what followed the failure of epoch: restart (true)
// or the end of the job.
func (x *exceptions) restarted(epoch int64, restart bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.mu.restarts == nil {
		x.mu.restarts = map[int64]int{}
	}
	if len(x.mu.restarts) >= 4*maxExceptions {
		for e := range x.mu.restarts {
			if e < epoch {
				delete(x.mu.restarts, e)
				break
			}
		}
	}
	n := 0
	if restart {
		x.mu.count++
		n = x.mu.count
	}
	x.mu.restarts[epoch] = n
}

// history returns the job's failures, oldest first, with the restart
// that followed each, and extra (this worker's own) merged in.
func (x *exceptions) history(extra []Exception) []Exception {
	x.mu.Lock()
	defer x.mu.Unlock()
	out := slices.Clone(x.mu.job)
	for _, e := range extra {
		if !slices.ContainsFunc(out, func(o Exception) bool { return o.Worker == e.Worker && o.Nonce == e.Nonce && o.Seq == e.Seq }) {
			out = insertByTime(out, e)
		}
	}
	for i := range out {
		if n, ok := x.mu.restarts[out[i].Epoch]; ok {
			out[i].Restart = n
		}
	}
	return out
}

// own returns this process's failures.
func (x *exceptions) own() []Exception {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.mu.own)
}

// insertByTime inserts e in list, sorted by time, keeping the newest
// maxExceptions.
func insertByTime(list []Exception, e Exception) []Exception {
	i, _ := slices.BinarySearchFunc(list, e, func(a, b Exception) int {
		return cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.Worker, b.Worker), cmp.Compare(a.Seq, b.Seq))
	})
	list = slices.Insert(list, i, e)
	if len(list) > maxExceptions {
		list = slices.Delete(list, 0, len(list)-maxExceptions)
	}
	return list
}

func appendBounded(list []Exception, e Exception) []Exception {
	if len(list) == maxExceptions {
		list = slices.Delete(list, 0, 1)
	}
	return append(list, e)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// boundSubtasks applies the report's bounds to subtasks, in place.
func boundSubtasks(subs []SubtaskReport) []SubtaskReport {
	subs = subs[:min(len(subs), maxSubtaskReports)]
	for i := range subs {
		subs[i].Splits = subs[i].Splits[:min(len(subs[i].Splits), maxSplitsReported)]
	}
	return subs
}

// noteFailure records that this worker's part of epoch ep failed.
func (w *worker) noteFailure(ep *epoch, err error) {
	w.exceptions.failed(w.self.ID, w.nonce, ep.id, time.Now(), err)
}

// localSubtasks returns this worker's subtasks, each with its ID.
func (w *worker) localSubtasks() []SubtaskReport {
	if w.spec.Subtasks == nil {
		return nil
	}
	subs := boundSubtasks(w.spec.Subtasks())
	for i := range subs {
		subs[i].Worker = w.self.ID
	}
	return subs
}

// localChannels returns the fill of this worker's channels.
func (w *worker) localChannels() []ChannelReport {
	if w.spec.Channels == nil {
		return nil
	}
	chs := w.spec.Channels()
	return chs[:min(len(chs), maxChannelReports)]
}

// sumChannels adds the fill of more to the edges of sum, in place; an
// edge sum does not have yet is appended.
func sumChannels(sum, more []ChannelReport) []ChannelReport {
	for _, c := range more {
		i := slices.IndexFunc(sum, func(s ChannelReport) bool { return s.From == c.From && s.To == c.To })
		if i < 0 {
			if len(sum) < maxChannelReports {
				sum = append(sum, c)
			}
			continue
		}
		sum[i].Queued += c.Queued
		sum[i].Capacity += c.Capacity
	}
	return sum
}

// reportLoop reports this worker's part of epoch ep to the coordinator
// until the epoch ends here; the last report follows the end of its
// tasks, with their final counts.
func (w *worker) reportLoop(ep *epoch) {
	t := time.NewTicker(reportInterval)
	defer t.Stop()
	for {
		select {
		case <-ep.ctx.Done():
			return
		case <-ep.ended:
			w.report(ep)
			return
		case <-t.C:
			if ep.ready.Load() {
				w.report(ep)
			}
		}
	}
}

// report sends one report; a report that fails is only logged: the next
// one replaces it.
func (w *worker) report(ep *epoch) {
	ctx, cancel := context.WithTimeout(ep.ctx, reportInterval)
	defer cancel()
	cl, err := w.coordinatorClient()
	var r ReportTaken
	if err == nil {
		r, err = cl.Report(ctx, Report{Epoch: ep.id, Worker: w.self.ID, Nonce: w.nonce, Subtasks: w.localSubtasks(),
			Exceptions: w.exceptions.unsent(), Channels: w.localChannels()})
	}
	if err != nil {
		if ep.ctx.Err() == nil && !errors.Is(err, ErrStaleEpoch) {
			w.log.Debug("cluster: a report did not reach the coordinator", "epoch", ep.id, "err", err)
		}
		return
	}
	w.exceptions.taken(r.Have)
}

// Report takes a worker's report: the coordinator's handler.
func (w *worker) Report(ctx context.Context, m Report) (ReportTaken, error) {
	ep := w.currentEpoch()
	if ep == nil || ep.id != m.Epoch {
		return ReportTaken{}, ErrNotReady
	}
	if !ep.gen.IsCoordinator() {
		return ReportTaken{}, fmt.Errorf("cluster: worker %s does not coordinate the job (%s does since generation %d)", w.self.ID, ep.gen.Coordinator, ep.gen.ID)
	}
	if _, ok := ep.gen.Assignment.Worker(m.Worker); !ok {
		return ReportTaken{}, fmt.Errorf("cluster: worker %q is not a member of generation %d", m.Worker, ep.gen.ID)
	}
	subs := boundSubtasks(m.Subtasks)
	for i := range subs {
		subs[i].Worker = m.Worker
	}
	ep.mu.Lock()
	if ep.reports == nil {
		ep.reports = map[string]Report{}
	}
	ep.reports[m.Worker] = Report{Subtasks: subs, Channels: m.Channels[:min(len(m.Channels), maxChannelReports)]}
	ep.mu.Unlock()
	return ReportTaken{Have: w.exceptions.merge(m.Worker, m.Nonce, m.Exceptions)}, nil
}

// View answers another worker's question for the job's view: the
// coordinator's handler.
func (w *worker) View(ctx context.Context, m ViewRequest) (View, error) {
	g := w.generation()
	if !g.IsCoordinator() {
		return View{}, fmt.Errorf("cluster: worker %s does not coordinate the job (%s does since generation %d): ask again", w.self.ID, g.Coordinator, g.ID)
	}
	v := w.coordinatorView()
	return View{Epoch: w.srv.Epoch(), Subtasks: v.Subtasks, Exceptions: v.Exceptions, Checkpoints: checkpointViews(v.Checkpoints), Channels: v.Channels}, nil
}

// coordinatorView is the job's view on its coordinator.
func (w *worker) coordinatorView() JobView {
	// Its own failures, also those of a time when it did not coordinate.
	v := JobView{Subtasks: w.localSubtasks(), Exceptions: w.exceptions.history(w.exceptions.own()), Channels: w.localChannels()}
	if ep := w.currentEpoch(); ep != nil {
		ep.mu.Lock()
		for _, ws := range ep.gen.Assignment.Workers {
			if r, ok := ep.reports[ws.ID]; ok && ws.ID != w.self.ID {
				v.Subtasks = append(v.Subtasks, r.Subtasks...)
				v.Channels = sumChannels(v.Channels, r.Channels)
			}
		}
		ep.mu.Unlock()
	}
	sortSubtasks(v.Subtasks)
	v.Subtasks = v.Subtasks[:min(len(v.Subtasks), maxSubtaskReports)]
	if st := w.job.Stats(); st != nil {
		v.Checkpoints = st.Recent()
	}
	return v
}

// JobView returns the whole job's view: Running.JobView. Its slices are
// shared with other callers: do not modify them.
func (w *worker) JobView(ctx context.Context) (JobView, error) {
	g := w.generation()
	if g.IsCoordinator() {
		return w.coordinatorView(), nil
	}
	w.view.mu.Lock()
	defer w.view.mu.Unlock()
	if !w.view.at.IsZero() && time.Since(w.view.at) < viewFresh {
		return w.view.view, w.view.err
	}
	v, err := w.askView(ctx, g)
	w.view.at, w.view.view, w.view.err = time.Now(), v, err
	return v, err
}

// askView asks the coordinator of generation g for the job's view; when it
// cannot, it returns this worker's own part and why.
func (w *worker) askView(ctx context.Context, g Generation) (JobView, error) {
	own := JobView{Subtasks: w.localSubtasks(), Exceptions: w.exceptions.own()}
	if g.Coordinator == "" {
		return own, errors.New("cluster: the worker has not joined its cluster yet")
	}
	ctx, cancel := context.WithTimeout(ctx, viewTimeout)
	defer cancel()
	cl, err := w.coordinatorClient()
	var r View
	if err == nil {
		epoch := w.srv.Epoch()
		if epoch>>16 < int64(g.ID) {
			epoch = epochID(g.ID, 0)
		}
		r, err = cl.View(ctx, ViewRequest{Epoch: epoch})
	}
	if err != nil {
		return own, fmt.Errorf("cluster: the job's view, asked of coordinator %s: %w", g.Coordinator, err)
	}
	// This worker's own subtasks are fresher here than in its last report,
	// and its newest failures may not have reached the coordinator yet.
	v := JobView{Subtasks: own.Subtasks, Checkpoints: checkpointStats(r.Checkpoints), Channels: r.Channels}
	for _, s := range r.Subtasks {
		if s.Worker != w.self.ID {
			v.Subtasks = append(v.Subtasks, s)
		}
	}
	sortSubtasks(v.Subtasks)
	v.Exceptions = r.Exceptions
	for _, e := range own.Exceptions {
		if !slices.ContainsFunc(v.Exceptions, func(o Exception) bool { return o.Worker == e.Worker && o.Nonce == e.Nonce && o.Seq == e.Seq }) {
			v.Exceptions = insertByTime(v.Exceptions, e)
		}
	}
	return v, nil
}

func sortSubtasks(subs []SubtaskReport) {
	slices.SortStableFunc(subs, func(a, b SubtaskReport) int {
		return cmp.Or(cmp.Compare(a.Operator, b.Operator), cmp.Compare(a.Subtask, b.Subtask))
	})
}

// checkpointViews puts the newest maxCheckpointsView checkpoints on the
// wire, with per-task details for the newest maxTimedViewed only.
func checkpointViews(stats []checkpoint.Stat) []CheckpointView {
	stats = stats[max(0, len(stats)-maxCheckpointsView):]
	out := make([]CheckpointView, 0, len(stats))
	for i, s := range stats {
		cv := CheckpointView{ID: s.ID, Status: s.Status, Started: s.Started.UnixNano(), Duration: s.Duration, Size: s.Size, Failure: s.Failure}
		if i >= len(stats)-maxTimedViewed {
			tasks := map[checkpoint.TaskID]*TaskView{}
			task := func(id checkpoint.TaskID) *TaskView {
				if tasks[id] == nil {
					tasks[id] = &TaskView{Chain: id.Chain, Subtask: id.Subtask}
				}
				return tasks[id]
			}
			for id, d := range s.Acks {
				task(id).Ack = &d
			}
			for id, d := range s.Alignments {
				task(id).Alignment = &d
			}
			for id, tm := range s.Tasks {
				task(id).Timing = &TimingView{Barrier: tm.Barrier, Aligned: tm.Aligned, Snapshotted: tm.Snapshotted, Uploaded: tm.Uploaded, Size: tm.Size}
			}
			for _, t := range tasks {
				cv.Tasks = append(cv.Tasks, *t)
			}
			slices.SortFunc(cv.Tasks, func(a, b TaskView) int {
				return cmp.Or(cmp.Compare(a.Chain, b.Chain), cmp.Compare(a.Subtask, b.Subtask))
			})
		}
		out = append(out, cv)
	}
	return out
}

// checkpointStats turns checkpointViews' answer back into statistics.
func checkpointStats(cvs []CheckpointView) []checkpoint.Stat {
	out := make([]checkpoint.Stat, 0, len(cvs))
	for _, cv := range cvs {
		s := checkpoint.Stat{ID: cv.ID, Status: cv.Status, Started: time.Unix(0, cv.Started), Duration: cv.Duration, Size: cv.Size, Failure: cv.Failure}
		for _, t := range cv.Tasks {
			id := checkpoint.TaskID{Chain: t.Chain, Subtask: t.Subtask}
			if t.Ack != nil {
				if s.Acks == nil {
					s.Acks = map[checkpoint.TaskID]time.Duration{}
				}
				s.Acks[id] = *t.Ack
			}
			if t.Alignment != nil {
				if s.Alignments == nil {
					s.Alignments = map[checkpoint.TaskID]time.Duration{}
				}
				s.Alignments[id] = *t.Alignment
			}
			if tm := t.Timing; tm != nil {
				if s.Tasks == nil {
					s.Tasks = map[checkpoint.TaskID]checkpoint.TaskTiming{}
				}
				s.Tasks[id] = checkpoint.TaskTiming{Barrier: tm.Barrier, Aligned: tm.Aligned, Snapshotted: tm.Snapshotted, Uploaded: tm.Uploaded, Size: tm.Size}
			}
		}
		out = append(out, s)
	}
	return out
}
