package expr

import (
	"fmt"
	"math"
	"strings"

	"github.com/weirstream/weir/sql/types"
)

// param is what one argument of a built-in accepts.
type param struct {
	kinds []types.Kind
	// to, when its Kind is set, is the type the argument is cast to.
	to types.Type
	// lit requires a literal (a time unit keyword, a format).
	lit bool
}

var (
	kInts   = []types.Kind{types.Int, types.BigInt}
	kNum    = []types.Kind{types.Int, types.BigInt, types.Decimal, types.Double}
	kStr    = []types.Kind{types.String}
	kTime   = []types.Kind{types.Timestamp, types.TimestampLTZ}
	pStr    = param{kinds: kStr}
	pInt    = param{kinds: kInts, to: types.BigIntType}
	pDouble = param{kinds: kNum, to: types.DoubleType}
	pTime   = param{kinds: kTime}
	pUnit   = param{kinds: kStr, lit: true}
)

// spec declares a built-in with fixed parameters, the last `optional` of
// which may be left out; variadic makes the last parameter repeat.
type spec struct {
	name     string
	params   []param
	optional int
	variadic bool
	volatile bool
	// fix, if set, checks and rewrites the arguments after their kinds
	// passed (units, pairs that must agree).
	fix    func(args []Expr) ([]Expr, error)
	result func(args []types.Type) types.Type
	impl   func(c *compiler, call *Call, args []cexpr) (evalFn, error)
}

