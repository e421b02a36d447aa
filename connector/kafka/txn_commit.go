package kafka

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/weirstream/weir/sink"
)

// txnFormat is the version of the committables and writer states that the
// Kafka sink stores in checkpoints. Raise it when their meaning changes;
// decoders reject versions they do not know rather than guess.
const txnFormat = 1

// txnCommittable names one pre-committed transaction: committing it sends
// EndTxn for ID with the producer id and epoch the transaction was written
// with. Checkpoint and Records are for logs and checkpoint inspection.
type txnCommittable struct {
	V          int    `json:"v"`
	ID         string `json:"txn"`
	ProducerID int64  `json:"pid"`
	Epoch      int16  `json:"epoch"`
	Checkpoint int64  `json:"checkpoint"`
	Records    int64  `json:"records"`
}

func (c txnCommittable) encode() []byte {
	c.V = txnFormat
	b, err := json.Marshal(c)
	if err != nil {
		panic("kafka: encode a committable: " + err.Error()) // strings and integers always encode
	}
	return b
}

func (c txnCommittable) producer() pidEpoch { return pidEpoch{c.ProducerID, c.Epoch} }

func decodeTxnCommittable(b []byte) (txnCommittable, error) {
	var c txnCommittable
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("kafka: decode a committable of the Kafka sink: %w", err)
	}
	if c.V != txnFormat {
		return c, fmt.Errorf("kafka: a committable of the Kafka sink has format version %d, this build reads version %d; restore the checkpoint with the weir version that wrote it", c.V, txnFormat)
	}
	if c.ID == "" || c.ProducerID < 0 || c.Epoch < 0 {
		return c, fmt.Errorf("kafka: a committable of the Kafka sink is malformed: %s", b)
	}
	return c, nil
}

// sinkWriterState is what a writer keeps in checkpoints: how its run named
// its transactional ids, so that a restored run, at any parallelism, can
// fence every id the old run used.
type sinkWriterState struct {
	V           int    `json:"v"`
	Prefix      string `json:"prefix"`
	Parallelism int    `json:"parallelism"`
	Pool        int    `json:"pool"`
	Attempt     int64  `json:"attempt,omitempty"` // see txnID
}

func (s sinkWriterState) encode() []byte {
	s.V = txnFormat
	b, err := json.Marshal(s)
	if err != nil {
		panic("kafka: encode the writer state: " + err.Error())
	}
	return b
}

func decodeSinkWriterState(b []byte) (sinkWriterState, error) {
	var s sinkWriterState
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("decode the restored state of the writer: %w", err)
	}
	if s.V != txnFormat {
		return s, fmt.Errorf("the restored state of the writer has format version %d, this build reads version %d; restore the checkpoint with the weir version that wrote it", s.V, txnFormat)
	}
	if s.Prefix == "" || s.Parallelism < 1 || s.Pool < 1 || s.Attempt < 0 {
		return s, fmt.Errorf("the restored state of the writer is malformed: %s", b)
	}
	return s, nil
}

// txnID is the transactional id of producer n of subtask in a run's
// attempt (see sink.AttemptOf): "<prefix>-<subtask>-<n>", and
// "-a<attempt>" after it when the attempt is not 0. Runs that may overlap
// (a cluster's epochs) thus never share an id: a zombie writer's
// InitProducerID cannot fence the live writer's producer, which would
// abort the transaction that waits for its checkpoint.
func txnID(prefix string, subtask, n int, attempt int64) string {
	id := prefix + "-" + strconv.Itoa(subtask) + "-" + strconv.Itoa(n)
	if attempt != 0 {
		id += "-a" + strconv.FormatInt(attempt, 10)
	}
	return id
}

