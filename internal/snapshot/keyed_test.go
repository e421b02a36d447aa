package snapshot

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// written is a keyed file and what its writer returned.
type written struct {
	file    []byte
	offsets []int64
	size    int64
	crc     uint32
}

func writeKeyed(t testing.TB, keyGroups [2]int, groups map[int][]Entry) written {
	t.Helper()
	var buf bytes.Buffer
	w := NewKeyedWriter(&buf, keyGroups)
	for _, g := range slices.Sorted(maps.Keys(groups)) {
		if err := w.WriteGroup(g, slices.Values(groups[g])); err != nil {
			t.Fatalf("WriteGroup(%d): %v", g, err)
		}
	}
	offsets, size, crc, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	return written{buf.Bytes(), offsets, size, crc}
}

// readGroup collects a group's entries, copied, and the iteration's error.
func readGroup(r *KeyedReader, g int) ([]Entry, error) {
	var out []Entry
	for e, err := range r.Group(g) {
		if err != nil {
			return out, err
		}
		out = append(out, Entry{e.State, bytes.Clone(e.Key), bytes.Clone(e.Namespace), bytes.Clone(e.Value)})
	}
	return out, nil
}

// sameEntries compares entries treating nil and empty slices alike.
func sameEntries(a, b []Entry) bool {
	return slices.EqualFunc(a, b, func(e, f Entry) bool {
		return e.State == f.State && bytes.Equal(e.Key, f.Key) && bytes.Equal(e.Namespace, f.Namespace) && bytes.Equal(e.Value, f.Value)
	})
}

// randomGroups gives about half the groups of a range some entries, with a
// few state names, empty and large fields and entries that cross chunks.
func randomGroups(r *rand.Rand, keyGroups [2]int) map[int][]Entry {
	groups := map[int][]Entry{}
	states := []string{"count", "visitors", "window-contents", ""}
	for g := keyGroups[0]; g < keyGroups[1]; g++ {
		if r.IntN(2) == 0 {
			continue
		}
		n := 1 + r.IntN(40)
		for i := range n {
			e := Entry{
				State: states[r.IntN(len(states))],
				Key:   fmt.Appendf(nil, "key-%d-%d", g, i),
				Value: make([]byte, r.IntN(200)),
			}
			if r.IntN(3) == 0 {
				e.Namespace = binary.BigEndian.AppendUint64(nil, r.Uint64())
			}
			if r.IntN(50) == 0 {
				e.Value = make([]byte, maxChunk+r.IntN(3*maxChunk)) // spans chunks
			}
			for j := range e.Value {
				e.Value[j] = byte(r.Uint32())
			}
			groups[g] = append(groups[g], e)
		}
	}
	return groups
}

func TestKeyedRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	kg := [2]int{0, 64}
	groups := randomGroups(r, kg)
	groups[63] = []Entry{{State: "big", Key: []byte("k"), Value: bytes.Repeat([]byte{0xab}, 5*maxChunk+17)}}
	wr := writeKeyed(t, kg, groups)

	if wr.size != int64(len(wr.file)) || wr.crc != crc32.Checksum(wr.file, castagnoli()) {
		t.Fatalf("Close reported size %d crc %08x; file has %d bytes, crc %08x", wr.size, wr.crc, len(wr.file), crc32.Checksum(wr.file, castagnoli()))
	}
	kr, err := NewKeyedReader(bytes.NewReader(wr.file), wr.size, kg, wr.offsets)
	if err != nil {
		t.Fatal(err)
	}
	for g := kg[0]; g < kg[1]; g++ {
		if (wr.offsets[g] == -1) != (len(groups[g]) == 0) {
			t.Errorf("group %d: offset %d for %d entries", g, wr.offsets[g], len(groups[g]))
		}
		got, err := readGroup(kr, g)
		if err != nil {
			t.Fatalf("group %d: %v", g, err)
		}
		if !sameEntries(got, groups[g]) {
			t.Fatalf("group %d: read %d entries, wrote %d, or they differ", g, len(got), len(groups[g]))
		}
	}
	// The writer's results make valid metadata.
	m := &Metadata{MaxParallelism: 64, Operators: []Operator{{UID: "op", Parallelism: 1, Subtasks: []Subtask{
		{Index: 0, KeyGroups: kg, KeyedFile: "op-0.keyed", KeyedSize: wr.size, KeyedCRC: wr.crc, GroupOffsets: wr.offsets},
	}}}}
	if _, err := EncodeMetadata(m); err != nil {
		t.Fatal(err)
	}
	if err := VerifyKeyed(bytes.NewReader(wr.file), &m.Operators[0].Subtasks[0]); err != nil {
		t.Fatal(err)
	}
}

