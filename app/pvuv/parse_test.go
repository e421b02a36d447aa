package pvuv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/source"
)

const combined = `203.0.113.9 - - [24/Nov/2026:07:40:13 +0000] "GET /a/b?x=1 HTTP/1.1" 200 512 "https://ref/" "Mozilla/5.0 (X11; Linux x86_64)"`

func utc(y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}

func TestParseGood(t *testing.T) {
	tests := []struct {
		name string
		line string
		want Hit
	}{
		{"combined with query", combined,
			Hit{"203.0.113.9", utc(2026, 11, 24, 7, 40, 13), "GET", "/a/b", 200}},
		{"common format", `10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`,
			Hit{"10.0.0.1", utc(2000, 10, 10, 20, 55, 36), "GET", "/apache_pb.gif", 200}},
		{"positive zone crosses midnight back", `::1 - - [01/Jan/2027:03:00:00 +0530] "POST /login HTTP/2.0" 302 0 "-" "-"`,
			Hit{"::1", utc(2026, 12, 31, 21, 30, 0), "POST", "/login", 302}},
		{"negative zone crosses year forward", `h - - [31/Dec/2026:23:30:00 -0100] "HEAD / HTTP/1.1" 404 -`,
			Hit{"h", utc(2027, 1, 1, 0, 30, 0), "HEAD", "/", 404}},
		{"leap day", `1.1.1.1 - - [29/Feb/2024:12:00:00 +0000] "GET /leap HTTP/1.1" 200 1`,
			Hit{"1.1.1.1", utc(2024, 2, 29, 12, 0, 0), "GET", "/leap", 200}},
		{"leap day in a 400th year", `1.1.1.1 - - [29/Feb/2000:00:00:00 +0000] "GET /x HTTP/1.1" 200 1`,
			Hit{"1.1.1.1", utc(2000, 2, 29, 0, 0, 0), "GET", "/x", 200}},
		{"status ends the line", `c - - [24/Nov/2026:07:40:13 +0000] "GET /p HTTP/1.1" 500`,
			Hit{"c", utc(2026, 11, 24, 7, 40, 13), "GET", "/p", 500}},
		{"fragment stripped", `c - - [24/Nov/2026:07:40:13 +0000] "GET /p#top HTTP/1.1" 200 1`,
			Hit{"c", utc(2026, 11, 24, 7, 40, 13), "GET", "/p", 200}},
		{"fragment before query", `c - - [24/Nov/2026:07:40:13 +0000] "GET /p#a?b HTTP/1.1" 200 1`,
			Hit{"c", utc(2026, 11, 24, 7, 40, 13), "GET", "/p", 200}},
		{"query only", `c - - [24/Nov/2026:07:40:13 +0000] "GET /?ref=x&y=%20 HTTP/1.1" 200 1`,
			Hit{"c", utc(2026, 11, 24, 7, 40, 13), "GET", "/", 200}},
		{"unusual method", `c - - [24/Nov/2026:07:40:13 +0000] "PROPFIND /dav HTTP/1.1" 207 1`,
			Hit{"c", utc(2026, 11, 24, 7, 40, 13), "PROPFIND", "/dav", 207}},
		{"user with brackets in referrer", `c - bob [01/Mar/2026:00:00:00 +0000] "GET /[x] HTTP/1.1" 200 1 "[ref]" "ua"`,
			Hit{"c", utc(2026, 3, 1, 0, 0, 0), "GET", "/[x]", 200}},
		{"epoch start", `c - - [01/Jan/1970:00:00:00 +0000] "GET / HTTP/1.1" 100 1`,
			Hit{"c", time.Unix(0, 0).UTC(), "GET", "/", 100}},
		{"first year", `c - - [01/Jan/0001:00:00:00 +0000] "GET / HTTP/1.1" 999 1`,
			Hit{"c", utc(1, 1, 1, 0, 0, 0), "GET", "/", 999}},
		{"last second", `c - - [31/Dec/9999:23:59:59 +0000] "GET / HTTP/1.1" 200 1`,
			Hit{"c", utc(9999, 12, 31, 23, 59, 59), "GET", "/", 200}},
		{"long client and page", "c" + strings.Repeat("x", 100) + ` - - [24/Nov/2026:07:40:13 +0000] "GET /` + strings.Repeat("p", 100) + ` HTTP/1.1" 200 1`,
			Hit{"c" + strings.Repeat("x", 100), utc(2026, 11, 24, 7, 40, 13), "GET", "/" + strings.Repeat("p", 100), 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.line))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got != tt.want || !got.Time.Equal(tt.want.Time) {
				t.Fatalf("Parse =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestParseBad(t *testing.T) {
	const ts = "[24/Nov/2026:07:40:13 +0000]"
	good := `1.2.3.4 - - ` + ts + ` "GET /p HTTP/1.1" 200 5 "-" "ua"`
	tests := []struct {
		name, line, reason string
	}{
		{"empty", "", ReasonEmpty},
		{"leading space", " " + good, ReasonMissingClient},
		{"single field", "1.2.3.4", ReasonMissingTimestamp},
		{"no timestamp", `1.2.3.4 - - "GET /p HTTP/1.1" 200 5`, ReasonMissingTimestamp},
		{"truncated in timestamp", `1.2.3.4 - - [24/Nov/2026:07:4`, ReasonTruncated},
		{"truncated after timestamp", `1.2.3.4 - - ` + ts, ReasonTruncated},
		{"truncated after space", `1.2.3.4 - - ` + ts + ` `, ReasonTruncated},
		{"truncated in request", `1.2.3.4 - - ` + ts + ` "GET /p HT`, ReasonTruncated},
		{"truncated after quote", `1.2.3.4 - - ` + ts + ` "`, ReasonTruncated},
		{"short timestamp", `1.2.3.4 - - [24/Nov/2026:07:40:13] "GET /p HTTP/1.1" 200 5`, ReasonBadTimestamp},
		{"timestamp too long", `1.2.3.4 - - [24/Nov/2026:07:40:13 +00000] "GET /p HTTP/1.1" 200 5`, ReasonBadTimestamp},
		{"timestamp separators", `1.2.3.4 - - [24-Nov-2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`, ReasonBadTimestamp},
		{"timestamp letters", `1.2.3.4 - - [2a/Nov/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`, ReasonBadTimestamp},
		{"iso timestamp", `1.2.3.4 - - [2026-11-24T07:40:13+00:00] "GET /p HTTP/1.1" 200 5`, ReasonBadTimestamp},
		{"bad month", `1.2.3.4 - - [24/Nve/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`, ReasonBadMonth},
		{"lowercase month", `1.2.3.4 - - [24/nov/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`, ReasonBadMonth},
		{"zone without sign", `1.2.3.4 - - [24/Nov/2026:07:40:13 00000] "GET /p HTTP/1.1" 200 5`, ReasonBadZone},
		{"zone minutes", `1.2.3.4 - - [24/Nov/2026:07:40:13 +0060] "GET /p HTTP/1.1" 200 5`, ReasonBadZone},
		{"zone hours", `1.2.3.4 - - [24/Nov/2026:07:40:13 +2400] "GET /p HTTP/1.1" 200 5`, ReasonBadZone},
		{"zone letters", `1.2.3.4 - - [24/Nov/2026:07:40:13 +UTC0] "GET /p HTTP/1.1" 200 5`, ReasonBadZone},
		{"31 Feb", `1.2.3.4 - - [31/Feb/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`, ReasonImpossibleDate},
		{"29 Feb in common year", `1.2.3.4 - - [29/Feb/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`, ReasonImpossibleDate},
		{"29 Feb in a century", `1.2.3.4 - - [29/Feb/1900:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`, ReasonImpossibleDate},
		{"31 Apr", `1.2.3.4 - - [31/Apr/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`, ReasonImpossibleDate},
		{"day 0", `1.2.3.4 - - [00/Nov/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`, ReasonImpossibleDate},
		{"hour 25", `1.2.3.4 - - [24/Nov/2026:25:40:13 +0000] "GET /p HTTP/1.1" 200 5`, ReasonImpossibleDate},
		{"minute 60", `1.2.3.4 - - [24/Nov/2026:07:60:13 +0000] "GET /p HTTP/1.1" 200 5`, ReasonImpossibleDate},
		{"leap second", `1.2.3.4 - - [24/Nov/2026:07:40:60 +0000] "GET /p HTTP/1.1" 200 5`, ReasonImpossibleDate},
		{"before year 1 in UTC", `1.2.3.4 - - [01/Jan/0001:00:30:00 +0100] "GET /p HTTP/1.1" 200 5`, ReasonTimeRange},
		{"after year 9999 in UTC", `1.2.3.4 - - [31/Dec/9999:23:30:00 -0100] "GET /p HTTP/1.1" 200 5`, ReasonTimeRange},
		{"unquoted request", `1.2.3.4 - - ` + ts + ` GET /p HTTP/1.1 200 5`, ReasonMissingRequest},
		{"no space before request", `1.2.3.4 - - ` + ts + `"GET /p HTTP/1.1" 200 5`, ReasonMissingRequest},
		{"dash request", `1.2.3.4 - - ` + ts + ` "-" 400 0 "-" "-"`, ReasonBadRequest},
		{"empty request", `1.2.3.4 - - ` + ts + ` "" 400 0 "-" "-"`, ReasonBadRequest},
		{"tls handshake", "1.2.3.4 - - " + ts + " \"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\" 400 157 \"-\" \"-\"", ReasonBadRequest},
		{"tls handshake escaped", `1.2.3.4 - - ` + ts + ` "\x16\x03\x01\x02\x00\x01\x00\x01\xFC\x03\x03" 400 157 "-" "-"`, ReasonBadRequest},
		{"lowercase method", `1.2.3.4 - - ` + ts + ` "get /p HTTP/1.1" 200 5`, ReasonBadRequest},
		{"relative path", `1.2.3.4 - - ` + ts + ` "GET p HTTP/1.1" 200 5`, ReasonBadRequest},
		{"absolute URL", `1.2.3.4 - - ` + ts + ` "GET http://x/p HTTP/1.1" 200 5`, ReasonBadRequest},
		{"no protocol", `1.2.3.4 - - ` + ts + ` "GET /p" 200 5`, ReasonBadRequest},
		{"empty protocol", `1.2.3.4 - - ` + ts + ` "GET /p " 200 5`, ReasonBadRequest},
		{"bad protocol", `1.2.3.4 - - ` + ts + ` "GET /p SPDY/3" 200 5`, ReasonBadRequest},
		{"extra request field", `1.2.3.4 - - ` + ts + ` "GET /p HTTP/1.1 x" 200 5`, ReasonBadRequest},
		{"two spaces", `1.2.3.4 - - ` + ts + ` "GET  /p HTTP/1.1" 200 5`, ReasonBadRequest},
		{"control byte in path", "1.2.3.4 - - " + ts + " \"GET /p\x01 HTTP/1.1\" 200 5", ReasonBadRequest},
		{"no status", `1.2.3.4 - - ` + ts + ` "GET /p HTTP/1.1"`, ReasonMissingStatus},
		{"dash status", `1.2.3.4 - - ` + ts + ` "GET /p HTTP/1.1" - 5`, ReasonMissingStatus},
		{"status skipped", `1.2.3.4 - - ` + ts + ` "GET /p HTTP/1.1" "-" "ua"`, ReasonMissingStatus},
		{"trailing space", `1.2.3.4 - - ` + ts + ` "GET /p HTTP/1.1" `, ReasonMissingStatus},
		{"status glued", `1.2.3.4 - - ` + ts + ` "GET /p HTTP/1.1"200 5`, ReasonBadStatus},
		{"two-digit status", `1.2.3.4 - - ` + ts + ` "GET /p HTTP/1.1" 20 5`, ReasonBadStatus},
		{"four-digit status", `1.2.3.4 - - ` + ts + ` "GET /p HTTP/1.1" 2000 5`, ReasonBadStatus},
		{"status with letter", `1.2.3.4 - - ` + ts + ` "GET /p HTTP/1.1" 20x 5`, ReasonBadStatus},
		{"status 000", `1.2.3.4 - - ` + ts + ` "GET /p HTTP/1.1" 099 5`, ReasonBadStatus},
		// A crash can leave a log with a run of zeros before the next line.
		{"NULs before the line", strings.Repeat("\x00", 64) + good, ReasonNUL},
		{"NUL in client", "1.2.3.4\x00 - - " + ts + ` "GET /p HTTP/1.1" 200 5`, ReasonNUL},
		{"NUL as client", "\x00 - - " + ts + ` "GET /p HTTP/1.1" 200 5`, ReasonNUL},
		{"NUL in user", "1.2.3.4 - fr\x00ank " + ts + ` "GET /p HTTP/1.1" 200 5`, ReasonNUL},
		{"NUL before bracket", "1.2.3.4 - - \x00" + ts + ` "GET /p HTTP/1.1" 200 5`, ReasonNUL},
		{"NUL after status", `1.2.3.4 - - ` + ts + " \"GET /p HTTP/1.1\" 200 \x00", ReasonNUL},
		{"NUL in user agent", `1.2.3.4 - - ` + ts + " \"GET /p HTTP/1.1\" 200 5 \"-\" \"Mozilla\x00\"", ReasonNUL},
		{"NULs after the line", good + strings.Repeat("\x00", 64), ReasonNUL},
		{"NUL in timestamp", "1.2.3.4 - - [24/Nov/2026:07:40:1\x00 +0000]" + ` "GET /p HTTP/1.1" 200 5`, ReasonBadTimestamp},
		{"NUL in path", "1.2.3.4 - - " + ts + " \"GET /p\x00 HTTP/1.1\" 200 5", ReasonBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := Parse([]byte(tt.line))
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("Parse = %+v, %v; want *ParseError", h, err)
			}
			if pe.Reason != tt.reason {
				t.Fatalf("reason = %q, want %q", pe.Reason, tt.reason)
			}
			if want := "pvuv: bad line: " + tt.reason; err.Error() != want {
				t.Fatalf("Error() = %q, want %q", err.Error(), want)
			}
			if h != (Hit{}) {
				t.Fatalf("Parse returned a non-zero Hit with its error: %+v", h)
			}
		})
	}
}

// TestDaysFromCivil checks the hand-written calendar against package time
// over every day of a span of years that includes the edge cases.
func TestDaysFromCivil(t *testing.T) {
	for _, span := range [][2]int{{1, 5}, {1595, 2405}, {9995, 9999}} {
		for y := span[0]; y <= span[1]; y++ {
			for m := 1; m <= 12; m++ {
				for d := 1; d <= daysIn(m, y); d++ {
					want := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
					if want.Day() != d {
						t.Fatalf("daysIn(%d, %d) = %d, but time normalises day %d", m, y, daysIn(m, y), d)
					}
					if got := daysFromCivil(int64(y), m, d) * 86400; got != want.Unix() {
						t.Fatalf("daysFromCivil(%d, %d, %d) = %d s, want %d", y, m, d, got, want.Unix())
					}
				}
				// The day after the last must roll over, proving daysIn is not short.
				if next := time.Date(y, time.Month(m), daysIn(m, y)+1, 0, 0, 0, 0, time.UTC); next.Day() != 1 {
					t.Fatalf("daysIn(%d, %d) = %d is short", m, y, daysIn(m, y))
				}
			}
		}
	}
	if got := utc(1, 1, 1, 0, 0, 0).Unix(); got != minUnix {
		t.Errorf("minUnix = %d, want %d", int64(minUnix), got)
	}
	if got := utc(9999, 12, 31, 23, 59, 59).Unix(); got != maxUnix {
		t.Errorf("maxUnix = %d, want %d", int64(maxUnix), got)
	}
}

// TestParseMatchesTimeParse compares the hand-written timestamp parser with
// time.Parse over zones and dates.
func TestParseMatchesTimeParse(t *testing.T) {
	const layout = "02/Jan/2006:15:04:05 -0700"
	base := utc(2023, 12, 25, 22, 59, 58)
	zones := []int{0, 3600, -3600, 19800, -34200, 45900, -43200}
	for i := range 4000 {
		ti := base.Add(time.Duration(i) * 7919 * time.Minute)
		loc := time.FixedZone("", zones[i%len(zones)])
		stamp := ti.In(loc).Format(layout)
		line := fmt.Sprintf(`c - - [%s] "GET / HTTP/1.1" 200 1`, stamp)
		h, err := Parse([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		want, err := time.Parse(layout, stamp)
		if err != nil {
			t.Fatal(err)
		}
		if !h.Time.Equal(want) || h.Time.Location() != time.UTC {
			t.Fatalf("%s: Time = %v, want %v in UTC", line, h.Time, want.UTC())
		}
	}
}

func TestParseRawAliasesLine(t *testing.T) {
	line := []byte(combined)
	var r RawHit
	if reason := ParseRaw(line, &r); reason != "" {
		t.Fatal(reason)
	}
	if string(r.Client) != "203.0.113.9" || string(r.Method) != "GET" || string(r.Page) != "/a/b" || r.Status != 200 {
		t.Fatalf("ParseRaw = %+v", r)
	}
	if &r.Client[0] != &line[0] {
		t.Fatal("ParseRaw copied the client")
	}
}

func TestParseAllocs(t *testing.T) {
	line := []byte(combined)
	var r RawHit
	if n := testing.AllocsPerRun(100, func() { ParseRaw(line, &r) }); n != 0 {
		t.Errorf("ParseRaw allocates %v times, want 0", n)
	}
	var h Hit
	if n := testing.AllocsPerRun(100, func() { ParseInto(line, &h) }); n != 1 {
		t.Errorf("ParseInto allocates %v times, want 1", n)
	}
	bad := []byte(`1.2.3.4 - - [24/Nov/2026:07:40:13 +0000] "-" 400 0 "-" "-"`)
	if n := testing.AllocsPerRun(100, func() { ParseInto(bad, &h) }); n != 0 {
		t.Errorf("ParseInto of a bad line allocates %v times, want 0", n)
	}
	// ParseStrings: a block of its Strings per some thousand lines.
	var s source.Strings
	if n := testing.AllocsPerRun(1000, func() { ParseStrings(line, &h, &s) }); n > 0.01 {
		t.Errorf("ParseStrings allocates %v times a line, want one per block of source.Strings", n)
	}
}

// fuzzStrings is the source.Strings FuzzParse's ParseStrings takes its
// strings from, across inputs, as a reader's decoder does.
var fuzzStrings source.Strings

// format writes h back as a common-format line.
func format(h Hit) string {
	return fmt.Sprintf(`%s - - [%s] "%s %s HTTP/1.1" %d 0`,
		h.Client, h.Time.Format("02/Jan/2006:15:04:05 -0700"), h.Method, h.Page, h.Status)
}

// FuzzParse checks these invariants on arbitrary input:
//
//  1. Parse never panics.
//  2. Parse returns either a Hit and a nil error, or the zero Hit and a
//     *ParseError whose Reason is non-empty.
//  3. On success Page starts with '/' and contains no '?' or '#', Status is
//     in 100..999, Client is non-empty and has no space, Method is non-empty,
//     and Time is in UTC.
//  4. Writing the hit back as a line and parsing that yields the same Hit.
//  5. ParseInto, ParseStrings and ParseRaw agree with Parse.
//  6. A line with a NUL byte is never a page view.
func FuzzParse(f *testing.F) {
	seeds := []string{
		combined,
		`10.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326`,
		`::1 - - [01/Jan/2027:03:00:00 +0530] "POST /login?next=/a#x HTTP/2.0" 302 0 "-" "-"`,
		`1.2.3.4 - - [29/Feb/2024:12:00:00 +0000] "GET /leap HTTP/1.1" 200 1`,
		`1.2.3.4 - - [31/Feb/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`,
		`1.2.3.4 - - [24/Nov/2026:25:40:13 +0000] "GET /p HTTP/1.1" 200 5`,
		`1.2.3.4 - - [24/Nve/2026:07:40:13 +0000] "GET /p HTTP/1.1" 200 5`,
		`1.2.3.4 - - [24/Nov/2026:07:40:13 +0000] "-" 400 0 "-" "-"`,
		"1.2.3.4 - - [24/Nov/2026:07:40:13 +0000] \"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\" 400 157 \"-\" \"-\"",
		`1.2.3.4 - - [24/Nov/2026:07:4`,
		`1.2.3.4 - - [24/Nov/2026:07:40:13 +0000] "GET /p HTTP/1.1"`,
		`1.2.3.4 - - [24/Nov/2026:07:40:13 +0000] "GET /p HTTP/1.1" - 5`,
		`1.2.3.4 - - [01/Jan/0001:00:30:00 +0100] "GET /p HTTP/1.1" 200 5`,
		"",
		" ",
		"\x00\x00\x00\x001.2.3.4 - - [24/Nov/2026:07:40:13 +0000] \"GET /p HTTP/1.1\" 200 5",
		"1.2.3.4 - \x00 [24/Nov/2026:07:40:13 +0000] \"GET /p HTTP/1.1\" 200 5",
		"1.2.3.4 - - [24/Nov/2026:07:40:13 +0000] \"GET /p HTTP/1.1\" 200 5 \"-\" \"ua\x00\"",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		h, err := Parse(line)
		var r RawHit
		rawReason := ParseRaw(line, &r)
		var h2, hs Hit
		intoReason := ParseInto(line, &h2)
		stringsReason := ParseStrings(line, &hs, &fuzzStrings)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Reason == "" {
				t.Fatalf("error %v is not a *ParseError with a reason", err)
			}
			if h != (Hit{}) {
				t.Fatalf("non-zero Hit with error: %+v", h)
			}
			if rawReason != pe.Reason || intoReason != pe.Reason || stringsReason != pe.Reason {
				t.Fatalf("reasons differ: Parse %q, ParseRaw %q, ParseInto %q, ParseStrings %q", pe.Reason, rawReason, intoReason, stringsReason)
			}
			return
		}
		if bytes.IndexByte(line, 0) >= 0 {
			t.Fatalf("%q has a NUL byte, yet parsed as a page view", line)
		}
		if rawReason != "" || intoReason != "" || h2 != h {
			t.Fatalf("ParseRaw %q / ParseInto %q, %+v disagree with Parse %+v", rawReason, intoReason, h2, h)
		}
		if stringsReason != "" || hs != h {
			t.Fatalf("ParseStrings %q, %+v disagrees with Parse %+v", stringsReason, hs, h)
		}
		if string(r.Client) != h.Client || string(r.Page) != h.Page || string(r.Method) != h.Method || r.Status != h.Status || r.Time != h.Time {
			t.Fatalf("ParseRaw %+v disagrees with Parse %+v", r, h)
		}
		if !strings.HasPrefix(h.Page, "/") || strings.ContainsAny(h.Page, "?#") {
			t.Fatalf("bad Page %q", h.Page)
		}
		if h.Status < 100 || h.Status > 999 {
			t.Fatalf("bad Status %d", h.Status)
		}
		if h.Client == "" || strings.Contains(h.Client, " ") || h.Method == "" {
			t.Fatalf("bad Client %q or Method %q", h.Client, h.Method)
		}
		if h.Time.Location() != time.UTC {
			t.Fatalf("Time %v not in UTC", h.Time)
		}
		again := format(h)
		h3, err := Parse([]byte(again))
		if err != nil {
			t.Fatalf("re-parsing %q: %v", again, err)
		}
		if h3 != h {
			t.Fatalf("re-parse of %q = %+v, want %+v", again, h3, h)
		}
	})
}

func ExampleParse() {
	h, err := Parse([]byte(`203.0.113.9 - - [24/Nov/2026:08:40:13 +0100] "GET /a/b?x=1 HTTP/1.1" 200 512 "-" "curl/8"`))
	fmt.Println(h.Client, h.Time, h.Method, h.Page, h.Status, err)

	_, err = Parse([]byte(`203.0.113.9 - - [31/Feb/2026:08:40:13 +0100] "GET / HTTP/1.1" 200 1`))
	fmt.Println(err)
	// Output:
	// 203.0.113.9 2026-11-24 07:40:13 +0000 UTC GET /a/b 200 <nil>
	// pvuv: bad line: impossible date
}

func BenchmarkParse(b *testing.B) {
	lines := [][]byte{
		[]byte(combined),
		[]byte(`10.23.4.190 - - [24/Nov/2026:07:40:14 +0000] "GET /p/17 HTTP/1.1" 200 3311 "-" "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15"`),
		[]byte(`10.1.0.3 - - [24/Nov/2026:07:40:14 -0500] "POST /p/2?ref=mail HTTP/2.0" 302 0 "https://example.com/p/1" "curl/8.5.0"`),
		[]byte(`10.0.99.1 - - [24/Nov/2026:07:40:15 +0530] "GET /p/938 HTTP/1.1" 304 0 "-" "Mozilla/5.0 (Windows NT 10.0; Win64; x64)"`),
	}
	var n int64
	for _, l := range lines {
		n += int64(len(l))
	}
	b.Run("Parse", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(n / int64(len(lines)))
		for i := 0; b.Loop(); i++ {
			if _, err := Parse(lines[i%len(lines)]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ParseInto", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(n / int64(len(lines)))
		var h Hit
		for i := 0; b.Loop(); i++ {
			if r := ParseInto(lines[i%len(lines)], &h); r != "" {
				b.Fatal(r)
			}
		}
	})
	b.Run("ParseRaw", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(n / int64(len(lines)))
		var h RawHit
		for i := 0; b.Loop(); i++ {
			if r := ParseRaw(lines[i%len(lines)], &h); r != "" {
				b.Fatal(r)
			}
		}
	})
}

func TestParseStringMatchesParse(t *testing.T) {
	for _, line := range []string{
		`203.0.113.9 - - [24/Nov/2026:07:40:13 +0100] "GET /a/b?x=1 HTTP/1.1" 200 512 "-" "curl"`,
		`10.0.0.1 - - [24/Nov/2026:07:40:13 +0000] "-" 400 0 "-" "-"`,
		`10.0.0.1 - - [31/Feb/2026:07:40:13 +0000] "GET / HTTP/1.1" 200 1`,
	} {
		want, werr := Parse([]byte(line))
		var got Hit
		reason := ParseString(line, &got)
		if (werr == nil) != (reason == "") || (werr == nil && got != want) {
			t.Fatalf("%q: ParseString gave %+v %q, Parse %+v %v", line, got, reason, want, werr)
		}
	}
	line := `203.0.113.9 - - [24/Nov/2026:07:40:13 +0000] "GET /a HTTP/1.1" 200 512`
	var h Hit
	if n := testing.AllocsPerRun(100, func() { ParseString(line, &h) }); n != 0 {
		t.Fatalf("ParseString allocates %v times per line", n)
	}
}
