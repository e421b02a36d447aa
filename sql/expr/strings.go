package expr

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/weirstream/weir/sql/types"
)

func strFn(name string, f func(string) string) spec {
	return spec{
		name: name, params: []param{pStr}, result: fixed(types.StringType),
		impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
			return s1(a[0], func(x types.Value) (types.Value, error) { return types.StringValue(f(x.Str())), nil }), nil
		},
	}
}

// trimFn is TRIM, LTRIM or RTRIM of s, of spaces or of the characters of
// an optional second argument.
func trimFn(name string, left, right bool) spec {
	return spec{
		name: name, params: []param{pStr, pStr}, optional: 1, result: fixed(types.StringType),
		impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
			do := func(s, cut string) string {
				if left {
					s = strings.TrimLeft(s, cut)
				}
				if right {
					s = strings.TrimRight(s, cut)
				}
				return s
			}
			if len(a) == 1 {
				return s1(a[0], func(x types.Value) (types.Value, error) { return types.StringValue(do(x.Str(), " ")), nil }), nil
			}
			return s2(a[0], a[1], func(x, c types.Value) (types.Value, error) { return types.StringValue(do(x.Str(), c.Str())), nil }), nil
		},
	}
}

func stringBuiltins() []spec {
	charLength := func(name string) spec {
		return spec{
			name: name, params: []param{pStr}, result: fixed(types.IntType),
			impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
				return s1(a[0], func(x types.Value) (types.Value, error) {
					return types.IntValue(int64(utf8.RuneCountInString(x.Str()))), nil
				}), nil
			},
		}
	}
	hash := func(name string, sum func([]byte) []byte) spec {
		return strFn(name, func(s string) string { return hex.EncodeToString(sum([]byte(s))) })
	}
	return []spec{
		strFn("LOWER", strings.ToLower), strFn("UPPER", strings.ToUpper), strFn("INITCAP", initcap),
		strFn("REVERSE", reverse),
		charLength("CHAR_LENGTH"), charLength("CHARACTER_LENGTH"),
		trimFn("TRIM", true, true), trimFn("LTRIM", true, false), trimFn("RTRIM", false, true),
		hash("MD5", func(b []byte) []byte { s := md5.Sum(b); return s[:] }),
		hash("SHA1", func(b []byte) []byte { s := sha1.Sum(b); return s[:] }),
		hash("SHA256", func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }),
		{
			name: "SUBSTRING", params: []param{pStr, pInt, pInt}, optional: 1, result: fixed(types.StringType),
			impl: substringImpl,
		},
		{
			name: "SUBSTR", params: []param{pStr, pInt, pInt}, optional: 1, result: fixed(types.StringType),
			impl: substringImpl,
		},
		{
			// REPLACE(s, from, to) replaces every from by to; an empty from
			// leaves s as it is.
			name: "REPLACE", params: []param{pStr, pStr, pStr}, result: fixed(types.StringType),
			impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
				return s3(a[0], a[1], a[2], func(s, from, to types.Value) (types.Value, error) {
					if from.Str() == "" {
						return s, nil
					}
					return types.StringValue(strings.ReplaceAll(s.Str(), from.Str(), to.Str())), nil
				}), nil
			},
		},
		{
			// CONCAT is NULL if any argument is.
			name: "CONCAT", params: []param{pStr}, variadic: true, result: fixed(types.StringType),
			impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
				return sN(a, func(vs []types.Value) (types.Value, error) {
					var b strings.Builder
					for _, v := range vs {
						b.WriteString(v.Str())
					}
					return types.StringValue(b.String()), nil
				}), nil
			},
		},
		{
			// CONCAT_WS(sep, …) skips NULL arguments; a NULL sep gives NULL.
			name: "CONCAT_WS", params: []param{pStr, pStr}, optional: 1, variadic: true, result: fixed(types.StringType),
			impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
				fns := argFns(a)
				return func(row []types.Value) (types.Value, error) {
					sep, err := fns[0](row)
					if err != nil || sep.IsNull() {
						return types.Null, err
					}
					var b strings.Builder
					first := true
					for _, f := range fns[1:] {
						v, err := f(row)
						if err != nil {
							return types.Null, err
						}
						if v.IsNull() {
							continue
						}
						if !first {
							b.WriteString(sep.Str())
						}
						first = false
						b.WriteString(v.Str())
					}
					return types.StringValue(b.String()), nil
				}, nil
			},
		},
		{
			// POSITION(sub IN s) is the 1-based character position of sub
			// in s, 0 if absent.
			name: "POSITION", params: []param{pStr, pStr}, result: fixed(types.IntType),
			impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
				return s2(a[0], a[1], func(sub, s types.Value) (types.Value, error) {
					return types.IntValue(locate(sub.Str(), s.Str(), 1)), nil
				}), nil
			},
		},
		{
			// LOCATE(sub, s[, from]) is POSITION starting at character from.
			name: "LOCATE", params: []param{pStr, pStr, pInt}, optional: 1, result: fixed(types.IntType),
			impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
				if len(a) == 2 {
					return s2(a[0], a[1], func(sub, s types.Value) (types.Value, error) {
						return types.IntValue(locate(sub.Str(), s.Str(), 1)), nil
					}), nil
				}
				return s3(a[0], a[1], a[2], func(sub, s, from types.Value) (types.Value, error) {
					return types.IntValue(locate(sub.Str(), s.Str(), from.Int())), nil
				}), nil
			},
		},
		padSpec("LPAD", true), padSpec("RPAD", false),
		{
			// SPLIT_INDEX(s, sep, i) is the i-th (0-based) field of s split
			// at sep, empty fields kept; NULL when out of range.
			name: "SPLIT_INDEX", params: []param{pStr, pStr, pInt}, result: fixed(types.StringType),
			impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
				return s3(a[0], a[1], a[2], func(s, sep, i types.Value) (types.Value, error) {
					return splitIndex(s.Str(), sep.Str(), i.Int()), nil
				}), nil
			},
		},
		{
			name: "REPEAT", params: []param{pStr, pInt}, result: fixed(types.StringType),
			impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
				return s2(a[0], a[1], func(s, n types.Value) (types.Value, error) {
					k := n.Int()
					if k <= 0 {
						return types.StringValue(""), nil
					}
					if k > maxBuiltString || int64(len(s.Str()))*k > maxBuiltString {
						return types.Null, fmt.Errorf("REPEAT would build a string over %d bytes", maxBuiltString)
					}
					return types.StringValue(strings.Repeat(s.Str(), int(k))), nil
				}), nil
			},
		},
		regexpSpec("REGEXP", 2, 0, fixed(types.BooleanType), func(re *regexp.Regexp, s, _ types.Value, _ bool) types.Value {
			return types.BoolValue(re.MatchString(s.Str()))
		}),
		regexpSpec("REGEXP_EXTRACT", 2, 1, fixed(types.StringType), func(re *regexp.Regexp, s, group types.Value, has bool) types.Value {
			g := int64(0) // Flink's default group is the whole match
			if has {
				g = group.Int()
			}
			if g < 0 || g > int64(re.NumSubexp()) {
				return types.Null
			}
			m := re.FindStringSubmatchIndex(s.Str())
			if m == nil || m[2*g] < 0 {
				return types.Null
			}
			return types.StringValue(s.Str()[m[2*g]:m[2*g+1]])
		}),
		regexpSpec("REGEXP_REPLACE", 3, 0, fixed(types.StringType), func(re *regexp.Regexp, s, repl types.Value, _ bool) types.Value {
			return types.StringValue(re.ReplaceAllString(s.Str(), javaReplacement(repl.Str())))
		}),
	}
}

