package file

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/weirstream/weir/source"
)

func progressOf(d *driver, i int) []source.SplitProgress {
	return d.readers[i].r.(source.ProgressReporter).AppendSplitProgress(nil)
}

// TestBoundedProgress: a bounded reader reports its split's byte offset
// after the last emitted line and the bytes of the split after it, and a
// finished split at lag 0.
func TestBoundedProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := bigFile(t, path, 10000)
	var size int64
	for _, l := range want {
		size += int64(len(l)) + 1
	}
	d := newDriver(t, mustSource(t, path), 1, 1)
	d.step() // routes the request and reads the first batch
	var emitted int64
	for _, l := range want[:batchLines] {
		emitted += int64(len(l)) + 1
	}
	id := path + "[0:-1]"
	got := progressOf(d, 0)
	if w := []source.SplitProgress{{Split: id, Position: emitted, Lag: size - emitted, Unit: source.ProgressBytes}}; !slices.Equal(got, w) {
		t.Fatalf("after one batch: %v, want %v", got, w)
	}
	d.run()
	got = progressOf(d, 0)
	if w := []source.SplitProgress{{Split: id, Position: size, Lag: 0, Unit: source.ProgressBytes}}; !slices.Equal(got, w) {
		t.Fatalf("at the end: %v, want %v", got, w)
	}
}

// TestFollowProgress: a followed pattern reports the bytes read of its
// files and the bytes written to them that were not read yet.
func TestFollowProgress(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "access.log")
	f := create(t, live)
	lines := appendLines(t, f, "a", 0, 3*batchLines)
	var size int64
	for _, l := range lines {
		size += int64(len(l)) + 1
	}
	d := newDriver(t, mustSource(t, filepath.Join(dir, "access.log*"), Follow(), PollInterval(0), RotationGrace(0)), 1, 1)
	for len(d.readers[0].out.lines) < batchLines {
		d.step()
	}
	got := progressOf(d, 0)
	if len(got) != 1 {
		t.Fatalf("progress %v, want the pattern's one split", got)
	}
	if p := got[0]; p.Position <= 0 || p.Position >= size || p.Position+p.Lag != size || p.Unit != source.ProgressBytes {
		t.Fatalf("after the first batch of a %d-byte file: %+v, want position+lag = size", size, p)
	}
	pollUntil(t, d, len(lines))
	if p := progressOf(d, 0)[0]; p.Position != size || p.Lag != 0 {
		t.Fatalf("after reading everything: %+v, want position %d, lag 0", p, size)
	}
}
