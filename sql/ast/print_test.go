package ast

import (
	"testing"

	"github.com/weirstream/weir/sql/types"
)

func TestIdent(t *testing.T) {
	for name, want := range map[string]string{
		"a":          "a",
		"MyCol":      "MyCol",
		"_x$1":       "_x$1",
		"select":     "`select`",
		"Select":     "`Select`",
		"day":        "`day`",
		"minutes":    "`minutes`",
		"1a":         "`1a`",
		"a b":        "`a b`",
		"a`b":        "`a``b`",
		"":           "``",
		"straße":     "straße",
		"window_end": "window_end",
	} {
		if got := Ident(name); got != want {
			t.Errorf("Ident(%q) = %s, want %s", name, got, want)
		}
	}
}

func TestQuote(t *testing.T) {
	if got := Quote("it's"); got != "'it''s'" {
		t.Errorf("Quote: %s", got)
	}
}

func TestTypeString(t *testing.T) {
	row := types.Type{Kind: types.Record, NotNull: true, Fields: []types.Field{
		{Name: "day", Type: types.IntType},
		{Name: "b", Type: types.Type{Kind: types.Record, Fields: []types.Field{{Name: "c", Type: types.StringType}}}},
	}}
	if got, want := TypeString(row), "ROW<`day` INT, b ROW<c STRING>> NOT NULL"; got != want {
		t.Errorf("TypeString = %s, want %s", got, want)
	}
	if got := TypeString(types.DecimalType(10, 2)); got != "DECIMAL(10, 2)" {
		t.Errorf("TypeString = %s", got)
	}
}

func TestPrintParentheses(t *testing.T) {
	a, b, c := &ColumnRef{Names: []string{"a"}}, &ColumnRef{Names: []string{"b"}}, &ColumnRef{Names: []string{"c"}}
	for _, tc := range []struct {
		e    Expr
		want string
	}{
		{&Binary{Op: Mul, L: &Binary{Op: Add, L: a, R: b}, R: c}, "(a + b) * c"},
		{&Binary{Op: Sub, L: a, R: &Binary{Op: Sub, L: b, R: c}}, "a - (b - c)"},
		{&Binary{Op: Sub, L: &Binary{Op: Sub, L: a, R: b}, R: c}, "a - b - c"},
		{&Unary{Op: Not, X: &Binary{Op: And, L: a, R: b}}, "NOT (a AND b)"},
		{&Unary{Op: Neg, X: &Unary{Op: Neg, X: a}}, "- -a"},
		{&Binary{Op: Sub, L: a, R: &Unary{Op: Neg, X: b}}, "a - -b"},
		{&Is{X: &Binary{Op: Or, L: a, R: b}, What: IsNull}, "(a OR b) IS NULL"},
		{&Between{X: a, Lo: &Binary{Op: And, L: b, R: c}, Hi: c}, "a BETWEEN (b AND c) AND c"},
	} {
		if got := tc.e.String(); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}
