package pvuv

import (
	"bytes"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/axiomhq/hyperloglog"

	"github.com/weirstream/weir/codec"
)

// TestSketchAccumulatorsSurviveTheCodec: window accumulators, partials and
// the merge's state are stored in checkpoints by the codec, which refuses
// unexported fields; a sketch must come back with the same contents.
func TestSketchAccumulatorsSurviveTheCodec(t *testing.T) {
	a := sketchHits.Init()
	for i := range 5000 {
		a = sketchHits.Add(a, Hit{Client: fmt.Sprintf("10.0.%d.%d", i/256, i%256)})
	}
	a.Reported = 1234
	c := codec.For[*sketchAcc]()
	enc, err := c.Append(nil, a)
	if err != nil {
		t.Fatalf("encode an accumulator: %v", err)
	}
	b, n, err := c.Decode(enc)
	if err != nil || n != len(enc) {
		t.Fatalf("decode an accumulator: %v (%d of %d bytes)", err, n, len(enc))
	}
	if b.Views != a.Views || b.Reported != a.Reported || b.Sketch == nil || b.Sketch.Estimate() != a.Sketch.Estimate() {
		t.Fatalf("accumulator came back as views %d reported %d; want %d, %d and estimate %d", b.Views, b.Reported, a.Views, a.Reported, a.Sketch.Estimate())
	}
	want, _ := a.Sketch.MarshalBinary()
	got, _ := b.Sketch.MarshalBinary()
	if !bytes.Equal(got, want) {
		t.Fatal("the sketch came back with other contents")
	}

	p := partial{Window: 1, End: 2, PV: 3, UV: 1, Hash: math.MaxUint64, Sketch: want}
	pc := codec.For[partial]()
	enc, err = pc.Append(nil, p)
	if err != nil {
		t.Fatalf("encode a partial: %v", err)
	}
	q, _, err := pc.Decode(enc)
	if err != nil || q.Window != p.Window || q.End != p.End || q.PV != p.PV || q.UV != p.UV || q.Hash != p.Hash || !bytes.Equal(q.Sketch, p.Sketch) {
		t.Fatalf("partial came back as %+v, %v", q, err)
	}
	// The sketches in the state of the merge and of the daily step.
	sc := codec.For[*hyperloglog.Sketch]()
	enc, err = sc.Append(nil, a.Sketch)
	if err != nil {
		t.Fatalf("encode a sketch: %v", err)
	}
	s, _, err := sc.Decode(enc)
	if err != nil || s.Estimate() != a.Sketch.Estimate() {
		t.Fatalf("sketch came back with estimate %d, %v; want %d", s.Estimate(), err, a.Sketch.Estimate())
	}
	// The state of the merge and of the daily step encodes too.
	if _, err := codec.For[totals]().Append(nil, totals{End: 1, PV: 2, UV: 3, Emitted: true, Changed: true, RunningAt: 4}); err != nil {
		t.Fatalf("encode a window's totals: %v", err)
	}
	if _, err := codec.For[dayTotals]().Append(nil, dayTotals{PV: 1, Pending: []uint64{2, 3}, Closed: true, Changed: true, RunningAt: 4}); err != nil {
		t.Fatalf("encode a day's totals: %v", err)
	}
}

// TestSketchPrecision: the sketches have the precision the documentation
// gives, and the standard error is the one that precision has.
func TestSketchPrecision(t *testing.T) {
	b, err := newSketch().MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if b[1] != HLLPrecision {
		t.Fatalf("sketches have precision %d, HLLPrecision says %d", b[1], HLLPrecision)
	}
	if want := 1.04 / math.Sqrt(1<<HLLPrecision); math.Abs(HLLStandardError-want) > 1e-12 {
		t.Fatalf("HLLStandardError %v, want 1.04/√2^%d = %v", HLLStandardError, HLLPrecision, want)
	}
}

// TestClientHashIsStable: sketches in checkpoints hold client hashes, so
// the hash must not change between processes or releases.
func TestClientHashIsStable(t *testing.T) {
	for _, c := range []struct {
		client string
		hash   uint64
	}{
		{"", 0xefd01f60ba992926},
		{"10.0.0.1", 0xc879e56ddc6c5c88},
		{"2001:db8::1", 0x85a0a62ee75faf77},
	} {
		if got := clientHash(c.client); got != c.hash {
			t.Errorf("clientHash(%q) = %#x, want %#x", c.client, got, c.hash)
		}
	}
}

func TestDayOf(t *testing.T) {
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC).UnixMilli()
	for _, c := range []struct{ t, want int64 }{
		{day, day},
		{day + dayMillis - 1, day},
		{day + dayMillis, day + dayMillis},
		{0, 0},
		{-1, -dayMillis},
		{-dayMillis, -dayMillis},
	} {
		if got := dayOf(c.t); got != c.want {
			t.Errorf("dayOf(%d) = %d, want %d", c.t, got, c.want)
		}
	}
}
