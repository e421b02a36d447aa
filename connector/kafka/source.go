package kafka

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/source"
)

// Defaults of the source options.
const (
	// DefaultDiscoveryInterval is how often an unbounded source looks for
	// new partitions and, with TopicPattern, new topics.
	DefaultDiscoveryInterval = 10 * time.Second
	// DefaultCommitInterval is how often a reader commits its offsets to
	// the Group when the job takes no checkpoints.
	DefaultCommitInterval = 5 * time.Second
)

// maxPollRecords bounds the records one Poll emits.
const maxPollRecords = 4096

// pollWait is the longest Poll waits for records when none are buffered.
const pollWait = 25 * time.Millisecond

// SourceConfig configures a Kafka source; see [NewSource]. Set Brokers,
// one of Topics and TopicPattern, and, unless T is string or []byte,
// Deserializer.
type SourceConfig[T any] struct {
	// Client says how to reach the cluster.
	Client

	// Topics are the topics to read. Each must exist when the job starts.
	// Set Topics or TopicPattern, not both.
	Topics []string
	// TopicPattern selects the topics to read by name: every topic the
	// pattern matches (anywhere in the name, as regexp.MatchString does;
	// anchor it with ^ and $ to match whole names), except Kafka's
	// internal topics. An unbounded source also reads topics that start
	// to match while it runs (see DiscoveryInterval).
	TopicPattern *regexp.Regexp

	// Group is the consumer group to which readers commit the offsets
	// they reached, so that lag tools see the job's progress and a job
	// can start from Committed(). With checkpoints on, a reader commits
	// the offsets of each checkpoint when it completes, and its final
	// offsets when a Bounded source has read to its end; with them off,
	// every CommitInterval and when it closes. The readers do not join the
	// group: partitions are assigned by the source, so use a group name
	// that no running Kafka consumer uses. The job itself never reads
	// these offsets back, except to start from Committed(): it restores
	// from its checkpoints, so with checkpoints on, what an unbounded job
	// read after the last completed checkpoint is not committed. Empty,
	// the default, commits nothing.
	Group string

	// Start says where to start reading when the job starts fresh (a job
	// restored from a checkpoint resumes from it). The default is
	// Earliest().
	Start StartOffsets

	// Bounded makes the source end: it reads each partition up to the
	// last stable offset it had when the job started, and then the job
	// finishes. Partitions created later are not read. By default the
	// source is unbounded.
	Bounded bool

	// Deserializer decodes a record. A record it fails on is not emitted:
	// it goes to the job's dead letters (weir.SourceDeadLetters) with its
	// partition, offset and the error, and is counted (Source.DeadLetters).
	// It is called on the reader's goroutine; the record is not used
	// again after the call, so the result may keep its Value or Key.
	// For T string the default takes the value as a string, for T []byte
	// the value itself; other types must set it.
	Deserializer func(*kgo.Record) (T, error)

	// DiscoveryInterval is how often an unbounded source looks for new
	// partitions of its topics and, with TopicPattern, for new matching
	// topics. What it finds is read from the earliest offset. Negative
	// turns discovery off; zero means DefaultDiscoveryInterval (10s). A
	// bounded source does not discover.
	DiscoveryInterval time.Duration

	// CommitInterval is how often a reader commits its offsets to Group
	// when the job takes no checkpoints. Negative turns these commits off;
	// zero means DefaultCommitInterval (5s). With checkpoints on, readers
	// commit when checkpoints complete instead.
	CommitInterval time.Duration

	// Logger receives the source's logs; the default is slog.Default().
	Logger *slog.Logger
}

// Source reads records from Kafka topics. It implements [source.Source]
// and [source.Checkpointed]; create it with [NewSource].
//
// Each partition is a split. The enumerator finds the partitions, works
// out where each starts and, when bounded, stops, and gives each to the
// reader of one subtask: the same one at every start of the job at the
// same parallelism. Each reader consumes its partitions with a Kafka
// client of its own, with read_committed isolation: records of aborted
// transactions, and of transactions still open, are never read. It emits
// each record with the record's timestamp as its event time, through the
// partition's own output (source.SplitOutputs), so a watermark strategy
// given to weir.FromSourceWithWatermarks runs per partition.
//
// With checkpoints, the partitions' offsets are part of the checkpoint,
// and a restored job reads every record exactly once into its state.
//
// A reader holds at most one fetch response per broker that it has not
// emitted yet: its memory is bounded by franz-go's fetch limits (50 MiB
// per fetch, 1 MiB per partition, by default).
type Source[T any] struct {
	cfg         SourceConfig[T]
	deserialize func(*kgo.Record) (T, error)
	log         *slog.Logger
	deadLetters atomic.Int64
}

var (
	_ source.Source[string] = (*Source[string])(nil)
	_ source.Checkpointed   = (*Source[string])(nil)
)

