package planner

import (
	"fmt"

	"github.com/weirstream/weir/sql/ast"
	"github.com/weirstream/weir/sql/parser"
)

// Error is a statement the planner refuses: what is wrong or not
// supported, where it is, and, when the source text is known, the line
// with a caret under the place:
//
//	planner: line 1, column 8: OVER aggregates other than ROW_NUMBER() are not supported: …
//	  SELECT SUM(x) OVER (ORDER BY t) FROM s
//	         ^
type Error struct {
	Pos ast.Pos
	// Msg says what is wrong and what to do.
	Msg string
	// Src is the text Pos points into ("" when unknown): the statement,
	// or the stored SQL of a view or computed column.
	Src string
	// Err is the cause, if any (an error of sql/expr or sql/table).
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	s := fmt.Sprintf("planner: line %d, column %d: %s", e.Pos.Line, e.Pos.Column, e.Msg)
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.Src != "" && e.Pos.Line > 0 {
		s += "\n" + parser.Caret(e.Src, e.Pos)
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// errAt returns an *Error at n's position.
func (b *binder) errAt(n ast.Node, err error, format string, args ...any) error {
	var pos ast.Pos
	if n != nil {
		pos = n.Position()
	}
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Src: b.src, Err: err}
}

// unsupported refuses a construct by name.
func (b *binder) unsupported(n ast.Node, what, fix string) error {
	msg := what + " is not supported"
	if fix != "" {
		msg += ": " + fix
	}
	return b.errAt(n, nil, "%s", msg)
}
