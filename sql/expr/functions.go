package expr

import (
	"fmt"
	"sort"
	"strings"

	"github.com/weirstream/weir/sql/types"
)

// Functions is a registry of scalar functions, looked up by name
// case-insensitively. NewFunctions returns one with the built-in functions;
// the host program adds its Go functions with Register. A Functions is a
// value the planner holds, never a global; it is safe for concurrent
// lookups once registration is done.
type Functions struct {
	m map[string]*Function
}

// Function is one scalar function of a registry: a built-in or a
// registered Go function.
type Function struct {
	name     string
	volatile bool
	// bind checks the argument types, casts the arguments to what the
	// function takes and returns the result type.
	bind    func(args []Expr) ([]Expr, types.Type, error)
	compile func(c *compiler, call *Call, args []cexpr) (evalFn, error)
}

// Name is the function's name in upper case.
func (f *Function) Name() string { return f.name }

// Volatile reports whether the function's result depends on more than its
// arguments (the clock): such a call is evaluated per record, never folded.
func (f *Function) Volatile() bool { return f.volatile }

// NewFunctions returns a registry holding the built-in functions (see the
// package documentation for the list).
func NewFunctions() *Functions {
	fs := &Functions{m: map[string]*Function{}}
	for _, b := range builtins() {
		fs.m[b.name] = b
	}
	return fs
}

// Lookup returns the function named name (any case).
func (fs *Functions) Lookup(name string) (*Function, bool) {
	f, ok := fs.m[strings.ToUpper(name)]
	return f, ok
}

// Names returns the names of all functions, sorted.
func (fs *Functions) Names() []string {
	out := make([]string, 0, len(fs.m))
	for n := range fs.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Call returns the call name(args…), with the argument types checked and
// the arguments cast implicitly to what the function takes. An unknown name
// or a wrong argument is an error that shows the call's signature, e.g.
// "SUBSTRING(STRING, STRING): argument 2 must be INT or BIGINT".
//
// Functions whose SQL syntax has keywords take them as STRING literals:
// EXTRACT(HOUR FROM ts) is Call("EXTRACT", String("HOUR"), ts),
// FLOOR(ts TO MINUTE) is Call("FLOOR", ts, String("MINUTE")),
// TIMESTAMPADD(DAY, n, ts) is Call("TIMESTAMPADD", String("DAY"), n, ts),
// POSITION(a IN b) is Call("POSITION", a, b) and
// TRIM(BOTH/LEADING/TRAILING c FROM s) is TRIM/LTRIM/RTRIM(s, c).
func (fs *Functions) Call(name string, args ...Expr) (Expr, error) {
	f, ok := fs.Lookup(name)
	if !ok {
		return nil, fmt.Errorf("expr: no function named %s: register the Go function with Functions.Register, or check the spelling", strings.ToUpper(name))
	}
	return f.Call(args...)
}

// Call returns the call of f with args; see Functions.Call.
func (f *Function) Call(args ...Expr) (Expr, error) {
	cast, t, err := f.bind(args)
	if err != nil {
		return nil, fmt.Errorf("expr: %s: %w", signature(f.name, args), err)
	}
	return &Call{Func: f, Args: cast, T: t}, nil
}

func signature(name string, args []Expr) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = typeName(a.Type())
	}
	return name + "(" + strings.Join(parts, ", ") + ")"
}

// Scalar describes a Go function callable from SQL: its SQL argument and
// result types and its body.
type Scalar struct {
	// Args are the SQL types of the arguments. Arguments of other types are
	// cast to these implicitly when CommonType allows it (an INT argument
	// to a BIGINT parameter); others are refused when the call is planned.
	Args []types.Type
	// Variadic makes the last of Args repeat (zero or more times).
	Variadic bool
	// Result is the SQL type of the result. Eval's non-NULL results must be
	// held as this type is (see types.Value).
	Result types.Type
	// Eval computes the result. It must be safe for concurrent use and must
	// not keep args. An error is a run-time error of the expression.
	Eval func(args []types.Value) (types.Value, error)
	// CallOnNull passes NULL arguments to Eval; by default a NULL argument
	// makes the result NULL without calling Eval.
	CallOnNull bool
	// Volatile marks a function whose result depends on more than its
	// arguments; it is then never evaluated at compile time.
	Volatile bool
}

