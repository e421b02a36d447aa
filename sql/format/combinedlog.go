package format

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/sql/types"
)

// CombinedLog is the 'combined-log' format: nginx and Apache access-log
// lines (combined or common), parsed by the PV/UV application's parser
// (pvuv.ParseRaw) with its rules: a line that `weir pvuv` does not count
// as a page view is a decode error whose text is the parser's reason
// (pvuv.ReasonBadTimestamp, …), and goes to the dead letters.
//
// A table declares any subset of these columns, by name, in any order:
//
//	remote_addr     STRING            the client address, as written
//	time_local      TIMESTAMP_LTZ(3)  the bracketed time (TIMESTAMP(3) reads it in UTC)
//	request_method  STRING            GET, POST, …
//	request_uri     STRING            the request's target, query included
//	uri             STRING            the path without query or fragment (the PV/UV page)
//	server_protocol STRING            HTTP/1.1, …
//	status          INT               the response status (BIGINT also fits)
//	body_bytes_sent BIGINT            the body's size; '-' is 0; NULL when the line has none
//	http_referer    STRING            as written ('-' included); NULL in the common format
//	http_user_agent STRING            as written; NULL in the common format
//
// The format only reads: a sink refuses it.
type CombinedLog struct{}

// CombinedLogColumns are the columns of the 'combined-log' format and
// their types, in the order of a line.
var CombinedLogColumns = types.Schema{
	{Name: "remote_addr", Type: types.StringType},
	{Name: "time_local", Type: types.TimestampLTZType},
	{Name: "request_method", Type: types.StringType},
	{Name: "request_uri", Type: types.StringType},
	{Name: "uri", Type: types.StringType},
	{Name: "server_protocol", Type: types.StringType},
	{Name: "status", Type: types.IntType},
	{Name: "body_bytes_sent", Type: types.BigIntType},
	{Name: "http_referer", Type: types.StringType},
	{Name: "http_user_agent", Type: types.StringType},
}

// Name implements Format.
func (CombinedLog) Name() string { return "combined-log" }

// Options implements Format.
func (CombinedLog) Options() []string { return nil }

// logLine is what the decoder extracts from a line the parser accepted;
// extras fills the fields after hit only when a column needs them.
type logLine struct {
	hit                      pvuv.RawHit
	requestURI, protocol     []byte
	bytesSent                int64
	hasBytes                 bool
	referer, agent           []byte
	hasReferer, hasUserAgent bool
}

// Decoder implements Format.
func (f CombinedLog) Decoder(c Config) (Decoder, error) {
	if err := checkOptions(f, c); err != nil {
		return nil, err
	}
	cols := make([]int, len(c.Schema)) // index into CombinedLogColumns
	needExtras := false
	for i, col := range c.Schema {
		j := CombinedLogColumns.Index(col.Name)
		if j < 0 {
			return nil, fmt.Errorf("format: table %s: column %s is not a column of format 'combined-log': its columns are: %s",
				c.Table, col.Name, strings.Join(CombinedLogColumns.Names(), ", "))
		}
		want := CombinedLogColumns[j].Type
		ok := col.Type.Kind == want.Kind ||
			(want.Kind == types.TimestampLTZ && col.Type.Kind == types.Timestamp) ||
			(want.Kind == types.Int && col.Type.Kind == types.BigInt) ||
			(want.Kind == types.BigInt && col.Type.Kind == types.Int)
		if !ok {
			return nil, fmt.Errorf("format: table %s: column %s is %s but format 'combined-log' gives %s: declare it %s",
				c.Table, col.Name, col.Type, want, want)
		}
		cols[i] = j
		switch j {
		case colRequestURI, colProtocol, colBytes, colReferer, colAgent:
			needExtras = true
		}
	}
	return func(data []byte) (types.Row, error) {
		var l logLine
		if reason := pvuv.ParseRaw(data, &l.hit); reason != "" {
			return types.Row{}, fmt.Errorf("%s", reason)
		}
		if needExtras {
			extras(data, &l)
		}
		// The row's strings share one allocation, as pvuv.ParseInto's do.
		var buf [256]byte
		text := buf[:0]
		for _, j := range cols {
			if b, ok := l.text(j); ok {
				text = append(text, b...)
			}
		}
		all := string(text)
		values := make([]types.Value, len(cols))
		off := 0
		for i, j := range cols {
			if b, ok := l.text(j); ok {
				values[i] = types.StringValue(all[off : off+len(b)])
				off += len(b)
				continue
			}
			values[i] = l.number(j)
		}
		return types.Row{Values: values}, nil
	}, nil
}

