package tail

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// logFile is a log being written, as a web server writes it: lines
// "<name>-<seq>".
type logFile struct {
	t    *testing.T
	name string
	f    *os.File
	seq  int
	// With stamp, each write sets the file's modification time to
	// time.Now, at path, rather than leave it to the kernel's coarser
	// clock: tests that need exact times.
	stamp bool
	path  string
}

func create(t *testing.T, path, name string) *logFile {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &logFile{t: t, name: name, f: f, path: path}
}

// touch sets the modification time of path to now.
func touch(t *testing.T, path string) {
	t.Helper()
	now := time.Now()
	if err := os.Chtimes(path, now, now); err != nil {
		t.Fatal(err)
	}
}

// write appends n lines.
func (l *logFile) write(n int) {
	l.t.Helper()
	var b strings.Builder
	for range n {
		fmt.Fprintf(&b, "%s-%d\n", l.name, l.seq)
		l.seq++
	}
	if _, err := l.f.WriteString(b.String()); err != nil {
		l.t.Fatal(err)
	}
	if l.stamp {
		touch(l.t, l.path)
	}
}

// lines returns lines [from, to) of l.
func (l *logFile) lines(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, fmt.Sprintf("%s-%d", l.name, i))
	}
	return out
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

// find returns the attributes of the first record whose message holds msg.
func (h *logs) find(msg string) (map[string]slog.Value, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		if strings.Contains(r.Message, msg) {
			attrs := map[string]slog.Value{}
			r.Attrs(func(a slog.Attr) bool { attrs[a.Key] = a.Value; return true })
			return attrs, true
		}
	}
	return nil, false
}

// lost says whether a record reported bytes lost.
func (h *logs) lost() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.recs {
		found := false
		r.Attrs(func(a slog.Attr) bool { found = found || a.Key == "lost_bytes_at_least"; return !found })
		if found {
			return true
		}
	}
	return false
}

// reader reads a tailer as its users do, in explicit steps.
type reader struct {
	t    *testing.T
	tl   *Tailer
	logs *logs
	got  []string
}

func start(t *testing.T, pattern string, restore []Position, at time.Time) *reader {
	return startWith(t, Config{Pattern: pattern, Restore: restore, RestoredAt: at})
}

// startWith starts a reader with cfg, its limits and logger filled in.
func startWith(t *testing.T, cfg Config) *reader {
	t.Helper()
	h := &logs{}
	cfg.MaxLine, cfg.BufferSize, cfg.Logger, cfg.Name = 1<<10, 4<<10, slog.New(h), "test"
	tl := New(cfg)
	t.Cleanup(tl.Close)
	return &reader{t: t, tl: tl, logs: h}
}

// scan lists the pattern.
func (r *reader) scan() {
	r.t.Helper()
	if err := r.tl.Scan(time.Now()); err != nil {
		r.t.Fatal(err)
	}
}

// read reads every file to its end, lets go of the files that left the
// pattern (no grace), and commits.
func (r *reader) read() {
	r.t.Helper()
	for _, f := range r.tl.Files() {
		for {
			l, st, err := f.Next()
			if err != nil {
				r.t.Fatal(err)
			}
			if st != GotLine {
				if st != NeedMore {
					r.t.Fatalf("status %v", st)
				}
				break
			}
			r.got = append(r.got, string(l.Bytes))
		}
		if f.Quiet(time.Now(), 0) {
			if l, st := f.Rest(); st == GotLine {
				r.got = append(r.got, string(l.Bytes))
			}
			r.tl.Forget(f)
		}
	}
	r.tl.Commit()
}

func (r *reader) poll() { r.scan(); r.read() }

// stop returns the reader's positions and closes it.
func (r *reader) stop() ([]Position, time.Time) {
	p, at := r.tl.Positions(), r.tl.ScannedAt()
	r.tl.Close()
	return p, at
}

// want checks that the reader read exactly the lines of want, each once and
// in order within its file.
func (r *reader) want(want ...[]string) {
	r.t.Helper()
	r.wantOnce(want...)
	for _, w := range want {
		var seen []string
		for _, g := range r.got {
			if slices.Contains(w, g) {
				seen = append(seen, g)
			}
		}
		if !slices.Equal(seen, w) {
			r.t.Fatalf("out of order: %q, want %q", seen, w)
		}
	}
}

