package kafka

import (
	"log/slog"
	"regexp"
	"slices"
	"time"
)

// SourceOption configures [NewSource]: an [Option], or one of the source's
// own (Group, Start, Bounded, DiscoveryInterval, CommitInterval). Each
// option's documentation states the default it overrides; when an option
// is given twice, the last one counts.
type SourceOption interface {
	applySource(*sourceConfig)
}

// SinkOption configures [NewSink]: an [Option], or one of the sink's own
// (Delivery, TransactionalIDPrefix, TransactionTimeout, TransactionPool,
// MaxBufferedRecords, MaxBufferedBytes, DeliveryTimeout).
type SinkOption interface {
	applySink(*sinkConfig)
}

// Option configures a source and a sink alike: [NewSource] and [NewSink]
// take it.
type Option interface {
	SourceOption
	SinkOption
}

// sourceConfig is a source's configuration, defaults included.
type sourceConfig struct {
	client            Client
	topics            []string       // sorted, without duplicates; or
	pattern           *regexp.Regexp // the topics that match
	group             string
	start             StartOffsets
	bounded           bool
	discoveryInterval time.Duration // 0: no discovery
	commitInterval    time.Duration // 0: no commits on a schedule
	log               *slog.Logger
	logSet            bool // log is WithLogger's: the readers use it too
}

// sinkConfig is a sink's configuration, defaults included.
type sinkConfig struct {
	client             Client
	topic              string
	delivery           Guarantee
	prefix             string // of the transactional ids
	txnTimeout         time.Duration
	txnPool            int
	maxBufferedRecords int
	maxBufferedBytes   int
	deliveryTimeout    time.Duration
	log                *slog.Logger
	logSet             bool // log is WithLogger's: the writers use it too
	prefixSet          bool // TransactionalIDPrefix given
}

type sourceOption func(*sourceConfig)

func (f sourceOption) applySource(c *sourceConfig) { f(c) }

type sinkOption func(*sinkConfig)

func (f sinkOption) applySink(c *sinkConfig) { f(c) }

// loggerOption is WithLogger, an Option.
type loggerOption struct{ l *slog.Logger }

func (o loggerOption) applySource(c *sourceConfig) { c.log, c.logSet = o.l, true }
func (o loggerOption) applySink(c *sinkConfig)     { c.log, c.logSet = o.l, true }

// WithLogger sends the log lines of the source or the sink to l, with
// the warnings and errors of the sink's franz-go producers. The default is
// slog.Default(), and for a source's readers and a sink's writers the
// logger the job gives each of them (its lines name the job, the operator
// and the subtask).
func WithLogger(l *slog.Logger) Option { return loggerOption{l} }

// Subscription says which topics a source reads; [Topics] and
// [TopicPattern] make one.
type Subscription struct {
	topics    []string
	pattern   *regexp.Regexp
	byName    bool // made by Topics
	byPattern bool // made by TopicPattern
}

// Topics subscribes to the named topics. Each must exist when the job
// starts; a name given twice counts once.
func Topics(names ...string) Subscription {
	return Subscription{topics: slices.Clone(names), byName: true}
}

// TopicPattern subscribes to every topic the pattern matches (anywhere in
// the name, as regexp.MatchString does; anchor it with ^ and $ to match
// whole names), except Kafka's internal topics. An unbounded source also
// reads topics that start to match while it runs (see
// [DiscoveryInterval]).
func TopicPattern(re *regexp.Regexp) Subscription {
	return Subscription{pattern: re, byPattern: true}
}

// Group names the consumer group to which readers commit the offsets they
// reached, so that lag tools see the job's progress and a job can start
// from Committed(). With checkpoints on, a reader commits the offsets of
// each checkpoint when it completes, and its final offsets when a bounded
// source has read to its end; with them off, every [CommitInterval] and
// when it closes. The readers do not join the group: partitions are
// assigned by the source, so use a group name that no running Kafka
// consumer uses. The job itself never reads these offsets back, except to
// start from Committed(): it restores from its checkpoints, so with
// checkpoints on, what an unbounded job read after the last completed
// checkpoint is not committed. By default there is no group and nothing is
// committed.
func Group(name string) SourceOption {
	return sourceOption(func(c *sourceConfig) { c.group = name })
}

// Start says where to start reading when the job starts fresh (a job
// restored from a checkpoint resumes from it): Earliest(), Latest(),
// Committed(), AtTime(t) or Offsets(m). The default is Earliest().
func Start(at StartOffsets) SourceOption {
	return sourceOption(func(c *sourceConfig) { c.start = at })
}

