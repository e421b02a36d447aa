package pvuv

import (
	"bytes"
	"time"
	"unsafe"

	"github.com/weirstream/weir/source"
)

// Hit is one page view parsed from an access-log line.
type Hit struct {
	// Client is the first field of the line (the client address), as written.
	Client string
	// Time is the bracketed timestamp converted to UTC.
	Time time.Time
	// Method is the request method, such as "GET".
	Method string
	// Page is the request path without its query string or fragment; it
	// always starts with '/'.
	Page string
	// Status is the response status, 100–999.
	Status int
}

// RawHit is a Hit whose text fields alias the parsed line instead of
// owning copies. It lets a caller that keys maps by client or page look
// them up with m[string(b)] and copy only on first insert. The slices are
// valid only as long as the line's bytes are not changed.
type RawHit struct {
	// Client is the first field of the line.
	Client []byte
	// Time is the bracketed timestamp converted to UTC.
	Time time.Time
	// Method is the request method.
	Method []byte
	// Page is the request path up to the first '?' or '#'.
	Page []byte
	// Status is the response status, 100–999.
	Status int
}

// Reasons a line is not a page view. They are stable short phrases: counters
// and dead-letter outputs may key on them.
const (
	ReasonEmpty            = "empty line"
	ReasonMissingClient    = "missing client"
	ReasonMissingTimestamp = "missing timestamp"
	ReasonTruncated        = "truncated line"
	ReasonBadTimestamp     = "bad timestamp"
	ReasonBadMonth         = "bad month"
	ReasonBadZone          = "bad zone"
	ReasonImpossibleDate   = "impossible date"
	ReasonTimeRange        = "time out of range"
	ReasonMissingRequest   = "missing request"
	ReasonBadRequest       = "bad request line"
	ReasonMissingStatus    = "missing status"
	ReasonBadStatus        = "bad status"
	// ReasonNUL is a line with a NUL byte: no web server writes one, but
	// a log file that a crash left with a run of zeros (the space a file
	// system gave the file before its data was written) does. The fields
	// the parser checks refuse it with their own reason; this one is for
	// the client, identity and user fields and for what follows the
	// status, which are otherwise taken as they are.
	ReasonNUL = "NUL byte"
)

// ParseError says why a line is not a page view.
type ParseError struct {
	// Reason is one of the Reason constants.
	Reason string
}

// Error implements error.
func (e *ParseError) Error() string { return "pvuv: bad line: " + e.Reason }

// Parse parses one nginx/Apache combined or common log line. The line must
// not include its newline. A bad line yields a *ParseError.
func Parse(line []byte) (Hit, error) {
	var h Hit
	if r := ParseInto(line, &h); r != "" {
		return Hit{}, &ParseError{Reason: r}
	}
	return h, nil
}

// ParseInto is Parse without the error value, for the hot path: it fills h
// and returns "" for a page view, or one of the Reason constants (leaving h
// unspecified) for a bad line.
//
// It allocates once per page view: Client and Page share one string when
// together they fit in 128 bytes, and take one each otherwise. Method costs
// nothing for the common methods (GET, POST, HEAD, PUT, DELETE, PATCH,
// OPTIONS, CONNECT, TRACE). Callers that want no allocation use ParseRaw.
func ParseInto(line []byte, h *Hit) string {
	var r RawHit
	if reason := ParseRaw(line, &r); reason != "" {
		return reason
	}
	var buf [128]byte
	if n := len(r.Client) + len(r.Page); n <= len(buf) {
		copy(buf[copy(buf[:], r.Client):], r.Page)
		s := string(buf[:n])
		r.fill(h, s[:len(r.Client)], s[len(r.Client):])
	} else {
		r.fill(h, string(r.Client), string(r.Page))
	}
	return ""
}

// fill makes h the hit r is, with client and page as its strings.
func (r *RawHit) fill(h *Hit, client, page string) {
	*h = Hit{Client: client, Time: r.Time, Method: methodString(r.Method), Page: page, Status: r.Status}
}

// ParseStrings is ParseInto with the client and the page copied into s:
// no allocation per page view, one per block of s. The hit's strings keep
// their block alive as long as they are kept (see source.Strings); weir's
// windows and keyed state copy the keys they store, not the values.
func ParseStrings(line []byte, h *Hit, s *source.Strings) string {
	var r RawHit
	if reason := ParseRaw(line, &r); reason != "" {
		return reason
	}
	r.fill(h, s.String(r.Client), s.String(r.Page))
	return ""
}

