package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// sample returns metadata with a keyed operator at parallelism 2 and a
// non-keyed source, small enough to corrupt byte by byte.
func sample() *Metadata {
	return &Metadata{
		CheckpointID:   42,
		Savepoint:      true,
		JobName:        "pvuv",
		CreatedUnixMs:  1_714_557_600_123,
		MaxParallelism: 8,
		Operators: []Operator{
			{UID: "source", Parallelism: 1, Subtasks: []Subtask{
				{Index: 0, OperatorState: []byte("partition-0@1234"), ChannelState: []byte{1, 2, 3}},
			}},
			{UID: "window", Parallelism: 2, Subtasks: []Subtask{
				{Index: 0, KeyGroups: [2]int{0, 4}, KeyedFile: "window/0.keyed", KeyedSize: 60, KeyedCRC: 0xdeadbeef,
					GroupOffsets: []int64{22, -1, 40, -1}},
				{Index: 1, KeyGroups: [2]int{4, 8}},
			}},
		},
	}
}

func TestMetadataRoundTrip(t *testing.T) {
	m := sample()
	b, err := EncodeMetadata(m)
	if err != nil {
		t.Fatal(err)
	}
	if m.FormatVersion != MetadataVersion {
		t.Errorf("EncodeMetadata left FormatVersion %d, want %d", m.FormatVersion, MetadataVersion)
	}
	got, err := DecodeMetadata(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, m)
	}
	again, err := EncodeMetadata(got)
	if err != nil || !bytes.Equal(again, b) {
		t.Fatalf("re-encoding differs (%v)", err)
	}
	empty := &Metadata{MaxParallelism: 1}
	b, err = EncodeMetadata(empty)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := DecodeMetadata(b); err != nil || !reflect.DeepEqual(got, empty) {
		t.Fatalf("empty metadata: %+v, %v", got, err)
	}
}

func TestMetadataEveryCorruptionDetected(t *testing.T) {
	b, err := EncodeMetadata(sample())
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			c := bytes.Clone(b)
			c[i] ^= mask
			_, err := DecodeMetadata(c)
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("byte %d ^ %#x: got %v, want ErrCorrupt or ErrVersion", i, mask, err)
			}
		}
	}
	for n := range len(b) {
		if _, err := DecodeMetadata(b[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated to %d bytes: got %v, want ErrCorrupt", n, err)
		}
	}
	if _, err := DecodeMetadata(append(bytes.Clone(b), 0)); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "trailing") {
		t.Fatalf("trailing byte: got %v", err)
	}
}

func TestMetadataErrorsSayWhat(t *testing.T) {
	b, _ := EncodeMetadata(sample())
	cases := []struct {
		name string
		edit func([]byte) []byte
		is   error
		says string
	}{
		{"magic", func(c []byte) []byte { copy(c, "NOTACKPT"); return c }, ErrCorrupt, "not a checkpoint metadata file"},
		{"empty", func([]byte) []byte { return nil }, ErrCorrupt, "empty"},
		{"version", func(c []byte) []byte { binary.BigEndian.PutUint16(c[8:], MetadataVersion+1); return c }, ErrVersion, "reads versions 1 to"},
		{"length", func(c []byte) []byte { binary.BigEndian.PutUint32(c[10:], 1<<31); return c }, ErrCorrupt, "truncated"},
		{"checksum", func(c []byte) []byte { c[len(c)-1] ^= 1; return c }, ErrCorrupt, "checksum mismatch"},
		{"body", func(c []byte) []byte { c[20] ^= 1; return c }, ErrCorrupt, "checksum mismatch"},
	}
	for _, tc := range cases {
		_, err := DecodeMetadata(tc.edit(bytes.Clone(b)))
		if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.says) || !strings.HasPrefix(err.Error(), "snapshot: ") {
			t.Errorf("%s: got %v, want %v saying %q", tc.name, err, tc.is, tc.says)
		}
	}
}

// seal frames a body as a metadata file with a valid checksum, bypassing
// EncodeMetadata's validation, to test what DecodeMetadata checks itself.
func seal(body []byte) []byte {
	return sealVersion(body, MetadataVersion)
}

// sealVersion frames a body as a metadata file of version v.
func sealVersion(body []byte, v uint16) []byte {
	b := binary.BigEndian.AppendUint16([]byte(metadataMagic), v)
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	b = append(b, body...)
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b, castagnoli()))
}

