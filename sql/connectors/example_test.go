package connectors_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sql/connectors"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
)

// A planner's use of the registry: resolve each table's options, then
// scan one table and print it into another.
func ExampleDefault() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bids.json")
	os.WriteFile(path, []byte("{\"auction\": 1, \"price\": 250}\n{\"auction\": \"two\"}\n{\"auction\": 3, \"price\": 90}\n"), 0o644)
	schema := types.Schema{{Name: "auction", Type: types.BigIntType}, {Name: "price", Type: types.BigIntType}}

	reg := connectors.Default(nil)
	env := weir.NewEnv(weir.Parallelism(1))

	src, opts, err := reg.Resolve("bids", []table.Option{
		{Key: "connector", Value: "filesystem"}, {Key: "path", Value: path}, {Key: "format", Value: "json"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	scan, err := src.(table.ScanFactory).Scan(table.ScanContext{Context: table.Context{
		Env: env, Table: "bids", Schema: schema, Options: opts,
	}})
	if err != nil {
		fmt.Println(err)
		return
	}

	snk, opts, err := reg.Resolve("out", []table.Option{{Key: "connector", Value: "print"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	err = snk.(table.SinkFactory).Sink(table.SinkContext{Context: table.Context{
		Env: env, Table: "out", Schema: schema, Options: opts, Stdout: os.Stdout,
	}}, scan.Rows)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := env.Execute(context.Background(), "example"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// +I[1, 250]
	// +I[3, 90]
}
