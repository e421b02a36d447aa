package kafka

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
)

// Client says how to reach a Kafka cluster: its brokers, the name this
// program gives itself, TLS and the login. [NewSource] and [NewSink] take
// it; [ParseURL] makes one of a kafka:// URL, and a program may also
// write it out, or set on a parsed one what a URL does not carry
// (ClientID). Programs that also use franz-go directly build their
// clients from [Client.Opts].
type Client struct {
	// Brokers are the seed brokers, as host:port. At least one is needed.
	Brokers []string
	// ClientID names this client in the brokers' logs and metrics; the
	// default is "weir".
	ClientID string
	// TLS, when set, connects with TLS (for example &tls.Config{} for a
	// cluster with a certificate from a public authority).
	TLS *tls.Config
	// SASL, when set, authenticates with this mechanism, for example
	// plain.Auth{User: u, Pass: p}.AsMechanism() or
	// scram.Auth{User: u, Pass: p}.AsSha256Mechanism() from franz-go's
	// pkg/sasl.
	SASL sasl.Mechanism
}

func (c Client) validate(what string) error {
	if len(c.Brokers) == 0 {
		return fmt.Errorf("kafka: %s: no brokers: set Client.Brokers to at least one host:port, or make the Client with ParseURL", what)
	}
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("kafka: %s: Client.Brokers: broker %q is not host:port: %w", what, b, err)
		}
	}
	return nil
}

// Opts returns the franz-go options that connect as c says: the seed
// brokers, the client id, TLS and SASL. A program that also uses franz-go
// directly (weir consume) builds its clients from them.
func (c Client) Opts() []kgo.Opt {
	id := c.ClientID
	if id == "" {
		id = "weir"
	}
	opts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...), kgo.ClientID(id)}
	if c.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(c.TLS.Clone()))
	}
	if c.SASL != nil {
		opts = append(opts, kgo.SASL(c.SASL))
	}
	return opts
}

// ConnProblem says why a client could not connect to the brokers or log
// in, for a program that explains it in its own terms (a command line
// names URL parameters where this package names Client fields).
type ConnProblem int

const (
	// NoConnProblem: the error is not one of the others.
	NoConnProblem ConnProblem = iota
	// LoginRefused: the brokers refused the SASL login.
	LoginRefused
	// ClosedAtOnce: the brokers closed the connection before answering,
	// as they do to a client without TLS or without a login they require.
	ClosedAtOnce
	// UntrustedCertificate: no trusted authority signed the brokers'
	// certificate.
	UntrustedCertificate
	// CertificateNameMismatch: the brokers' certificate does not name the
	// address dialed.
	CertificateNameMismatch
	// InvalidCertificate: the brokers' certificate is expired or not for
	// serving.
	InvalidCertificate
	// NotTLS: the brokers do not speak TLS on the port dialed.
	NotTLS
)

// ConnProblemOf classifies err, an error of the source, the sink or a
// franz-go client.
func ConnProblemOf(err error) ConnProblem {
	var (
		firstEOF   *kgo.ErrFirstReadEOF
		unknownCA  x509.UnknownAuthorityError
		badHost    x509.HostnameError
		badCert    x509.CertificateInvalidError
		notTLS     tls.RecordHeaderError
		certVerify *tls.CertificateVerificationError
	)
	switch {
	case err == nil:
		return NoConnProblem
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return LoginRefused
	case errors.As(err, &firstEOF):
		return ClosedAtOnce
	case errors.As(err, &unknownCA):
		return UntrustedCertificate
	case errors.As(err, &badHost):
		return CertificateNameMismatch
	case errors.As(err, &badCert):
		return InvalidCertificate
	case errors.As(err, &certVerify):
		return UntrustedCertificate
	case errors.As(err, &notTLS):
		return NotTLS
	}
	return NoConnProblem
}

// connHint says what to do about an error that shows the client could not
// connect or log in, and reports whether err is one.
func connHint(err error) (string, bool) {
	switch ConnProblemOf(err) {
	case LoginRefused:
		return "the brokers refused the SASL login: check the user, the password and the mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512) the cluster expects", true
	case ClosedAtOnce:
		return "the brokers closed the connection at once: set TLS if their listener uses TLS, and SASL if it requires a login", true
	case UntrustedCertificate:
		return "the brokers' TLS certificate is not trusted: add the authority that signed it to TLS.RootCAs", true
	case CertificateNameMismatch:
		return "the brokers' TLS certificate does not name the address dialed: connect by a name it lists, or set TLS.ServerName", true
	case InvalidCertificate:
		return "the brokers' TLS certificate is invalid (expired or not for serving): renew it", true
	case NotTLS:
		return "the brokers do not speak TLS on this port: unset TLS, or use their TLS listener", true
	}
	return "", false
}

// ParseBrokers splits a comma-separated list of host:port.
func ParseBrokers(s string) ([]string, error) {
	var out []string
	for b := range strings.SplitSeq(s, ",") {
		if b = strings.TrimSpace(b); b == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(b); err != nil {
			return nil, fmt.Errorf("kafka: broker %q is not host:port: %w", b, err)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		return nil, errors.New("kafka: no brokers given: write host:port[,host:port...]")
	}
	return out, nil
}
