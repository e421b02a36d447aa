package expr

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/weirstream/weir/sql/types"
)

// condBuiltins are the functions whose arguments meet in a common type and
// are evaluated lazily: COALESCE, IFNULL, NULLIF and IF.
func condBuiltins() []*Function {
	coalesce := func(name string, minArgs, maxArgs int) *Function {
		return &Function{
			name: name,
			bind: func(args []Expr) ([]Expr, types.Type, error) {
				if len(args) < minArgs || (maxArgs > 0 && len(args) > maxArgs) {
					return nil, types.Type{}, fmt.Errorf("takes %d arguments, got %d", minArgs, len(args))
				}
				t, err := commonOf(args)
				if err != nil {
					return nil, types.Type{}, err
				}
				nn := false
				out := make([]Expr, len(args))
				for i, a := range args {
					nn = nn || a.Type().NotNull
					out[i] = Coerce(a, t)
				}
				t.NotNull = nn
				return out, t, nil
			},
			compile: func(_ *compiler, _ *Call, args []cexpr) (evalFn, error) {
				fns := argFns(args)
				return func(row []types.Value) (types.Value, error) {
					for _, f := range fns {
						v, err := f(row)
						if err != nil || !v.IsNull() {
							return v, err
						}
					}
					return types.Null, nil
				}, nil
			},
		}
	}
	nullif := &Function{
		name: "NULLIF",
		bind: func(args []Expr) ([]Expr, types.Type, error) {
			if len(args) != 2 {
				return nil, types.Type{}, fmt.Errorf("takes 2 arguments, got %d", len(args))
			}
			t, err := commonOf(args)
			if err != nil {
				return nil, types.Type{}, err
			}
			t.NotNull = false
			return []Expr{Coerce(args[0], t), Coerce(args[1], t)}, t, nil
		},
		compile: func(_ *compiler, call *Call, args []cexpr) (evalFn, error) {
			a, b := args[0].fn, args[1].fn
			eq := compareValues(call.T)
			return func(row []types.Value) (types.Value, error) {
				x, err := a(row)
				if err != nil || x.IsNull() {
					return types.Null, err
				}
				y, err := b(row)
				if err != nil {
					return types.Null, err
				}
				if !y.IsNull() && eq(x, y) {
					return types.Null, nil
				}
				return x, nil
			}, nil
		},
	}
	iff := &Function{
		name: "IF",
		bind: func(args []Expr) ([]Expr, types.Type, error) {
			if len(args) != 3 {
				return nil, types.Type{}, fmt.Errorf("takes 3 arguments, got %d", len(args))
			}
			if k := args[0].Type().Kind; k != types.Boolean && k != types.Unknown {
				return nil, types.Type{}, fmt.Errorf("argument 1 must be BOOLEAN")
			}
			t, err := commonOf(args[1:])
			if err != nil {
				return nil, types.Type{}, err
			}
			return []Expr{args[0], Coerce(args[1], t), Coerce(args[2], t)}, t, nil
		},
		compile: func(_ *compiler, _ *Call, args []cexpr) (evalFn, error) {
			c, a, b := args[0].fn, args[1].fn, args[2].fn
			return func(row []types.Value) (types.Value, error) {
				v, err := c(row)
				if err != nil {
					return types.Null, err
				}
				if v.Bool() {
					return a(row)
				}
				return b(row)
			}, nil
		},
	}
	return []*Function{coalesce("COALESCE", 1, 0), coalesce("IFNULL", 2, 2), nullif, iff,
		extreme("GREATEST", Gt), extreme("LEAST", Lt)}
}

// extreme is GREATEST or LEAST of values of a common type: NULL if any
// argument is NULL, as Flink.
func extreme(name string, op CmpOp) *Function {
	return &Function{
		name: name,
		bind: func(args []Expr) ([]Expr, types.Type, error) {
			if len(args) < 1 {
				return nil, types.Type{}, fmt.Errorf("takes at least 1 argument")
			}
			t, err := commonOf(args)
			if err != nil {
				return nil, types.Type{}, err
			}
			if t.Kind == types.Boolean || t.Kind == types.Record {
				return nil, types.Type{}, fmt.Errorf("cannot order %s values", typeName(t))
			}
			out := make([]Expr, len(args))
			for i, a := range args {
				out[i] = Coerce(a, t)
			}
			t.NotNull = false
			return out, t, nil
		},
		compile: func(_ *compiler, call *Call, args []cexpr) (evalFn, error) {
			cmp := order(call.T)
			want := 1
			if op == Lt {
				want = -1
			}
			return sN(args, func(vs []types.Value) (types.Value, error) {
				best := vs[0]
				for _, v := range vs[1:] {
					if cmp(v, best) == want {
						best = v
					}
				}
				return best, nil
			}), nil
		},
	}
}

// order returns the comparison of two non-NULL values of type t.
func order(t types.Type) func(a, b types.Value) int {
	switch t.Kind {
	case types.Double:
		return func(a, b types.Value) int { return cmp.Compare(a.Float(), b.Float()) }
	case types.String:
		return func(a, b types.Value) int { return strings.Compare(a.Str(), b.Str()) }
	}
	return func(a, b types.Value) int { return cmp.Compare(a.Int(), b.Int()) }
}
