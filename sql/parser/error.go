package parser

import (
	"fmt"
	"strings"

	"github.com/weirstream/weir/sql/ast"
)

// Error is a syntax error: where it is and what the parser expected.
// Error() shows the source line with a caret under the place:
//
//	parser: line 3, column 3: expected ',' or ')' after a column, found 'WITH'
//	  ) WITH ('connector' = 'print')
//	    ^
type Error struct {
	Line   int // from 1
	Column int // in bytes, from 1
	Offset int // byte offset in the source, from 0
	// Msg says what was expected and what was found.
	Msg string
	// SourceLine is the text of the line the error is on.
	SourceLine string
}

// Error returns the message with the source line and a caret.
func (e *Error) Error() string {
	msg := fmt.Sprintf("parser: line %d, column %d: %s", e.Line, e.Column, e.Msg)
	if e.SourceLine == "" {
		return msg
	}
	return msg + "\n" + caret(e.SourceLine, e.Column)
}

// caret returns the line, indented, and under it a caret at column.
func caret(line string, column int) string {
	var b strings.Builder
	b.WriteString("  " + line + "\n  ")
	col := min(column-1, len(line))
	for _, r := range line[:max(col, 0)] {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteByte('^')
	return b.String()
}

// Caret returns the line of src that pos is on, and under it a caret at
// pos, as an *Error shows them: for later stages, such as the planner,
// that refuse a construct at a node's position and want to show where.
func Caret(src string, pos ast.Pos) string {
	return caret(sourceLine(src, pos), pos.Column)
}

// errorAt returns an Error at pos of src.
func errorAt(src string, pos ast.Pos, msg string) *Error {
	return &Error{Line: pos.Line, Column: pos.Column, Offset: pos.Offset, Msg: msg, SourceLine: sourceLine(src, pos)}
}

// sourceLine returns the line of src that pos is on, with control
// characters shown as '?' so that they do not break the caret's line.
func sourceLine(src string, pos ast.Pos) string {
	off := min(max(pos.Offset, 0), len(src))
	start := strings.LastIndexByte(src[:off], '\n') + 1
	end := strings.IndexByte(src[start:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += start
	}
	line := []byte(strings.TrimRight(src[start:end], "\r"))
	for i, c := range line {
		// Byte for byte, so that columns stay where they were.
		if c < ' ' && c != '\t' || c == 0x7f {
			line[i] = '?'
		}
	}
	return string(line)
}
