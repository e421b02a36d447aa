package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/weirstream/weir/sql/types"
)

// How weir sql shows results:
//
//   - SHOW and DESCRIBE: a boxed table, as Flink's client does.
//   - SELECT of an insert-only query: a header, then each row as it
//     comes, in columns as wide as their type needs (a longer value
//     widens its cell rather than lose characters).
//   - SELECT of an updating query on a terminal: the current rows,
//     redrawn in place at most every redrawEvery, at most --max-rows of
//     them (the oldest leave first, with a note).
//   - SELECT of an updating query elsewhere: the changelog, one line per
//     change, "+I | …", "-U | …", "+U | …", "-D | …" (Flink's tableau
//     mode), which a program can read back.

// redrawEvery bounds how often a live table is redrawn.
const redrawEvery = 200 * time.Millisecond

// columns lays out the cells of a result's rows.
type columns struct {
	names  []string
	types  []types.Type
	widths []int
	right  []bool // numbers align right
	op     bool   // a first column holds the row kind
	loc    *time.Location
}

func newColumns(schema types.Schema, op bool, loc *time.Location) columns {
	c := columns{op: op, loc: loc}
	for _, f := range schema {
		c.names = append(c.names, f.Name)
		c.types = append(c.types, f.Type)
		c.widths = append(c.widths, max(utf8.RuneCountInString(f.Name), typeWidth(f.Type)))
		c.right = append(c.right, f.Type.Numeric())
	}
	return c
}

// typeWidth is how wide a column of type t is before its values are seen.
func typeWidth(t types.Type) int {
	switch t.Kind {
	case types.Boolean:
		return 5
	case types.Int:
		return 11
	case types.BigInt, types.Interval:
		return 20
	case types.Double:
		return 12
	case types.Decimal:
		return t.Precision + 2
	case types.Timestamp, types.TimestampLTZ:
		return len("2006-01-02 15:04:05.000")
	}
	return 8
}

// cells formats the values of r, one string a column.
func (c columns) cells(r types.Row) []string {
	out := make([]string, len(c.names))
	for i := range out {
		if i < len(r.Values) {
			out[i] = types.Format(r.Values[i], c.types[i], c.loc)
		}
	}
	return out
}

// appendLine appends one line of cells: kind is the row kind's column
// ("op" for the header), or "" without one.
func (c columns) appendLine(b []byte, kind string, cells []string) []byte {
	if c.op {
		b = append(b, kind...)
		b = append(b, " | "...)
	}
	for i, s := range cells {
		if i > 0 {
			b = append(b, " | "...)
		}
		pad := c.widths[i] - utf8.RuneCountInString(s)
		if c.right[i] && pad > 0 {
			b = append(b, strings.Repeat(" ", pad)...)
		}
		b = append(b, s...)
		if !c.right[i] && pad > 0 && i < len(cells)-1 {
			b = append(b, strings.Repeat(" ", pad)...)
		}
	}
	return append(b, '\n')
}

// header is the header line.
func (c columns) header() []byte {
	c.right = make([]bool, len(c.names)) // names align left
	return c.appendLine(nil, "op", c.names)
}

// printBoxed prints rows as a boxed table with a count below, for SHOW
// and DESCRIBE.
func printBoxed(w io.Writer, schema types.Schema, rows []types.Row, loc *time.Location) error {
	c := newColumns(schema, false, loc)
	all := make([][]string, len(rows))
	widths := make([]int, len(schema))
	for i, f := range schema {
		widths[i] = utf8.RuneCountInString(f.Name)
	}
	for i, r := range rows {
		all[i] = c.cells(r)
		for j, s := range all[i] {
			widths[j] = max(widths[j], utf8.RuneCountInString(s))
		}
	}
	var b strings.Builder
	rule := func() {
		for _, n := range widths {
			b.WriteString("+-" + strings.Repeat("-", n) + "-")
		}
		b.WriteString("+\n")
	}
	line := func(cells []string, numbers bool) {
		for j, s := range cells {
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(s))
			if numbers && c.right[j] {
				b.WriteString("| " + pad + s + " ")
			} else {
				b.WriteString("| " + s + pad + " ")
			}
		}
		b.WriteString("|\n")
	}
	rule()
	line(c.names, false)
	rule()
	for _, cells := range all {
		line(cells, true)
	}
	rule()
	switch len(rows) {
	case 0:
		b.WriteString("Empty set\n")
	case 1:
		b.WriteString("1 row in set\n")
	default:
		fmt.Fprintf(&b, "%d rows in set\n", len(rows))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// streamRows writes the rows of a query as they come, until rows is
// closed or ctx ends, and returns how many it received. With op, each
// line starts with the row's kind: the changelog of an updating query.
func streamRows(ctx context.Context, w io.Writer, schema types.Schema, rows <-chan types.Row, op bool, loc *time.Location) (int64, error) {
	c := newColumns(schema, op, loc)
	if _, err := w.Write(c.header()); err != nil {
		return 0, err
	}
	var n int64
	var b []byte
	for {
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case r, ok := <-rows:
			if !ok {
				return n, nil
			}
			n++
			b = c.appendLine(b[:0], r.Kind.String(), c.cells(r))
			if _, err := w.Write(b); err != nil {
				return n, err
			}
		}
	}
}

