package format_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/sql/format"
	"github.com/weirstream/weir/sql/types"
)

func cfg(schema types.Schema, opts map[string]string) format.Config {
	return format.Config{Table: "t", Schema: schema, Options: opts}
}

func decoder(t *testing.T, f format.Format, c format.Config) format.Decoder {
	t.Helper()
	d, err := f.Decoder(c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func encoder(t *testing.T, f format.Format, c format.Config) format.Encoder {
	t.Helper()
	e, err := f.Encoder(c)
	if err != nil {
		t.Fatal(err)
	}
	return e
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

var nested = types.Schema{
	{Name: "id", Type: types.BigIntType},
	{Name: "name", Type: types.StringType},
	{Name: "bid", Type: types.Type{Kind: types.Record, Fields: []types.Field{
		{Name: "price", Type: types.DecimalType(10, 2)},
		{Name: "at", Type: types.TimestampType},
	}}},
	{Name: "ok", Type: types.BooleanType},
	{Name: "score", Type: types.DoubleType},
}.Flatten()

func TestJSONDecode(t *testing.T) {
	dec := decoder(t, format.JSON{}, cfg(nested, nil))
	row, err := dec([]byte(`{"id": 7, "name": "ann", "bid": {"price": 12.5, "at": "2026-12-07 03:14:29.123"}, "ok": true, "score": 0.5, "extra": [1]}`))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 3, 14, 29, 123e6, time.UTC).UnixMilli()
	wantRow(t, row, types.IntValue(7), types.StringValue("ann"), types.IntValue(1250), types.IntValue(at),
		types.BoolValue(true), types.FloatValue(0.5))

	// A missing field and a null are NULL; a missing object too.
	row, err = dec([]byte(`{"id": null}`))
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, row, types.Null, types.Null, types.Null, types.Null, types.Null, types.Null)
}

func TestJSONDecodeErrors(t *testing.T) {
	dec := decoder(t, format.JSON{}, cfg(nested, nil))
	for _, tt := range []struct{ in, reason string }{
		{`{"id": "seven"}`, "column id"},
		{`{"id": 1.5}`, "column id"},
		{`{"bid": {"price": 1.234}}`, "column bid.price"},
		{`{"bid": 3}`, "column bid.price: expected an object"},
		{`{"ok": 1}`, "column ok"},
		{`[1, 2]`, "not a JSON object"},
		{`{"id": 1`, "not a JSON object"},
		{`null`, "not a JSON object"},
		{`{} {}`, "more than one"},
	} {
		_, err := dec([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s: error %v, want one with %q", tt.in, err, tt.reason)
		}
	}
	lenient := decoder(t, format.JSON{}, cfg(nested, map[string]string{"json.ignore-parse-errors": "true"}))
	row, err := lenient([]byte(`{"id": "seven", "name": "x"}`))
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, row, types.Null, types.StringValue("x"), types.Null, types.Null, types.Null, types.Null)
}

func TestJSONRoundTrip(t *testing.T) {
	c := cfg(nested, nil)
	enc, dec := encoder(t, format.JSON{}, c), decoder(t, format.JSON{}, c)
	in := types.NewRow(types.IntValue(-3), types.StringValue("quote \" and \\ and é"), types.IntValue(-5),
		types.IntValue(1700000000123), types.Null, types.FloatValue(1e-9))
	line := enc(nil, in)
	if want := `{"id":-3,"name":"quote \" and \\ and é","bid":{"price":-0.05,"at":"2023-11-14 22:13:20.123"},"ok":null,"score":1e-09}`; string(line) != want {
		t.Fatalf("encoded %s\nwant    %s", line, want)
	}
	out, err := dec(line)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, out, in.Values...)
}

func TestCSV(t *testing.T) {
	schema := types.Schema{
		{Name: "a", Type: types.IntType}, {Name: "b", Type: types.StringType},
		{Name: "c", Type: types.TimestampLTZType}, {Name: "d", Type: types.DecimalType(5, 1)},
	}
	dec := decoder(t, format.CSV{}, cfg(schema, map[string]string{"csv.field-delimiter": ";", "csv.quote-character": "'"}))
	row, err := dec([]byte(`12;'it''s; here';2026-12-07 03:14:29Z;-1.5`))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 7, 3, 14, 29, 0, time.UTC).UnixMilli()
	wantRow(t, row, types.IntValue(12), types.StringValue("it's; here"), types.IntValue(at), types.IntValue(-15))
	row, err = dec([]byte(`;;;`))
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, row, types.Null, types.StringValue(""), types.Null, types.Null)
	for _, tt := range []struct{ in, reason string }{
		{`1;b;;`, ""},
		{`1;b`, "2 fields, the table has 4 columns"},
		{`1;b;;;;;;`, "the table has 4 columns"},
		{`x;b;;`, "column a"},
		{`3000000000;b;;`, "column a"},
		{`1;'b;;`, "quote not closed"},
		{`1;'b'x;;`, "text after the closing quote"},
		{`1;b;yesterday;`, "column c"},
		{`1;b;;1.25`, "column d"},
	} {
		_, err := dec([]byte(tt.in))
		if tt.reason == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("%s: error %v, want one with %q", tt.in, err, tt.reason)
		}
	}

	c := cfg(schema, nil)
	enc, dec := encoder(t, format.CSV{}, c), decoder(t, format.CSV{}, c)
	in := types.NewRow(types.IntValue(-1), types.StringValue(`a,"b"`), types.IntValue(at), types.IntValue(123))
	line := enc(nil, in)
	if want := `-1,"a,""b""",2026-12-07 03:14:29.000,12.3`; string(line) != want {
		t.Fatalf("encoded %s, want %s", line, want)
	}
	out, err := dec(line)
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, out, in.Values...)

	if _, err := (format.CSV{}).Decoder(cfg(schema, map[string]string{"csv.field-delimiter": "ab"})); err == nil ||
		!strings.Contains(err.Error(), "'csv.field-delimiter'") {
		t.Fatalf("two-character delimiter: %v", err)
	}
}

