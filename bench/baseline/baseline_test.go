package baseline

import (
	"bufio"
	"bytes"
	"cmp"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/datagen"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// handInput has three one-minute windows; the comments give the counts.
const handInput = `1.1.1.1 - - [24/Nov/2026:07:40:01 +0000] "GET /a HTTP/1.1" 200 1 "-" "ua"
1.1.1.1 - - [24/Nov/2026:07:40:59 +0000] "GET /a?x=1 HTTP/1.1" 200 1 "-" "ua"
2.2.2.2 - - [24/Nov/2026:08:40:30 +0100] "GET /b HTTP/1.1" 404 1 "-" "ua"
this is not a log line
3.3.3.3 - - [24/Nov/2026:07:41:00 +0000] "GET /c HTTP/1.1" 200 1
1.1.1.1 - - [24/Nov/2026:07:40:10 +0000] "POST /b HTTP/1.1" 200 1
1.1.1.1 - - [24/Nov/2026:07:41:59 +0000] "-" 400 0 "-" "-"

1.1.1.1 - - [24/Nov/2026:07:41:30 -0000] "GET /c#x HTTP/1.1" 200 1
4.4.4.4 - - [24/Nov/2026:07:42:00 +0000] "GET /z HTTP/1.1" 500 1` // no final newline

// Window 07:40: hits /a 1.1.1.1, /a 1.1.1.1, /b 2.2.2.2, /b 1.1.1.1 (late):
// PV 4, UV 2, pages a:2 b:2. Window 07:41: /c 3.3.3.3, /c 1.1.1.1: PV 2,
// UV 2. Window 07:42: /z: PV 1, UV 1. Lines 10, bad 3.
func TestRunHandChecked(t *testing.T) {
	got, err := Run(strings.NewReader(handInput), time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := Result{
		Lines: 10,
		Bad:   3,
		Windows: []Window{
			{Start: at("2026-11-24T07:40:00Z"), End: at("2026-11-24T07:41:00Z"), PV: 4, UV: 2,
				TopPages: []PageCount{{"/a", 2}}},
			{Start: at("2026-11-24T07:41:00Z"), End: at("2026-11-24T07:42:00Z"), PV: 2, UV: 2,
				TopPages: []PageCount{{"/c", 2}}},
			{Start: at("2026-11-24T07:42:00Z"), End: at("2026-11-24T07:43:00Z"), PV: 1, UV: 1,
				TopPages: []PageCount{{"/z", 1}}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Run =\n %+v\nwant\n %+v", got, want)
	}

	got, err = Run(strings.NewReader(handInput), 2*time.Minute, 5)
	if err != nil {
		t.Fatal(err)
	}
	want = Result{
		Lines: 10,
		Bad:   3,
		Windows: []Window{
			{Start: at("2026-11-24T07:40:00Z"), End: at("2026-11-24T07:42:00Z"), PV: 6, UV: 3,
				TopPages: []PageCount{{"/a", 2}, {"/b", 2}, {"/c", 2}}},
			{Start: at("2026-11-24T07:42:00Z"), End: at("2026-11-24T07:44:00Z"), PV: 1, UV: 1,
				TopPages: []PageCount{{"/z", 1}}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Run =\n %+v\nwant\n %+v", got, want)
	}
}

func TestRunEdges(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		got, err := Run(strings.NewReader(""), time.Minute, 3)
		if err != nil || len(got.Windows) != 0 || got.Lines != 0 || got.Bad != 0 {
			t.Fatalf("Run = %+v, %v", got, err)
		}
	})
	t.Run("crlf and before 1970", func(t *testing.T) {
		in := "c - - [31/Dec/1969:23:59:59 +0000] \"GET /a HTTP/1.1\" 200 1\r\n" +
			"c - - [01/Jan/1970:00:00:00 +0000] \"GET /a HTTP/1.1\" 200 1\r\n"
		got, err := Run(strings.NewReader(in), time.Minute, 0)
		if err != nil {
			t.Fatal(err)
		}
		want := Result{Lines: 2, Windows: []Window{
			{Start: at("1969-12-31T23:59:00Z"), End: at("1970-01-01T00:00:00Z"), PV: 1, UV: 1},
			{Start: at("1970-01-01T00:00:00Z"), End: at("1970-01-01T00:01:00Z"), PV: 1, UV: 1},
		}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Run =\n %+v\nwant\n %+v", got, want)
		}
	})
	t.Run("line longer than the buffer", func(t *testing.T) {
		long := `c - - [24/Nov/2026:07:40:01 +0000] "GET /` + strings.Repeat("x", 3<<20) + ` HTTP/1.1" 200 1`
		in := handInput[:strings.IndexByte(handInput, '\n')+1] + long + "\n" + long
		got, err := Run(strings.NewReader(in), time.Minute, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got.Lines != 3 || got.Bad != 0 || len(got.Windows) != 1 || got.Windows[0].PV != 3 ||
			got.Windows[0].UV != 2 || got.Windows[0].TopPages[0].PV != 2 {
			t.Fatalf("Run = %+v", got)
		}
	})
	t.Run("bad arguments", func(t *testing.T) {
		for _, w := range []time.Duration{0, -time.Minute, 1500 * time.Millisecond} {
			if _, err := Run(strings.NewReader(handInput), w, 1); err == nil || !strings.Contains(err.Error(), "window") {
				t.Errorf("window %v: err = %v", w, err)
			}
		}
		if _, err := Run(strings.NewReader(handInput), time.Minute, -1); err == nil || !strings.Contains(err.Error(), "topN") {
			t.Errorf("topN -1: err = %v", err)
		}
	})
	t.Run("read error", func(t *testing.T) {
		boom := errors.New("boom")
		_, err := Run(iotest.TimeoutReader(strings.NewReader(handInput)), time.Minute, 1)
		if !errors.Is(err, iotest.ErrTimeout) {
			t.Fatalf("err = %v", err)
		}
		_, err = Run(iotest.ErrReader(boom), time.Minute, 1)
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
	})
}

// naive computes Result the obvious way, as the oracle for Run.
func naive(t *testing.T, in []byte, window time.Duration, topN int) Result {
	t.Helper()
	type agg struct {
		pv      int64
		clients map[string]bool
		pages   map[string]int64
	}
	wins := map[time.Time]*agg{}
	var res Result
	sc := bufio.NewScanner(bytes.NewReader(in))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		res.Lines++
		h, err := pvuv.Parse(bytes.TrimSuffix(sc.Bytes(), []byte("\r")))
		if err != nil {
			res.Bad++
			continue
		}
		// Truncate counts from year 1, which is a whole number of days
		// before the epoch: the same windows for sizes that divide a day.
		start := h.Time.Truncate(window)
		a := wins[start]
		if a == nil {
			a = &agg{clients: map[string]bool{}, pages: map[string]int64{}}
			wins[start] = a
		}
		a.pv++
		a.clients[h.Client] = true
		a.pages[h.Page]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for start, a := range wins {
		var pages []PageCount
		for p, n := range a.pages {
			pages = append(pages, PageCount{p, n})
		}
		slices.SortFunc(pages, func(x, y PageCount) int {
			return cmp.Or(cmp.Compare(y.PV, x.PV), strings.Compare(x.Page, y.Page))
		})
		if len(pages) > topN {
			pages = pages[:topN]
		}
		if topN == 0 {
			pages = nil
		}
		res.Windows = append(res.Windows, Window{start, start.Add(window), a.pv, int64(len(a.clients)), pages})
	}
	slices.SortFunc(res.Windows, func(x, y Window) int { return x.Start.Compare(y.Start) })
	return res
}

func generate(t testing.TB, opts []datagen.Option, n int) []byte {
	t.Helper()
	g, err := datagen.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := g.WriteLines(&b, n); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestRunMatchesNaive is the differential test: on generated data with late
// lines crossing window boundaries, Run agrees with the naive oracle.
func TestRunMatchesNaive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   []datagen.Option
		window time.Duration
		topN   int
	}{
		{"defaults", nil, time.Second, 5},
		{"many windows", []datagen.Option{datagen.Seed(2), datagen.EventsPerSecond(50), datagen.OutOfOrderness(30 * time.Second), datagen.BadLineRatio(0.01)}, 10 * time.Second, 3},
		{"many pages", []datagen.Option{datagen.Seed(3), datagen.Pages(20000), datagen.Clients(500), datagen.ZipfS(1.01), datagen.EventsPerSecond(200)}, time.Minute, 10},
		{"one window", []datagen.Option{datagen.Seed(4), datagen.Pages(3)}, time.Hour, 10},
		{"no top", []datagen.Option{datagen.Seed(5)}, 10 * time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := generate(t, tc.opts, 60000)
			want := naive(t, in, tc.window, tc.topN)
			got, err := Run(bytes.NewReader(in), tc.window, tc.topN)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Run differs from naive:\n got %d windows, lines %d, bad %d\nwant %d windows, lines %d, bad %d\nfirst got %+v\nfirst want %+v",
					len(got.Windows), got.Lines, got.Bad, len(want.Windows), want.Lines, want.Bad, got.Windows[0], want.Windows[0])
			}
			// Small, uneven reads split lines anywhere.
			got, err = Run(iotest.HalfReader(bytes.NewReader(in)), tc.window, tc.topN)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatal("Run through HalfReader differs from naive")
			}
			if len(want.Windows) < 2 && tc.window < time.Hour {
				t.Fatalf("only %d windows: the test exercises too little", len(want.Windows))
			}
		})
	}
}

func TestRunOneByteReads(t *testing.T) {
	in := generate(t, []datagen.Option{datagen.Seed(9), datagen.BadLineRatio(0.05)}, 2000)
	want := naive(t, in, time.Second, 3)
	got, err := Run(iotest.OneByteReader(bytes.NewReader(in)), time.Second, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("Run through OneByteReader differs from naive")
	}
}

func BenchmarkRun(b *testing.B) {
	const n = 500000
	in := generate(b, nil, n)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Run(bytes.NewReader(in), time.Minute, 10); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n)/float64(b.N), "ns/line")
}
