package connectors_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/sql/connectors"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// resolve checks options as the planner does and returns the context of a
// factory call.
func resolve(t *testing.T, env *weir.Env, name string, schema types.Schema, kv ...string) (table.Factory, table.Context) {
	t.Helper()
	var opts []table.Option
	for i := 0; i < len(kv); i += 2 {
		opts = append(opts, table.Option{Key: kv[i], Value: kv[i+1]})
	}
	f, o, err := connectors.Default(nil).Resolve(name, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, table.Context{Env: env, Table: name, Schema: schema.Flatten(), Options: o}
}

// scan runs a bounded scan of a table to its end and returns its rows and
// dead letters.
func scan(t *testing.T, schema types.Schema, wm *table.Watermark, kv ...string) ([]types.Row, []source.DeadLetter) {
	t.Helper()
	env := weir.NewEnv(weir.Parallelism(1))
	f, c := resolve(t, env, "t", schema, kv...)
	s, err := f.(table.ScanFactory).Scan(table.ScanContext{Context: c, Watermark: wm})
	if err != nil {
		t.Fatal(err)
	}
	if !s.Bounded {
		t.Fatal("the scan is not bounded")
	}
	rows, dead := weirtest.NewCollector[types.Row](), weirtest.NewCollector[source.DeadLetter]()
	weir.SinkTo(s.Rows, rows)
	weir.SinkTo(s.DeadLetters, dead)
	run(t, env)
	// Every dead letter is counted by the source's metrics too.
	var counted int64
	for _, m := range env.Metrics() {
		counted += m.DeadLetters
	}
	if counted != int64(dead.Len()) {
		t.Fatalf("%d dead letters counted, %d sent", counted, dead.Len())
	}
	return rows.Records(), dead.Records()
}

func run(t *testing.T, env *weir.Env) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := env.Execute(ctx, t.Name()); err != nil {
		t.Fatal(err)
	}
}

func wantRow(t *testing.T, got types.Row, want ...types.Value) {
	t.Helper()
	if len(got.Values) != len(want) {
		t.Fatalf("row %v, want %v", got.Values, want)
	}
	for i := range want {
		if !got.Values[i].Equal(want[i]) {
			t.Fatalf("value %d = %v, want %v (row %v)", i, got.Values[i], want[i], got.Values)
		}
	}
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one with %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error\n%v\nwant it to hold %q", err, p)
		}
	}
}

func s(v string) types.Value { return types.StringValue(v) }
func n(v int64) types.Value  { return types.IntValue(v) }
