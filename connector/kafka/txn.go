package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/sink"
)

// closeTimeout bounds how long Close waits to abort the open transaction.
const closeTimeout = 10 * time.Second

// txnProducer is one transactional producer of a writer's pool: a
// transactional id, and a client for one transaction at a time. The writer
// uses cl from begin to PreCommit; the committer's claim takes it away, so
// each transaction gets a new client. The moves between states go through
// txnRegistry.mu.
type txnProducer struct {
	id      string      // transactional id
	cl      *kgo.Client // nil between transactions
	err     produceErr  // the first record of the open transaction that failed
	promise func(*kgo.Record, error)
	records int64     // written in the open transaction
	preAt   time.Time // when the pending transaction was pre-committed

	state   txnState // guarded by txnRegistry.mu
	pending pidEpoch // the pending transaction's producer; guarded by txnRegistry.mu
}

// txnWriter writes with ExactlyOnce: one transaction per checkpoint on a
// pool of producers; see [Sink].
type txnWriter[T any] struct {
	s        *Sink[T]
	log      *slog.Logger
	subtask  int
	par      int
	attempt  int64 // see txnID
	restored *sinkWriterState
	started  bool
	pool     []*txnProducer
	cur      *txnProducer // the open transaction, or nil before the first record after a barrier
}

var (
	_ sink.PreCommitter   = (*txnWriter[int])(nil)
	_ sink.StatefulWriter = (*txnWriter[int])(nil)
)

func newTxnWriter[T any](s *Sink[T], log *slog.Logger, subtask, par int, attempt int64, restored *sinkWriterState) *txnWriter[T] {
	w := &txnWriter[T]{s: s, log: log, subtask: subtask, par: par, attempt: attempt, restored: restored}
	for n := range s.cfg.txnPool {
		p := &txnProducer{id: txnID(s.cfg.prefix, subtask, n, attempt)}
		p.promise = func(_ *kgo.Record, err error) {
			if err != nil {
				p.err.set(err)
			}
		}
		w.pool = append(w.pool, p)
	}
	return w
}

// start checks the topic (see [Sink.CheckTopic]), and fences the
// subtask's transactional ids, and those of the old subtasks it took
// over, once: the runtime has committed the restored
// checkpoint's transactions by then, so what is still open is output of
// checkpoints that never completed.
func (w *txnWriter[T]) start(ctx context.Context) error {
	if w.started {
		return nil
	}
	if err := w.s.CheckTopic(ctx); err != nil {
		return err
	}
	if err := fence(ctx, w.s, w.subtask, w.par, len(w.pool), w.attempt, w.restored); err != nil {
		return err
	}
	w.s.reg.add(w.pool)
	w.started = true
	return nil
}

// Write adds v to the open transaction, beginning one on a free producer
// after a barrier. It blocks while MaxBufferedRecords or MaxBufferedBytes
// are reached, until the brokers acknowledge earlier records or ctx ends.
// It fails when a record of the transaction failed, and when every
// producer holds a transaction that waits for its checkpoint.
func (w *txnWriter[T]) Write(ctx context.Context, v T) error {
	if err := w.start(ctx); err != nil {
		return err
	}
	r, err := w.s.record(v)
	if err != nil {
		return err
	}
	if w.cur == nil {
		if err := w.begin(ctx); err != nil {
			return err
		}
	}
	p := w.cur
	if err := p.err.get(); err != nil {
		return w.failed(p, err)
	}
	p.cl.Produce(ctx, r, p.promise)
	p.records++
	return ctx.Err()
}

