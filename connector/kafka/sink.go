package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/sink"
)

// Delivery is what a Kafka sink guarantees about the records it writes.
// The zero value is ExactlyOnce.
type Delivery int

const (
	// ExactlyOnce writes the records of each checkpoint in one Kafka
	// transaction per subtask, and commits it when the checkpoint
	// completes: a consumer that reads with the read_committed isolation
	// level sees every record exactly once, even across failures and
	// restarts, one checkpoint interval late. It needs checkpoints (see
	// [Sink]).
	ExactlyOnce Delivery = iota
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
func (d Delivery) String() string {
	switch d {
	case ExactlyOnce:
		return "ExactlyOnce"
	case AtLeastOnce:
		return "AtLeastOnce"
	case DeliveryNone:
		return "DeliveryNone"
	}
	return fmt.Sprintf("Delivery(%d)", int(d))
}

// Defaults of [SinkConfig].
const (
	// DefaultTransactionTimeout is the default SinkConfig.TransactionTimeout,
	// the default maximum of Kafka brokers (transaction.max.timeout.ms).
	DefaultTransactionTimeout = 15 * time.Minute
	// DefaultTransactionPool is the default SinkConfig.TransactionPool.
	DefaultTransactionPool = 8
	// DefaultMaxBufferedRecords is the default SinkConfig.MaxBufferedRecords.
	DefaultMaxBufferedRecords = 10_000
	// DefaultMaxBufferedBytes is the default SinkConfig.MaxBufferedBytes.
	DefaultMaxBufferedBytes = 32 << 20
	// DefaultDeliveryTimeout is the default SinkConfig.DeliveryTimeout.
	DefaultDeliveryTimeout = 2 * time.Minute
)

// SinkConfig configures [NewSink]. Topic and Value are required; every
// other field has a default, stated in its comment, that applies when it
// is left zero. [Sink.Config] returns the values in effect.
type SinkConfig[T any] struct {
	// Client says how to reach the cluster; Brokers is required.
	Client

	// Topic is the topic every record goes to. Required. Each writer
	// checks it when it starts, before its first record: brokers that
	// create topics on first use create it then, and otherwise a missing
	// topic fails the job at once (see [Sink.CheckTopic]).
	Topic string

	// Key returns the key of a record, or nil for none. Records with a
	// key are partitioned by it: franz-go's default partitioner hashes
	// keys with murmur2 as the Java client does, so records with the same
	// key land in the same partition, the one a Java producer would
	// choose. Records without a key are spread over the partitions in
	// sticky batches. Optional.
	Key func(T) []byte

	// Value encodes a record into the record value. An error fails the
	// job, with a message that names the sink and its topic. Required.
	Value func(T) ([]byte, error)

	// Delivery is the guarantee; the default is ExactlyOnce.
	Delivery Delivery

	// TransactionalIDPrefix starts the transactional ids of the sink's
	// producers with ExactlyOnce: "<prefix>-<subtask>-<n>", n in
	// [0, TransactionPool). The default is "weir-" followed by Topic.
	//
	// The prefix identifies the job to the brokers. Two jobs that write to
	// the same topic with ExactlyOnce need different prefixes: otherwise
	// each fences the other's producers and both keep failing. A job
	// started again with the same prefix (after a crash, or to resume from
	// a checkpoint) fences the producers of its previous run and aborts
	// their open transactions, which is what lets read_committed consumers
	// move on past them.
	TransactionalIDPrefix string

	// TransactionTimeout is how long the brokers let a transaction stay
	// open before they abort it; the default is DefaultTransactionTimeout
	// (15 minutes). A transaction stays open from its first record until
	// the checkpoint after it completes, so the timeout must exceed the
	// checkpoint interval plus the time checkpoints take to complete, plus
	// the time a failed job needs to restart: a transaction the brokers
	// aborted before its checkpoint's commit loses its records (the sink
	// logs it as an error). It must not exceed the brokers'
	// transaction.max.timeout.ms (15 minutes unless changed).
	TransactionTimeout time.Duration

	// TransactionPool is the number of transactional producers of each
	// subtask with ExactlyOnce; the default is DefaultTransactionPool (8),
	// the minimum is 2. The records after a checkpoint barrier go into a
	// new transaction while the one before waits for the checkpoint to
	// complete, and a producer serves again only once its transaction is
	// committed. Normally two or three are busy; each checkpoint that
	// fails or is aborted keeps one more busy until a later checkpoint
	// completes. When none is free, the next Write fails the job, which
	// then restarts from its last completed checkpoint: see [Sink].
	// A producer's client is created when a transaction begins on it.
	TransactionPool int

	// MaxBufferedRecords bounds the records a subtask's producer holds
	// that the brokers have not acknowledged yet; Write blocks while it is
	// reached, which backpressures the job. The default is
	// DefaultMaxBufferedRecords (10,000).
	MaxBufferedRecords int

	// MaxBufferedBytes bounds the bytes of those records likewise; a
	// single record larger than this fails. The default is
	// DefaultMaxBufferedBytes (32 MiB).
	MaxBufferedBytes int

	// DeliveryTimeout is how long a record may wait for the brokers'
	// acknowledgement, retries included, before it fails (and the job
	// with it, with AtLeastOnce and ExactlyOnce). The default is
	// DefaultDeliveryTimeout (2 minutes).
	DeliveryTimeout time.Duration

	// Logger receives the sink's log lines; the default is slog.Default().
	Logger *slog.Logger
}

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
// each transaction gets a new client, and so its own epoch.
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
//     never completed a checkpoint.
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
	cfg SinkConfig[T]
	log *slog.Logger
	reg *txnRegistry
}

