package file

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weirstream/weir/source"
)

// appendLines writes "PREFIX-i\n" for i in [from, to) to f.
func appendLines(t *testing.T, f *os.File, prefix string, from, to int) []string {
	t.Helper()
	var want []string
	var b []byte
	for i := from; i < to; i++ {
		l := fmt.Sprintf("%s-%d", prefix, i)
		want = append(want, l)
		b = append(append(b, l...), '\n')
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	return want
}

func create(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// pollUntil steps d until subtask 0 has emitted n lines, failing after a
// few seconds or if it emits more.
func pollUntil(t *testing.T, d *driver, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		d.step()
		got := d.readers[0].out.lines
		if len(got) > n {
			t.Fatalf("got %d lines, want %d: %q", len(got), n, got[n:])
		}
		if len(got) == n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d lines after 5s, want %d", len(got), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// settle steps d a few times, long enough for any stray line to appear.
func settle(d *driver) {
	for range 20 {
		d.step()
		time.Sleep(time.Millisecond)
	}
}

func TestFollowRotation(t *testing.T) {
	for _, tc := range []struct {
		name     string
		glob     string
		grace    time.Duration
		lateOld  bool // the old file's writer appends after the new file appeared
		wantLate bool
	}{
		{name: "rotated name matches", glob: "access.log*", lateOld: true, wantLate: true},
		{name: "rotated name leaves, grace", glob: "access.log", grace: time.Hour, lateOld: true, wantLate: true},
		// Let go at once, the file is found again when it grows.
		{name: "rotated name leaves, no grace", glob: "access.log", grace: 0, lateOld: true, wantLate: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			live := filepath.Join(dir, "access.log")
			old := create(t, live)
			want := appendLines(t, old, "a", 0, 100)
			src := mustSource(t, filepath.Join(dir, tc.glob), Follow(), PollInterval(0), RotationGrace(tc.grace))
			if src.Boundedness() != source.Unbounded {
				t.Fatal("follow mode must be unbounded")
			}
			d := newDriver(t, src, 2, 1)
			pollUntil(t, d, 100)
			if !d.readers[1].done {
				t.Fatal("subtask 1 should end: only subtask 0 follows")
			}

			// Rotate: rename, the old writer still appends, then a new file.
			if err := os.Rename(live, live+".1"); err != nil {
				t.Fatal(err)
			}
			want = append(want, appendLines(t, old, "a", 100, 110)...)
			nw := create(t, live)
			want = append(want, appendLines(t, nw, "b", 0, 10)...)
			got := pollUntil(t, d, len(want))
			if !slices.Equal(got, want) {
				t.Fatalf("got %q\nwant %q", got, want)
			}

			if tc.lateOld {
				late := appendLines(t, old, "a", 110, 115)
				if tc.wantLate {
					want = append(want, late...)
				}
			}
			want = append(want, appendLines(t, nw, "b", 10, 20)...)
			got = pollUntil(t, d, len(want))
			settle(d)
			if got := d.readers[0].out.lines; len(got) != len(want) {
				t.Fatalf("got %d lines, want %d", len(got), len(want))
			}
			sameMultiset(t, "after rotation", got, want)
		})
	}
}

func TestFollowPartialLineWaitsForNewline(t *testing.T) {
	dir := t.TempDir()
	f := create(t, filepath.Join(dir, "x.log"))
	d := newDriver(t, mustSource(t, filepath.Join(dir, "*.log"), Follow(), PollInterval(0)), 1, 1)
	write := func(s string) {
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	write("abc")
	settle(d)
	if got := d.readers[0].out.lines; len(got) != 0 {
		t.Fatalf("emitted a partial line: %q", got)
	}
	write("def\nxy")
	pollUntil(t, d, 1)
	settle(d)
	write("z\r\n\n")
	got := pollUntil(t, d, 3)
	if want := []string{"abcdef", "xyz", ""}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	// The snapshot points after the last complete line.
	splits, err := d.readers[0].r.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	s := splits[0].(*Split)
	if len(s.Files) != 1 || s.Files[0].Offset != int64(len("abcdef\nxyz\r\n\n")) || s.SplitID() != "follow:"+filepath.Join(dir, "*.log") {
		t.Fatalf("Snapshot = %+v", *s)
	}
}

// TestFollowRestore fails the follower in the middle of a file, rotates the
// log while it is down, and checks that the restored follower emits every
// line exactly once and in order.
func TestFollowRestore(t *testing.T) {
	for _, tc := range []struct {
		glob    string
		restore bool
	}{
		{"access.log*", true},
		{"access.log*", false},
		{"access.log", true}, // the rotated file is found by identity
	} {
		t.Run(fmt.Sprintf("%s/restore=%v", tc.glob, tc.restore), func(t *testing.T) {
			dir := t.TempDir()
			live := filepath.Join(dir, "access.log")
			old := create(t, live)
			want := appendLines(t, old, "a", 0, 10000)
			d := newDriver(t, mustSource(t, filepath.Join(dir, tc.glob), Follow(), PollInterval(0), RotationGrace(0)), 1, 1)
			for len(d.readers[0].out.lines) < batchLines {
				d.step()
			}
			d.failover(0, tc.restore)
			if err := os.Rename(live, live+".1"); err != nil {
				t.Fatal(err)
			}
			want = append(want, appendLines(t, old, "a", 10000, 10010)...)
			nw := create(t, live)
			want = append(want, appendLines(t, nw, "b", 0, 10)...)
			got := pollUntil(t, d, len(want))
			if !slices.Equal(got, want) {
				t.Fatalf("got %d lines, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestFollowTruncatedAndDeletedFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.log")
	f := create(t, path)
	want := appendLines(t, f, "a", 0, 5)
	d := newDriver(t, mustSource(t, path, Follow(), PollInterval(0), RotationGrace(0)), 1, 1)
	pollUntil(t, d, 5)
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	want = append(want, appendLines(t, f, "b", 0, 2)...)
	got := pollUntil(t, d, 7)
	if !slices.Equal(got, want) {
		t.Fatalf("after truncation got %q, want %q", got, want)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("tail without newline"); err != nil {
		t.Fatal(err)
	}
	got = pollUntil(t, d, 8)
	if got[7] != "tail without newline" {
		t.Fatalf("the last line of a deleted file: %q", got[7])
	}
	// It stays in the split a while, at its end, so that a restore does not
	// take it for a file nobody read.
	splits, _ := d.readers[0].r.Snapshot(1)
	for _, st := range splits[0].(*Split).Files {
		if st.Offset != st.Size {
			t.Fatalf("a deleted file is still tracked: %+v", st)
		}
	}
}

func TestFollowIdlePollIsQuick(t *testing.T) {
	dir := t.TempDir()
	d := newDriver(t, mustSource(t, filepath.Join(dir, "*.log"), Follow()), 1, 1)
	d.step()
	dr := d.readers[0]
	for range 5 {
		start := time.Now()
		st, err := dr.r.Poll(t.Context(), &dr.out)
		if err != nil || st != source.NothingAvailable {
			t.Fatalf("Poll = %v, %v", st, err)
		}
		if el := time.Since(start); el > 50*time.Millisecond {
			t.Fatalf("an idle Poll took %v", el)
		}
	}
	// A file created later is found.
	f := create(t, filepath.Join(dir, "new.log"))
	appendLines(t, f, "n", 0, 3)
	pollUntil(t, d, 3)
}

// TestFollowPartialLinesInSeveralFiles checks that files sharing the read
// buffer keep their partial lines apart.
func TestFollowPartialLinesInSeveralFiles(t *testing.T) {
	dir := t.TempDir()
	a := create(t, filepath.Join(dir, "a.log"))
	b := create(t, filepath.Join(dir, "b.log"))
	d := newDriver(t, mustSource(t, filepath.Join(dir, "*.log"), Follow(), PollInterval(0)), 1, 1)
	var want []string
	for i := range 50 {
		fmt.Fprintf(a, "a%d-start ", i)
		fmt.Fprintf(b, "b%d-start ", i)
		settle(d)
		fmt.Fprintf(a, "a%d-end\n", i)
		fmt.Fprintf(b, "b%d-end\n", i)
		want = append(want, fmt.Sprintf("a%d-start a%d-end", i, i), fmt.Sprintf("b%d-start b%d-end", i, i))
		pollUntil(t, d, len(want))
	}
	sameMultiset(t, "two files", d.readers[0].out.lines, want)
}

// TestFollowRotatedWhileDown fails the follower in the middle of a file and
// rotates twice while it is down, with logrotate's names: the file it was
// reading left the pattern, and a file it never saw came and left. The
// follower restored from its snapshot emits every line exactly once, each
// file's in order.
func TestFollowRotatedWhileDown(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "access.log")
	mv := func(from, to string) {
		t.Helper()
		if err := os.Rename(filepath.Join(dir, from), filepath.Join(dir, to)); err != nil {
			t.Fatal(err)
		}
	}
	a := create(t, live)
	want := appendLines(t, a, "a", 0, 10000)
	d := newDriver(t, mustSource(t, filepath.Join(dir, "access*.log"), Follow(), PollInterval(0), RotationGrace(0)), 1, 1)
	for len(d.readers[0].out.lines) < batchLines {
		d.step()
	}
	d.failover(0, true)
	mv("access.log", "access.log.1")
	want = append(want, appendLines(t, a, "a", 10000, 10010)...)
	b := create(t, live)
	wantB := appendLines(t, b, "b", 0, 30)
	mv("access.log.1", "access.log.2")
	mv("access.log", "access.log.1")
	c := create(t, live)
	wantC := appendLines(t, c, "c", 0, 20)
	got := pollUntil(t, d, len(want)+len(wantB)+len(wantC))
	settle(d)
	sameMultiset(t, "after the restore", got, slices.Concat(want, wantB, wantC))
	for _, w := range [][]string{want, wantB, wantC} {
		prefix := w[0][:2]
		var of []string
		for _, g := range got {
			if g[:2] == prefix {
				of = append(of, g)
			}
		}
		if !slices.Equal(of, w) {
			t.Fatalf("the lines of %s.. are out of order", prefix)
		}
	}
}

// TestFollowCopytruncateWhileDown: rotated with copytruncate while the
// follower is down, the file is shorter than its position: the restored
// follower emits the end it had not read from the copy, then the new lines.
func TestFollowCopytruncateWhileDown(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, "access.log")
	a := create(t, live)
	want := appendLines(t, a, "a", 0, 10000)
	d := newDriver(t, mustSource(t, filepath.Join(dir, "access*.log"), Follow(), PollInterval(0), RotationGrace(0)), 1, 1)
	for len(d.readers[0].out.lines) < batchLines {
		d.step()
	}
	d.failover(0, true)
	data, err := os.ReadFile(live)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(live+".1", data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := a.Truncate(0); err != nil {
		t.Fatal(err)
	}
	want = append(want, appendLines(t, a, "b", 0, 10)...)
	got := pollUntil(t, d, len(want))
	settle(d)
	sameMultiset(t, "after the restore", got, want)
}

// TestFollowTruncationLogsTheLoss: a followed file truncated in place with
// lines not read yet, its copy out of reach: the warning says how many
// bytes are lost, and the file is read again from its start.
func TestFollowTruncationLogsTheLoss(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	f := create(t, path)
	want := appendLines(t, f, "a", 0, 100)
	h := &logs{}
	d := newDriver(t, mustSource(t, path, Follow(), PollInterval(0), WithLogger(slog.New(h))), 1, 1)
	pollUntil(t, d, 100)
	// One Poll lists the file with all these lines, and emits a batch of
	// them: the last 40 are not read when the file is truncated.
	more := appendLines(t, f, "x", 0, batchLines+40)
	d.step()
	if n := len(d.readers[0].out.lines); n != 100+batchLines {
		t.Fatalf("%d lines after one Poll, want %d", n, 100+batchLines)
	}
	want = append(want, more[:batchLines]...)
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	want = append(want, appendLines(t, f, "b", 0, 5)...)
	got := pollUntil(t, d, len(want))
	settle(d)
	if !slices.Equal(got, want) {
		t.Fatalf("got %d lines, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
	msg, v, ok := h.attr("lost_bytes_at_least")
	if n := int64(len(strings.Join(more[batchLines:], "\n")) + 1); !ok || v.Int64() != n || !strings.Contains(msg, "copytruncate") {
		t.Fatalf("the truncation was logged as %q with lost_bytes_at_least %v; want %d bytes and a word on copytruncate", msg, v, n)
	}
}

// logs keeps the records logged, for tests that check what was said.
type logs struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logs) Enabled(context.Context, slog.Level) bool { return true }
func (h *logs) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logs) WithGroup(string) slog.Handler            { return h }
func (h *logs) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.recs = append(h.recs, r.Clone())
	h.mu.Unlock()
	return nil
}

// attr returns the message and the value of the first record with
// attribute key.
func (h *logs) attr(key string) (string, slog.Value, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		var v slog.Value
		found := false
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				v, found = a.Value, true
			}
			return !found
		})
		if found {
			return r.Message, v, true
		}
	}
	return "", slog.Value{}, false
}
