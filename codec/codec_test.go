package codec

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// roundTrip encodes each value after a prefix, decodes it with trailing
// bytes after it, and checks the value, the length used, and that every
// shorter input fails with an error.
func roundTrip[T any](t *testing.T, eq func(a, b T) bool, values ...T) {
	t.Helper()
	c := For[T]()
	for _, v := range values {
		prefix := []byte("pre")
		enc, err := c.Append(prefix, v)
		if err != nil {
			t.Fatalf("%T %v: Append: %v", v, v, err)
		}
		if string(enc[:3]) != "pre" {
			t.Fatalf("%T %v: Append overwrote dst", v, v)
		}
		body := enc[3:]
		got, n, err := c.Decode(append(bytes.Clone(body), 0xff, 0x00))
		if err != nil {
			t.Fatalf("%T %v: Decode: %v", v, v, err)
		}
		if n != len(body) {
			t.Fatalf("%T %v: Decode used %d bytes, encoding has %d", v, v, n, len(body))
		}
		if !eq(got, v) {
			t.Fatalf("%T: round trip gave %v, want %v", v, got, v)
		}
		for i := range len(body) {
			if len(body) > 256 && i > 64 && i < len(body)-64 && i%4099 != 0 {
				continue // sample long encodings
			}
			if _, _, err := c.Decode(body[:i]); err == nil {
				t.Fatalf("%T %v: Decode of %d of %d bytes succeeded", v, v, i, len(body))
			} else if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrInvalid) {
				t.Fatalf("%T %v: truncated input gave %v, want ErrTruncated or ErrInvalid", v, v, err)
			}
		}
	}
}

func same[T comparable](a, b T) bool { return a == b }

func TestRoundTripIntegers(t *testing.T) {
	roundTrip(t, same, 0, 1, -1, math.MinInt, math.MaxInt)
	roundTrip(t, same[int8], 0, 1, -1, math.MinInt8, math.MaxInt8)
	roundTrip(t, same[int16], 0, -1, math.MinInt16, math.MaxInt16)
	roundTrip(t, same[int32], 0, -1, math.MinInt32, math.MaxInt32)
	roundTrip(t, same[int64], 0, 1, -1, math.MinInt64, math.MaxInt64)
	roundTrip(t, same[uint], 0, 1, math.MaxUint)
	roundTrip(t, same[uint8], 0, 1, math.MaxUint8)
	roundTrip(t, same[uint16], 0, math.MaxUint16)
	roundTrip(t, same[uint32], 0, math.MaxUint32)
	roundTrip(t, same[uint64], 0, 1, math.MaxUint64)
	roundTrip(t, same[time.Duration], 0, -time.Nanosecond, math.MinInt64, math.MaxInt64, 90*time.Minute)
}

func TestRoundTripFloats(t *testing.T) {
	bits64 := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
	bits32 := func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }
	nanPayload := math.Float64frombits(0x7ff0_0000_0000_0001)
	roundTrip(t, bits64, 0, math.Copysign(0, -1), 1.5, -1.5, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, math.Inf(1), math.Inf(-1), math.NaN(), -math.NaN(), nanPayload)
	roundTrip(t, bits32, 0, float32(math.Copysign(0, -1)), 1.5, -1.5, math.MaxFloat32,
		math.SmallestNonzeroFloat32, float32(math.Inf(-1)), float32(math.NaN()))
}

func TestRoundTripBoolStringBytes(t *testing.T) {
	roundTrip(t, same, false, true)
	long := strings.Repeat("weir ", 200_000)
	roundTrip(t, same, "", "a", "héllo, 世界", "\xff\xfe not UTF-8", long)
	roundTrip(t, bytes.Equal, nil, []byte{}, []byte{0}, []byte(long))
	if b, _, _ := For[[]byte]().Decode([]byte{0}); b != nil {
		t.Errorf("empty []byte decoded as %#v, want nil", b)
	}
}