var (
	_ sink.Sink[int]      = (*Sink[int])(nil)
	_ sink.CommittingSink = (*Sink[int])(nil)
)

// NewSink returns a sink configured by cfg, after checking every option.
// The error lists each problem, names the option and says how to fix it.
// NewSink does not connect: a cluster that cannot be reached fails the
// job when it starts writing.
func NewSink[T any](cfg SinkConfig[T]) (*Sink[T], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.setDefaults()
	return &Sink[T]{cfg: cfg, log: cfg.Logger.With("sink", "kafka", "topic", cfg.Topic), reg: newTxnRegistry()}, nil
}

// Config returns the sink's configuration with the defaults in effect.
func (s *Sink[T]) Config() SinkConfig[T] { return s.cfg }

func (c *SinkConfig[T]) validate() error {
	var errs []error
	what := "sink"
	if c.Topic != "" {
		what = fmt.Sprintf("sink to topic %q", c.Topic)
	}
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("kafka: %s: "+format, append([]any{what}, args...)...))
	}
	if err := c.Client.validate(what); err != nil {
		errs = append(errs, err)
	}
	if c.Topic == "" {
		add("Topic is empty: set Topic to the topic to write to")
	} else if err := validTopic(c.Topic); err != nil {
		add("Topic: %v", err)
	}
	if c.Value == nil {
		add("Value is nil: set Value to a function that encodes a record, such as json.Marshal for JSON")
	}
	switch c.Delivery {
	case ExactlyOnce, AtLeastOnce, DeliveryNone:
	default:
		add("Delivery %d is unknown: use ExactlyOnce, AtLeastOnce or DeliveryNone", int(c.Delivery))
	}
	if len(c.TransactionalIDPrefix) > 200 {
		add("TransactionalIDPrefix is %d bytes long: use at most 200", len(c.TransactionalIDPrefix))
	}
	if c.TransactionTimeout < 0 || (c.TransactionTimeout > 0 && c.TransactionTimeout < time.Second) {
		add("TransactionTimeout %v is below 1s: leave it 0 for %v, or set it above the checkpoint interval", c.TransactionTimeout, DefaultTransactionTimeout)
	}
	if c.TransactionPool < 0 || c.TransactionPool == 1 {
		add("TransactionPool %d is below 2: one transaction is written while the previous one waits for its checkpoint; leave it 0 for %d", c.TransactionPool, DefaultTransactionPool)
	} else if c.TransactionPool > 1000 {
		add("TransactionPool %d is above 1000: a few producers suffice unless checkpoints keep failing; leave it 0 for %d", c.TransactionPool, DefaultTransactionPool)
	}
	if c.MaxBufferedRecords < 0 {
		add("MaxBufferedRecords %d is negative: leave it 0 for %d", c.MaxBufferedRecords, DefaultMaxBufferedRecords)
	}
	if c.MaxBufferedBytes < 0 {
		add("MaxBufferedBytes %d is negative: leave it 0 for %d", c.MaxBufferedBytes, DefaultMaxBufferedBytes)
	}
	if c.DeliveryTimeout < 0 {
		add("DeliveryTimeout %v is negative: leave it 0 for %v", c.DeliveryTimeout, DefaultDeliveryTimeout)
	}
	return errors.Join(errs...)
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

