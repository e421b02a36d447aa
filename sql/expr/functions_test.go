package expr

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/sql/types"
)

func TestFunctions(t *testing.T) {
	s := String
	n := Null(types.StringType)
	i := Int
	cases := []struct {
		name string
		args []Expr
		want string
	}{
		{"MOD", []Expr{Int(7), Int(-3)}, "1"},
		{"MOD", []Expr{BigInt(7), Int(0)}, "error: division by zero"},
		{"MOD", []Expr{dec("7.5", 3, 1), Int(2)}, "1.5"},
		{"ABS", []Expr{Int(-3)}, "3"},
		{"ABS", []Expr{Double(-1.5)}, "1.5"},
		{"ABS", []Expr{dec("-1.50", 3, 2)}, "1.50"},
		{"ABS", []Expr{BigInt(math.MinInt64)}, "error: numeric overflow"},
		{"FLOOR", []Expr{Double(-1.5)}, "-2.0"},
		{"CEIL", []Expr{Double(1.2)}, "2.0"},
		{"FLOOR", []Expr{dec("-1.25", 3, 2)}, "-2"},
		{"CEIL", []Expr{dec("1.25", 3, 2)}, "2"},
		{"CEIL", []Expr{dec("-1.25", 3, 2)}, "-1"},
		{"FLOOR", []Expr{Int(5)}, "5"},
		{"ROUND", []Expr{Double(2.5)}, "3.0"},
		{"ROUND", []Expr{Double(-2.5)}, "-3.0"},
		{"ROUND", []Expr{Double(3.14159), Int(2)}, "3.14"},
		{"ROUND", []Expr{dec("1.255", 5, 3), Int(2)}, "1.260"},
		{"ROUND", []Expr{BigInt(1250), Int(-2)}, "1300"},
		{"POWER", []Expr{Int(2), Int(10)}, "1024.0"},
		{"SQRT", []Expr{Int(16)}, "4.0"},
		{"SQRT", []Expr{Int(-1)}, "NaN"},
		{"LN", []Expr{Double(math.E)}, "1.0"},
		{"LOG10", []Expr{Int(1000)}, "3.0"},
		{"LOG2", []Expr{Int(8)}, "3.0"},
		{"LOG", []Expr{Int(2), Int(8)}, "3.0"},
		{"EXP", []Expr{Int(0)}, "1.0"},
		{"LOWER", []Expr{s("AbC")}, "abc"},
		{"UPPER", []Expr{s("abc1é")}, "ABC1É"},
		{"UPPER", []Expr{n}, "NULL"},
		{"INITCAP", []Expr{s("hello wORLD  x")}, "Hello World  X"},
		{"CHAR_LENGTH", []Expr{s("héllo")}, "5"},
		{"CHARACTER_LENGTH", []Expr{s("")}, "0"},
		{"TRIM", []Expr{s("  a b  ")}, "a b"},
		{"LTRIM", []Expr{s("  a  ")}, "a  "},
		{"RTRIM", []Expr{s("  a  ")}, "  a"},
		{"TRIM", []Expr{s("xxaxx"), s("x")}, "a"},
		{"SUBSTRING", []Expr{s("hello"), i(2)}, "ello"},
		{"SUBSTRING", []Expr{s("hello"), i(2), i(3)}, "ell"},
		{"SUBSTRING", []Expr{s("hello"), i(0), i(2)}, "he"},
		{"SUBSTRING", []Expr{s("hello"), i(-3)}, "llo"},
		{"SUBSTRING", []Expr{s("hello"), i(-3), i(2)}, "ll"},
		{"SUBSTRING", []Expr{s("hello"), i(-10), i(2)}, ""},
		{"SUBSTRING", []Expr{s("hello"), i(-5), i(2)}, "he"},
		{"SUBSTRING", []Expr{s("hello"), i(2), i(0)}, ""},
		{"SUBSTRING", []Expr{s("hello"), i(6)}, ""},
		{"SUBSTRING", []Expr{s("hello"), i(2), i(-1)}, "NULL"},
		{"SUBSTRING", []Expr{s("hello"), i(4), i(10)}, "lo"},
		{"SUBSTRING", []Expr{s("héllo"), i(2), i(2)}, "él"},
		{"SUBSTR", []Expr{s("hello"), BigInt(2), i(1)}, "e"},
		{"REPLACE", []Expr{s("a-b-c"), s("-"), s("+")}, "a+b+c"},
		{"REPLACE", []Expr{s("abc"), s(""), s("+")}, "abc"},
		{"CONCAT", []Expr{s("a"), s("b"), s("c")}, "abc"},
		{"CONCAT", []Expr{s("a"), n}, "NULL"},
		{"CONCAT_WS", []Expr{s(","), s("a"), n, s("c")}, "a,c"},
		{"CONCAT_WS", []Expr{n, s("a")}, "NULL"},
		{"POSITION", []Expr{s("l"), s("héllo")}, "3"},
		{"POSITION", []Expr{s("z"), s("hello")}, "0"},
		{"LOCATE", []Expr{s("l"), s("hello"), i(4)}, "4"},
		{"LOCATE", []Expr{s("l"), s("hello"), i(9)}, "0"},
		{"LPAD", []Expr{s("hi"), i(5), s("ab")}, "abahi"},
		{"RPAD", []Expr{s("hi"), i(5), s("ab")}, "hiaba"},
		{"LPAD", []Expr{s("hello"), i(2), s("x")}, "he"},
		{"LPAD", []Expr{s("hi"), i(-1), s("x")}, "NULL"},
		{"LPAD", []Expr{s("hi"), i(4), s("")}, "NULL"},
		{"REPEAT", []Expr{s("ab"), i(3)}, "ababab"},
		{"REPEAT", []Expr{s("ab"), BigInt(math.MaxInt64/2 + 1)}, "error: REPEAT would build a string over 1048576 bytes"},
		{"LPAD", []Expr{s("a"), BigInt(math.MaxInt64), s("x")}, "error: over the limit of 1048576"},
		{"REVERSE", []Expr{s("héllo")}, "olléh"},
		{"SPLIT_INDEX", []Expr{s("a,b,,d"), s(","), i(1)}, "b"},
		{"SPLIT_INDEX", []Expr{s("a,b,,d"), s(","), i(2)}, ""},
		{"SPLIT_INDEX", []Expr{s("a,b,,d"), s(","), i(4)}, "NULL"},
		{"SPLIT_INDEX", []Expr{s("a,b"), s(","), i(-1)}, "NULL"},
		{"SPLIT_INDEX", []Expr{s("a::b"), s("::"), i(1)}, "b"},
		{"REGEXP", []Expr{s("abc123"), s(`\d+`)}, "TRUE"},
		{"REGEXP", []Expr{s("abc"), s(`^\d+$`)}, "FALSE"},
		{"REGEXP_EXTRACT", []Expr{s("foo=12 bar=34"), s(`bar=(\d+)`), i(1)}, "34"},
		{"REGEXP_EXTRACT", []Expr{s("foo=12"), s(`foo=\d+`)}, "foo=12"},
		{"REGEXP_EXTRACT", []Expr{s("foo"), s(`(\d+)`), i(1)}, "NULL"},
		{"REGEXP_EXTRACT", []Expr{s("foo1"), s(`(\d+)`), i(2)}, "NULL"},
		{"REGEXP_EXTRACT", []Expr{s("ab"), s(`(x)?b`), i(1)}, "NULL"},
		{"REGEXP_REPLACE", []Expr{s("2026-03-14"), s(`(\d+)-(\d+)-(\d+)`), s("$3/$2/$1")}, "14/03/2026"},
		{"REGEXP_REPLACE", []Expr{s("a.b"), s(`\.`), s(`\$`)}, "a$b"},
		{"MD5", []Expr{s("")}, "d41d8cd98f00b204e9800998ecf8427e"},
		{"SHA1", []Expr{s("abc")}, "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{"SHA256", []Expr{s("abc")}, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		// Time functions (the session zone is UTC here; see TestTimeZones).
		{"YEAR", []Expr{ts("2026-03-14 15:09:26")}, "2026"},
		{"QUARTER", []Expr{ts("2026-03-14 15:09:26")}, "1"},
		{"MONTH", []Expr{ts("2026-03-14 15:09:26")}, "3"},
		{"WEEK", []Expr{ts("2026-01-01 00:00:00")}, "1"},
		{"DAYOFMONTH", []Expr{ts("2026-03-14 15:09:26")}, "14"},
		{"DAYOFYEAR", []Expr{ts("2026-02-01 00:00:00")}, "32"},
		{"DAYOFWEEK", []Expr{ts("2026-03-14 15:09:26")}, "7"}, // a Saturday; Sunday is 1
		{"HOUR", []Expr{ts("2026-03-14 15:09:26")}, "15"},
		{"MINUTE", []Expr{ts("2026-03-14 15:09:26")}, "9"},
		{"SECOND", []Expr{ts("2026-03-14 15:09:26")}, "26"},
		{"EXTRACT", []Expr{s("hour"), ts("2026-03-14 15:09:26")}, "15"},
		{"EXTRACT", []Expr{s("MILLISECOND"), ts("2026-03-14 15:09:26.5")}, "26500"},
		{"EXTRACT", []Expr{s("DOW"), ts("2026-03-15 00:00:00")}, "1"},
		{"TIMESTAMPADD", []Expr{s("MONTH"), i(1), ts("2026-01-31 10:00:00")}, "2026-02-28 10:00:00.000"},
		{"TIMESTAMPADD", []Expr{s("YEAR"), i(-1), ts("2024-02-29 00:00:00")}, "2023-02-28 00:00:00.000"},
		{"TIMESTAMPADD", []Expr{s("HOUR"), i(25), ts("2026-01-01 00:00:00")}, "2026-01-02 01:00:00.000"},
		{"TIMESTAMPADD", []Expr{s("QUARTER"), i(1), ts("2026-11-30 00:00:00")}, "2027-02-28 00:00:00.000"},
		{"TIMESTAMPDIFF", []Expr{s("SECOND"), ts("2026-01-01 00:00:00"), ts("2026-01-01 00:01:30")}, "90"},
		{"TIMESTAMPDIFF", []Expr{s("MINUTE"), ts("2026-01-01 00:01:30"), ts("2026-01-01 00:00:00")}, "-1"},
		{"TIMESTAMPDIFF", []Expr{s("DAY"), ts("2026-01-01 12:00:00"), ts("2026-01-03 11:00:00")}, "1"},
		{"TIMESTAMPDIFF", []Expr{s("MONTH"), ts("2026-01-31 00:00:00"), ts("2026-02-28 00:00:00")}, "1"}, // Jan 31 + 1 MONTH is Feb 28, as Calcite
		{"TIMESTAMPDIFF", []Expr{s("MONTH"), ts("2026-01-30 00:00:00"), ts("2026-02-27 00:00:00")}, "0"},
		{"TIMESTAMPDIFF", []Expr{s("MONTH"), ts("2026-01-15 00:00:00"), ts("2026-03-15 00:00:00")}, "2"},
		{"TIMESTAMPDIFF", []Expr{s("YEAR"), ts("2026-03-15 00:00:00"), ts("2024-03-16 00:00:00")}, "-1"},
		{"FLOOR", []Expr{ts("2026-03-14 15:09:26.5"), s("MINUTE")}, "2026-03-14 15:09:00.000"},
		{"FLOOR", []Expr{ts("2026-03-14 15:09:26.5"), s("DAY")}, "2026-03-14 00:00:00.000"},
		{"FLOOR", []Expr{ts("2026-08-14 15:09:26.5"), s("QUARTER")}, "2026-07-01 00:00:00.000"},
		{"CEIL", []Expr{ts("2026-03-14 15:09:26.5"), s("HOUR")}, "2026-03-14 16:00:00.000"},
		{"CEIL", []Expr{ts("2026-03-14 15:00:00"), s("HOUR")}, "2026-03-14 15:00:00.000"},
		{"CEIL", []Expr{ts("2026-12-14 15:00:00"), s("MONTH")}, "2027-01-01 00:00:00.000"},
		{"DATE_FORMAT", []Expr{ts("2026-03-14 15:09:26.5"), s("yyyy-MM-dd HH:mm")}, "2026-03-14 15:09"},
		{"DATE_FORMAT", []Expr{s("2026-03-14 15:09:26"), s("yyyyMMdd")}, "20260314"},
		{"DATE_FORMAT", []Expr{s("not a time"), s("yyyyMMdd")}, "NULL"},
		{"TO_TIMESTAMP", []Expr{s("2026-03-14 15:09:26")}, "2026-03-14 15:09:26.000"},
		{"TO_TIMESTAMP", []Expr{s("14/03/2026 3:09 PM"), s("dd/MM/yyyy h:mm a")}, "2026-03-14 15:09:00.000"},
		{"TO_TIMESTAMP", []Expr{s("20260314150926"), s("yyyyMMddHHmmss")}, "2026-03-14 15:09:26.000"},
		{"TO_TIMESTAMP", []Expr{s("2026-02-30 00:00:00")}, "NULL"},
		{"TO_TIMESTAMP", []Expr{s("garbage")}, "NULL"},
		{"TO_TIMESTAMP_LTZ", []Expr{BigInt(1773500966), Int(0)}, "2026-03-14 15:09:26.000"},
		{"TO_TIMESTAMP_LTZ", []Expr{BigInt(1773500966535), Int(3)}, "2026-03-14 15:09:26.535"},
		{"UNIX_TIMESTAMP", []Expr{s("2026-03-14 15:09:26")}, "1773500966"},
		{"UNIX_TIMESTAMP", []Expr{s("2026-03-14 15:09:26 +0100"), s("yyyy-MM-dd HH:mm:ss Z")}, "1773497366"},
		{"UNIX_TIMESTAMP", []Expr{s("nope")}, "NULL"},
		{"UNIX_TIMESTAMP", nil, "1773500966"},
		{"FROM_UNIXTIME", []Expr{BigInt(1773500966)}, "2026-03-14 15:09:26"},
		{"FROM_UNIXTIME", []Expr{BigInt(0), s("yyyy'T'HH")}, "1970T00"},
		{"NOW", nil, "2026-03-14 15:09:26.535"},
		{"CURRENT_TIMESTAMP", nil, "2026-03-14 15:09:26.535"},
		{"PROCTIME", nil, "2026-03-14 15:09:26.535"},
		{"LOCALTIMESTAMP", nil, "2026-03-14 15:09:26.535"},
	}
	for _, c := range cases {
		e, err := fns.Call(c.name, c.args...)
		if err != nil {
			t.Errorf("Call(%s): %v", c.name, err)
			continue
		}
		got := show(t, e, env)
		if strings.HasPrefix(got, "error: ") {
			got = "error: " + got[strings.LastIndex(got, ": ")+2:]
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", e, got, c.want)
		}
		// With every argument from a column: no folding, per-row compilation
		// of patterns and formats.
		var row []types.Value
		var cargs []Expr
		for j, a := range c.args {
			if _, isUnit := unitOf(c.name, j); isUnit {
				cargs = append(cargs, a)
				continue
			}
			row = append(row, a.(*Literal).V)
			cargs = append(cargs, NewColumn(len(row)-1, "", a.Type()))
		}
		ce, err := fns.Call(c.name, cargs...)
		if err != nil {
			continue // a literal-only argument (ROUND digits, precision)
		}
		got = show(t, ce, env, row...)
		if strings.HasPrefix(got, "error: ") {
			got = "error: " + got[strings.LastIndex(got, ": ")+2:]
		}
		if got != c.want {
			t.Errorf("%s on columns = %q, want %q", ce, got, c.want)
		}
	}
}

// unitOf reports whether argument j of fn is a keyword (time unit).
func unitOf(fn string, j int) (string, bool) {
	switch fn {
	case "EXTRACT", "TIMESTAMPADD", "TIMESTAMPDIFF":
		return fn, j == 0
	case "FLOOR", "CEIL":
		return fn, j == 1
	}
	return "", false
}

func TestFunctionErrors(t *testing.T) {
	cases := []struct {
		name string
		args []Expr
		want string
	}{
		{"SUBSTRING", []Expr{String("a"), String("b")}, "SUBSTRING(STRING, STRING): argument 2 must be INT or BIGINT"},
		{"substring", []Expr{String("a")}, "SUBSTRING(STRING): takes 2 to 3 arguments, got 1"},
		{"UPPER", []Expr{Int(1)}, "UPPER(INT): argument 1 must be STRING"},
		{"SQRT", []Expr{String("4")}, "SQRT(STRING): argument 1 must be INT, BIGINT, DECIMAL or DOUBLE"},
		{"NO_SUCH_FN", nil, "no function named NO_SUCH_FN"},
		{"EXTRACT", []Expr{String("FORTNIGHT"), ts("2026-01-01 00:00:00")}, "unit 'FORTNIGHT' is not supported"},
		{"EXTRACT", []Expr{NewColumn(0, "u", types.StringType), ts("2026-01-01 00:00:00")}, "argument 1 must be a literal"},
		{"DATE_FORMAT", []Expr{ts("2026-01-01 00:00:00"), String("yyyy-MM-dd Q")}, "pattern letter 'Q' is not supported"},
		{"DATE_FORMAT", []Expr{ts("2026-01-01 00:00:00"), String("yyyy 'oops")}, "unclosed quote"},
		{"TO_TIMESTAMP_LTZ", []Expr{BigInt(1), Int(6)}, "must be 0 (seconds) or 3 (milliseconds)"},
		{"COALESCE", []Expr{Int(1), String("a")}, "INT and STRING have no common type"},
		{"IF", []Expr{Int(1), Int(1), Int(2)}, "argument 1 must be BOOLEAN"},
	}
	for _, c := range cases {
		_, err := fns.Call(c.name, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Call(%s) = %v, want an error containing %q", c.name, err, c.want)
		}
	}
	// A regular expression RE2 cannot run is refused at compile time.
	for _, re := range []string{`(a)\1`, `a(?=b)`, `(?<!x)y`, `a*+`} {
		e, err := fns.Call("REGEXP_EXTRACT", String("ab"), String(re))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Compile(e, env)
		if err == nil || !strings.Contains(err.Error(), "RE2") {
			t.Errorf("REGEXP_EXTRACT with %s: %v, want an error naming RE2", re, err)
		}
	}
	// The same from a column fails per row, not by panicking.
	e, _ := fns.Call("REGEXP", String("ab"), NewColumn(0, "re", types.StringType))
	ev, _ := Compile(e, env)
	if _, err := ev.Eval([]types.Value{types.StringValue(`(a)\1`)}); err == nil {
		t.Error("REGEXP with a bad pattern from a column: no error")
	}
	for _, args := range [][]Expr{{ts("2026-01-01 00:00:00"), String("WEEK")}, {ts("2026-01-01 00:00:00")}, {Int(1), String("DAY")}} {
		if _, err := fns.Call("FLOOR", args...); err == nil {
			t.Errorf("FLOOR%v: no error", args)
		}
	}
	if _, err := fns.Call("geo", Double(1)); err == nil {
		t.Error("unknown function: no error")
	}
}

func TestDateFormat(t *testing.T) {
	tm := time.Date(2026, 3, 4, 5, 6, 7, 89e6, time.UTC)
	for p, want := range map[string]string{
		"yyyy-MM-dd HH:mm:ss.SSS":      "2026-03-04 05:06:07.089",
		"yy/M/d H:m:s":                 "26/3/4 5:6:7",
		"EEE, d MMM yyyy":              "Wed, 4 Mar 2026",
		"EEEE MMMM":                    "Wednesday March",
		"h:mm a":                       "5:06 AM",
		"hh 'o''clock' a, K k":         "05 o'clock AM, 5 5",
		"D u":                          "63 3",
		"yyyy-MM-dd'T'HH:mm:ss.SSSXXX": "2026-03-04T05:06:07.089Z",
		"Z":                            "+0000",
		"G yyyy":                       "AD 2026",
		"'literal'":                    "literal",
		"''":                           "'",
	} {
		f, err := compileDateFormat(p)
		if err != nil {
			t.Errorf("compile %q: %v", p, err)
			continue
		}
		if got := f.format(tm); got != want {
			t.Errorf("format %q = %q, want %q", p, got, want)
		}
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	f, _ := compileDateFormat("HH:mm Z XXX z")
	if got := f.format(tm.In(shanghai)); got != "13:06 +0800 +08:00 CST" {
		t.Errorf("Shanghai zone format = %q", got)
	}
	// Parsing reads what formatting writes.
	for _, p := range []string{"yyyy-MM-dd HH:mm:ss.SSS", "EEE, d MMM yyyy HH:mm:ss", "yyyyMMddHHmmssSSS", "dd/MM/yy hh:mm a"} {
		f, _ := compileDateFormat(p)
		s := f.format(tm)
		wall, _, _, ok := f.parse(s)
		back := time.UnixMilli(wall).UTC()
		if !ok || f.format(back) != s {
			t.Errorf("parse %q with %q = %v %v", s, p, back, ok)
		}
	}
}

func TestTimeZones(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	// 2026-03-14 20:30 in Shanghai is 12:30 UTC.
	instant := time.Date(2026, 3, 14, 12, 30, 0, 0, time.UTC)
	row := []types.Value{types.TimeValue(instant), types.IntValue(instant.UnixMilli())}
	l := NewColumn(0, "l", types.TimestampLTZType)
	w := NewColumn(1, "w", types.TimestampType)
	cases := []struct {
		e         Expr
		utc, asia string
	}{
		{mk(fns.Call("HOUR", l)), "12", "20"},
		{mk(fns.Call("HOUR", w)), "12", "12"}, // a TIMESTAMP has no zone
		{mk(fns.Call("DATE_FORMAT", l, String("yyyy-MM-dd HH:mm"))), "2026-03-14 12:30", "2026-03-14 20:30"},
		{mk(fns.Call("EXTRACT", String("DAY"), mk(NewArith(Add, l, Interval(4*time.Hour))))), "14", "15"},
		{mk(fns.Call("FLOOR", l, String("DAY"))), "2026-03-14 00:00:00.000", "2026-03-14 00:00:00.000"},
		{mk(NewCast(l, types.TimestampType, false)), "2026-03-14 12:30:00.000", "2026-03-14 20:30:00.000"},
		{mk(NewCast(w, types.TimestampLTZType, false)), "2026-03-14 12:30:00.000", "2026-03-14 12:30:00.000"},
		{mk(fns.Call("FROM_UNIXTIME", BigInt(0))), "1970-01-01 00:00:00", "1970-01-01 08:00:00"},
		{mk(fns.Call("UNIX_TIMESTAMP", String("1970-01-01 08:00:00"))), "28800", "0"},
		{mk(fns.Call("LOCALTIMESTAMP")), "2026-03-14 15:09:26.535", "2026-03-14 23:09:26.535"},
		{mk(NewCompare(Eq, l, w)), "TRUE", "FALSE"},
	}
	for _, c := range cases {
		if got := show(t, c.e, env, row...); got != c.utc {
			t.Errorf("%s in UTC = %s, want %s", c.e, got, c.utc)
		}
		sh := env
		sh.Location = shanghai
		if got := show(t, c.e, sh, row...); got != c.asia {
			t.Errorf("%s in Asia/Shanghai = %s, want %s", c.e, got, c.asia)
		}
	}
	// FLOOR(ltz TO DAY) in Shanghai is Shanghai's midnight: 16:00 UTC the day before.
	sh := CompileEnv{Location: shanghai}
	ev, _ := Compile(mk(fns.Call("FLOOR", l, String("DAY"))), sh)
	v, _ := ev.Eval(row)
	if got := v.Time(); !got.Equal(time.Date(2026, 3, 13, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("FLOOR(l TO DAY) in Shanghai is %v, want 2026-03-13 16:00 UTC", got)
	}
}

func TestRegister(t *testing.T) {
	fs := NewFunctions()
	if err := fs.Register("geo_country", Func1(func(ip string) (string, error) {
		if ip == "bad" {
			return "", errors.New("geo: bad address")
		}
		return "NZ", nil
	})); err != nil {
		t.Fatal(err)
	}
	if err := fs.Register("GEO_COUNTRY", Func1(upperSafe)); err == nil {
		t.Error("registering a name twice: no error")
	}
	if err := fs.Register("upper", Func1(upperSafe)); err == nil {
		t.Error("shadowing a built-in: no error")
	}
	if err := fs.Register("nobody", Scalar{}); err == nil {
		t.Error("Scalar without Eval: no error")
	}
	if err := fs.Register("add2", Func2(func(a, b int64) (int64, error) { return a + b, nil })); err != nil {
		t.Fatal(err)
	}
	if err := fs.Register("pick", Scalar{
		Args: []types.Type{types.StringType}, Variadic: true, Result: types.IntType, CallOnNull: true,
		Eval: func(args []types.Value) (types.Value, error) {
			nulls := 0
			for _, a := range args {
				if a.IsNull() {
					nulls++
				}
			}
			return types.IntValue(int64(nulls)), nil
		},
	}); err != nil {
		t.Fatal(err)
	}
	ip := NewColumn(0, "ip", types.StringType)
	for _, c := range []struct {
		e    Expr
		row  []types.Value
		want string
	}{
		{mk(fs.Call("Geo_Country", ip)), []types.Value{types.StringValue("1.2.3.4")}, "NZ"},
		{mk(fs.Call("geo_country", ip)), []types.Value{types.Null}, "NULL"},
		{mk(fs.Call("geo_country", ip)), []types.Value{types.StringValue("bad")}, "error: expr: GEO_COUNTRY(ip): geo: bad address"},
		{mk(fs.Call("add2", Int(1), BigInt(2))), nil, "3"}, // INT widens to the BIGINT parameter
		{mk(fs.Call("pick", String("a"), Null(types.StringType), Null(types.Type{}))), nil, "2"},
	} {
		if got := show(t, c.e, env, c.row...); got != c.want {
			t.Errorf("%s = %q, want %q", c.e, got, c.want)
		}
	}
	if _, err := fs.Call("add2", Double(1.5), Int(1)); err == nil || !strings.Contains(err.Error(), "argument 1 must be BIGINT") {
		t.Errorf("add2(1.5, 1) narrows a DOUBLE silently: %v", err)
	}
	if _, err := fs.Call("add2", String("x"), Int(1)); err == nil || !strings.Contains(err.Error(), "ADD2(STRING, INT): argument 1 must be BIGINT") {
		t.Errorf("add2('x', 1): %v", err)
	}
	if _, ok := NewFunctions().Lookup("geo_country"); ok {
		t.Error("a registration leaked into another registry")
	}
	if names := fs.Names(); len(names) < 50 {
		t.Errorf("Names() has %d functions", len(names))
	}
}

func upperSafe(s string) (string, error) { return strings.ToUpper(s), nil }