func TestRoundTripTime(t *testing.T) {
	c := For[time.Time]()
	cet := time.FixedZone("CET", 3600)
	odd := time.FixedZone("LMT", -(4*3600 + 56*60 + 2)) // historical offsets have seconds
	values := []time.Time{
		{},
		time.Unix(0, 0).UTC(),
		time.Date(2024, 2, 29, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2024, 2, 29, 23, 59, 59, 123, cet),
		time.Date(1883, 11, 18, 12, 0, 0, 0, odd),
		time.Date(-4000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, cet),
		time.Now(), // the monotonic reading is dropped
	}
	roundTrip(t, time.Time.Equal, values...)
	for _, v := range values {
		b, _ := c.Append(nil, v)
		got, _, _ := c.Decode(b)
		_, wantOff := v.Zone()
		name, gotOff := got.Zone()
		if gotOff != wantOff {
			t.Errorf("%v: offset %d, want %d", v, gotOff, wantOff)
		}
		if wantOff == 0 && got.Location() != time.UTC {
			t.Errorf("%v: decoded in %v, want UTC", v, got.Location())
		}
		if wantOff != 0 && name != "" {
			t.Errorf("%v: zone name %q, want none (only the offset is kept)", v, name)
		}
	}
	if got, _, _ := c.Decode(must(c.Append(nil, time.Time{}))); got != (time.Time{}) || !got.IsZero() {
		t.Errorf("zero time decoded as %#v", got)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

type (
	userID       string
	level        int8
	blob         []byte
	myByte       uint8
	bytesOfNamed []myByte
	ratio        float64
	flag         bool
	count        uint32
)

func TestRoundTripNamedTypes(t *testing.T) {
	roundTrip(t, same[userID], "", "u-42")
	roundTrip(t, same[level], math.MinInt8, 3)
	roundTrip(t, func(a, b blob) bool { return bytes.Equal(a, b) }, nil, blob("x"))
	roundTrip(t, func(a, b bytesOfNamed) bool { return reflect.DeepEqual(a, b) }, bytesOfNamed{1, 2, 3})
	roundTrip(t, same[ratio], 0.25)
	roundTrip(t, same[flag], true)
	roundTrip(t, same[count], 7)
	// A named type encodes exactly as its underlying type.
	a, _ := For[userID]().Append(nil, "u-42")
	b, _ := For[string]().Append(nil, "u-42")
	if !bytes.Equal(a, b) {
		t.Errorf("userID encodes as %x, string as %x", a, b)
	}
}

// sameAsKind checks that a named type N encodes as its underlying type B
// and decodes back to v, and that bad input fails for both alike.
func sameAsKind[N, B comparable](t *testing.T, v N, bad []byte) {
	t.Helper()
	got, err := For[N]().Append(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := For[B]().Append(nil, *(*B)(unsafe.Pointer(&v)))
	if !bytes.Equal(got, want) {
		t.Errorf("%T encodes %v as %x, its kind as %x", v, v, got, want)
	}
	back, n, err := For[N]().Decode(got)
	if err != nil || n != len(got) || back != v {
		t.Errorf("%T: decoded %v (%d bytes, %v), want %v (%d bytes)", v, back, n, err, v, len(got))
	}
	_, _, errN := For[N]().Decode(bad)
	_, _, errB := For[B]().Decode(bad)
	if errN == nil || errB == nil || errN.Error() != errB.Error() {
		t.Errorf("%T on bad input %x: %v, its kind: %v", v, bad, errN, errB)
	}
}

// TestNamedTypesOfEveryKind covers each kind a named type can borrow its
// codec from.
func TestNamedTypesOfEveryKind(t *testing.T) {
	type (
		nBool    bool
		nInt     int
		nInt8    int8
		nInt16   int16
		nInt32   int32
		nInt64   int64
		nUint    uint
		nUint8   uint8
		nUint16  uint16
		nUint32  uint32
		nUint64  uint64
		nFloat32 float32
		nFloat64 float64
		nString  string
	)
	short := []byte{}
	sameAsKind[nBool, bool](t, true, []byte{2})
	sameAsKind[nInt, int](t, math.MinInt64, short)
	sameAsKind[nInt8, int8](t, -3, short)
	sameAsKind[nInt16, int16](t, math.MaxInt16, short)
	sameAsKind[nInt32, int32](t, -70000, short)
	sameAsKind[nInt64, int64](t, 1<<40, short)
	sameAsKind[nUint, uint](t, math.MaxUint64, short)
	sameAsKind[nUint8, uint8](t, 200, short)
	sameAsKind[nUint16, uint16](t, 60000, short)
	sameAsKind[nUint32, uint32](t, 1<<31, short)
	sameAsKind[nUint64, uint64](t, 1<<63, short)
	sameAsKind[nFloat32, float32](t, -1.5, short)
	sameAsKind[nFloat64, float64](t, math.Pi, short)
	sameAsKind[nString, string](t, "weir", []byte{5, 'a'})
	sameAsKind[time.Duration, int64](t, -time.Second, short)
}

type inner struct {
	Tags  []string
	Score float64
}

type record struct {
	Name    string
	Count   int64
	When    time.Time
	Payload []byte
	Inner   inner
	Ptr     *inner
	Counts  map[string]int
	Any     any
	skipped int `cbor:"-"` //lint:ignore U1000 not kept, on purpose
}

type hidden struct {
	Kept  int
	count int // would be lost silently: the codec refuses the type
}

func TestUnexportedFieldRefused(t *testing.T) {
	c := For[hidden]()
	if _, err := c.Append(nil, hidden{Kept: 1, count: 2}); err == nil || !strings.Contains(err.Error(), "count") {
		t.Fatalf("Append of a struct with an unexported field: err = %v, want one naming the field", err)
	}
	if _, err := For[*hidden]().Append(nil, &hidden{}); err == nil {
		t.Fatal("a pointer to such a struct was accepted")
	}
	if _, err := For[map[string]record]().Append(nil, map[string]record{"a": {}}); err != nil {
		t.Fatalf("a field tagged cbor:\"-\" was refused: %v", err)
	}
}

func TestRoundTripCBOR(t *testing.T) {
	when := time.Date(2024, 5, 1, 10, 0, 0, 123_456_789, time.FixedZone("", 2*3600))
	values := []record{
		{},
		{Name: "a", Count: -5, When: when, Payload: []byte{1, 2}, Inner: inner{Tags: []string{"x", ""}, Score: 0.5},
			Ptr: &inner{Score: math.Inf(1)}, Counts: map[string]int{"b": 2, "a": 1}, Any: "dyn"},
	}
	roundTrip(t, func(a, b record) bool {
		return a.When.Equal(b.When) && reflect.DeepEqual(withoutTime(a), withoutTime(b))
	}, values...)

	got, _, err := For[record]().Decode(must(For[record]().Append(nil, values[1])))
	if err != nil {
		t.Fatal(err)
	}
	if _, off := got.When.Zone(); off != 2*3600 || got.When.Nanosecond() != 123_456_789 {
		t.Errorf("time in CBOR lost its offset or nanoseconds: %v", got.When)
	}
	// Deterministic: a map encodes the same whatever its iteration order.
	for range 20 {
		if a, b := must(For[record]().Append(nil, values[1])), must(For[record]().Append(nil, values[1])); !bytes.Equal(a, b) {
			t.Fatal("CBOR encoding is not deterministic")
		}
	}
	roundTrip(t, func(a, b []int) bool { return reflect.DeepEqual(a, b) }, nil, []int{}, []int{1, 2, 3})
	roundTrip(t, func(a, b map[string]int) bool { return reflect.DeepEqual(a, b) }, map[string]int{"a": 1})
	roundTrip(t, func(a, b *int) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }, nil, new(int))
	roundTrip(t, same[[2]int], [2]int{1, 2})
	roundTrip(t, same[complexKey], complexKey{A: "x", B: 3})
}

type complexKey struct {
	A string
	B int
}

func withoutTime(r record) record { r.When = time.Time{}; return r }

func TestCBORStrict(t *testing.T) {
	c := For[map[string]int]()
	dup := []byte{0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02} // {"a": 1, "a": 2}
	if _, _, err := c.Decode(dup); !errors.Is(err, ErrInvalid) {
		t.Errorf("duplicate map key: got %v, want ErrInvalid", err)
	}
	indef := []byte{0xbf, 0x61, 'a', 0x01, 0xff} // {_ "a": 1}
	if _, _, err := c.Decode(indef); !errors.Is(err, ErrInvalid) {
		t.Errorf("indefinite length: got %v, want ErrInvalid", err)
	}
	huge := []byte{0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff} // array of 2^64-1 elements
	if _, _, err := For[[]int]().Decode(huge); err == nil {
		t.Error("array longer than its input decoded")
	}
	if _, _, err := For[record]().Decode([]byte{0x82, 0x01}); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated CBOR: got %v, want ErrTruncated", err)
	}

	// Too deep to decode is refused when written, not when restored.
	var deep any = 1
	for range MaxNestedLevels + 1 {
		deep = []any{deep}
	}
	if _, err := For[any]().Append(nil, deep); err == nil {
		t.Error("Append accepted a value nested deeper than MaxNestedLevels")
	}
	if _, err := For[chan int]().Append(nil, make(chan int)); err == nil {
		t.Error("Append accepted a channel")
	}
}

// point marshals itself: the value receiver marshals, the pointer unmarshals.
type point struct{ X, Y int32 }

func (p point) MarshalBinary() ([]byte, error) {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(p.X)), uint32(p.Y)), nil
}

