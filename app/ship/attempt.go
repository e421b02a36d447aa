package ship

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// attempt connects, reads the committed positions and ships rounds until
// ctx is done (it returns nil) or an error. Everything it holds in memory
// is dropped with it: the next attempt starts from Kafka (invariant 1).
// A stopping attempt, made after ctx is done, ships one round within
// StopTimeout.
func (s *Shipper) attempt(ctx context.Context, stopping bool) error {
	if stopping {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StopTimeout)
		defer cancel()
	}
	cl, err := kgo.NewClient(s.producerOpts()...)
	if err != nil {
		return fmt.Errorf("ship: create the Kafka client: %w", err)
	}
	defer cl.Close()
	// Cancelled before anything was produced: nothing to finish.
	interrupted := func() bool { return !stopping && ctx.Err() != nil }
	// Initializing the producer fences an earlier one with the same ID and
	// ends its open transaction: after this, the last positions are final.
	if _, _, err := cl.ProducerID(ctx); err != nil {
		if interrupted() {
			return nil
		}
		return s.kafkaErr("initialize the transactional producer", err)
	}
	if err := ensureTopic(ctx, cl, s.cfg.PositionsTopic, s.log); err != nil {
		if interrupted() {
			return nil
		}
		return err
	}
	pos, err := loadPositions(ctx, clientOpts(s.cfg.Client, s.log), s.cfg.PositionsTopic, s.cfg.TransactionalID)
	if err != nil {
		if interrupted() {
			return nil
		}
		return fmt.Errorf("ship: read the last positions from topic %q: %w", s.cfg.PositionsTopic, err)
	}
	if pos == nil {
		s.log.Info("ship: no positions committed yet; starting afresh", "pattern", s.cfg.Pattern, "topic", s.cfg.Topic, "start_at_end", s.cfg.StartAtEnd)
	} else {
		s.log.Info("ship: resuming from the committed positions", "files", len(pos.Files), "written", pos.Time)
	}
	t := newTailer(s, pos)
	defer t.close()

	if stopping {
		if _, err := s.round(ctx, cl, t); err != nil {
			return fmt.Errorf("ship: stopping: the last round failed too; the next start resumes from the last commit: %w", err)
		}
		s.logProgress("ship: stopped")
		return nil
	}

	// Rounds run with rctx, which outlives ctx by StopTimeout: the round in
	// progress when ctx is done, and a last one, still commit.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		timer := time.NewTimer(s.cfg.StopTimeout)
		defer timer.Stop()
		select {
		case <-timer.C:
			cancel()
		case <-rctx.Done():
		}
	})
	defer stop()

	lastLog := time.Now()
	wait := time.NewTimer(0)
	defer wait.Stop()
	for {
		more, err := s.round(rctx, cl, t)
		if err == nil && ctx.Err() != nil {
			_, err = s.round(rctx, cl, t)
			if err == nil {
				s.logProgress("ship: stopped")
				return nil
			}
		}
		if err != nil {
			return err
		}
		if now := time.Now(); s.cfg.ProgressInterval > 0 && now.Sub(lastLog) >= s.cfg.ProgressInterval {
			lastLog = now
			s.logProgress("ship: progress")
		}
		if more {
			continue
		}
		wait.Reset(s.cfg.Interval)
		select {
		case <-wait.C:
		case <-ctx.Done():
		}
	}
}

// logProgress logs the counters.
func (s *Shipper) logProgress(msg string) {
	st := s.Stats()
	s.log.Info(msg, "lines", st.Lines, "bytes", st.Bytes, "transactions", st.Transactions,
		"files", st.Files, "lag_bytes", st.LagBytes, "skipped_lines", st.SkippedLines)
}

// round ships what the files have now, in one transaction. It returns
// more when the batch was full.
func (s *Shipper) round(ctx context.Context, cl *kgo.Client, t *tailer) (more bool, err error) {
	now := time.Now()
	if err := t.scan(now); err != nil {
		return false, err
	}
	b, err := t.read(now)
	if err != nil {
		return false, err
	}
	if len(b.lines) == 0 && !b.changed {
		s.files.Store(int64(t.files()))
		s.lag.Store(t.lag())
		return b.more, nil // more: a long line is being skipped
	}
	pos, err := json.Marshal(t.positions(s.cfg.TransactionalID, now))
	if err != nil {
		return false, fmt.Errorf("ship: encode the positions: %w", err)
	}
	if err := cl.BeginTransaction(); err != nil {
		return false, s.kafkaErr("begin a transaction", err)
	}
	var mu sync.Mutex
	var perr error
	promise := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if perr == nil {
				perr = err
			}
			mu.Unlock()
		}
	}
	for _, l := range b.lines {
		r := &kgo.Record{Topic: s.cfg.Topic, Value: l.b}
		if s.cfg.Key != nil {
			r.Key = s.cfg.Key(l.b)
		}
		cl.Produce(ctx, r, promise)
	}
	cl.Produce(ctx, &kgo.Record{Topic: s.cfg.PositionsTopic, Key: []byte(s.cfg.TransactionalID), Value: pos}, promise)
	if s.crash != nil && s.crash("produced") {
		return false, errCrashed
	}
	if err := cl.Flush(ctx); err != nil {
		return false, s.kafkaErr("send the records", err)
	}
	mu.Lock()
	err = perr
	mu.Unlock()
	if err != nil {
		return false, s.kafkaErr("produce", err)
	}
	if s.crash != nil && s.crash("flushed") {
		return false, errCrashed
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		return false, s.kafkaErr("commit", err)
	}
	t.commit()
	s.lines.Add(int64(len(b.lines)))
	s.bytes.Add(b.bytes)
	s.txns.Add(1)
	s.lastCommit.Store(time.Now().UnixNano())
	s.files.Store(int64(t.files()))
	s.lag.Store(t.lag())
	return b.more, nil
}

// kafkaErr wraps an error of the Kafka client, saying what failed.
func (s *Shipper) kafkaErr(what string, err error) error {
	if errors.Is(err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("ship: %s: topic %q or %q does not exist and the brokers do not create topics on first use; create them: %w", what, s.cfg.Topic, s.cfg.PositionsTopic, err)
	}
	if fenced(err) {
		return fmt.Errorf("%w: another shipper started with transactional ID %q (or this one's transaction ran past the transaction timeout); run one shipper per ID, each host with its own: %s: %w", ErrFenced, s.cfg.TransactionalID, what, err)
	}
	return fmt.Errorf("ship: %s: %w", what, err)
}
