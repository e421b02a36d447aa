package parser

import (
	"strings"
	"unicode/utf8"

	"github.com/weirstream/weir/sql/ast"
)

// tokenKind is the kind of a token.
type tokenKind uint8

const (
	tEOF    tokenKind = iota
	tWord             // a bare word: a keyword or an identifier
	tQuoted           // a `quoted` identifier; text is the name
	tString           // a 'string'; text is its value
	tNumber           // a number as written
	tPunct            // an operator or punctuation; text is it
)

// token is one token; pos is where it starts and end the offset after it.
type token struct {
	kind tokenKind
	text string
	pos  ast.Pos
	end  int
}

// lexer turns src, from a position up to end, into tokens. Positions
// count from the start of src, so that the statements of a script report
// where they are in it.
type lexer struct {
	src       string
	end       int
	off       int
	line, col int
}

func newLexer(src string, end int, at ast.Pos) *lexer {
	return &lexer{src: src, end: end, off: at.Offset, line: at.Line, col: at.Column}
}

func (l *lexer) pos() ast.Pos { return ast.Pos{Offset: l.off, Line: l.line, Column: l.col} }

// advance moves past n bytes, counting lines.
func (l *lexer) advance(n int) {
	for i := 0; i < n; i++ {
		if l.src[l.off] == '\n' {
			l.line++
			l.col = 1
		} else {
			l.col++
		}
		l.off++
	}
}

func (l *lexer) peekByte(k int) byte {
	if l.off+k < l.end {
		return l.src[l.off+k]
	}
	return 0
}

// skipSpace skips blanks and comments; it fails on an unterminated
// block comment.
func (l *lexer) skipSpace() *Error {
	for l.off < l.end {
		c := l.src[l.off]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			l.advance(1)
		case c == '-' && l.peekByte(1) == '-':
			for l.off < l.end && l.src[l.off] != '\n' {
				l.advance(1)
			}
		case c == '/' && l.peekByte(1) == '*':
			at := l.pos()
			i := strings.Index(l.src[l.off+2:l.end], "*/")
			if i < 0 {
				return errorAt(l.src, at, "the comment that starts here has no closing */")
			}
			l.advance(i + 4)
		default:
			return nil
		}
	}
	return nil
}

// next returns the next token.
func (l *lexer) next() (token, *Error) {
	if err := l.skipSpace(); err != nil {
		return token{}, err
	}
	at := l.pos()
	if l.off >= l.end {
		return token{kind: tEOF, pos: at, end: l.off}, nil
	}
	c := l.src[l.off]
	switch {
	case c == '\'':
		return l.quoted('\'', tString, at, "string", "'")
	case c == '`':
		return l.quoted('`', tQuoted, at, "quoted name", "`")
	case c >= '0' && c <= '9' || c == '.' && isDigit(l.peekByte(1)):
		return l.number(at)
	case c < utf8.RuneSelf && ast.IsIdentStart(rune(c)) || c >= utf8.RuneSelf:
		r, n := utf8.DecodeRuneInString(l.src[l.off:l.end])
		if !ast.IsIdentStart(r) {
			return token{}, errorAt(l.src, at, "unexpected character "+quoteRune(r))
		}
		start := l.off
		l.advance(n)
		for l.off < l.end {
			r, n := utf8.DecodeRuneInString(l.src[l.off:l.end])
			if !ast.IsIdentPart(r) {
				break
			}
			l.advance(n)
		}
		return token{kind: tWord, text: l.src[start:l.off], pos: at, end: l.off}, nil
	}
	for _, op := range [...]string{"<>", "<=", ">=", "!=", "||", "=>"} {
		if strings.HasPrefix(l.src[l.off:l.end], op) {
			l.advance(2)
			return token{kind: tPunct, text: op, pos: at, end: l.off}, nil
		}
	}
	if strings.IndexByte("(),;.*+-/%=<>[]?:", c) >= 0 {
		l.advance(1)
		return token{kind: tPunct, text: string(c), pos: at, end: l.off}, nil
	}
	if c == '"' {
		return token{}, errorAt(l.src, at, `unexpected character '"': write strings in single quotes ('text') and quote names with backquotes (`+"`name`)")
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:l.end])
	return token{}, errorAt(l.src, at, "unexpected character "+quoteRune(r))
}

func quoteRune(r rune) string {
	if r == utf8.RuneError {
		return "(invalid UTF-8)"
	}
	if r < ' ' || r == 0x7f {
		return "(control character)"
	}
	return "'" + string(r) + "'"
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// quoted reads a string or quoted name; a doubled quote stands for one.
func (l *lexer) quoted(q byte, kind tokenKind, at ast.Pos, what, closing string) (token, *Error) {
	l.advance(1)
	var b strings.Builder
	for {
		i := strings.IndexByte(l.src[l.off:l.end], q)
		if i < 0 {
			return token{}, errorAt(l.src, at, "the "+what+" that starts here has no closing "+closing)
		}
		b.WriteString(l.src[l.off : l.off+i])
		l.advance(i + 1)
		if l.peekByte(0) == q {
			b.WriteByte(q)
			l.advance(1)
			continue
		}
		break
	}
	if kind == tQuoted && b.Len() == 0 {
		return token{}, errorAt(l.src, at, "a quoted name must not be empty")
	}
	return token{kind: kind, text: b.String(), pos: at, end: l.off}, nil
}

// number reads digits [. digits] [e [+-] digits].
func (l *lexer) number(at ast.Pos) (token, *Error) {
	start := l.off
	for isDigit(l.peekByte(0)) {
		l.advance(1)
	}
	if l.peekByte(0) == '.' && isDigit(l.peekByte(1)) || l.peekByte(0) == '.' && l.off > start {
		l.advance(1)
		for isDigit(l.peekByte(0)) {
			l.advance(1)
		}
	}
	if c := l.peekByte(0); c == 'e' || c == 'E' {
		k := 1
		if s := l.peekByte(1); s == '+' || s == '-' {
			k = 2
		}
		if !isDigit(l.peekByte(k)) {
			return token{}, errorAt(l.src, l.pos(), "expected the digits of the exponent of the number")
		}
		l.advance(k)
		for isDigit(l.peekByte(0)) {
			l.advance(1)
		}
	}
	if c := l.peekByte(0); c < utf8.RuneSelf && ast.IsIdentStart(rune(c)) {
		return token{}, errorAt(l.src, l.pos(), "expected a space or an operator after the number "+l.src[start:l.off])
	}
	return token{kind: tNumber, text: l.src[start:l.off], pos: at, end: l.off}, nil
}