// maxBuiltString bounds the strings REPEAT and the paddings build from one
// record, so that a bad value cannot exhaust memory.
const maxBuiltString = 1 << 20

func substringImpl(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
	if len(a) == 2 {
		return s2(a[0], a[1], func(s, pos types.Value) (types.Value, error) {
			return substring(s.Str(), pos.Int(), -1, false), nil
		}), nil
	}
	return s3(a[0], a[1], a[2], func(s, pos, n types.Value) (types.Value, error) {
		return substring(s.Str(), pos.Int(), n.Int(), true), nil
	}), nil
}

// substring is SQL's 1-based SUBSTRING with Flink's rules (its
// substringSQL): position 0 is 1, a negative position counts from the end,
// a start outside the string gives the empty string and a negative length
// NULL.
func substring(s string, pos, n int64, hasLen bool) types.Value {
	if hasLen && n < 0 {
		return types.Null
	}
	total := int64(utf8.RuneCountInString(s))
	var start int64
	switch {
	case pos > 0:
		start = pos - 1
	case pos < 0:
		start = total + pos
	}
	if start < 0 || start >= total {
		return types.StringValue("")
	}
	end := total
	if hasLen && n < total-start {
		end = start + n
	}
	if total == int64(len(s)) { // ASCII: no rune decoding
		return types.StringValue(s[start:end])
	}
	rs := []rune(s)
	return types.StringValue(string(rs[start:end]))
}

func locate(sub, s string, from int64) int64 {
	if from < 1 {
		return 0
	}
	rs := []rune(s)
	if from-1 > int64(len(rs)) {
		return 0
	}
	rest := string(rs[from-1:])
	i := strings.Index(rest, sub)
	if i < 0 {
		return 0
	}
	return from + int64(utf8.RuneCountInString(rest[:i]))
}