// Register adds the Go function s under name (case-insensitive). It is an
// error to register a name twice or to shadow a built-in. CREATE FUNCTION
// f AS 'name' in SQL binds a catalog name to a function registered here.
func (fs *Functions) Register(name string, s Scalar) error {
	key := strings.ToUpper(name)
	switch {
	case key == "":
		return fmt.Errorf("expr: Register: the function name is empty")
	case s.Eval == nil:
		return fmt.Errorf("expr: Register %s: Scalar.Eval is nil: give the function a body", key)
	case s.Variadic && len(s.Args) == 0:
		return fmt.Errorf("expr: Register %s: a Variadic function needs at least one type in Args", key)
	case fs.m[key] != nil:
		return fmt.Errorf("expr: Register %s: a function of that name exists already: pick another name", key)
	}
	fs.m[key] = udf(key, s)
	return nil
}

func udf(name string, s Scalar) *Function {
	return &Function{
		name:     name,
		volatile: s.Volatile,
		bind: func(args []Expr) ([]Expr, types.Type, error) {
			if len(args) < len(s.Args)-b2i(s.Variadic) || (!s.Variadic && len(args) != len(s.Args)) {
				return nil, types.Type{}, fmt.Errorf("takes %d arguments, got %d", len(s.Args), len(args))
			}
			out := make([]Expr, len(args))
			for i, a := range args {
				want := s.Args[min(i, len(s.Args)-1)]
				if a.Type().Kind != types.Unknown && a.Type().Kind != want.Kind {
					// Only widening: an INT to a BIGINT parameter, never a
					// DOUBLE to a BIGINT one.
					if ct, err := CommonType(a.Type(), want); err != nil || ct.Kind != want.Kind {
						return nil, types.Type{}, fmt.Errorf("argument %d must be %s", i+1, typeName(want))
					}
				}
				out[i] = Coerce(a, want)
			}
			t := s.Result
			t.NotNull = false
			return out, t, nil
		},
		compile: func(c *compiler, call *Call, args []cexpr) (evalFn, error) {
			fns := argFns(args)
			eval, onNull := s.Eval, s.CallOnNull
			return func(row []types.Value) (types.Value, error) {
				vs := make([]types.Value, len(fns))
				for i, f := range fns {
					v, err := f(row)
					if err != nil {
						return types.Null, err
					}
					if v.IsNull() && !onNull {
						return types.Null, nil
					}
					vs[i] = v
				}
				return eval(vs)
			}, nil
		},
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func argFns(args []cexpr) []evalFn {
	fns := make([]evalFn, len(args))
	for i, a := range args {
		fns[i] = a.fn
	}
	return fns
}

// GoType is a Go type that Func1 and Func2 map to a SQL type: string is
// STRING, int64 BIGINT, int32 INT, float64 DOUBLE, bool BOOLEAN.
type GoType interface {
	string | int64 | int32 | float64 | bool
}

// Func1 makes a Scalar of a one-argument Go function; NULL in gives NULL
// out without calling fn.
//
//	fns.Register("geo_country", expr.Func1(geo.Country)) // func(ip string) (string, error)
func Func1[A, R GoType](fn func(A) (R, error)) Scalar {
	return Scalar{
		Args:   []types.Type{sqlType[A]()},
		Result: sqlType[R](),
		Eval: func(args []types.Value) (types.Value, error) {
			r, err := fn(goValue[A](args[0]))
			if err != nil {
				return types.Null, err
			}
			return sqlValue(r), nil
		},
	}
}

// Func2 makes a Scalar of a two-argument Go function, as Func1.
func Func2[A, B, R GoType](fn func(A, B) (R, error)) Scalar {
	return Scalar{
		Args:   []types.Type{sqlType[A](), sqlType[B]()},
		Result: sqlType[R](),
		Eval: func(args []types.Value) (types.Value, error) {
			r, err := fn(goValue[A](args[0]), goValue[B](args[1]))
			if err != nil {
				return types.Null, err
			}
			return sqlValue(r), nil
		},
	}
}

func sqlType[T GoType]() types.Type {
	var z T
	switch any(z).(type) {
	case string:
		return types.StringType
	case int64:
		return types.BigIntType
	case int32:
		return types.IntType
	case float64:
		return types.DoubleType
	}
	return types.BooleanType
}

func goValue[T GoType](v types.Value) T {
	var out T
	switch p := any(&out).(type) {
	case *string:
		*p = v.Str()
	case *int64:
		*p = v.Int()
	case *int32:
		*p = int32(v.Int())
	case *float64:
		*p = v.Float()
	case *bool:
		*p = v.Bool()
	}
	return out
}

func sqlValue[T GoType](r T) types.Value {
	switch x := any(r).(type) {
	case string:
		return types.StringValue(x)
	case int64:
		return types.IntValue(x)
	case int32:
		return types.IntValue(int64(x))
	case float64:
		return types.FloatValue(x)
	case bool:
		return types.BoolValue(x)
	}
	return types.Null
}
