package file

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/weirstream/weir/source"
)

// oracleLines is the naive definition of the lines of a file: split at
// '\n', no line after a final '\n', a trailing '\r' dropped, lines longer
// than maxLine (counted before the '\n') left out.
func oracleLines(data string, maxLine int) []string {
	if data == "" {
		return nil
	}
	parts := strings.Split(data, "\n")
	if strings.HasSuffix(data, "\n") {
		parts = parts[:len(parts)-1]
	}
	var out []string
	for _, p := range parts {
		if len(p) > maxLine {
			continue
		}
		out = append(out, strings.TrimSuffix(p, "\r"))
	}
	return out
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// quiet is the logger of the sources of tests: their logs are expected.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func mustSource(t testing.TB, pattern string, opts ...SourceOption) *Source {
	t.Helper()
	s, err := NewSource(pattern, append([]SourceOption{WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func flatten(parts [][]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func sameMultiset(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: got %d lines, want %d\n got %q\nwant %q", what, len(got), len(want), shorten(g), shorten(w))
	}
}

func shorten(s []string) []string {
	if len(s) > 40 {
		return s[:40]
	}
	return s
}

func TestBoundedGlobReadsFilesInNameOrder(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "b.log"), "b1\nb2\n")
	writeFile(t, filepath.Join(dir, "a.log"), "a1\r\na2")
	writeFile(t, filepath.Join(dir, "c.log"), "")
	writeFile(t, filepath.Join(dir, "other.txt"), "x\n")
	if err := os.Mkdir(filepath.Join(dir, "d.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := mustSource(t, filepath.Join(dir, "*.log"))
	if src.Boundedness() != source.Bounded {
		t.Fatalf("Boundedness = %v", src.Boundedness())
	}
	d := newDriver(t, src, 1, 1)
	d.run()
	want := []string{"a1", "a2", "b1", "b2"}
	if got := d.lines()[0]; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// TestBoundedEveryLineOnce checks the split convention against the oracle on
// random files, split sizes down to one byte and several readers.
func TestBoundedEveryLineOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	alphabet := "ab\n\n\r"
	for iter := range 400 {
		dir := t.TempDir()
		nFiles := 1 + rng.IntN(3)
		var want []string
		maxLine := 1 << 20
		if iter%3 == 0 {
			maxLine = 1 + rng.IntN(8)
		}
		for f := range nFiles {
			n := rng.IntN(80)
			var b strings.Builder
			for range n {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
			data := b.String()
			writeFile(t, filepath.Join(dir, fmt.Sprintf("f%d", f)), data)
			want = append(want, oracleLines(data, maxLine)...)
		}
		splitSize := int64(1 + rng.IntN(40))
		par := 1 + rng.IntN(4)
		var long []string
		var mu sync.Mutex
		src := mustSource(t, filepath.Join(dir, "f*"), SplitSize(splitSize), MaxLineSize(maxLine),
			WithLongLineHook(func(path string, off int64) {
				mu.Lock()
				long = append(long, fmt.Sprint(path, off))
				mu.Unlock()
			}))
		d := newDriver(t, src, par, uint64(iter))
		d.run()
		got := d.lines()
		if par == 1 {
			if !slices.Equal(got[0], want) {
				t.Fatalf("iter %d (split %d): got %q, want %q", iter, splitSize, got[0], want)
			}
		} else {
			sameMultiset(t, fmt.Sprintf("iter %d (split %d, par %d)", iter, splitSize, par), flatten(got), want)
		}
		if dup := len(long) - len(slices.Compact(slices.Sorted(slices.Values(long)))); dup != 0 {
			t.Fatalf("iter %d: %d long lines reported twice: %q", iter, dup, long)
		}
	}
}

// TestBoundedEveryBoundary reads one tricky file with every split size.
func TestBoundedEveryBoundary(t *testing.T) {
	data := "\n\nfirst\r\n\r\nx\n\nlonger line here\ny\r\n\n\nlast without newline"
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	writeFile(t, path, data)
	want := oracleLines(data, 1<<20)
	for size := int64(1); size <= int64(len(data))+1; size++ {
		d := newDriver(t, mustSource(t, path, SplitSize(size)), 1, uint64(size))
		d.run()
		if got := d.lines()[0]; !slices.Equal(got, want) {
			t.Fatalf("split size %d: got %q, want %q", size, got, want)
		}
	}
}

func bigFile(t testing.TB, path string, n int) []string {
	t.Helper()
	var b bytes.Buffer
	want := make([]string, n)
	for i := range n {
		want[i] = fmt.Sprintf("line %d %s", i, strings.Repeat("x", i%37))
		b.WriteString(want[i])
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return want
}

// TestBoundedSnapshotRestore fails readers at random points, restoring them
// from their snapshots or giving their splits back to the enumerator, and
// checks that every line is emitted exactly once.
func TestBoundedSnapshotRestore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.log")
	want := bigFile(t, path, 30000)
	for _, restore := range []bool{true, false} {
		for seed := range uint64(8) {
			par := 1 + int(seed%3)
			d := newDriver(t, mustSource(t, path, SplitSize(300_000)), par, seed)
			rng := rand.New(rand.NewPCG(seed, 2))
			for steps := 0; d.step(); steps++ {
				if rng.IntN(3) == 0 {
					i := rng.IntN(par)
					if !d.readers[i].done {
						d.failover(i, restore)
					}
				}
				if steps > 100_000 {
					t.Fatal("the source did not end")
				}
			}
			sameMultiset(t, fmt.Sprintf("restore=%v seed %d", restore, seed), flatten(d.lines()), want)
			if par == 1 && !slices.Equal(d.lines()[0], want) {
				t.Fatalf("restore=%v seed %d: lines out of order", restore, seed)
			}
		}
	}
}

func TestBoundedSnapshotOffsets(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	want := bigFile(t, path, 10000)
	d := newDriver(t, mustSource(t, path), 1, 1)
	d.step() // routes the request and reads the first batch
	splits, err := d.readers[0].r.Snapshot(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(splits) != 1 {
		t.Fatalf("Snapshot = %v, want one split", splits)
	}
	s := splits[0].(*Split)
	var emitted int64
	for _, l := range want[:batchLines] {
		emitted += int64(len(l)) + 1
	}
	if s.Path != path || s.Start != 0 || s.End != -1 || s.Offset != emitted {
		t.Fatalf("Snapshot = %+v, want offset %d", *s, emitted)
	}
	if id := s.SplitID(); id != path+"[0:-1]" {
		t.Fatalf("SplitID = %q", id)
	}
}

func TestLongLinesAreSkippedAndReported(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	long := strings.Repeat("L", 3000)
	writeFile(t, path, "ok\n"+long+"\nfine\n"+long)
	var offsets []int64
	d := newDriver(t, mustSource(t, path, MaxLineSize(100), WithLongLineHook(func(p string, off int64) {
		if p != path {
			t.Errorf("hook path %q", p)
		}
		offsets = append(offsets, off)
	})), 1, 1)
	d.run()
	if got := d.lines()[0]; !slices.Equal(got, []string{"ok", "fine"}) {
		t.Fatalf("got %q", got)
	}
	if want := []int64{3, int64(3 + len(long) + 1 + 5)}; !slices.Equal(offsets, want) {
		t.Fatalf("hook offsets %v, want %v", offsets, want)
	}
}

func TestNewSourceValidation(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.log"), "x\n")
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		pattern string
		opts    []SourceOption
		want    []string
	}{
		{"empty", "", nil, []string{"pattern is empty"}},
		{"bad glob", filepath.Join(dir, "[a"), nil, []string{"not a valid glob"}},
		{"no match", filepath.Join(dir, "*.txt"), nil, []string{"matches no file", "Follow"}},
		{"directory", filepath.Join(dir, "sub"), nil, []string{"only directories"}},
		{"options", filepath.Join(dir, "a.log"),
			[]SourceOption{SplitSize(0), MaxLineSize(-1), PollInterval(-1), RotationGrace(-1)},
			[]string{"SplitSize is 0", "MaxLineSize is -1", "PollInterval is -1ns", "RotationGrace is -1ns"}},
		{"all at once", "", []SourceOption{SplitSize(-5)}, []string{"pattern is empty", "SplitSize is -5"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSource(tc.pattern, tc.opts...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, "file: ") {
					t.Errorf("error line %q lacks the package prefix", line)
				}
			}
		})
	}
	if _, err := NewSource(filepath.Join(dir, "*.txt"), Follow()); err != nil {
		t.Fatalf("follow mode waits for files, but: %v", err)
	}
}

func TestBoundedFileGoneFailsPoll(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.log")
	writeFile(t, path, "x\n")
	d := newDriver(t, mustSource(t, path), 1, 1)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for _, s := range d.requests {
		d.enum.HandleSplitRequest(s)
	}
	d.requests = nil
	dr := d.readers[0]
	for _, m := range dr.inbox {
		dr.r.AddSplits(m.splits)
	}
	dr.inbox = nil
	_, err := dr.r.Poll(t.Context(), &dr.out)
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "file: ") {
		t.Fatalf("Poll error %v, want a file: error wrapping ErrNotExist", err)
	}
}

func TestBoundedConcurrentReaders(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	want := bigFile(t, path, 50000)
	counts := runConcurrently(t, mustSource(t, path, SplitSize(64<<10)), 3)
	if n := counts[0] + counts[1] + counts[2]; n != len(want) {
		t.Fatalf("read %d lines (%v), want %d", n, counts, len(want))
	}
}

// deadLetters returns the dead letters of every reader of d.
func deadLetters(d *driver) []source.DeadLetter {
	var out []source.DeadLetter
	for _, dr := range d.readers {
		out = append(out, dr.out.dead...)
	}
	slices.SortFunc(out, func(a, b source.DeadLetter) int { return strings.Compare(a.Position, b.Position) })
	return out
}

// checkTooLong checks that dead holds one dead letter per offset in
// offsets, each with the reason, the position and the first KiB of a line
// of Ls.
func checkTooLong(t *testing.T, what string, dead []source.DeadLetter, path string, offsets ...int64) {
	t.Helper()
	var want []string
	for _, off := range offsets {
		want = append(want, fmt.Sprintf("%s:%d", path, off))
	}
	slices.Sort(want)
	var got []string
	for _, d := range dead {
		got = append(got, d.Position)
		if d.Reason != ReasonTooLong || string(d.Raw) != strings.Repeat("L", 1024) || d.Split == "" {
			t.Fatalf("%s: dead letter %s: reason %q, split %q, %d bytes of raw; want %q and the line's first KiB", what, d.Position, d.Reason, d.Split, len(d.Raw), ReasonTooLong)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: dead letters at %q, want %q", what, got, want)
	}
}

// TestLongLinesGoToDeadLetters: a line longer than MaxLineSize is not
// emitted; it goes to the dead letters, once, with the reason "too long",
// its position and its first KiB: in bounded mode whatever the split size
// and the readers, in follow mode, and when it is the last line of a file
// without '\n'.
func TestLongLinesGoToDeadLetters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	long := strings.Repeat("L", 5000)
	data := "ok\n" + long + "\nfine\n" + long[:3000] + "\r\ntail\n" + long[:2000]
	writeFile(t, path, data)
	offsets := []int64{3, 5009, 8016}
	for _, size := range []int64{13, 999, 5003, 1 << 20} {
		for par := 1; par <= 3; par++ {
			d := newDriver(t, mustSource(t, path, MaxLineSize(100), SplitSize(size)), par, uint64(size))
			d.run()
			what := fmt.Sprintf("split size %d, %d readers", size, par)
			sameMultiset(t, what, flatten(d.lines()), []string{"ok", "fine", "tail"})
			checkTooLong(t, what, deadLetters(d), path, offsets...)
		}
	}

	d := newDriver(t, mustSource(t, path, MaxLineSize(100), Follow(), PollInterval(0)), 1, 1)
	pollUntil(t, d, 3)
	settle(d)
	// The last line is not complete until its '\n' arrives.
	checkTooLong(t, "follow", deadLetters(d), path, offsets[:2]...)
	f := create(t, path)
	if _, err := f.WriteString("\nmore\n"); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, d, 4)
	checkTooLong(t, "follow", deadLetters(d), path, offsets...)
}

// TestLongLineRestoredMidway: a follower snapshotted while it skips a long
// line whose end is not written yet is restored; the line goes to the dead
// letters once, when its end comes.
func TestLongLineRestoredMidway(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	f := create(t, path)
	if _, err := f.WriteString("ok\n" + strings.Repeat("L", 3000)); err != nil {
		t.Fatal(err)
	}
	d := newDriver(t, mustSource(t, path, MaxLineSize(100), Follow(), PollInterval(0)), 1, 1)
	pollUntil(t, d, 1)
	settle(d)
	if dead := deadLetters(d); len(dead) != 0 {
		t.Fatalf("a line without its end went to the dead letters: %v", dead)
	}
	d.failover(0, true)
	if _, err := f.WriteString(strings.Repeat("L", 3000) + "\nnext\n"); err != nil {
		t.Fatal(err)
	}
	pollUntil(t, d, 2)
	settle(d)
	checkTooLong(t, "restored", deadLetters(d), path, 3)
}

// TestHugeLineBoundedMemory reads a file with a 50 MB line: the reader
// skips it with its buffer, never holding it whole, and dead-letters it.
func TestHugeLineBoundedMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.log")
	f := create(t, path)
	chunk := bytes.Repeat([]byte("L"), 1<<20)
	if _, err := f.WriteString("a\n"); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := f.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.WriteString("\nb\n"); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := newDriver(t, mustSource(t, path, MaxLineSize(64<<10)), 1, 1)
	d.run()
	runtime.ReadMemStats(&after)
	if got := d.lines()[0]; !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("got %q", got)
	}
	checkTooLong(t, "huge", deadLetters(d), path, 2)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Fatalf("reading a 50 MB line allocated %d MB", alloc>>20)
	}
}

