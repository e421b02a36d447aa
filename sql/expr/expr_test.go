package expr

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/sql/types"
)

var (
	fns     = NewFunctions()
	fixedAt = time.Date(2026, 3, 14, 15, 9, 26, 535e6, time.UTC)
	env     = CompileEnv{Now: func() time.Time { return fixedAt }}
)

// mk returns e, panicking on err: the test's construction is wrong.
func mk(e Expr, err error) Expr {
	if err != nil {
		panic(err)
	}
	return e
}

// show evaluates e on row and formats the result by its type ("NULL", or
// "error: …" for a run-time error).
func show(t *testing.T, e Expr, env CompileEnv, row ...types.Value) string {
	t.Helper()
	ev, err := Compile(e, env)
	if err != nil {
		t.Fatalf("Compile(%s): %v", e, err)
	}
	v, err := ev.Eval(row)
	if err != nil {
		return "error: " + err.Error()
	}
	return formatValue(v, e.Type(), env.Location)
}

func dec(s string, p, sc int) Expr {
	n, ok := parseDecimal(s, sc)
	if !ok {
		panic(s)
	}
	return NewLiteral(types.IntValue(n), types.DecimalType(p, sc))
}

func ts(s string) Expr {
	ms, ok := parseTimestamp(s)
	if !ok {
		panic(s)
	}
	return NewLiteral(types.IntValue(ms), types.TimestampType)
}

func ltz(s string) Expr {
	ms, ok := parseTimestamp(s)
	if !ok {
		panic(s)
	}
	return NewLiteral(types.IntValue(ms), types.TimestampLTZType)
}

// col0 makes a column 0 of t, to test operators on non-constant input.
func col(i int, t types.Type) Expr { return NewColumn(i, "", t) }

