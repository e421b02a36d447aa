package datagen

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/app/pvuv"
)

func mustNew(t testing.TB, opts ...Option) *Generator {
	t.Helper()
	g, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestDefaults(t *testing.T) {
	want := Config{
		Seed:            1,
		Start:           time.Date(2026, time.November, 24, 7, 40, 0, 0, time.UTC),
		EventsPerSecond: 1000,
		Pages:           1000,
		Clients:         100000,
		ZipfS:           1.1,
		OutOfOrderness:  5 * time.Second,
		BadLineRatio:    0.001,
	}
	if g := mustNew(t); g.Config() != want {
		t.Fatalf("Generator.Config = %+v, want %+v", g.Config(), want)
	}
	// Zero is a value, not "the default": in order, no bad lines.
	c := mustNew(t, OutOfOrderness(0), BadLineRatio(0)).Config()
	if c.OutOfOrderness != 0 || c.BadLineRatio != 0 {
		t.Fatalf("OutOfOrderness(0) and BadLineRatio(0) not honoured: %+v", c)
	}
	// The last of an option given twice counts; Start is whole seconds.
	c = mustNew(t, Seed(5), Seed(6), Start(time.Date(2030, 1, 2, 3, 4, 5, 6e8, time.UTC))).Config()
	if c.Seed != 6 || !c.Start.Equal(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Fatalf("Seed(5), Seed(6), Start(...05.6): %+v", c)
	}
}

// TestOptionErrors: New reports every problem at once, each naming the
// option as it was called.
func TestOptionErrors(t *testing.T) {
	_, err := New(
		Start(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)),
		EventsPerSecond(-1),
		Pages(-1),
		Clients(MaxClients+1),
		ZipfS(1),
		OutOfOrderness(-time.Second),
		BadLineRatio(2),
	)
	if err == nil {
		t.Fatal("New accepted bad options")
	}
	for _, call := range []string{"Start(9999-01-01", "EventsPerSecond(-1)", "Pages(-1)", "Clients(16777217)", "ZipfS(1)", "OutOfOrderness(-1s)", "BadLineRatio(2)"} {
		if !strings.Contains(err.Error(), call) {
			t.Errorf("error does not name %s:\n%v", call, err)
		}
	}
	if n := strings.Count(err.Error(), "datagen: "); n != 7 {
		t.Errorf("got %d problems, want 7:\n%v", n, err)
	}
	// A zero that means nothing is a problem too, not the default.
	for name, o := range map[string]Option{"Start(time.Time{})": Start(time.Time{}), "EventsPerSecond(0)": EventsPerSecond(0), "Pages(0)": Pages(0), "Clients(0)": Clients(0)} {
		if _, err := New(o); err == nil {
			t.Errorf("New accepted %s", name)
		}
	}
}

func TestDeterministic(t *testing.T) {
	gen := func(cfg []Option) []byte {
		var b bytes.Buffer
		if err := mustNew(t, cfg...).WriteLines(&b, 20000); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	cfg := []Option{Seed(42), BadLineRatio(0.05)}
	a, b := gen(cfg), gen(cfg)
	if !bytes.Equal(a, b) {
		t.Fatal("the same options produced different lines")
	}
	if c := gen([]Option{Seed(43), BadLineRatio(0.05)}); bytes.Equal(a, c) {
		t.Fatal("different seeds produced the same lines")
	}
	if n := bytes.Count(a, []byte{'\n'}); n != 20000 {
		t.Fatalf("WriteLines wrote %d lines, want 20000", n)
	}
	// Next and WriteLines produce the same sequence.
	g := mustNew(t, cfg...)
	var line []byte
	for want := range bytes.SplitSeq(a[:len(a)-1], []byte{'\n'}) {
		line, _ = g.Next(line[:0])
		if !bytes.Equal(line, want) {
			t.Fatalf("Next = %q, WriteLines wrote %q", line, want)
		}
	}
}

// TestLinesParse checks the generator against the parser: every good line
// is a page view and every bad line is rejected, with each kind present.
func TestLinesParse(t *testing.T) {
	g := mustNew(t, Seed(7), BadLineRatio(0.02))
	var (
		line    []byte
		kind    Kind
		byKind  [numKinds]int
		reasons = map[string]int{}
		pages   = map[string]bool{}
		queries int
	)
	for range 100000 {
		line, kind = g.Next(line[:0])
		byKind[kind]++
		if bytes.IndexByte(line, '\n') >= 0 {
			t.Fatalf("line holds a newline: %q", line)
		}
		h, err := pvuv.Parse(line)
		if kind.Bad() {
			var pe *pvuv.ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%v line parsed: %q", kind, line)
			}
			reasons[pe.Reason]++
			continue
		}
		if err != nil {
			t.Fatalf("good line %q: %v", line, err)
		}
		if !strings.HasPrefix(h.Page, "/p/") || !strings.HasPrefix(h.Client, "10.") {
			t.Fatalf("unexpected hit %+v from %q", h, line)
		}
		pages[h.Page] = true
		if bytes.IndexByte(line, '?') >= 0 {
			queries++
		}
	}
	for k, n := range byKind {
		if n == 0 {
			t.Errorf("no %v lines in 100000", Kind(k))
		}
	}
	for _, r := range []string{pvuv.ReasonBadRequest, pvuv.ReasonImpossibleDate, pvuv.ReasonMissingStatus} {
		if reasons[r] == 0 {
			t.Errorf("no bad line failed with %q; got %v", r, reasons)
		}
	}
	if len(pages) < 100 || queries == 0 {
		t.Errorf("%d distinct pages and %d query strings: too little variety", len(pages), queries)
	}
	t.Logf("kinds %v, reasons %v, %d pages", byKind, reasons, len(pages))
}

