package format_test

import (
	"strings"
	"testing"

	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/sql/format"
	"github.com/weirstream/weir/sql/types"
)

// FuzzJSONDecode checks that the json decoder never panics, and that a row
// it decodes has one value per column and encodes to JSON it decodes
// again to the same row.
func FuzzJSONDecode(f *testing.F) {
	for _, s := range []string{
		`{"id": 7, "name": "ann", "bid": {"price": 12.5, "at": "2026-12-07 03:14:29.123"}, "ok": true, "score": 0.5}`,
		`{"id": "12", "bid": null}`, `{"bid": {"at": 1700000000000}}`, `[]`, `null`, `{`, `{"score": 1e400}`,
	} {
		f.Add([]byte(s))
	}
	c := cfg(nested, nil)
	dec, _ := format.JSON{}.Decoder(c)
	enc, _ := format.JSON{}.Encoder(c)
	f.Fuzz(func(t *testing.T, data []byte) {
		row, err := dec(data)
		if err != nil {
			return
		}
		if len(row.Values) != len(nested) {
			t.Fatalf("%d values", len(row.Values))
		}
		again, err := dec(enc(nil, row))
		if err != nil {
			t.Fatalf("re-decoding %s: %v", enc(nil, row), err)
		}
		for i := range row.Values {
			if nested[i].Type.Kind == types.Double {
				continue // NaN is not equal to itself
			}
			if !again.Values[i].Equal(row.Values[i]) {
				t.Fatalf("column %s: %v, then %v", nested[i].Name, row.Values[i], again.Values[i])
			}
		}
	})
}

// FuzzCSVDecode checks that the csv decoder never panics and that a row it
// decodes has one value per column and survives an encode and decode.
func FuzzCSVDecode(f *testing.F) {
	schema := types.Schema{
		{Name: "a", Type: types.IntType}, {Name: "b", Type: types.StringType},
		{Name: "c", Type: types.TimestampType}, {Name: "d", Type: types.DecimalType(5, 1)},
	}
	for _, s := range []string{`1,b,2026-12-07 03:14:29,1.5`, `,,,`, `1,"a,""b""",,`, `"`, `1,"b`} {
		f.Add([]byte(s))
	}
	c := cfg(schema, nil)
	dec, _ := format.CSV{}.Decoder(c)
	enc, _ := format.CSV{}.Encoder(c)
	f.Fuzz(func(t *testing.T, data []byte) {
		row, err := dec(data)
		if err != nil {
			return
		}
		if len(row.Values) != len(schema) {
			t.Fatalf("%d values", len(row.Values))
		}
		line := enc(nil, row)
		again, err := dec(line)
		if err != nil {
			t.Fatalf("re-decoding %q: %v", line, err)
		}
		for i := range row.Values {
			if schema[i].Type.Kind == types.String && row.Values[i].IsNull() {
				continue
			}
			if !again.Values[i].Equal(row.Values[i]) {
				t.Fatalf("%q → %q: column %s: %v, then %v", data, line, schema[i].Name, row.Values[i], again.Values[i])
			}
		}
	})
}

// FuzzCombinedLogDecode checks that the combined-log decoder never panics
// and refuses exactly the lines pvuv refuses, with pvuv's reason.
func FuzzCombinedLogDecode(f *testing.F) {
	for _, s := range []string{
		combined,
		`10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`,
		`::1 - - [01/Jan/2027:03:00:00 +0530] "POST /login?next=/a#x HTTP/2.0" 302 0 "-" "-"`,
		`1.2.3.4 - - [24/Nov/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5 "a\"b" "ua`,
		`1.2.3.4 - - [24/Nov/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 x "r"`,
		`1.2.3.4 - - [24/Nov/2026:07:4`, "",
	} {
		f.Add([]byte(s))
	}
	dec, _ := format.CombinedLog{}.Decoder(cfg(format.CombinedLogColumns, nil))
	f.Fuzz(func(t *testing.T, line []byte) {
		row, err := dec(line)
		var h pvuv.RawHit
		reason := pvuv.ParseRaw(line, &h)
		if (err == nil) != (reason == "") {
			t.Fatalf("decode error %v, pvuv reason %q", err, reason)
		}
		if err != nil {
			if err.Error() != reason {
				t.Fatalf("reason %q, pvuv's %q", err, reason)
			}
			return
		}
		if len(row.Values) != len(format.CombinedLogColumns) || row.Values[4].Str() != string(h.Page) {
			t.Fatalf("row %v", row.Values)
		}
	})
}

// FuzzJSONScanner checks the json decoder against a decoder built on
// encoding/json: a record the decoder takes, the reference takes too, with
// the same row; a record the reference refuses, the decoder refuses. (The
// decoder is stricter in one way: it refuses bytes after the object that
// encoding/json's Decoder.More lets pass, such as "]0".)
func FuzzJSONScanner(f *testing.F) {
	for _, s := range []string{
		`{"id": 7, "name": "ann", "bid": {"price": 12.5, "at": "2026-12-07 03:14:29.123"}, "ok": true, "score": 0.5}`,
		`{"id": 1, "id": "x"}`, `{"id": "x", "id": 1}`, `{"bid": 3, "bid": {"price": 1}}`, `{"bid": {"price": 1}, "bid": null}`,
		`{"name": {"b": [1, "x", {"c": null}], "a": 1}}`, `{"name": "\u00e9\n\ud800"}`, "{\"name\": \"\xff\"}",
		`{"x": [1, 2, {"y": -0.5e+3}], "score": -0}`, `{"score": 01}`, `{"id": 1,}`, ` {"id": 1} `, `{} }`, `{}}`,
	} {
		f.Add([]byte(s))
	}
	c := cfg(nested, nil)
	dec, _ := format.JSON{}.Decoder(c)
	ref, _ := format.ReferenceJSONDecoder(c)
	f.Fuzz(func(t *testing.T, data []byte) {
		row, err := dec(data)
		want, rerr := ref(data)
		if err == nil && rerr != nil {
			t.Fatalf("the decoder takes %q, the reference refuses it: %v", data, rerr)
		}
		if err != nil && rerr == nil {
			if strings.Contains(err.Error(), "more than one JSON value") {
				return // bytes after the object that Decoder.More lets pass
			}
			t.Fatalf("the decoder refuses %q (%v), the reference takes it", data, err)
		}
		if err != nil {
			return
		}
		for i := range want.Values {
			if !row.Values[i].Equal(want.Values[i]) {
				t.Fatalf("%q: column %s: %v, the reference %v", data, nested[i].Name, row.Values[i], want.Values[i])
			}
		}
	})
}