func TestArith(t *testing.T) {
	nullInt := Null(types.IntType)
	cases := []struct {
		op       ArithOp
		l, r     Expr
		want     string
		wantType string
	}{
		{Add, Int(1), Int(2), "3", "INT NOT NULL"},
		{Add, Int(1), BigInt(2), "3", "BIGINT NOT NULL"},
		{Div, Int(7), Int(2), "3", "INT NOT NULL"},
		{Div, Int(-7), Int(2), "-3", "INT NOT NULL"},
		{Mod, Int(-7), Int(3), "-1", "INT NOT NULL"},
		{Mul, Int(3), Double(0.5), "1.5", "DOUBLE NOT NULL"},
		{Div, Double(1), Double(0), "Infinity", "DOUBLE NOT NULL"},
		{Add, Int(1), nullInt, "NULL", "INT"},
		{Add, Null(types.Type{}), Int(1), "NULL", "INT"},
		{Div, Int(1), Int(0), "error: expr: (1 / 0): division by zero", "INT NOT NULL"},
		{Mod, BigInt(1), BigInt(0), "error: expr: MOD(1, 0): division by zero", "BIGINT NOT NULL"},
		{Add, Int(math.MaxInt32), Int(1), "error: expr: (2147483647 + 1): numeric overflow", "INT NOT NULL"},
		{Mul, BigInt(math.MaxInt64), BigInt(2), "error: expr: (9223372036854775807 * 2): numeric overflow", "BIGINT NOT NULL"},
		{Sub, BigInt(math.MinInt64), BigInt(1), "error: expr: (-9223372036854775808 - 1): numeric overflow", "BIGINT NOT NULL"},
		{Add, dec("1.25", 5, 2), dec("2.5", 3, 1), "3.75", "DECIMAL(6, 2) NOT NULL"},
		{Sub, dec("1.25", 5, 2), Int(2), "-0.75", "DECIMAL(13, 2) NOT NULL"},
		{Mul, dec("1.25", 5, 2), dec("2.5", 3, 1), "3.125", "DECIMAL(8, 3) NOT NULL"},
		{Div, dec("1", 5, 0), dec("3", 5, 0), "0.333333", "DECIMAL(11, 6) NOT NULL"},
		{Div, dec("2", 5, 0), dec("3", 5, 0), "0.666667", "DECIMAL(11, 6) NOT NULL"},
		{Div, dec("-2", 5, 0), dec("3", 5, 0), "-0.666667", "DECIMAL(11, 6) NOT NULL"},
		{Div, dec("1", 5, 0), dec("0", 5, 0), "error: expr: (1 / 0): division by zero", "DECIMAL(11, 6) NOT NULL"},
		{Mod, dec("7.5", 5, 1), dec("2", 5, 0), "1.5", "DECIMAL(5, 1) NOT NULL"},
		{Mul, dec("99999999999.99", 13, 2), dec("99999999999.99", 13, 2), "error: expr: (99999999999.99 * 99999999999.99): numeric overflow", "DECIMAL(18, 4) NOT NULL"},
		{Add, dec("1.5", 5, 1), Double(1), "2.5", "DOUBLE NOT NULL"},
		{Add, ts("2026-01-31 23:59:59"), Interval(time.Second), "2026-02-01 00:00:00.000", "TIMESTAMP(3) NOT NULL"},
		{Sub, ltz("2026-01-01 00:00:00"), Interval(time.Hour), "2025-12-31 23:00:00.000", "TIMESTAMP_LTZ(3) NOT NULL"},
		{Add, Interval(time.Minute), ts("2026-01-01 00:00:00"), "2026-01-01 00:01:00.000", "TIMESTAMP(3) NOT NULL"},
		{Sub, ts("2026-01-01 00:01:00"), ts("2026-01-01 00:00:00"), "60.000", "INTERVAL DAY TO SECOND NOT NULL"},
		{Mul, Interval(time.Second), Int(3), "3.000", "INTERVAL DAY TO SECOND NOT NULL"},
	}
	for _, c := range cases {
		e := mk(NewArith(c.op, c.l, c.r))
		if got := e.Type().String(); got != c.wantType {
			t.Errorf("%s: type %s, want %s", e, got, c.wantType)
		}
		if got := show(t, e, env); got != c.want {
			t.Errorf("%s = %s, want %s", e, got, c.want)
		}
		// The same on columns, not folded.
		ce := mk(NewArith(c.op, col(0, c.l.Type()), col(1, c.r.Type())))
		got := show(t, ce, env, c.l.(*Literal).V, c.r.(*Literal).V)
		if i := strings.Index(c.want, "): "); i >= 0 {
			got = got[strings.LastIndex(got, "): ")+3:]
			if w := c.want[i+3:]; got != w {
				t.Errorf("%s on columns = %s, want %s", ce, got, w)
			}
		} else if got != c.want {
			t.Errorf("%s on columns = %s, want %s", ce, got, c.want)
		}
	}
	for _, bad := range [][2]Expr{{String("a"), Int(1)}, {Bool(true), Int(1)}, {ts("2026-01-01 00:00:00"), ltz("2026-01-01 00:00:00")}} {
		if _, err := NewArith(Sub, bad[0], bad[1]); err == nil || !strings.Contains(err.Error(), typeName(bad[0].Type())) {
			t.Errorf("NewArith(%s, %s) = %v, want an error naming both types", bad[0], bad[1], err)
		}
	}
	if got := show(t, mk(NewNeg(col(0, types.IntType))), env, types.IntValue(math.MinInt32)); !strings.Contains(got, "overflow") {
		t.Errorf("-MIN_INT = %s, want overflow", got)
	}
	if got := show(t, mk(NewNeg(Double(2))), env); got != "-2.0" {
		t.Errorf("-2.0 = %s", got)
	}
}

func TestThreeValuedLogic(t *testing.T) {
	vals := map[string]types.Value{"T": types.BoolValue(true), "F": types.BoolValue(false), "N": types.Null}
	and := map[string]string{
		"TT": "TRUE", "TF": "FALSE", "TN": "NULL", "FT": "FALSE", "FF": "FALSE", "FN": "FALSE",
		"NT": "NULL", "NF": "FALSE", "NN": "NULL",
	}
	or := map[string]string{
		"TT": "TRUE", "TF": "TRUE", "TN": "TRUE", "FT": "TRUE", "FF": "FALSE", "FN": "NULL",
		"NT": "TRUE", "NF": "NULL", "NN": "NULL",
	}
	a, b := col(0, types.BooleanType), col(1, types.BooleanType)
	andE, orE := mk(NewAnd(a, b)), mk(NewOr(a, b))
	for k, want := range and {
		if got := show(t, andE, env, vals[k[:1]], vals[k[1:]]); got != want {
			t.Errorf("%s AND %s = %s, want %s", k[:1], k[1:], got, want)
		}
		if got := show(t, orE, env, vals[k[:1]], vals[k[1:]]); got != or[k] {
			t.Errorf("%s OR %s = %s, want %s", k[:1], k[1:], got, or[k])
		}
	}
	notE := mk(NewNot(a))
	is := func(test IsTest, not bool) Expr { return mk(NewIs(a, test, not)) }
	for k, want := range map[string][7]string{
		// NOT, IS NULL, IS NOT NULL, IS TRUE, IS NOT TRUE, IS FALSE, IS NOT FALSE
		"T": {"FALSE", "FALSE", "TRUE", "TRUE", "FALSE", "FALSE", "TRUE"},
		"F": {"TRUE", "FALSE", "TRUE", "FALSE", "TRUE", "TRUE", "FALSE"},
		"N": {"NULL", "TRUE", "FALSE", "FALSE", "TRUE", "FALSE", "TRUE"},
	} {
		es := []Expr{notE, is(IsNull, false), is(IsNull, true), is(IsTrue, false), is(IsTrue, true), is(IsFalse, false), is(IsFalse, true)}
		for i, e := range es {
			if got := show(t, e, env, vals[k]); got != want[i] {
				t.Errorf("%s with %s = %s, want %s", e, k, got, want[i])
			}
		}
	}
	// AND stops at the first FALSE: the division by zero is not evaluated.
	div := mk(NewCompare(Eq, mk(NewArith(Div, Int(1), col(1, types.IntType))), Int(1)))
	short := mk(NewAnd(mk(NewCompare(Eq, col(1, types.IntType), Int(1))), div))
	if got := show(t, short, env, types.Null, types.IntValue(0)); got != "FALSE" {
		t.Errorf("%s = %s, want FALSE without evaluating the division", short, got)
	}
	if _, err := NewAnd(a, Int(1)); err == nil || !strings.Contains(err.Error(), "BOOLEAN") {
		t.Errorf("AND of an INT: %v", err)
	}
}

