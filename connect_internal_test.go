package weir

import (
	"testing"
	"time"

	"github.com/weirstream/weir/codec"
)

type coA struct {
	K  string
	At time.Time
}

// TestCoRecordCodec: tagged records of both inputs survive the codec that
// unaligned checkpoints and the cluster's exchanges use, tag included,
// zero values included.
func TestCoRecordCodec(t *testing.T) {
	c := codec.For[coRecord[coA, int64]]()
	for _, v := range []coRecord[coA, int64]{
		{In1: coA{"a", time.UnixMilli(1700000000123).UTC()}},
		{In1: coA{}},
		{Two: true, In2: 42},
		{Two: true},
	} {
		b, err := c.Append(nil, v)
		if err != nil {
			t.Fatal(err)
		}
		got, n, err := c.Decode(b)
		if err != nil || n != len(b) {
			t.Fatalf("decode %+v: %v (%d of %d bytes)", v, err, n, len(b))
		}
		if got.Two != v.Two || got.In2 != v.In2 || got.In1.K != v.In1.K || !got.In1.At.Equal(v.In1.At) {
			t.Fatalf("round trip: got %+v, want %+v", got, v)
		}
	}
}

// TestOperatorStateFormats: the operator state of a process operator with
// broadcast state carries the watermark and, on subtask 0 only, the
// broadcast state; that of others stays the bare watermark it always was.
func TestOperatorStateFormats(t *testing.T) {
	bs := newBroadcastState[string, int]()
	bs.Put("factor", 3)
	for _, c := range []struct {
		bs       broadcastSnapshot
		sub      int
		wantBody bool
	}{{nil, 0, false}, {bs, 0, true}, {bs, 1, false}} {
		b, err := encodeOperatorState(1234, c.bs, c.sub)
		if err != nil {
			t.Fatal(err)
		}
		wm, body, err := decodeOperatorState(b)
		if err != nil || wm != 1234 || (len(body) > 0) != c.wantBody {
			t.Fatalf("subtask %d: watermark %d, %d bytes of broadcast state, %v", c.sub, wm, len(body), err)
		}
		if c.wantBody {
			back := newBroadcastState[string, int]()
			if err := back.restore(body); err != nil {
				t.Fatal(err)
			}
			if v, ok := back.Get("factor"); !ok || v != 3 || back.Len() != 1 {
				t.Fatalf("restored broadcast state: factor %d %v, %d entries", v, ok, back.Len())
			}
		}
	}
	if _, _, err := decodeOperatorState([]byte{0xB1, 1, 2}); err == nil {
		t.Fatal("a truncated operator state decoded")
	}
}