// parseTxnID returns the subtask, producer and attempt of a transactional
// id made by txnID with prefix, or ok false for any other id.
func parseTxnID(prefix, id string) (subtask, n int, attempt int64, ok bool) {
	rest, found := strings.CutPrefix(id, prefix+"-")
	if !found {
		return 0, 0, 0, false
	}
	a, rest, found := strings.Cut(rest, "-")
	if !found {
		return 0, 0, 0, false
	}
	b, c, withAttempt := strings.Cut(rest, "-")
	subtask, okA := parseIndex(a)
	n, okB := parseIndex(b)
	if !okA || !okB {
		return 0, 0, 0, false
	}
	if withAttempt {
		digits, found := strings.CutPrefix(c, "a")
		v, okC := parseIndex(digits)
		if !found || !okC || v == 0 {
			return 0, 0, 0, false
		}
		attempt = int64(v)
	}
	return subtask, n, attempt, true
}

// parseIndex parses a decimal index as strconv.Itoa writes it.
func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 18 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}

// fenceIDs returns the transactional ids that subtask of par fences before
// it writes in attempt: its own pool (when pool > 0), and, after a
// restore, the ids of every old subtask j with j mod par == subtask under
// the old prefix, pool size and attempt. Subtask s is the one that commits
// those old subtasks' restored transactions, so it fences them only after
// that.
func fenceIDs(prefix string, subtask, par, pool int, attempt int64, restored *sinkWriterState) []string {
	seen := map[string]bool{}
	var ids []string
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	for n := range pool {
		add(txnID(prefix, subtask, n, attempt))
	}
	if restored != nil {
		for j := subtask; j < restored.Parallelism; j += par {
			for n := range restored.Pool {
				add(txnID(restored.Prefix, j, n, restored.Attempt))
			}
		}
	}
	return ids
}

// fence initializes the transactional ids subtask must own before it
// writes (see fenceIDs), and those of open transactions the brokers list
// under the prefixes for old subtasks that map to it, of its attempt or an
// earlier one. Initializing an id fences its earlier producers and aborts
// their open transaction. A later attempt's ids are left alone: a writer
// that finds them is a zombie (see sink.AttemptOf), and they are the live
// writers'. With attempt 0 (one process) every listed id is fenced: a run
// in one process is alone, whatever ran before it.
func fence[T any](ctx context.Context, s *Sink[T], subtask, par, pool int, attempt int64, restored *sinkWriterState) error {
	ids := fenceIDs(s.cfg.prefix, subtask, par, pool, attempt, restored)
	if len(ids) == 0 {
		return nil
	}
	cl, err := kgo.NewClient(s.cfg.client.Opts()...)
	if err != nil {
		return fmt.Errorf("kafka: sink to topic %q: connect to fence old producers: %w", s.cfg.topic, err)
	}
	defer cl.Close()
	prefixes := []string{s.cfg.prefix}
	if restored != nil && restored.Prefix != s.cfg.prefix {
		prefixes = append(prefixes, restored.Prefix)
	}
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	for _, id := range openTxnIDs(ctx, cl, s.log) {
		for _, p := range prefixes {
			j, _, a, ok := parseTxnID(p, id)
			if ok && j%par == subtask && (a <= attempt || attempt == 0) && !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	for _, id := range ids {
		if _, err := initTxnID(ctx, cl, id, s.cfg.txnTimeout); err != nil {
			return fmt.Errorf("kafka: sink to topic %q: fence transactional id %q: %w; %s", s.cfg.topic, id, err, produceHint(err))
		}
	}
	s.log.Debug("kafka sink: fenced transactional ids", "subtask", subtask, "attempt", attempt, "ids", ids)
	return nil
}

// fenceRestored fences the ids of a restored ExactlyOnce run, for a writer
// that does not write transactions itself.
func fenceRestored[T any](ctx context.Context, s *Sink[T], subtask, par int, attempt int64, restored *sinkWriterState) error {
	return fence(ctx, s, subtask, par, 0, attempt, restored)
}

// openTxnIDs lists the transactional ids of ongoing transactions. Brokers
// before Kafka 3.0, or a principal without DESCRIBE on transactional ids,
// answer nothing; the ids a restored state names are fenced all the same.
func openTxnIDs(ctx context.Context, cl *kgo.Client, log *slog.Logger) []string {
	req := kmsg.NewPtrListTransactionsRequest()
	req.StateFilters = []string{"Ongoing"}
	var ids []string
	for _, shard := range cl.RequestSharded(ctx, req) {
		if shard.Err != nil {
			log.Debug("kafka sink: cannot list open transactions; fencing the known ids only", "error", shard.Err)
			continue
		}
		resp := shard.Resp.(*kmsg.ListTransactionsResponse)
		if err := kerr.ErrorForCode(resp.ErrorCode); err != nil {
			log.Debug("kafka sink: cannot list open transactions; fencing the known ids only", "error", err)
			continue
		}
		for _, t := range resp.TransactionStates {
			ids = append(ids, t.TransactionalID)
		}
	}
	return ids
}

// pidEpoch is a producer id and epoch.
type pidEpoch struct {
	id    int64
	epoch int16
}

// initTxnID sends InitProducerID for a transactional id, which fences its
// earlier producers and aborts their open transaction, and returns the new
// producer id and epoch.
func initTxnID(ctx context.Context, cl *kgo.Client, id string, timeout time.Duration) (pidEpoch, error) {
	var pe pidEpoch
	err := retryTxn(ctx, func() error {
		req := kmsg.NewPtrInitProducerIDRequest()
		req.TransactionalID = &id
		req.TransactionTimeoutMillis = int32(timeout.Milliseconds())
		req.ProducerID, req.ProducerEpoch = -1, -1
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		pe = pidEpoch{resp.ProducerID, resp.ProducerEpoch}
		return kerr.ErrorForCode(resp.ErrorCode)
	})
	return pe, err
}

// retryTxn runs fn until it succeeds, fails with an error that is not
// retriable (a transaction that is still completing answers
// CONCURRENT_TRANSACTIONS), tries 20 times, or ctx ends.
func retryTxn(ctx context.Context, fn func() error) error {
	backoff := 20 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || attempt == 20 || !(kerr.IsRetriable(err) || errors.Is(err, kerr.ConcurrentTransactions)) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, ctx.Err())
		}
		backoff = min(2*backoff, time.Second)
	}
}

