package file

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir/sink"
)

type wctx struct{ subtask, parallelism int }

func (c wctx) Subtask() int        { return c.subtask }
func (c wctx) Parallelism() int    { return c.parallelism }
func (c wctx) Checkpointing() bool { return false }
func (c wctx) Restored() []byte    { return nil }

type event struct {
	URL  string `json:"url"`
	User int    `json:"user"`
}

// fastEvent encodes itself, with a marker to show which path was taken.
type fastEvent struct{ N int }

func (e fastEvent) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"fast":`...)
	dst = strconv.AppendInt(dst, int64(e.N), 10)
	return append(dst, '}')
}

// ptrEvent implements JSONAppender on its pointer only.
type ptrEvent struct{ N int }

func (e *ptrEvent) AppendJSON(dst []byte) []byte {
	return append(strconv.AppendInt(append(dst, `{"ptr":`...), int64(e.N), 10), '}')
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func TestSinkJSONRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out", "nested", "events.jsonl")
	w, err := mustSink[event](t, path).NewWriter(wctx{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	want := []event{{"/a?x=<1>&y", 1}, {"/b", 2}, {"", 0}}
	for _, e := range want {
		if err := w.Write(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, path)
	var got []event
	for _, l := range lines {
		var e event
		if err := json.Unmarshal([]byte(l), &e); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, e)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if !strings.Contains(lines[0], "<1>&y") {
		t.Errorf("HTML characters were escaped: %s", lines[0])
	}
}

func TestSinkJSONAppender(t *testing.T) {
	dir := t.TempDir()
	check := func(name string, write func(path string), want []string) {
		t.Helper()
		path := filepath.Join(dir, name)
		write(path)
		if got := readLines(t, path); !slices.Equal(got, want) {
			t.Fatalf("%s: got %q, want %q", name, got, want)
		}
	}
	check("value", func(path string) {
		w, _ := mustSink[fastEvent](t, path).NewWriter(wctx{0, 1})
		w.Write(t.Context(), fastEvent{1})
		w.Write(t.Context(), fastEvent{2})
		w.Flush(t.Context())
		w.Close()
	}, []string{`{"fast":1}`, `{"fast":2}`})
	check("pointer", func(path string) {
		w, _ := mustSink[ptrEvent](t, path).NewWriter(wctx{0, 1})
		w.Write(t.Context(), ptrEvent{3})
		w.Flush(t.Context())
		w.Close()
	}, []string{`{"ptr":3}`})
	check("interface", func(path string) {
		w, _ := mustSink[any](t, path).NewWriter(wctx{0, 1})
		w.Write(t.Context(), fastEvent{4})
		w.Write(t.Context(), map[string]int{"m": 5})
		w.Flush(t.Context())
		w.Close()
	}, []string{`{"fast":4}`, `{"m":5}`})
}

func TestSinkPerSubtaskFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	s := mustSink[int](t, path)
	for i := range 3 {
		w, err := s.NewWriter(wctx{i, 3})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(t.Context(), i*10)
		w.Flush(t.Context())
		w.Close()
	}
	for i, name := range []string{"out-0.jsonl", "out-1.jsonl", "out-2.jsonl"} {
		if got := readLines(t, filepath.Join(dir, name)); !slices.Equal(got, []string{strconv.Itoa(i * 10)}) {
			t.Fatalf("%s: %q", name, got)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("with parallelism 3, %s should not exist", path)
	}
}

func TestSubtaskPath(t *testing.T) {
	for _, tc := range []struct {
		path         string
		subtask, par int
		want         string
	}{
		{"out.jsonl", 0, 1, "out.jsonl"},
		{"out.jsonl", 1, 2, "out-1.jsonl"},
		{"dir.d/out", 2, 4, "dir.d/out-2"},
		{"dir/.hidden", 0, 2, "dir/.hidden-0"},
	} {
		if got := SubtaskPath(tc.path, tc.subtask, tc.par); got != tc.want {
			t.Errorf("SubtaskPath(%q, %d, %d) = %q, want %q", tc.path, tc.subtask, tc.par, got, tc.want)
		}
	}
}

func TestLineSinkTruncateAppendAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.txt")
	writeFile(t, path, "stale\n")
	w, err := mustLineSink(t, path).NewWriter(wctx{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(t.Context(), "bad line {")
	w.Write(t.Context(), "")
	w.Flush(t.Context())
	w.Write(t.Context(), "not flushed")
	w.Close() // Close does not flush
	if got := readLines(t, path); !slices.Equal(got, []string{"bad line {", ""}) {
		t.Fatalf("got %q", got)
	}
	if err := w.Write(t.Context(), "x"); err == nil {
		t.Fatal("Write after Close succeeded")
	}

	w, err = mustLineSink(t, path, Append(), Sync(), BufferSize(1)).NewWriter(wctx{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(t.Context(), "more")
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := readLines(t, path); !slices.Equal(got, []string{"bad line {", "", "more"}) {
		t.Fatalf("with Append got %q", got)
	}
}

func TestSinkErrors(t *testing.T) {
	// The constructors report an empty path, before any job runs.
	if _, err := NewSink[int](""); err == nil || !strings.HasPrefix(err.Error(), "file: ") || !strings.Contains(err.Error(), "path is empty") {
		t.Fatalf("NewSink with an empty path: %v", err)
	}
	if _, err := NewLineSink(""); err == nil || !strings.Contains(err.Error(), "path is empty") {
		t.Fatalf("NewLineSink with an empty path: %v", err)
	}
	w, err := mustSink[func()](t, filepath.Join(t.TempDir(), "x")).NewWriter(wctx{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(t.Context(), func() {}); err == nil || !strings.HasPrefix(err.Error(), "file: ") {
		t.Fatalf("unencodable record: %v", err)
	}
}

// ckctx is the context of a writer in a job that takes checkpoints.
type ckctx struct {
	subtask, parallelism int
	restored             []byte
}

func (c ckctx) Subtask() int        { return c.subtask }
func (c ckctx) Parallelism() int    { return c.parallelism }
func (c ckctx) Checkpointing() bool { return true }
func (c ckctx) Restored() []byte    { return c.restored }

// partFiles lists the part files in dir.
func partFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.Contains(e.Name(), ".part-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// lines returns the lines of path, none if it does not exist.
func lines(t *testing.T, path string) []string {
	t.Helper()
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return nil
	}
	return readLines(t, path)
}

func mustSink[T any](t testing.TB, path string, opts ...SinkOption) *Sink[T] {
	t.Helper()
	s, err := NewSink[T](path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustLineSink(t testing.TB, path string, opts ...SinkOption) *Sink[string] {
	t.Helper()
	s, err := NewLineSink(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustWriter[T any](t *testing.T, s *Sink[T], ctx sink.WriterContext) *writer[T] {
	t.Helper()
	w, err := s.NewWriter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return w.(*writer[T])
}

func writeAll[T any](t *testing.T, w sink.Writer[T], vs ...T) {
	t.Helper()
	for _, v := range vs {
		if err := w.Write(t.Context(), v); err != nil {
			t.Fatal(err)
		}
	}
}

func preCommit(t *testing.T, w sink.PreCommitter, id int64) [][]byte {
	t.Helper()
	cs, err := w.PreCommit(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func commit(t *testing.T, s interface {
	NewCommitter() (sink.Committer, error)
}, cs [][]byte) {
	t.Helper()
	c, err := s.NewCommitter()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Commit(t.Context(), cs); err != nil {
		t.Fatal(err)
	}
}

// commitRestored commits cs as the runtime does those of the checkpoint
// it restores.
func commitRestored(t *testing.T, s interface {
	NewCommitter() (sink.Committer, error)
}, cs [][]byte) {
	t.Helper()
	c, err := s.NewCommitter()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.(sink.RestoringCommitter).CommitRestored(t.Context(), cs); err != nil {
		t.Fatal(err)
	}
}

func wantLines(t *testing.T, path string, want ...string) {
	t.Helper()
	if got := lines(t, path); !slices.Equal(got, want) {
		t.Fatalf("%s holds %q, want %q", filepath.Base(path), got, want)
	}
}

func TestTwoPhaseCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	writeFile(t, path, "stale\n")
	s := mustSink[int](t, path)
	w := mustWriter(t, s, ckctx{0, 1, nil})
	defer w.Close()
	wantLines(t, path) // truncated on a fresh start

	writeAll[int](t, w, 1, 2)
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	cs := preCommit(t, w, 1)
	if len(cs) != 1 {
		t.Fatalf("PreCommit returned %d committables, want 1", len(cs))
	}
	c, err := decodeCommittable(cs[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Final != path || c.Offset != 0 || c.Length != 4 || filepath.Base(c.Part) != ".out.jsonl.part-0-0" {
		t.Fatalf("committable %+v", c)
	}
	wantLines(t, path) // not visible before Commit
	if got := partFiles(t, dir); len(got) != 1 {
		t.Fatalf("part files %q", got)
	}
	st, err := w.SnapshotState(1)
	if err != nil {
		t.Fatal(err)
	}
	if ws, err := decodeWriterState(st); err != nil || ws.Next != 4 || ws.Final != path || !slices.Equal(ws.Pending, []uint64{0}) {
		t.Fatalf("state %+v, %v", ws, err)
	}

	commit(t, s, cs)
	wantLines(t, path, "1", "2")
	commit(t, s, cs) // idempotent
	wantLines(t, path, "1", "2")
	if got := partFiles(t, dir); len(got) != 0 {
		t.Fatalf("part files left after Commit: %q", got)
	}

	// (d) Nothing written since the last barrier: a mark, which says
	// where the file ends and publishes nothing.
	cs2 := preCommit(t, w, 2)
	if len(cs2) != 1 {
		t.Fatalf("empty PreCommit returned %q, want one mark", cs2)
	}
	if m, err := decodeCommittable(cs2[0]); err != nil || m.Part != "" || m.Final != path || m.Offset != 4 || m.Length != 0 {
		t.Fatalf("mark %+v, %v", m, err)
	}
	commit(t, s, cs2)
	wantLines(t, path, "1", "2")
	writeAll[int](t, w, 3)
	cs3 := preCommit(t, w, 3)
	if c, _ := decodeCommittable(cs3[0]); c.Offset != 4 || c.Length != 2 {
		t.Fatalf("second committable %+v", c)
	}
	commit(t, s, append(cs, cs3...)) // an old committable again, then the new one
	wantLines(t, path, "1", "2", "3")
}

func TestTwoPhaseRestoreDropsUncompletedOutput(t *testing.T) {
	for _, published := range []bool{false, true} {
		t.Run(fmt.Sprintf("checkpoint 2 published=%v", published), func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "dead.txt")
			s := mustLineSink(t, path)
			w := mustWriter(t, s, ckctx{0, 1, nil})
			writeAll(t, w, "a")
			cs1 := preCommit(t, w, 1)
			st1, _ := w.SnapshotState(1)
			commit(t, s, cs1)
			writeAll(t, w, "b")
			cs2 := preCommit(t, w, 2)
			if published {
				commit(t, s, cs2)
				wantLines(t, path, "a", "b")
			}
			writeAll(t, w, "c") // an open part that the crash leaves behind
			w.Flush(t.Context())
			w.file.Close() // the process dies: no Close

			// Restore checkpoint 1, whose committables the runtime commits again.
			w = mustWriter(t, s, ckctx{0, 1, st1})
			defer w.Close()
			wantLines(t, path, "a")
			if got := partFiles(t, dir); len(got) != 0 {
				t.Fatalf("stray part files after restore: %q", got)
			}
			commitRestored(t, s, cs1) // (c) already published: no change
			wantLines(t, path, "a")
			writeAll(t, w, "b", "c") // the replay
			commit(t, s, preCommit(t, w, 2))
			wantLines(t, path, "a", "b", "c")
		})
	}
}

func TestTwoPhaseRestoreKeepsPendingPart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	s := mustLineSink(t, path)
	w := mustWriter(t, s, ckctx{0, 1, nil})
	writeAll(t, w, "a")
	cs := preCommit(t, w, 1)
	st, _ := w.SnapshotState(1)
	w.file = nil // crash before the checkpoint's commit

	w = mustWriter(t, s, ckctx{0, 1, st}) // the writer may start before the commit
	defer w.Close()
	commitRestored(t, s, cs)
	wantLines(t, path, "a")
	writeAll(t, w, "b")
	commit(t, s, preCommit(t, w, 2))
	wantLines(t, path, "a", "b")
}

func TestTwoPhaseInterruptedCommit(t *testing.T) {
	// "zeros": after a machine crash a file may have grown with blocks that
	// were never written, which read as zeros.
	for _, cut := range []string{"half", "all", "zeros"} {
		t.Run(cut, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.txt")
			s := mustLineSink(t, path)
			w := mustWriter(t, s, ckctx{0, 1, nil})
			defer w.Close()
			writeAll(t, w, "first")
			commit(t, s, preCommit(t, w, 1))
			writeAll(t, w, "second", "third")
			cs := preCommit(t, w, 2)
			c, _ := decodeCommittable(cs[0])
			part, err := os.ReadFile(c.Part)
			if err != nil {
				t.Fatal(err)
			}
			switch cut {
			case "half":
				part = part[:len(part)/2]
			case "zeros":
				part = make([]byte, len(part)+3)
			}
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(part) // the commit crashes here, leaving the part
			f.Close()

			commit(t, s, cs)
			wantLines(t, path, "first", "second", "third")
			if got := partFiles(t, dir); len(got) != 0 {
				t.Fatalf("part files left: %q", got)
			}
		})
	}
}

func TestTwoPhaseCommitErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	s := mustLineSink(t, path)
	w := mustWriter(t, s, ckctx{0, 1, nil})
	defer w.Close()
	writeAll(t, w, "a")
	cs := preCommit(t, w, 1)
	c, _ := decodeCommittable(cs[0])
	com, _ := s.NewCommitter()

	os.Remove(c.Part) // gone, and not published
	if err := com.Commit(t.Context(), cs); err == nil || !strings.HasPrefix(err.Error(), "file: ") || !strings.Contains(err.Error(), "is gone") {
		t.Fatalf("lost part: %v", err)
	}
	for _, b := range []string{
		`{"v":3,"part":"p","final":"f"}`, // a version this build does not know
		`{"v":1}`,
		`{"v":1,"final":"f"}`,                       // format 1 has no marks
		`{"v":2,"final":"f","offset":1,"length":2}`, // a mark publishes nothing
		`not json`,
	} {
		if err := com.Commit(t.Context(), [][]byte{[]byte(b)}); err == nil || !strings.HasPrefix(err.Error(), "file: ") {
			t.Fatalf("committable %s: %v", b, err)
		}
	}
	if _, err := s.NewWriter(ckctx{0, 1, []byte(`{"v":9,"final":"x"}`)}); err == nil || !strings.Contains(err.Error(), "version 9") {
		t.Fatalf("state of an unknown version: %v", err)
	}
}

func TestTwoPhaseFreshStartAndClose(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	writeFile(t, path, "kept\n")
	stray := filepath.Join(dir, ".out-1.txt.part-1-7")
	other := filepath.Join(dir, ".out-0.txt.part-0-3") // another subtask's
	writeFile(t, stray, "junk\n")
	writeFile(t, other, "theirs\n")
	s := mustLineSink(t, path, Append())
	w := mustWriter(t, s, ckctx{1, 2, nil})
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatal("a fresh start kept a stray part file")
	}
	if _, err := os.Stat(other); err != nil {
		t.Fatal("a fresh start deleted another subtask's part file")
	}
	final := filepath.Join(dir, "out-1.txt")
	writeFile(t, final, "earlier\n")
	w.Close()
	w = mustWriter(t, s, ckctx{1, 2, nil})
	writeAll(t, w, "x")
	commit(t, s, preCommit(t, w, 1))
	wantLines(t, final, "earlier", "x") // Append keeps the file on a fresh start
	writeAll(t, w, "unfinished")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := partFiles(t, dir); !slices.Equal(got, []string{".out-0.txt.part-0-3"}) {
		t.Fatalf("Close left part files: %q", got)
	}
	wantLines(t, path, "kept")
	if err := w.Write(t.Context(), "x"); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestDirectWriterPreCommitFlushes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.txt")
	w := mustWriter(t, mustLineSink(t, path), wctx{0, 1})
	defer w.Close()
	writeAll(t, w, "a")
	if cs := preCommit(t, w, 1); cs != nil {
		t.Fatalf("direct PreCommit returned %q", cs)
	}
	if st, err := w.SnapshotState(1); st != nil || err != nil {
		t.Fatalf("direct state %q, %v", st, err)
	}
	wantLines(t, path, "a")
}

// TestTwoPhaseModel drives a writer and committer through random writes,
// barriers, commits and crashes, as the runtime would, restoring after each
// crash and replaying the input deterministically: the file must always
// hold exactly the input up to the last committed checkpoint.
func TestTwoPhaseModel(t *testing.T) {
	for seed := range 24 { // each run costs some 100 fsyncs
		t.Run(strconv.Itoa(seed), func(t *testing.T) { runTwoPhaseModel(t, uint64(seed)) })
	}
}

func runTwoPhaseModel(t *testing.T, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 42))
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	input := make([]string, 10+r.IntN(40))
	for i := range input {
		input[i] = fmt.Sprintf("%d:%s", i, strings.Repeat("x", r.IntN(40)))
	}
	s := mustLineSink(t, path, BufferSize(r.IntN(8<<10)))
	com, _ := s.NewCommitter()

	type checkpoint struct {
		pos          int // input records before its barrier
		state        []byte
		committables [][]byte
		completed    bool
	}
	var (
		w         *writer[string]
		pos       int // next input record
		id        int64
		ckpts     []*checkpoint
		committed int // input records the file must hold
		trace     []string
	)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d after %s: %s", seed, strings.Join(trace, " "), fmt.Sprintf(format, args...))
	}
	mustCommit := func(cs [][]byte) {
		t.Helper()
		if err := com.Commit(t.Context(), cs); err != nil {
			fail("Commit: %v", err)
		}
	}
	mustCommitRestored := func(cs [][]byte) {
		t.Helper()
		if err := com.(sink.RestoringCommitter).CommitRestored(t.Context(), cs); err != nil {
			fail("CommitRestored: %v", err)
		}
	}
	start := func(from *checkpoint) {
		t.Helper()
		var st []byte
		if from != nil {
			st = from.state
		}
		commitFirst := from != nil && r.IntN(2) == 0
		if commitFirst {
			mustCommitRestored(from.committables)
		}
		nw, err := s.NewWriter(ckctx{0, 1, st})
		if err != nil {
			fail("NewWriter: %v", err)
		}
		w = nw.(*writer[string])
		pos, committed = 0, 0
		if from != nil {
			if !commitFirst {
				mustCommitRestored(from.committables)
			}
			pos, committed = from.pos, from.pos
		}
	}
	completeNext := func() bool {
		for _, c := range ckpts {
			if !c.completed {
				mustCommit(c.committables)
				c.completed, committed = true, c.pos
				return true
			}
		}
		return false
	}

	start(nil)
	for pos < len(input) {
		switch op := r.IntN(11); {
		case op < 5:
			n := min(1+r.IntN(6), len(input)-pos)
			trace = append(trace, fmt.Sprintf("write%d", n))
			for _, v := range input[pos : pos+n] {
				if err := w.Write(t.Context(), v); err != nil {
					fail("Write: %v", err)
				}
			}
			pos += n
		case op < 6:
			trace = append(trace, "flush")
			if err := w.Flush(t.Context()); err != nil {
				fail("Flush: %v", err)
			}
		case op < 8:
			id++
			trace = append(trace, fmt.Sprintf("barrier%d", id))
			cs, err := w.PreCommit(t.Context(), id)
			if err != nil {
				fail("PreCommit: %v", err)
			}
			st, err := w.SnapshotState(id)
			if err != nil {
				fail("SnapshotState: %v", err)
			}
			ckpts = append(ckpts, &checkpoint{pos: pos, state: st, committables: cs})
		case op < 10:
			if completeNext() {
				trace = append(trace, "commit")
			}
		default:
			kind := r.IntN(3)
			trace = append(trace, fmt.Sprintf("crash%d", kind))
			if w.file != nil {
				w.file.Close() // the process dies: buffer and open part are left as they are
			}
			// Kinds 1 and 2 die inside the commit of the next completed
			// checkpoint, after appending part or all of its part file.
			if kind > 0 {
				for _, c := range ckpts {
					if c.completed {
						continue
					}
					c.completed = true
					if len(c.committables) == 0 {
						break
					}
					cm, _ := decodeCommittable(c.committables[0])
					if cm.Part == "" {
						break // a mark: nothing to publish
					}
					b, err := os.ReadFile(cm.Part)
					if err != nil {
						fail("read part: %v", err)
					}
					if kind == 1 {
						b = b[:r.IntN(len(b))]
					}
					f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
					f.Write(b)
					f.Close()
					break
				}
			}
			// Restore the latest completed checkpoint or, as if it were
			// corrupt, an earlier one; none means a fresh start.
			var done []int
			for i, c := range ckpts {
				if c.completed {
					done = append(done, i)
				}
			}
			if len(done) == 0 {
				ckpts = nil
				start(nil)
				break
			}
			i := done[len(done)-1]
			if r.IntN(4) == 0 {
				i = done[r.IntN(len(done))]
			}
			ckpts = ckpts[:i+1]
			trace = append(trace, fmt.Sprintf("restore@%d", ckpts[i].pos))
			start(ckpts[i])
		}
		if got := lines(t, path); !slices.Equal(got, input[:committed]) {
			fail("file holds %d lines, want %d:\n%q\nwant\n%q", len(got), committed, got, input[:committed])
		}
	}
	// The end of input: pending checkpoints complete, then the final
	// PreCommit is committed at once.
	for completeNext() {
	}
	id++
	cs, err := w.PreCommit(t.Context(), id)
	if err != nil {
		fail("final PreCommit: %v", err)
	}
	mustCommit(cs)
	if err := w.Close(); err != nil {
		fail("Close: %v", err)
	}
	if got := lines(t, path); !slices.Equal(got, input) {
		fail("file holds %q, want %q", got, input)
	}
	if got := partFiles(t, dir); len(got) != 0 {
		fail("part files left: %q", got)
	}
}

func TestTwoPhaseRestoreWithNewParallelism(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	sub0 := filepath.Join(dir, "out-0.txt")
	sub1 := filepath.Join(dir, "out-1.txt")
	writeFile(t, sub0, "earlier run\n") // published by a run at parallelism 2 before
	s := mustLineSink(t, path)
	w := mustWriter(t, s, ckctx{0, 1, nil})
	writeAll(t, w, "a")
	commit(t, s, preCommit(t, w, 1))
	st, _ := w.SnapshotState(1)
	writeAll(t, w, "b")
	commit(t, s, preCommit(t, w, 2)) // published after the checkpoint restored below
	w.Close()
	writeFile(t, sub1, "later run\n") // published by a run after the checkpoint

	// At parallelism 2, subtask 0 gets the state of the old subtask 0: the
	// files are as they were at the checkpoint.
	w = mustWriter(t, s, ckctx{0, 2, st})
	defer w.Close()
	wantLines(t, path, "a")
	wantLines(t, sub0, "earlier run")
	writeAll(t, w, "b")
	commit(t, s, preCommit(t, w, 3))
	wantLines(t, sub0, "earlier run", "b")
	// Subtask 1 has no restored state: its file starts afresh.
	w1 := mustWriter(t, s, ckctx{1, 2, nil})
	defer w1.Close()
	wantLines(t, sub1)
}

// TestTwoPhaseRestoreCutsBackEveryFile restores an older checkpoint at
// another parallelism after runs at several parallelisms: every file of
// the sink holds what it held at the checkpoint, whichever writer wrote it.
func TestTwoPhaseRestoreCutsBackEveryFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	file := func(i int) string { return filepath.Join(dir, fmt.Sprintf("out-%d.txt", i)) }
	s := mustLineSink(t, path)

	// Parallelism 3: each writer publishes one line at checkpoint 1; the
	// checkpoint's committables and states are kept.
	var ws []*writer[string]
	var states [][]byte
	var pending [][][]byte
	for i := range 3 {
		w := mustWriter(t, s, ckctx{i, 3, nil})
		writeAll(t, w, fmt.Sprintf("p3 %d", i))
		cs := preCommit(t, w, 1)
		st, err := w.SnapshotState(1)
		if err != nil {
			t.Fatal(err)
		}
		commit(t, s, cs)
		ws, states, pending = append(ws, w), append(states, st), append(pending, cs)
	}
	// Checkpoint 2: only writer 2 writes; the others' marks are its
	// committables. Then a line each after checkpoint 2.
	writeAll(t, ws[2], "p3 2 again")
	for i, w := range ws {
		commit(t, s, preCommit(t, w, 2))
		writeAll(t, w, fmt.Sprintf("p3 %d late", i))
		commit(t, s, preCommit(t, w, 3))
		w.Close()
	}
	// A run at parallelism 1 restored from checkpoint 3 publishes to out.txt.
	w := mustWriter(t, s, ckctx{0, 1, states[0]})
	writeAll(t, w, "p1")
	commit(t, s, preCommit(t, w, 4))
	w.Close()

	// Restore checkpoint 1 at parallelism 2. The runtime commits the
	// restored committables of old subtasks 0 and 2 with new subtask 0's
	// committer, of old subtask 1 with subtask 1's, before the writers start.
	commitRestored(t, s, pending[0])
	commitRestored(t, s, pending[2])
	w0 := mustWriter(t, s, ckctx{0, 2, states[0]})
	defer w0.Close()
	commitRestored(t, s, pending[1])
	w1 := mustWriter(t, s, ckctx{1, 2, states[1]})
	defer w1.Close()
	wantLines(t, file(0), "p3 0")
	wantLines(t, file(1), "p3 1")
	wantLines(t, file(2), "p3 2") // no writer writes it now
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("out.txt, written after the restored checkpoint, is still there: %v", err)
	}
}

// TestTwoPhaseRestoresFormat1 restores the state and committables of a
// checkpoint that an earlier weir wrote (format 1: no marks, no record of
// the sink's other files): the file is cut back as before.
func TestTwoPhaseRestoresFormat1(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	writeFile(t, path, "a\nb\nlater\n")
	part := partName(path, 0, 0, 1)
	writeFile(t, part, "b\n")
	s := mustLineSink(t, path)
	c1 := []byte(fmt.Sprintf(`{"v":1,"part":%q,"final":%q,"offset":2,"length":2}`, part, path))
	commitRestored(t, s, [][]byte{c1}) // published before: the part goes
	if got := partFiles(t, dir); len(got) != 0 {
		t.Fatalf("part files left: %q", got)
	}
	st := []byte(fmt.Sprintf(`{"v":1,"final":%q,"next":4,"seq":2,"pending":[1]}`, path))
	w := mustWriter(t, s, ckctx{0, 1, st})
	defer w.Close()
	wantLines(t, path, "a", "b")
	writeAll(t, w, "c")
	commit(t, s, preCommit(t, w, 2))
	wantLines(t, path, "a", "b", "c")
}

// epochCtx is a writer's context in a cluster's epoch (sink.AttemptOf).
type epochCtx struct {
	ckctx
	epoch int64
}

func (c epochCtx) Attempt() int64 { return c.epoch }

// TestTwoPhaseCutOffWriterLeavesTheLiveOneAlone: a worker cut off from its
// cluster runs its old epoch for a moment after it goes on, beside the
// live epoch's writer of the same subtask, which restored a checkpoint
// behind it. The old writer's parts must not be the live one's (it deletes
// its open part when its epoch ends), and its committer, committing late a
// checkpoint it was told of before, must not cut the file back past what
// the live epoch published since.
func TestTwoPhaseCutOffWriterLeavesTheLiveOneAlone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	s := mustLineSink(t, path)
	old := mustWriter(t, s, epochCtx{ckctx{0, 1, nil}, 2 << 16})
	writeAll(t, old, "a")
	cs1 := preCommit(t, old, 1)
	st1, err := old.SnapshotState(1)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, old, "b") // its open part when its worker is cut off
	if err := old.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}

	// The live epoch restores checkpoint 1, publishes it, and goes on.
	commitRestored(t, s, cs1)
	live := mustWriter(t, s, epochCtx{ckctx{0, 1, st1}, 3 << 16})
	defer live.Close()
	writeAll(t, live, "b", "c") // into its open part

	// The old writer goes on, and its epoch ends: it deletes its open part.
	old.Close()
	commit(t, s, preCommit(t, live, 2))
	wantLines(t, path, "a", "b", "c")
	// Its committer publishes checkpoint 1 late, as it was told before its
	// worker was cut off.
	commit(t, s, cs1)
	wantLines(t, path, "a", "b", "c")
	writeAll(t, live, "d")
	commit(t, s, preCommit(t, live, 3))
	wantLines(t, path, "a", "b", "c", "d")

	// A restore of the old epoch's checkpoint 1 still cuts back.
	commitRestored(t, s, cs1)
	wantLines(t, path, "a")
}

// TestRemoveStrayParts: a restored writer deletes the parts of its subtask
// that no restored committable names, of its own attempt and earlier ones
// (and of every attempt in one process), never those of a later attempt,
// nor other files.
func TestRemoveStrayParts(t *testing.T) {
	dir := t.TempDir()
	final := filepath.Join(dir, "out.txt")
	names := []string{
		".out.txt.part-0-4", ".out.txt.part-0-a65536-5", ".out.txt.part-0-a65536-6",
		".out.txt.part-0-a131072-7", ".out.txt.part-0-a196608-8",
		".out.txt.part-1-a65536-5", ".out.txt.part-0-a0-9", ".out.txt.part-0-x-1", "out.txt",
	}
	for _, want := range []struct {
		attempt int64
		kept    []string
	}{
		{131072, []string{".out.txt.part-0-a196608-8", ".out.txt.part-0-a65536-5"}},
		{0, []string{".out.txt.part-0-a65536-5"}},
	} {
		for _, n := range names {
			writeFile(t, filepath.Join(dir, n), "x\n")
		}
		if err := removeStrayParts(final, 0, want.attempt, 65536, []uint64{5}); err != nil {
			t.Fatal(err)
		}
		var kept []string
		for _, n := range names {
			if _, err := os.Stat(filepath.Join(dir, n)); err == nil && strings.HasPrefix(n, ".out.txt.part-0-a") && n != ".out.txt.part-0-a0-9" {
				kept = append(kept, n)
			}
		}
		slices.Sort(kept)
		if !slices.Equal(kept, want.kept) {
			t.Errorf("attempt %d kept %q, want %q", want.attempt, kept, want.kept)
		}
		for _, n := range []string{".out.txt.part-1-a65536-5", ".out.txt.part-0-a0-9", ".out.txt.part-0-x-1", "out.txt"} {
			if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
				t.Errorf("attempt %d deleted %s, which is not a part of subtask 0: %v", want.attempt, n, err)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, ".out.txt.part-0-4")); err == nil {
			t.Errorf("attempt %d kept the stray part .out.txt.part-0-4", want.attempt)
		}
	}
}

// TestLateCommitLeavesOtherOutput: a commit that finds other bytes where
// its part goes (a live run published there after a restore, and this
// commit comes late from a worker that was cut off) fails and leaves them;
// the commit of a restored checkpoint replaces them.
func TestLateCommitLeavesOtherOutput(t *testing.T) {
	for _, other := range []string{"x\n", "x\ny\nz\n"} { // shorter and longer than the part
		dir := t.TempDir()
		path := filepath.Join(dir, "out.txt")
		s := mustLineSink(t, path)
		w := mustWriter(t, s, epochCtx{ckctx{0, 1, nil}, 2 << 16})
		writeAll(t, w, "a", "b")
		cs := preCommit(t, w, 1)
		writeFile(t, path, other)

		com, _ := s.NewCommitter()
		if err := com.Commit(t.Context(), cs); err == nil || !strings.Contains(err.Error(), "other bytes") {
			t.Fatalf("%q: late commit: %v", other, err)
		}
		if b, _ := os.ReadFile(path); string(b) != other {
			t.Fatalf("%q: a late commit left %q", other, b)
		}
		commitRestored(t, s, cs)
		wantLines(t, path, "a", "b")
		w.Close()
	}
}

// TestCommittersTakeTurns: a committer that read a file's size and paused
// (a worker that was cut off, stopped by its machine) holds the file: the
// live run's committer waits for it, instead of publishing before it
// wakes and cuts the file back to what it read.
func TestCommittersTakeTurns(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	s := mustLineSink(t, path)
	w := mustWriter(t, s, ckctx{0, 1, nil})
	defer w.Close()
	writeAll(t, w, "a")
	cs1 := preCommit(t, w, 1)
	writeAll(t, w, "b")
	cs2 := preCommit(t, w, 2)

	inside, wake := make(chan struct{}), make(chan struct{})
	var first atomic.Bool
	testHookPublishing = func(committable) {
		if first.CompareAndSwap(false, true) {
			close(inside)
			<-wake
		}
	}
	defer func() { testHookPublishing = nil }()
	late := make(chan error, 1)
	go func() {
		com, _ := s.NewCommitter()
		late <- com.Commit(context.Background(), cs1)
	}()
	<-inside
	live := make(chan error, 1)
	go func() {
		com, _ := s.NewCommitter()
		live <- com.Commit(context.Background(), append(slices.Clone(cs1), cs2...))
	}()
	select {
	case err := <-live:
		t.Fatalf("the live commit went ahead while the late one held the file: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(wake)
	if err := <-late; err != nil {
		t.Fatalf("late commit: %v", err)
	}
	if err := <-live; err != nil {
		t.Fatalf("live commit: %v", err)
	}
	wantLines(t, path, "a", "b")
}