func (p *point) UnmarshalBinary(b []byte) error {
	if len(b) != 8 {
		return fmt.Errorf("point: %d bytes, want 8", len(b))
	}
	p.X, p.Y = int32(binary.BigEndian.Uint32(b)), int32(binary.BigEndian.Uint32(b[4:]))
	return nil
}

// appender also implements encoding.BinaryAppender, which Append prefers.
type appender struct{ S string }

func (a *appender) MarshalBinary() ([]byte, error)        { return []byte(a.S), nil }
func (a *appender) AppendBinary(b []byte) ([]byte, error) { return append(b, a.S...), nil }
func (a *appender) UnmarshalBinary(b []byte) error        { a.S = string(b); return nil }

// celsius is a named float with its own encoding, which wins over its kind.
type celsius float64

func (c celsius) MarshalBinary() ([]byte, error) { return []byte(fmt.Sprint(float64(c))), nil }
func (c *celsius) UnmarshalBinary(b []byte) error {
	_, err := fmt.Sscan(string(b), (*float64)(c))
	return err
}

// failing cannot be marshaled.
type failing struct{}

func (failing) MarshalBinary() ([]byte, error) { return nil, errors.New("no") }
func (*failing) UnmarshalBinary([]byte) error  { return errors.New("no") }

func TestBinaryMarshaler(t *testing.T) {
	roundTrip(t, same[point], point{}, point{-1, math.MaxInt32})
	roundTrip(t, same[appender], appender{}, appender{S: strings.Repeat("x", 300)})
	roundTrip(t, same[celsius], -40, 36.6)
	if b := must(For[celsius]().Append(nil, 1.5)); string(b[1:]) != "1.5" {
		t.Errorf("celsius used %x, not its MarshalBinary", b)
	}
	if _, err := For[failing]().Append(nil, failing{}); err == nil {
		t.Error("a failing MarshalBinary gave no error")
	}
	if _, _, err := For[point]().Decode([]byte{3, 1, 2, 3}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad UnmarshalBinary input: got %v, want ErrInvalid", err)
	}
	// A pointer type goes to CBOR, which decodes nil without calling methods.
	roundTrip(t, func(a, b *point) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }, nil, &point{1, 2})
}

