package connectors_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/sql/connectors"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

// lockedBuffer is an io.Writer safe for the sink's writers.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestPrint prints a changelog as Flink does, to the Context's writer.
func TestPrint(t *testing.T) {
	schema := types.Schema{{Name: "uri", Type: types.StringType}, {Name: "views", Type: types.BigIntType},
		{Name: "w", Type: types.TimestampLTZType}, {Name: "avg", Type: types.DecimalType(10, 2)}}
	rows := []types.Row{
		types.NewRow(s("/a"), n(1), n(60_000), n(150)),
		{Kind: types.UpdateBefore, Values: []types.Value{s("/a"), n(1), n(60_000), n(150)}},
		{Kind: types.UpdateAfter, Values: []types.Value{s("/a"), n(2), n(60_000), types.Null}},
		{Kind: types.Delete, Values: []types.Value{s("/a"), n(2), n(60_000), types.Null}},
	}
	env := weir.NewEnv(weir.Parallelism(1))
	var out lockedBuffer
	f, c := resolve(t, env, "out", schema, "connector", "print")
	c.Stdout = &out
	if err := f.(table.SinkFactory).Sink(table.SinkContext{Context: c, Updating: true}, weir.FromSource(env, weirtest.FromSlice(rows...))); err != nil {
		t.Fatal(err)
	}
	f, c = resolve(t, env, "nothing", schema, "connector", "blackhole")
	if err := f.(table.SinkFactory).Sink(table.SinkContext{Context: c, Updating: true}, weir.FromSource(env, weirtest.FromSlice(rows...))); err != nil {
		t.Fatal(err)
	}
	run(t, env)
	want := `+I[/a, 1, 1970-01-01 00:01:00.000, 1.50]
-U[/a, 1, 1970-01-01 00:01:00.000, 1.50]
+U[/a, 2, 1970-01-01 00:01:00.000, NULL]
-D[/a, 2, 1970-01-01 00:01:00.000, NULL]
`
	if got := out.String(); got != want {
		t.Fatalf("printed\n%s\nwant\n%s", got, want)
	}
	if got := string(connectors.FormatRow(nil, rows[0], schema, nil)); got != "+I[/a, 1, 1970-01-01 00:01:00.000, 1.50]" {
		t.Fatalf("FormatRow: %s", got)
	}
	_, _, err := connectors.Default(nil).Resolve("out", []table.Option{{Key: "connector", Value: "print"}, {Key: "format", Value: "json"}})
	wantErr(t, err, "unknown option 'format' for connector 'print'; its options are: connector, print-identifier")
	if strings.Contains(out.String(), "nothing") {
		t.Fatal("blackhole printed")
	}
}

// TestDatagenAccessLog generates access lines: the good ones are rows, the
// malformed ones dead letters, and together they are all the lines.
func TestDatagenAccessLog(t *testing.T) {
	rows, dead := scan(t, accessSchema, nil, "connector", "datagen", "kind", "access-log", "number-of-rows", "500", "seed", "7", "bad-line-ratio", "0.1")
	if len(rows)+len(dead) != 500 || len(rows) == 0 || len(dead) == 0 {
		t.Fatalf("%d rows and %d dead letters, want 500 in all with some of each", len(rows), len(dead))
	}
	for _, r := range rows {
		if !strings.HasPrefix(r.Values[0].Str(), "/") || r.Values[1].Int() < 100 || r.Values[2].IsNull() {
			t.Fatalf("row %v", r.Values)
		}
	}
	// The rows and the reasons are those of the PV/UV parser on the same
	// lines.
	g, err := datagen.New(datagen.Seed(7), datagen.BadLineRatio(0.1))
	if err != nil {
		t.Fatal(err)
	}
	var good int
	reasons := map[string]int{}
	for range 500 {
		line, _ := g.Next(nil)
		var h pvuv.Hit
		if r := pvuv.ParseInto(line, &h); r != "" {
			reasons[r]++
		} else {
			good++
		}
	}
	for _, d := range dead {
		reasons[d.Reason]--
	}
	for r, n := range reasons {
		if n != 0 {
			t.Fatalf("reason %q: %d more from pvuv than dead letters", r, n)
		}
	}
	if good != len(rows) {
		t.Fatalf("%d rows, pvuv counts %d page views", len(rows), good)
	}

	again, _ := scan(t, accessSchema, nil, "connector", "datagen", "number-of-rows", "500", "seed", "7", "bad-line-ratio", "0.1")
	for i := range rows {
		wantRow(t, again[i], rows[i].Values...)
	}
}

// TestDatagenNexmark generates Nexmark events as rows of Flink's Nexmark
// schema, flattened.
func TestDatagenNexmark(t *testing.T) {
	schema := types.Schema{
		{Name: "event_type", Type: types.IntType},
		{Name: "bid", Type: types.Type{Kind: types.Record, Fields: []types.Field{
			{Name: "auction", Type: types.BigIntType}, {Name: "price", Type: types.BigIntType}, {Name: "dateTime", Type: types.TimestampType},
		}}},
		{Name: "person", Type: types.Type{Kind: types.Record, Fields: []types.Field{{Name: "name", Type: types.StringType}}}},
		{Name: "dateTime", Type: types.TimestampType},
	}
	rows, dead := scan(t, schema, nil, "connector", "datagen", "kind", "nexmark", "number-of-rows", "100")
	if len(rows) != 100 || len(dead) != 0 {
		t.Fatalf("%d rows, %d dead letters", len(rows), len(dead))
	}
	kinds := map[int64]int{}
	for _, r := range rows {
		kinds[r.Values[0].Int()]++
		switch r.Values[0].Int() {
		case 2: // bid
			if r.Values[1].IsNull() || r.Values[3].Int() != r.Values[5].Int() || !r.Values[4].IsNull() {
				t.Fatalf("bid row %v", r.Values)
			}
		case 0: // person
			if !r.Values[1].IsNull() || r.Values[4].Str() == "" {
				t.Fatalf("person row %v", r.Values)
			}
		}
	}
	if kinds[0] == 0 || kinds[1] == 0 || kinds[2] == 0 {
		t.Fatalf("event types %v", kinds)
	}

	env := weir.NewEnv()
	f, c := resolve(t, env, "nx", types.Schema{{Name: "bid.cost", Type: types.BigIntType}}, "connector", "datagen", "kind", "nexmark")
	_, err := f.(table.ScanFactory).Scan(table.ScanContext{Context: c})
	wantErr(t, err, "table nx: column bid.cost is not a column of datagen kind 'nexmark': its columns are: event_type, person.id")
	f, c = resolve(t, env, "nx", schema, "connector", "datagen", "kind", "tpch")
	_, err = f.(table.ScanFactory).Scan(table.ScanContext{Context: c})
	wantErr(t, err, "option 'kind' is 'tpch': use 'access-log' or 'nexmark'")
}
