package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/sink"
)

// Guarantee is what a Kafka sink guarantees about the records it writes;
// the option [Delivery] sets it. The zero value is ExactlyOnce.
type Guarantee int

const (
	// ExactlyOnce writes the records of each checkpoint in one Kafka
	// transaction per subtask, and commits it when the checkpoint
	// completes: a consumer that reads with the read_committed isolation
	// level sees every record exactly once, even across failures and
	// restarts, one checkpoint interval late. It needs checkpoints (see
	// [Sink]).
	ExactlyOnce Guarantee = iota
	// AtLeastOnce waits at every checkpoint barrier, and at the end of
	// input, until the brokers acknowledged every record written so far;
	// a failure fails the job. After a restore the records written since
	// the restored checkpoint are written again, so consumers may see
	// duplicates, never gaps.
	AtLeastOnce
	// DeliveryNone writes records without waiting for acknowledgements
	// ("fire and forget", acks=0). Records the brokers did not take are
	// lost: they are counted and logged, and do not fail the job. Flush
	// waits only until the buffered records are sent.
	DeliveryNone
)

// String returns the constant's name.
func (d Guarantee) String() string {
	switch d {
	case ExactlyOnce:
		return "ExactlyOnce"
	case AtLeastOnce:
		return "AtLeastOnce"
	case DeliveryNone:
		return "DeliveryNone"
	}
	return fmt.Sprintf("Guarantee(%d)", int(d))
}

// Defaults of the sink options.
const (
	// DefaultTransactionTimeout is the default of [TransactionTimeout],
	// the default maximum of Kafka brokers (transaction.max.timeout.ms).
	DefaultTransactionTimeout = 15 * time.Minute
	// DefaultTransactionPool is the default of [TransactionPool].
	DefaultTransactionPool = 8
	// DefaultMaxBufferedRecords is the default of [MaxBufferedRecords].
	DefaultMaxBufferedRecords = 10_000
	// DefaultMaxBufferedBytes is the default of [MaxBufferedBytes].
	DefaultMaxBufferedBytes = 32 << 20
	// DefaultDeliveryTimeout is the default of [DeliveryTimeout].
	DefaultDeliveryTimeout = 2 * time.Minute
)

// Sink writes the records of a job to a Kafka topic, with the guarantee
// its [Delivery] names. It implements [sink.Sink] and
// [sink.CommittingSink]; create it with [NewSink].
//
// # Exactly once
//
// Each subtask writes the records between two checkpoint barriers in one
// Kafka transaction. At the barrier the writer waits until the brokers
// acknowledged every record of the transaction and returns its
// committable: its transactional id, producer id and epoch, which the
// checkpoint stores. When the checkpoint completes the committer commits
// the transaction with an EndTxn request that carries that producer id and
// epoch (the brokers know what the transaction wrote; a franz-go client
// can misjudge it); until then read_committed consumers do not see its
// records. A subtask has a pool of TransactionPool producers with fixed
// transactional ids "<prefix>-<subtask>-<n>", because the next
// transaction is written while the previous one waits for its checkpoint;
// each transaction gets a new client, and so its own epoch. In a cluster
// the ids end in "-a<epoch>" (see [sink.AttemptOf]): a worker cut off from
// the others runs its old part of the job until it notices, and were its
// ids those of the new epoch's writer of its subtask, its next transaction
// would fence that writer and abort the transaction that waits for its
// checkpoint.
// Checkpoints are required: without them NewWriter fails and says to
// enable them or to choose AtLeastOnce.
//
// What happens on failure:
//
//  1. The job fails, or its process dies. Records of the open transaction
//     and of transactions whose checkpoint did not complete are never
//     committed. A writer that is closed aborts its open transaction at
//     once; a dead process's transactions stay open on the brokers.
//  2. The job restores its last completed checkpoint. Before any writer
//     starts, the committer commits the transactions that checkpoint
//     lists, through their producer id and epoch (an EndTxn request), in
//     whatever process they were written. A transaction that is already
//     committed counts as committed: commits are idempotent.
//  3. Each new writer, before it writes, initializes the transactional ids
//     of its subtask. This fences the producers of the previous run and
//     aborts their open transactions, so the last stable offset of each
//     partition moves on and read_committed consumers do not wait for the
//     transaction timeout. After a change of parallelism, subtask s also
//     fences the ids of every old subtask j with j mod parallelism == s,
//     which it learns from its restored state; where the brokers support
//     it (Kafka 3.0+), it also lists the open transactions with the prefix
//     and aborts those of such subtasks, which covers a previous run that
//     never completed a checkpoint (in a cluster: those of its epoch and
//     earlier ones, never a later epoch's).
//  4. The source replays from the checkpoint, and its records go into new
//     transactions.
//
// If a restored transaction can no longer be committed because the brokers
// aborted it (it outlived TransactionTimeout, or a producer with the same
// transactional id fenced it), its records are lost; the committer logs
// this as an error and goes on, as failing would only repeat it on every
// restart.
//
// A writer does not block at a barrier waiting for a free producer: the
// commits that free producers run on the same goroutine, after the
// barrier. When every producer of a subtask holds a transaction that waits
// for a checkpoint, the next Write fails the job, and the restart from the
// last completed checkpoint clears the backlog.
type Sink[T any] struct {
	cfg       sinkConfig
	serialize func(T) (*kgo.Record, error)
	log       *slog.Logger
	reg       *txnRegistry
}

