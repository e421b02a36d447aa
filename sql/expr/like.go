package expr

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/weirstream/weir/sql/types"
)

// matcher is a compiled LIKE pattern.
type matcher func(s string) bool

// compileLike compiles a LIKE pattern once. Patterns made of one literal
// with % only at the ends become equality, prefix, suffix or substring
// tests; anything else becomes an anchored regular expression in which
// every literal character is quoted.
func compileLike(pattern string, esc rune) (matcher, error) {
	// Split the pattern into literal runs and wildcards.
	type tok struct {
		lit  string
		wild byte // '%', '_' or 0 for a literal
	}
	var toks []tok
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			toks = append(toks, tok{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(pattern); {
		r, n := utf8.DecodeRuneInString(pattern[i:])
		i += n
		switch {
		case esc != 0 && r == esc:
			if i >= len(pattern) {
				return nil, fmt.Errorf("expr: LIKE pattern %s ends with its escape character: escape a %%, _ or the escape itself", quote(pattern))
			}
			next, n := utf8.DecodeRuneInString(pattern[i:])
			if next != '%' && next != '_' && next != esc {
				return nil, fmt.Errorf("expr: LIKE pattern %s: the escape character must be followed by %%, _ or itself, not %q", quote(pattern), next)
			}
			i += n
			lit.WriteRune(next)
		case r == '%' || r == '_':
			flush()
			toks = append(toks, tok{wild: byte(r)})
		default:
			lit.WriteRune(r)
		}
	}
	flush()
	// Fast paths: at most one literal, % only at the ends.
	hasUnderscore, lits := false, 0
	for _, t := range toks {
		if t.wild == '_' {
			hasUnderscore = true
		}
		if t.wild == 0 {
			lits++
		}
	}
	if !hasUnderscore && lits <= 1 {
		var s string
		lead, trail := false, false
		seenLit := false
		for _, t := range toks {
			switch {
			case t.wild == 0:
				s, seenLit = t.lit, true
			case !seenLit:
				lead = true
			default:
				trail = true
			}
		}
		switch {
		case lits == 0 && lead:
			return func(string) bool { return true }, nil
		case !lead && !trail:
			return func(x string) bool { return x == s }, nil
		case !lead:
			return func(x string) bool { return strings.HasPrefix(x, s) }, nil
		case !trail:
			return func(x string) bool { return strings.HasSuffix(x, s) }, nil
		default:
			return func(x string) bool { return strings.Contains(x, s) }, nil
		}
	}
	var re strings.Builder
	re.WriteString(`(?s)\A`)
	for _, t := range toks {
		switch t.wild {
		case '%':
			re.WriteString(`.*`)
		case '_':
			re.WriteString(`.`)
		default:
			re.WriteString(regexp.QuoteMeta(t.lit))
		}
	}
	re.WriteString(`\z`)
	rx, err := regexp.Compile(re.String())
	if err != nil {
		return nil, fmt.Errorf("expr: LIKE pattern %s: %w", quote(pattern), err)
	}
	return rx.MatchString, nil
}

func like(n *Like, x, p cexpr) (evalFn, error) {
	not := n.Not
	if p.konst {
		if p.val.IsNull() {
			return nullC.fn, nil
		}
		m, err := compileLike(p.val.Str(), n.Escape)
		if err != nil {
			return nil, err
		}
		return s1(x, func(v types.Value) (types.Value, error) {
			return types.BoolValue(m(v.Str()) != not), nil
		}), nil
	}
	// A pattern computed per row is compiled per row; the last one is
	// kept per call site would need a lock, so each row pays.
	esc := n.Escape
	return s2(x, p, func(v, pat types.Value) (types.Value, error) {
		m, err := compileLike(pat.Str(), esc)
		if err != nil {
			return types.Null, err
		}
		return types.BoolValue(m(v.Str()) != not), nil
	}), nil
}
