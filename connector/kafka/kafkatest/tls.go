package kafkatest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// Certificates are a new certificate authority and a server certificate
// it signed for 127.0.0.1 and localhost, valid for an hour: for a broker
// that speaks TLS in a test (kfake.TLS with Server). Issue signs more, for
// peers that authenticate each other (mutual TLS).
type Certificates struct {
	// CA is the authority, for a client's tls.Config RootCAs.
	CA *x509.CertPool
	// CAPEM is the authority's certificate in PEM, for a CA file.
	CAPEM []byte
	// Server is the broker's certificate with its key.
	Server tls.Certificate

	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	serial int64 // of the last certificate signed
}

// NewCertificates makes a new authority and server certificate, with
// ECDSA P-256 keys.
func NewCertificates() (*Certificates, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: make a key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "weir test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: sign the authority: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: parse the authority: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	c := &Certificates{
		CA:     pool,
		CAPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		caCert: caCert, caKey: caKey, serial: 1,
	}
	if c.Server, err = c.sign("weir test broker", []string{"localhost"}, x509.ExtKeyUsageServerAuth); err != nil {
		return nil, fmt.Errorf("kafkatest: sign the server certificate: %w", err)
	}
	return c, nil
}

// Issue signs a certificate for 127.0.0.1 and dnsNames (localhost when
// none), good for serving and for connecting as a client: a peer of a
// mutual-TLS network whose authority is c.CA. It is not safe for
// concurrent use.
func (c *Certificates) Issue(dnsNames ...string) (tls.Certificate, error) {
	if len(dnsNames) == 0 {
		dnsNames = []string{"localhost"}
	}
	cert, err := c.sign("weir test peer", dnsNames, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("kafkatest: sign a certificate: %w", err)
	}
	return cert, nil
}

func (c *Certificates) sign(name string, dnsNames []string, usage ...x509.ExtKeyUsage) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	c.serial++
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(c.serial),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     dnsNames,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  usage,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.caCert, &key.PublicKey, c.caKey)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// PEM returns cert's certificate and its ECDSA key in PEM, for files.
func PEM(cert tls.Certificate) (certPEM, keyPEM []byte, err error) {
	key, ok := cert.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("kafkatest: the key is a %T, not ECDSA", cert.PrivateKey)
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("kafkatest: encode the key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

// ServerConfig is the broker's TLS configuration, for kfake.TLS.
func (c *Certificates) ServerConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.Server}, MinVersion: tls.VersionTLS12}
}