var (
	_ sink.Sink[int]      = (*Sink[int])(nil)
	_ sink.CommittingSink = (*Sink[int])(nil)
)

// NewSink returns a sink that writes to topic, on the cluster client
// reaches, the record that serialize makes of each value, configured by
// the options. The error lists every problem with the arguments and the
// options, each naming what to fix. NewSink does not connect: a cluster
// that cannot be reached fails the job when it starts writing.
//
// serialize sets the record's Value and, if it has one, its Key, Headers
// and Timestamp; the sink sets its Topic. Leave Timestamp zero, for the
// time the record is produced, unless it is recent: the producer counts
// [DeliveryTimeout] from it, so the sink fails the job on a record stamped
// longer ago than that. Records with a key are partitioned by it: franz-go's default
// partitioner hashes keys with murmur2 as the Java client does, so records
// with the same key land in the same partition, the one a Java producer
// would choose. Records without a key are spread over the partitions in
// sticky batches. serialize is called in Write, on the subtask's
// goroutine, and returns a new record each time, which the sink keeps; an
// error fails the job, with a message that names the sink and its topic.
//
// Each writer checks the topic when it starts, before its first record:
// brokers that create topics on first use create it then, and otherwise a
// missing topic fails the job at once (see [Sink.CheckTopic]).
func NewSink[T any](client Client, topic string, serialize func(T) (*kgo.Record, error), opts ...SinkOption) (*Sink[T], error) {
	cfg := sinkConfig{
		client:             client,
		topic:              topic,
		txnTimeout:         DefaultTransactionTimeout,
		txnPool:            DefaultTransactionPool,
		maxBufferedRecords: DefaultMaxBufferedRecords,
		maxBufferedBytes:   DefaultMaxBufferedBytes,
		deliveryTimeout:    DefaultDeliveryTimeout,
		log:                slog.Default(),
	}
	for _, o := range opts {
		o.applySink(&cfg)
	}
	if !cfg.prefixSet {
		cfg.prefix = "weir-" + topic
	}
	errs := cfg.validate()
	if serialize == nil {
		errs = append(errs, fmt.Errorf("kafka: %s: the serializer is nil: pass a func(%T) (*kgo.Record, error) that makes the record of a value, such as one that sets Value to its JSON", cfg.what(), *new(T)))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &Sink[T]{cfg: cfg, serialize: serialize, log: cfg.log.With("sink", "kafka", "topic", topic), reg: newTxnRegistry()}, nil
}

// String describes the sink with the values of its options, defaults
// included.
func (s *Sink[T]) String() string {
	c := s.cfg
	var b strings.Builder
	fmt.Fprintf(&b, "kafka sink: topic %s, brokers %s, delivery %s", c.topic, strings.Join(c.client.Brokers, ","), c.delivery)
	if c.delivery == ExactlyOnce {
		fmt.Fprintf(&b, ", transactional ids %s-<subtask>-<0..%d> (-a<epoch> after them in a cluster), transaction timeout %v", c.prefix, c.txnPool-1, c.txnTimeout)
	}
	fmt.Fprintf(&b, ", max buffered %d records or %d bytes, delivery timeout %v", c.maxBufferedRecords, c.maxBufferedBytes, c.deliveryTimeout)
	return b.String()
}

// what names the sink in messages.
func (c *sinkConfig) what() string {
	if c.topic == "" {
		return "sink"
	}
	return fmt.Sprintf("sink to topic %q", c.topic)
}

// validate reports every problem with the configuration, each naming the
// argument or the option and the fix.
func (c *sinkConfig) validate() []error {
	var errs []error
	what := c.what()
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("kafka: %s: "+format, append([]any{what}, args...)...))
	}
	if err := c.client.validate(what); err != nil {
		errs = append(errs, err)
	}
	if c.topic == "" {
		add("the topic is empty: pass the topic to write to")
	} else if err := validTopic(c.topic); err != nil {
		add("topic %v", err)
	}
	switch c.delivery {
	case ExactlyOnce, AtLeastOnce, DeliveryNone:
	default:
		add("Delivery(%d): pass ExactlyOnce, AtLeastOnce or DeliveryNone", int(c.delivery))
	}
	if c.prefixSet && (c.prefix == "" || len(c.prefix) > 200) {
		add("TransactionalIDPrefix(%q) is %d bytes long: pass 1 to 200, or leave TransactionalIDPrefix out for \"weir-\" and the topic", c.prefix, len(c.prefix))
	}
	if c.txnTimeout < time.Second {
		add("TransactionTimeout(%v) is below 1s: pass more than the checkpoint interval, or leave TransactionTimeout out for %v", c.txnTimeout, DefaultTransactionTimeout)
	}
	if c.txnPool < 2 {
		add("TransactionPool(%d) is below 2: one transaction is written while the previous one waits for its checkpoint; leave TransactionPool out for %d", c.txnPool, DefaultTransactionPool)
	} else if c.txnPool > 1000 {
		add("TransactionPool(%d) is above 1000: a few producers suffice unless checkpoints keep failing; leave TransactionPool out for %d", c.txnPool, DefaultTransactionPool)
	}
	if c.maxBufferedRecords <= 0 {
		add("MaxBufferedRecords(%d): pass a positive number, or leave MaxBufferedRecords out for %d", c.maxBufferedRecords, DefaultMaxBufferedRecords)
	}
	if c.maxBufferedBytes <= 0 {
		add("MaxBufferedBytes(%d): pass a positive number, or leave MaxBufferedBytes out for %d", c.maxBufferedBytes, DefaultMaxBufferedBytes)
	}
	if c.deliveryTimeout <= 0 {
		add("DeliveryTimeout(%v): pass a positive duration, or leave DeliveryTimeout out for %v", c.deliveryTimeout, DefaultDeliveryTimeout)
	}
	if c.log == nil {
		add("WithLogger(nil): pass a logger, or leave WithLogger out for slog.Default()")
	}
	return errs
}

