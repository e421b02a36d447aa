package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/source"
)

// finalCommitTimeout bounds the commit a reader makes when it closes in a
// job without checkpoints.
const finalCommitTimeout = 5 * time.Second

// maxSnapshots bounds the positions a reader keeps for checkpoints that
// have not completed yet; older ones are dropped (a checkpoint that never
// completes is overtaken by a later one).
const maxSnapshots = 16

// reader consumes the partitions assigned to one subtask with a Kafka
// client of its own, as a direct (not group) consumer at exact offsets.
//
// It tracks, per partition, the offset after the last record or
// transaction marker it went past. The client keeps control records (the
// markers of transactions) so that this offset moves past them: a bounded
// partition whose last records before its stop offset are a commit or
// abort marker is seen to be finished. Records of aborted transactions are
// dropped by the client; should a bounded partition end with such records,
// whose abort marker lies past the stop offset, the split finishes when
// the marker (or any later record) is read.
type reader[T any] struct {
	src  *Source[T]
	rctx source.ReaderContext
	log  *slog.Logger // WithLogger's, or the job's for this subtask

	cl  *kgo.Client
	adm *kadm.Client
	com *committer // nil without a Group

	checkpointing bool
	parts         map[topicPartition]*partState
	order         []*partState // in assignment order; finished ones too
	active        int          // unfinished partitions
	release       []string     // finished outside Poll: released at the next Poll
	register      []string     // assigned since the last Poll: registered at the next
	noMore        bool
	ended         bool  // Poll returned EndOfInput: every split was read to its end
	err           error // a problem found outside Poll, returned by the next Poll
	closed        bool

	// progress is the progress of every partition in order, for
	// AppendSplitProgress on other goroutines; replaced (not changed) when
	// the partitions change.
	progress atomic.Pointer[[]*partProgress]

	// pending is what the reader took from the client and has not
	// emitted yet: the rest of one fetch, partition by partition. The
	// reader takes every record the client has buffered at once, because
	// franz-go sends the next fetch request only when its buffer is
	// empty: the broker serves, and the client decodes, the next fetch
	// while the task emits this one. Positions (and so checkpoints) move
	// only as records are emitted.
	pending []pendingRecords

	snapshots  []snapshotPositions // oldest first
	moved      bool                // positions moved since the last interval commit
	lastCommit time.Time
	loggedDead bool
}

// partState is a partition a reader was given.
type partState struct {
	split    Split // Offset is the next offset to read
	id       string
	finished bool
	progress *partProgress
}

// partProgress is what other goroutines may read of a partition: its
// position and end, updated once per fetched batch of the partition.
type partProgress struct {
	id  string
	pos atomic.Int64 // the next offset to read
	// end is the offset up to which the partition can be read: the stop
	// offset of a bounded split; otherwise the last stable offset of the
	// latest fetch that brought records of it, -1 before the first.
	end atomic.Int64
}

func newPartProgress(sp *Split) *partProgress {
	p := &partProgress{id: sp.SplitID()}
	p.pos.Store(sp.Offset)
	p.end.Store(sp.Stop) // NoStop (-1) is "not known yet"
	return p
}

// get returns the partition's progress; the lag is never negative
// (pos and end are read one after the other, not at once).
func (p *partProgress) get() source.SplitProgress {
	pos, end := p.pos.Load(), p.end.Load()
	lag := int64(-1)
	if end >= 0 {
		lag = max(end-pos, 0)
	}
	return source.SplitProgress{Split: p.id, Position: pos, Lag: lag}
}

// pendingRecords are fetched records of one partition that the reader has
// not emitted yet.
type pendingRecords struct {
	p    *partState // the partition they were fetched for
	recs []*kgo.Record
}

// snapshotPositions are the offsets a reader snapshotted for a checkpoint.
type snapshotPositions struct {
	id      int64
	offsets kadm.Offsets
}

var (
	_ source.Reader[string]     = (*reader[string])(nil)
	_ source.CheckpointListener = (*reader[string])(nil)
	_ source.ProgressReporter   = (*reader[string])(nil)
)

func newReader[T any](s *Source[T], ctx source.ReaderContext) *reader[T] {
	log := s.log
	if !s.cfg.logSet {
		log = source.LoggerOf(ctx, s.log)
	}
	return &reader[T]{src: s, rctx: ctx, log: log, parts: map[topicPartition]*partState{}}
}

