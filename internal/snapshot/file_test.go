package snapshot

import (
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

func refOf(name string, b []byte) FileRef {
	return FileRef{Name: name, Size: int64(len(b)), CRC: crc32.Checksum(b, castagnoli())}
}

func TestCheckFile(t *testing.T) {
	file := bytes.Repeat([]byte("weir keyed state "), 200_000) // 3.4 MB: several reads
	ref := refOf("op.0.keyed", file)
	flipped := slices.Clone(file)
	flipped[len(flipped)/2] ^= 0x04
	for _, tc := range []struct {
		name string
		r    io.Reader
		ref  FileRef
		want string // "" for no error
	}{
		{"whole", bytes.NewReader(file), ref, ""},
		{"empty file, empty ref", bytes.NewReader(nil), refOf("e", nil), ""},
		{"truncated", bytes.NewReader(file[:len(file)-1]), ref, "op.0.keyed has 3399999 bytes, its metadata says 3400000 (truncated)"},
		{"empty", bytes.NewReader(nil), ref, "op.0.keyed has 0 bytes"},
		{"longer", io.MultiReader(bytes.NewReader(file), strings.NewReader("x")), ref, "op.0.keyed is longer than the 3400000 bytes"},
		{"bit flipped", bytes.NewReader(flipped), ref, "op.0.keyed checksum mismatch"},
		{"negative size", bytes.NewReader(nil), FileRef{Name: "n", Size: -1}, "negative size"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckFile(tc.r, tc.ref)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CheckFile = %v, want ErrCorrupt with %q", err, tc.want)
			}
		})
	}
	// An I/O error is not corruption.
	boom := errors.New("boom")
	if err := CheckFile(iotest.ErrReader(boom), ref); !errors.Is(err, boom) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("CheckFile of a failing reader = %v, want its error, not ErrCorrupt", err)
	}
}

func TestMetadataFiles(t *testing.T) {
	m := &Metadata{MaxParallelism: 4, Operators: []Operator{
		{UID: "src", Parallelism: 2, Subtasks: []Subtask{{Index: 0, OperatorState: []byte("s")}, {Index: 1}}},
		{UID: "count", Parallelism: 2, Subtasks: []Subtask{
			{Index: 0, KeyGroups: [2]int{0, 2}, KeyedFile: "count.0.keyed", KeyedSize: 40, KeyedCRC: 7, GroupOffsets: []int64{22, -1}},
			{Index: 1, KeyGroups: [2]int{2, 4}, KeyedFile: "count.1.keyed", KeyedSize: 50, KeyedCRC: 8, GroupOffsets: []int64{-1, 22}},
		}},
	}}
	want := []FileRef{{"count.0.keyed", 40, 7}, {"count.1.keyed", 50, 8}}
	if got := m.Files(); !slices.Equal(got, want) {
		t.Fatalf("Files = %+v, want %+v", got, want)
	}
	if got := (&Metadata{MaxParallelism: 1}).Files(); len(got) != 0 {
		t.Fatalf("Files of metadata without keyed state = %+v", got)
	}
}

// FuzzCheckFile checks CheckFile's invariant: it accepts a file's own
// bytes, and rejects with ErrCorrupt every file that differs from them by
// one flipped bit, a truncation or an extension (CRC-32C detects every
// single-bit error; the size catches the rest).
func FuzzCheckFile(f *testing.F) {
	f.Add([]byte("weir"), uint(0), byte(0))
	f.Add([]byte{}, uint(0), byte(2))
	f.Add(bytes.Repeat([]byte{0}, 5000), uint(4999*8+7), byte(0))
	f.Add([]byte("abc"), uint(1), byte(1))
	f.Fuzz(func(t *testing.T, data []byte, pos uint, kind byte) {
		ref := refOf("f", data)
		if err := CheckFile(bytes.NewReader(data), ref); err != nil {
			t.Fatalf("own bytes rejected: %v", err)
		}
		var bad []byte
		switch kind % 3 {
		case 0: // flip one bit
			if len(data) == 0 {
				return
			}
			bad = slices.Clone(data)
			i := pos % uint(len(data)*8)
			bad[i/8] ^= 1 << (i % 8)
		case 1: // truncate
			if len(data) == 0 {
				return
			}
			bad = data[:pos%uint(len(data))]
		case 2: // extend
			bad = append(slices.Clone(data), byte(pos))
		}
		if err := CheckFile(bytes.NewReader(bad), ref); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("damaged bytes (kind %d) accepted or misreported: %v", kind%3, err)
		}
	})
}
