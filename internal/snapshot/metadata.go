package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// FormatVersion is the version of the keyed-state file format that this
// build writes. It is the only version it reads; a later build that changes
// the layout raises it and keeps reading the versions before it.
const FormatVersion = 1

// MetadataVersion is the version of the metadata format that this build
// writes; it reads every version from 1 up to it. Version 2 added
// Operator.Name and Subtask.Finished.
const MetadataVersion = 2

// MetadataFile is the name of a checkpoint's metadata file in its directory.
const MetadataFile = "_metadata"

// MaxKeyGroups bounds MaxParallelism, as in Flink (and internal/keygroup).
const MaxKeyGroups = 1 << 15

// ErrCorrupt is wrapped by every error that reports bytes that are not a
// valid checkpoint: a wrong magic string, a checksum mismatch, a truncated or
// overlong file, or contents that break the format's invariants. A restore
// that gets it should fall back to an earlier checkpoint.
var ErrCorrupt = errors.New("snapshot: corrupt checkpoint")

// ErrVersion is wrapped by errors that report a file written in a format
// version that this build does not read.
var ErrVersion = errors.New("snapshot: unsupported checkpoint format version")

// castagnoli is the CRC-32C table; crc32.MakeTable caches it internally.
func castagnoli() *crc32.Table { return crc32.MakeTable(crc32.Castagnoli) }

// Metadata describes one completed checkpoint or savepoint: its identity and,
// per operator subtask, where its state is. The numbers in the cbor tags are
// the durable field identities: never reuse or renumber them.
type Metadata struct {
	// FormatVersion is the format the metadata was read in; EncodeMetadata
	// sets it to MetadataVersion and ignores what the caller put there.
	FormatVersion int `cbor:"-"`
	// CheckpointID increases with every checkpoint of a job; never negative.
	CheckpointID int64 `cbor:"1,keyasint"`
	// Savepoint marks a checkpoint taken on demand or on stop, which the
	// retention of the last N checkpoints does not delete.
	Savepoint bool `cbor:"2,keyasint,omitempty"`
	// JobName is the name the job was executed with.
	JobName string `cbor:"3,keyasint,omitempty"`
	// CreatedUnixMs is when the checkpoint was triggered, in Unix milliseconds.
	CreatedUnixMs int64 `cbor:"4,keyasint,omitempty"`
	// MaxParallelism is the number of key groups, in [1, MaxKeyGroups]. A job
	// restores only with the same max parallelism.
	MaxParallelism int `cbor:"5,keyasint"`
	// Operators holds the operators with state, each at most once.
	Operators []Operator `cbor:"6,keyasint,omitempty"`
}

// Operator is the state of one operator of the job graph.
type Operator struct {
	// UID is the operator's stable identity (its name), which a restore uses
	// to match state to operators; never empty.
	UID string `cbor:"1,keyasint"`
	// Parallelism is the number of subtasks the operator ran with, in
	// [1, MaxParallelism].
	Parallelism int `cbor:"2,keyasint"`
	// Subtasks holds the subtasks with state; a subtask without any may be
	// left out, except that keyed operators list every subtask.
	Subtasks []Subtask `cbor:"3,keyasint,omitempty"`
	// Name is the operator's name when the checkpoint was taken, for
	// messages and inspection (version 2; empty in version 1).
	Name string `cbor:"4,keyasint,omitempty"`
}

