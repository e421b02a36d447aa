package expr

import (
	"sync"
	"testing"

	"github.com/weirstream/weir/sql/types"
)

// numberExprs are the expressions promised to evaluate without allocating:
// arithmetic, comparison and boolean logic on numbers.
func numberExprs() map[string]Expr {
	a := NewColumn(0, "a", types.IntType)
	b := NewColumn(1, "b", types.BigIntType)
	d := NewColumn(2, "d", types.DoubleType)
	m := NewColumn(3, "m", types.DecimalType(10, 2))
	var list []Expr
	for i := range 50 {
		list = append(list, Int(int32(i*3)))
	}
	return map[string]Expr{
		"int_add_mul":   mk(NewArith(Mul, mk(NewArith(Add, a, b)), BigInt(3))),
		"int_cmp_const": mk(NewCompare(Gt, a, Int(10))),
		"double_arith":  mk(NewArith(Div, mk(NewArith(Add, d, Double(1))), a)),
		"decimal_arith": mk(NewArith(Add, mk(NewArith(Mul, m, m)), Int(1))),
		"and_or_not": mk(NewOr(
			mk(NewAnd(mk(NewCompare(Ge, a, Int(1))), mk(NewCompare(Lt, b, BigInt(100))))),
			mk(NewNot(mk(NewCompare(Eq, d, Double(2))))))),
		"between": mk(NewBetween(b, Int(1), Int(100), false)),
		"in_set":  mk(NewIn(a, list, false)),
		"case":    mk(NewCase(nil, []When{{mk(NewCompare(Lt, a, Int(0))), BigInt(-1)}}, b)),
		"is_null": mk(NewIs(a, IsNull, true)),
	}
}

var benchRow = []types.Value{types.IntValue(42), types.IntValue(7), types.FloatValue(2.5), types.IntValue(1234)}

func TestZeroAllocs(t *testing.T) {
	for name, e := range numberExprs() {
		ev, err := Compile(e, CompileEnv{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ev.Eval(benchRow); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := testing.AllocsPerRun(100, func() { _, _ = ev.Eval(benchRow) }); n != 0 {
			t.Errorf("%s (%s): %v allocations per evaluation, want 0", name, e, n)
		}
	}
	pe, _ := CompilePredicate(numberExprs()["and_or_not"], CompileEnv{})
	if n := testing.AllocsPerRun(100, func() { _, _ = pe.Test(benchRow) }); n != 0 {
		t.Errorf("Predicate.Test: %v allocations, want 0", n)
	}
}

// TestConcurrentEval runs one Evaluator from many goroutines (run with -race).
func TestConcurrentEval(t *testing.T) {
	e := mk(fns.Call("DATE_FORMAT", mk(fns.Call("TO_TIMESTAMP", NewColumn(0, "s", types.StringType))), String("HH:mm")))
	ev, err := Compile(e, env)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				v, err := ev.Eval([]types.Value{types.StringValue("2026-01-01 10:20:00")})
				if err != nil || v.Str() != "10:20" {
					t.Errorf("%s = %v, %v", e, v, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkEval(b *testing.B) {
	for name, e := range numberExprs() {
		ev, err := Compile(e, CompileEnv{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = ev.Eval(benchRow)
			}
		})
	}
	uri := NewColumn(0, "uri", types.StringType)
	for name, e := range map[string]Expr{
		"like_prefix":    mk(NewLike(uri, String("/api/%"), "", false)),
		"like_regexp":    mk(NewLike(uri, String("/a_i/%/x%"), "", false)),
		"regexp_extract": mk(fns.Call("REGEXP_EXTRACT", uri, String(`/api/(\w+)`), Int(1))),
		"date_format":    mk(fns.Call("DATE_FORMAT", NewColumn(1, "ts", types.TimestampType), String("yyyy-MM-dd HH:mm"))),
		"substring":      mk(fns.Call("SUBSTRING", uri, Int(2), Int(3))),
	} {
		ev, err := Compile(e, CompileEnv{})
		if err != nil {
			b.Fatal(err)
		}
		row := []types.Value{types.StringValue("/api/users/x42"), types.IntValue(1773500966535)}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_, _ = ev.Eval(row)
			}
		})
	}
}
