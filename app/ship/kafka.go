package ship

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/connector/kafka"
)

// clientOpts returns the franz-go options that reach the cluster c
// describes.
func clientOpts(c kafka.Client, log *slog.Logger) []kgo.Opt {
	id := c.ClientID
	if id == "" {
		id = "weir"
	}
	opts := []kgo.Opt{
		kgo.SeedBrokers(c.Brokers...),
		kgo.ClientID(id),
		kgo.WithLogger(kgoLogger{log}),
	}
	if c.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(c.TLS.Clone()))
	}
	if c.SASL != nil {
		opts = append(opts, kgo.SASL(c.SASL))
	}
	return opts
}

// producerOpts returns the options of the transactional producer.
func (s *Shipper) producerOpts() []kgo.Opt {
	return append(clientOpts(s.cfg.Client, s.log),
		kgo.TransactionalID(s.cfg.TransactionalID),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		// A round flushes before it commits; let a whole batch and its
		// positions record wait in the buffer.
		kgo.MaxBufferedRecords(s.cfg.MaxBatchLines+1),
		// The topic is created on first use where the brokers allow it
		// (auto.create.topics.enable).
		kgo.AllowAutoTopicCreation(),
	)
}

// kgoLogger passes franz-go's warnings and errors to slog.
type kgoLogger struct{ log *slog.Logger }

func (l kgoLogger) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l kgoLogger) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	lv := slog.LevelWarn
	if level == kgo.LogLevelError {
		lv = slog.LevelError
	}
	l.log.Log(context.Background(), lv, "kafka client: "+msg, keyvals...)
}

// ensureTopic creates the positions topic, with one partition and
// compaction, if it does not exist.
func ensureTopic(ctx context.Context, cl *kgo.Client, topic string, log *slog.Logger) error {
	adm := kadm.NewClient(cl)
	compact := "compact"
	resp, err := adm.CreateTopic(ctx, 1, -1, map[string]*string{"cleanup.policy": &compact}, topic)
	if err == nil {
		err = resp.Err
	}
	switch {
	case err == nil:
		log.Info("ship: created the positions topic", "topic", topic)
	case errors.Is(err, kerr.TopicAlreadyExists):
	case errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed):
		// It may exist, made by an administrator: reading it tells.
		log.Warn("ship: not allowed to create the positions topic; it must exist", "topic", topic, "err", err)
	default:
		return fmt.Errorf("ship: create the positions topic %q (or create it yourself, with one partition and cleanup.policy=compact): %w", topic, err)
	}
	return nil
}

// fenced reports whether err says that another producer took the
// transactional ID.
func fenced(err error) bool {
	return errors.Is(err, kerr.ProducerFenced) || errors.Is(err, kerr.InvalidProducerEpoch) || errors.Is(err, kerr.InvalidTxnState)
}

// retriable reports whether starting over may cure err. Starting over is
// always safe: a new attempt learns the truth from Kafka (invariant 1). It
// is pointless when another shipper took the ID, when permissions are
// denied, when a topic is missing, when the configuration is wrong, and for
// file errors.
func retriable(err error) bool {
	switch {
	case errors.Is(err, errCrashed), errors.Is(err, ErrFenced), errors.Is(err, errFatalFile),
		errors.Is(err, context.Canceled),
		errors.Is(err, kerr.TopicAuthorizationFailed), errors.Is(err, kerr.ClusterAuthorizationFailed),
		errors.Is(err, kerr.TransactionalIDAuthorizationFailed), errors.Is(err, kerr.SaslAuthenticationFailed),
		errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.InvalidTopicException),
		errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge),
		errors.Is(err, kerr.InvalidRequiredAcks), errors.Is(err, kerr.UnsupportedVersion),
		errors.Is(err, kerr.UnsupportedForMessageFormat), errors.Is(err, kerr.InvalidTransactionTimeout):
		return false
	}
	return true
}

// errCrashed ends a round that a test stopped as if the process died.
var errCrashed = errors.New("ship: stopped in the middle of a round (test crash)")

// errFatalFile marks file errors that retrying cannot cure.
var errFatalFile = errors.New("ship: file error")
