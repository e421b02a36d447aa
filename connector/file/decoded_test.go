package file

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weirstream/weir/source"
)

// upper decodes a line to its upper case, and refuses lines that start
// with '#'. It copies what it keeps, as a Decoder must.
func upper(line []byte) (string, error) {
	if len(line) > 0 && line[0] == '#' {
		return "", errors.New("comment")
	}
	return strings.ToUpper(string(line)), nil
}

func mustDecoded(t testing.TB, pattern string, opts ...SourceOption) *DecodedSource[string] {
	t.Helper()
	s, err := NewDecodedSource(pattern, upper, append([]SourceOption{WithLogger(quiet)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDecodedSourceEveryLineOnce reads a file in ranges of every size with
// one to three readers: every line comes once, decoded; a line the decoder
// refuses goes to the dead letters whole, with its reason and position;
// a line over the limit goes there as in a plain Source.
func TestDecodedSourceEveryLineOnce(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	var b strings.Builder
	var want []string
	var comments []string
	for i := range 300 {
		switch {
		case i%50 == 7:
			line := fmt.Sprintf("# note %d", i)
			comments = append(comments, fmt.Sprintf("%s:%d", path, b.Len()))
			b.WriteString(line + "\r\n")
		case i == 123:
			b.WriteString(strings.Repeat("L", 5000) + "\n")
		default:
			line := fmt.Sprintf("line %d %s", i, strings.Repeat("x", i%37))
			want = append(want, strings.ToUpper(line))
			b.WriteString(line + "\n")
		}
	}
	writeFile(t, path, b.String())
	for _, size := range []int64{13, 999, 1 << 20} {
		for par := 1; par <= 3; par++ {
			d := newDriver(t, mustDecoded(t, path, MaxLineSize(100), SplitSize(size)), par, uint64(size))
			d.run()
			what := fmt.Sprintf("split size %d, %d readers", size, par)
			sameMultiset(t, what, flatten(d.lines()), want)
			var gotComments []string
			long := 0
			for _, dl := range deadLetters(d) {
				switch dl.Reason {
				case "comment":
					if !strings.HasPrefix(string(dl.Raw), "# note ") || strings.HasSuffix(string(dl.Raw), "\r") || dl.Split == "" {
						t.Fatalf("%s: dead letter %+v: want the whole comment line, without its \\r, and its split", what, dl)
					}
					gotComments = append(gotComments, dl.Position)
				case ReasonTooLong:
					long++
				default:
					t.Fatalf("%s: dead letter with reason %q", what, dl.Reason)
				}
			}
			slices.Sort(gotComments)
			sorted := slices.Sorted(slices.Values(comments))
			if !slices.Equal(gotComments, sorted) || long != 1 {
				t.Fatalf("%s: dead letters at %v and %d too long; want %v and 1", what, gotComments, long, sorted)
			}
		}
	}
}

// TestDecodedSourceFollows: in follow mode the lines appended to a file
// come decoded too.
func TestDecodedSourceFollows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	writeFile(t, path, "a\n#skip\nb\n")
	d := newDriver(t, mustDecoded(t, path, Follow(), PollInterval(0)), 1, 1)
	if got := pollUntil(t, d, 2); !slices.Equal(got, []string{"A", "B"}) {
		t.Fatalf("lines %q, want A and B", got)
	}
	f := create(t, path)
	if _, err := f.WriteString("c\n"); err != nil {
		t.Fatal(err)
	}
	if got := pollUntil(t, d, 3); got[2] != "C" {
		t.Fatalf("lines %q, want C last", got)
	}
	if dead := deadLetters(d); len(dead) != 1 || dead[0].Reason != "comment" || dead[0].Position != path+":2" {
		t.Fatalf("dead letters %+v, want the comment at offset 2", dead)
	}
}

// TestDecodedPerReader gives each reader a decoder of its own that keeps
// state without a lock (strings from a source.Strings, a line count):
// readers polled on goroutines of their own, as the runtime polls them,
// share none (the race detector would tell), and the strings, copied out
// of a buffer the reader reuses, hold every line.
func TestDecodedPerReader(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	var b strings.Builder
	var want []string
	for i := range 3000 {
		line := fmt.Sprintf("line %d %s", i, strings.Repeat("x", i%37))
		want = append(want, strings.ToUpper(line))
		b.WriteString(line + "\n")
	}
	writeFile(t, path, b.String())
	var made atomic.Int32
	newDecoder := func() Decoder[string] {
		made.Add(1)
		var s source.Strings
		lines := 0
		return func(line []byte) (string, error) {
			lines++
			return s.String(bytes.ToUpper(line)), nil
		}
	}
	decoded := func(opts ...SourceOption) *DecodedSource[string] {
		s, err := NewSource(path, append([]SourceOption{WithLogger(quiet)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		d, err := DecodedPerReader(s, newDecoder)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	counts := runConcurrently(t, decoded(SplitSize(4<<10)), 3)
	if n := counts[0] + counts[1] + counts[2]; n != len(want) || made.Load() != 3 {
		t.Fatalf("%d lines from %d decoders, want %d from 3, one per reader", n, made.Load(), len(want))
	}
	for _, size := range []int64{13, 999, 1 << 20} {
		d := newDriver(t, decoded(SplitSize(size), MaxLineSize(511)), 2, uint64(size)) // a buffer of 512 bytes, reused
		d.run()
		sameMultiset(t, fmt.Sprintf("split size %d", size), flatten(d.lines()), want)
	}
	s, err := NewSource(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodedPerReader[string](s, nil); err == nil || !strings.Contains(err.Error(), "Decoder") {
		t.Errorf("DecodedPerReader without decoders: %v, want an error that asks for one", err)
	}
}

func TestNewDecodedSourceValidation(t *testing.T) {
	if _, err := NewDecodedSource[string](filepath.Join(t.TempDir(), "*.log"), nil); err == nil || !strings.Contains(err.Error(), "Decoder") {
		t.Errorf("a nil decoder: %v, want an error that asks for one", err)
	}
	if _, err := NewDecodedSource("", upper); err == nil {
		t.Error("an empty pattern: no error")
	}
	// Decoded, which NewDecodedSource reads through, over a Source made
	// before.
	if _, err := Decoded[string](nil, upper); err == nil || !strings.Contains(err.Error(), "NewSource") {
		t.Errorf("Decoded of no source: %v, want an error that asks for one", err)
	}
	s, err := NewSource(filepath.Join(t.TempDir(), "*.log"), Follow())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decoded[string](s, nil); err == nil || !strings.Contains(err.Error(), "Decoder") {
		t.Errorf("Decoded without a decoder: %v, want an error that asks for one", err)
	}
}

var _ source.Source[string] = (*DecodedSource[string])(nil)
