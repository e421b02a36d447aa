package table_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
)

type fakeFactory struct{ spec table.OptionSpec }

func (fakeFactory) Connector() string                          { return "filesystem" }
func (f fakeFactory) Options() table.OptionSpec                { return f.spec }
func (fakeFactory) Scan(table.ScanContext) (table.Scan, error) { return table.Scan{}, nil }

func registry(t *testing.T) *table.Registry {
	t.Helper()
	r := table.NewRegistry(nil)
	if err := r.Register(fakeFactory{table.OptionSpec{Required: []string{"path"}, Optional: []string{"follow"}, Format: true, Prefixes: []string{"properties."}}}); err != nil {
		t.Fatal(err)
	}
	return r
}

func opts(kv ...string) []table.Option {
	var o []table.Option
	for i := 0; i < len(kv); i += 2 {
		o = append(o, table.Option{Key: kv[i], Value: kv[i+1]})
	}
	return o
}

func TestResolve(t *testing.T) {
	r := registry(t)
	f, o, err := r.Resolve("access_log", opts("connector", "filesystem", "path", "/x", "format", "csv",
		"csv.field-delimiter", ";", "properties.any", "1"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Connector() != "filesystem" || o.String("csv.field-delimiter", "") != ";" || o.WithPrefix("properties.")["any"] != "1" {
		t.Fatalf("factory %s, options %v", f.Connector(), o.List())
	}

	for _, tt := range []struct {
		opts []table.Option
		want []string
	}{
		{opts("connector", "filesystem", "paht", "/x", "format", "json"), []string{
			"table access_log: unknown option 'paht' for connector 'filesystem'; its options are: connector, path, follow, scan.watermark.idle-timeout, format, json.ignore-parse-errors, properties.*",
			"table access_log: connector 'filesystem' needs option 'path': add it to the WITH clause"}},
		{opts("connector", "filesystem", "path", "/x"), []string{"needs option 'format' (one of: combined-log, csv, json, raw)"}},
		{opts("connector", "filesystem", "path", "/x", "format", "json", "csv.field-delimiter", ";"), []string{"unknown option 'csv.field-delimiter'"}},
		{opts("connector", "filesystem", "path", "/x", "format", "xml"), []string{"unknown format 'xml': the formats are: combined-log, csv, json, raw"}},
		{opts("connector", "filesystem", "path", "/x", "path", "/y", "format", "raw"), []string{"option 'path' is set twice"}},
		{opts("connector", "files"), []string{"unknown connector 'files': the connectors are: filesystem"}},
		{opts("connector", "filesystem", "path", "/x", "format", "raw", "scan.watermark.idle-timeout", "soon"), []string{"option 'scan.watermark.idle-timeout' is 'soon'"}},
		{opts("path", "/x"), []string{"no 'connector' option: add 'connector' = '…', one of: filesystem"}},
	} {
		_, _, err := r.Resolve("access_log", tt.opts)
		if err == nil {
			t.Errorf("%v: no error", tt.opts)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: error\n%v\nwant it to hold\n%s", tt.opts, err, w)
			}
		}
	}
	if err := r.Register(fakeFactory{}); err == nil {
		t.Fatal("registered 'filesystem' twice")
	}
}

func TestOptionValues(t *testing.T) {
	o := table.NewOptions("t", opts("d1", "10 s", "d2", "10s", "d3", "1min", "d4", "500", "d5", "2 h", "d6", "1m30s",
		"d7", "3 days", "bad", "ten", "b", "TRUE", "n", "42", "nb", "4x"))
	for key, want := range map[string]time.Duration{
		"d1": 10 * time.Second, "d2": 10 * time.Second, "d3": time.Minute, "d4": 500 * time.Millisecond,
		"d5": 2 * time.Hour, "d6": 90 * time.Second, "d7": 72 * time.Hour, "missing": 7,
	} {
		if got, err := o.Duration(key, 7); err != nil || got != want {
			t.Errorf("%s: %v, %v; want %v", key, got, err, want)
		}
	}
	if _, err := o.Duration("bad", 0); err == nil || !strings.Contains(err.Error(), "table t: option 'bad' is 'ten': it must be a duration such as '10 s'") {
		t.Errorf("bad duration: %v", err)
	}
	if b, err := o.Bool("b", false); err != nil || !b {
		t.Errorf("bool: %v, %v", b, err)
	}
	if _, err := o.Bool("n", false); err == nil || !strings.Contains(err.Error(), "option 'n' is '42': it must be 'true' or 'false'") {
		t.Errorf("bad bool: %v", err)
	}
	if n, err := o.Int("n", 0); err != nil || n != 42 {
		t.Errorf("int: %v, %v", n, err)
	}
	if _, err := o.Int("nb", 0); err == nil || !strings.Contains(err.Error(), "option 'nb' is '4x'") {
		t.Errorf("bad int: %v", err)
	}
}

func TestCache(t *testing.T) {
	var calls atomic.Int64
	fn := func(_ context.Context, keys []types.Value) ([]types.Row, error) {
		calls.Add(1)
		if keys[0].Int() == 0 {
			return nil, nil
		}
		return []types.Row{types.NewRow(keys[0], types.StringValue("v"))}, nil
	}
	now := time.Unix(0, 0)
	c := table.NewCache(fn, 2, time.Minute, func() time.Time { return now })
	get := func(k int64) []types.Row {
		rows, err := c.Lookup(context.Background(), []types.Value{types.IntValue(k)})
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	get(1)
	get(1)
	if rows := get(0); len(rows) != 0 || calls.Load() != 2 {
		t.Fatalf("rows %v, %d calls", rows, calls.Load())
	}
	get(0) // a missing key is cached too
	get(2) // evicts 1, the least recently used
	get(1)
	if calls.Load() != 4 {
		t.Fatalf("%d calls, want 4", calls.Load())
	}
	now = now.Add(time.Minute)
	get(1) // expired
	if hits, misses, size := c.Stats(); calls.Load() != 5 || hits != 2 || misses != 5 || size != 2 {
		t.Fatalf("%d calls, %d hits, %d misses, %d keys", calls.Load(), hits, misses, size)
	}

	cached, err := table.CachedLookup(table.NewOptions("dim", opts("lookup.cache.max-rows", "-1")), fn)
	if err == nil || cached != nil || !strings.Contains(err.Error(), "'lookup.cache.max-rows' is -1") {
		t.Fatalf("negative max-rows: %v", err)
	}
}