// Subtask is the state of one subtask of an operator.
type Subtask struct {
	// Index is the subtask's index, in [0, Parallelism).
	Index int `cbor:"1,keyasint"`
	// KeyGroups is the range [start, end) of key groups the subtask owned when
	// it wrote; empty (start == end) for a non-keyed operator.
	KeyGroups [2]int `cbor:"2,keyasint"`
	// KeyedFile is the keyed-state file's name, relative to the checkpoint's
	// directory, slash-separated ([fs.ValidPath]); "" if there is no keyed
	// state, in which case the next three fields are zero.
	KeyedFile string `cbor:"3,keyasint,omitempty"`
	// KeyedSize is the size of KeyedFile in bytes.
	KeyedSize int64 `cbor:"4,keyasint,omitempty"`
	// KeyedCRC is the CRC-32C of the whole of KeyedFile.
	KeyedCRC uint32 `cbor:"5,keyasint,omitempty"`
	// GroupOffsets holds, for each key group in KeyGroups in order, the byte
	// offset of its block in KeyedFile, or -1 if the group has no state.
	GroupOffsets []int64 `cbor:"6,keyasint,omitempty"`
	// OperatorState is opaque, operator-defined state (source split
	// positions, pending sink transactions).
	OperatorState []byte `cbor:"7,keyasint,omitempty"`
	// ChannelState is opaque: the in-flight records of an unaligned checkpoint.
	ChannelState []byte `cbor:"8,keyasint,omitempty"`
	// Finished marks the final state of a subtask that had ended its input
	// before the checkpoint was taken (version 2).
	Finished bool `cbor:"9,keyasint,omitempty"`
}

const (
	metadataMagic  = "WEIRCKPT"
	metadataHeader = len(metadataMagic) + 2 + 4 // magic, version, body length
	crcLen         = 4
	// maxMetadataBody bounds the body length field; metadata is small, and a
	// bound keeps a corrupt length from meaning gigabytes.
	maxMetadataBody = 1 << 30
)

func metadataModes() (cbor.EncMode, cbor.DecMode, error) {
	em, err := cbor.EncOptions{
		Sort:        cbor.SortCoreDeterministic,
		IndefLength: cbor.IndefLengthForbidden,
	}.EncMode()
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot: CBOR encoding options: %w", err)
	}
	dm, err := cbor.DecOptions{
		DupMapKey:         cbor.DupMapKeyEnforcedAPF,
		IndefLength:       cbor.IndefLengthForbidden,
		ExtraReturnErrors: cbor.ExtraDecErrorUnknownField, // a new field means a new version
		MaxNestedLevels:   16,
		MaxArrayElements:  1 << 24,
		MaxMapPairs:       64,
		UTF8:              cbor.UTF8DecodeInvalid, // names are Go strings: any bytes
	}.DecMode()
	if err != nil {
		return nil, nil, fmt.Errorf("snapshot: CBOR decoding options: %w", err)
	}
	return em, dm, nil
}

// EncodeMetadata validates m and returns the bytes of its metadata file in
// the current MetadataVersion. It sets m.FormatVersion. An error names every
// inconsistency found.
func EncodeMetadata(m *Metadata) ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	em, _, err := metadataModes()
	if err != nil {
		return nil, err
	}
	m.FormatVersion = MetadataVersion
	body, err := em.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("snapshot: encoding metadata: %w", err)
	}
	if len(body) > maxMetadataBody {
		return nil, fmt.Errorf("snapshot: metadata of %d bytes exceeds the limit of %d: keep large state out of OperatorState and ChannelState", len(body), maxMetadataBody)
	}
	b := make([]byte, 0, metadataHeader+len(body)+crcLen)
	b = append(b, metadataMagic...)
	b = binary.BigEndian.AppendUint16(b, MetadataVersion)
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	b = append(b, body...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli())), nil
}

