package file

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
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
	w, err := NewSink[event](path).NewWriter(wctx{0, 1})
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
		w, _ := NewSink[fastEvent](path).NewWriter(wctx{0, 1})
		w.Write(t.Context(), fastEvent{1})
		w.Write(t.Context(), fastEvent{2})
		w.Flush(t.Context())
		w.Close()
	}, []string{`{"fast":1}`, `{"fast":2}`})
	check("pointer", func(path string) {
		w, _ := NewSink[ptrEvent](path).NewWriter(wctx{0, 1})
		w.Write(t.Context(), ptrEvent{3})
		w.Flush(t.Context())
		w.Close()
	}, []string{`{"ptr":3}`})
	check("interface", func(path string) {
		w, _ := NewSink[any](path).NewWriter(wctx{0, 1})
		w.Write(t.Context(), fastEvent{4})
		w.Write(t.Context(), map[string]int{"m": 5})
		w.Flush(t.Context())
		w.Close()
	}, []string{`{"fast":4}`, `{"m":5}`})
}

func TestSinkPerSubtaskFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.jsonl")
	s := NewSink[int](path)
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
	w, err := NewLineSink(path).NewWriter(wctx{0, 1})
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

	w, err = NewLineSink(path, Append(), Sync(), BufferSize(1)).NewWriter(wctx{0, 1})
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
	if _, err := NewSink[int]("").NewWriter(wctx{0, 1}); err == nil || !strings.HasPrefix(err.Error(), "file: ") {
		t.Fatalf("empty path: %v", err)
	}
	w, err := NewSink[func()](filepath.Join(t.TempDir(), "x")).NewWriter(wctx{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Write(t.Context(), func() {}); err == nil || !strings.HasPrefix(err.Error(), "file: ") {
		t.Fatalf("unencodable record: %v", err)
	}
}
