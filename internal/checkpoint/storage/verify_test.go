package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weirstream/weir/internal/snapshot"
)

// keyedCheckpoint commits checkpoint id with real keyed state: an operator
// "count" of two subtasks, each with a keyed file of some 80 KiB (several
// chunks, several verification reads), and a source with operator state
// only. It returns the directory and its metadata.
func keyedCheckpoint(t *testing.T, s *Storage, id uint64) (Dir, *snapshot.Metadata) {
	t.Helper()
	ctx := t.Context()
	d := CheckpointDir(id)
	m := &snapshot.Metadata{CheckpointID: int64(id), MaxParallelism: 8, Operators: []snapshot.Operator{
		{UID: "source", Parallelism: 1, Subtasks: []snapshot.Subtask{{Index: 0, OperatorState: []byte("offset 42")}}},
		{UID: "count", Parallelism: 2},
	}}
	for i, kg := range [][2]int{{0, 4}, {4, 8}} {
		var buf bytes.Buffer
		w := snapshot.NewKeyedWriter(&buf, kg)
		for g := kg[0]; g < kg[1]; g++ {
			if err := w.BeginGroup(g); err != nil {
				t.Fatal(err)
			}
			for k := range 200 {
				e := snapshot.Entry{State: "n", Key: fmt.Appendf(nil, "key-%d-%d", g, k), Value: bytes.Repeat([]byte{byte(id), byte(k)}, 50)}
				if err := w.Add(e); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.EndGroup(); err != nil {
				t.Fatal(err)
			}
		}
		offsets, size, crc, err := w.Close()
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("count.%d.keyed", i)
		if _, err := s.WriteState(ctx, d, name, &buf); err != nil {
			t.Fatal(err)
		}
		m.Operators[1].Subtasks = append(m.Operators[1].Subtasks, snapshot.Subtask{
			Index: i, KeyGroups: kg, KeyedFile: name, KeyedSize: size, KeyedCRC: crc, GroupOffsets: offsets,
		})
	}
	b, err := snapshot.EncodeMetadata(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, d, b); err != nil {
		t.Fatal(err)
	}
	return d, m
}

// damage is a way to break a state file, through the storage's own API so
// that it works on every backend.
type damage struct {
	name string
	do   func(t *testing.T, s *Storage, d Dir, file string)
	want string // in the error
}

func rewrite(t *testing.T, s *Storage, d Dir, file string, change func([]byte) []byte) {
	t.Helper()
	b, err := s.st.get(t.Context(), d.key(file))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteState(t.Context(), d, file, bytes.NewReader(change(b))); err != nil {
		t.Fatal(err)
	}
}

var damages = []damage{
	{"truncated", func(t *testing.T, s *Storage, d Dir, file string) {
		rewrite(t, s, d, file, func(b []byte) []byte { return b[:len(b)-100] })
	}, "(truncated)"},
	{"bit flipped", func(t *testing.T, s *Storage, d Dir, file string) {
		rewrite(t, s, d, file, func(b []byte) []byte { b[len(b)*2/3] ^= 0x10; return b })
	}, "checksum mismatch"},
	{"deleted", func(t *testing.T, s *Storage, d Dir, file string) {
		if err := s.st.remove(t.Context(), d.key(file)); err != nil {
			t.Fatal(err)
		}
	}, "is missing"},
	{"longer", func(t *testing.T, s *Storage, d Dir, file string) {
		rewrite(t, s, d, file, func(b []byte) []byte { return append(b, 0) })
	}, "its metadata says"},
}

func TestVerifyFindsDamagedFiles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		ctx := t.Context()
		for i, dm := range damages {
			t.Run(dm.name, func(t *testing.T) {
				d, m := keyedCheckpoint(t, s, uint64(10+i))
				if err := s.Verify(ctx, d, m); err != nil {
					t.Fatalf("Verify of a whole checkpoint: %v", err)
				}
				dm.do(t, s, d, "count.1.keyed")
				err := s.Verify(ctx, d, m)
				var de *DamagedError
				if !errors.As(err, &de) || !errors.Is(err, ErrDamaged) || !errors.Is(err, snapshot.ErrCorrupt) {
					t.Fatalf("Verify = %v, want a *DamagedError matching ErrDamaged and snapshot.ErrCorrupt", err)
				}
				if len(de.Files) != 1 || de.Files[0].Name != "count.1.keyed" || de.Dir != d {
					t.Fatalf("DamagedError %+v, want count.1.keyed of %s alone", de, d)
				}
				msg := err.Error()
				for _, want := range []string{"checkpoint storage: ", d.Name(), "state file count.1.keyed", dm.want, "restore from another checkpoint"} {
					if !strings.Contains(msg, want) {
						t.Errorf("error %q lacks %q", msg, want)
					}
				}
				if _, err := s.ReadVerified(ctx, d, nil); !errors.As(err, &de) {
					t.Errorf("ReadVerified = %v, want the *DamagedError", err)
				}
			})
		}
		// Every damaged file is named, in metadata order.
		d, m := keyedCheckpoint(t, s, 20)
		damages[2].do(t, s, d, "count.1.keyed")
		damages[1].do(t, s, d, "count.0.keyed")
		var de *DamagedError
		if err := s.Verify(ctx, d, m); !errors.As(err, &de) || len(de.Files) != 2 ||
			de.Files[0].Name != "count.0.keyed" || de.Files[1].Name != "count.1.keyed" || !errors.Is(de.Files[1].Err, fs.ErrNotExist) {
			t.Fatalf("Verify with two damaged files = %v", err)
		}
	})
}

func TestLatestVerifiedFallsBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, logs *syncBuffer) {
		ctx := t.Context()
		if _, _, err := s.LatestVerified(ctx, nil); !errors.Is(err, ErrNone) {
			t.Fatalf("LatestVerified of empty storage: %v, want ErrNone", err)
		}
		var dirs []Dir
		for id := uint64(1); id <= 6; id++ {
			d, _ := keyedCheckpoint(t, s, id)
			dirs = append(dirs, d)
		}
		newest := dirs[len(dirs)-1]
		if d, m, err := s.LatestVerified(ctx, nil); err != nil || d != newest || m.CheckpointID != 6 {
			t.Fatalf("LatestVerified = %v, %v, %v; want %s", d, m, err, newest)
		}
		// Damage the newest checkpoints one after another: each time the
		// previous one is used, and the log says which file and why.
		for i, dm := range damages {
			bad, prev := dirs[len(dirs)-1-i], dirs[len(dirs)-2-i]
			dm.do(t, s, bad, "count.0.keyed")
			d, m, err := s.LatestVerified(ctx, nil)
			if err != nil || d != prev || m.CheckpointID != int64(len(dirs)-1-i) {
				t.Fatalf("after %s: LatestVerified = %v, %v; want %s", dm.name, d, err, prev)
			}
			out := logs.String()
			for _, want := range []string{
				"level=WARN", "skipping checkpoint with damaged state files; using the previous one",
				"checkpoint=" + bad.Name(), "file=count.0.keyed", "previous=" + prev.Name(), dm.want,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("after %s, the log lacks %q:\n%s", dm.name, want, out)
				}
			}
		}
		// A check that refuses the metadata skips a checkpoint too.
		refuse := func(m *snapshot.Metadata) error {
			if m.CheckpointID == 2 {
				return errors.New("taken with max parallelism 8, the job has 16")
			}
			return nil
		}
		if d, _, err := s.LatestVerified(ctx, refuse); err != nil || d != dirs[0] {
			t.Fatalf("LatestVerified refusing checkpoint 2 = %v, %v; want %s", d, err, dirs[0])
		}
		if !strings.Contains(logs.String(), "skipping checkpoint with unusable metadata") {
			t.Errorf("the log does not say the metadata was refused:\n%s", logs)
		}
		// With the last one damaged too, nothing remains.
		damages[0].do(t, s, dirs[0], "count.1.keyed")
		if _, _, err := s.LatestVerified(ctx, refuse); !errors.Is(err, ErrNone) {
			t.Fatalf("LatestVerified with every checkpoint damaged: %v, want ErrNone", err)
		}
		if !strings.Contains(logs.String(), "no previous checkpoint remains") {
			t.Errorf("the log does not say no previous checkpoint remains:\n%s", logs)
		}
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		if _, _, err := s.LatestVerified(cancelled, nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("LatestVerified with a cancelled context: %v", err)
		}
		if err := s.Verify(ctx, dirs[3], &snapshot.Metadata{}); err != nil {
			t.Fatalf("Verify of metadata without files: %v", err)
		}
	})
}