func TestInvalidInput(t *testing.T) {
	if _, _, err := For[bool]().Decode([]byte{2}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bool 2: got %v, want ErrInvalid", err)
	}
	bad := make([]byte, 16)
	binary.BigEndian.PutUint32(bad[8:], 1e9)
	binary.BigEndian.PutUint32(bad[12:], 0x80000000)
	if _, _, err := For[time.Time]().Decode(bad); !errors.Is(err, ErrInvalid) {
		t.Errorf("time with 1e9 ns: got %v, want ErrInvalid", err)
	}
	overlong := bytes.Repeat([]byte{0xff}, 11)
	if _, _, err := For[string]().Decode(overlong); !errors.Is(err, ErrInvalid) {
		t.Errorf("overlong varint: got %v, want ErrInvalid", err)
	}
	if _, _, err := For[string]().Decode([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 'x'}); !errors.Is(err, ErrTruncated) {
		t.Errorf("length beyond input: got %v, want ErrTruncated", err)
	}
}

func TestFraming(t *testing.T) {
	var buf []byte
	parts := [][]byte{nil, []byte("a"), bytes.Repeat([]byte{7}, 1000)}
	for _, p := range parts {
		buf = AppendBytes(buf, p)
	}
	for _, want := range parts {
		got, n, err := ReadBytes(buf)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadBytes = %q, %v; want %q", got, err, want)
		}
		if cap(got) != len(got) {
			t.Errorf("ReadBytes result has spare capacity %d: appending would overwrite the next value", cap(got)-len(got))
		}
		buf = buf[n:]
	}
	if len(buf) != 0 {
		t.Fatalf("%d bytes left over", len(buf))
	}
	if _, _, err := ReadBytes(nil); !errors.Is(err, ErrTruncated) {
		t.Errorf("empty input: got %v, want ErrTruncated", err)
	}
}