// Start connects, and consumes the partitions added so far.
func (r *reader[T]) Start(ctx context.Context) error {
	if r.closed {
		return source.ErrClosed
	}
	opts := append(r.src.cfg.client.Opts(),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		// A position below the log start (retention deleted it) resumes
		// at the log start: nothing that still exists is skipped.
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		// Bound how long a fetch that waits for data holds up partitions
		// added meanwhile (Kafka's own default).
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("kafka: source reader %d: create the client: %w", r.rctx.Subtask(), err)
	}
	r.cl, r.adm = cl, kadm.NewClient(cl)
	r.checkpointing = r.rctx.Checkpointing()
	if r.src.cfg.group != "" && (r.checkpointing || r.src.cfg.commitInterval > 0) {
		r.com = startCommitter(ctx, r.adm, r.src.cfg.group, r.log)
	}
	r.lastCommit = time.Now()
	r.consume(r.order)
	return nil
}

// consume makes the client fetch the unfinished partitions of ps from
// their offsets.
func (r *reader[T]) consume(ps []*partState) {
	if r.cl == nil {
		return
	}
	add := map[string]map[int32]kgo.Offset{}
	for _, p := range ps {
		if p.finished {
			continue
		}
		if add[p.split.Topic] == nil {
			add[p.split.Topic] = map[int32]kgo.Offset{}
		}
		add[p.split.Topic][p.split.Partition] = kgo.NewOffset().At(p.split.Offset)
	}
	if len(add) > 0 {
		r.cl.AddConsumePartitions(add)
	}
}

// AddSplits starts consuming the given partitions at their offsets. A
// bounded split that is already at its stop offset finishes at once.
func (r *reader[T]) AddSplits(splits []source.Split) {
	var added []*partState
	for _, sp := range splits {
		ks, ok := sp.(*Split)
		if !ok || ks.known {
			r.err = fmt.Errorf("kafka: source reader %d got split %q of type %T: give a Kafka source only the splits its own enumerator made", r.rctx.Subtask(), sp.SplitID(), sp)
			continue
		}
		if p := r.parts[ks.tp()]; p != nil && !p.finished {
			r.err = fmt.Errorf("kafka: source reader %d got partition %s twice; this is a bug in the enumerator", r.rctx.Subtask(), ks.SplitID())
			continue
		}
		p := &partState{split: *ks, id: ks.SplitID(), progress: newPartProgress(ks)}
		if old := r.parts[ks.tp()]; old != nil {
			r.order = deleteState(r.order, old)
		}
		r.parts[ks.tp()] = p
		r.order = append(r.order, p)
		if p.split.finished() {
			p.finished = true
			r.release = append(r.release, p.id)
			continue
		}
		r.active++
		added = append(added, p)
		r.register = append(r.register, p.id)
	}
	r.consume(added)
	r.publishProgress()
}

// publishProgress publishes the partitions' progress in assignment order.
func (r *reader[T]) publishProgress() {
	ps := make([]*partProgress, len(r.order))
	for i, p := range r.order {
		ps[i] = p.progress
	}
	r.progress.Store(&ps)
}

// AppendSplitProgress implements source.ProgressReporter: per partition
// it was given, in assignment order, the next offset to read and the
// consumer lag. The lag counts offsets up to the partition's last stable
// offset (the reader reads committed records only, so the high watermark
// may be past what it can read) as of the latest fetch that brought
// records of the partition, so it counts transaction markers and aborted
// records too, as Kafka's consumer lag does. A bounded partition's lag
// counts up to its stop offset. An unbounded partition that no fetch has
// brought records of yet has lag -1 (unknown), also one that is empty.
func (r *reader[T]) AppendSplitProgress(dst []source.SplitProgress) []source.SplitProgress {
	ps := r.progress.Load()
	if ps == nil {
		return dst
	}
	for _, p := range *ps {
		dst = append(dst, p.get())
	}
	return dst
}

func deleteState(ps []*partState, p *partState) []*partState {
	for i, q := range ps {
		if q == p {
			return append(ps[:i], ps[i+1:]...)
		}
	}
	return ps
}

// NoMoreSplits lets the reader end once its partitions are finished.
func (r *reader[T]) NoMoreSplits() { r.noMore = true }

