package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirstream/weir/source"
)

// enumerator finds the partitions of the source's topics and assigns each
// to its owner's reader (see owner). It pushes splits: readers need not
// ask.
//
// Invariants:
//
//  1. Every partition the enumerator ever found, or was given back, is in
//     mu.known, and stays there. A partition is assigned at most once per
//     run: pending holds those found or given back and not assigned yet.
//  2. Assignments from the discovery goroutine happen under mu, and so
//     does Snapshot: an assignment is either wholly before a snapshot
//     (the split reaches the reader's mailbox before the checkpoint's
//     marker, so the reader's snapshot holds it) or after it (the split
//     is in the enumerator's snapshot). In the second case the reader may
//     also get it before the marker and hold it in its snapshot; on
//     restore the reader's copy, added back with AddSplitsBack, replaces
//     the enumerator's, which is never further along.
//  3. Snapshot returns the pending splits and a known-partition marker for
//     every other known partition. A restored enumerator hands out only
//     the pending splits and those added back, and discovers only
//     partitions that were not known: a partition a reader finished
//     before the checkpoint is not read again.
type enumerator[T any] struct {
	src  *Source[T]
	ectx source.EnumeratorContext
	log  *slog.Logger
	// restoring is true when the job restores a checkpoint: the splits
	// come from it instead of from a fresh discovery.
	restoring bool

	mu struct {
		sync.Mutex
		known   map[topicPartition]bool
		pending []*Split
		started bool
		closed  bool
	}

	cl     *kgo.Client
	adm    *kadm.Client
	cancel context.CancelFunc // stops discovery
	done   chan struct{}      // closed when discovery stopped; nil if never started
}

var _ source.SnapshottingEnumerator = (*enumerator[string])(nil)

func newEnumerator[T any](s *Source[T], ctx source.EnumeratorContext) (*enumerator[T], error) {
	e := &enumerator[T]{src: s, ectx: ctx, log: s.log}
	e.mu.known = map[topicPartition]bool{}
	rc, ok := ctx.(source.RestoringContext)
	if !ok {
		return e, nil
	}
	restored, ok := rc.Restored()
	if !ok {
		return e, nil
	}
	e.restoring = true
	for _, sp := range restored {
		ks, ok := sp.(*Split)
		if !ok {
			return nil, fmt.Errorf("kafka: the checkpoint holds split %q of type %T, which is not a Kafka split: restore it with the source that wrote it", sp.SplitID(), sp)
		}
		e.mu.known[ks.tp()] = true
		if !ks.known {
			e.mu.pending = append(e.mu.pending, ks.clone())
		}
	}
	return e, nil
}

// Start connects, finds the partitions and where each starts (unless the
// job restores a checkpoint), assigns them, and in an unbounded source
// starts discovery. A bounded source tells every reader that no more
// splits follow. An error here (unknown topic, unreachable cluster) fails
// the job's start.
func (e *enumerator[T]) Start(ctx context.Context) error {
	e.mu.Lock()
	closed := e.mu.closed
	e.mu.Unlock()
	if closed {
		return source.ErrClosed
	}
	cl, err := kgo.NewClient(e.src.cfg.client.Opts()...)
	if err != nil {
		return fmt.Errorf("kafka: source: create the client: %w", err)
	}
	e.cl, e.adm = cl, kadm.NewClient(cl)
	if !e.restoring {
		parts, err := e.discover(ctx, true)
		if err != nil {
			return err
		}
		splits, err := resolve(ctx, e.adm, e.src.cfg.start, e.src.cfg.group, e.src.cfg.bounded, parts)
		if err != nil {
			return err
		}
		if len(splits) == 0 {
			e.log.Warn("kafka: the source found no partitions to read", "source", e.src.String())
		}
		e.mu.Lock()
		for _, s := range splits {
			if !e.mu.known[s.tp()] {
				e.mu.known[s.tp()] = true
				e.mu.pending = append(e.mu.pending, s)
			}
		}
		e.mu.Unlock()
	}
	e.mu.Lock()
	e.mu.started = true
	e.assignLocked()
	e.mu.Unlock()
	if e.src.cfg.bounded {
		for i := range e.ectx.Parallelism() {
			e.ectx.NoMoreSplits(i)
		}
		return nil
	}
	if e.src.cfg.discoveryInterval > 0 {
		dctx, cancel := context.WithCancel(ctx)
		e.cancel, e.done = cancel, make(chan struct{})
		go e.discoverLoop(dctx)
	}
	return nil
}

// assignLocked gives every pending split to its owner, one Assign per
// reader.
func (e *enumerator[T]) assignLocked() {
	if len(e.mu.pending) == 0 {
		return
	}
	p := e.ectx.Parallelism()
	by := make([][]source.Split, p)
	slices.SortFunc(e.mu.pending, func(a, b *Split) int { return compareTP(a.tp(), b.tp()) })
	for _, s := range e.mu.pending {
		o := owner(s.Topic, s.Partition, p)
		by[o] = append(by[o], s)
	}
	e.mu.pending = nil
	for i, splits := range by {
		if len(splits) > 0 {
			e.ectx.Assign(i, splits...)
		}
	}
}

// discoverLoop looks for new partitions every DiscoveryInterval until ctx
// is done. A restored enumerator looks at once: partitions may have been
// added while the job was down.
func (e *enumerator[T]) discoverLoop(ctx context.Context) {
	defer close(e.done)
	if e.restoring {
		e.discoverNew(ctx)
	}
	t := time.NewTicker(e.src.cfg.discoveryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.discoverNew(ctx)
		}
	}
}