// The positions of the columns in CombinedLogColumns.
const (
	colRemoteAddr = iota
	colTime
	colMethod
	colRequestURI
	colURI
	colProtocol
	colStatus
	colBytes
	colReferer
	colAgent
)

// text returns the bytes of string column j, and false for a column that
// is not a string or is NULL.
func (l *logLine) text(j int) ([]byte, bool) {
	switch j {
	case colRemoteAddr:
		return l.hit.Client, true
	case colMethod:
		return l.hit.Method, true
	case colRequestURI:
		return l.requestURI, true
	case colURI:
		return l.hit.Page, true
	case colProtocol:
		return l.protocol, true
	case colReferer:
		return l.referer, l.hasReferer
	case colAgent:
		return l.agent, l.hasUserAgent
	}
	return nil, false
}

// number returns the value of a column that is not a string, or NULL.
func (l *logLine) number(j int) types.Value {
	switch j {
	case colTime:
		return types.TimeValue(l.hit.Time)
	case colStatus:
		return types.IntValue(int64(l.hit.Status))
	case colBytes:
		if l.hasBytes {
			return types.IntValue(l.bytesSent)
		}
	}
	return types.Null
}

// extras reads the fields the PV/UV parser does not keep from a line it
// accepted, whose shape is therefore known up to the status: client,
// identity, user, [time] "METHOD target PROTOCOL" status. What follows
// the status is optional and read leniently, as pvuv does not check it.
func extras(line []byte, l *logLine) {
	sp := bytes.IndexByte(line, ' ')
	lb := sp + 1 + bytes.IndexByte(line[sp+1:], '[')
	rb := lb + 1 + 26 // "dd/Mon/yyyy:HH:MM:SS ±hhmm"
	req := line[rb+3:]
	q := bytes.IndexByte(req, '"')
	request := req[:q]
	rest := req[q+1:]
	target := request[bytes.IndexByte(request, ' ')+1:]
	sp2 := bytes.IndexByte(target, ' ')
	l.requestURI, l.protocol = target[:sp2], target[sp2+1:]

	rest = rest[4:] // " NNN"
	if len(rest) < 2 || rest[0] != ' ' {
		return
	}
	rest = rest[1:]
	end := bytes.IndexByte(rest, ' ')
	if end < 0 {
		end = len(rest)
	}
	if n, ok := parseCount(rest[:end]); ok {
		l.bytesSent, l.hasBytes = n, true
	}
	rest = rest[end:]
	if l.referer, rest, l.hasReferer = quoted(rest); l.hasReferer {
		l.agent, _, l.hasUserAgent = quoted(rest)
	}
}

// parseCount parses a byte count: digits, or '-' for none (0).
func parseCount(b []byte) (int64, bool) {
	if len(b) == 1 && b[0] == '-' {
		return 0, true
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// quoted reads ` "text"` at the start of b, where a backslash escapes the
// next byte, and returns the text as written and what follows.
func quoted(b []byte) (text, rest []byte, ok bool) {
	if len(b) < 3 || b[0] != ' ' || b[1] != '"' {
		return nil, b, false
	}
	for i := 2; i < len(b); i++ {
		switch b[i] {
		case '\\':
			i++
		case '"':
			return b[2:i], b[i+1:], true
		}
	}
	return nil, b, false
}

// Encoder implements Format: combined-log only reads.
func (CombinedLog) Encoder(c Config) (Encoder, error) {
	return nil, fmt.Errorf("format: table %s: format 'combined-log' only reads access logs: write with 'json', 'csv' or 'raw'", c.Table)
}
