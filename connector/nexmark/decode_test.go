package nexmark

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// Every event the generator makes decodes back to itself.
func TestDecodeEventRoundTrip(t *testing.T) {
	g, err := New(Seed(4))
	if err != nil {
		t.Fatal(err)
	}
	for n := range int64(500) {
		e := g.Event(n)
		got, err := DecodeEvent(e.AppendJSON(nil))
		if err != nil {
			t.Fatalf("event %d: %v", n, err)
		}
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("event %d: decoded %+v, want %+v", n, got, e)
		}
	}
}

func TestDecodeEventRefusesMalformedInput(t *testing.T) {
	bid := `"auction":1,"bidder":2,"price":3,"channel":"c","url":"u","dateTime":"2026-01-01T00:00:00.000Z","extra":""`
	for _, c := range []struct{ in, want string }{
		{``, "EOF"},
		{`[1]`, "cannot unmarshal array"},
		{`{` + bid + `}`, `no "type"`},
		{`{"type":"Kind(0)",` + bid + `}`, `"type" is "Kind(0)"`},
		{`{"type":"bid",` + bid + `,"colour":1}`, `unknown field "colour"`},
		{`{"type":"bid","auction":1}`, "a bid lacks bidder, channel, dateTime, extra, price, url"},
		{`{"type":"bid",` + bid + `,"id":5}`, "has id, which a bid has not"},
		{`{"type":"bid",` + bid + `,"price":null}`, "lacks price"},
		{`{"type":"bid",` + strings.Replace(bid, `"price":3`, `"price":3.5`, 1) + `}`, "price"},
		{`{"type":"bid",` + strings.Replace(bid, `"price":3`, `"price":"3"`, 1) + `}`, "price"},
		{`{"type":"bid",` + strings.Replace(bid, `2026-01-01T00:00:00.000Z`, `yesterday`, 1) + `}`, "yesterday"},
		{`{"type":"bid",` + strings.Replace(bid, `2026-01-01T00:00:00.000Z`, `9999-12-31T23:00:00-05:00`, 1) + `}`, "out of the years"},
		{`{"type":"bid",` + bid + `} {}`, "text after"},
	} {
		_, err := DecodeEvent([]byte(c.in))
		if err == nil || !errors.Is(err, ErrMalformedEvent) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want ErrMalformedEvent saying %q", c.in, err, c.want)
		}
	}
}

// FuzzDecodeEvent checks DecodeEvent on any input: it never panics, and
// what it accepts AppendJSON writes back as JSON that decodes to the same
// event and encodes to the same bytes (encode(decode(x)) is stable).
func FuzzDecodeEvent(f *testing.F) {
	g, err := New(Seed(9), AvgSizes(0, 0, 0))
	if err != nil {
		f.Fatal(err)
	}
	for n := range int64(4) {
		f.Add(g.Event(n).AppendJSON(nil))
	}
	f.Add([]byte(`{"type":"bid","auction":-1,"bidder":0,"price":9223372036854775807,"channel":"<\u00e9>","url":"\ud800","dateTime":"0000-01-01T00:00:00.123456789+01:00","extra":"\n"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEvent(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedEvent) {
				t.Fatalf("error %v does not wrap ErrMalformedEvent", err)
			}
			return
		}
		first := e.AppendJSON(nil)
		again, err := DecodeEvent(first)
		if err != nil {
			t.Fatalf("%s decoded, but its encoding %s does not: %v", b, first, err)
		}
		if second := again.AppendJSON(nil); !bytes.Equal(first, second) {
			t.Fatalf("encode(decode(x)) is not stable:\n%s\n%s", first, second)
		}
	})
}