func TestRaw(t *testing.T) {
	schema := types.Schema{{Name: "line", Type: types.StringType}}
	dec := decoder(t, format.Raw{}, cfg(schema, nil))
	row, err := dec([]byte("any \x00 bytes"))
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, row, types.StringValue("any \x00 bytes"))
	if got := encoder(t, format.Raw{}, cfg(schema, nil))(nil, row); string(got) != "any \x00 bytes" {
		t.Fatalf("encoded %q", got)
	}
	if _, err := (format.Raw{}).Decoder(cfg(append(schema, schema[0]), nil)); err == nil || !strings.Contains(err.Error(), "exactly one STRING column") {
		t.Fatalf("two columns: %v", err)
	}
}

const combined = `203.0.113.9 - - [24/Nov/2026:07:40:13 +0100] "GET /a/b?x=1 HTTP/1.1" 200 512 "https://ref/" "Mozilla/5.0 (X11; \"Linux\")"`

func TestCombinedLog(t *testing.T) {
	dec := decoder(t, format.CombinedLog{}, cfg(format.CombinedLogColumns, nil))
	row, err := dec([]byte(combined))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 24, 6, 40, 13, 0, time.UTC).UnixMilli()
	wantRow(t, row, types.StringValue("203.0.113.9"), types.IntValue(at), types.StringValue("GET"),
		types.StringValue("/a/b?x=1"), types.StringValue("/a/b"), types.StringValue("HTTP/1.1"), types.IntValue(200),
		types.IntValue(512), types.StringValue("https://ref/"), types.StringValue(`Mozilla/5.0 (X11; \"Linux\")`))

	// The common format has no referrer and no agent: NULL. '-' bytes are 0.
	row, err = dec([]byte(`[::1] - frank [10/Oct/2000:13:55:36 -0700] "POST /x HTTP/1.0" 302 -`))
	if err != nil {
		t.Fatal(err)
	}
	at = time.Date(2000, 10, 10, 20, 55, 36, 0, time.UTC).UnixMilli()
	wantRow(t, row, types.StringValue("[::1]"), types.IntValue(at), types.StringValue("POST"), types.StringValue("/x"),
		types.StringValue("/x"), types.StringValue("HTTP/1.0"), types.IntValue(302), types.IntValue(0), types.Null, types.Null)

	// A subset of the columns, in any order.
	sub := decoder(t, format.CombinedLog{}, cfg(types.Schema{
		{Name: "status", Type: types.BigIntType}, {Name: "uri", Type: types.StringType},
	}, nil))
	row, err = sub([]byte(combined))
	if err != nil {
		t.Fatal(err)
	}
	wantRow(t, row, types.IntValue(200), types.StringValue("/a/b"))
}

func TestCombinedLogRefuses(t *testing.T) {
	_, err := (format.CombinedLog{}).Decoder(cfg(types.Schema{{Name: "url", Type: types.StringType}}, nil))
	if err == nil || !strings.Contains(err.Error(), "column url is not a column of format 'combined-log': its columns are: remote_addr, time_local,") {
		t.Fatalf("unknown column: %v", err)
	}
	_, err = (format.CombinedLog{}).Decoder(cfg(types.Schema{{Name: "status", Type: types.StringType}}, nil))
	if err == nil || !strings.Contains(err.Error(), "column status is STRING but format 'combined-log' gives INT") {
		t.Fatalf("wrong type: %v", err)
	}
	_, err = (format.CombinedLog{}).Encoder(cfg(format.CombinedLogColumns, nil))
	if err == nil || !strings.Contains(err.Error(), "'combined-log' only reads") {
		t.Fatalf("encoder: %v", err)
	}
}

// TestCombinedLogDeadLetters checks that a line is a row exactly when
// weir pvuv counts it as a page view, and that the reason is pvuv's.
func TestCombinedLogDeadLetters(t *testing.T) {
	dec := decoder(t, format.CombinedLog{}, cfg(format.CombinedLogColumns, nil))
	for _, line := range []string{
		"",
		"1.2.3.4",
		`1.2.3.4 - - [31/Feb/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`,
		`1.2.3.4 - - [24/Nov/2026:07:40:13 +0000] "-" 400 0 "-" "-"`,
		`1.2.3.4 - - [24/Nov/2026:07:40:13 +0000] "GET /p HTTP/1.1"`,
		`1.2.3.4 - - [24/Nov/2026:07:40:13 +0000] "GET /p HTTP/1.1" 2000`,
	} {
		_, err := dec([]byte(line))
		_, perr := pvuv.Parse([]byte(line))
		if err == nil || perr == nil {
			t.Fatalf("%q: decode error %v, pvuv error %v: both must refuse it", line, err, perr)
		}
		if want := perr.(*pvuv.ParseError).Reason; err.Error() != want {
			t.Errorf("%q: reason %q, pvuv's is %q", line, err, want)
		}
	}
}

func TestRegistry(t *testing.T) {
	r := format.Default()
	if got := strings.Join(r.Names(), ","); got != "combined-log,csv,json,raw" {
		t.Fatalf("names %s", got)
	}
	if _, err := r.Lookup("t", "avro"); err == nil || !strings.Contains(err.Error(), "unknown format 'avro': the formats are: combined-log, csv, json, raw") {
		t.Fatalf("lookup: %v", err)
	}
	if err := r.Register(format.JSON{}); err == nil {
		t.Fatal("registered json twice")
	}
}