func TestCompare(t *testing.T) {
	cases := []struct {
		op   CmpOp
		l, r Expr
		want string
	}{
		{Lt, Int(1), BigInt(2), "TRUE"},
		{Eq, Int(1), Double(1.0), "TRUE"},
		{Eq, Int(1), dec("1.00", 5, 2), "TRUE"},
		{Gt, dec("1.5", 5, 1), dec("1.25", 5, 2), "TRUE"},
		{Lt, String("abc"), String("abd"), "TRUE"},
		{Ge, String("b"), String("abc"), "TRUE"},
		{Ne, String("a"), String("a"), "FALSE"},
		{Lt, Bool(false), Bool(true), "TRUE"},
		{Le, ts("2026-01-01 00:00:00"), ts("2026-01-01 00:00:00"), "TRUE"},
		{Eq, ts("2026-01-01 00:00:00"), ltz("2026-01-01 00:00:00"), "TRUE"},
		{Eq, Int(1), Null(types.IntType), "NULL"},
		{Eq, Null(types.Type{}), Null(types.Type{}), "NULL"},
		{Gt, Double(math.NaN()), Double(1), "FALSE"},
	}
	for _, c := range cases {
		e := mk(NewCompare(c.op, c.l, c.r))
		if got := show(t, e, env); got != c.want {
			t.Errorf("%s = %s, want %s", e, got, c.want)
		}
		ce := mk(NewCompare(c.op, col(0, c.l.Type()), col(1, c.r.Type())))
		if got := show(t, ce, env, c.l.(*Literal).V, c.r.(*Literal).V); got != c.want {
			t.Errorf("%s on columns = %s, want %s", ce, got, c.want)
		}
	}
	_, err := NewCompare(Eq, String("1"), Int(1))
	if err == nil || !strings.Contains(err.Error(), "STRING and INT") || !strings.Contains(err.Error(), "CAST") {
		t.Errorf("'1' = 1: %v, want an error naming both types and CAST", err)
	}
	// The fast path of a column against a constant handles NULL.
	e := mk(NewCompare(Gt, col(0, types.IntType), Int(5)))
	for v, want := range map[types.Value]string{types.IntValue(6): "TRUE", types.IntValue(5): "FALSE", types.Null: "NULL"} {
		if got := show(t, e, env, v); got != want {
			t.Errorf("%s with %s = %s, want %s", e, v, got, want)
		}
	}
}

