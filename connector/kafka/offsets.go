package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// StartOffsets says where a source starts reading the partitions it finds
// when the job starts. Partitions found later, while the job runs, always
// start at their earliest offset, and a job restored from a checkpoint
// resumes where the checkpoint says. The zero value is Earliest.
type StartOffsets struct {
	kind    startKind
	at      time.Time
	offsets map[string]map[int32]int64
}

type startKind int

const (
	startEarliest startKind = iota
	startLatest
	startCommitted
	startAtTime
	startOffsets
)

// Earliest starts at the first record each partition still holds. It is
// the default.
func Earliest() StartOffsets { return StartOffsets{} }

// Latest starts after the last record written before the job started: the
// job reads only what is written from then on. With read_committed reading,
// "last" is the last stable offset, so a transaction still open when the
// job starts is read in full once it commits.
func Latest() StartOffsets { return StartOffsets{kind: startLatest} }

// Committed starts at the offsets the source's [Group] committed, as a
// Kafka consumer group member does; a partition without a committed offset
// starts at its earliest offset. It needs Group.
func Committed() StartOffsets { return StartOffsets{kind: startCommitted} }

// AtTime starts at the first record whose timestamp is at or after t; a
// partition with no such record starts at its end.
func AtTime(t time.Time) StartOffsets { return StartOffsets{kind: startAtTime, at: t} }

// Offsets starts at the given offsets, by topic and partition. A partition
// the map does not name starts at its earliest offset; an offset below
// the earliest the partition still holds starts there, and one beyond
// its end starts at the end. The map is copied.
func Offsets(offsets map[string]map[int32]int64) StartOffsets {
	c := make(map[string]map[int32]int64, len(offsets))
	for t, ps := range offsets {
		c[t] = maps.Clone(ps)
	}
	return StartOffsets{kind: startOffsets, offsets: c}
}

// String names the start, as in "earliest" or "at 2024-05-01T10:00:00Z".
func (s StartOffsets) String() string {
	switch s.kind {
	case startLatest:
		return "latest"
	case startCommitted:
		return "committed (else earliest)"
	case startAtTime:
		return "at " + s.at.Format(time.RFC3339Nano)
	case startOffsets:
		var b strings.Builder
		b.WriteString("offsets")
		for _, t := range slices.Sorted(maps.Keys(s.offsets)) {
			for _, p := range slices.Sorted(maps.Keys(s.offsets[t])) {
				fmt.Fprintf(&b, " %s=%d", splitID(t, p), s.offsets[t][p])
			}
		}
		return b.String()
	default:
		return "earliest"
	}
}

// validate checks the start against the rest of the configuration.
func (s StartOffsets) validate(group string, topics []string, pattern *regexp.Regexp) []error {
	var errs []error
	switch s.kind {
	case startCommitted:
		if group == "" {
			errs = append(errs, errors.New("kafka: source: Start(Committed()) without Group: add Group(name), the consumer group whose offsets to start from, or start from Earliest()"))
		}
	case startAtTime:
		if s.at.IsZero() {
			errs = append(errs, errors.New("kafka: source: Start(AtTime(t)) with the zero time: pass the time to start reading at"))
		}
	case startOffsets:
		for _, t := range slices.Sorted(maps.Keys(s.offsets)) {
			switch {
			case pattern != nil && !pattern.MatchString(t):
				errs = append(errs, fmt.Errorf("kafka: source: Start(Offsets(...)) names topic %q, which TopicPattern does not match: fix the topic in Offsets", t))
			case pattern == nil && !slices.Contains(topics, t):
				errs = append(errs, fmt.Errorf("kafka: source: Start(Offsets(...)) names topic %q, which is not in Topics: add it to Topics or remove it from Offsets", t))
			}
			for _, p := range slices.Sorted(maps.Keys(s.offsets[t])) {
				if o := s.offsets[t][p]; p < 0 || o < 0 {
					errs = append(errs, fmt.Errorf("kafka: source: Start(Offsets(...)): offset %d for partition %d of %q is invalid: partitions and offsets are at least 0", o, p, t))
				}
			}
		}
	}
	return errs
}

// offsetLister is the part of kadm the enumerator uses to find offsets.
type offsetLister interface {
	ListStartOffsets(ctx context.Context, topics ...string) (kadm.ListedOffsets, error)
	ListEndOffsets(ctx context.Context, topics ...string) (kadm.ListedOffsets, error)
	ListCommittedOffsets(ctx context.Context, topics ...string) (kadm.ListedOffsets, error)
	ListOffsetsAfterMilli(ctx context.Context, millisecond int64, topics ...string) (kadm.ListedOffsets, error)
	FetchOffsets(ctx context.Context, group string) (kadm.OffsetResponses, error)
}