// TestVerifyReadErrorIsNotDamage checks that a file that cannot be read
// (here: the context ends while it is read) is reported as an error, not
// as damage that would send a restore to an older checkpoint.
func TestVerifyReadErrorIsNotDamage(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		d, m := keyedCheckpoint(t, s, 1)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := s.Verify(ctx, d, m)
		if !errors.Is(err, context.Canceled) || errors.Is(err, ErrDamaged) {
			t.Fatalf("Verify with a cancelled context = %v, want context.Canceled and no ErrDamaged", err)
		}
		// A reader that fails mid-file is an I/O error too.
		boom := errors.New("boom")
		err = snapshot.CheckFile(io.MultiReader(strings.NewReader("x"), failing{boom}), snapshot.FileRef{Name: "f", Size: 10})
		if !errors.Is(err, boom) || errors.Is(err, snapshot.ErrCorrupt) {
			t.Fatalf("CheckFile of a failing reader = %v", err)
		}
	})
}

type failing struct{ err error }

func (f failing) Read([]byte) (int, error) { return 0, f.err }

func TestSavepointsAndNoCreate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Storage, _ *syncBuffer) {
		ctx := t.Context()
		checkpointAt(t, s, 1, true)
		for _, name := range []string{"savepoint-3-1700000000000", "before-upgrade", "unfinished"} {
			d := SavepointDir(name)
			writeState(t, s, d, "x", "state")
			if name != "unfinished" {
				if err := s.Commit(ctx, d, metadata(d)); err != nil {
					t.Fatal(err)
				}
			}
		}
		got, err := s.Savepoints(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"before-upgrade", "savepoint-3-1700000000000"}; !slices.Equal(names(got), want) {
			t.Fatalf("Savepoints = %v, want %v", names(got), want)
		}
	})
	missing := filepath.Join(t.TempDir(), "nothing-here")
	if _, err := Open(t.Context(), missing, NoCreate()); err == nil || !strings.Contains(err.Error(), "check the path") {
		t.Fatalf("Open(NoCreate) of a missing directory: %v", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open(NoCreate) created %s: %v", missing, err)
	}
}

// BenchmarkVerify measures Verify on a local checkpoint of four 16 MiB
// state files: the cost a restore pays to find a damaged file first.
func BenchmarkVerify(b *testing.B) {
	s, err := Open(b.Context(), b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	d := CheckpointDir(1)
	m := &snapshot.Metadata{CheckpointID: 1, MaxParallelism: 4, Operators: []snapshot.Operator{{UID: "op", Parallelism: 4}}}
	var total int64
	for i := range 4 {
		data := make([]byte, 16<<20)
		for j := range data {
			data[j] = byte(j * (i + 7))
		}
		name := fmt.Sprintf("op.%d.keyed", i)
		if _, err := s.WriteState(b.Context(), d, name, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		m.Operators[0].Subtasks = append(m.Operators[0].Subtasks, snapshot.Subtask{
			Index: i, KeyGroups: [2]int{i, i + 1}, KeyedFile: name, KeyedSize: int64(len(data)),
			KeyedCRC: crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)), GroupOffsets: []int64{22},
		})
		total += int64(len(data))
	}
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		if err := s.Verify(b.Context(), d, m); err != nil {
			b.Fatal(err)
		}
	}
}
