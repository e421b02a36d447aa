package expr_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/weirstream/weir/sql/expr"
	"github.com/weirstream/weir/sql/types"
)

// A projection and a filter over a row (uri STRING, status INT), compiled
// once and evaluated per record.
func Example() {
	fns := expr.NewFunctions()
	uri := expr.NewColumn(0, "uri", types.StringType)
	status := expr.NewColumn(1, "status", types.IntType)

	upper, err := fns.Call("UPPER", uri)
	if err != nil {
		panic(err)
	}
	ge, _ := expr.NewCompare(expr.Ge, status, expr.Int(400))
	api, _ := expr.NewLike(uri, expr.String("/api/%"), "", false)
	cond, _ := expr.NewAnd(ge, api)

	proj, _ := expr.Compile(upper, expr.CompileEnv{})
	where, _ := expr.CompilePredicate(cond, expr.CompileEnv{})

	for _, row := range [][]types.Value{
		{types.StringValue("/api/x"), types.IntValue(404)},
		{types.StringValue("/home"), types.IntValue(500)},
	} {
		ok, _ := where.Test(row)
		v, _ := proj.Eval(row)
		fmt.Println(where, ok, v)
	}
	// Output:
	// ((status >= 400) AND (uri LIKE '/api/%')) true /API/X
	// ((status >= 400) AND (uri LIKE '/api/%')) false /HOME
}

// A Go function of the host program, registered by name and called from SQL.
func ExampleFunctions_Register() {
	fns := expr.NewFunctions()
	err := fns.Register("geo_country", expr.Func1(func(ip string) (string, error) {
		if strings.HasPrefix(ip, "10.") {
			return "private", nil
		}
		return "unknown", nil
	}))
	if err != nil {
		panic(err)
	}
	call, _ := fns.Call("GEO_COUNTRY", expr.NewColumn(0, "ip", types.StringType))
	ev, _ := expr.Compile(call, expr.CompileEnv{})
	v, _ := ev.Eval([]types.Value{types.StringValue("10.1.2.3")})
	fmt.Println(call, v)
	// Output: GEO_COUNTRY(ip) private
}

// HOUR of a TIMESTAMP_LTZ is read in the session time zone.
func ExampleCompileEnv() {
	fns := expr.NewFunctions()
	ts := expr.NewColumn(0, "ts", types.TimestampLTZType)
	hour, _ := fns.Call("HOUR", ts)
	row := []types.Value{types.TimeValue(time.Date(2026, 1, 1, 0, 30, 0, 0, time.UTC))}
	shanghai, _ := time.LoadLocation("Asia/Shanghai")
	for _, loc := range []*time.Location{time.UTC, shanghai} {
		ev, _ := expr.Compile(hour, expr.CompileEnv{Location: loc})
		v, _ := ev.Eval(row)
		fmt.Println(loc, v)
	}
	// Output:
	// UTC 0
	// Asia/Shanghai 8
}
