// Package datagen generates synthetic nginx combined-log access lines for
// demos, tests and benchmarks of the PV/UV application.
//
// The output is a pure function of the options (the effective [Config]):
// the same options yield the same lines byte for byte. Page and client
// popularity follow Zipf distributions, timestamps advance at
// [EventsPerSecond] of event time and are bounded out of order, and a share
// of lines is malformed in the ways real access logs are (see Kind).
//
// [New] returns a Generator, for programs that write lines themselves;
// [NewSource] a weir source of its lines. Both take the options of the
// generator ([Option]); the source takes [Rate] and [Limit] too.
//
// The generator does no pacing: Next returns as fast as it is called. A
// source that must emit at a wall-clock rate paces its calls itself.
package datagen

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"
)

// Kind classifies a generated line.
type Kind uint8

// The kinds of line. Every kind but Good is a line the pvuv parser rejects.
const (
	// Good is a valid combined-log page view.
	Good Kind = iota
	// BadDashRequest has the request "-", as nginx logs a connection closed
	// before a request arrived.
	BadDashRequest
	// BadTLS has TLS handshake bytes for a request, as logged when a client
	// speaks HTTPS to an HTTP port: raw bytes, or nginx's \xHH escapes.
	BadTLS
	// BadTruncated is a good line cut off before its request's closing
	// quote.
	BadTruncated
	// BadDate has a timestamp no calendar has, such as 31/Feb or hour 25.
	BadDate
	// BadNoStatus lacks the status after the request.
	BadNoStatus

	numKinds
)

// The tables below are read-only.

var kindNames = [numKinds]string{"good", "dash request", "tls handshake", "truncated", "impossible date", "no status"}

// String returns a short name for k.
func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Bad reports whether k is a malformed line.
func (k Kind) Bad() bool { return k != Good }

// Generator produces lines deterministically: the same options yield the
// same lines byte for byte. A Generator is not safe for concurrent use.
type Generator struct {
	cfg      Config
	rng      *rand.Rand
	pages    *rand.Zipf
	clients  *rand.Zipf
	startSec int64
	maxLate  uint64 // whole seconds of lateness allowed
	n        uint64 // lines produced so far
}

// New returns a Generator configured by opts, or an error that lists every
// problem with them, each naming the option and the fix.
func New(opts ...Option) (*Generator, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		o.applyGen(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return newGenerator(cfg), nil
}

// newGenerator returns a Generator for cfg, which is valid.
func newGenerator(cfg Config) *Generator {
	cfg.Start = cfg.Start.Truncate(time.Second)
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15))
	return &Generator{
		cfg:      cfg,
		rng:      rng,
		pages:    rand.NewZipf(rng, cfg.ZipfS, 1, uint64(cfg.Pages-1)),
		clients:  rand.NewZipf(rng, cfg.ZipfS, 1, uint64(cfg.Clients-1)),
		startSec: cfg.Start.Unix(),
		maxLate:  uint64(cfg.OutOfOrderness / time.Second),
	}
}

// Config returns the effective configuration, defaults applied.
func (g *Generator) Config() Config { return g.cfg }

// lastSec is the latest time a line carries, 9999-12-30T23:59:59Z: a day
// before the end of year 9999, so that a timestamp in any zone still has a
// four-digit year. Lines that would come later all carry this time.
const lastSec = 253402214399

// Next appends the next line, without a newline, to dst and returns the
// extended slice and the line's kind. It allocates only when dst lacks
// capacity; lines are shorter than 512 bytes.
func (g *Generator) Next(dst []byte) ([]byte, Kind) {
	i := g.n
	g.n++
	// The nominal time never decreases and lateness is at most maxLate, so
	// each time is at least (greatest time so far - maxLate).
	sec := int64(lastSec)
	if off := float64(i) / g.cfg.EventsPerSecond; off < float64(lastSec-g.startSec) {
		sec = g.startSec + int64(off)
	}
	if g.maxLate > 0 && g.rng.Uint64N(5) == 0 {
		sec = max(sec-int64(g.rng.Uint64N(g.maxLate+1)), g.startSec)
	}
	kind := Good
	if g.cfg.BadLineRatio > 0 && g.rng.Float64() < g.cfg.BadLineRatio {
		kind = Kind(1 + g.rng.Uint64N(uint64(numKinds-1)))
	}
	start := len(dst)
	dst = g.appendClient(dst)
	dst = append(dst, " - - ["...)
	if kind == BadDate {
		dst = g.appendImpossibleDate(dst)
	} else {
		dst = g.appendTimestamp(dst, sec)
	}
	dst = append(dst, "] \""...)
	switch kind {
	case BadDashRequest:
		return append(dst, `-" 400 0 "-" "-"`...), kind
	case BadTLS:
		return g.appendTLS(dst), kind
	}
	dst = g.appendRequest(dst)
	closing := len(dst)
	dst = append(dst, '"')
	if kind != BadNoStatus {
		// Status and size go together: a size alone would read as a status.
		dst = append(dst, ' ')
		dst = append(dst, g.status()...)
		dst = append(dst, ' ')
		dst = strconv.AppendUint(dst, 200+g.rng.Uint64N(30000), 10)
	}
	dst = g.appendReferrer(dst)
	dst = append(dst, " \""...)
	dst = append(dst, userAgents[g.rng.Uint64N(uint64(len(userAgents)))]...)
	dst = append(dst, '"')
	if kind == BadTruncated {
		// Cut anywhere up to, not including, the request's closing quote.
		cut := start + 1 + int(g.rng.Uint64N(uint64(closing-start)))
		dst = dst[:cut]
	}
	return dst, kind
}