func kindList(ks []types.Kind) string {
	names := make([]string, len(ks))
	for i, k := range ks {
		names[i] = k.String()
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func (s spec) function() *Function {
	return &Function{
		name:     s.name,
		volatile: s.volatile,
		bind: func(args []Expr) ([]Expr, types.Type, error) {
			lo, hi := len(s.params)-s.optional, len(s.params)
			if s.variadic {
				hi = math.MaxInt
			}
			if len(args) < lo || len(args) > hi {
				switch {
				case s.variadic:
					return nil, types.Type{}, fmt.Errorf("takes at least %d arguments, got %d", lo, len(args))
				case lo == hi:
					return nil, types.Type{}, fmt.Errorf("takes %d arguments, got %d", lo, len(args))
				}
				return nil, types.Type{}, fmt.Errorf("takes %d to %d arguments, got %d", lo, hi, len(args))
			}
			out := make([]Expr, len(args))
			ts := make([]types.Type, len(args))
			for i, a := range args {
				p := s.params[min(i, len(s.params)-1)]
				k := a.Type().Kind
				if k != types.Unknown && !containsKind(p.kinds, k) {
					return nil, types.Type{}, fmt.Errorf("argument %d must be %s", i+1, kindList(p.kinds))
				}
				if _, ok := a.(*Literal); p.lit && !ok {
					return nil, types.Type{}, fmt.Errorf("argument %d must be a literal", i+1)
				}
				if p.to.Kind != types.Unknown {
					a = Coerce(a, p.to)
				}
				out[i], ts[i] = a, a.Type()
			}
			if s.fix != nil {
				var err error
				if out, err = s.fix(out); err != nil {
					return nil, types.Type{}, err
				}
				for i, a := range out {
					ts[i] = a.Type()
				}
			}
			t := s.result(ts)
			t.NotNull = false
			return out, t, nil
		},
		compile: s.impl,
	}
}

func containsKind(ks []types.Kind, k types.Kind) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func fixed(t types.Type) func([]types.Type) types.Type {
	return func([]types.Type) types.Type { return t }
}

func firstType(ts []types.Type) types.Type { return ts[0] }

// s1, s2 and s3 compile strict calls: a NULL argument makes the result NULL
// without calling f.
func s1(a cexpr, f func(x types.Value) (types.Value, error)) evalFn {
	af := a.fn
	return func(row []types.Value) (types.Value, error) {
		x, err := af(row)
		if err != nil || x.IsNull() {
			return types.Null, err
		}
		return f(x)
	}
}

func s2(a, b cexpr, f func(x, y types.Value) (types.Value, error)) evalFn {
	af, bf := a.fn, b.fn
	return func(row []types.Value) (types.Value, error) {
		x, err := af(row)
		if err != nil || x.IsNull() {
			return types.Null, err
		}
		y, err := bf(row)
		if err != nil || y.IsNull() {
			return types.Null, err
		}
		return f(x, y)
	}
}

func s3(a, b, c cexpr, f func(x, y, z types.Value) (types.Value, error)) evalFn {
	af, bf, cf := a.fn, b.fn, c.fn
	return func(row []types.Value) (types.Value, error) {
		x, err := af(row)
		if err != nil || x.IsNull() {
			return types.Null, err
		}
		y, err := bf(row)
		if err != nil || y.IsNull() {
			return types.Null, err
		}
		z, err := cf(row)
		if err != nil || z.IsNull() {
			return types.Null, err
		}
		return f(x, y, z)
	}
}

// sN compiles a strict call of any arity.
func sN(args []cexpr, f func(vs []types.Value) (types.Value, error)) evalFn {
	fns := argFns(args)
	return func(row []types.Value) (types.Value, error) {
		vs := make([]types.Value, len(fns))
		for i, fn := range fns {
			v, err := fn(row)
			if err != nil || v.IsNull() {
				return types.Null, err
			}
			vs[i] = v
		}
		return f(vs)
	}
}

func builtins() []*Function {
	var out []*Function
	for _, list := range [][]spec{mathBuiltins(), stringBuiltins(), timeBuiltins()} {
		for _, s := range list {
			out = append(out, s.function())
		}
	}
	return append(out, condBuiltins()...)
}

func mathFloat(name string, f func(float64) float64) spec {
	return spec{
		name: name, params: []param{pDouble}, result: fixed(types.DoubleType),
		impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
			return s1(a[0], func(x types.Value) (types.Value, error) { return types.FloatValue(f(x.Float())), nil }), nil
		},
	}
}

func mathBuiltins() []spec {
	specs := []spec{
		mathFloat("SQRT", math.Sqrt), mathFloat("LN", math.Log), mathFloat("LOG10", math.Log10),
		mathFloat("LOG2", math.Log2), mathFloat("EXP", math.Exp),
		{
			name: "POWER", params: []param{pDouble, pDouble}, result: fixed(types.DoubleType),
			impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
				return s2(a[0], a[1], func(x, y types.Value) (types.Value, error) {
					return types.FloatValue(math.Pow(x.Float(), y.Float())), nil
				}), nil
			},
		},
		{
			// LOG(x) is the natural logarithm, LOG(b, x) the logarithm to base b.
			name: "LOG", params: []param{pDouble, pDouble}, optional: 1, result: fixed(types.DoubleType),
			impl: func(_ *compiler, _ *Call, a []cexpr) (evalFn, error) {
				if len(a) == 1 {
					return s1(a[0], func(x types.Value) (types.Value, error) { return types.FloatValue(math.Log(x.Float())), nil }), nil
				}
				return s2(a[0], a[1], func(b, x types.Value) (types.Value, error) {
					return types.FloatValue(math.Log(x.Float()) / math.Log(b.Float())), nil
				}), nil
			},
		},
		{
			name: "MOD", params: []param{{kinds: []types.Kind{types.Int, types.BigInt, types.Decimal}}, {kinds: []types.Kind{types.Int, types.BigInt, types.Decimal}}},
			result: func(ts []types.Type) types.Type {
				a, _ := NewArith(Mod, NewColumn(0, "", ts[0]), NewColumn(1, "", ts[1]))
				return a.Type()
			},
			impl: func(c *compiler, call *Call, a []cexpr) (evalFn, error) {
				n, err := NewArith(Mod, call.Args[0], call.Args[1])
				if err != nil {
					return nil, err
				}
				ar := n.(*Arith)
				if ar.L != call.Args[0] || ar.R != call.Args[1] {
					// NewArith cast an operand (INT with DECIMAL): compile the casts.
					l, err := c.compile(ar.L)
					if err != nil {
						return nil, err
					}
					r, err := c.compile(ar.R)
					if err != nil {
						return nil, err
					}
					a = []cexpr{l, r}
				}
				return c.arith(ar, a[0], a[1])
			},
		},
		{
			name: "ABS", params: []param{{kinds: kNum}}, result: firstType,
			impl: func(_ *compiler, call *Call, a []cexpr) (evalFn, error) {
				t := call.Args[0].Type()
				if t.Kind == types.Double {
					return s1(a[0], func(x types.Value) (types.Value, error) { return types.FloatValue(math.Abs(x.Float())), nil }), nil
				}
				lo := int64(math.MinInt64)
				if t.Kind == types.Int {
					lo = math.MinInt32
				}
				return s1(a[0], func(x types.Value) (types.Value, error) {
					n := x.Int()
					if n == lo {
						return types.Null, ErrOverflow
					}
					if n < 0 {
						n = -n
					}
					return types.IntValue(n), nil
				}), nil
			},
		},
		roundSpec("FLOOR", math.Floor, -1), roundSpec("CEIL", math.Ceil, 1), roundSpec("CEILING", math.Ceil, 1),
		{
			// ROUND(x[, d]) rounds half away from zero to d digits (default
			// 0); d must be a literal so the DECIMAL result type is known.
			name: "ROUND", params: []param{{kinds: kNum}, {kinds: kInts, lit: true}}, optional: 1,
			result: func(ts []types.Type) types.Type { return ts[0] }, // refined in round()
			impl:   round,
		},
	}
	return specs
}