// liveTable is the current result of an updating query: the rows its
// changelog has added and not taken back, in the order they came, at
// most max of them.
type liveTable struct {
	rows    [][]types.Value
	max     int
	dropped int64 // rows that left because of max
}

// apply applies one change. A row taken back that is not held (it left
// because of max) is ignored.
func (t *liveTable) apply(r types.Row) {
	if !r.Kind.Retracts() {
		if len(t.rows) >= t.max {
			copy(t.rows, t.rows[1:])
			t.rows = t.rows[:len(t.rows)-1]
			t.dropped++
		}
		t.rows = append(t.rows, r.Values)
		return
	}
	for i := len(t.rows) - 1; i >= 0; i-- {
		if equalValues(t.rows[i], r.Values) {
			t.rows = append(t.rows[:i], t.rows[i+1:]...)
			return
		}
	}
}

func equalValues(a, b []types.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].Equal(b[i]) {
			return false
		}
	}
	return true
}

// liveView redraws a liveTable on a terminal: it moves the cursor up over
// what it drew last and clears to the end of the screen (ANSI), then
// draws the rows that fit the terminal's height.
type liveView struct {
	w     io.Writer
	c     columns
	size  func() (width, height int)
	lines int // lines drawn last time
	buf   []byte
}

// draw redraws t; final adds the count of rows received.
func (v *liveView) draw(t *liveTable, received int64, final bool) error {
	width, height := 0, 0
	if v.size != nil {
		width, height = v.size()
	}
	b := v.buf[:0]
	if v.lines > 0 {
		b = fmt.Appendf(b, "\r\x1b[%dA", v.lines)
	}
	b = append(b, "\r\x1b[J"...)
	lines := 0
	add := func(line []byte) {
		line = line[:len(line)-1] // the newline
		if width > 0 {
			line = clip(line, width)
		}
		b = append(b, line...)
		b = append(b, '\n')
		lines++
	}
	add(v.c.header())
	show := len(t.rows)
	if height > 0 {
		show = min(show, max(height-4, 1))
	}
	for _, vals := range t.rows[:show] {
		add(v.c.appendLine(nil, "", v.c.cells(types.Row{Values: vals})))
	}
	var note []string
	if show < len(t.rows) {
		note = append(note, fmt.Sprintf("%d more rows below the screen", len(t.rows)-show))
	}
	if t.dropped > 0 {
		note = append(note, fmt.Sprintf("%d oldest rows dropped: the table holds at most --max-rows %d", t.dropped, t.max))
	}
	status := fmt.Sprintf("%d rows, %d changes received", len(t.rows), received)
	if final {
		status = "Received a total of " + fmt.Sprint(received) + " changes; " + fmt.Sprint(len(t.rows)) + " rows"
	}
	note = append(note, status)
	add([]byte("(" + strings.Join(note, "; ") + ")\n"))
	v.buf = b
	v.lines = lines
	_, err := v.w.Write(b)
	return err
}

// clip cuts a line to width runes, so that it does not wrap and the
// count of lines to move up over stays right.
func clip(line []byte, width int) []byte {
	n := 0
	for i := range string(line) {
		if n == width {
			return line[:i]
		}
		n++
	}
	return line
}

// liveRows shows the rows of an updating query on a terminal until rows
// is closed or ctx ends, and returns how many changes it received.
func liveRows(ctx context.Context, w io.Writer, schema types.Schema, rows <-chan types.Row, maxRows int, size func() (int, int), loc *time.Location) (int64, error) {
	t := &liveTable{max: maxRows}
	v := &liveView{w: w, c: newColumns(schema, false, loc), size: size}
	tick := time.NewTicker(redrawEvery)
	defer tick.Stop()
	var n int64
	dirty := true
	for {
		select {
		case <-ctx.Done():
			v.draw(t, n, true)
			return n, ctx.Err()
		case r, ok := <-rows:
			if !ok {
				return n, v.draw(t, n, true)
			}
			n++
			t.apply(r)
			dirty = true
		case <-tick.C:
			if dirty {
				if err := v.draw(t, n, false); err != nil {
					return n, err
				}
				dirty = false
			}
		}
	}
}
