package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// produceErr keeps the first error that produce promises report; promises
// run on the client's goroutine.
type produceErr struct {
	mu  sync.Mutex
	err error
}

func (f *produceErr) set(err error) {
	f.mu.Lock()
	if f.err == nil {
		f.err = err
	}
	f.mu.Unlock()
}

func (f *produceErr) reset() {
	f.mu.Lock()
	f.err = nil
	f.mu.Unlock()
}

func (f *produceErr) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// plainWriter writes with AtLeastOnce or DeliveryNone through one
// idempotent (AtLeastOnce) or acks=0 (DeliveryNone) producer.
type plainWriter[T any] struct {
	s        *Sink[T]
	log      *slog.Logger
	subtask  int
	par      int
	attempt  int64 // see txnID
	restored *sinkWriterState

	cl      *kgo.Client // nil until the first call with a context
	err     produceErr  // AtLeastOnce: the first failed record
	lost    atomic.Int64
	lostErr produceErr // DeliveryNone: an example of why records were lost
	promise func(*kgo.Record, error)
}

func newPlainWriter[T any](s *Sink[T], log *slog.Logger, subtask, par int, attempt int64, restored *sinkWriterState) *plainWriter[T] {
	w := &plainWriter[T]{s: s, log: log, subtask: subtask, par: par, attempt: attempt, restored: restored}
	if s.cfg.delivery == DeliveryNone {
		w.promise = func(_ *kgo.Record, err error) {
			if err != nil {
				w.lost.Add(1)
				w.lostErr.set(err)
			}
		}
	} else {
		w.promise = func(_ *kgo.Record, err error) {
			if err != nil {
				w.err.set(err)
			}
		}
	}
	return w
}

// start connects on first use and checks the topic (see
// [Sink.CheckTopic]). A restored state means the previous run
// wrote with ExactlyOnce: its open transactions are aborted first, so that
// they do not hold read_committed consumers back until they time out.
func (w *plainWriter[T]) start(ctx context.Context) error {
	if w.cl != nil {
		return nil
	}
	if w.restored != nil {
		if err := fenceRestored(ctx, w.s, w.subtask, w.par, w.attempt, w.restored); err != nil {
			return err
		}
		w.restored = nil
	}
	var extra []kgo.Opt
	if w.s.cfg.delivery == DeliveryNone {
		extra = append(extra, kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite())
	}
	cl, err := kgo.NewClient(w.s.producerOpts(w.log, extra...)...)
	if err != nil {
		return fmt.Errorf("kafka: sink to topic %q: create the producer: %w", w.s.cfg.topic, err)
	}
	// Check the topic now, creating it where the brokers allow it: a
	// producer would retry a missing topic, a login or a TLS error as a
	// failed record until DeliveryTimeout or its retries ran out.
	if err := ensureTopic(ctx, cl, w.s.cfg.topic, w.s.cfg.client.Brokers); err != nil {
		cl.Close()
		return err
	}
	w.cl = cl
	return nil
}

// Write buffers v in the producer. It blocks while MaxBufferedRecords or
// MaxBufferedBytes are reached, until the brokers acknowledge earlier
// records or ctx ends. With AtLeastOnce it returns the error of an earlier
// record that failed.
func (w *plainWriter[T]) Write(ctx context.Context, v T) error {
	if err := w.start(ctx); err != nil {
		return err
	}
	if err := w.err.get(); err != nil {
		return w.failed(err)
	}
	r, err := w.s.record(v)
	if err != nil {
		return err
	}
	w.cl.Produce(ctx, r, w.promise)
	return ctx.Err()
}

// Flush waits until every record written so far is acknowledged
// (AtLeastOnce) or sent (DeliveryNone), or ctx ends.
func (w *plainWriter[T]) Flush(ctx context.Context) error {
	if err := w.start(ctx); err != nil {
		return err
	}
	if err := w.cl.Flush(ctx); err != nil {
		return err
	}
	if n := w.lost.Swap(0); n > 0 {
		w.log.Warn("kafka sink: records were lost (Delivery is DeliveryNone)", "subtask", w.subtask, "records", n, "error", w.lostErr.get())
	}
	if err := w.err.get(); err != nil {
		return w.failed(err)
	}
	return nil
}

func (w *plainWriter[T]) failed(err error) error {
	return fmt.Errorf("kafka: sink to topic %q: a record failed to reach the brokers: %w; %s", w.s.cfg.topic, err, produceHint(err))
}

// Close closes the producer without waiting for buffered records.
func (w *plainWriter[T]) Close() error {
	if w.cl != nil {
		w.cl.Close()
		w.cl = nil
	}
	return nil
}

// hint says what to do about a produce error.
func produceHint(err error) string {
	if h, ok := connHint(err); ok {
		return h
	}
	switch {
	case errors.Is(err, kerr.UnknownTopicOrPartition):
		return "create the topic, or let the brokers create topics on first use"
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.TransactionalIDAuthorizationFailed),
		errors.Is(err, kerr.ClusterAuthorizationFailed):
		return "grant the sink's principal WRITE on the topic (and on the transactional ids with ExactlyOnce)"
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return "shrink the records, or raise the topic's max.message.bytes and MaxBufferedBytes"
	case errors.Is(err, kgo.ErrRecordTimeout), errors.Is(err, kgo.ErrRecordRetries):
		return "the brokers did not acknowledge the record within DeliveryTimeout: check that they are reachable"
	case errors.Is(err, kerr.ProducerFenced), errors.Is(err, kerr.InvalidProducerEpoch):
		return "another producer took over its transactional id: give each job writing to this topic its own TransactionalIDPrefix"
	case errors.Is(err, kerr.InvalidTransactionTimeout):
		return "set TransactionTimeout at most the brokers' transaction.max.timeout.ms, or raise that"
	}
	return "the job restarts from its last checkpoint if its restart strategy allows"
}

// kgoLogger passes the franz-go client's warnings and errors to slog.
type kgoLogger struct{ log *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	switch level {
	case kgo.LogLevelError:
		lv = slog.LevelError
	case kgo.LogLevelInfo:
		lv = slog.LevelInfo
	case kgo.LogLevelDebug:
		lv = slog.LevelDebug
	}
	l.log.Log(context.Background(), lv, "kafka client: "+msg, keyvals...)
}