// txnState is where a producer of the pool is.
type txnState uint8

const (
	txnIdle       txnState = iota // free for the next transaction
	txnOpen                       // its transaction takes the writer's records
	txnPending                    // pre-committed, waiting for its checkpoint
	txnCommitting                 // the committer is committing it
)

// txnRegistry is shared by a sink's writers and committers in one process.
// It tells a committer which pre-committed transactions a live producer
// holds (after the commit the producer returns to its pool, with a new
// client) and which this process has committed already (those it need not
// send again after an in-process restart). Every state change of a
// producer goes through mu.
type txnRegistry struct {
	mu        sync.Mutex
	live      map[string]*txnProducer // by transactional id
	committed map[string]pidEpoch     // the newest transaction committed per transactional id
}

func newTxnRegistry() *txnRegistry {
	return &txnRegistry{live: map[string]*txnProducer{}, committed: map[string]pidEpoch{}}
}

func (r *txnRegistry) add(ps []*txnProducer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range ps {
		r.live[p.id] = p
	}
}

// release takes a closing writer's producers out of the registry and
// returns those the writer closes. One the committer claimed is left out:
// claim took its client.
func (r *txnRegistry) release(ps []*txnProducer) []*txnProducer {
	r.mu.Lock()
	defer r.mu.Unlock()
	var closable []*txnProducer
	for _, p := range ps {
		if r.live[p.id] == p {
			delete(r.live, p.id)
		}
		if p.state != txnCommitting {
			closable = append(closable, p)
		}
	}
	return closable
}

// takeIdle moves the first idle producer of pool to open and returns it,
// or nil.
func (r *txnRegistry) takeIdle(pool []*txnProducer) *txnProducer {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range pool {
		if p.state == txnIdle {
			p.state = txnOpen
			return p
		}
	}
	return nil
}

