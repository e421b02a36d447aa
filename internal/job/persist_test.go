package job

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/snapshot"
)

// TestEpochsWriteStateFilesOfTheirOwn: a worker cut off from its cluster
// may still run an old epoch. A barrier that was on its way when it was
// cut off makes its tasks write the keyed state of a checkpoint id that
// the new epoch, which numbers its checkpoints after the newest it found,
// may use too. Each epoch names its files, so the new epoch's checkpoint
// keeps its own; in one process the names stay as they were.
func TestEpochsWriteStateFilesOfTheirOwn(t *testing.T) {
	ctx := context.Background()
	store, err := storage.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	j := New(Spec{Name: "job", MaxParallelism: 128})
	const id = 7
	write := func(epoch int64, value string) snapshot.Subtask {
		t.Helper()
		r := newRun(j, store, 0, nil)
		r.attempt = epoch
		var snap OperatorSnapshot
		snap.BeginKeyed(keygroup.Range{Start: 0, End: 128})
		snap.Keyed[3] = []snapshot.Entry{{State: "count", Key: []byte("k"), Value: []byte(value)}}
		var sub snapshot.Subtask
		if err := r.writeKeyed(ctx, id, "counts", 0, &snap, &sub); err != nil {
			t.Fatal(err)
		}
		return sub
	}
	read := func(name string) []byte {
		t.Helper()
		f, err := store.OpenState(ctx, storage.CheckpointDir(id), name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b, err := io.ReadAll(io.NewSectionReader(f, 0, f.Size()))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	live := write(3<<16, "live")
	before := read(live.KeyedFile)
	zombie := write(2<<16, "zombie")
	if zombie.KeyedFile == live.KeyedFile {
		t.Fatalf("two epochs wrote the same state file %s", live.KeyedFile)
	}
	if after := read(live.KeyedFile); !bytes.Equal(before, after) {
		t.Fatalf("the old epoch's write changed the new epoch's state file %s", live.KeyedFile)
	}
	if one := write(0, "alone"); one.KeyedFile != "counts.0.keyed" {
		t.Fatalf("in one process the state file is %s, want counts.0.keyed", one.KeyedFile)
	}
}