// Bounded makes the source end: it reads each partition up to the last
// stable offset it had when the job started, and then the job finishes.
// Partitions created later are not read. By default the source is
// unbounded.
func Bounded() SourceOption {
	return sourceOption(func(c *sourceConfig) { c.bounded = true })
}

// DiscoveryInterval sets how often an unbounded source looks for new
// partitions of its topics and, with TopicPattern, for new matching
// topics. What it finds is read from the earliest offset. Zero turns
// discovery off; d must not be negative. A bounded source does not
// discover. The default is [DefaultDiscoveryInterval] (10s).
func DiscoveryInterval(d time.Duration) SourceOption {
	return sourceOption(func(c *sourceConfig) { c.discoveryInterval = d })
}

// CommitInterval sets how often a reader commits its offsets to the
// [Group] when the job takes no checkpoints. Zero turns these commits off;
// d must not be negative. With checkpoints on, readers commit when
// checkpoints complete instead. The default is [DefaultCommitInterval]
// (5s).
func CommitInterval(d time.Duration) SourceOption {
	return sourceOption(func(c *sourceConfig) { c.commitInterval = d })
}

// Delivery sets the guarantee of the sink: [ExactlyOnce], [AtLeastOnce]
// or [DeliveryNone]. The default is ExactlyOnce, which needs checkpoints.
func Delivery(g Guarantee) SinkOption {
	return sinkOption(func(c *sinkConfig) { c.delivery = g })
}

// TransactionalIDPrefix starts the transactional ids of the sink's
// producers with ExactlyOnce: "<prefix>-<subtask>-<n>", n in
// [0, TransactionPool), and "-a<epoch>" after it in a cluster (see
// [Sink]). It must not be empty nor longer than 200 bytes.
// The default is "weir-" followed by the topic.
//
// The prefix identifies the job to the brokers. Two jobs that write to the
// same topic with ExactlyOnce need different prefixes: otherwise each
// fences the other's producers and both keep failing. A job started again
// with the same prefix (after a crash, or to resume from a checkpoint)
// fences the producers of its previous run and aborts their open
// transactions, which is what lets read_committed consumers move on past
// them.
func TransactionalIDPrefix(prefix string) SinkOption {
	return sinkOption(func(c *sinkConfig) { c.prefix, c.prefixSet = prefix, true })
}

// TransactionTimeout sets how long the brokers let a transaction stay
// open before they abort it, at least 1s. A transaction stays open from
// its first record until the checkpoint after it completes, so the timeout
// must exceed the checkpoint interval plus the time checkpoints take to
// complete, plus the time a failed job needs to restart: a transaction the
// brokers aborted before its checkpoint's commit loses its records (the
// sink logs it as an error). It must not exceed the brokers'
// transaction.max.timeout.ms (15 minutes unless changed). The default is
// [DefaultTransactionTimeout] (15 minutes).
func TransactionTimeout(d time.Duration) SinkOption {
	return sinkOption(func(c *sinkConfig) { c.txnTimeout = d })
}

// TransactionPool sets the number of transactional producers of each
// subtask with ExactlyOnce, from 2 to 1000. The records after a checkpoint
// barrier go into a new transaction while the one before waits for the
// checkpoint to complete, and a producer serves again only once its
// transaction is committed. Normally two or three are busy; each
// checkpoint that fails or is aborted keeps one more busy until a later
// checkpoint completes. When none is free, the next Write fails the job,
// which then restarts from its last completed checkpoint: see [Sink]. A
// producer's client is created when a transaction begins on it. The
// default is [DefaultTransactionPool] (8).
func TransactionPool(n int) SinkOption {
	return sinkOption(func(c *sinkConfig) { c.txnPool = n })
}

// MaxBufferedRecords bounds the records a subtask's producer holds that
// the brokers have not acknowledged yet; Write blocks while it is
// reached, which backpressures the job. It must be positive. The default
// is [DefaultMaxBufferedRecords] (10,000).
func MaxBufferedRecords(n int) SinkOption {
	return sinkOption(func(c *sinkConfig) { c.maxBufferedRecords = n })
}

// MaxBufferedBytes bounds the bytes of those records likewise; a single
// record larger than this fails. It must be positive. The default is
// [DefaultMaxBufferedBytes] (32 MiB).
func MaxBufferedBytes(n int) SinkOption {
	return sinkOption(func(c *sinkConfig) { c.maxBufferedBytes = n })
}

// DeliveryTimeout sets how long a record may wait for the brokers'
// acknowledgement, retries included, before it fails (and the job with
// it, with AtLeastOnce and ExactlyOnce). It must be positive. The default
// is [DefaultDeliveryTimeout] (2 minutes).
func DeliveryTimeout(d time.Duration) SinkOption {
	return sinkOption(func(c *sinkConfig) { c.deliveryTimeout = d })
}