func TestBetweenIn(t *testing.T) {
	x := col(0, types.IntType)
	btw := mk(NewBetween(x, Int(1), BigInt(3), false))
	nbtw := mk(NewBetween(x, Int(1), Int(3), true))
	for v, want := range map[types.Value][2]string{
		types.IntValue(0): {"FALSE", "TRUE"}, types.IntValue(1): {"TRUE", "FALSE"},
		types.IntValue(3): {"TRUE", "FALSE"}, types.IntValue(4): {"FALSE", "TRUE"}, types.Null: {"NULL", "NULL"},
	} {
		if got := show(t, btw, env, v); got != want[0] {
			t.Errorf("%s with %s = %s, want %s", btw, v, got, want[0])
		}
		if got := show(t, nbtw, env, v); got != want[1] {
			t.Errorf("%s with %s = %s, want %s", nbtw, v, got, want[1])
		}
	}
	small := []Expr{Int(1), Int(2), Null(types.IntType)}
	var big []Expr
	for i := range 100 {
		big = append(big, Int(int32(i*2)))
	}
	bigNull := append(append([]Expr{}, big...), Null(types.IntType))
	cases := []struct {
		list []Expr
		not  bool
		v    types.Value
		want string
	}{
		{small, false, types.IntValue(1), "TRUE"},
		{small, false, types.IntValue(3), "NULL"},
		{small, true, types.IntValue(3), "NULL"},
		{small, true, types.IntValue(2), "FALSE"},
		{small, false, types.Null, "NULL"},
		{big, false, types.IntValue(198), "TRUE"},
		{big, false, types.IntValue(199), "FALSE"},
		{big, true, types.IntValue(199), "TRUE"},
		{bigNull, false, types.IntValue(199), "NULL"},
		{bigNull, false, types.IntValue(4), "TRUE"},
		{big, false, types.Null, "NULL"},
	}
	for _, c := range cases {
		e := mk(NewIn(x, c.list, c.not))
		if got := show(t, e, env, c.v); got != c.want {
			t.Errorf("x=%s %s… (%d) = %s, want %s", c.v, map[bool]string{false: "IN", true: "NOT IN"}[c.not], len(c.list), got, c.want)
		}
	}
	// A BIGINT column against an INT list and a DECIMAL against a
	// mixed list meet in a common type, also in the hash set.
	var decs []Expr
	for i := range 20 {
		decs = append(decs, Int(int32(i)))
	}
	decs = append(decs, dec("2.5", 2, 1))
	e := mk(NewIn(col(0, types.DecimalType(5, 2)), decs, false))
	for _, c := range []struct {
		v    int64
		want string
	}{{250, "TRUE"}, {300, "TRUE"}, {310, "FALSE"}} {
		if got := show(t, e, env, types.IntValue(c.v)); got != c.want {
			t.Errorf("%s with %d = %s, want %s", e, c.v, got, c.want)
		}
	}
	strs := []Expr{String("a"), String("b")}
	for range 10 {
		strs = append(strs, String("x"))
	}
	e = mk(NewIn(col(0, types.StringType), strs, false))
	if got := show(t, e, env, types.StringValue("b")); got != "TRUE" {
		t.Errorf("'b' IN strings = %s", got)
	}
	if _, err := NewIn(x, []Expr{String("a")}, false); err == nil {
		t.Error("INT IN ('a'): no error")
	}
}

func TestCaseAndConditionals(t *testing.T) {
	x := col(0, types.IntType)
	searched := mk(NewCase(nil, []When{
		{mk(NewCompare(Lt, x, Int(0))), String("neg")},
		{mk(NewCompare(Eq, x, Int(0))), String("zero")},
	}, String("pos")))
	simple := mk(NewCase(x, []When{{Int(1), Double(1.5)}, {BigInt(2), Int(2)}}, nil))
	if got := simple.Type().String(); got != "DOUBLE" {
		t.Errorf("simple CASE type %s, want DOUBLE (nullable: no ELSE)", got)
	}
	for _, c := range []struct {
		v            types.Value
		want1, want2 string
	}{
		{types.IntValue(-1), "neg", "NULL"}, {types.IntValue(0), "zero", "NULL"},
		{types.IntValue(1), "pos", "1.5"}, {types.IntValue(2), "pos", "2.0"}, {types.Null, "pos", "NULL"},
	} {
		if got := show(t, searched, env, c.v); got != c.want1 {
			t.Errorf("%s with %s = %s, want %s", searched, c.v, got, c.want1)
		}
		if got := show(t, simple, env, c.v); got != c.want2 {
			t.Errorf("%s with %s = %s, want %s", simple, c.v, got, c.want2)
		}
	}
	if _, err := NewCase(nil, []When{{Int(1), Int(1)}}, nil); err == nil {
		t.Error("CASE WHEN 1: no error")
	}
	if _, err := NewCase(nil, []When{{Bool(true), Int(1)}}, String("a")); err == nil ||
		!strings.Contains(err.Error(), "INT and STRING") {
		t.Errorf("CASE results INT and STRING: %v", err)
	}
	call := func(name string, args ...Expr) Expr { return mk(fns.Call(name, args...)) }
	n := Null(types.IntType)
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{call("COALESCE", n, x, Int(7)), "7"},
		{call("COALESCE", n, n), "NULL"},
		{call("IFNULL", n, BigInt(3)), "3"},
		{call("NULLIF", Int(1), Int(1)), "NULL"},
		{call("NULLIF", Int(1), Int(2)), "1"},
		{call("NULLIF", Int(1), n), "1"},
		{call("IF", Bool(true), Int(1), Double(2)), "1.0"},
		{call("IF", Null(types.BooleanType), Int(1), Int(2)), "2"},
		// COALESCE is lazy: the division is not evaluated.
		{call("COALESCE", Int(1), mk(NewArith(Div, Int(1), x))), "1"},
	} {
		if got := show(t, c.e, env, types.Null); got != c.want {
			t.Errorf("%s = %s, want %s", c.e, got, c.want)
		}
	}
	if ct := call("COALESCE", x, Int(0)).Type(); !ct.NotNull {
		t.Errorf("COALESCE(x, 0) type %s, want NOT NULL", ct)
	}
}