// checkOrder checks that byte order of encodings matches cmp.Compare.
func checkOrder[T cmp.Ordered](t *testing.T, gen func(r *rand.Rand) T) {
	t.Helper()
	c := For[T]()
	r := rand.New(rand.NewPCG(1, 2))
	for range 20_000 {
		a, b := gen(r), gen(r)
		ea, eb := must(c.Append(nil, a)), must(c.Append(nil, b))
		if got, want := bytes.Compare(ea, eb), cmp.Compare(a, b); got != want {
			t.Fatalf("%T: %v vs %v: bytes compare %d, values compare %d", a, a, b, got, want)
		}
	}
}

func TestOrderPreserving(t *testing.T) {
	pick := func(r *rand.Rand, edges ...uint64) uint64 {
		if r.IntN(4) == 0 {
			return edges[r.IntN(len(edges))]
		}
		return r.Uint64()
	}
	edges := []uint64{0, 1, math.MaxUint64, 1 << 63, 1<<63 - 1}
	checkOrder(t, func(r *rand.Rand) int64 { return int64(pick(r, edges...)) })
	checkOrder(t, func(r *rand.Rand) int { return int(pick(r, edges...)) })
	checkOrder(t, func(r *rand.Rand) int32 { return int32(pick(r, edges...)) })
	checkOrder(t, func(r *rand.Rand) int16 { return int16(pick(r, edges...)) })
	checkOrder(t, func(r *rand.Rand) int8 { return int8(pick(r, edges...)) })
	checkOrder(t, func(r *rand.Rand) uint64 { return pick(r, edges...) })
	checkOrder(t, func(r *rand.Rand) uint16 { return uint16(pick(r, edges...)) })
	checkOrder(t, func(r *rand.Rand) level { return level(pick(r, edges...)) })
	floats := []float64{0, 1, -1, math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.SmallestNonzeroFloat64}
	checkOrder(t, func(r *rand.Rand) float64 {
		if r.IntN(4) == 0 {
			return floats[r.IntN(len(floats))]
		}
		f := math.Float64frombits(r.Uint64())
		if math.IsNaN(f) {
			return 0
		}
		return f
	})
	checkOrder(t, func(r *rand.Rand) float32 { return float32(r.NormFloat64() * 1e6) })
	checkOrder(t, func(r *rand.Rand) time.Duration { return time.Duration(pick(r, edges...)) })

	c := For[time.Time]()
	r := rand.New(rand.NewPCG(3, 4))
	for range 10_000 {
		a := time.Unix(r.Int64N(1<<40)-1<<39, r.Int64N(1e9))
		b := a.Add(time.Duration(r.Int64N(2e9) - 1e9))
		if got, want := bytes.Compare(must(c.Append(nil, a.UTC())), must(c.Append(nil, b.UTC()))), a.Compare(b); got != want {
			t.Fatalf("time %v vs %v: bytes compare %d, times compare %d", a, b, got, want)
		}
	}
}

func TestAppendAllocationFree(t *testing.T) {
	buf := make([]byte, 0, 64)
	check := func(name string, f func()) {
		t.Helper()
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: Append allocates %v times", name, n)
		}
	}
	i64, u32, f64, s, d, tm := For[int64](), For[uint32](), For[float64](), For[string](), For[time.Duration](), For[time.Time]()
	id, b, bl := For[userID](), For[[]byte](), For[bool]()
	now := time.Now()
	check("int64", func() { buf, _ = i64.Append(buf[:0], -7) })
	check("uint32", func() { buf, _ = u32.Append(buf[:0], 7) })
	check("float64", func() { buf, _ = f64.Append(buf[:0], 1.5) })
	check("bool", func() { buf, _ = bl.Append(buf[:0], true) })
	check("string", func() { buf, _ = s.Append(buf[:0], "a string of some length") })
	check("named string", func() { buf, _ = id.Append(buf[:0], "u-42") })
	check("[]byte", func() { buf, _ = b.Append(buf[:0], buf[:0]) })
	check("time.Duration", func() { buf, _ = d.Append(buf[:0], time.Second) })
	check("time.Time", func() { buf, _ = tm.Append(buf[:0], now) })
	check("int64 decode", func() { _, _, _ = i64.Decode(buf[:8]) })
}