// Poll emits up to maxPollRecords records that the client has fetched,
// each through its partition's output, waiting up to pollWait for some
// when none are buffered.
func (r *reader[T]) Poll(ctx context.Context, out source.Output[T]) (source.Status, error) {
	if r.closed {
		return source.EndOfInput, source.ErrClosed
	}
	if r.err != nil {
		return source.EndOfInput, r.err
	}
	splitOuts, _ := out.(source.SplitOutputs[T])
	if splitOuts != nil {
		// A partition holds the watermark back from its assignment on,
		// not from its first record: the first fetches may bring records
		// of some partitions only, and the others' must not be late.
		for _, id := range r.register {
			splitOuts.ForSplit(id)
		}
		for _, id := range r.release {
			splitOuts.ReleaseSplit(id)
		}
	}
	r.register = r.register[:0]
	r.release = r.release[:0]
	r.maybeCommit()
	if r.active == 0 {
		r.pending = r.pending[:0]
		if r.noMore {
			r.ended = true
			return source.EndOfInput, nil
		}
		return source.NothingAvailable, nil
	}
	if len(r.pending) == 0 {
		if err := r.take(ctx); err != nil {
			r.err = err
			return source.EndOfInput, err
		}
	}
	dead, _ := out.(source.DeadLetterOutput)
	n, budget, finished := 0, maxPollRecords, false
	for budget > 0 && len(r.pending) > 0 {
		pr := &r.pending[0]
		p := pr.p
		if p.finished {
			// A bounded partition that reached its stop offset: the
			// rest of its records are past it.
			r.popPending()
			continue
		}
		recs := pr.recs
		if len(recs) > budget {
			recs = recs[:budget]
		}
		pr.recs = pr.recs[len(recs):]
		budget -= len(recs)
		var o source.Output[T] = out
		if splitOuts != nil {
			o = splitOuts.ForSplit(p.id)
		}
		n += r.emit(p, recs, o, dead)
		if p.finished {
			finished = true
			if splitOuts != nil {
				splitOuts.ReleaseSplit(p.id)
			}
		}
		if len(pr.recs) == 0 || p.finished {
			r.popPending()
		}
	}
	if n > 0 || finished || len(r.pending) > 0 {
		return source.MoreAvailable, nil
	}
	return source.NothingAvailable, nil
}

// take takes every record the client has buffered into r.pending, waiting
// up to pollWait for some when it has none, and notes each unbounded
// partition's end. It returns the error that fails the job, if a fetch
// brought one.
func (r *reader[T]) take(ctx context.Context) error {
	var fetches kgo.Fetches
	if r.cl.BufferedFetchRecords() > 0 {
		fetches = r.cl.PollFetches(ctx)
	} else {
		wctx, cancel := context.WithTimeout(ctx, pollWait)
		fetches = r.cl.PollFetches(wctx)
		cancel()
	}
	for i := range fetches {
		f := &fetches[i]
		for j := range f.Topics {
			t := &f.Topics[j]
			for k := range t.Partitions {
				fp := &t.Partitions[k]
				if fp.Err != nil {
					if err := r.fetchError(ctx, t.Topic, fp); err != nil {
						return err
					}
				}
				if len(fp.Records) == 0 {
					continue
				}
				p := r.parts[topicPartition{t.Topic, fp.Partition}]
				if p == nil || p.finished {
					continue // fetched before the partition finished
				}
				if p.split.Stop == NoStop {
					// With read_committed the last stable offset is
					// where reading ends for now; brokers too old to
					// send it (fetch < v4) answer -1.
					end := fp.LastStableOffset
					if end < 0 {
						end = fp.HighWatermark
					}
					p.progress.end.Store(end)
				}
				r.pending = append(r.pending, pendingRecords{p: p, recs: fp.Records})
			}
		}
	}
	return nil
}

// popPending drops the first of r.pending, letting go of its records.
func (r *reader[T]) popPending() {
	r.pending[0] = pendingRecords{}
	r.pending = r.pending[1:]
}

// emit emits the records of one partition, in order, and moves its
// position past them. It stops at a bounded partition's stop offset.
func (r *reader[T]) emit(p *partState, recs []*kgo.Record, out source.Output[T], dead source.DeadLetterOutput) int {
	n := 0
	stop := p.split.Stop
	for _, rec := range recs {
		if stop != NoStop && rec.Offset >= stop {
			r.finish(p)
			break
		}
		p.split.Offset = rec.Offset + 1
		if !rec.Attrs.IsControl() {
			v, err := r.src.deserialize(rec)
			if err != nil {
				r.deadLetter(p, rec, err, dead)
			} else {
				out.CollectAt(v, rec.Timestamp.UnixMilli())
				n++
			}
		}
		if stop != NoStop && p.split.Offset >= stop {
			r.finish(p)
			break
		}
	}
	if !p.finished {
		p.progress.pos.Store(p.split.Offset)
	}
	r.moved = true
	return n
}

// finish ends a bounded partition: the client stops fetching it. Its
// progress is at its end: a record at or past the stop offset (after
// aborted records the client dropped) ends it below the stop offset.
func (r *reader[T]) finish(p *partState) {
	p.progress.pos.Store(max(p.split.Offset, p.split.Stop))
	p.finished = true
	r.active--
	r.cl.RemoveConsumePartitions(map[string][]int32{p.split.Topic: {p.split.Partition}})
}