// appendClient appends 10.x.y.z for a Zipf-chosen client. Multiplying the
// rank by an odd constant modulo 2^24 is a bijection, so distinct ranks get
// distinct addresses while the busiest clients are not 10.0.0.0, 10.0.0.1...
func (g *Generator) appendClient(dst []byte) []byte {
	ip := (g.clients.Uint64() * 0x9E3779) & (MaxClients - 1)
	dst = append(dst, "10."...)
	dst = strconv.AppendUint(dst, ip>>16, 10)
	dst = append(dst, '.')
	dst = strconv.AppendUint(dst, ip>>8&0xff, 10)
	dst = append(dst, '.')
	return strconv.AppendUint(dst, ip&0xff, 10)
}

// zones are the offsets, in seconds, that timestamps are written in; UTC is
// listed thrice to be the most common.
var zones = [...]int64{0, 0, 0, -5 * 3600, 3600, 19800, -9*3600 - 30*60}

var monthNames = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendTimestamp appends "dd/Mon/yyyy:HH:MM:SS ±hhmm" for Unix second sec
// in a randomly chosen zone.
func (g *Generator) appendTimestamp(dst []byte, sec int64) []byte {
	off := zones[g.rng.Uint64N(uint64(len(zones)))]
	t := time.Unix(sec+off, 0).UTC()
	y, m, d := t.Date()
	hh, mm, ss := t.Clock()
	dst = append2(dst, d)
	dst = append(dst, '/')
	dst = append(dst, monthNames[m-1]...)
	dst = append(dst, '/')
	dst = append2(dst, y/100)
	dst = append2(dst, y%100)
	dst = append(dst, ':')
	dst = append2(dst, hh)
	dst = append(dst, ':')
	dst = append2(dst, mm)
	dst = append(dst, ':')
	dst = append2(dst, ss)
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	dst = append(dst, ' ', sign)
	dst = append2(dst, int(off/3600))
	return append2(dst, int(off%3600/60))
}

// impossibleDates are timestamps with a day, hour, minute or second out of
// range.
var impossibleDates = [...]string{
	"31/Feb/2026:07:40:13 +0000",
	"29/Feb/2026:12:00:00 +0000",
	"30/Feb/2024:12:00:00 +0000",
	"31/Apr/2026:23:59:59 -0500",
	"00/Nov/2026:07:40:13 +0000",
	"24/Nov/2026:25:40:13 +0000",
	"24/Nov/2026:07:61:13 +0100",
	"24/Nov/2026:07:40:60 +0000",
}

func (g *Generator) appendImpossibleDate(dst []byte) []byte {
	return append(dst, impossibleDates[g.rng.Uint64N(uint64(len(impossibleDates)))]...)
}

// tlsHello is the start of a TLS ClientHello record.
const tlsHello = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"

// appendTLS appends handshake bytes, a closing quote and the rest of the
// line nginx writes for them.
func (g *Generator) appendTLS(dst []byte) []byte {
	raw := g.rng.Uint64N(2) == 0
	if !raw {
		const hex = "0123456789ABCDEF"
		for i := range len(tlsHello) {
			c := tlsHello[i]
			dst = append(dst, '\\', 'x', hex[c>>4], hex[c&0xf])
		}
	} else {
		dst = append(dst, tlsHello...)
		for range 16 {
			c := byte(g.rng.Uint64N(256))
			if c == '\n' || c == '\r' || c == '"' {
				c = 0xfe // the line framing and quoting must survive
			}
			dst = append(dst, c)
		}
	}
	return append(dst, `" 400 157 "-" "-"`...)
}

// appendRequest appends "METHOD /p/N[?query] HTTP/v", without quotes.
func (g *Generator) appendRequest(dst []byte) []byte {
	switch r := g.rng.Uint64N(100); {
	case r < 90:
		dst = append(dst, "GET"...)
	case r < 96:
		dst = append(dst, "POST"...)
	default:
		dst = append(dst, "HEAD"...)
	}
	dst = append(dst, " /p/"...)
	dst = strconv.AppendUint(dst, g.pages.Uint64(), 10)
	switch r := g.rng.Uint64N(100); {
	case r < 10:
		dst = append(dst, "?ref=x"...)
	case r < 15:
		dst = append(dst, "?utm_source=mail&id="...)
		dst = strconv.AppendUint(dst, g.rng.Uint64N(1000), 10)
	}
	if g.rng.Uint64N(4) == 0 {
		return append(dst, " HTTP/2.0"...)
	}
	return append(dst, " HTTP/1.1"...)
}

func (g *Generator) status() string {
	switch r := g.rng.Uint64N(1000); {
	case r < 850:
		return "200"
	case r < 920:
		return "304"
	case r < 950:
		return "301"
	case r < 990:
		return "404"
	default:
		return "500"
	}
}

func (g *Generator) appendReferrer(dst []byte) []byte {
	if g.rng.Uint64N(2) == 0 {
		return append(dst, ` "-"`...)
	}
	dst = append(dst, ` "https://example.com/p/`...)
	dst = strconv.AppendUint(dst, g.pages.Uint64(), 10)
	return append(dst, '"')
}

var userAgents = [...]string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
	"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
	"curl/8.5.0",
	"Googlebot/2.1 (+http://www.google.com/bot.html)",
}

// append2 appends v (0–99) as two digits.
func append2(dst []byte, v int) []byte {
	return append(dst, byte('0'+v/10), byte('0'+v%10))
}

// WriteLines writes the next n lines to w, each ending in a newline,
// through a buffer; it returns the first write error, wrapped.
func (g *Generator) WriteLines(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	line := make([]byte, 0, 512)
	for range n {
		line, _ = g.Next(line[:0])
		line = append(line, '\n')
		if _, err := bw.Write(line); err != nil {
			return fmt.Errorf("datagen: writing lines: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("datagen: writing lines: %w", err)
	}
	return nil
}
