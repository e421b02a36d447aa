package connectors_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/source"
	"github.com/weirstream/weir/sql/connectors"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
	"github.com/weirstream/weir/weirtest"
)

var accessSchema = types.Schema{
	{Name: "uri", Type: types.StringType},
	{Name: "status", Type: types.IntType},
	{Name: "time_local", Type: types.TimestampLTZType},
	{Name: "remote_addr", Type: types.StringType},
}

const logLines = `10.0.0.1 - - [07/Dec/2026:03:00:01 +0000] "GET /a?x=1 HTTP/1.1" 200 12 "-" "curl"
10.0.0.2 - - [07/Dec/2026:03:00:02 +0000] "-" 400 0 "-" "-"
10.0.0.3 - - [07/Dec/2026:03:00:03 +0000] "POST /b HTTP/1.1" 302 0 "-" "curl"
10.0.0.4 - - [31/Feb/2026:03:00:04 +0000] "GET /c HTTP/1.1" 200 1 "-" "curl"
`

// TestFilesystemCombinedLog reads access logs through the combined-log
// format: page views come out as rows in the table's column order, the
// other lines as dead letters with pvuv's reasons.
func TestFilesystemCombinedLog(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "access.log"), []byte(logLines), 0o644)
	rows, dead := scan(t, accessSchema, nil, "connector", "filesystem", "path", filepath.Join(dir, "*.log"), "format", "combined-log")
	if len(rows) != 2 {
		t.Fatalf("rows %v", rows)
	}
	at := time.Date(2026, 12, 7, 3, 0, 1, 0, time.UTC).UnixMilli()
	wantRow(t, rows[0], s("/a"), n(200), n(at), s("10.0.0.1"))
	wantRow(t, rows[1], s("/b"), n(302), n(at+2000), s("10.0.0.3"))
	reasons := []string{dead[0].Reason, dead[1].Reason}
	slices.Sort(reasons)
	if len(dead) != 2 || strings.Join(reasons, "|") != "bad request line|impossible date" {
		t.Fatalf("dead letters %+v", dead)
	}
	if !bytes.HasPrefix(dead[0].Raw, []byte("10.0.0.")) {
		t.Fatalf("dead letter raw %q", dead[0].Raw)
	}
}

// TestFilesystemWatermark checks that the table's watermark is applied:
// rows carry their event time.
func TestFilesystemWatermark(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "access.log"), []byte(logLines), 0o644)
	env := weir.NewEnv(weir.Parallelism(1))
	f, c := resolve(t, env, "t", accessSchema, "connector", "filesystem", "path", filepath.Join(dir, "access.log"), "format", "combined-log")
	wm := &table.Watermark{Column: "time_local", Time: func(r types.Row) int64 { return r.Values[2].Int() }, MaxOutOfOrderness: 5 * time.Second}
	sc, err := f.(table.ScanFactory).Scan(table.ScanContext{Context: c, Watermark: wm})
	if err != nil {
		t.Fatal(err)
	}
	times := weirtest.NewCollector[int64]()
	stamped := weir.Process(sc.Rows, func(ctx *weir.Context, r types.Row, out weir.Emitter[int64]) error {
		ts, ok := ctx.Timestamp()
		if !ok {
			t.Error("a row without event time")
		}
		out.Emit(ts.UnixMilli() - r.Values[2].Int())
		return nil
	})
	weir.SinkTo(stamped, times)
	run(t, env)
	if got := times.Records(); len(got) != 2 || got[0] != 0 || got[1] != 0 {
		t.Fatalf("event time minus time_local: %v", got)
	}
}

// TestFilesystemSink writes rows through the csv format, without and with
// checkpoints (exactly-once part files), and reads them back; the sink
// refuses an updating input.
func TestFilesystemSink(t *testing.T) {
	t.Run("plain", func(t *testing.T) { testFilesystemSink(t) })
	t.Run("checkpoints", func(t *testing.T) {
		testFilesystemSink(t, weir.Checkpoints(20*time.Millisecond, "file://"+t.TempDir()))
	})
}

func testFilesystemSink(t *testing.T, opts ...weir.EnvOption) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.json")
	os.WriteFile(in, []byte(`{"id": 1, "name": "a,b"}
{"id": "x"}
{"id": 2}
`), 0o644)
	schema := types.Schema{{Name: "id", Type: types.BigIntType}, {Name: "name", Type: types.StringType}}
	out := filepath.Join(dir, "out.csv")

	env := weir.NewEnv(append(opts, weir.Parallelism(1))...)
	src, sc := resolve(t, env, "src", schema, "connector", "filesystem", "path", in, "format", "json")
	scan, err := src.(table.ScanFactory).Scan(table.ScanContext{Context: sc})
	if err != nil {
		t.Fatal(err)
	}
	dead := weirtest.NewCollector[source.DeadLetter]()
	weir.SinkTo(scan.DeadLetters, dead)
	snk, kc := resolve(t, env, "dst", schema, "connector", "filesystem", "path", out, "format", "csv")
	if err := snk.(table.SinkFactory).Sink(table.SinkContext{Context: kc}, scan.Rows); err != nil {
		t.Fatal(err)
	}
	run(t, env)
	got, _ := os.ReadFile(out)
	if string(got) != "1,\"a,b\"\n2,\n" {
		t.Fatalf("wrote %q", got)
	}
	if d := dead.Records(); len(d) != 1 || !strings.Contains(d[0].Reason, "column id") || string(d[0].Raw) != `{"id": "x"}` {
		t.Fatalf("dead letters %+v", d)
	}

	err = snk.(table.SinkFactory).Sink(table.SinkContext{Context: kc, Updating: true}, scan.Rows)
	wantErr(t, err, "table dst: connector 'filesystem' only appends rows, but the query updates its result")
}

func TestFilesystemOptions(t *testing.T) {
	_, _, err := connectors.Default(nil).Resolve("access_log", []table.Option{{Key: "connector", Value: "filesystem"}, {Key: "paht", Value: "x"}, {Key: "format", Value: "csv"}})
	wantErr(t, err, "table access_log: unknown option 'paht' for connector 'filesystem'; its options are: connector, path, follow, source.max-line-size, scan.watermark.idle-timeout, format, csv.field-delimiter, csv.quote-character",
		"needs option 'path'")

	env := weir.NewEnv()
	f, c := resolve(t, env, "t", accessSchema, "connector", "filesystem", "path", "/x", "format", "combined-log", "follow", "yes")
	_, err = f.(table.ScanFactory).Scan(table.ScanContext{Context: c})
	wantErr(t, err, "table t: option 'follow' is 'yes': it must be 'true' or 'false'")

	f, c = resolve(t, env, "t", types.Schema{{Name: "url", Type: types.StringType}}, "connector", "filesystem", "path", "/x", "format", "combined-log")
	_, err = f.(table.ScanFactory).Scan(table.ScanContext{Context: c})
	wantErr(t, err, "column url is not a column of format 'combined-log'")

	f, c = resolve(t, env, "t", accessSchema, "connector", "filesystem", "path", "/x", "format", "combined-log")
	err = f.(table.SinkFactory).Sink(table.SinkContext{Context: c}, weir.Stream[types.Row]{})
	wantErr(t, err, "format 'combined-log' only reads")
}