// resolveAttempts bounds the tries to list the offsets of partitions whose
// leader is not ready yet (a partition created a moment ago); resolveBackoff
// is the wait between tries.
const (
	resolveAttempts = 20
	resolveBackoff  = 100 * time.Millisecond
)

// resolve returns the splits of parts, which start as start says and, when
// bounded, stop at the last stable offset of now. It retries partitions
// whose offsets Kafka cannot list yet for a short while, then fails.
func resolve(ctx context.Context, adm offsetLister, start StartOffsets, group string, bounded bool, parts []topicPartition) ([]*Split, error) {
	if len(parts) == 0 {
		return nil, nil
	}
	var committed kadm.OffsetResponses
	if start.kind == startCommitted {
		var err error
		// A group that never committed (not found) starts everything at
		// the earliest offsets.
		if committed, err = adm.FetchOffsets(ctx, group); err != nil && !errors.Is(err, kerr.GroupIDNotFound) {
			return nil, fmt.Errorf("kafka: source: fetch the offsets committed by group %q: %w", group, err)
		}
	}
	splits := make([]*Split, 0, len(parts))
	todo := parts
	var lastErr error
	for attempt := 0; len(todo) > 0; attempt++ {
		if attempt > 0 {
			if attempt == resolveAttempts {
				return nil, fmt.Errorf("kafka: source: list the offsets of %d partitions (first %s): %w; check that their leaders are available", len(todo), splitID(todo[0].topic, todo[0].partition), lastErr)
			}
			t := time.NewTimer(resolveBackoff)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil, ctx.Err()
			case <-t.C:
			}
		}
		topics := topicsOf(todo)
		var first, stops, ends kadm.ListedOffsets
		var err error
		switch start.kind {
		case startLatest:
			first, err = adm.ListCommittedOffsets(ctx, topics...)
		case startAtTime:
			first, err = adm.ListOffsetsAfterMilli(ctx, start.at.UnixMilli(), topics...)
		default:
			first, err = adm.ListStartOffsets(ctx, topics...)
		}
		if err != nil {
			return nil, fmt.Errorf("kafka: source: list the start offsets of %v: %w", topics, err)
		}
		if bounded {
			if start.kind == startLatest {
				stops = first
			} else if stops, err = adm.ListCommittedOffsets(ctx, topics...); err != nil {
				return nil, fmt.Errorf("kafka: source: list the last stable offsets of %v: %w", topics, err)
			}
		}
		if start.kind == startOffsets {
			if ends, err = adm.ListEndOffsets(ctx, topics...); err != nil {
				return nil, fmt.Errorf("kafka: source: list the end offsets of %v: %w", topics, err)
			}
		}
		var retry []topicPartition
		for _, tp := range todo {
			s := &Split{Topic: tp.topic, Partition: tp.partition, Stop: NoStop}
			lo, err := listed(first, tp)
			if err == nil && bounded {
				var so kadm.ListedOffset
				if so, err = listed(stops, tp); err == nil {
					s.Stop = so.Offset
				}
			}
			if err != nil {
				if !kerr.IsRetriable(err) && !errors.Is(err, errNotListed) {
					return nil, fmt.Errorf("kafka: source: list the offsets of %s: %w", splitID(tp.topic, tp.partition), err)
				}
				lastErr = err
				retry = append(retry, tp)
				continue
			}
			s.Offset = lo.Offset
			switch start.kind {
			case startCommitted:
				if c, ok := committed.Lookup(tp.topic, tp.partition); ok && c.Err == nil && c.At >= 0 {
					s.Offset = c.At
				}
			case startOffsets:
				if o, ok := start.offsets[tp.topic][tp.partition]; ok {
					s.Offset = max(o, lo.Offset)
					if end, err := listed(ends, tp); err == nil {
						s.Offset = min(s.Offset, end.Offset)
					}
				}
			}
			splits = append(splits, s)
		}
		todo = retry
	}
	return splits, nil
}

var errNotListed = errors.New("partition not listed yet")

// listed returns the listed offset of tp, or why there is none.
func listed(l kadm.ListedOffsets, tp topicPartition) (kadm.ListedOffset, error) {
	lo, ok := l.Lookup(tp.topic, tp.partition)
	if !ok {
		if t, ok := l.Lookup(tp.topic, -1); ok && t.Err != nil {
			return lo, t.Err
		}
		return lo, errNotListed
	}
	if lo.Err != nil {
		return lo, lo.Err
	}
	if lo.Offset < 0 {
		return lo, errNotListed
	}
	return lo, nil
}

// topicsOf returns the distinct topics of parts, sorted.
func topicsOf(parts []topicPartition) []string {
	var topics []string
	for _, tp := range parts {
		topics = append(topics, tp.topic)
	}
	slices.Sort(topics)
	return slices.Compact(topics)
}
