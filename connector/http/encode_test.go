package http

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzAppendJSONString checks the string fast path against encoding/json
// without HTML escaping: for every string, the same bytes.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", `q"b\`, "\x00\x01\b\f\n\r\t\x1f\x7f", "<&>", "é世界", "\u2028\u2029", "\xff\xfe bad", "a\xc3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		got := appendJSONString(nil, s)
		if w := bytes.TrimSuffix(want.Bytes(), []byte{'\n'}); !bytes.Equal(got, w) {
			t.Fatalf("appendJSONString(%q) = %s, want %s", s, got, w)
		}
	})
}

func TestJSONEncoder(t *testing.T) {
	type named string
	for _, c := range []struct {
		got  func() ([]byte, error)
		want string
	}{
		{func() ([]byte, error) { return jsonEncoder[string]()("a<b\n") }, `"a<b\n"`},
		{func() ([]byte, error) { return jsonEncoder[named]()("x") }, `"x"`},
		{func() ([]byte, error) { return jsonEncoder[map[string]int]()(map[string]int{"<": 1}) }, `{"<":1}`},
		{func() ([]byte, error) { return jsonEncoder[any]()(appender{}) }, `"appended"`},
	} {
		got, err := c.got()
		if err != nil || string(got) != c.want {
			t.Errorf("got %s, %v; want %s", got, err, c.want)
		}
	}
	if _, err := jsonEncoder[func()]()(func() {}); err == nil {
		t.Error("encoding a func succeeded")
	}
}

type appender struct{}

func (appender) AppendJSON(dst []byte) []byte { return append(dst, `"appended"`...) }
