package weir

import (
	"errors"
	"reflect"
	"testing"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/runtime"
)

func TestAsyncStateRoundTrip(t *testing.T) {
	c := codec.For[string]()
	elems := []asyncElement[string]{
		{rec: runtime.Record[string]{Value: "a", Time: 1_700_000_000_000}},
		{rec: runtime.Record[string]{Value: "", Time: runtime.NoTimestamp}},
		{watermark: true, wm: asyncWatermark{wm: 1_700_000_000_999}},
		{rec: runtime.Record[string]{Value: "ü", Time: -5}},
		{watermark: true, wm: asyncWatermark{wm: runtime.NoTimestamp, idle: true}},
		{watermark: true, wm: asyncWatermark{wm: runtime.EndOfTime, idle: true}},
	}
	b, err := encodeAsyncState(c, elems)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeAsyncState(c, b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, elems) {
		t.Fatalf("decoded %+v, want %+v", got, elems)
	}
	if empty, err := encodeAsyncState(c, nil); err != nil || len(empty) != 2 {
		t.Fatalf("empty state = %x, %v: want the version and a zero count", empty, err)
	}
	// Every cut of the state is an error, never a panic or a short list.
	for i := 1; i < len(b); i++ {
		if _, err := decodeAsyncState(c, b[:i]); err == nil {
			t.Fatalf("a state cut at %d of %d bytes decoded", i, len(b))
		}
	}
	bad := append([]byte{}, b...)
	bad[0] = 9
	if _, err := decodeAsyncState(c, bad); err == nil {
		t.Fatal("an unknown version decoded")
	}
	if _, err := decodeAsyncState(c, append(b, 0)); !errors.Is(err, codec.ErrInvalid) {
		t.Fatalf("trailing bytes: err = %v, want ErrInvalid", err)
	}
}

// FuzzDecodeAsyncState checks that decoding any bytes returns elements or
// an error without panicking, and that whatever decodes encodes to bytes
// that decode to the same elements.
func FuzzDecodeAsyncState(f *testing.F) {
	c := codec.For[string]()
	seed, _ := encodeAsyncState(c, []asyncElement[string]{
		{rec: runtime.Record[string]{Value: "x", Time: 3}},
		{watermark: true, wm: asyncWatermark{wm: 2, idle: true}},
	})
	f.Add(seed)
	f.Add([]byte{1, 0})
	f.Add([]byte{1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		elems, err := decodeAsyncState(c, b)
		if err != nil {
			return
		}
		again, err := encodeAsyncState(c, elems)
		if err != nil {
			t.Fatalf("decoded elements do not encode: %v", err)
		}
		back, err := decodeAsyncState(c, again)
		if err != nil || !reflect.DeepEqual(back, elems) && len(elems) > 0 {
			t.Fatalf("re-encoded %+v decodes to %+v, %v", elems, back, err)
		}
	})
}