func TestLike(t *testing.T) {
	cases := []struct {
		s, p, esc string
		want      bool
	}{
		{"abc", "abc", "", true},
		{"abc", "ab", "", false},
		{"abc", "a%", "", true},
		{"abc", "%c", "", true},
		{"abc", "%b%", "", true},
		{"abc", "%", "", true},
		{"", "%", "", true},
		{"", "_", "", false},
		{"abc", "a_c", "", true},
		{"abc", "a__", "", true},
		{"abc", "____", "", false},
		{"héllo", "h_llo", "", true}, // _ is one character, not one byte
		{"a\nb", "a_b", "", true},
		{"a\nb", "a%", "", true},
		{"a.c", "a.c", "", true},
		{"abc", "a.c", "", false}, // regexp metacharacters are literal
		{"a+b", "a+b%", "", true},
		{"a(b", "%(%", "", true},
		{"x^y$", "_^_$", "", true},
		{"a\\b", "a\\b", "", true}, // backslash is no escape without ESCAPE
		{"100%", "100!%", "!", true},
		{"1000", "100!%", "!", false},
		{"a_b", "a!_b", "!", true},
		{"axb", "a!_b", "!", false},
		{"a!b", "a!!b", "!", true},
		{"ab", "a%b%", "", true},
		{"aXbY", "a%b_", "", true},
		{"mississippi", "%ss%ss%", "", true},
		{"mississippi", "m%ss_pp%", "", true},
		{"mississippi", "m%ss_pp_", "", true},
		{"mississippi", "m%ss__pp%", "", false},
		{"mississippi", "m%s_ppi", "", true},
	}
	x := col(0, types.StringType)
	for _, c := range cases {
		for _, not := range []bool{false, true} {
			e := mk(NewLike(x, String(c.p), c.esc, not))
			want := map[bool]string{true: "TRUE", false: "FALSE"}[c.want != not]
			if got := show(t, e, env, types.StringValue(c.s)); got != want {
				t.Errorf("%q %s = %s, want %s", c.s, e, got, want)
			}
			// A pattern from a column compiles per row and agrees.
			pe := mk(NewLike(x, col(1, types.StringType), c.esc, not))
			if got := show(t, pe, env, types.StringValue(c.s), types.StringValue(c.p)); got != want {
				t.Errorf("%q %s with %q = %s, want %s", c.s, pe, c.p, got, want)
			}
		}
	}
	for _, bad := range [][2]string{{"abc!", "!"}, {"a!bc", "!"}} {
		if _, err := NewLike(x, String(bad[0]), bad[1], false); err == nil || !strings.Contains(err.Error(), "escape") {
			t.Errorf("LIKE %q ESCAPE %q: %v, want an error about the escape", bad[0], bad[1], err)
		}
	}
	pe := mk(NewLike(x, col(1, types.StringType), "!", false))
	if got := show(t, pe, env, types.StringValue("a"), types.StringValue("a!")); !strings.HasPrefix(got, "error:") {
		t.Errorf("bad pattern from a column = %s, want a run-time error", got)
	}
	if got := show(t, mk(NewLike(x, String("a%"), "", false)), env, types.Null); got != "NULL" {
		t.Errorf("NULL LIKE 'a%%' = %s", got)
	}
	if _, err := NewLike(col(0, types.IntType), String("1%"), "", false); err == nil {
		t.Error("INT LIKE: no error")
	}
}