func TestKeyedNamesInterned(t *testing.T) {
	state := strings.Repeat("a-long-state-name-", 4)
	entries := make([]Entry, 100)
	for i := range entries {
		entries[i] = Entry{State: state, Key: []byte{byte(i)}}
	}
	wr := writeKeyed(t, [2]int{0, 1}, map[int][]Entry{0: entries})
	if got := bytes.Count(wr.file, []byte(state)); got != 1 {
		t.Errorf("state name written %d times in one block, want once", got)
	}
}

// rangeReader records the byte ranges read from it.
type rangeReader struct {
	r     *bytes.Reader
	reads [][2]int64
}

func (r *rangeReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := r.r.ReadAt(p, off)
	r.reads = append(r.reads, [2]int64{off, off + int64(n)})
	return n, err
}

func TestKeyedRestoreAtOtherParallelism(t *testing.T) {
	// Written by a subtask owning [0, 64); a new subtask owns [32, 48).
	kg := [2]int{0, 64}
	groups := randomGroups(rand.New(rand.NewPCG(1, 1)), kg)
	wr := writeKeyed(t, kg, groups)
	rr := &rangeReader{r: bytes.NewReader(wr.file)}
	kr, err := NewKeyedReader(rr, wr.size, kg, wr.offsets)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := int64(-1), wr.size
	for g := 32; g < 64; g++ {
		if off := wr.offsets[g]; off >= 0 && g < 48 && lo < 0 {
			lo = off
		} else if off >= 0 && g >= 48 {
			hi = off
			break
		}
	}
	rr.reads = nil
	for g := 32; g < 48; g++ {
		got, err := readGroup(kr, g)
		if err != nil || !sameEntries(got, groups[g]) {
			t.Fatalf("group %d: %v", g, err)
		}
	}
	for _, rg := range rr.reads {
		if rg[0] < lo || rg[1] > hi {
			t.Errorf("read bytes [%d, %d), outside the blocks of groups [32, 48) at [%d, %d)", rg[0], rg[1], lo, hi)
		}
	}
	if _, err := readGroup(kr, 64); err == nil || errors.Is(err, ErrCorrupt) {
		t.Errorf("group outside the range: got %v, want a plain error", err)
	}
}