func (r *txnRegistry) set(p *txnProducer, st txnState, pending pidEpoch) {
	r.mu.Lock()
	p.state, p.pending = st, pending
	r.mu.Unlock()
}

// claim returns the live producer that holds c's transaction pending, now
// committing, or nil; and the producer's client, which the caller closes:
// the transaction is committed by producer id and epoch (see Commit), and
// the next one gets a new client.
func (r *txnRegistry) claim(c txnCommittable) (*txnProducer, *kgo.Client) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.live[c.ID]
	if p == nil || p.state != txnPending || p.pending != c.producer() {
		return nil, nil
	}
	p.state = txnCommitting
	cl := p.cl
	p.cl = nil
	return p, cl
}

// noteCommitted remembers that c is committed.
func (r *txnRegistry) noteCommitted(c txnCommittable) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if last, ok := r.committed[c.ID]; !ok || last.id != c.ProducerID || last.epoch < c.Epoch {
		r.committed[c.ID] = c.producer()
	}
}

// wasCommitted reports whether this process committed c. A producer's
// transactions are committed in order, each before the next begins, so one
// with an epoch up to the newest committed one is committed.
func (r *txnRegistry) wasCommitted(c txnCommittable) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	last, ok := r.committed[c.ID]
	return ok && last.id == c.ProducerID && last.epoch >= c.Epoch
}

// txnCommitter commits pre-committed transactions; see [Sink].
type txnCommitter struct {
	client  Client
	timeout time.Duration // TransactionTimeout
	reg     *txnRegistry
	log     *slog.Logger
}

var _ sink.Committer = (*txnCommitter)(nil)

// Commit commits the transactions the committables name, in order, each
// with an EndTxn request that carries the producer id and epoch it was
// written with: the brokers know which partitions a transaction wrote to.
// (A franz-go producer decides that client-side: v1.22.3 sometimes
// decided that a transaction whose first records raced the topic's first
// metadata load wrote nothing, and aborted it while reporting a commit.)
// A live producer of this process that held the transaction gets a new
// client for its next one, which also gives every transaction of an id its
// own epoch, so that an EndTxn for an old committable can never end a
// newer transaction. A transaction that is no longer open under its epoch
// counts as done: it was committed before (normal when a restored
// checkpoint's commit had already happened) or the brokers aborted it,
// which the committer logs as lost records.
func (c *txnCommitter) Commit(ctx context.Context, committables [][]byte) error {
	var raw *kgo.Client
	defer func() {
		if raw != nil {
			raw.Close()
		}
	}()
	for _, b := range committables {
		if err := ctx.Err(); err != nil {
			return err
		}
		tc, err := decodeTxnCommittable(b)
		if err != nil {
			return err
		}
		p, cl := c.reg.claim(tc)
		if cl != nil {
			cl.Close() // its view of the transaction is not used
		}
		if p == nil && c.reg.wasCommitted(tc) {
			continue
		}
		if raw == nil {
			if raw, err = newEndTxnClient(ctx, c.client); err != nil {
				c.settle(p)
				return err
			}
		}
		err = c.commitRaw(ctx, raw, tc, p != nil)
		if p != nil && err == nil {
			if waited := time.Since(p.preAt); waited > c.timeout/2 {
				c.log.Warn("kafka sink: a transaction waited for its checkpoint to complete for more than half of TransactionTimeout; "+
					"if it outlives the timeout the brokers abort it and its records are lost: raise TransactionTimeout or make checkpoints complete sooner",
					"txn", tc.ID, "checkpoint", tc.Checkpoint, "waited", waited, "transaction_timeout", c.timeout)
			}
		}
		c.settle(p)
		if err != nil {
			return err
		}
	}
	return nil
}

// settle returns a producer the committer claimed to its pool.
func (c *txnCommitter) settle(p *txnProducer) {
	if p != nil {
		c.reg.set(p, txnIdle, pidEpoch{})
	}
}