// DecodeMetadata parses and checks a metadata file. Its errors wrap
// ErrCorrupt (wrong magic, truncated, trailing bytes, checksum mismatch,
// undecodable body, broken invariants) or ErrVersion, and say which.
func DecodeMetadata(b []byte) (*Metadata, error) {
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: metadata file is empty", ErrCorrupt)
	}
	if len(b) < len(metadataMagic) {
		if bytes.HasPrefix([]byte(metadataMagic), b) {
			return nil, fmt.Errorf("%w: metadata truncated to %d bytes", ErrCorrupt, len(b))
		}
		return nil, fmt.Errorf("%w: not a checkpoint metadata file (%d bytes, no %q magic)", ErrCorrupt, len(b), metadataMagic)
	}
	if string(b[:len(metadataMagic)]) != metadataMagic {
		return nil, fmt.Errorf("%w: not a checkpoint metadata file (magic %q, want %q)", ErrCorrupt, b[:len(metadataMagic)], metadataMagic)
	}
	if len(b) < metadataHeader+crcLen {
		return nil, fmt.Errorf("%w: metadata truncated to %d bytes, shorter than its %d-byte header and checksum", ErrCorrupt, len(b), metadataHeader+crcLen)
	}
	version := int(binary.BigEndian.Uint16(b[8:]))
	if version < 1 || version > MetadataVersion {
		return nil, fmt.Errorf("%w: metadata file is format version %d, this build reads versions 1 to %d: restore it with the weir release that wrote it, or a later one", ErrVersion, version, MetadataVersion)
	}
	bodyLen := int64(binary.BigEndian.Uint32(b[10:]))
	switch want := int64(metadataHeader) + bodyLen + crcLen; {
	case want > int64(len(b)):
		return nil, fmt.Errorf("%w: metadata truncated: header says %d bytes, file has %d", ErrCorrupt, want, len(b))
	case want < int64(len(b)):
		return nil, fmt.Errorf("%w: metadata has %d trailing bytes after its checksum", ErrCorrupt, int64(len(b))-want)
	}
	end := len(b) - crcLen
	if got, want := crc32.Checksum(b[:end], castagnoli()), binary.BigEndian.Uint32(b[end:]); got != want {
		return nil, fmt.Errorf("%w: metadata checksum mismatch (stored %08x, computed %08x)", ErrCorrupt, want, got)
	}
	_, dm, err := metadataModes()
	if err != nil {
		return nil, err
	}
	m := new(Metadata)
	if err := dm.Unmarshal(b[metadataHeader:end], m); err != nil {
		return nil, fmt.Errorf("%w: metadata body: %w", ErrCorrupt, err)
	}
	m.FormatVersion = version
	if err := m.problems(); err != nil {
		return nil, fmt.Errorf("%w: metadata breaks the format's invariants: %w", ErrCorrupt, err)
	}
	return m, nil
}

func versionError(file string, v int) error {
	return fmt.Errorf("%w: %s file is format version %d, this build reads version %d only: restore it with the weir release that wrote it, or a later one", ErrVersion, file, v, FormatVersion)
}

// maxProblems bounds the problems one Validate reports.
const maxProblems = 10

// Validate checks invariant 3 of the package documentation and the shape of
// every keyed-state reference. It reports all problems found (up to ten),
// each naming the operator and subtask, or returns nil.
func (m *Metadata) Validate() error {
	if err := m.problems(); err != nil {
		return fmt.Errorf("snapshot: invalid metadata: %w", err)
	}
	return nil
}