// roundSpec is FLOOR or CEIL of a number, or of a timestamp TO a unit.
func roundSpec(name string, f func(float64) float64, dir int64) spec {
	return spec{
		name: name, params: []param{{kinds: append(append([]types.Kind{}, kNum...), kTime...)}, pUnit}, optional: 1,
		fix: func(args []Expr) ([]Expr, error) {
			temporal := args[0].Type().Temporal()
			switch {
			case temporal && len(args) == 1:
				return nil, fmt.Errorf("%s of a timestamp needs a unit: %s(ts TO HOUR)", name, name)
			case !temporal && len(args) == 2:
				return nil, fmt.Errorf("%s(x TO unit) needs a timestamp, not %s", name, typeName(args[0].Type()))
			case temporal:
				_, err := unitArg(name, args[1], func(u string) bool { return floorUnits[u] }, "MILLISECOND, SECOND, MINUTE, HOUR, DAY, MONTH, QUARTER, YEAR")
				return args, err
			}
			return args, nil
		},
		result: func(ts []types.Type) types.Type {
			if ts[0].Kind == types.Decimal {
				return types.DecimalType(min(ts[0].Precision-ts[0].Scale+1, types.MaxDecimalPrecision), 0)
			}
			return ts[0]
		},
		impl: func(c *compiler, call *Call, a []cexpr) (evalFn, error) {
			t := call.Args[0].Type()
			if t.Temporal() {
				if len(a) != 2 {
					return nil, fmt.Errorf("%s of a timestamp needs a unit: %s(ts TO HOUR)", name, name)
				}
				return c.floorTime(t, a[0], a[1].val.Str(), dir > 0)
			}
			if len(a) != 1 {
				return nil, fmt.Errorf("%s(x TO unit) needs a timestamp, not %s", name, typeName(t))
			}
			switch t.Kind {
			case types.Double:
				return s1(a[0], func(x types.Value) (types.Value, error) { return types.FloatValue(f(x.Float())), nil }), nil
			case types.Decimal:
				d := pow10[t.Scale]
				return s1(a[0], func(x types.Value) (types.Value, error) {
					n := x.Int()
					q, r := n/d, n%d
					if r != 0 && (r > 0) == (dir > 0) {
						q += dir
					}
					return types.IntValue(q), nil
				}), nil
			}
			return a[0].fn, nil
		},
	}
}

// round is ROUND; its result type is fixed by its literal digits in bind.
func round(_ *compiler, call *Call, a []cexpr) (evalFn, error) {
	t := call.Args[0].Type()
	d := int64(0)
	if len(a) == 2 {
		d = a[1].val.Int()
	}
	switch t.Kind {
	case types.Double:
		p := math.Pow(10, float64(d))
		return s1(a[0], func(x types.Value) (types.Value, error) {
			f := x.Float()
			if math.IsInf(f, 0) || math.IsNaN(f) {
				return x, nil
			}
			return types.FloatValue(math.Round(f*p) / p), nil
		}), nil
	case types.Decimal:
		// The result keeps the operand's type; digits beyond d become zero.
		drop := int64(t.Scale) - d
		if drop <= 0 {
			return a[0].fn, nil
		}
		return s1(a[0], func(x types.Value) (types.Value, error) {
			if drop > 18 {
				return types.IntValue(0), nil
			}
			v := divRound(x.Int(), pow10[drop])
			return types.IntValue(v * pow10[drop]), nil
		}), nil
	}
	if d >= 0 {
		return a[0].fn, nil
	}
	if -d > 18 {
		return konst(types.IntValue(0)).fn, nil
	}
	m := pow10[-d]
	return s1(a[0], func(x types.Value) (types.Value, error) {
		return types.IntValue(divRound(x.Int(), m) * m), nil
	}), nil
}