func TestKeyedEveryCorruptionDetected(t *testing.T) {
	kg := [2]int{0, 4}
	groups := map[int][]Entry{
		0: {{State: "s", Key: []byte("a"), Value: []byte("1")}, {State: "t", Key: []byte("b"), Namespace: []byte("w")}},
		2: {{State: "s", Key: []byte("c"), Value: []byte("333")}},
	}
	wr := writeKeyed(t, kg, groups)
	readAll := func(file []byte) error {
		kr, err := NewKeyedReader(bytes.NewReader(file), wr.size, kg, wr.offsets)
		if err != nil {
			return err
		}
		for g := kg[0]; g < kg[1]; g++ {
			if _, err := readGroup(kr, g); err != nil {
				return err
			}
		}
		return nil
	}
	if err := readAll(wr.file); err != nil {
		t.Fatal(err)
	}
	for i := range wr.file {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			c := bytes.Clone(wr.file)
			c[i] ^= mask
			err := readAll(c)
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) || !strings.HasPrefix(err.Error(), "snapshot: ") {
				t.Fatalf("byte %d ^ %#x: got %v, want ErrCorrupt", i, mask, err)
			}
			if i == 40 && mask == 1 {
				t.Log(err) // what a corrupt block reads like
			}
		}
	}
	for n := range len(wr.file) {
		if err := readAll(wr.file[:n]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("file truncated to %d bytes: got %v, want ErrCorrupt", n, err)
		}
	}
	// Offsets that point at the wrong block are caught too.
	kr, err := NewKeyedReader(bytes.NewReader(wr.file), wr.size, kg, []int64{-1, -1, wr.offsets[0], -1})
	if err == nil {
		_, err = readGroup(kr, 2)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("offset of another group's block: got %v, want ErrCorrupt", err)
	}
	if _, err := NewKeyedReader(bytes.NewReader(wr.file), wr.size, [2]int{0, 5}, append(slices.Clone(wr.offsets), -1)); !errors.Is(err, ErrCorrupt) {
		t.Errorf("metadata range differs from the file's: got %v, want ErrCorrupt", err)
	}
	c := bytes.Clone(wr.file)
	binary.BigEndian.PutUint16(c[8:], 9)
	binary.BigEndian.PutUint32(c[18:], crc32.Checksum(c[:18], castagnoli()))
	if _, err := NewKeyedReader(bytes.NewReader(c), wr.size, kg, wr.offsets); !errors.Is(err, ErrVersion) {
		t.Errorf("version 9: got %v, want ErrVersion", err)
	}
	s := &Subtask{KeyedFile: "f", KeyedSize: wr.size, KeyedCRC: wr.crc}
	c = bytes.Clone(wr.file)
	c[30] ^= 1
	for name, file := range map[string][]byte{"flip": c, "longer": append(bytes.Clone(wr.file), 0), "shorter": wr.file[:len(wr.file)-1]} {
		if err := VerifyKeyed(bytes.NewReader(file), s); !errors.Is(err, ErrCorrupt) {
			t.Errorf("VerifyKeyed %s: got %v, want ErrCorrupt", name, err)
		}
	}
}

func TestKeyedEmptyFile(t *testing.T) {
	wr := writeKeyed(t, [2]int{5, 9}, nil)
	if wr.size != keyedHeaderLen || !slices.Equal(wr.offsets, []int64{-1, -1, -1, -1}) {
		t.Fatalf("empty file: size %d, offsets %v", wr.size, wr.offsets)
	}
	var buf bytes.Buffer
	w := NewKeyedWriter(&buf, [2]int{5, 9})
	for g := 5; g < 9; g++ {
		if err := w.WriteGroup(g, slices.Values([]Entry(nil))); err != nil {
			t.Fatal(err)
		}
	}
	if _, size, _, err := w.Close(); err != nil || size != keyedHeaderLen {
		t.Fatalf("groups without entries: size %d, %v", size, err)
	}
	kr, err := NewKeyedReader(bytes.NewReader(wr.file), wr.size, [2]int{5, 9}, wr.offsets)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := readGroup(kr, 7); len(got) != 0 || err != nil {
		t.Fatalf("empty group: %v, %v", got, err)
	}
}

type failWriter struct{ after int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after--; f.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestKeyedWriterMisuse(t *testing.T) {
	e := Entry{State: "s", Key: []byte("k")}
	w := NewKeyedWriter(&bytes.Buffer{}, [2]int{0, 4})
	if err := w.Add(e); err == nil {
		t.Error("Add before BeginGroup succeeded")
	}
	if err := w.BeginGroup(4); err == nil {
		t.Error("BeginGroup outside the range succeeded")
	}
	_ = w.BeginGroup(2)
	if err := w.BeginGroup(3); err == nil {
		t.Error("BeginGroup inside a group succeeded")
	}
	if _, _, _, err := w.Close(); err == nil {
		t.Error("Close inside a group succeeded")
	}
	_ = w.EndGroup()
	if err := w.BeginGroup(2); err == nil {
		t.Error("a group written twice")
	}
	if err := w.BeginGroup(1); err == nil {
		t.Error("groups out of order")
	}
	if _, _, _, err := NewKeyedWriter(&bytes.Buffer{}, [2]int{3, 3}).Close(); err == nil {
		t.Error("an empty range was accepted")
	}

	w = NewKeyedWriter(&failWriter{after: 1}, [2]int{0, 4})
	big := Entry{State: "s", Value: make([]byte, 3*maxChunk)}
	err := w.WriteGroup(0, slices.Values([]Entry{big}))
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("write error: got %v", err)
	}
	if _, _, _, err2 := w.Close(); err2 != err {
		t.Errorf("error is not sticky: Close gave %v", err2)
	}
}

// sizeWriter records the largest single write.
type sizeWriter struct{ max int }

