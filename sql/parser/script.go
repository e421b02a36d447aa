package parser

import (
	"strings"

	"github.com/weirstream/weir/sql/ast"
)

// Piece is one statement of a script, as [Split] found it.
type Piece struct {
	// Text is the statement's text, without its ';' and the blanks and
	// comments around it.
	Text string
	// Pos is where Text starts in the script.
	Pos ast.Pos

	src string
	end int
}

// Parse parses the statement; positions and errors count from the start
// of the script, and errors show the script's line.
func (pc Piece) Parse() (ast.Statement, error) {
	return parseRange(pc.src, pc.end, pc.Pos, false)
}

// Split cuts a script into its statements at each ';' that is not inside
// a string, a quoted name or a comment. Empty statements are skipped. It
// fails only where the script cannot be read into tokens (an unterminated
// string or comment, a stray character); the error is an *Error.
func Split(src string) ([]Piece, error) {
	toks, err := lexAll(src, len(src), ast.Pos{Line: 1, Column: 1})
	if err != nil {
		return nil, err
	}
	var pieces []Piece
	first := -1
	for i, t := range toks {
		if t.kind == tEOF || t.kind == tPunct && t.text == ";" {
			if first >= 0 {
				start, end := toks[first].pos, toks[i-1].end
				pieces = append(pieces, Piece{Text: src[start.Offset:end], Pos: start, src: src, end: end})
			}
			first = -1
			continue
		}
		if first < 0 {
			first = i
		}
	}
	return pieces, nil
}

// ParseScript parses the ';'-separated statements of a script. It stops
// at the first error, an *Error whose position counts from the start of
// the script.
func ParseScript(src string) ([]ast.Statement, error) {
	pieces, err := Split(src)
	if err != nil {
		return nil, err
	}
	stmts := make([]ast.Statement, 0, len(pieces))
	for _, pc := range pieces {
		s, err := pc.Parse()
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, s)
	}
	return stmts, nil
}

// Complete reports whether src ends with a ';' that ends a statement:
// whether a shell that reads a statement line by line has all of it. A
// ';' inside a string, a quoted name or a comment does not count, and
// neither do ones with only blanks and comments before them.
func Complete(src string) bool {
	toks, err := lexAll(src, len(src), ast.Pos{Line: 1, Column: 1})
	if err != nil {
		// An unterminated string or comment goes on on the next line; a
		// stray character is an error the parser reports once it runs.
		return !strings.Contains(err.Msg, "has no closing")
	}
	semi := func(t token) bool { return t.kind == tPunct && t.text == ";" }
	n := len(toks) - 1 // toks ends with tEOF
	if n == 0 || !semi(toks[n-1]) {
		return false
	}
	for _, t := range toks[:n] {
		if !semi(t) {
			return true
		}
	}
	return false
}
