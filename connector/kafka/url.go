package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// PasswordEnv names the environment variable that [ParseURL] takes the
// SASL password from when a URL has a user and no password: a password
// on a command line shows in ps.
const PasswordEnv = "WEIR_KAFKA_PASSWORD"

// URLParams are the query parameters [ParseURL] takes, for messages that
// list what a kafka:// URL accepts.
const URLParams = "tls, ca, tls-server-name and sasl"

// maxCAFile bounds the size of the file a ca= parameter names: a bundle
// of authorities is a few hundred KiB at most.
const maxCAFile = 4 << 20

// URL is a parsed kafka:// URL: how to reach the cluster, the name its
// path gives, and the parameters that are the caller's.
type URL struct {
	// Client has the URL's brokers, TLS and SASL; ClientID is left empty
	// for the caller.
	Client Client
	// Topic is the URL's path without its leading '/': the topic of a
	// topic URL, or whatever the caller's URLs name by their path (a
	// cluster, say). It is never empty and holds no '/'.
	Topic string
	// Params are the query parameters ParseURL did not take, for the
	// caller to read or to report as unknown; never nil, also with an
	// error.
	Params url.Values
}

// ParseURL parses a kafka:// URL, the form every weir command and
// connector user shares:
//
//	kafka://[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT...]/TOPIC[?PARAMS]
//
// It takes these parameters and leaves the others in URL.Params:
//
//	tls=true              TLS, trusting the system's authorities (tls=false: none)
//	ca=FILE               TLS, trusting only the authorities in the PEM file,
//	                      which is read now
//	tls-server-name=NAME  TLS, expecting the brokers' certificates to name NAME
//	                      (default: the host dialed)
//	sasl=MECHANISM        log in as the URL's user with plain, scram-sha-256 or
//	                      scram-sha-512 (any case)
//
// The password is the URL's; when the URL has a user and no password, it
// is the value of $WEIR_KAFKA_PASSWORD ([PasswordEnv]). A user without
// sasl is an error (ParseURL does not guess the mechanism), and so is sasl
// without a user or a password.
//
// The error joins one error per problem (errors.Join: each is in its
// Unwrap() []error), so that a caller can report every problem at once.
// Each starts with "kafka: ", names the parameter and says what to write.
// No error shows the password: a URL is quoted with "xxxxx" in its place.
// With an error, the URL returned holds what did parse, Params included
// once the query parsed, so that the caller can report problems with its
// own parameters too.
func ParseURL(s string) (URL, error) {
	return urlParser{getenv: os.Getenv, readFile: readCAFile}.parse(s)
}

// urlParser is ParseURL with its access to the environment and to files
// replaceable, for tests.
type urlParser struct {
	getenv   func(string) string
	readFile func(string) ([]byte, error)
}

func (p urlParser) parse(s string) (URL, error) {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("kafka: "+format, args...))
	}
	const form = "write kafka://HOST:PORT/TOPIC"
	u, err := url.Parse(s)
	if err != nil {
		return URL{Params: url.Values{}}, fmt.Errorf("kafka: URL %q does not parse (%v): %s", RedactURL(s), parseReason(s, err), form)
	}
	shown := u.Redacted()
	if u.Scheme != "kafka" {
		return URL{Params: url.Values{}}, fmt.Errorf("kafka: URL %q is not a kafka:// URL: %s", shown, form)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// The query holds no password; its error quotes only the query.
		return URL{Params: url.Values{}}, fmt.Errorf("kafka: the parameters of URL %q do not parse (%v): write them as ?name=value&name=value", shown, err)
	}
	out := URL{Params: q}
	if u.Opaque != "" {
		add("URL %q has no brokers: %s", shown, form)
	} else if brokers, err := ParseBrokers(u.Host); err != nil {
		add("URL %q: %v", shown, strings.TrimPrefix(err.Error(), "kafka: "))
	} else {
		out.Client.Brokers = brokers
	}
	out.Topic = strings.TrimPrefix(u.Path, "/")
	if u.Opaque == "" && (out.Topic == "" || strings.Contains(out.Topic, "/")) {
		add("URL %q names no topic: %s", shown, form)
	}

	// TLS.
	var (
		useTLS  bool
		tlsSet  bool // tls= given
		cfg     tls.Config
		implied []string // the parameters that imply TLS
	)
	if q.Has("tls") {
		v := q.Get("tls")
		if b, err := strconv.ParseBool(v); err != nil {
			add("tls=%s is not true or false: write tls=true, or leave it out", v)
		} else {
			useTLS, tlsSet = b, true
		}
	}
	if q.Has("ca") {
		implied = append(implied, "ca")
		cfg.RootCAs, err = p.caPool(q.Get("ca"))
		if err != nil {
			errs = append(errs, err)
		}
	}
	if q.Has("tls-server-name") {
		implied = append(implied, "tls-server-name")
		cfg.ServerName = q.Get("tls-server-name")
		if cfg.ServerName == "" {
			add("tls-server-name is empty: write the name the brokers' certificates carry, such as tls-server-name=kafka.example.com")
		}
	}
	if len(implied) > 0 {
		if tlsSet && !useTLS {
			add("%s needs TLS, but the URL says tls=false: leave out tls=false", strings.Join(implied, " and "))
		}
		useTLS = true
	}
	if useTLS {
		out.Client.TLS = &cfg
	}

	// SASL.
	mech, err := p.sasl(u, q.Get("sasl"), q.Has("sasl"))
	if err != nil {
		errs = append(errs, err)
	}
	out.Client.SASL = mech

	for _, name := range []string{"tls", "ca", "tls-server-name", "sasl"} {
		q.Del(name)
	}
	return out, errors.Join(errs...)
}

