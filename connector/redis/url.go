package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/rueidis"
)

// DefaultPort is the port of a URL that names none.
const DefaultPort = 6379

// Endpoint says how to reach a Redis server: where it is, how to log in,
// and the name the connections carry. [NewSink], [NewLookup] and
// [NewClient] take it. [ParseURL] makes one of a redis:// or rediss://
// URL; a program may also write it out, or set the fields that a URL does
// not carry (TLSConfig, ClientName) on a parsed one.
type Endpoint struct {
	// Addr is the server's host:port. Required.
	Addr string
	// DB is the database number, selected on every connection; 0 by
	// default.
	DB int
	// Username and Password log in with AUTH when set; a password alone
	// logs in as the default user. By default there is no login.
	Username, Password string
	// TLS connects with TLS, as rediss:// URLs do. By default the
	// connection is plain.
	TLS bool
	// TLSConfig is the TLS configuration of an endpoint with TLS (for
	// example one that trusts a private authority). By default the server
	// is verified against the system's roots, with TLS 1.2 or later.
	TLSConfig *tls.Config
	// ClientName names the connections in Redis's CLIENT LIST; the
	// default is "weir".
	ClientName string
}

// ParseURL parses a Redis URL:
//
//	redis://[[user]:password@]host[:port][/db]
//	rediss://...   (the same over TLS)
//
// The port defaults to 6379 and the database to 0. The error names the URL
// (with its password hidden) and says how to write it.
func ParseURL(s string) (Endpoint, error) {
	const form = "write redis://[user:password@]host:port/db, or rediss:// for TLS"
	if !strings.Contains(s, "://") {
		return Endpoint{}, fmt.Errorf("redis: URL %q has no scheme: %s", redactRaw(s), form)
	}
	u, err := url.Parse(s)
	if err != nil {
		// url.Error repeats the URL, password and all: keep only its cause.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return Endpoint{}, fmt.Errorf("redis: URL %q does not parse (%w): %s", redactRaw(s), err, form)
	}
	shown := u.Redacted()
	var e Endpoint
	switch u.Scheme {
	case "redis":
	case "rediss":
		e.TLS = true
	default:
		return Endpoint{}, fmt.Errorf("redis: URL %q: scheme %q is not redis or rediss: %s", shown, u.Scheme, form)
	}
	if u.Opaque != "" {
		return Endpoint{}, fmt.Errorf("redis: URL %q has no host: %s", shown, form)
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return Endpoint{}, fmt.Errorf("redis: URL %q has no host: %s", shown, form)
	}
	if port == "" {
		port = strconv.Itoa(DefaultPort)
	} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return Endpoint{}, fmt.Errorf("redis: URL %q: port %q is not a number from 1 to 65535: %s", shown, port, form)
	}
	e.Addr = net.JoinHostPort(host, port)
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return Endpoint{}, fmt.Errorf("redis: URL %q: database %q is not a number of 0 or more: %s", shown, db, form)
		}
		e.DB = n
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return Endpoint{}, fmt.Errorf("redis: URL %q: query parameters are not supported: remove what follows the database number", shown)
	}
	if u.User != nil {
		e.Username = u.User.Username()
		e.Password, _ = u.User.Password()
	}
	return e, nil
}

// String returns the endpoint as a URL with its password hidden, fit for
// logs and error messages.
func (e Endpoint) String() string {
	u := url.URL{Scheme: "redis", Host: e.Addr, Path: "/" + strconv.Itoa(e.DB)}
	if e.TLS {
		u.Scheme = "rediss"
	}
	switch {
	case e.Password != "":
		u.User = url.UserPassword(e.Username, "xxxxx")
	case e.Username != "":
		u.User = url.User(e.Username)
	}
	return u.String()
}

// redactRaw hides what looks like a password in a URL that does not parse.
func redactRaw(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	start := strings.Index(s, "://") + 3
	if start < 3 || start > at {
		start = 0
	}
	if colon := strings.IndexByte(s[start:at], ':'); colon >= 0 {
		return s[:start+colon+1] + "xxxxx" + s[at:]
	}
	return s
}

// validate checks the endpoint, reporting every problem; what names the
// sink, lookup or client in the messages.
func (e Endpoint) validate(what string) error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("redis: %s: "+format, append([]any{what}, args...)...))
	}
	if e.Addr == "" {
		add("Endpoint.Addr is empty: make the endpoint with ParseURL(\"redis://host:port/db\"), or set Addr to host:port")
	} else if _, _, err := net.SplitHostPort(e.Addr); err != nil {
		add("Endpoint.Addr %q is not host:port (%v): write it as 127.0.0.1:6379", e.Addr, err)
	}
	if e.DB < 0 {
		add("Endpoint.DB is %d: set a database number of 0 or more", e.DB)
	}
	if e.TLSConfig != nil && !e.TLS {
		add("Endpoint.TLSConfig is set but %s does not use TLS: use a rediss:// URL (or set TLS), or drop TLSConfig", e)
	}
	return errors.Join(errs...)
}

// connBuffer is the size of each connection's read and write buffers: a
// batch of commands or a lookup's answer is far smaller than rueidis's
// default of 512 KiB, and larger ones pass through in several reads.
const connBuffer = 64 << 10

// option returns the rueidis options to reach e. With oneConn the client
// keeps a single connection (a sink writer, whose requests are pipelined
// on it); otherwise rueidis opens a few, to spread concurrent lookups.
func (e Endpoint) option(c connConfig, oneConn bool) rueidis.ClientOption {
	o := rueidis.ClientOption{
		ReadBufferEachConn:  connBuffer,
		WriteBufferEachConn: connBuffer,
		InitAddress:         []string{e.Addr},
		SelectDB:            e.DB,
		Username:            e.Username,
		Password:            e.Password,
		ClientName:          e.ClientName,
		DisableCache:        true, // no server-assisted caching: the lookup keeps its own bounded cache
		// No retries inside the client: it would retry reads without end
		// while Redis is down. The sink's base and the lookup's caller
		// (AsyncWait's RetryStrategy) retry with their own bounds.
		DisableRetry: true,
		// One server (or a proxy that speaks for a cluster): no probing
		// for Redis Cluster, whose client would refresh its topology in
		// the background.
		ForceSingleClient: true,
	}
	if oneConn {
		o.PipelineMultiplex = -1 // 2^0 connections
	}
	if o.ClientName == "" {
		o.ClientName = "weir"
	}
	o.Dialer.Timeout = c.dialTimeout
	if e.TLS {
		if e.TLSConfig != nil {
			o.TLSConfig = e.TLSConfig.Clone()
		} else {
			host, _, _ := net.SplitHostPort(e.Addr)
			o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
		}
	}
	return o
}

// connect opens a client to e. It fails if Redis does not answer.
func (e Endpoint) connect(c connConfig, what string, oneConn bool) (rueidis.Client, error) {
	client, err := rueidis.NewClient(e.option(c, oneConn))
	if err != nil {
		return nil, fmt.Errorf("redis: %s: connect to %s: %w (is the server up and the endpoint right?)", what, e, err)
	}
	return client, nil
}

// NewClient opens a rueidis client to e, for programs that also read or
// write Redis themselves, with the connection settings of the sink and
// the lookup. It fails if e or an option is wrong, or if Redis does not
// answer. The caller closes the client.
func NewClient(e Endpoint, opts ...Option) (rueidis.Client, error) {
	c := defaultConnConfig()
	for _, o := range opts {
		o.applyConn(&c)
	}
	if err := errors.Join(e.validate("client"), c.validate("client")); err != nil {
		return nil, err
	}
	return e.connect(c, "client", false)
}
