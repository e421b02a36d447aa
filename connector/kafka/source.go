package kafka

import (
	"errors"
	"fmt"
	"log/slog"
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
// A reader holds at most two fetch responses per broker that it has not
// emitted yet: the one it emits from, a poll of at most 4096 records at a
// time, and the next, which the client fetches meanwhile. Its memory is
// bounded by franz-go's fetch limits (50 MiB per fetch, 1 MiB per
// partition, by default).
type Source[T any] struct {
	cfg         sourceConfig
	deserialize func(*kgo.Record) (T, error)
	log         *slog.Logger
	deadLetters atomic.Int64
}

var (
	_ source.Source[string] = (*Source[string])(nil)
	_ source.Checkpointed   = (*Source[string])(nil)
)

// NewSource returns a source that reads the topics of the cluster client
// reaches, each record decoded by deserialize ([StringValue] and
// [BytesValue] take the value as it is), configured by the options. The
// error lists every problem with the arguments and the options, each
// naming what to fix. NewSource does not connect: the enumerator does when
// the job starts.
//
// A record that deserialize fails on is not emitted: it goes to the job's
// dead letters (weir.SourceDeadLetters) with its partition, offset and the
// error, and is counted (Source.DeadLetters). deserialize is called on the
// reader's goroutine; the record is not used again after the call, so the
// result may keep its Value or Key.
func NewSource[T any](client Client, topics Subscription, deserialize func(*kgo.Record) (T, error), opts ...SourceOption) (*Source[T], error) {
	cfg := sourceConfig{
		client:            client,
		topics:            slices.Clone(topics.topics),
		pattern:           topics.pattern,
		discoveryInterval: DefaultDiscoveryInterval,
		commitInterval:    DefaultCommitInterval,
		log:               slog.Default(),
	}
	for _, o := range opts {
		o.applySource(&cfg)
	}
	var errs []error
	if err := cfg.client.validate("source"); err != nil {
		errs = append(errs, err)
	}
	switch {
	case topics.byName && len(cfg.topics) == 0:
		errs = append(errs, errors.New("kafka: source: Topics() names no topic: pass the topics to read, or TopicPattern(re) to match them"))
	case topics.byPattern && cfg.pattern == nil:
		errs = append(errs, errors.New("kafka: source: TopicPattern(nil): pass a regular expression that matches the topics to read"))
	case !topics.byName && !topics.byPattern:
		errs = append(errs, errors.New("kafka: source: no topics: pass kafka.Topics(names...) or kafka.TopicPattern(re)"))
	}
	for _, t := range cfg.topics {
		if err := checkTopic(t); err != nil {
			errs = append(errs, fmt.Errorf("kafka: source: Topics: %w", err))
		}
	}
	slices.Sort(cfg.topics)
	cfg.topics = slices.Compact(cfg.topics)
	errs = append(errs, cfg.start.validate(cfg.group, cfg.topics, cfg.pattern)...)
	if deserialize == nil {
		errs = append(errs, fmt.Errorf("kafka: source: the deserializer is nil: pass a func(*kgo.Record) (%T, error) that decodes a record, or kafka.StringValue or kafka.BytesValue", *new(T)))
	}
	if cfg.discoveryInterval < 0 {
		errs = append(errs, fmt.Errorf("kafka: source: DiscoveryInterval(%v): pass a positive duration, zero for no discovery, or leave DiscoveryInterval out for %v", cfg.discoveryInterval, DefaultDiscoveryInterval))
	}
	if cfg.commitInterval < 0 {
		errs = append(errs, fmt.Errorf("kafka: source: CommitInterval(%v): pass a positive duration, zero for no commits on a schedule, or leave CommitInterval out for %v", cfg.commitInterval, DefaultCommitInterval))
	}
	if cfg.log == nil {
		errs = append(errs, errors.New("kafka: source: WithLogger(nil): pass a logger, or leave WithLogger out for slog.Default()"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &Source[T]{cfg: cfg, deserialize: deserialize, log: cfg.log}, nil
}

// StringValue is the deserializer of a source of strings: it returns the
// record's value as a string.
func StringValue(r *kgo.Record) (string, error) { return string(r.Value), nil }

// BytesValue is the deserializer of a source of []byte: it returns the
// record's value itself, which the source does not use again.
func BytesValue(r *kgo.Record) ([]byte, error) { return r.Value, nil }

// Boundedness returns source.Bounded with the option Bounded.
func (s *Source[T]) Boundedness() source.Boundedness {
	if s.cfg.bounded {
		return source.Bounded
	}
	return source.Unbounded
}

// DeadLetters returns how many records the deserializer rejected, over
// every reader and run of the job.
func (s *Source[T]) DeadLetters() int64 { return s.deadLetters.Load() }

// String describes the source with the values of its options, defaults
// included.
func (s *Source[T]) String() string {
	var b strings.Builder
	b.WriteString("kafka source: ")
	if s.cfg.pattern != nil {
		fmt.Fprintf(&b, "topics matching %q", s.cfg.pattern.String())
	} else {
		fmt.Fprintf(&b, "topics %s", strings.Join(s.cfg.topics, ","))
	}
	fmt.Fprintf(&b, ", brokers %s, start %s", strings.Join(s.cfg.client.Brokers, ","), s.cfg.start)
	if s.cfg.bounded {
		b.WriteString(", bounded")
	} else if s.cfg.discoveryInterval > 0 {
		fmt.Fprintf(&b, ", discovery every %v", s.cfg.discoveryInterval)
	} else {
		b.WriteString(", no discovery")
	}
	if s.cfg.group != "" {
		fmt.Fprintf(&b, ", group %q", s.cfg.group)
		if s.cfg.commitInterval > 0 {
			fmt.Fprintf(&b, " (without checkpoints: commit every %v)", s.cfg.commitInterval)
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