// TestMetadataVersion1 reads a version 1 file, which has no operator
// names and no finished marks, and writes version 2 with both.
func TestMetadataVersion1(t *testing.T) {
	v1 := sample()
	body, err := cbor.Marshal(v1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMetadata(sealVersion(body, 1))
	if err != nil {
		t.Fatalf("version 1: %v", err)
	}
	if m.FormatVersion != 1 || m.Operators[0].UID != v1.Operators[0].UID {
		t.Errorf("version 1 read as version %d, operators %+v", m.FormatVersion, m.Operators)
	}
	m.Operators[0].Name = "count per key"
	m.Operators[0].Subtasks[0].Finished = true
	b, err := EncodeMetadata(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMetadata(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.FormatVersion != 2 || got.Operators[0].Name != "count per key" || !got.Operators[0].Subtasks[0].Finished {
		t.Errorf("version 2 round trip lost the name or the finished mark: %+v", got.Operators[0])
	}
}

func TestMetadataValidCRCBadContents(t *testing.T) {
	body, _ := cbor.Marshal(sample())
	if _, err := DecodeMetadata(seal(body)); err != nil {
		t.Fatalf("sealed sample: %v", err)
	}
	cases := map[string][]byte{
		"not CBOR":      {0xff},
		"trailing CBOR": append(bytes.Clone(body), 0x00),
		"unknown field": must(cbor.Marshal(map[int]any{1: 1, 5: 8, 99: "new"})),
		"duplicate key": {0xa2, 0x05, 0x08, 0x05, 0x08},
		"indefinite":    {0xbf, 0x05, 0x08, 0xff},
		"wrong type":    must(cbor.Marshal(map[int]any{5: "eight"})),
	}
	bad := sample()
	bad.Operators[1].Subtasks[1].KeyGroups = [2]int{5, 8} // leaves group 4 unowned
	cases["invariant"] = must(cbor.Marshal(bad))
	for name, body := range cases {
		if _, err := DecodeMetadata(seal(body)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %v, want ErrCorrupt", name, err)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestMetadataValidate(t *testing.T) {
	cases := []struct {
		says string
		edit func(m *Metadata)
	}{
		{"max parallelism 0", func(m *Metadata) { m.MaxParallelism = 0 }},
		{"checkpoint ID -1", func(m *Metadata) { m.CheckpointID = -1 }},
		{"empty UID", func(m *Metadata) { m.Operators[0].UID = "" }},
		{`"window" appears twice`, func(m *Metadata) { m.Operators[0].UID = "window" }},
		{"parallelism 9", func(m *Metadata) { m.Operators[1].Parallelism = 9 }},
		{"index is outside", func(m *Metadata) { m.Operators[1].Subtasks[1].Index = 2 }},
		{"subtask 0 appears twice", func(m *Metadata) { m.Operators[1].Subtasks[1].Index = 0 }},
		{"key group 3 is also owned by subtask 0", func(m *Metadata) { m.Operators[1].Subtasks[1].KeyGroups = [2]int{3, 8} }},
		{"key group 7 is owned by no subtask", func(m *Metadata) { m.Operators[1].Subtasks[1].KeyGroups = [2]int{4, 7} }},
		{"not a range", func(m *Metadata) { m.Operators[1].Subtasks[1].KeyGroups = [2]int{4, 9} }},
		{"3 group offsets for 4 key groups", func(m *Metadata) { m.Operators[1].Subtasks[0].GroupOffsets = []int64{22, -1, 40} }},
		{"not a relative", func(m *Metadata) { m.Operators[1].Subtasks[0].KeyedFile = "../elsewhere" }},
		{"not a relative", func(m *Metadata) { m.Operators[1].Subtasks[0].KeyedFile = "/abs" }},
		{"does not follow", func(m *Metadata) { m.Operators[1].Subtasks[0].GroupOffsets = []int64{22, -1, 22, -1} }},
		{"right after the header", func(m *Metadata) { m.Operators[1].Subtasks[0].GroupOffsets = []int64{-1, 30, -1, -1} }},
		{"outside the blocks", func(m *Metadata) { m.Operators[1].Subtasks[0].GroupOffsets = []int64{22, 60, -1, -1} }},
		{"without a keyed file", func(m *Metadata) { m.Operators[0].Subtasks[0].KeyedSize = 3 }},
	}
	for _, tc := range cases {
		m := sample()
		tc.edit(m)
		_, err := EncodeMetadata(m)
		if err == nil || !strings.Contains(err.Error(), tc.says) || !strings.HasPrefix(err.Error(), "snapshot: invalid metadata: ") {
			t.Errorf("%s: got %v", tc.says, err)
		}
	}
	m := sample()
	m.Operators[0].UID, m.Operators[1].Parallelism = "", 0
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "empty UID; ") {
		t.Errorf("Validate does not report every problem: %v", err)
	}
}

func TestDescribe(t *testing.T) {
	var buf strings.Builder
	m := sample()
	m.FormatVersion = FormatVersion
	if err := Describe(&buf, m); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"savepoint 42 (format version 1)",
		"job              pvuv",
		"created          2024-05-01T10:00:00.123Z",
		"max parallelism  8",
		`operator "window"  parallelism 2, 2 subtasks with state; keyed 60 B`,
		"subtask 0  key groups [0, 4)  keyed 60 B in window/0.keyed (2 of 4 groups with state, crc32c deadbeef)",
		"subtask 0  operator state 16 B  channel state 3 B",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Describe output lacks %q:\n%s", want, out)
		}
	}
	if got := size(3 << 20); got != "3.0 MiB" {
		t.Errorf("size(3 MiB) = %q", got)
	}
}

// FuzzDecodeMetadata checks DecodeMetadata on arbitrary bytes. Invariants:
// it never panics; every error wraps ErrCorrupt or ErrVersion; whatever it
// accepts is valid, re-encodes, and decodes again to an equal value.
func FuzzDecodeMetadata(f *testing.F) {
	b, _ := EncodeMetadata(sample())
	f.Add(b)
	f.Add(b[:20])
	e, _ := EncodeMetadata(&Metadata{MaxParallelism: 128})
	f.Add(e)
	body, _ := cbor.Marshal(sample())
	f.Add(seal(body))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMetadata(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error wraps neither ErrCorrupt nor ErrVersion: %v", err)
			}
			return
		}
		enc, err := EncodeMetadata(m)
		if err != nil {
			t.Fatalf("decoded metadata does not encode: %v", err)
		}
		m2, err := DecodeMetadata(enc)
		if err != nil || !reflect.DeepEqual(m, m2) {
			t.Fatalf("decode(encode(m)) != m: %v\n%+v\n%+v", err, m, m2)
		}
	})
}