// ParseString is ParseInto for a line held in a string: it allocates
// nothing, because Client and Page are substrings of line (and Method a
// constant for the common methods). Keep the Hit only as long as the line
// may be kept; operators that store keys (windows, keyed state) copy them.
func ParseString(line string, h *Hit) string {
	var r RawHit
	if reason := ParseRaw(unsafe.Slice(unsafe.StringData(line), len(line)), &r); reason != "" {
		return reason
	}
	r.fill(h, substring(line, r.Client), substring(line, r.Page))
	return ""
}

// substring returns the part of s that b, a subslice of s's bytes, covers.
func substring(s string, b []byte) string {
	if len(b) == 0 {
		return ""
	}
	off := uintptr(unsafe.Pointer(unsafe.SliceData(b))) - uintptr(unsafe.Pointer(unsafe.StringData(s)))
	return s[off : off+uintptr(len(b))]
}

// methodString returns a constant for the common methods so they cost no
// allocation; the compiler does not allocate for a switch on string(b).
func methodString(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "HEAD":
		return "HEAD"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "PATCH":
		return "PATCH"
	case "OPTIONS":
		return "OPTIONS"
	case "CONNECT":
		return "CONNECT"
	case "TRACE":
		return "TRACE"
	}
	return string(m)
}

// ParseRaw parses like ParseInto but allocates nothing: r's slices alias
// line. It returns "" for a page view, or one of the Reason constants
// (leaving r unspecified) for a bad line.
func ParseRaw(line []byte, r *RawHit) string {
	if len(line) == 0 {
		return ReasonEmpty
	}
	sp := bytes.IndexByte(line, ' ')
	switch {
	case sp == 0:
		return ReasonMissingClient
	case sp < 0:
		return ReasonMissingTimestamp
	}
	r.Client = line[:sp]
	rest := line[sp+1:]

	// The identity and user fields are skipped, not checked: the timestamp
	// is found by its bracket.
	lb := bytes.IndexByte(rest, '[')
	if lb < 0 {
		return ReasonMissingTimestamp
	}
	if bytes.IndexByte(line[:sp+1+lb], 0) >= 0 {
		return ReasonNUL
	}
	ts := rest[lb+1:]
	if len(ts) <= tsLen {
		if bytes.IndexByte(ts, ']') >= 0 {
			return ReasonBadTimestamp
		}
		return ReasonTruncated
	}
	if ts[tsLen] != ']' {
		return ReasonBadTimestamp
	}
	unix, reason := parseTimestamp(ts[:tsLen])
	if reason != "" {
		return reason
	}
	r.Time = time.Unix(unix, 0).UTC()

	rest = ts[tsLen+1:]
	if len(rest) < 2 {
		if len(rest) == 0 || rest[0] == ' ' {
			return ReasonTruncated
		}
		return ReasonMissingRequest
	}
	if rest[0] != ' ' || rest[1] != '"' {
		return ReasonMissingRequest
	}
	rest = rest[2:]
	q := bytes.IndexByte(rest, '"')
	if q < 0 {
		return ReasonTruncated
	}
	if !parseRequest(rest[:q], r) {
		return ReasonBadRequest
	}

	rest = rest[q+1:]
	if len(rest) == 0 {
		return ReasonMissingStatus
	}
	if rest[0] != ' ' {
		return ReasonBadStatus
	}
	rest = rest[1:]
	if len(rest) == 0 || !isDigit(rest[0]) {
		return ReasonMissingStatus
	}
	if len(rest) < 3 || rest[0] == '0' || !isDigit(rest[1]) || !isDigit(rest[2]) ||
		(len(rest) > 3 && rest[3] != ' ') {
		return ReasonBadStatus
	}
	if bytes.IndexByte(rest[3:], 0) >= 0 {
		return ReasonNUL
	}
	r.Status = int(rest[0]-'0')*100 + int(rest[1]-'0')*10 + int(rest[2]-'0')
	return ""
}