// validTopic applies Kafka's rules for topic names.
func validTopic(t string) error {
	if len(t) > 249 {
		return fmt.Errorf("%q is %d characters long: Kafka allows at most 249", t, len(t))
	}
	if t == "." || t == ".." {
		return fmt.Errorf("%q is not a valid topic name: Kafka reserves it", t)
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("%q holds %q: Kafka topic names use only ASCII letters, digits, '.', '_' and '-'", t, r)
		}
	}
	return nil
}

// NewWriter returns the writer of one subtask. With ExactlyOnce it fails
// when the job takes no checkpoints. It does not connect: a writer fences
// its transactional ids (see [Sink]) on its first Write, PreCommit or
// Flush, which have a context.
func (s *Sink[T]) NewWriter(ctx sink.WriterContext) (sink.Writer[T], error) {
	var restored *sinkWriterState
	if b := ctx.Restored(); len(b) > 0 {
		st, err := decodeSinkWriterState(b)
		if err != nil {
			return nil, fmt.Errorf("kafka: sink to topic %q: %w", s.cfg.topic, err)
		}
		restored = &st
	}
	if s.cfg.delivery == ExactlyOnce {
		if !ctx.Checkpointing() {
			return nil, fmt.Errorf("kafka: sink to topic %q: Delivery(ExactlyOnce) commits Kafka transactions when checkpoints complete, and the job takes no checkpoints: "+
				"enable them with weir.Checkpoints(interval, dir), or pass Delivery(AtLeastOnce)", s.cfg.topic)
		}
		return newTxnWriter(s, s.writerLog(ctx), ctx.Subtask(), ctx.Parallelism(), sink.AttemptOf(ctx), restored), nil
	}
	return newPlainWriter(s, s.writerLog(ctx), ctx.Subtask(), ctx.Parallelism(), sink.AttemptOf(ctx), restored), nil
}