func (s *sizeWriter) Write(p []byte) (int, error) { s.max = max(s.max, len(p)); return len(p), nil }

func TestKeyedWriterStreams(t *testing.T) {
	sw := &sizeWriter{}
	w := NewKeyedWriter(sw, [2]int{0, 1})
	_ = w.BeginGroup(0)
	for range 1000 {
		if err := w.Add(Entry{State: "s", Value: make([]byte, 1000)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.EndGroup(); err != nil {
		t.Fatal(err)
	}
	if sw.max > chunkHeaderLen+maxChunk || cap(w.chunk) > chunkHeaderLen+maxChunk {
		t.Errorf("writer buffered %d bytes (chunk capacity %d), want at most one chunk", sw.max, cap(w.chunk))
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, MetadataFile)
	for _, data := range []string{"first", "second, longer"} {
		if err := WriteFileAtomic(path, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != data {
			t.Fatalf("read back %q, %v", got, err)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "f"), nil); err == nil || !strings.HasPrefix(err.Error(), "snapshot: ") {
		t.Errorf("missing directory: got %v", err)
	}
}

// fuzzGroups is the key-group range of FuzzKeyedReader's files.
func fuzzGroups() [2]int { return [2]int{0, 8} }

func encodeOffsets(offsets []int64) []byte {
	var b []byte
	for _, o := range offsets {
		b = binary.BigEndian.AppendUint32(b, uint32(int32(o)))
	}
	return b
}

// FuzzKeyedReader reads arbitrary bytes as a keyed file for the groups
// [0, 8), with block offsets taken from offs (int32s; missing ones are -1).
// Invariants: nothing panics; every error wraps ErrCorrupt or ErrVersion;
// no entry holds more bytes than the file; and entries read without error,
// written again by a KeyedWriter and read back, are the same entries.
func FuzzKeyedReader(f *testing.F) {
	groups := map[int][]Entry{
		1: {{State: "s", Key: []byte("a"), Value: []byte("1")}, {State: "t", Namespace: []byte("w")}, {State: "s"}},
		6: {{State: "u", Key: []byte("b"), Value: bytes.Repeat([]byte("v"), maxChunk+5)}},
	}
	wr := writeKeyed(f, fuzzGroups(), groups)
	f.Add(wr.file, encodeOffsets(wr.offsets))
	f.Add(wr.file[:40], encodeOffsets(wr.offsets))
	f.Add(writeKeyed(f, fuzzGroups(), nil).file, []byte{})
	f.Fuzz(func(t *testing.T, file, offs []byte) {
		fuzzGroups := fuzzGroups()
		offsets := make([]int64, fuzzGroups[1])
		for i := range offsets {
			offsets[i] = -1
			if len(offs) >= 4*(i+1) {
				offsets[i] = int64(int32(binary.BigEndian.Uint32(offs[4*i:])))
			}
		}
		ok := func(err error) bool { return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrVersion) }
		kr, err := NewKeyedReader(bytes.NewReader(file), int64(len(file)), fuzzGroups, offsets)
		if err != nil {
			if !ok(err) {
				t.Fatalf("NewKeyedReader: %v", err)
			}
			return
		}
		read := map[int][]Entry{}
		for g := fuzzGroups[0]; g < fuzzGroups[1]; g++ {
			entries, err := readGroup(kr, g)
			if err != nil {
				if !ok(err) {
					t.Fatalf("group %d: %v", g, err)
				}
				return
			}
			for _, e := range entries {
				if len(e.Key)+len(e.Namespace)+len(e.Value) > len(file) {
					t.Fatalf("group %d: entry larger than the file", g)
				}
			}
			if len(entries) > 0 {
				read[g] = entries
			}
		}
		again := writeKeyed(t, fuzzGroups, read)
		kr2, err := NewKeyedReader(bytes.NewReader(again.file), again.size, fuzzGroups, again.offsets)
		if err != nil {
			t.Fatal(err)
		}
		for g := fuzzGroups[0]; g < fuzzGroups[1]; g++ {
			got, err := readGroup(kr2, g)
			if err != nil || !sameEntries(got, read[g]) {
				t.Fatalf("group %d: rewritten entries differ (%v)", g, err)
			}
		}
	})
}
