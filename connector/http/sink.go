// Package http is an HTTP sink for weir jobs: it POSTs records in batches,
// as JSON arrays, to one URL, with many requests in flight, retries with
// backoff and backpressure. It is built on the async sink base
// (sink/async), which documents the batching, the bounds and the
// guarantees: output is at-least-once, flushed at every checkpoint.
//
// Each request is a POST of a JSON array of the encoded records, with
// Content-Type application/json and the headers given with [Header]. The
// answer decides what happens to the batch:
//
//   - 2xx: the batch is written.
//   - 408, 429 and 5xx: the whole batch is retried with backoff, and not
//     before the delay of a Retry-After header (seconds or an HTTP date).
//   - a network error, or no answer within [Timeout]: retried likewise.
//   - any other status (other 4xx, 3xx): the job fails with a
//     [*StatusError] that quotes the status and the start of the body.
//
// Redirects are followed only when they keep the method and the body (307
// and 308); any other redirect answer fails the job, since following it
// would drop the batch.
package http

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	nethttp "net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/sink/async"
)

// DefaultTimeout is the default of Timeout.
const DefaultTimeout = 10 * time.Second

// MaxErrorBody is how many bytes of an error answer's body a StatusError
// quotes.
const MaxErrorBody = 512

// maxRetryAfter caps the delay a Retry-After header can ask for.
const maxRetryAfter = 24 * time.Hour

// JSONAppender is implemented by records that encode themselves as JSON
// faster than encoding/json can. It has the method set of the file and
// stdout connectors' JSONAppender, so a type written for one serves all.
// AppendJSON appends one JSON value to dst and returns the extended slice.
type JSONAppender interface {
	AppendJSON(dst []byte) []byte
}

// Sink POSTs records of type T to a URL in JSON batches. It implements
// [sink.Sink]; create it with [NewSink] or [NewSinkFunc].
type Sink[T any] struct {
	base *async.Sink[T, []byte]
}

var _ sink.Sink[int] = (*Sink[int])(nil)

// SinkOption configures [NewSink] and [NewSinkFunc]. Each option's
// documentation states the default it overrides; when an option is given
// twice, the last one counts, except Header, which adds.
type SinkOption interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	header  nethttp.Header
	timeout time.Duration
	client  *nethttp.Client
	async   async.Options[[]byte]
}

// Header adds a header to every request, such as an Authorization token.
// Repeat it for several headers or values. By default requests carry only
// Content-Type application/json, which a Header may set otherwise.
func Header(key, value string) SinkOption {
	return optionFunc(func(c *config) { c.header.Add(key, value) })
}

// Timeout bounds each request, from sending it to reading the answer; a
// request that takes longer is cancelled and retried. It must be positive.
// Default DefaultTimeout (10s).
func Timeout(d time.Duration) SinkOption {
	return optionFunc(func(c *config) { c.timeout = d })
}

// WithClient sends the requests with client instead of the sink's own.
// By default each writer has its own connection pool, sized to its
// requests in flight, whose idle connections it closes when it is closed;
// with WithClient, the client's transport, redirect policy and timeouts
// apply, and the sink closes nothing.
func WithClient(client *nethttp.Client) SinkOption {
	return optionFunc(func(c *config) { c.client = client })
}

// AsyncOptions sets the options of the async base: batch size and bytes,
// time in buffer, requests in flight, buffered records, backoff, attempts,
// rate limiting and synchronous mode. By default, and for each zero field,
// the base's defaults apply (see async.Options). The sink sets Size (a
// record's encoded length and its separating comma) and, unless given,
// Name ("http POST " and the URL without its query).
func AsyncOptions(o async.Options[[]byte]) SinkOption {
	return optionFunc(func(c *config) { c.async = o })
}

// NewSink returns a sink that POSTs records to rawURL, each encoded by its
// JSONAppender method if it has one (on the value or a pointer to it),
// otherwise by encoding/json without HTML escaping. It reports every
// problem with the URL and the options at once.
func NewSink[T any](rawURL string, opts ...SinkOption) (*Sink[T], error) {
	return NewSinkFunc(rawURL, jsonEncoder[T](), opts...)
}