// begin opens a transaction on the first free producer.
func (w *txnWriter[T]) begin(ctx context.Context) error {
	p := w.s.reg.takeIdle(w.pool)
	if p == nil {
		return fmt.Errorf("kafka: sink to topic %q: subtask %d: all %d transactional producers hold transactions that wait for their checkpoints to complete; "+
			"checkpoints are failing or completing late: find out why in the checkpoint statistics, or raise TransactionPool", w.s.cfg.topic, w.subtask, len(w.pool))
	}
	// A new client for each transaction (see txnProducer). Initialize it
	// now, so that a bad TransactionTimeout or a missing permission shows
	// here rather than as a failed record.
	cl, err := kgo.NewClient(w.s.producerOpts(w.log, kgo.TransactionalID(p.id), kgo.TransactionTimeout(w.s.cfg.txnTimeout))...)
	if err == nil {
		if _, _, err = cl.ProducerID(ctx); err != nil {
			cl.Close()
		}
	}
	if err != nil {
		w.s.reg.set(p, txnIdle, pidEpoch{})
		return fmt.Errorf("kafka: sink to topic %q: start transactional producer %q: %w; %s", w.s.cfg.topic, p.id, err, produceHint(err))
	}
	p.cl = cl
	if err := p.cl.BeginTransaction(); err != nil {
		p.cl.Close()
		p.cl = nil
		w.s.reg.set(p, txnIdle, pidEpoch{})
		return fmt.Errorf("kafka: sink to topic %q: begin a transaction on %q: %w", w.s.cfg.topic, p.id, err)
	}
	p.err.reset()
	p.records = 0
	w.cur = p
	w.log.Debug("kafka sink: began a transaction", "subtask", w.subtask, "txn", p.id)
	return nil
}

// PreCommit waits until the brokers acknowledged every record of the open
// transaction and returns its committable; the next record opens the next
// transaction. Without records since the last barrier it returns none.
func (w *txnWriter[T]) PreCommit(ctx context.Context, id int64) ([][]byte, error) {
	if err := w.start(ctx); err != nil {
		return nil, err
	}
	p := w.cur
	if p == nil {
		return nil, nil
	}
	if err := p.cl.Flush(ctx); err != nil {
		return nil, err
	}
	if err := p.err.get(); err != nil {
		return nil, w.failed(p, err)
	}
	pid, epoch, err := p.cl.ProducerID(ctx)
	if err != nil {
		return nil, w.failed(p, err)
	}
	c := txnCommittable{ID: p.id, ProducerID: pid, Epoch: epoch, Checkpoint: id, Records: p.records}
	p.preAt = time.Now()
	w.log.Debug("kafka sink: pre-committed", "subtask", w.subtask, "txn", p.id, "checkpoint", id, "records", p.records, "producer_id", pid, "epoch", epoch)
	w.s.reg.set(p, txnPending, c.producer())
	w.cur = nil
	return [][]byte{c.encode()}, nil
}

// Flush waits until the brokers acknowledged every record of the open
// transaction, which stays open. The runtime calls PreCommit instead when
// the job takes checkpoints, which ExactlyOnce requires.
func (w *txnWriter[T]) Flush(ctx context.Context) error {
	if err := w.start(ctx); err != nil {
		return err
	}
	if p := w.cur; p != nil {
		if err := p.cl.Flush(ctx); err != nil {
			return err
		}
		if err := p.err.get(); err != nil {
			return w.failed(p, err)
		}
	}
	return nil
}

// SnapshotState records how the writer names its transactional ids.
func (w *txnWriter[T]) SnapshotState(int64) ([]byte, error) {
	return sinkWriterState{Prefix: w.s.cfg.prefix, Parallelism: w.par, Pool: len(w.pool), Attempt: w.attempt}.encode(), nil
}

func (w *txnWriter[T]) failed(p *txnProducer, err error) error {
	return fmt.Errorf("kafka: sink to topic %q: transaction on %q failed: %w; %s", w.s.cfg.topic, p.id, err, produceHint(err))
}

// Close aborts the open transaction, waiting at most 10 seconds, and
// closes the producers. Pre-committed transactions stay open on the
// brokers: a restored checkpoint may list them, and the committer commits
// them then; the next writer for the subtask aborts the others.
func (w *txnWriter[T]) Close() error {
	if p := w.cur; p != nil && p.cl != nil {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		err := p.cl.AbortBufferedRecords(ctx)
		if err == nil {
			err = p.cl.EndTransaction(ctx, kgo.TryAbort)
		}
		cancel()
		if err != nil {
			w.log.Debug("kafka sink: abort the open transaction at close; the next writer aborts it", "txn", p.id, "error", err)
		}
		w.cur = nil
	}
	for _, p := range w.s.reg.release(w.pool) {
		if p.cl != nil {
			p.cl.Close()
			p.cl = nil
		}
	}
	return nil
}