func (c *SinkConfig[T]) setDefaults() {
	if c.TransactionalIDPrefix == "" {
		c.TransactionalIDPrefix = "weir-" + c.Topic
	}
	if c.TransactionTimeout == 0 {
		c.TransactionTimeout = DefaultTransactionTimeout
	}
	if c.TransactionPool == 0 {
		c.TransactionPool = DefaultTransactionPool
	}
	if c.MaxBufferedRecords == 0 {
		c.MaxBufferedRecords = DefaultMaxBufferedRecords
	}
	if c.MaxBufferedBytes == 0 {
		c.MaxBufferedBytes = DefaultMaxBufferedBytes
	}
	if c.DeliveryTimeout == 0 {
		c.DeliveryTimeout = DefaultDeliveryTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
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
			return nil, fmt.Errorf("kafka: sink to topic %q: %w", s.cfg.Topic, err)
		}
		restored = &st
	}
	if s.cfg.Delivery == ExactlyOnce {
		if !ctx.Checkpointing() {
			return nil, fmt.Errorf("kafka: sink to topic %q: Delivery ExactlyOnce commits Kafka transactions when checkpoints complete, and the job takes no checkpoints: "+
				"enable them with weir.Checkpoints(interval, dir), or set Delivery to AtLeastOnce", s.cfg.Topic)
		}
		return newTxnWriter(s, ctx.Subtask(), ctx.Parallelism(), restored), nil
	}
	return newPlainWriter(s, ctx.Subtask(), ctx.Parallelism(), restored), nil
}

// NewCommitter returns the committer that commits the transactions the
// sink's writers pre-committed; see [Sink] for how. Its Commit is
// idempotent, and it opens a connection only for transactions that no
// writer of this process holds (those of a restored checkpoint), closed
// before Commit returns.
func (s *Sink[T]) NewCommitter() (sink.Committer, error) {
	return &txnCommitter{client: s.cfg.Client, timeout: s.cfg.TransactionTimeout, reg: s.reg, log: s.log}, nil
}

// record builds the Kafka record of v.
func (s *Sink[T]) record(v T) (*kgo.Record, error) {
	val, err := s.cfg.Value(v)
	if err != nil {
		return nil, fmt.Errorf("kafka: sink to topic %q: Value failed to encode a record: %w", s.cfg.Topic, err)
	}
	r := &kgo.Record{Topic: s.cfg.Topic, Value: val}
	if s.cfg.Key != nil {
		r.Key = s.cfg.Key(v)
	}
	return r, nil
}

// producerOpts returns the options of every producer client of the sink.
func (s *Sink[T]) producerOpts(extra ...kgo.Opt) []kgo.Opt {
	opts := append(s.cfg.Client.Opts(),
		kgo.DefaultProduceTopic(s.cfg.Topic),
		kgo.MaxBufferedRecords(s.cfg.MaxBufferedRecords),
		kgo.MaxBufferedBytes(s.cfg.MaxBufferedBytes),
		kgo.RecordDeliveryTimeout(s.cfg.DeliveryTimeout),
		kgo.WithLogger(kgoLogger{s.log}),
	)
	return append(opts, extra...)
}