// newEndTxnClient returns a client for EndTxn requests. Brokers whose
// transactions bump the epoch at every end (KIP-890, transaction.version 2)
// get EndTxn v5, which tells a retried commit from a stale one; others get
// v4 at most, as their producers do.
func newEndTxnClient(ctx context.Context, c Client) (*kgo.Client, error) {
	cl, err := kgo.NewClient(c.Opts()...)
	if err != nil {
		return nil, fmt.Errorf("kafka: sink: connect to commit transactions: %w", err)
	}
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, cl)
	if err != nil {
		cl.Close()
		return nil, fmt.Errorf("kafka: sink: connect to commit transactions: %w", err)
	}
	for _, f := range resp.FinalizedFeatures {
		if f.Name == "transaction.version" && f.MaxVersionLevel >= 2 {
			return cl, nil
		}
	}
	cl.Close()
	v := kversion.Stable()
	v.SetMaxKeyVersion(int16(kmsg.EndTxn), 4)
	if cl, err = kgo.NewClient(append(c.Opts(), kgo.MaxVersions(v))...); err != nil {
		return nil, fmt.Errorf("kafka: sink: connect to commit transactions: %w", err)
	}
	return cl, nil
}

// commitRaw commits tc with an EndTxn request; live says that a producer
// of this process wrote it (rather than a run before a restore).
func (c *txnCommitter) commitRaw(ctx context.Context, cl *kgo.Client, tc txnCommittable, live bool) error {
	tries := 0
	err := retryTxn(ctx, func() error {
		tries++
		req := kmsg.NewPtrEndTxnRequest()
		req.TransactionalID = tc.ID
		req.ProducerID = tc.ProducerID
		req.ProducerEpoch = tc.Epoch
		req.Commit = true
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		return kerr.ErrorForCode(resp.ErrorCode)
	})
	log := c.log.With("txn", tc.ID, "producer_id", tc.ProducerID, "epoch", tc.Epoch, "checkpoint", tc.Checkpoint, "records", tc.Records)
	switch {
	case err == nil:
		c.reg.noteCommitted(tc)
		if live {
			log.Debug("kafka sink: committed")
		} else {
			log.Info("kafka sink: committed a transaction of an earlier run or of a writer that ended")
		}
		return nil
	case errors.Is(err, kerr.InvalidTxnState):
		log.Error("kafka sink: a pre-committed transaction was aborted before it could be committed: its records are lost; "+
			"raise TransactionTimeout above the time from a checkpoint to the restart that follows a failure, and give each job its own TransactionalIDPrefix", "error", err)
		return nil
	case errors.Is(err, kerr.ProducerFenced), errors.Is(err, kerr.InvalidProducerEpoch),
		errors.Is(err, kerr.InvalidProducerIDMapping), errors.Is(err, kerr.TransactionalIDNotFound):
		switch {
		case !live:
			log.Warn("kafka sink: a pre-committed transaction is no longer open: it was committed before a restart (usual), "+
				"or the brokers aborted it after TransactionTimeout (then its records are lost)", "error", err)
		case tries > 1:
			// The first try may have committed it, its answer lost.
			log.Warn("kafka sink: a transaction is no longer open after its commit was retried: the first try committed it, "+
				"or it was fenced before (then its records are lost)", "error", err, "tries", tries)
		default:
			// This run wrote it and pre-committed it, under an id of this
			// attempt (sink.AttemptOf): no restart has committed it.
			log.Error("kafka sink: a pre-committed transaction was fenced before its commit: its records are lost; "+
				"another producer took its transactional id (give each job its own TransactionalIDPrefix), "+
				"or the brokers aborted it after TransactionTimeout (raise it above the time a checkpoint takes to complete)", "error", err)
		}
		return nil
	}
	return fmt.Errorf("kafka: sink: commit transaction %q (producer id %d, epoch %d) of checkpoint %d: %w; %s",
		tc.ID, tc.ProducerID, tc.Epoch, tc.Checkpoint, err, produceHint(err))
}
