package kafka

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
)

// NoStop is the Stop of a split that has no end: the split of an unbounded
// source.
const NoStop int64 = -1

// Split is one partition of a topic, the unit of work of a Kafka source. It
// is a value: readers copy the splits they are given, and snapshots return
// fresh copies.
type Split struct {
	// Topic and Partition name the partition.
	Topic     string
	Partition int32
	// Offset is the offset of the next record to read: the split's start
	// before anything was read, then the offset after the last record (or
	// transaction marker) the reader went past.
	Offset int64
	// Stop is the offset at which a bounded split ends: the last stable
	// offset of the partition when the job started. It is NoStop for an
	// unbounded source.
	Stop int64

	// known marks a placeholder in an enumerator's snapshot: the partition
	// is known to the source (a reader holds it, or finished it), so that
	// a restored enumerator neither hands it out nor discovers it again.
	// Readers never get one.
	known bool
}

// SplitID returns "TOPIC-PARTITION", as Kafka writes a topic-partition. It
// is unique: a topic name may contain '-', but the partition is always
// the part after the last one.
func (s *Split) SplitID() string { return splitID(s.Topic, s.Partition) }

func splitID(topic string, partition int32) string {
	return topic + "-" + strconv.FormatInt(int64(partition), 10)
}

// String describes the split and its position, for logs.
func (s *Split) String() string {
	switch {
	case s.known:
		return s.SplitID() + " (known)"
	case s.Stop == NoStop:
		return fmt.Sprintf("%s@%d", s.SplitID(), s.Offset)
	default:
		return fmt.Sprintf("%s@%d..%d", s.SplitID(), s.Offset, s.Stop)
	}
}

// finished reports whether a bounded split has reached its stop offset.
func (s *Split) finished() bool { return s.Stop != NoStop && s.Offset >= s.Stop }

func (s *Split) clone() *Split { c := *s; return &c }

// topicPartition is the key of a partition in maps.
type topicPartition struct {
	topic     string
	partition int32
}

func (s *Split) tp() topicPartition { return topicPartition{s.Topic, s.Partition} }

func compareTP(a, b topicPartition) int {
	if c := cmp.Compare(a.topic, b.topic); c != 0 {
		return c
	}
	return cmp.Compare(a.partition, b.partition)
}

// owner returns the subtask that reads a partition. As in Flink, the
// partitions of a topic go round-robin over the subtasks from a start that
// depends on the topic (a fixed hash of its name), so that the partitions
// of several topics spread evenly. It depends only on its arguments: a
// partition has the same owner across restarts at the same parallelism.
func owner(topic string, partition int32, parallelism int) int {
	h := fnv.New32a()
	h.Write([]byte(topic))
	start := int(h.Sum32()&math.MaxInt32) % parallelism
	return (start + int(partition)) % parallelism
}

// The stored form of a split, version 1:
//
//	byte     version (1)
//	byte     flags: bit 0 set for a known-partition marker; others zero
//	uvarint  length of the topic name, then its bytes
//	varint   partition (>= 0)
//	varint   offset (>= 0)
//	varint   stop (>= -1)
const (
	splitFormatV1 = 1
	flagKnown     = 1
)

// maxTopicLen is Kafka's limit on the length of a topic name.
const maxTopicLen = 249

func encodeSplit(s *Split) []byte {
	b := make([]byte, 0, 2+binary.MaxVarintLen64*4+len(s.Topic))
	var flags byte
	if s.known {
		flags |= flagKnown
	}
	b = append(b, splitFormatV1, flags)
	b = binary.AppendUvarint(b, uint64(len(s.Topic)))
	b = append(b, s.Topic...)
	b = binary.AppendVarint(b, int64(s.Partition))
	b = binary.AppendVarint(b, s.Offset)
	b = binary.AppendVarint(b, s.Stop)
	return b
}

var errSplitTruncated = errors.New("truncated")

// decodeSplit reads what encodeSplit wrote. It checks every field, so a
// damaged checkpoint is reported rather than read as a wrong position.
func decodeSplit(b []byte) (*Split, error) {
	if len(b) < 2 {
		return nil, errSplitTruncated
	}
	if b[0] != splitFormatV1 {
		return nil, fmt.Errorf("unsupported format version %d (this weir reads version %d)", b[0], splitFormatV1)
	}
	flags := b[1]
	if flags&^flagKnown != 0 {
		return nil, fmt.Errorf("unknown flags %#x", flags)
	}
	b = b[2:]
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return nil, errSplitTruncated
	}
	b = b[k:]
	if n == 0 || n > maxTopicLen || n > uint64(len(b)) {
		return nil, fmt.Errorf("topic name length %d is out of range", n)
	}
	s := &Split{Topic: string(b[:n]), known: flags&flagKnown != 0}
	b = b[n:]
	if err := checkTopic(s.Topic); err != nil {
		return nil, err
	}
	var vals [3]int64
	for i := range vals {
		v, k := binary.Varint(b)
		if k <= 0 {
			return nil, errSplitTruncated
		}
		vals[i], b = v, b[k:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d bytes after the split", len(b))
	}
	if vals[0] < 0 || vals[0] > math.MaxInt32 {
		return nil, fmt.Errorf("partition %d is out of range", vals[0])
	}
	if vals[1] < 0 {
		return nil, fmt.Errorf("offset %d is negative", vals[1])
	}
	if vals[2] < NoStop {
		return nil, fmt.Errorf("stop offset %d is below %d", vals[2], NoStop)
	}
	s.Partition, s.Offset, s.Stop = int32(vals[0]), vals[1], vals[2]
	return s, nil
}

// checkTopic reports whether name is a legal Kafka topic name.
func checkTopic(name string) error {
	if name == "" || len(name) > maxTopicLen || name == "." || name == ".." {
		return fmt.Errorf("topic name %q is not valid: use 1 to %d characters from a-z, A-Z, 0-9, '.', '_' and '-'", name, maxTopicLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("topic name %q is not valid: use 1 to %d characters from a-z, A-Z, 0-9, '.', '_' and '-'", name, maxTopicLen)
		}
	}
	return nil
}
