package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/weirstream/weir/sql/types"
)

var testSchema = types.Schema{
	{Name: "uri", Type: types.Type{Kind: types.String}},
	{Name: "pv", Type: types.Type{Kind: types.BigInt}},
}

func row(kind types.RowKind, uri string, pv int64) types.Row {
	return types.Row{Kind: kind, Values: []types.Value{types.StringValue(uri), types.IntValue(pv)}}
}

// TestSQLChangelogLines checks the changelog form of an updating query's
// rows without a terminal: a header, then one line per change with its
// kind, numbers aligned right.
func TestSQLChangelogLines(t *testing.T) {
	t.Parallel()
	rows := make(chan types.Row, 4)
	rows <- row(types.Insert, "/a", 1)
	rows <- row(types.UpdateBefore, "/a", 1)
	rows <- row(types.UpdateAfter, "/a", 2)
	rows <- row(types.Delete, "/a", 2)
	close(rows)
	var b bytes.Buffer
	n, err := streamRows(context.Background(), &b, testSchema, rows, true, nil)
	if err != nil || n != 4 {
		t.Fatalf("streamRows: %d rows, %v", n, err)
	}
	want := "op | uri      | pv\n" +
		"+I | /a       |                    1\n" +
		"-U | /a       |                    1\n" +
		"+U | /a       |                    2\n" +
		"-D | /a       |                    2\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestSQLInsertOnlyLines checks the rows of an insert-only query: no kind
// column, and a value longer than its column keeps every character.
func TestSQLInsertOnlyLines(t *testing.T) {
	t.Parallel()
	rows := make(chan types.Row, 2)
	rows <- row(types.Insert, "/a", 7)
	rows <- row(types.Insert, "/a/very/long/path", 8)
	close(rows)
	var b bytes.Buffer
	if _, err := streamRows(context.Background(), &b, testSchema, rows, false, nil); err != nil {
		t.Fatal(err)
	}
	want := "uri      | pv\n" +
		"/a       |                    7\n" +
		"/a/very/long/path |                    8\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// TestSQLBoxed checks SHOW/DESCRIBE's boxed table and its count.
func TestSQLBoxed(t *testing.T) {
	t.Parallel()
	var b bytes.Buffer
	if err := printBoxed(&b, testSchema, []types.Row{row(types.Insert, "/index.html", 12), row(types.Insert, "/b", 3)}, nil); err != nil {
		t.Fatal(err)
	}
	want := "+-------------+----+\n" +
		"| uri         | pv |\n" +
		"+-------------+----+\n" +
		"| /index.html | 12 |\n" +
		"| /b          |  3 |\n" +
		"+-------------+----+\n" +
		"2 rows in set\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	printBoxed(&b, testSchema, nil, nil)
	if !strings.HasSuffix(b.String(), "Empty set\n") {
		t.Errorf("no rows: got\n%s", b.String())
	}
}

// TestSQLLiveTable checks the table an updating query keeps on a
// terminal: updates replace rows, deletes remove them, and past max the
// oldest rows leave and are counted.
func TestSQLLiveTable(t *testing.T) {
	t.Parallel()
	lt := &liveTable{max: 2}
	for _, r := range []types.Row{
		row(types.Insert, "/a", 1),
		row(types.Insert, "/b", 1),
		row(types.UpdateBefore, "/a", 1),
		row(types.UpdateAfter, "/a", 2),
		row(types.Insert, "/c", 1), // /b leaves: max 2
		row(types.UpdateBefore, "/b", 1),
		row(types.Delete, "/c", 1),
	} {
		lt.apply(r)
	}
	if len(lt.rows) != 1 || lt.rows[0][0].Str() != "/a" || lt.rows[0][1].Int() != 2 || lt.dropped != 1 {
		t.Fatalf("rows %v, dropped %d; want [/a 2], dropped 1", lt.rows, lt.dropped)
	}

	var b bytes.Buffer
	width := 200
	v := &liveView{w: &b, c: newColumns(testSchema, false, nil), size: func() (int, int) { return width, 24 }}
	v.draw(lt, 7, false)
	first := b.String()
	want := "\r\x1b[Juri      | pv\n/a       |                    2\n(1 oldest rows dropped: the table holds at most --max-rows 2; 1 rows, 7 changes received)\n"
	if first != want {
		t.Errorf("first draw:\n%q\nwant\n%q", first, want)
	}
	b.Reset()
	width = 20
	v.draw(lt, 7, false)
	for l := range strings.SplitSeq(strings.TrimSuffix(b.String(), "\n"), "\n") {
		l = strings.TrimPrefix(l, "\r\x1b[3A\r\x1b[J")
		if len([]rune(l)) > 20 {
			t.Errorf("line %q is wider than the terminal's 20 columns", l)
		}
	}
	b.Reset()
	v.draw(lt, 8, true)
	// The second draw moves up over the 3 lines of the first: header, one
	// row, the note.
	if !strings.HasPrefix(b.String(), "\r\x1b[3A\r\x1b[J") {
		t.Errorf("second draw starts %q; want it to move up 3 lines and clear", b.String()[:12])
	}
}

// TestSQLHistory checks the shell's history: bounded, newest first for
// the line editor, kept in its file with mode 0600 and read back.
func TestSQLHistory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "history")
	h := loadHistory(path, 3)
	for i := range 5 {
		h.Add("SELECT " + strconv.Itoa(i) + ";")
	}
	h.Add("SELECT 4;") // the same as the line before
	h.Add("   ")
	if h.Len() != 3 || h.At(0) != "SELECT 4;" || h.At(2) != "SELECT 2;" {
		t.Fatalf("history %q; want the last 3 lines", h.lines)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("history file: %v, mode %v; want 0600", err, fi.Mode())
	}
	again := loadHistory(path, 2)
	if again.Len() != 2 || again.At(0) != "SELECT 4;" || again.At(1) != "SELECT 3;" {
		t.Fatalf("read back %q; want the last 2 lines", again.lines)
	}
}

// TestSQLInterruptReader checks that a Ctrl-C becomes "erase the line,
// Enter" and is recorded when the line it ends is read, not before: lines
// come one a Read.
func TestSQLInterruptReader(t *testing.T) {
	t.Parallel()
	ir := &interruptReader{r: strings.NewReader("SHOW TABLES;\rSEL\x03quit;\r")}
	p := make([]byte, 64)
	var reads []string
	var flags []bool
	for {
		n, err := ir.Read(p)
		if n > 0 {
			reads = append(reads, string(p[:n]))
			flags = append(flags, ir.interrupted.Swap(false))
		}
		if err == io.EOF {
			break
		}
	}
	want := []string{"SHOW TABLES;\r", "SEL\x15\r", "quit;\r"}
	if !slices.Equal(reads, want) || !slices.Equal(flags, []bool{false, true, false}) {
		t.Fatalf("reads %q, interrupted %v; want %q, [false true false]", reads, flags, want)
	}
}