// TestNoMatchIsErrNoMatch: a caller can tell a pattern that matches no
// file from other problems, and say in its own terms how to follow files
// that do not exist yet.
func TestNoMatchIsErrNoMatch(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub.log"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := NewSource(filepath.Join(dir, "*.txt"), SplitSize(0))
	if !errors.Is(err, ErrNoMatch) || !strings.Contains(err.Error(), "SplitSize") {
		t.Fatalf("NewSource = %v, want an error matching ErrNoMatch among the others", err)
	}
	if _, err := NewSource(filepath.Join(dir, "*.log")); err == nil || errors.Is(err, ErrNoMatch) {
		t.Fatalf("a pattern that matches a directory: %v, want another error than ErrNoMatch", err)
	}
}

// TestPermissionErrorsSayWhatToDo: a file the reader may not read fails the
// job with an error that wraps the cause and says what to do. As root the
// files are readable whatever their mode, so the errors are built from a
// denied open as the readers build them; as another user, a file with no
// read permission fails both kinds of reader.
func TestPermissionErrorsSayWhatToDo(t *testing.T) {
	denied := &fs.PathError{Op: "open", Path: "/var/log/nginx/access.log", Err: fs.ErrPermission}
	src := mustSource(t, "/var/log/nginx/access*.log", Follow())
	errs := []error{
		openSplitError(&Split{Path: "/var/log/nginx/access.log", End: -1}, denied),
		src.followOpenError("/var/log/nginx/access.log", denied),
	}
	if os.Geteuid() != 0 {
		dir := t.TempDir()
		path := filepath.Join(dir, "access.log")
		writeFile(t, path, "x\n")
		if err := os.Chmod(path, 0); err != nil {
			t.Fatal(err)
		}
		for _, opts := range [][]SourceOption{nil, {Follow()}} {
			d := newDriver(t, mustSource(t, path, opts...), 1, 1)
			for _, s := range d.requests {
				d.enum.HandleSplitRequest(s)
			}
			d.requests = nil
			dr := d.readers[0]
			for _, m := range dr.inbox {
				dr.r.AddSplits(m.splits)
			}
			dr.inbox = nil
			_, err := dr.r.Poll(t.Context(), &dr.out)
			errs = append(errs, err)
		}
	}
	for _, err := range errs {
		if !errors.Is(err, fs.ErrPermission) || !strings.HasPrefix(err.Error(), "file: ") || !strings.Contains(err.Error(), "run as a user that can read") {
			t.Errorf("error %q: want a file: error that wraps the permission error and says what to do", err)
		}
	}
	if hint := permissionHint(errors.New("disk on fire")); hint != "" {
		t.Errorf("a hint for another error: %q", hint)
	}
}
