package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// httpTokenEnv holds the token of --http when --http-token is not given;
// the environment keeps it out of the process list.
const httpTokenEnv = "WEIR_HTTP_TOKEN"

// minTokenLen is the shortest token weir accepts.
const minTokenLen = 16

const tokenHelp = "(at least 16 characters, such as the output of openssl rand -hex 16)"

// httpFlags are the flags of a command that serves --http: the address,
// the token that guards it and its TLS certificate.
type httpFlags struct {
	addr, token, cert, key *string
	tls                    *tls.Config // loaded by check, with --http-tls-cert
}

// addHTTPFlags adds --http (default def) and the flags that secure it.
func addHTTPFlags(f *flagSet, def, usage string) *httpFlags {
	return &httpFlags{
		addr: f.string("http", def, "ADDR", usage+";\nbeyond loopback it needs --http-token"),
		token: f.string("http-token", "", "TOKEN", "the secret every request to --http needs (default $"+httpTokenEnv+", which\n"+
			"keeps it out of the process list); needed beyond loopback; at least 16\n"+
			"characters, such as the output of openssl rand -hex 16; open pages once as\n"+
			"URL?token=TOKEN, tools send Authorization: Bearer TOKEN"),
		cert: f.string("http-tls-cert", "", "FILE", "serve --http over HTTPS with this PEM certificate (chain), with --http-tls-key"),
		key:  f.string("http-tls-key", "", "FILE", "the PEM private key of --http-tls-cert"),
	}
}

// check validates the flags: a token beyond loopback, and a certificate
// with its key. It resolves the token from the environment.
func (h *httpFlags) check(f *flagSet) {
	if *h.token == "" {
		*h.token = os.Getenv(httpTokenEnv)
	}
	if *h.token != "" {
		if msg := checkToken(*h.token); msg != "" {
			f.problem("http-token", "%s", msg)
		}
	}
	if *h.addr != "" {
		loopback, err := isLoopback(*h.addr)
		switch {
		case err != nil:
			f.problem("http", "%q is not HOST:PORT: write e.g. 127.0.0.1:8081", *h.addr)
		case !loopback && *h.token == "":
			f.problem("http", "%s is beyond loopback, where anybody who reaches it could drive the job: set $%s (or --http-token) to a secret %s, or serve on 127.0.0.1", *h.addr, httpTokenEnv, tokenHelp)
		}
	}
	switch {
	case *h.cert == "" && *h.key == "":
	case *h.cert == "":
		f.problem("http-tls-key", "needs --http-tls-cert, the certificate of the key")
	case *h.key == "":
		f.problem("http-tls-cert", "needs --http-tls-key, the private key of the certificate")
	default:
		cert, err := tls.LoadX509KeyPair(*h.cert, *h.key)
		if err != nil {
			f.problem("http-tls-cert", "cannot load the certificate and key: %v: give PEM files, the certificate (chain) with --http-tls-cert and its key with --http-tls-key", err)
			break
		}
		h.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
}

// warn says, once the flags are checked, when the token would cross a
// network in clear.
func (h *httpFlags) warn(w io.Writer, cmd string) {
	if loopback, err := isLoopback(*h.addr); *h.addr != "" && err == nil && !loopback && h.tls == nil {
		fmt.Fprintf(w, "%s: warning: --http %s serves plain HTTP beyond loopback: the token crosses the network in clear; add --http-tls-cert and --http-tls-key\n", cmd, *h.addr)
	}
}

// listen listens on --http, with TLS when configured, and returns the
// listener and the base URL it serves (http://host:port).
func (h *httpFlags) listen() (net.Listener, string, error) {
	ln, err := net.Listen("tcp", *h.addr)
	if err != nil {
		return nil, "", err
	}
	if h.tls != nil {
		return tls.NewListener(ln, h.tls), "https://" + ln.Addr().String(), nil
	}
	return ln, "http://" + ln.Addr().String(), nil
}

// newHTTPServer serves h with the server's own errors (a failed TLS
// handshake) logged through slog.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
}

// checkToken says what is wrong with a token, without repeating it.
func checkToken(t string) string {
	if len(t) < minTokenLen {
		return fmt.Sprintf("the token has %d characters; use at least %d, such as the output of openssl rand -hex 16", len(t), minTokenLen)
	}
	for _, c := range t {
		if c <= ' ' || c > '~' {
			return "the token may hold only printable ASCII characters without spaces (it travels in a header): use e.g. the output of openssl rand -hex 16"
		}
	}
	return ""
}

// isLoopback reports whether addr (host:port) listens on loopback only:
// localhost or a loopback IP. An empty host listens everywhere.
func isLoopback(addr string) (bool, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false, err
	}
	if strings.EqualFold(host, "localhost") {
		return true, nil
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback(), nil
}

// jobClientFlags are the flags of a command that calls a job's API: its
// token and the roots that verify its certificate.
type jobClientFlags struct {
	token, ca *string
	client    *http.Client // built by check
}

func addJobClientFlags(f *flagSet) *jobClientFlags {
	return &jobClientFlags{
		token: f.string("http-token", "", "TOKEN", "the job's token, as given to its --http-token (default $"+httpTokenEnv+")"),
		ca:    f.string("ca", "", "FILE", "with an https:// job: the PEM certificates that verify the job's\ncertificate (default the system's roots)"),
	}
}

func (c *jobClientFlags) check(f *flagSet) {
	if *c.token == "" {
		*c.token = os.Getenv(httpTokenEnv)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if *c.ca != "" {
		pem, err := os.ReadFile(*c.ca)
		if err != nil {
			f.problem("ca", "%v: give a file of PEM certificates", err)
		} else {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				f.problem("ca", "%s holds no PEM certificate: give the certificate of the job's authority, or the job's own", *c.ca)
			}
			tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		}
	}
	// The answer comes when the savepoint completed: the request's context
	// bounds the wait, not the client.
	c.client = &http.Client{Transport: tr}
}

// authorize adds the token to req, if there is one.
func (c *jobClientFlags) authorize(req *http.Request) {
	if *c.token != "" {
		req.Header.Set("Authorization", "Bearer "+*c.token)
	}
}
