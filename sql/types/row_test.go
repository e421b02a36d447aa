package types

import (
	"math"
	"testing"
	"time"

	"github.com/weirstream/weir/codec"
)

func TestRowRoundTrip(t *testing.T) {
	rows := []Row{
		{},
		NewRow(Null, BoolValue(true), BoolValue(false), IntValue(-7), IntValue(math.MaxInt64),
			FloatValue(-0.5), FloatValue(math.Inf(1)), StringValue(""), StringValue("héllo")),
		{Kind: UpdateBefore, Values: []Value{StringValue("/a"), IntValue(3)}},
		{Kind: Delete, Values: []Value{TimeValue(time.UnixMilli(1700000000123))}},
	}
	c := codec.For[Row]()
	for _, r := range rows {
		b, err := c.Append(nil, r)
		if err != nil {
			t.Fatal(err)
		}
		got, n, err := c.Decode(b)
		if err != nil || n != len(b) {
			t.Fatalf("decode %v: n=%d of %d, %v", r, n, len(b), err)
		}
		if got.Kind != r.Kind || len(got.Values) != len(r.Values) {
			t.Fatalf("got %v, want %v", got, r)
		}
		for i := range r.Values {
			if !got.Values[i].Equal(r.Values[i]) {
				t.Errorf("value %d: got %v, want %v", i, got.Values[i], r.Values[i])
			}
		}
	}
}

func TestValueAccessors(t *testing.T) {
	if !Null.IsNull() || IntValue(0).IsNull() {
		t.Error("IsNull")
	}
	if IntValue(1).Equal(BoolValue(true)) || FloatValue(1).Equal(IntValue(1)) {
		t.Error("values of different tags must differ")
	}
	if got := FloatValue(2.5).Float(); got != 2.5 {
		t.Errorf("Float = %v", got)
	}
	if got := Format(IntValue(-1234), DecimalType(10, 2), nil); got != "-12.34" {
		t.Errorf("decimal = %q", got)
	}
	if got := Format(IntValue(5), DecimalType(10, 3), nil); got != "0.005" {
		t.Errorf("decimal = %q", got)
	}
	ts := time.Date(2026, 12, 7, 3, 4, 5, 678e6, time.UTC)
	if got := Format(TimeValue(ts), TimestampLTZType, time.FixedZone("X", 3600)); got != "2026-12-07 04:04:05.678" {
		t.Errorf("ltz = %q", got)
	}
}

func TestSchemaFlatten(t *testing.T) {
	s := Schema{
		{Name: "event_type", Type: IntType},
		{Name: "bid", Type: Type{Kind: Record, Fields: []Field{
			{Name: "auction", Type: BigIntType},
			{Name: "extra", Type: Type{Kind: Record, Fields: []Field{{Name: "x", Type: StringType}}}},
		}}},
	}
	got := s.Flatten().Names()
	want := []string{"event_type", "bid.auction", "bid.extra.x"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	if s.Index("bid") != 1 || s.Index("BID") != -1 {
		t.Error("Index is case-sensitive")
	}
}

func FuzzDecodeRow(f *testing.F) {
	b, _ := NewRow(IntValue(1), StringValue("x"), Null, FloatValue(1.5), BoolValue(true)).MarshalBinary()
	f.Add(b)
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Row
		if err := r.UnmarshalBinary(data); err != nil {
			return
		}
		again, _ := r.MarshalBinary()
		var r2 Row
		if err := r2.UnmarshalBinary(again); err != nil {
			t.Fatalf("re-encoding does not decode: %v", err)
		}
		if r2.Kind != r.Kind || len(r2.Values) != len(r.Values) {
			t.Fatalf("re-decoded %v, want %v", r2, r)
		}
		for i := range r.Values {
			if !r2.Values[i].Equal(r.Values[i]) {
				t.Fatalf("value %d: %v, want %v", i, r2.Values[i], r.Values[i])
			}
		}
	})
}
