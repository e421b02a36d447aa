package expr

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/weirstream/weir/sql/types"
)

// likeOracle is LIKE by its definition, a naive recursive matcher over
// characters, to check the compiled matchers against.
func likeOracle(s, p []rune, esc rune) bool {
	if len(p) == 0 {
		return len(s) == 0
	}
	switch {
	case esc != 0 && p[0] == esc:
		return len(p) > 1 && len(s) > 0 && s[0] == p[1] && likeOracle(s[1:], p[2:], esc)
	case p[0] == '%':
		for i := 0; i <= len(s); i++ {
			if likeOracle(s[i:], p[1:], esc) {
				return true
			}
		}
		return false
	case p[0] == '_':
		return len(s) > 0 && likeOracle(s[1:], p[1:], esc)
	}
	return len(s) > 0 && s[0] == p[0] && likeOracle(s[1:], p[1:], esc)
}

// FuzzLike checks that a compiled LIKE pattern, whatever its fast path,
// agrees with the definition, and that no pattern makes it panic. A pattern
// with a bad escape must be refused rather than matched.
func FuzzLike(f *testing.F) {
	for _, seed := range [][3]string{
		{"abc", "a%", ""}, {"abc", "%b%", ""}, {"a.c", "a.c", ""}, {"100%", "100!%", "!"},
		{"mississippi", "m%ss_pp%", ""}, {"héllo", "h_llo", ""}, {"a\\b", "a\\\\b", "\\"},
		{"x^y$", "_^_$", ""}, {"", "%%", ""}, {"ab", "a!", "!"},
	} {
		f.Add(seed[0], seed[1], seed[2])
	}
	f.Fuzz(func(t *testing.T, s, pattern, escape string) {
		if !utf8.ValidString(s) || !utf8.ValidString(pattern) || utf8.RuneCountInString(escape) > 1 || len(pattern) > 64 || len(s) > 64 {
			return
		}
		var esc rune
		if escape != "" {
			esc = []rune(escape)[0]
		}
		m, err := compileLike(pattern, esc)
		if err != nil {
			if esc == 0 || !strings.ContainsRune(pattern, esc) {
				t.Fatalf("pattern %q escape %q refused: %v", pattern, escape, err)
			}
			return
		}
		want := likeOracle([]rune(s), []rune(pattern), esc)
		if got := m(s); got != want {
			t.Fatalf("%q LIKE %q ESCAPE %q = %v, want %v", s, pattern, escape, got, want)
		}
	})
}

// FuzzCast casts any string to every kind: it never panics, and TRY_CAST is
// NULL exactly where CAST fails.
func FuzzCast(f *testing.F) {
	for _, s := range []string{"42", " -7 ", "1.5", "1e400", "12.345", "true", "2026-03-14 15:09:26.5",
		"2026-02-30", "9223372036854775808", "-", ".", "NaN", "Infinity"} {
		f.Add(s)
	}
	targets := []types.Type{types.BooleanType, types.IntType, types.BigIntType, types.DoubleType,
		types.DecimalType(18, 4), types.DecimalType(3, 0), types.TimestampType, types.TimestampLTZType, types.StringType}
	x := NewColumn(0, "s", types.StringType)
	var casts, tries []*Evaluator
	for _, to := range targets {
		c, _ := Compile(mk(NewCast(x, to, false)), CompileEnv{})
		tc, _ := Compile(mk(NewCast(x, to, true)), CompileEnv{})
		casts, tries = append(casts, c), append(tries, tc)
	}
	f.Fuzz(func(t *testing.T, s string) {
		row := []types.Value{types.StringValue(s)}
		for i := range casts {
			v, err := casts[i].Eval(row)
			tv, terr := tries[i].Eval(row)
			if terr != nil {
				t.Fatalf("%s: %v", tries[i], terr)
			}
			if (err != nil) != tv.IsNull() || (err == nil && v != tv) {
				t.Fatalf("%q: %s = %v, %v but %s = %v", s, casts[i], v, err, tries[i], tv)
			}
			if err == nil && targets[i].Kind != types.String {
				// What converted formats back and converts to the same value.
				back := formatValue(v, targets[i], nil)
				v2, err := casts[i].Eval([]types.Value{types.StringValue(back)})
				if err != nil || v2 != v {
					t.Fatalf("%q → %s → %q → %v, %v", s, v, back, v2, err)
				}
			}
		}
	})
}

// FuzzDateFormat compiles any pattern and parses any text with it: it never
// panics, and a time formatted by a pattern of numeric fields separated by
// literals that do not start with a digit parses back to the same text.
func FuzzDateFormat(f *testing.F) {
	for _, seed := range [][2]string{
		{"yyyy-MM-dd HH:mm:ss", "2026-03-14 15:09:26"}, {"yyyyMMddHHmmssSSS", "20260314150926535"},
		{"EEE, d MMM yyyy h:mm a Z", "Sat, 14 Mar 2026 3:09 PM +0100"}, {"'T'''XXX", "T'+08:00"},
		{"yy-M-d k K", "26-3-4 24 11"}, {"D u G z", "73 6 AD UTC"},
	} {
		f.Add(seed[0], seed[1], int64(1773500966535))
	}
	f.Fuzz(func(t *testing.T, pattern, text string, ms int64) {
		df, err := compileDateFormat(pattern)
		if err != nil {
			return
		}
		df.parse(text)
		tm := time.UnixMilli(ms % (400 * 365 * 24 * 3600 * 1000)).UTC()
		s := df.format(tm)
		seen := map[byte]bool{}
		for i, k := range df.toks {
			if k.letter != 0 && seen[k.letter] {
				return // a field given twice: the last one wins
			}
			seen[k.letter] = k.letter != 0
			if k.letter != 0 && !strings.ContainsRune("yMdHmsS", rune(k.letter)) || k.letter == 'y' && k.n == 2 || k.n >= 3 && k.letter == 'M' {
				return // text fields and two-digit years do not round-trip
			}
			if k.letter != 0 && i+1 < len(df.toks) && (df.toks[i+1].letter != 0 || strings.ContainsAny(df.toks[i+1].lit[:1], "0123456789")) {
				return // adjacent numbers need fixed widths, which the pattern may not give
			}
		}
		wall, _, _, ok := df.parse(s)
		if ok && df.format(time.UnixMilli(wall).UTC()) != s {
			t.Fatalf("pattern %q: %v formats as %q, which parses as %v", pattern, tm, s, time.UnixMilli(wall).UTC())
		}
	})
}