// writerLog is the logger of a writer: the runtime's for its subtask
// (whose lines carry the job, the operator and the subtask), unless the
// user gave the sink one with WithLogger.
func (s *Sink[T]) writerLog(ctx sink.WriterContext) *slog.Logger {
	if s.cfg.logSet {
		return s.log
	}
	return sink.LoggerOf(ctx, s.cfg.log).With("sink", "kafka", "topic", s.cfg.topic)
}

// NewCommitter returns the committer that commits the transactions the
// sink's writers pre-committed; see [Sink] for how. Its Commit is
// idempotent, and it opens a connection only for transactions that no
// writer of this process holds (those of a restored checkpoint), closed
// before Commit returns.
func (s *Sink[T]) NewCommitter() (sink.Committer, error) {
	return &txnCommitter{client: s.cfg.client, timeout: s.cfg.txnTimeout, reg: s.reg, log: s.log}, nil
}

// record builds the Kafka record of v.
func (s *Sink[T]) record(v T) (*kgo.Record, error) {
	r, err := s.serialize(v)
	switch {
	case err != nil:
		return nil, fmt.Errorf("kafka: sink to topic %q: the serializer failed on a record: %w", s.cfg.topic, err)
	case r == nil:
		return nil, fmt.Errorf("kafka: sink to topic %q: the serializer returned no record and no error: return the record, or an error for a value it cannot write", s.cfg.topic)
	case r.Topic != "" && r.Topic != s.cfg.topic:
		return nil, fmt.Errorf("kafka: sink to topic %q: the serializer set the record's Topic to %q: a sink writes to its one topic; leave Topic empty, or make a sink for each topic", s.cfg.topic, r.Topic)
	case !r.Timestamp.IsZero() && time.Since(r.Timestamp) >= s.cfg.deliveryTimeout:
		// franz-go counts the delivery timeout from the record's
		// timestamp: such a record would time out before it is sent.
		return nil, fmt.Errorf("kafka: sink to topic %q: the serializer set the record's Timestamp to %v, more than DeliveryTimeout (%v) ago, and the producer counts the timeout from it: leave Timestamp zero for the time the record is produced",
			s.cfg.topic, r.Timestamp, s.cfg.deliveryTimeout)
	}
	r.Topic = s.cfg.topic
	return r, nil
}

// producerOpts returns the options of a producer client of the sink that
// logs to log.
func (s *Sink[T]) producerOpts(log *slog.Logger, extra ...kgo.Opt) []kgo.Opt {
	opts := append(s.cfg.client.Opts(),
		kgo.DefaultProduceTopic(s.cfg.topic),
		kgo.MaxBufferedRecords(s.cfg.maxBufferedRecords),
		kgo.MaxBufferedBytes(s.cfg.maxBufferedBytes),
		kgo.RecordDeliveryTimeout(s.cfg.deliveryTimeout),
		kgo.WithLogger(kgoLogger{log}),
	)
	return append(opts, extra...)
}