func TestCast(t *testing.T) {
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	cases := []struct {
		x    Expr
		to   types.Type
		want string // "error" for a failed CAST (TRY_CAST then gives NULL)
	}{
		{String(" 42 "), types.IntType, "42"},
		{String("abc"), types.IntType, "error"},
		{String("3000000000"), types.IntType, "error"},
		{String("3000000000"), types.BigIntType, "3000000000"},
		{String("1.5"), types.DoubleType, "1.5"},
		{String("x1.5"), types.DoubleType, "error"},
		{String("12.345"), types.DecimalType(5, 2), "12.35"},
		{String("-12.344"), types.DecimalType(5, 2), "-12.34"},
		{String("12345.6"), types.DecimalType(5, 2), "error"},
		{String("1e5"), types.DecimalType(10, 2), "error"},
		{String("true"), types.BooleanType, "TRUE"},
		{String("FALSE"), types.BooleanType, "FALSE"},
		{String("maybe"), types.BooleanType, "error"},
		{String("2026-03-14 15:09:26.5"), types.TimestampType, "2026-03-14 15:09:26.500"},
		{String("2026-03-14T15:09:26"), types.TimestampType, "2026-03-14 15:09:26.000"},
		{String("2026-03-14"), types.TimestampType, "2026-03-14 00:00:00.000"},
		{String("14/03/2026"), types.TimestampType, "error"},
		{String("2026-03-14 08:00:00"), types.TimestampLTZType, "2026-03-14 08:00:00.000"},
		{Int(7), types.StringType, "7"},
		{Double(1), types.StringType, "1.0"},
		{Double(1e10), types.StringType, "1.0E10"},
		{Double(0.0001), types.StringType, "1.0E-4"},
		{Bool(true), types.StringType, "TRUE"},
		{dec("-0.05", 3, 2), types.StringType, "-0.05"},
		{ts("2026-03-14 15:09:26"), types.StringType, "2026-03-14 15:09:26.000"},
		{BigInt(1 << 40), types.IntType, "error"},
		{Double(2.9), types.IntType, "2"},
		{Double(-2.9), types.BigIntType, "-2"},
		{Double(math.NaN()), types.IntType, "error"},
		{Double(1e30), types.BigIntType, "error"},
		{dec("-12.99", 5, 2), types.IntType, "-12"},
		{Int(12), types.DecimalType(4, 2), "12.00"},
		{Int(123), types.DecimalType(4, 2), "error"},
		{Double(1.005), types.DecimalType(4, 1), "1.0"},
		{Double(2.25), types.DecimalType(4, 1), "2.3"},
		{dec("1.25", 3, 2), types.DecimalType(3, 1), "1.3"},
		{dec("-1.25", 3, 2), types.DecimalType(3, 1), "-1.3"},
		{dec("1.25", 3, 2), types.DoubleType, "1.25"},
		{Int(2), types.BooleanType, "TRUE"},
		{Bool(true), types.IntType, "1"},
		{ts("2026-03-14 08:00:00"), types.TimestampLTZType, "2026-03-14 08:00:00.000"},
	}
	for _, c := range cases {
		for _, try := range []bool{false, true} {
			e := mk(NewCast(c.x, c.to, try))
			got := show(t, e, env)
			want := c.want
			if want == "error" && try {
				want = "NULL"
			}
			if want == "error" {
				if !strings.HasPrefix(got, "error:") || !(strings.Contains(got, "cast failed") || strings.Contains(got, "overflow")) {
					t.Errorf("%s = %s, want a cast error", e, got)
				}
				continue
			}
			if got != want {
				t.Errorf("%s = %s, want %s", e, got, want)
			}
		}
	}
	// TIMESTAMP ↔ TIMESTAMP_LTZ go through the session zone.
	sh := CompileEnv{Location: shanghai}
	toLTZ := mk(NewCast(ts("2026-03-14 08:00:00"), types.TimestampLTZType, false))
	ev, _ := Compile(toLTZ, sh)
	v, _ := ev.Eval(nil)
	if got := types.Format(v, types.TimestampLTZType, time.UTC); got != "2026-03-14 00:00:00.000" {
		t.Errorf("%s in Asia/Shanghai is the instant %s UTC, want 2026-03-14 00:00:00.000", toLTZ, got)
	}
	toTS := mk(NewCast(ltz("2026-03-14 00:00:00"), types.TimestampType, false))
	if got := show(t, toTS, sh); got != "2026-03-14 08:00:00.000" {
		t.Errorf("%s in Asia/Shanghai = %s, want 2026-03-14 08:00:00.000", toTS, got)
	}
	if got := show(t, mk(NewCast(ltz("2026-03-14 00:00:00"), types.StringType, false)), sh); got != "2026-03-14 08:00:00.000" {
		t.Errorf("CAST(LTZ AS STRING) in Asia/Shanghai = %s", got)
	}
	for _, bad := range []struct {
		x  Expr
		to types.Type
	}{{BigInt(1), types.TimestampType}, {ts("2026-01-01 00:00:00"), types.BigIntType}, {Int(1), types.DecimalType(30, 2)}} {
		if _, err := NewCast(bad.x, bad.to, false); err == nil {
			t.Errorf("CAST(%s AS %s): no error", bad.x, bad.to)
		}
	}
	// A cast that may fail is not NOT NULL; TRY_CAST never is.
	if e := mk(NewCast(String("1"), types.IntType, false)); e.Type().NotNull {
		t.Errorf("%s is NOT NULL", e)
	}
	var castErr error
	ev, _ = Compile(mk(NewCast(col(0, types.StringType), types.IntType, false)), env)
	_, castErr = ev.Eval([]types.Value{types.StringValue("x")})
	if !errors.Is(castErr, ErrCast) {
		t.Errorf("CAST('x' AS INT) error %v does not wrap ErrCast", castErr)
	}
}

