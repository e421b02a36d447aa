package tail

import (
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

var xs = bytes.Repeat([]byte("x"), 64<<10)

// longFile is a file of a line of n bytes ('x'), then "ok\n", made up as
// it is read: it holds no memory of its own. It records the largest read
// asked of it.
type longFile struct {
	n       int64
	maxRead int
}

func (f *longFile) ReadAt(p []byte, off int64) (int, error) {
	f.maxRead = max(f.maxRead, len(p))
	size := f.n + 4 // the line, '\n', "ok\n"
	if off >= size {
		return 0, io.EOF
	}
	k := 0
	if off < f.n {
		k = int(min(int64(len(p)), f.n-off))
		copy(p[:k], xs[:k])
	}
	for ; k < len(p) && off+int64(k) < size; k++ {
		if o := off + int64(k); o == f.n {
			p[k] = '\n'
		} else {
			p[k] = "ok\n"[o-f.n-1]
		}
	}
	if k < len(p) {
		return k, io.EOF
	}
	return k, nil
}

// TestLinesSkipsAHugeLine reads a 200 MiB line with a 64 KiB buffer: it
// comes back as one GotLong with its length and its first PrefixMax bytes,
// after Skipping calls that keep the reader responsive, and no read asks
// for more than the buffer.
func TestLinesSkipsAHugeLine(t *testing.T) {
	f := &longFile{n: 200 << 20}
	buf := make([]byte, len(xs))
	l := NewLines(f, &buf, 1<<10)
	skipping := 0
	for {
		line, st, err := l.Next()
		if err != nil {
			t.Fatal(err)
		}
		if st == Skipping {
			skipping++
			if l.Pos() != 0 {
				t.Fatalf("while skipping, the position is %d, want the line's start", l.Pos())
			}
			continue
		}
		if st != GotLong || line.Offset != 0 || line.Len != f.n || !bytes.Equal(line.Bytes, bytes.Repeat([]byte("x"), PrefixMax)) {
			t.Fatalf("got %v at %d of length %d (%d bytes), want the long line", st, line.Offset, line.Len, len(line.Bytes))
		}
		break
	}
	if skipping < 2 {
		t.Fatalf("%d Skipping calls for a line of %d bytes, want the skip split", skipping, f.n)
	}
	line, st, err := l.Next()
	if err != nil || st != GotLine || string(line.Bytes) != "ok" || line.Offset != f.n+1 {
		t.Fatalf("the line after: %v %q at %d, %v", st, line.Bytes, line.Offset, err)
	}
	if f.maxRead > len(buf) {
		t.Fatalf("a read asked for %d bytes, more than the buffer", f.maxRead)
	}
}

// TestLinesLongLastLine: a long line without '\n' at the end of a range's
// file comes from Rest, as does a short one; a long line that starts
// before a range's end is the range's, read past the end.
func TestLinesLongLastLine(t *testing.T) {
	data := "a\n" + strings.Repeat("y", 50) + "\nb\n" + strings.Repeat("z", 40)
	r := strings.NewReader(data)
	l := NewLines(r, bufOf(16), 8)
	l.SetEnd(5) // the long line starts at 2, before the end
	var got []string
	for {
		line, st, err := l.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch st {
		case GotLine:
			got = append(got, string(line.Bytes))
			continue
		case GotLong:
			got = append(got, "long:"+string(line.Bytes[:3]))
			continue
		}
		if st != PastEnd {
			t.Fatalf("status %v, want PastEnd", st)
		}
		break
	}
	if want := []string{"a", "long:yyy"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	l.SetEnd(-1)
	for {
		line, st, _ := l.Next()
		if st == GotLine {
			got = append(got, string(line.Bytes))
			continue
		}
		if st == NeedMore {
			line, st := l.Rest()
			if st != GotLong || line.Len != 40 || line.Offset != int64(len(data)-40) {
				t.Fatalf("Rest = %v, length %d at %d; want the long last line", st, line.Len, line.Offset)
			}
			break
		}
	}
	if _, st := l.Rest(); st != NeedMore {
		t.Fatalf("Rest after the last line said %v", st)
	}
}

// TestLinesUnread gives lines back, as the shipper does when its batch is
// full, and after Rest.
func TestLinesUnread(t *testing.T) {
	l := NewLines(strings.NewReader("one\n\ntwo\nend"), bufOf(64), 16)
	var got []string
	for range 3 {
		line, st, _ := l.Next()
		if st != GotLine {
			t.Fatalf("status %v", st)
		}
		l.Unread()
		again, _, _ := l.Next()
		if !bytes.Equal(line.Bytes, again.Bytes) || line.Offset != again.Offset {
			t.Fatalf("after Unread: %q at %d, want %q at %d", again.Bytes, again.Offset, line.Bytes, line.Offset)
		}
		got = append(got, string(again.Bytes))
	}
	if _, st, _ := l.Next(); st != NeedMore {
		t.Fatalf("status %v, want NeedMore", st)
	}
	line, st := l.Rest()
	l.Unread()
	if l.Pos() != 9 {
		t.Fatalf("Pos after Unread of Rest = %d, want 9", l.Pos())
	}
	if again, st2 := l.Rest(); st != GotLine || st2 != GotLine || string(again.Bytes) != "end" || string(line.Bytes) != "end" {
		t.Fatalf("Rest, Unread, Rest = %q, %q", line.Bytes, again.Bytes)
	}
	if want := []string{"one", "", "two"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// cut is a line as the oracle and the reader see it.
type cut struct {
	off, n int64
	long   bool
	text   string // the line, or its first PrefixMax bytes when long
}

// oracle cuts data naively: lines end at '\n', a last line without it
// counts, lines longer than maxLine are long.
func oracle(data []byte, maxLine int) []cut {
	var out []cut
	for off := 0; off < len(data); {
		n := bytes.IndexByte(data[off:], '\n')
		next := off + n + 1
		if n < 0 {
			n, next = len(data)-off, len(data)
		}
		c := cut{off: int64(off), n: int64(n), long: n > maxLine}
		c.text = string(data[off : off+min(n, PrefixMax)])
		out = append(out, c)
		off = next
	}
	return out
}

// readRange reads the lines of data that start in [start, end) (end -1:
// to the end) as a bounded reader does.
func readRange(t *testing.T, data []byte, buf *[]byte, maxLine int, start, end int64) []cut {
	l := NewLines(bytes.NewReader(data), buf, maxLine)
	l.SetEnd(end)
	l.SetRange(start)
	var out []cut
	for {
		line, st, err := l.Next()
		if err != nil {
			t.Fatal(err)
		}
		switch st {
		case GotLine, GotLong:
			out = append(out, cut{line.Offset, line.Len, st == GotLong, string(line.Bytes)})
			continue
		case Skipping:
			continue
		case NeedMore:
			if line, st := l.Rest(); st != NeedMore {
				out = append(out, cut{line.Offset, line.Len, st == GotLong, string(line.Bytes)})
			}
		}
		return out
	}
}

// FuzzLines checks Lines against the oracle on any data, limit and buffer:
// read whole, and in two ranges split anywhere, every line comes once, at
// its offset, with its length, long exactly when longer than the limit.
// The buffer starts at 1 to 64 bytes over the limit or below it, and the
// readers share it, as they grow it.
func FuzzLines(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), uint8(2), uint8(1), uint16(3))
	f.Add([]byte("\r\nxxxxxxxxxx\nyy"), uint8(3), uint8(5), uint16(1))
	f.Add(bytes.Repeat([]byte("z"), 3000), uint8(9), uint8(0), uint16(1500))
	f.Fuzz(func(t *testing.T, data []byte, maxLine, extra uint8, split uint16) {
		ml := int(maxLine)%64 + 1
		buf := bufOf(int(extra)%(ml+64) + 1)
		want := oracle(data, ml)
		if got := readRange(t, data, buf, ml, 0, -1); !slices.Equal(got, want) {
			t.Fatalf("whole: got %+v, want %+v", got, want)
		}
		if len(*buf) > ml+1 && int(extra)%(ml+64)+1 <= ml+1 {
			t.Fatalf("the buffer grew to %d bytes, past the limit %d and a byte", len(*buf), ml)
		}
		k := int64(split) % (int64(len(data)) + 1)
		buf = bufOf(int(extra)%(ml+64) + 1)
		got := append(readRange(t, data, buf, ml, 0, k), readRange(t, data, buf, ml, k, -1)...)
		if !slices.Equal(got, want) {
			t.Fatalf("split at %d: got %+v, want %+v", k, got, want)
		}
	})
}

// TestLinesGrowTheirBuffer reads lines longer than a 4-byte buffer: each
// comes whole, the buffer grows no further than the limit and a byte, and
// a second reader of the same buffer starts with the grown one.
func TestLinesGrowTheirBuffer(t *testing.T) {
	data := "ab\n" + strings.Repeat("x", 40) + "\nc\n" + strings.Repeat("y", 101) + "\nd\n"
	buf := bufOf(4)
	l := NewLines(strings.NewReader(data), buf, 100)
	var got []string
	for {
		line, st, err := l.Next()
		if err != nil {
			t.Fatal(err)
		}
		if st == NeedMore {
			break
		}
		got = append(got, fmt.Sprintf("%v:%d", st == GotLong, line.Len))
	}
	if want := []string{"false:2", "false:40", "false:1", "true:101", "false:1"}; !slices.Equal(got, want) {
		t.Errorf("lines (long:length) %v, want %v", got, want)
	}
	if len(*buf) != 101 {
		t.Errorf("the buffer is %d bytes, want the limit and a byte, 101", len(*buf))
	}
	other := NewLines(strings.NewReader("z\n"), buf, 100)
	if len(other.buf) != 101 {
		t.Errorf("a second reader started with %d bytes, not the grown buffer", len(other.buf))
	}
}

// bufOf returns a new buffer of n bytes to share.
func bufOf(n int) *[]byte {
	b := make([]byte, n)
	return &b
}