func (m *Metadata) problems() error {
	var errs []string
	bad := func(format string, args ...any) {
		if len(errs) < maxProblems {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	if m.CheckpointID < 0 {
		bad("checkpoint ID %d is negative", m.CheckpointID)
	}
	if m.MaxParallelism < 1 || m.MaxParallelism > MaxKeyGroups {
		bad("max parallelism %d is outside [1, %d]", m.MaxParallelism, MaxKeyGroups)
	} else {
		uids := make(map[string]bool, len(m.Operators))
		for i := range m.Operators {
			op := &m.Operators[i]
			if op.UID == "" {
				bad("operator %d has an empty UID", i)
			}
			if uids[op.UID] {
				bad("operator %q appears twice", op.UID)
			}
			uids[op.UID] = true
			if op.Parallelism < 1 || op.Parallelism > m.MaxParallelism {
				bad("operator %q: parallelism %d is outside [1, max parallelism %d]", op.UID, op.Parallelism, m.MaxParallelism)
				continue
			}
			validateOperator(m.MaxParallelism, op, bad)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "; "))
}

func validateOperator(maxParallelism int, op *Operator, bad func(string, ...any)) {
	seen := make(map[int]bool, len(op.Subtasks))
	var owner []int // owner[g] = subtask index + 1; allocated once keyed
	keyed := false
	for _, s := range op.Subtasks {
		at := fmt.Sprintf("operator %q subtask %d", op.UID, s.Index)
		if s.Index < 0 || s.Index >= op.Parallelism {
			bad("%s: index is outside [0, parallelism %d)", at, op.Parallelism)
			continue
		}
		if seen[s.Index] {
			bad("%s appears twice", at)
			continue
		}
		seen[s.Index] = true
		start, end := s.KeyGroups[0], s.KeyGroups[1]
		if start < 0 || end < start || end > maxParallelism {
			bad("%s: key groups [%d, %d) are not a range within [0, max parallelism %d)", at, start, end, maxParallelism)
			continue
		}
		if start < end {
			if !keyed {
				keyed = true
				owner = make([]int, maxParallelism)
			}
			for g := start; g < end; g++ {
				if owner[g] != 0 {
					bad("%s: key group %d is also owned by subtask %d", at, g, owner[g]-1)
					break
				}
				owner[g] = s.Index + 1
			}
		}
		validateKeyedRef(at, &s, bad)
	}
	if keyed {
		for g, o := range owner {
			if o == 0 {
				bad("operator %q: key group %d is owned by no subtask", op.UID, g)
				break
			}
		}
	}
}

func validateKeyedRef(at string, s *Subtask, bad func(string, ...any)) {
	if s.KeyedFile == "" {
		if s.KeyedSize != 0 || s.KeyedCRC != 0 || len(s.GroupOffsets) != 0 {
			bad("%s: keyed size, CRC or group offsets given without a keyed file", at)
		}
		return
	}
	if !fs.ValidPath(s.KeyedFile) || s.KeyedFile == "." {
		bad("%s: keyed file %q is not a relative, slash-separated path inside the checkpoint", at, s.KeyedFile)
	}
	n := s.KeyGroups[1] - s.KeyGroups[0]
	if n == 0 {
		bad("%s: keyed file %q without key groups", at, s.KeyedFile)
	}
	if len(s.GroupOffsets) != n {
		bad("%s: %d group offsets for %d key groups", at, len(s.GroupOffsets), n)
		return
	}
	if err := checkOffsets(s.GroupOffsets, s.KeyGroups[0], s.KeyedSize); err != nil {
		bad("%s: %v", at, err)
	}
}

// checkOffsets checks invariant 5 on a subtask's group offsets: -1 or inside
// the file's blocks, increasing, the first right after the header.
func checkOffsets(offsets []int64, start int, size int64) error {
	if size < keyedHeaderLen {
		return fmt.Errorf("keyed file size %d is smaller than its %d-byte header", size, keyedHeaderLen)
	}
	prev := int64(-1)
	for i, off := range offsets {
		switch {
		case off == -1:
			continue
		case off < keyedHeaderLen || off >= size:
			return fmt.Errorf("key group %d: block offset %d is outside the blocks [%d, %d)", start+i, off, keyedHeaderLen, size)
		case prev == -1 && off != keyedHeaderLen:
			return fmt.Errorf("key group %d: first block at offset %d, want %d (right after the header)", start+i, off, keyedHeaderLen)
		case off <= prev:
			return fmt.Errorf("key group %d: block offset %d does not follow the previous block at %d", start+i, off, prev)
		}
		prev = off
	}
	if prev == -1 && size != keyedHeaderLen {
		return fmt.Errorf("keyed file of %d bytes has no blocks, so it should be %d bytes", size, keyedHeaderLen)
	}
	return nil
}