func TestCommonType(t *testing.T) {
	for _, c := range []struct {
		a, b types.Type
		want string
	}{
		{types.IntType, types.BigIntType, "BIGINT"},
		{types.IntType, types.DoubleType, "DOUBLE"},
		{types.DecimalType(5, 2), types.DecimalType(10, 0), "DECIMAL(12, 2)"},
		{types.IntType, types.DecimalType(3, 1), "DECIMAL(11, 1)"},
		{types.BigIntType, types.DecimalType(3, 1), "DECIMAL(18, 1)"},
		{types.Type{}, types.StringType, "STRING"},
		{types.TimestampType, types.TimestampLTZType, "TIMESTAMP_LTZ(3)"},
		{types.Type{Kind: types.Int, NotNull: true}, types.Type{Kind: types.Int, NotNull: true}, "INT NOT NULL"},
	} {
		got, err := CommonType(c.a, c.b)
		if err != nil || got.String() != c.want {
			t.Errorf("CommonType(%s, %s) = %s, %v; want %s", c.a, c.b, got, err, c.want)
		}
	}
	_, err := CommonType(types.BooleanType, types.IntType)
	if err == nil || !strings.Contains(err.Error(), "BOOLEAN and INT") {
		t.Errorf("CommonType(BOOLEAN, INT): %v", err)
	}
}

func TestConcatStringColumns(t *testing.T) {
	e := mk(NewConcat(col(0, types.StringType), String("!")))
	if got := show(t, e, env, types.StringValue("hi")); got != "hi!" {
		t.Errorf("%s = %s", e, got)
	}
	if got := show(t, e, env, types.Null); got != "NULL" {
		t.Errorf("%s of NULL = %s", e, got)
	}
	if _, err := NewConcat(Int(1), String("a")); err == nil {
		t.Error("1 || 'a': no error")
	}
	if got := Columns(mk(NewAnd(mk(NewCompare(Eq, col(3, types.IntType), col(1, types.IntType))), mk(NewIs(col(3, types.IntType), IsNull, true))))); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Errorf("Columns = %v, want [1 3]", got)
	}
}

func TestConstantFolding(t *testing.T) {
	e := mk(NewArith(Add, mk(NewArith(Mul, Int(2), Int(3))), col(0, types.IntType)))
	ev, _ := Compile(e.(*Arith).L, env)
	if v, ok := ev.Constant(); !ok || v.Int() != 6 {
		t.Errorf("2*3 not folded: %v %v", v, ok)
	}
	ev, _ = Compile(e, env)
	if _, ok := ev.Constant(); ok {
		t.Errorf("%s folded", e)
	}
	upper := mk(fns.Call("UPPER", String("a")))
	if ev, _ := Compile(upper, env); !isConst(ev) {
		t.Errorf("%s not folded", upper)
	}
	now := mk(fns.Call("NOW"))
	if ev, _ := Compile(now, env); isConst(ev) {
		t.Errorf("%s folded, but it reads the clock per record", now)
	}
	// A constant that fails is left to fail per record.
	div := mk(NewArith(Div, Int(1), Int(0)))
	ev, err := Compile(div, env)
	if err != nil || isConst(ev) {
		t.Fatalf("Compile(1/0) = %v, %v", ev, err)
	}
	if _, err := ev.Eval(nil); !errors.Is(err, ErrDivisionByZero) {
		t.Errorf("1/0: %v", err)
	}
}

func isConst(ev *Evaluator) bool { _, ok := ev.Constant(); return ok }

