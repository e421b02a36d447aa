package redis

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// DefaultPort is the port of a URL that names none.
const DefaultPort = 6379

// DefaultDialTimeout bounds how long connecting to Redis may take.
const DefaultDialTimeout = 5 * time.Second

// Endpoint is a parsed Redis URL: where the server is and how to log in.
type Endpoint struct {
	// Addr is the server's host:port.
	Addr string
	// DB is the database number, selected on every connection.
	DB int
	// Username and Password log in with AUTH when set; a password alone
	// logs in as the default user.
	Username, Password string
	// TLS is true for rediss:// URLs.
	TLS bool
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

// Conn says how to reach Redis. SinkConfig and LookupConfig embed it.
type Conn struct {
	// URL is the server's URL (see ParseURL). Required.
	URL string
	// TLS, when set, is the TLS configuration for a rediss:// URL (for
	// example one that trusts a private authority). By default a rediss://
	// URL verifies the server against the system's roots.
	TLS *tls.Config
	// DialTimeout bounds how long connecting may take. Default 5s
	// (DefaultDialTimeout).
	DialTimeout time.Duration
	// ClientName names the connections in Redis's CLIENT LIST. Default
	// "weir".
	ClientName string
}

// validate parses the URL and checks the fields, reporting every problem.
func (c Conn) validate(what string) (Endpoint, error) {
	var errs []error
	var e Endpoint
	if c.URL == "" {
		errs = append(errs, fmt.Errorf("redis: %s: URL is empty: set it to redis://host:port/db", what))
	} else {
		var err error
		if e, err = ParseURL(c.URL); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
		} else if c.TLS != nil && !e.TLS {
			errs = append(errs, fmt.Errorf("redis: %s: TLS is set but URL %s is not rediss://: use rediss:// or drop TLS", what, e))
		}
	}
	if c.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("redis: %s: DialTimeout is %v: set a positive duration, or 0 for %v", what, c.DialTimeout, DefaultDialTimeout))
	}
	return e, errors.Join(errs...)
}

// connBuffer is the size of each connection's read and write buffers: a
// batch of commands or a lookup's answer is far smaller than rueidis's
// default of 512 KiB, and larger ones pass through in several reads.
const connBuffer = 64 << 10

// option returns the rueidis options to reach e. With oneConn the client
// keeps a single connection (a sink writer, whose requests are pipelined
// on it); otherwise rueidis opens a few, to spread concurrent lookups.
func (c Conn) option(e Endpoint, oneConn bool) rueidis.ClientOption {
	o := rueidis.ClientOption{
		ReadBufferEachConn:  connBuffer,
		WriteBufferEachConn: connBuffer,
		InitAddress:         []string{e.Addr},
		SelectDB:            e.DB,
		Username:            e.Username,
		Password:            e.Password,
		ClientName:          c.ClientName,
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
	o.Dialer.Timeout = c.DialTimeout
	if o.Dialer.Timeout == 0 {
		o.Dialer.Timeout = DefaultDialTimeout
	}
	if e.TLS {
		if c.TLS != nil {
			o.TLSConfig = c.TLS.Clone()
		} else {
			host, _, _ := net.SplitHostPort(e.Addr)
			o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
		}
	}
	return o
}

// connect opens a client to e. It fails if Redis does not answer.
func (c Conn) connect(e Endpoint, what string, oneConn bool) (rueidis.Client, error) {
	client, err := rueidis.NewClient(c.option(e, oneConn))
	if err != nil {
		return nil, fmt.Errorf("redis: %s: connect to %s: %w (is the server up and the URL right?)", what, e, err)
	}
	return client, nil
}

// Client opens a rueidis client for the connection, for programs that
// also read or write Redis themselves. It fails if Redis does not answer.
// The caller closes it.
func (c Conn) Client() (rueidis.Client, error) {
	e, err := c.validate("client")
	if err != nil {
		return nil, err
	}
	return c.connect(e, "client", false)
}