// NewSinkFunc returns a sink that POSTs records to rawURL, each encoded by
// encode, which must return one JSON value (it is not checked) that the
// sink may keep. encode is called in Write, from the subtask's goroutine;
// an error fails the job.
func NewSinkFunc[T any](rawURL string, encode func(T) ([]byte, error), opts ...SinkOption) (*Sink[T], error) {
	c := config{header: nethttp.Header{}, timeout: DefaultTimeout}
	for _, o := range opts {
		o.apply(&c)
	}
	var errs []error
	display := "(no URL)" // names the base in its errors when the URL is wrong
	u, err := url.Parse(rawURL)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("http: the URL %q does not parse: %w; pass an http:// or https:// URL", rawURL, err))
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "":
		errs = append(errs, fmt.Errorf("http: the URL %q is not an absolute http:// or https:// URL; pass one such as http://127.0.0.1:8080/ingest", rawURL))
	default:
		display = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String()
	}
	if c.timeout <= 0 {
		errs = append(errs, fmt.Errorf("http: Timeout(%v): pass a positive duration, or leave Timeout out for %v", c.timeout, DefaultTimeout))
	}
	if encode == nil {
		errs = append(errs, errors.New("http: the encode function is nil; pass one, or use NewSink for encoding/json"))
		encode = func(T) ([]byte, error) { return nil, nil } // reported; lets the base check its options too
	}
	if c.header.Get("Content-Type") == "" {
		c.header.Set("Content-Type", "application/json")
	}
	ao := c.async
	if ao.Name == "" {
		ao.Name = "http POST " + display
	}
	ao.Size = func(e []byte) int { return len(e) + 1 }
	inFlight := ao.MaxInFlightRequests
	if inFlight == 0 {
		inFlight = async.DefaultMaxInFlightRequests
	}
	if ao.Synchronous {
		inFlight = 1
	}
	newSubmitter := func(sink.WriterContext) (async.Submitter[[]byte], error) {
		s := &submitter{url: rawURL, display: display, header: c.header, timeout: c.timeout, client: c.client}
		if s.client == nil {
			tr := nethttp.DefaultTransport.(*nethttp.Transport).Clone()
			tr.MaxIdleConns = inFlight
			tr.MaxIdleConnsPerHost = inFlight
			s.own = tr
			s.client = &nethttp.Client{Transport: tr, CheckRedirect: keepMethod}
		}
		return s, nil
	}
	base, err := async.NewSink(newSubmitter, encode, ao)
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, err
	}
	return &Sink[T]{base: base}, nil
}

// NewWriter implements sink.Sink.
func (s *Sink[T]) NewWriter(ctx sink.WriterContext) (sink.Writer[T], error) {
	return s.base.NewWriter(ctx)
}

// Metrics returns the sink's counters, summed over its writers.
func (s *Sink[T]) Metrics() async.Metrics { return s.base.Metrics() }

// Options returns the effective options of the async base.
func (s *Sink[T]) Options() async.Options[[]byte] { return s.base.Options() }

// keepMethod follows a redirect only when it keeps the method (307, 308),
// so that a POST never turns into a GET that drops the batch.
func keepMethod(req *nethttp.Request, via []*nethttp.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.Method != via[0].Method {
		return nethttp.ErrUseLastResponse
	}
	return nil
}

// jsonEncoder returns the encoding of NewSink.
func jsonEncoder[T any]() func(T) ([]byte, error) {
	var zero T
	if _, ok := any(zero).(JSONAppender); ok {
		return func(v T) ([]byte, error) { return any(v).(JSONAppender).AppendJSON(nil), nil }
	}
	if _, ok := any(&zero).(JSONAppender); ok {
		return func(v T) ([]byte, error) { return any(&v).(JSONAppender).AppendJSON(nil), nil }
	}
	if _, ok := any(zero).(string); ok {
		// Lines of text are the common record: encode them without
		// reflection, as encoding/json does.
		return func(v T) ([]byte, error) {
			str := any(v).(string)
			return appendJSONString(make([]byte, 0, len(str)+2), str), nil
		}
	}
	pool := &sync.Pool{New: func() any { return new(jsonBuffer) }}
	return func(v T) ([]byte, error) {
		if a, ok := any(v).(JSONAppender); ok { // T is an interface type
			return a.AppendJSON(nil), nil
		}
		b := pool.Get().(*jsonBuffer)
		defer pool.Put(b)
		b.buf.Reset()
		if b.enc == nil {
			b.enc = json.NewEncoder(&b.buf)
			b.enc.SetEscapeHTML(false)
		}
		if err := b.enc.Encode(v); err != nil {
			return nil, fmt.Errorf("http: encode a %T as JSON: %w", v, err)
		}
		return bytes.Clone(bytes.TrimSuffix(b.buf.Bytes(), []byte{'\n'})), nil
	}
}