func TestRuntimeErrorsNeverPanic(t *testing.T) {
	// A row too short for a column is an error, not a panic.
	ev, _ := Compile(mk(NewCompare(Gt, col(5, types.IntType), Int(1))), env)
	if _, err := ev.Eval(nil); err == nil {
		t.Error("column 5 of an empty row: no error")
	}
	ev, _ = Compile(col(5, types.IntType), env)
	if _, err := ev.Eval([]types.Value{types.IntValue(1)}); err == nil {
		t.Error("column 5 of a row of 1: no error")
	}
}

func TestLiteralsAndMapColumns(t *testing.T) {
	for text, want := range map[string]string{"0.908": "DECIMAL(3, 3) 0.908", "-12.50": "DECIMAL(4, 2) -12.50", "007.": "DECIMAL(1, 0) 7"} {
		l, err := ParseDecimal(text)
		if err != nil || typeName(l.T)+" "+l.String() != want {
			t.Errorf("ParseDecimal(%q) = %v %v, want %s", text, l, err, want)
		}
	}
	for _, bad := range []string{"1234567890.123456789", "1.2.3", "x"} {
		if _, err := ParseDecimal(bad); err == nil {
			t.Errorf("ParseDecimal(%q): no error", bad)
		}
	}
	// 0.908 * price, Nexmark's q1, with a BIGINT price.
	price := NewColumn(0, "price", types.BigIntType)
	e := mk(NewArith(Mul, mk(ParseDecimal("0.908")), price))
	if got := show(t, e, env, types.IntValue(1_000_000)); got != "908000.000" || e.Type().String() != "DECIMAL(18, 3)" {
		t.Errorf("%s = %s of %s", e, got, e.Type())
	}
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Skip(err)
	}
	l := mk(ParseTimestamp("1970-01-01 08:00:00", true, shanghai))
	if v := l.(*Literal).V.Int(); v != 0 {
		t.Errorf("TIMESTAMP_LTZ '1970-01-01 08:00:00' in Shanghai = %d ms, want 0", v)
	}
	if _, err := ParseTimestamp("yesterday", false, nil); err == nil {
		t.Error("ParseTimestamp(yesterday): no error")
	}
	// Renumber: column 3 becomes column 0.
	cond := mk(NewAnd(mk(NewCompare(Gt, NewColumn(3, "a", types.IntType), Int(1))), mk(NewLike(NewColumn(5, "s", types.StringType), String("x%"), "", false))))
	moved := MapColumns(cond, func(c *Column) Expr { return NewColumn(c.Index-3, c.Name, c.T) })
	if got := Columns(moved); len(got) != 2 || got[0] != 0 || got[1] != 2 {
		t.Errorf("Columns after MapColumns = %v", got)
	}
	if got := show(t, moved, env, types.IntValue(2), types.Null, types.StringValue("xy")); got != "TRUE" || moved.String() != cond.String() {
		t.Errorf("%s = %s", moved, got)
	}
}

func TestDistinctGreatestLeast(t *testing.T) {
	a, b := col(0, types.IntType), col(1, types.BigIntType)
	dist, ndist := mk(NewCompare(Distinct, a, b)), mk(NewCompare(NotDistinct, a, b))
	if !dist.Type().NotNull {
		t.Errorf("%s is nullable", dist)
	}
	one, two := types.IntValue(1), types.IntValue(2)
	for _, c := range []struct {
		x, y       types.Value
		dist, same string
	}{
		{one, one, "FALSE", "TRUE"}, {one, two, "TRUE", "FALSE"}, {one, types.Null, "TRUE", "FALSE"},
		{types.Null, types.Null, "FALSE", "TRUE"},
	} {
		if got := show(t, dist, env, c.x, c.y); got != c.dist {
			t.Errorf("%s with %s, %s = %s, want %s", dist, c.x, c.y, got, c.dist)
		}
		if got := show(t, ndist, env, c.x, c.y); got != c.same {
			t.Errorf("%s with %s, %s = %s, want %s", ndist, c.x, c.y, got, c.same)
		}
	}
	for _, c := range []struct {
		e    Expr
		want string
	}{
		{mk(fns.Call("GREATEST", Int(3), BigInt(7), Int(5))), "7"},
		{mk(fns.Call("LEAST", Int(3), Double(2.5), Int(5))), "2.5"},
		{mk(fns.Call("GREATEST", String("b"), String("abc"))), "b"},
		{mk(fns.Call("LEAST", Int(3), Null(types.IntType))), "NULL"},
	} {
		if got := show(t, c.e, env); got != c.want {
			t.Errorf("%s = %s, want %s", c.e, got, c.want)
		}
	}
	if _, err := fns.Call("GREATEST", Bool(true), Bool(false)); err == nil {
		t.Error("GREATEST of BOOLEANs: no error")
	}
}