func padSpec(name string, left bool) spec {
	return spec{
		// LPAD/RPAD(s, n, pad): s padded to n characters, or cut to n;
		// NULL for a negative n or an empty pad that would be needed.
		name: name, params: []param{pStr, pInt, pStr}, result: fixed(types.StringType),
		impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
			return s3(a[0], a[1], a[2], func(s, n, pad types.Value) (types.Value, error) {
				k := n.Int()
				if k < 0 {
					return types.Null, nil
				}
				if k > maxBuiltString {
					return types.Null, fmt.Errorf("%s to %d characters: over the limit of %d", name, k, maxBuiltString)
				}
				rs, ps := []rune(s.Str()), []rune(pad.Str())
				if int64(len(rs)) >= k {
					return types.StringValue(string(rs[:k])), nil
				}
				if len(ps) == 0 {
					return types.Null, nil
				}
				fill := make([]rune, 0, k-int64(len(rs)))
				for int64(len(fill)) < k-int64(len(rs)) {
					fill = append(fill, ps[len(fill)%len(ps)])
				}
				if left {
					return types.StringValue(string(fill) + string(rs)), nil
				}
				return types.StringValue(string(rs) + string(fill)), nil
			}), nil
		},
	}
}

func splitIndex(s, sep string, i int64) types.Value {
	if i < 0 {
		return types.Null
	}
	var parts []string
	if sep == "" {
		parts = []string{s}
	} else {
		parts = strings.Split(s, sep)
	}
	if i >= int64(len(parts)) {
		return types.Null
	}
	return types.StringValue(parts[i])
}

func initcap(s string) string {
	var b strings.Builder
	start := true
	for _, r := range s {
		if unicode.IsSpace(r) {
			start = true
			b.WriteRune(r)
			continue
		}
		if start {
			b.WriteRune(unicode.ToUpper(r))
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
		start = false
	}
	return b.String()
}

func reverse(s string) string {
	rs := []rune(s)
	for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
		rs[i], rs[j] = rs[j], rs[i]
	}
	return string(rs)
}

// compileRegexp compiles a Java-style regular expression with Go's RE2,
// refusing what RE2 cannot do (backreferences, lookaround, possessive
// quantifiers) with a message that says so.
func compileRegexp(fn, pattern string) (*regexp.Regexp, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s: regular expression %s is not supported: weir uses RE2 syntax, which has no backreferences, lookahead/lookbehind or possessive quantifiers (%v)", fn, quote(pattern), err)
	}
	return re, nil
}

// javaReplacement turns Java's replacement syntax ($1, \$) into Go's
// (${1}, $$).
func javaReplacement(r string) string {
	if !strings.ContainsAny(r, `$\`) {
		return r
	}
	var b strings.Builder
	for i := 0; i < len(r); i++ {
		switch c := r[i]; {
		case c == '\\' && i+1 < len(r):
			i++
			if r[i] == '$' {
				b.WriteString("$$")
			} else {
				b.WriteByte(r[i])
			}
		case c == '$':
			j := i + 1
			for j < len(r) && r[j] >= '0' && r[j] <= '9' {
				j++
			}
			if j == i+1 {
				b.WriteString("$$")
				continue
			}
			b.WriteString("${" + r[i+1:j] + "}")
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// regexpSpec declares a function whose second argument is a regular
// expression: compiled once when it is a literal, per row otherwise. f gets
// the string, the third argument and whether there is one.
func regexpSpec(name string, n, optional int, result func([]types.Type) types.Type, f func(re *regexp.Regexp, s, third types.Value, hasThird bool) types.Value) spec {
	params := []param{pStr, pStr, pStr}[:n]
	if optional > 0 {
		params = append(params, pInt)
	}
	return spec{
		name: name, params: params, optional: optional, result: result,
		impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
			if a[1].konst {
				if a[1].val.IsNull() {
					return nullC.fn, nil
				}
				re, err := compileRegexp(name, a[1].val.Str())
				if err != nil {
					return nil, err
				}
				if len(a) == 2 {
					return s1(a[0], func(s types.Value) (types.Value, error) { return f(re, s, types.Null, false), nil }), nil
				}
				return s2(a[0], a[2], func(s, x types.Value) (types.Value, error) { return f(re, s, x, true), nil }), nil
			}
			per := func(s, p, x types.Value, has bool) (types.Value, error) {
				re, err := compileRegexp(name, p.Str())
				if err != nil {
					return types.Null, err
				}
				return f(re, s, x, has), nil
			}
			if len(a) == 2 {
				return s2(a[0], a[1], func(s, p types.Value) (types.Value, error) { return per(s, p, types.Null, false) }), nil
			}
			return s3(a[0], a[1], a[2], func(s, p, x types.Value) (types.Value, error) { return per(s, p, x, true) }), nil
		},
	}
}