// appendJSONString appends s to dst as a JSON string, exactly as
// encoding/json does without HTML escaping: control characters, quotes and
// backslashes escaped, invalid UTF-8 replaced by U+FFFD, and U+2028 and
// U+2029 escaped for JavaScript.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

type jsonBuffer struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// submitter sends the batches of one writer.
type submitter struct {
	url     string
	display string // the URL without its query, for messages
	header  nethttp.Header
	timeout time.Duration
	client  *nethttp.Client
	own     *nethttp.Transport // the writer's own pool; nil with WithClient
}

// Submit POSTs batch as a JSON array and sorts the answer into success,
// retryable failure and fatal failure.
func (s *submitter) Submit(ctx context.Context, batch [][]byte) ([]int, error) {
	n := 2
	for _, e := range batch {
		n += len(e) + 1
	}
	body := make([]byte, 0, n)
	body = append(body, '[')
	for i, e := range batch {
		if i > 0 {
			body = append(body, ',')
		}
		body = append(body, e...)
	}
	body = append(body, ']')

	rctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := nethttp.NewRequestWithContext(rctx, nethttp.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("http: POST %s: %w", s.display, err)
	}
	req.Header = s.header.Clone()
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // the writer stopped
		}
		return nil, async.Retryable(fmt.Errorf("http: POST %s: %w", s.display, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 2 {
		// Read the rest of a short answer, so that the connection is
		// reused.
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, nil
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	serr := &StatusError{URL: s.display, StatusCode: resp.StatusCode, Status: resp.Status, Body: string(head)}
	if !retryable(resp.StatusCode) {
		return nil, serr
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
		return nil, async.RetryAfter(serr, d)
	}
	return nil, async.Retryable(serr)
}

// Close closes the idle connections of the writer's own pool.
func (s *submitter) Close() error {
	if s.own != nil {
		s.own.CloseIdleConnections()
	}
	return nil
}

// retryable reports whether a status says that the same request may
// succeed later.
func retryable(code int) bool {
	return code == nethttp.StatusRequestTimeout || code == nethttp.StatusTooManyRequests || code >= 500
}

// parseRetryAfter reads a Retry-After header: a number of seconds or an
// HTTP date, which gives the delay from now (0 if it has passed). Delays
// above a day count as a day.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		return time.Duration(min(secs, int64(maxRetryAfter/time.Second))) * time.Second, true
	}
	if t, err := nethttp.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

// StatusError is an answer other than 2xx. Retryable answers (408, 429,
// 5xx) are retried; any other fails the job with it (errors.As finds it).
type StatusError struct {
	URL        string // without its query
	StatusCode int
	Status     string // such as "400 Bad Request"
	Body       string // the first MaxErrorBody bytes of the body
}

// Error names the request and quotes the status and the start of the
// body; for an answer that is not retried it says what to fix.
func (e *StatusError) Error() string {
	body := strings.Join(strings.Fields(e.Body), " ")
	if len(e.Body) == MaxErrorBody {
		body += "…"
	}
	msg := fmt.Sprintf("http: POST %s: %s", e.URL, e.Status)
	if body != "" {
		msg += ": " + body
	}
	if !retryable(e.StatusCode) {
		msg += " (the endpoint refused the batch and retrying will not help: check the URL, the headers such as credentials, and the records' encoding)"
	}
	return msg
}