// NewSource returns a Kafka source configured by cfg, or an error that
// lists every problem with cfg, each naming the option and the fix.
// It does not connect: the enumerator does when the job starts.
func NewSource[T any](cfg SourceConfig[T]) (*Source[T], error) {
	var errs []error
	if err := cfg.Client.validate("source"); err != nil {
		errs = append(errs, err)
	}
	cfg.Topics = slices.Clone(cfg.Topics)
	switch {
	case len(cfg.Topics) > 0 && cfg.TopicPattern != nil:
		errs = append(errs, errors.New("kafka: source: both Topics and TopicPattern are set: set only one"))
	case len(cfg.Topics) == 0 && cfg.TopicPattern == nil:
		errs = append(errs, errors.New("kafka: source: no topics: set Topics to the topics to read, or TopicPattern to a regular expression that matches them"))
	}
	for i, t := range cfg.Topics {
		if err := checkTopic(t); err != nil {
			errs = append(errs, fmt.Errorf("kafka: source: Topics[%d]: %w", i, err))
		}
	}
	slices.Sort(cfg.Topics)
	cfg.Topics = slices.Compact(cfg.Topics)
	errs = append(errs, cfg.Start.validate(cfg.Group, cfg.Topics, cfg.TopicPattern)...)
	deserialize := cfg.Deserializer
	if deserialize == nil {
		if deserialize = defaultDeserializer[T](); deserialize == nil {
			errs = append(errs, fmt.Errorf("kafka: source: Deserializer is nil: set it to a func(*kgo.Record) (%T, error) that decodes a record (only string and []byte have a default)", *new(T)))
		}
	}
	if cfg.DiscoveryInterval == 0 {
		cfg.DiscoveryInterval = DefaultDiscoveryInterval
	}
	if cfg.CommitInterval == 0 {
		cfg.CommitInterval = DefaultCommitInterval
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Source[T]{cfg: cfg, deserialize: deserialize, log: log}, nil
}

// defaultDeserializer returns the deserializer of T string or []byte, or
// nil.
func defaultDeserializer[T any]() func(*kgo.Record) (T, error) {
	var f any
	switch any(*new(T)).(type) {
	case string:
		f = func(r *kgo.Record) (string, error) { return string(r.Value), nil }
	case []byte:
		f = func(r *kgo.Record) ([]byte, error) { return r.Value, nil }
	default:
		return nil
	}
	return f.(func(*kgo.Record) (T, error))
}

// Boundedness returns source.Bounded when SourceConfig.Bounded is set.
func (s *Source[T]) Boundedness() source.Boundedness {
	if s.cfg.Bounded {
		return source.Bounded
	}
	return source.Unbounded
}

// DeadLetters returns how many records the Deserializer rejected, over
// every reader and run of the job.
func (s *Source[T]) DeadLetters() int64 { return s.deadLetters.Load() }

// String describes the source with the values of its options, defaults
// included.
func (s *Source[T]) String() string {
	var b strings.Builder
	b.WriteString("kafka source: ")
	if s.cfg.TopicPattern != nil {
		fmt.Fprintf(&b, "topics matching %q", s.cfg.TopicPattern.String())
	} else {
		fmt.Fprintf(&b, "topics %s", strings.Join(s.cfg.Topics, ","))
	}
	fmt.Fprintf(&b, ", brokers %s, start %s", strings.Join(s.cfg.Brokers, ","), s.cfg.Start)
	if s.cfg.Bounded {
		b.WriteString(", bounded")
	} else if s.cfg.DiscoveryInterval > 0 {
		fmt.Fprintf(&b, ", discovery every %v", s.cfg.DiscoveryInterval)
	} else {
		b.WriteString(", no discovery")
	}
	if s.cfg.Group != "" {
		fmt.Fprintf(&b, ", group %q", s.cfg.Group)
		if s.cfg.CommitInterval > 0 {
			fmt.Fprintf(&b, " (without checkpoints: commit every %v)", s.cfg.CommitInterval)
		}
	}
	b.WriteString(", read_committed")
	return b.String()
}

// NewEnumerator returns the source's enumerator. It connects when started.
// When the job restores a checkpoint, the enumerator hands out the splits
// of the checkpoint instead of starting afresh, and does not discover
// again the partitions it knew then, finished ones included.
func (s *Source[T]) NewEnumerator(ctx source.EnumeratorContext) (source.Enumerator, error) {
	return newEnumerator(s, ctx)
}

// NewReader returns the reader of one subtask. It connects when started.
func (s *Source[T]) NewReader(ctx source.ReaderContext) (source.Reader[T], error) {
	return newReader(s, ctx), nil
}

// EncodeSplit implements source.Checkpointed. The format is versioned
// (see split.go).
func (s *Source[T]) EncodeSplit(sp source.Split) ([]byte, error) {
	ks, ok := sp.(*Split)
	if !ok {
		return nil, fmt.Errorf("kafka: cannot encode split %q of type %T: it is not a Kafka split", sp.SplitID(), sp)
	}
	return encodeSplit(ks), nil
}

// DecodeSplit implements source.Checkpointed.
func (s *Source[T]) DecodeSplit(b []byte) (source.Split, error) {
	sp, err := decodeSplit(b)
	if err != nil {
		return nil, fmt.Errorf("kafka: decode split: %w; the checkpoint is damaged or was written by another source", err)
	}
	return sp, nil
}