// deadLetter sends a record the deserializer rejected to the job's dead
// letters, and counts it.
func (r *reader[T]) deadLetter(p *partState, rec *kgo.Record, err error, dead source.DeadLetterOutput) {
	r.src.deadLetters.Add(1)
	if dead != nil {
		dead.DeadLetter(source.DeadLetter{
			Split:    p.id,
			Position: strconv.FormatInt(rec.Offset, 10),
			Raw:      rec.Value,
			Reason:   err.Error(),
		})
		return
	}
	if !r.loggedDead {
		r.loggedDead = true
		r.log.Warn("kafka: the deserializer rejected a record; this output takes no dead letters, so such records are only counted (Source.DeadLetters)",
			"partition", p.id, "offset", rec.Offset, "err", err)
	}
}

// fetchError returns the error that fails the job for a partition error
// of a fetch, or nil for one the reader gets past.
func (r *reader[T]) fetchError(ctx context.Context, topic string, fp *kgo.FetchPartition) error {
	var loss *kgo.ErrDataLoss
	switch {
	case topic == "" && (errors.Is(fp.Err, context.DeadlineExceeded) || errors.Is(fp.Err, context.Canceled)):
		if errors.Is(fp.Err, context.Canceled) && ctx.Err() != nil {
			return ctx.Err()
		}
		return nil // the end of Poll's wait
	case errors.As(fp.Err, &loss):
		r.log.Warn("kafka: the broker lost data the reader had read or was about to read; the reader goes on from where the client resumed", "partition", splitID(topic, fp.Partition), "err", fp.Err)
		return nil
	case errors.Is(fp.Err, kgo.ErrClientClosed):
		return fmt.Errorf("kafka: source reader %d: %w", r.rctx.Subtask(), fp.Err)
	default:
		return fmt.Errorf("kafka: source reader %d: fetch %s: %w", r.rctx.Subtask(), splitID(topic, fp.Partition), fp.Err)
	}
}

// positions returns the next offset of every partition the reader was
// given, finished ones included.
func (r *reader[T]) positions() kadm.Offsets {
	o := make(kadm.Offsets)
	for _, p := range r.order {
		o.AddOffset(p.split.Topic, p.split.Partition, p.split.Offset, -1)
	}
	return o
}

// maybeCommit commits the positions every CommitInterval when the job
// takes no checkpoints.
func (r *reader[T]) maybeCommit() {
	if r.com == nil || r.checkpointing || !r.moved {
		return
	}
	if now := time.Now(); now.Sub(r.lastCommit) >= r.src.cfg.commitInterval {
		r.com.submit(r.positions())
		r.lastCommit, r.moved = now, false
	}
}

// Snapshot returns the unfinished partitions at their positions, and keeps
// the positions of all partitions to commit when checkpoint id completes.
func (r *reader[T]) Snapshot(id int64) ([]source.Split, error) {
	if r.closed {
		return nil, source.ErrClosed
	}
	out := make([]source.Split, 0, r.active)
	for _, p := range r.order {
		if !p.finished {
			out = append(out, p.split.clone())
		}
	}
	if r.src.cfg.group != "" {
		if len(r.snapshots) == maxSnapshots {
			r.snapshots = append(r.snapshots[:0], r.snapshots[1:]...)
		}
		r.snapshots = append(r.snapshots, snapshotPositions{id: id, offsets: r.positions()})
	}
	return out, nil
}

// NotifyCheckpointComplete commits to the Group the positions snapshotted
// for checkpoint id (or the latest before it, when the reader took no
// snapshot for id), and forgets those of earlier checkpoints. The commit
// runs in the background; a failure is logged.
func (r *reader[T]) NotifyCheckpointComplete(_ context.Context, id int64) error {
	i := 0
	for i < len(r.snapshots) && r.snapshots[i].id <= id {
		i++
	}
	if i == 0 {
		return nil
	}
	offsets := r.snapshots[i-1].offsets
	r.snapshots = append(r.snapshots[:0], r.snapshots[i:]...)
	if r.com != nil {
		r.com.submit(offsets)
	}
	return nil
}

// Close stops the client. In a job without checkpoints, and after the
// end of a bounded input, it first commits the positions to the Group,
// waiting up to 5 s: no later checkpoint would, and lag tools would show
// a finished job behind. (The job restores from its checkpoints, not from
// the group, so a group ahead of them is harmless.)
func (r *reader[T]) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.com != nil {
		r.com.stop()
		if (!r.checkpointing || r.ended) && r.moved {
			ctx, cancel := context.WithTimeout(context.Background(), finalCommitTimeout)
			r.com.commit(ctx, r.positions())
			cancel()
		}
	}
	if r.cl != nil {
		r.cl.Close()
	}
	return nil
}
