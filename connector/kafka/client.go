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

// Client says how to reach a Kafka cluster. The source and the sink embed
// it.
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
		return fmt.Errorf("kafka: %s: no brokers: set Brokers to at least one host:port", what)
	}
	for _, b := range c.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return fmt.Errorf("kafka: %s: broker %q is not host:port: %w", what, b, err)
		}
	}
	return nil
}

// opts returns the franz-go options for the connection.
func (c Client) opts() []kgo.Opt {
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

// connHint says what to do about an error that shows the client could not
// connect or log in, and reports whether err is one.
func connHint(err error) (string, bool) {
	var (
		firstEOF   *kgo.ErrFirstReadEOF
		unknownCA  x509.UnknownAuthorityError
		badHost    x509.HostnameError
		badCert    x509.CertificateInvalidError
		notTLS     tls.RecordHeaderError
		certVerify *tls.CertificateVerificationError
	)
	switch {
	case errors.Is(err, kerr.SaslAuthenticationFailed):
		return "the brokers refused the SASL login: check the user, the password and the mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512) the cluster expects", true
	case errors.As(err, &firstEOF):
		return "the brokers closed the connection at once: set TLS if their listener uses TLS, and SASL if it requires a login", true
	case errors.As(err, &unknownCA), errors.As(err, &certVerify):
		return "the brokers' TLS certificate is not trusted: add the authority that signed it to TLS.RootCAs", true
	case errors.As(err, &badHost):
		return "the brokers' TLS certificate does not name the address dialed: connect by a name it lists, or set TLS.ServerName", true
	case errors.As(err, &badCert):
		return "the brokers' TLS certificate is invalid (expired or not for serving): renew it", true
	case errors.As(err, &notTLS):
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