// checkRecode checks the fuzz invariants shared by every codec: Decode never
// panics and uses at most len(src) bytes; a decoded value re-encodes to bytes
// that decode, using all of them, to a value that encodes the same again.
// It returns the value and the number of bytes used, ok false on an error.
func checkRecode[T any](t *testing.T, src []byte) (v T, n int, ok bool) {
	c := For[T]()
	v, n, err := c.Decode(src)
	if err != nil {
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrInvalid) {
			t.Fatalf("Decode error %v wraps neither ErrTruncated nor ErrInvalid", err)
		}
		return v, 0, false
	}
	if n <= 0 || n > len(src) {
		t.Fatalf("Decode used %d bytes of %d", n, len(src))
	}
	enc1, err := c.Append(nil, v)
	if err != nil {
		t.Fatalf("re-encoding a decoded %T: %v", v, err)
	}
	v2, n2, err := c.Decode(enc1)
	if err != nil || n2 != len(enc1) {
		t.Fatalf("decoding a re-encoding: n=%d of %d, err=%v", n2, len(enc1), err)
	}
	enc2, err := c.Append(nil, v2)
	if err != nil || !bytes.Equal(enc1, enc2) {
		t.Fatalf("second re-encoding differs: %x vs %x (%v)", enc1, enc2, err)
	}
	return v, n, true
}

// FuzzDecodeString checks the string codec. Invariants: Decode never panics;
// on success it uses at most len(src) bytes, the string is exactly the framed
// bytes, and re-encoding then decoding gives the same string.
func FuzzDecodeString(f *testing.F) {
	f.Add([]byte{0})
	f.Add(must(For[string]().Append(nil, "hello")))
	f.Add([]byte{0x80, 0x01, 'x'})
	f.Fuzz(func(t *testing.T, src []byte) {
		v, n, ok := checkRecode[string](t, src)
		if ok && !strings.HasSuffix(string(src[:n]), v) {
			t.Fatalf("decoded %q is not the tail of the %d bytes used", v, n)
		}
	})
}

// FuzzDecodeInt64 checks the int64 codec. Invariants: Decode never panics;
// on success it uses exactly 8 bytes and the encoding is canonical:
// re-encoding gives back exactly the bytes used.
func FuzzDecodeInt64(f *testing.F) {
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, src []byte) {
		v, n, ok := checkRecode[int64](t, src)
		if ok && (n != 8 || !bytes.Equal(must(For[int64]().Append(nil, v)), src[:8])) {
			t.Fatalf("int64 %d: used %d bytes, re-encoding differs from %x", v, n, src[:n])
		}
	})
}

// FuzzDecodeCBORStruct checks the CBOR codec on a struct type. Invariants:
// Decode never panics, whatever the input; on success it uses at most
// len(src) bytes, and the value re-encodes to bytes that decode to a value
// with the same encoding (compared as bytes, so NaN fields are fine).
func FuzzDecodeCBORStruct(f *testing.F) {
	c := For[record]()
	f.Add(must(c.Append(nil, record{})))
	f.Add(must(c.Append(nil, record{Name: "a", Count: 3, Payload: []byte{1}, Counts: map[string]int{"x": 1}, Any: []any{1, "b"},
		When: time.Date(2024, 1, 1, 0, 0, 0, 5, time.UTC), Ptr: &inner{Tags: []string{"t"}}})))
	f.Add([]byte{0xa1, 0x64, 'N', 'a', 'm', 'e', 0x61, 'z'})
	f.Fuzz(func(t *testing.T, src []byte) {
		checkRecode[record](t, src)
	})
}

type benchStruct struct {
	Page   string
	Client string
	Hits   int64
	Bytes  int64
}

func benchAppend[T any](b *testing.B, v T) {
	c := For[T]()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = c.Append(buf[:0], v)
	}
	b.SetBytes(int64(len(buf)))
}

func benchDecode[T any](b *testing.B, v T) {
	c := For[T]()
	enc := must(c.Append(nil, v))
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func small() benchStruct {
	return benchStruct{Page: "/index.html", Client: "203.0.113.7", Hits: 12, Bytes: 34567}
}

func BenchmarkInt64Append(b *testing.B)      { benchAppend(b, int64(-123456789)) }
func BenchmarkInt64Decode(b *testing.B)      { benchDecode(b, int64(-123456789)) }
func BenchmarkStringAppend(b *testing.B)     { benchAppend(b, "/products/42?ref=home") }
func BenchmarkStringDecode(b *testing.B)     { benchDecode(b, "/products/42?ref=home") }
func BenchmarkCBORStructAppend(b *testing.B) { benchAppend(b, small()) }
func BenchmarkCBORStructDecode(b *testing.B) { benchDecode(b, small()) }
