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
	var b strings.Builder
	fmt.Fprintf(&b, "parser: line %d, column %d: %s", e.Line, e.Column, e.Msg)
	if e.SourceLine == "" {
		return b.String()
	}
	b.WriteString("\n  " + e.SourceLine + "\n  ")
	col := min(e.Column-1, len(e.SourceLine))
	for _, r := range e.SourceLine[:max(col, 0)] {
		if r == '\t' {
			b.WriteByte('\t')
		} else {
			b.WriteByte(' ')
		}
	}
	b.WriteByte('^')
	return b.String()
}

// errorAt returns an Error at pos of src.
func errorAt(src string, pos ast.Pos, msg string) *Error {
	start := strings.LastIndexByte(src[:min(pos.Offset, len(src))], '\n') + 1
	end := strings.IndexByte(src[start:], '\n')
	if end < 0 {
		end = len(src)
	} else {
		end += start
	}
	line := strings.TrimRight(src[start:end], "\r")
	// Control characters would break the caret's line; show them as '?'.
	line = strings.Map(func(r rune) rune {
		if r < ' ' && r != '\t' || r == 0x7f {
			return '?'
		}
		return r
	}, line)
	return &Error{Line: pos.Line, Column: pos.Column, Offset: pos.Offset, Msg: msg, SourceLine: line}
}