// discoverNew assigns the partitions that appeared since the last look;
// they start at their earliest offset. A failure is logged and retried at
// the next look.
func (e *enumerator[T]) discoverNew(ctx context.Context) {
	parts, err := e.discover(ctx, false)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("kafka: partition discovery failed; retrying at the next interval", "source", e.src.String(), "err", err)
		}
		return
	}
	e.mu.Lock()
	parts = slices.DeleteFunc(parts, func(tp topicPartition) bool { return e.mu.known[tp] })
	e.mu.Unlock()
	if len(parts) == 0 {
		return
	}
	splits, err := resolve(ctx, e.adm, Earliest(), "", false, parts)
	if err != nil {
		if ctx.Err() == nil {
			e.log.Warn("kafka: could not find where new partitions start; retrying at the next interval", "source", e.src.String(), "partitions", len(parts), "err", err)
		}
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mu.closed {
		return
	}
	n := 0
	for _, s := range splits {
		if !e.mu.known[s.tp()] {
			e.mu.known[s.tp()] = true
			e.mu.pending = append(e.mu.pending, s)
			n++
		}
	}
	if n > 0 {
		e.log.Info("kafka: found new partitions; reading them from the earliest offset", "source", e.src.String(), "partitions", n)
		e.assignLocked()
	}
}

// discoverAttempts bounds the tries of the first discovery when Kafka
// answers with a retriable error (a leader election).
const discoverAttempts = 20

// discover returns the partitions of the source's topics, sorted. On the
// first call (first), a topic in Topics that does not exist is an error;
// later it is skipped.
func (e *enumerator[T]) discover(ctx context.Context, first bool) ([]topicPartition, error) {
	for attempt := 1; ; attempt++ {
		parts, err := e.discoverOnce(ctx, first)
		if err == nil || !first || attempt == discoverAttempts || !kerr.IsRetriable(err) {
			return parts, err
		}
		t := time.NewTimer(resolveBackoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
}

func (e *enumerator[T]) discoverOnce(ctx context.Context, first bool) ([]topicPartition, error) {
	req := kmsg.NewPtrMetadataRequest()
	req.AllowAutoTopicCreation = false
	for _, t := range e.src.cfg.topics {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(t)
		req.Topics = append(req.Topics, rt)
	}
	resp, err := req.RequestWith(ctx, e.cl)
	if err != nil {
		hint, ok := connHint(err)
		if !ok {
			hint = "check Brokers and that the cluster is reachable"
		}
		return nil, fmt.Errorf("kafka: source: list the partitions of its topics at %v: %w; %s", e.src.cfg.client.Brokers, err, hint)
	}
	var parts []topicPartition
	var missing []string
	for _, t := range resp.Topics {
		if t.Topic == nil {
			continue
		}
		name := *t.Topic
		if p := e.src.cfg.pattern; p != nil && (t.IsInternal || !p.MatchString(name)) {
			continue
		}
		if err := kerr.ErrorForCode(t.ErrorCode); err != nil {
			switch {
			case errors.Is(err, kerr.UnknownTopicOrPartition):
				missing = append(missing, name)
				continue
			case e.src.cfg.pattern != nil && kerr.IsRetriable(err):
				continue // a topic being created: found at a later look
			default:
				return nil, fmt.Errorf("kafka: source: list the partitions of topic %q: %w", name, err)
			}
		}
		for _, p := range t.Partitions {
			parts = append(parts, topicPartition{name, p.Partition})
		}
	}
	if first && len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("kafka: source: topics %v do not exist: create them before starting the job, or use TopicPattern to read topics as they appear", missing)
	}
	slices.SortFunc(parts, compareTP)
	return parts, nil
}

// HandleSplitRequest does nothing: the enumerator assigns splits without
// being asked.
func (e *enumerator[T]) HandleSplitRequest(int) {}

// AddSplitsBack takes back splits a reader held, with their positions: a
// restore hands it the readers' splits of the checkpoint before Start. A
// split replaces a pending one of the same partition (the reader's
// position is never behind). After Start, the splits are assigned at once.
func (e *enumerator[T]) AddSplitsBack(splits []source.Split, _ int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, sp := range splits {
		ks, ok := sp.(*Split)
		if !ok || ks.known {
			e.log.Warn("kafka: ignoring a split given back that is not a Kafka partition", "split", sp.SplitID(), "type", fmt.Sprintf("%T", sp))
			continue
		}
		e.mu.known[ks.tp()] = true
		e.mu.pending = slices.DeleteFunc(e.mu.pending, func(s *Split) bool { return s.tp() == ks.tp() })
		e.mu.pending = append(e.mu.pending, ks.clone())
	}
	if e.mu.started {
		e.assignLocked()
	}
}

// Snapshot returns the splits not assigned yet, and a marker for every
// other partition the enumerator knows (see the type's invariants).
func (e *enumerator[T]) Snapshot() ([]source.Split, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.mu.closed {
		return nil, source.ErrClosed
	}
	out := make([]source.Split, 0, len(e.mu.known))
	pending := make(map[topicPartition]bool, len(e.mu.pending))
	for _, s := range e.mu.pending {
		pending[s.tp()] = true
		out = append(out, s.clone())
	}
	for _, tp := range slices.SortedFunc(maps.Keys(e.mu.known), compareTP) {
		if !pending[tp] {
			out = append(out, &Split{Topic: tp.topic, Partition: tp.partition, Stop: NoStop, known: true})
		}
	}
	return out, nil
}

// Close stops discovery and closes the client. It may be called more than
// once.
func (e *enumerator[T]) Close() error {
	e.mu.Lock()
	if e.mu.closed {
		e.mu.Unlock()
		return nil
	}
	e.mu.closed = true
	e.mu.Unlock()
	if e.cancel != nil {
		e.cancel()
		<-e.done
	}
	if e.cl != nil {
		e.cl.Close()
	}
	return nil
}
