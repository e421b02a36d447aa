package expr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dateFormat is a Java SimpleDateFormat pattern ('yyyy-MM-dd HH:mm:ss')
// compiled once into tokens, to format and parse times without looking at
// the pattern again.
type dateFormat struct {
	toks []dfTok
}

// dfTok is a run of one pattern letter (letter != 0, n ≥ 1) or a literal.
type dfTok struct {
	letter byte
	n      int
	lit    string
}

// defaultDateFormat is Flink's default for TO_TIMESTAMP, UNIX_TIMESTAMP and
// FROM_UNIXTIME.
const defaultDateFormat = "yyyy-MM-dd HH:mm:ss"

const dfLetters = "GyYMLdDEuaHkKhmsSzZX"

// compileDateFormat compiles a SimpleDateFormat pattern. Letters: G y Y M
// L d D E u a H k K h m s S z Z X; text in single quotes is literal, and two
// single quotes make one. Other letters are refused, naming them. S is the
// fraction of the second (SSS milliseconds, SSSSSS microseconds), as in
// java.time's DateTimeFormatter, which Flink uses.
func compileDateFormat(p string) (*dateFormat, error) {
	var f dateFormat
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.toks = append(f.toks, dfTok{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(p); {
		c := p[i]
		switch {
		case c == '\'':
			if i+1 < len(p) && p[i+1] == '\'' {
				lit.WriteByte('\'')
				i += 2
				continue
			}
			j := i + 1
			for ; j < len(p); j++ {
				if p[j] == '\'' {
					if j+1 < len(p) && p[j+1] == '\'' {
						lit.WriteByte('\'')
						j++
						continue
					}
					break
				}
				lit.WriteByte(p[j])
			}
			if j >= len(p) {
				return nil, fmt.Errorf("date format %s has an unclosed quote", quote(p))
			}
			i = j + 1
		case (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
			if !strings.ContainsRune(dfLetters, rune(c)) {
				return nil, fmt.Errorf("date format %s: pattern letter %q is not supported (use %s, or quote literal text)", quote(p), c, dfLetters)
			}
			j := i
			for j < len(p) && p[j] == c {
				j++
			}
			flush()
			f.toks = append(f.toks, dfTok{letter: c, n: j - i})
			i = j
		default:
			lit.WriteByte(c)
			i++
		}
	}
	flush()
	return &f, nil
}

func pad(b []byte, v, n int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	s := strconv.Itoa(v)
	for i := len(s); i < n; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// format formats t (already in the zone to show).
func (f *dateFormat) format(t time.Time) string {
	b := make([]byte, 0, 32)
	for _, k := range f.toks {
		switch k.letter {
		case 0:
			b = append(b, k.lit...)
		case 'G':
			b = append(b, "AD"...)
		case 'y', 'Y':
			if k.n == 2 {
				b = pad(b, t.Year()%100, 2)
			} else {
				b = pad(b, t.Year(), k.n)
			}
		case 'M', 'L':
			switch {
			case k.n >= 4:
				b = append(b, t.Month().String()...)
			case k.n == 3:
				b = append(b, t.Month().String()[:3]...)
			default:
				b = pad(b, int(t.Month()), k.n)
			}
		case 'd':
			b = pad(b, t.Day(), k.n)
		case 'D':
			b = pad(b, t.YearDay(), k.n)
		case 'E':
			if k.n >= 4 {
				b = append(b, t.Weekday().String()...)
			} else {
				b = append(b, t.Weekday().String()[:3]...)
			}
		case 'u':
			d := int(t.Weekday())
			if d == 0 {
				d = 7
			}
			b = pad(b, d, k.n)
		case 'a':
			if t.Hour() < 12 {
				b = append(b, "AM"...)
			} else {
				b = append(b, "PM"...)
			}
		case 'H':
			b = pad(b, t.Hour(), k.n)
		case 'k':
			h := t.Hour()
			if h == 0 {
				h = 24
			}
			b = pad(b, h, k.n)
		case 'K':
			b = pad(b, t.Hour()%12, k.n)
		case 'h':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			b = pad(b, h, k.n)
		case 'm':
			b = pad(b, t.Minute(), k.n)
		case 's':
			b = pad(b, t.Second(), k.n)
		case 'S':
			// The fraction of the second to n digits, as java.time's
			// DateTimeFormatter (Flink's) writes it: S is tenths, SSS millis.
			frac := strconv.Itoa(1e9 + t.Nanosecond())[1:]
			for len(frac) < k.n {
				frac += "0"
			}
			b = append(b, frac[:k.n]...)
		case 'z':
			name, _ := t.Zone()
			b = append(b, name...)
		case 'Z':
			b = appendOffset(b, t, false, false)
		case 'X':
			b = appendOffset(b, t, k.n >= 3, k.n == 1)
		}
	}
	return string(b)
}

func appendOffset(b []byte, t time.Time, colon, hoursOnly bool) []byte {
	_, off := t.Zone()
	if off == 0 && (colon || hoursOnly) {
		return append(b, 'Z')
	}
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b = append(b, sign)
	b = pad(b, off/3600, 2)
	if hoursOnly {
		return b
	}
	if colon {
		b = append(b, ':')
	}
	return pad(b, off/60%60, 2)
}

// parse reads s by the pattern and returns the wall clock it names in
// milliseconds as if UTC, and the zone offset in seconds when the text had
// one. Fields left out default to 1970-01-01 00:00:00.
func (f *dateFormat) parse(s string) (wall int64, off int, hasOff bool, ok bool) {
	year, month, day, hour, minute, sec, milli := 1970, 1, 1, 0, 0, 0, 0
	pm, twelve := -1, false
	numeric := func(k dfTok) bool {
		return k.letter != 0 && strings.IndexByte("yYdDuHkKhmsS", k.letter) >= 0 ||
			(k.letter == 'M' || k.letter == 'L') && k.n < 3
	}
	for i, k := range f.toks {
		if k.letter == 0 {
			if !strings.HasPrefix(s, k.lit) {
				return 0, 0, false, false
			}
			s = s[len(k.lit):]
			continue
		}
		if numeric(k) {
			limit := 10
			if i+1 < len(f.toks) {
				next := f.toks[i+1]
				if numeric(next) || next.letter == 0 && next.lit[0] >= '0' && next.lit[0] <= '9' {
					limit = k.n // adjacent numbers: yyyyMMdd, or a digit after
				}
			}
			j := 0
			neg := false
			if k.letter == 'y' && len(s) > 0 && s[0] == '-' {
				neg, s = true, s[1:]
			}
			for j < len(s) && j < limit && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j == 0 {
				return 0, 0, false, false
			}
			v, _ := strconv.Atoi(s[:j])
			s = s[j:]
			if neg {
				v = -v
			}
			switch k.letter {
			case 'y', 'Y':
				if k.n == 2 && j == 2 {
					v += 2000
				}
				year = v
			case 'M', 'L':
				month = v
			case 'd':
				day = v
			case 'H', 'k':
				hour = v % 24
			case 'K', 'h':
				hour, twelve = v%12, true
			case 'm':
				minute = v
			case 's':
				sec = v
			case 'S':
				milli = v // a fraction of the second: scale its j digits to 3
				for d := j; d > 3; d-- {
					milli /= 10
				}
				for d := j; d < 3; d++ {
					milli *= 10
				}
			}
			continue
		}
		switch k.letter {
		case 'M', 'L':
			m, n := parseName(s, monthNames[:])
			if m < 0 {
				return 0, 0, false, false
			}
			month, s = m+1, s[n:]
		case 'E':
			d, n := parseName(s, dayNames[:])
			if d < 0 {
				return 0, 0, false, false
			}
			s = s[n:]
		case 'a':
			switch {
			case len(s) >= 2 && strings.EqualFold(s[:2], "AM"):
				pm = 0
			case len(s) >= 2 && strings.EqualFold(s[:2], "PM"):
				pm = 1
			default:
				return 0, 0, false, false
			}
			s = s[2:]
		case 'G':
			if len(s) < 2 || !strings.EqualFold(s[:2], "AD") {
				return 0, 0, false, false
			}
			s = s[2:]
		case 'z', 'Z', 'X':
			o, n, good := parseOffset(s)
			if !good {
				return 0, 0, false, false
			}
			off, hasOff, s = o, true, s[n:]
		}
	}
	if s != "" {
		return 0, 0, false, false
	}
	if pm == 1 && twelve {
		hour += 12
	}
	if month < 1 || month > 12 || day < 1 || day > 31 || minute > 59 || sec > 59 {
		return 0, 0, false, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, milli*1e6, time.UTC)
	if t.Day() != day {
		return 0, 0, false, false // 31 April
	}
	return t.UnixMilli(), off, hasOff, true
}

var monthNames = [...]string{"January", "February", "March", "April", "May", "June", "July",
	"August", "September", "October", "November", "December"}

var dayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

// parseName matches a full or three-letter name at the start of s.
func parseName(s string, names []string) (int, int) {
	for i, n := range names {
		if len(s) >= len(n) && strings.EqualFold(s[:len(n)], n) {
			return i, len(n)
		}
	}
	for i, n := range names {
		if len(s) >= 3 && strings.EqualFold(s[:3], n[:3]) {
			return i, 3
		}
	}
	return -1, 0
}

// parseOffset reads Z, UTC, GMT or ±hh[[:]mm] at the start of s.
func parseOffset(s string) (off, n int, ok bool) {
	switch {
	case strings.HasPrefix(s, "Z"):
		return 0, 1, true
	case strings.HasPrefix(s, "UTC"), strings.HasPrefix(s, "GMT"):
		return 0, 3, true
	}
	if len(s) < 3 || (s[0] != '+' && s[0] != '-') {
		return 0, 0, false
	}
	h, err := strconv.Atoi(s[1:3])
	if err != nil {
		return 0, 0, false
	}
	n, m := 3, 0
	rest := s[3:]
	if strings.HasPrefix(rest, ":") {
		rest, n = rest[1:], n+1
	}
	if len(rest) >= 2 {
		if v, err := strconv.Atoi(rest[:2]); err == nil {
			m, n = v, n+2
		}
	}
	off = h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, n, true
}