func TestOutOfOrderness(t *testing.T) {
	for _, tc := range []struct {
		opts    []Option
		maxLate time.Duration
	}{
		{[]Option{Seed(3)}, 5 * time.Second},
		{[]Option{Seed(3), OutOfOrderness(2500 * time.Millisecond), EventsPerSecond(3)}, 2 * time.Second},
		{[]Option{Seed(3), OutOfOrderness(0), EventsPerSecond(0.5)}, 0},
	} {
		g := mustNew(t, tc.opts...)
		var (
			line    []byte
			kind    Kind
			maxSeen time.Time
			late    time.Duration
		)
		for i := range 100000 {
			line, kind = g.Next(line[:0])
			if kind.Bad() {
				continue
			}
			h, err := pvuv.Parse(line)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 && !h.Time.Equal(g.Config().Start) {
				t.Errorf("first line at %v, want Start %v", h.Time, g.Config().Start)
			}
			if ooo := g.Config().OutOfOrderness; h.Time.Before(maxSeen.Add(-ooo)) {
				t.Fatalf("%+v: line %d at %v is more than %v before %v", g.Config(), i, h.Time, ooo, maxSeen)
			}
			if h.Time.After(maxSeen) {
				maxSeen = h.Time
			}
			late = max(late, maxSeen.Sub(h.Time))
		}
		if late != tc.maxLate {
			t.Errorf("%+v: greatest lateness %v, want %v", g.Config(), late, tc.maxLate)
		}
		nominal := g.Config().Start.Add(time.Duration(float64(100000-1) / g.Config().EventsPerSecond * float64(time.Second)))
		if d := nominal.Sub(maxSeen); d < 0 || d > time.Second {
			t.Errorf("%+v: last time %v, want about %v", g.Config(), maxSeen, nominal)
		}
	}
}

func TestKindString(t *testing.T) {
	if Good.String() != "good" || BadTLS.String() != "tls handshake" || Kind(99).String() != "Kind(99)" {
		t.Fatal("Kind.String")
	}
	if Good.Bad() || !BadNoStatus.Bad() {
		t.Fatal("Kind.Bad")
	}
}

type failWriter struct{}

var errDisk = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDisk }

func TestWriteLinesError(t *testing.T) {
	err := mustNew(t).WriteLines(failWriter{}, 10)
	if !errors.Is(err, errDisk) {
		t.Fatalf("WriteLines = %v, want it to wrap %v", err, errDisk)
	}
}

func TestNextAllocs(t *testing.T) {
	g := mustNew(t, BadLineRatio(0.1))
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(1000, func() { buf, _ = g.Next(buf[:0]) }); n != 0 {
		t.Fatalf("Next allocates %v times per line", n)
	}
}

func BenchmarkNext(b *testing.B) {
	g := mustNew(b)
	buf := make([]byte, 0, 512)
	var n int64
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = g.Next(buf[:0])
		n += int64(len(buf))
	}
	b.SetBytes(n / int64(b.N))
}

// TestTimesStopAtEnd checks that a sparse configuration never writes a
// timestamp the parser rejects: times stop at the last representable day.
func TestTimesStopAtEnd(t *testing.T) {
	if got, want := time.Unix(lastSec, 0).UTC(), time.Date(9999, 12, 30, 23, 59, 59, 0, time.UTC); got != want {
		t.Fatalf("lastSec is %v, want %v", got, want)
	}
	g := mustNew(t, EventsPerSecond(1e-300), Start(time.Date(9998, 1, 1, 0, 0, 0, 0, time.UTC)), BadLineRatio(0), OutOfOrderness(0))
	var line []byte
	for i := range 1000 {
		line, _ = g.Next(line[:0])
		h, err := pvuv.Parse(line)
		if err != nil {
			t.Fatalf("line %d %q: %v", i, line, err)
		}
		if i > 0 && h.Time.Unix() != lastSec {
			t.Fatalf("line %d at %v, want the last second", i, h.Time)
		}
	}
}