// wantOnce checks that the reader read exactly the lines of want, each
// once, in any order.
func (r *reader) wantOnce(want ...[]string) {
	r.t.Helper()
	var all []string
	for _, w := range want {
		all = append(all, w...)
	}
	got := slices.Sorted(slices.Values(r.got))
	if !slices.Equal(got, slices.Sorted(slices.Values(all))) {
		r.t.Fatalf("read %d lines, want %d:\n got %q\nwant %q", len(r.got), len(all), r.got, all)
	}
}

func rename(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatal(err)
	}
}

// copyTruncate rotates as logrotate's copytruncate does.
func copyTruncate(t *testing.T, path, to string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
}

// TestRotatedWhileStopped stops a reader in the middle of a file, rotates
// while it is stopped, and starts a new one from the positions: every line
// is read exactly once.
func TestRotatedWhileStopped(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pattern string
		rotate  func(t *testing.T, dir string, a *logFile) [][]string // the lines to read after the restart
	}{
		{"renamed", "access*.log", func(t *testing.T, dir string, a *logFile) [][]string {
			rename(t, filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log.1"))
			a.write(10) // the writer appends until it reopens
			b := create(t, filepath.Join(dir, "access.log"), "b")
			b.write(20)
			return [][]string{a.lines(100, 160), b.lines(0, 20)}
		}},
		{"renamed twice", "access*.log", func(t *testing.T, dir string, a *logFile) [][]string {
			rename(t, filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log.1"))
			b := create(t, filepath.Join(dir, "access.log"), "b")
			b.write(20)
			rename(t, filepath.Join(dir, "access.log.1"), filepath.Join(dir, "access.log.2"))
			rename(t, filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log.1"))
			c := create(t, filepath.Join(dir, "access.log"), "c")
			c.write(7)
			return [][]string{a.lines(100, 150), b.lines(0, 20), c.lines(0, 7)}
		}},
		{"renamed with dates", "access*.log", func(t *testing.T, dir string, a *logFile) [][]string {
			rename(t, filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log-20260101"))
			b := create(t, filepath.Join(dir, "access.log"), "b")
			b.write(20)
			rename(t, filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log-20260102"))
			c := create(t, filepath.Join(dir, "access.log"), "c")
			c.write(7)
			return [][]string{a.lines(100, 150), b.lines(0, 20), c.lines(0, 7)}
		}},
		{"copied and truncated", "access*.log", func(t *testing.T, dir string, a *logFile) [][]string {
			copyTruncate(t, filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log.1"))
			b := &logFile{t: t, name: "b", f: a.f}
			b.write(30)
			return [][]string{a.lines(100, 150), b.lines(0, 30)}
		}},
		{"copied into the pattern and truncated", "access.log*", func(t *testing.T, dir string, a *logFile) [][]string {
			copyTruncate(t, filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log.1"))
			b := &logFile{t: t, name: "b", f: a.f}
			b.write(30)
			return [][]string{a.lines(100, 150), b.lines(0, 30)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			pattern := filepath.Join(dir, tc.pattern)
			a := create(t, filepath.Join(dir, "access.log"), "a")
			a.write(100)
			r := start(t, pattern, nil, time.Time{})
			r.poll()
			r.want(a.lines(0, 100))
			a.write(50) // not read before the stop
			pos, at := r.stop()

			want := tc.rotate(t, dir, a)
			r = start(t, pattern, pos, at)
			r.poll()
			r.poll()
			r.want(want...)
			if r.logs.lost() {
				t.Fatal("a loss was logged")
			}
		})
	}
}

// TestRotatedFilesNotOurs: while a reader is stopped, files appear next to
// the log that are not rotated logs written since: compressed, binary,
// older than the positions, or of another name. None is read.
func TestRotatedFilesNotOurs(t *testing.T) {
	dir := t.TempDir()
	pattern := filepath.Join(dir, "access*.log")
	a := create(t, filepath.Join(dir, "access.log"), "a")
	a.write(3)
	old := create(t, filepath.Join(dir, "access.log.7"), "old") // rotated long ago
	old.write(3)
	r := start(t, pattern, nil, time.Time{})
	r.poll()
	pos, at := r.stop()
	if err := os.Chtimes(filepath.Join(dir, "access.log.7"), at.Add(-time.Hour), at.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"access.log.2.gz": "\x1f\x8b\x08\x00binary",
		"access.log.bin":  "x\x00y\n",
		"error.log.1":     "e-0\n",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	a.write(2)
	r = start(t, pattern, pos, at)
	r.poll()
	r.want(a.lines(3, 5))
}

// TestGoneWhileStopped: a file of the positions deleted while the reader
// was stopped is reported lost, with the bytes it is known to have had
// after its position.
func TestGoneWhileStopped(t *testing.T) {
	dir := t.TempDir()
	pattern := filepath.Join(dir, "access*.log")
	a := create(t, filepath.Join(dir, "access.log"), "a")
	a.write(10)
	r := start(t, pattern, nil, time.Time{})
	r.poll()
	a.write(5)
	r.scan() // sees the 5 lines, does not read them
	pos, at := r.stop()
	if err := os.Remove(filepath.Join(dir, "access.log")); err != nil {
		t.Fatal(err)
	}
	r = start(t, pattern, pos, at)
	r.poll()
	attrs, ok := r.logs.find("gone")
	if !ok {
		t.Fatal("the lost file was not reported")
	}
	if got, want := attrs["lost_bytes_at_least"].Int64(), int64(len(strings.Join(a.lines(10, 15), "\n"))+1); got != want {
		t.Fatalf("lost_bytes_at_least = %d, want %d", got, want)
	}
}

// TestCopytruncateWhileFollowing truncates a followed file in place with
// lines not read yet: with the copy next to it, they are read from the
// copy; without, the loss is logged with the bytes known to be lost.
func TestCopytruncateWhileFollowing(t *testing.T) {
	for _, withCopy := range []bool{true, false} {
		t.Run(fmt.Sprintf("copy=%v", withCopy), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "access.log")
			a := create(t, path, "a")
			a.write(100)
			r := start(t, filepath.Join(dir, "access*.log"), nil, time.Time{})
			r.poll()
			a.write(40)
			r.scan() // sees the 40 lines; the truncation comes before they are read
			if withCopy {
				copyTruncate(t, path, path+".1")
			} else if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
			b := &logFile{t: t, name: "b", f: a.f}
			b.write(10)
			r.read()
			r.poll()
			r.poll()
			if withCopy {
				r.want(a.lines(0, 140), b.lines(0, 10))
				if _, ok := r.logs.find("its copy is read on"); !ok {
					t.Fatal("the copy was not reported")
				}
				return
			}
			r.want(a.lines(0, 100), b.lines(0, 10))
			attrs, ok := r.logs.find("truncated")
			if !ok {
				t.Fatal("the truncation was not reported")
			}
			if got, want := attrs["lost_bytes_at_least"].Int64(), int64(len(strings.Join(a.lines(100, 140), "\n"))+1); got != want {
				t.Fatalf("lost_bytes_at_least = %d, want %d", got, want)
			}
		})
	}
}

// TestFingerprintCoversPositions: a file shorter than HeadMax is read no
// further than its fingerprint, so that every position comes with a
// fingerprint of the bytes before it (invariant 2).
func TestFingerprintCoversPositions(t *testing.T) {
	dir := t.TempDir()
	a := create(t, filepath.Join(dir, "access.log"), "a")
	a.write(2)
	r := start(t, filepath.Join(dir, "access.log"), nil, time.Time{})
	r.scan()
	a.write(3) // after the scan: read only after the next one
	r.read()
	r.want(a.lines(0, 2))
	for _, p := range r.tl.Positions() {
		if int64(p.Head.N) < min(p.Offset, HeadMax) {
			t.Fatalf("position %d with a fingerprint of %d bytes", p.Offset, p.Head.N)
		}
	}
	r.poll()
	r.want(a.lines(0, 5))
}

// TestQuietWaitsForGrowth: a short file renamed out of the pattern that
// grows after a scan is not let go before the next scan has seen it grow,
// though its grace is over: the lines written last are read too.
func TestQuietWaitsForGrowth(t *testing.T) {
	dir := t.TempDir()
	a := create(t, filepath.Join(dir, "access.log"), "a")
	a.write(2)
	r := start(t, filepath.Join(dir, "access.log"), nil, time.Time{})
	r.poll()
	rename(t, filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log.1"))
	r.scan()
	a.write(1) // after the scan: not read before the next one
	r.read()
	if len(r.tl.Files()) != 1 {
		t.Fatal("the file was let go before the scan saw it grow")
	}
	r.poll()
	r.want(a.lines(0, 3))
	if len(r.tl.Files()) != 0 {
		t.Fatal("the file read to its end was not let go")
	}
}

// TestRandomRotations writes, rotates (by renaming, with logrotate's
// numbered names and the writer appending a little to the renamed file
// before it reopens, or even after it was let go; or by copytruncate, with
// no line written between the copy and the truncation), reads, and stops
// and restarts the reader from its positions, in random order: every line is read exactly once, each
// file's in order when it was rotated by renaming only. (A file copied and
// truncated twice between two scans has its copies read in the order they
// are found.) Files carry exact modification times, so that the tailer
// needs no slack for the kernel's coarse ones, and one rotation after
// another within microseconds is told apart.
func TestRandomRotations(t *testing.T) {
	for seed := range uint64(60) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 3))
			dir := t.TempDir()
			pattern := filepath.Join(dir, "access*.log")
			live := filepath.Join(dir, "access.log")
			cur := create(t, live, "f0")
			cur.stamp = true
			files := []*logFile{cur}
			rotated, copied := 0, false
			cfg := Config{Pattern: pattern, Slack: time.Nanosecond}
			r := startWith(t, cfg)
			r.poll() // a first start follows what the pattern matches now
			for range 40 {
				switch op := rng.IntN(11); {
				case op == 10 && len(files) > 1:
					// A writer that had not reopened its log yet, late:
					// its file may have been let go already.
					files[len(files)-2].write(1 + rng.IntN(2))
				case op < 4:
					cur.write(rng.IntN(20))
				case op < 6:
					for i := rotated; i >= 1; i-- {
						from, to := fmt.Sprintf("%s.%d", live, i), fmt.Sprintf("%s.%d", live, i+1)
						rename(t, from, to)
						for _, f := range files {
							if f.path == from {
								f.path = to
							}
						}
					}
					rotated++
					if rng.IntN(3) == 0 {
						copyTruncate(t, live, live+".1")
						touch(t, live+".1")
						copied = true
						break
					}
					rename(t, live, live+".1")
					cur.path = live + ".1"
					cur.write(rng.IntN(3)) // before the writer reopens
					cur = create(t, live, fmt.Sprintf("f%d", len(files)))
					cur.stamp = true
					files = append(files, cur)
				case op < 8:
					r.poll()
				case op < 9:
					r.scan()
				default:
					got := r.got
					cfg.Restore, cfg.RestoredAt = r.stop()
					r = startWith(t, cfg)
					r.got = got
				}
			}
			r.poll()
			r.poll()
			var want [][]string
			for _, f := range files {
				want = append(want, f.lines(0, f.seq))
			}
			if copied {
				r.wantOnce(want...)
			} else {
				r.want(want...)
			}
		})
	}
}

// TestLetGoGrowsAgain: a file read to its end and let go after it left
// the pattern stays known while it lies in its directory, also across a
// restart: when its writer appends late, the new lines are read, and the
// old ones not again.
func TestLetGoGrowsAgain(t *testing.T) {
	dir := t.TempDir()
	pattern := filepath.Join(dir, "access*.log")
	a := create(t, filepath.Join(dir, "access.log"), "a")
	a.write(10)
	r := start(t, pattern, nil, time.Time{})
	r.poll()
	rename(t, filepath.Join(dir, "access.log"), filepath.Join(dir, "access.log.1"))
	r.poll()
	if n := len(r.tl.Files()); n != 0 {
		t.Fatalf("%d files followed, want the rotated one let go", n)
	}
	a.write(2)
	r.poll()
	r.want(a.lines(0, 12))

	pos, at := r.stop()
	if len(pos) != 1 || !pos[0].Done || pos[0].Path != filepath.Join(dir, "access.log.1") {
		t.Fatalf("positions %+v, want the file let go", pos)
	}
	a.write(3)
	r = start(t, pattern, pos, at)
	r.poll()
	r.want(a.lines(12, 15))
}