// parseRequest splits "METHOD /path PROTOCOL" into r.Method and r.Page.
func parseRequest(req []byte, r *RawHit) bool {
	i := 0
	for i < len(req) && req[i] >= 'A' && req[i] <= 'Z' {
		i++
	}
	if i == 0 || i == len(req) || req[i] != ' ' {
		return false
	}
	r.Method = req[:i]
	i++
	start := i
	if i == len(req) || req[i] != '/' {
		return false
	}
	end := -1 // end of the page: the first '?' or '#'
	for ; i < len(req); i++ {
		c := req[i]
		if c == ' ' {
			break
		}
		if c < ' ' || c == 0x7f {
			return false
		}
		if end < 0 && (c == '?' || c == '#') {
			end = i
		}
	}
	if end < 0 {
		end = i
	}
	r.Page = req[start:end]
	if i == len(req) {
		return false
	}
	proto := req[i+1:]
	if len(proto) < len("HTTP/") || string(proto[:5]) != "HTTP/" {
		return false
	}
	for _, c := range proto[5:] {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// tsLen is the length of "dd/Mon/yyyy:HH:MM:SS ±hhmm".
const tsLen = 26

// The instants a Hit may hold: its UTC year must print in four digits so
// that a hit can always be written back as a line.
const (
	minUnix = -62135596800 // 0001-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

// parseTimestamp parses "dd/Mon/yyyy:HH:MM:SS ±hhmm" into Unix seconds.
func parseTimestamp(b []byte) (int64, string) {
	_ = b[tsLen-1]
	if b[2] != '/' || b[6] != '/' || b[11] != ':' || b[14] != ':' || b[17] != ':' || b[20] != ' ' {
		return 0, ReasonBadTimestamp
	}
	day, ok1 := digits2(b[0], b[1])
	hour, ok2 := digits2(b[12], b[13])
	minute, ok3 := digits2(b[15], b[16])
	sec, ok4 := digits2(b[18], b[19])
	yh, ok5 := digits2(b[7], b[8])
	yl, ok6 := digits2(b[9], b[10])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, ReasonBadTimestamp
	}
	year := yh*100 + yl
	month := monthNumber(b[3], b[4], b[5])
	if month == 0 {
		return 0, ReasonBadMonth
	}
	zh, okh := digits2(b[22], b[23])
	zm, okm := digits2(b[24], b[25])
	if !okh || !okm || zh > 23 || zm > 59 || (b[21] != '+' && b[21] != '-') {
		return 0, ReasonBadZone
	}
	if day == 0 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return 0, ReasonImpossibleDate
	}
	offset := int64(zh*3600 + zm*60)
	if b[21] == '-' {
		offset = -offset
	}
	unix := daysFromCivil(int64(year), month, day)*86400 +
		int64(hour*3600+minute*60+sec) - offset
	if unix < minUnix || unix > maxUnix {
		return 0, ReasonTimeRange
	}
	return unix, ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits2(a, b byte) (int, bool) {
	return int(a-'0')*10 + int(b-'0'), isDigit(a) && isDigit(b)
}

// monthNumber maps an English three-letter month abbreviation, as Apache
// and nginx write it, to 1–12, or returns 0.
func monthNumber(a, b, c byte) int {
	switch uint32(a)<<16 | uint32(b)<<8 | uint32(c) {
	case 'J'<<16 | 'a'<<8 | 'n':
		return 1
	case 'F'<<16 | 'e'<<8 | 'b':
		return 2
	case 'M'<<16 | 'a'<<8 | 'r':
		return 3
	case 'A'<<16 | 'p'<<8 | 'r':
		return 4
	case 'M'<<16 | 'a'<<8 | 'y':
		return 5
	case 'J'<<16 | 'u'<<8 | 'n':
		return 6
	case 'J'<<16 | 'u'<<8 | 'l':
		return 7
	case 'A'<<16 | 'u'<<8 | 'g':
		return 8
	case 'S'<<16 | 'e'<<8 | 'p':
		return 9
	case 'O'<<16 | 'c'<<8 | 't':
		return 10
	case 'N'<<16 | 'o'<<8 | 'v':
		return 11
	case 'D'<<16 | 'e'<<8 | 'c':
		return 12
	}
	return 0
}

// daysIn returns the number of days in month (1–12) of the proleptic
// Gregorian year.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (Howard Hinnant's days_from_civil): March-based years put the leap
// day last, so the day of the year is a linear formula of the month.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := int64(m + 9)
	if m > 2 {
		mp = int64(m - 3)
	}
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