// caPool returns the certificates of the PEM file at path as a pool.
func (p urlParser) caPool(path string) (*x509.CertPool, error) {
	if path == "" {
		return nil, errors.New("kafka: ca is empty: write ca=/path/to/ca.pem, the PEM file of the authority that signed the brokers' certificates")
	}
	b, err := p.readFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the message names the path already
		}
		return nil, fmt.Errorf("kafka: ca=%s: cannot read the CA file: %w", path, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("kafka: ca=%s holds no PEM certificate: give the authority's certificate, the file with -----BEGIN CERTIFICATE-----", path)
	}
	return pool, nil
}

// readCAFile reads a regular file of at most maxCAFile bytes: ca= may
// name anything, a device or a pipe included.
func readCAFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCAFile {
		return nil, fmt.Errorf("larger than %d MiB, which no bundle of authorities is", maxCAFile>>20)
	}
	return b, nil
}

// sasl returns the login of a URL with sasl=mech (hasMech) as its user,
// with its password: nil without sasl.
func (p urlParser) sasl(u *url.URL, mech string, hasMech bool) (sasl.Mechanism, error) {
	if !hasMech {
		if u.User != nil {
			return nil, fmt.Errorf("kafka: URL %q names a user but no login mechanism: add sasl=plain, sasl=scram-sha-256 or sasl=scram-sha-512, the one the cluster expects", u.Redacted())
		}
		return nil, nil
	}
	switch m := strings.ToLower(mech); m {
	case "plain", "scram-sha-256", "scram-sha-512":
		mech = m
	default:
		return nil, fmt.Errorf("kafka: sasl=%s is not a login mechanism weir knows: write plain, scram-sha-256 or scram-sha-512", mech)
	}
	user := u.User.Username()
	if user == "" {
		return nil, fmt.Errorf("kafka: sasl=%s needs a user: write kafka://USER@HOST:PORT/TOPIC?sasl=%s, with the password in $%s", mech, mech, PasswordEnv)
	}
	pass, ok := u.User.Password()
	if !ok {
		pass = p.getenv(PasswordEnv)
	}
	if pass == "" {
		return nil, fmt.Errorf("kafka: sasl=%s needs the password of %q: set $%s (or write it in the URL, kafka://USER:PASSWORD@..., where other users see it in ps)", mech, user, PasswordEnv)
	}
	switch mech {
	case "plain":
		return plain.Auth{User: user, Pass: pass}.AsMechanism(), nil
	case "scram-sha-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism(), nil
	}
	return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism(), nil
}

// RedactURL returns s with the password of its user, if it has one,
// replaced by "xxxxx", as url.URL.Redacted does, also when s does not
// parse; otherwise s as written. Programs quote URLs through it.
func RedactURL(s string) string {
	if u, err := url.Parse(s); err == nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
		return s
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	// A password may hold '/', '?' or '#' that kept s from parsing: take
	// everything up to the last '@' as the user info, which may hide
	// more than the password but never less.
	at := strings.LastIndex(rest, "@")
	if at < 0 {
		return s
	}
	user, _, ok := strings.Cut(rest[:at], ":")
	if !ok {
		return s
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

// parseReason is why s does not parse, as url.Parse says, without the
// URL, which the messages quote redacted; only "invalid syntax" when s
// has a password, which the reason could quote.
func parseReason(s string, err error) error {
	if RedactURL(s) != s {
		return errors.New("invalid syntax")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
