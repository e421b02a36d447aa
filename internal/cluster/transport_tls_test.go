package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/internal/runtime"
)

// newAuthority is a certificate authority made for a test, valid for an
// hour, that signs the workers' certificates.
func newAuthority(t *testing.T) *kafkatest.Certificates {
	t.Helper()
	ca, err := kafkatest.NewCertificates()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// sign makes a certificate of ca for a worker: for 127.0.0.1 and
// localhost, good for serving and for connecting as a client.
func sign(t *testing.T, ca *kafkatest.Certificates) tls.Certificate {
	t.Helper()
	cert, err := ca.Issue()
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// workerTLS is one worker's configuration for mutual TLS: its
// certificate, and the authority that signed every worker's.
func workerTLS(ca *kafkatest.Certificates, cert tls.Certificate) *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      ca.CA,
		ClientCAs:    ca.CA,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}
}

// TestMutualTLS: workers with certificates from the cluster's authority
// exchange control messages and data streams over TLS; a client without a
// certificate, or one that trusts another authority, gets nowhere.
func TestMutualTLS(t *testing.T) {
	leakCheck(t)
	ctx := context.Background()
	ca := newAuthority(t)
	h := &recordingHandler{}
	srv, addr := startServer(t, ServerConfig{Security: Security{TLS: workerTLS(ca, sign(t, ca))}, Handler: h})
	srv.SetEpoch(1)
	c := dial(t, addr, Security{TLS: workerTLS(ca, sign(t, ca))})
	if err := c.Failed(ctx, Failed{Epoch: 1, Error: "boom"}); err != nil {
		t.Fatal(err)
	}
	p := newProcesses(runtime.ExchangeOptions{})
	key := ChannelKey{Epoch: 1, Node: 4}
	if _, err := srv.Register(key, p.recv); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() {
		sent <- c.Channel(ctx, key, func(send, sendPrio func([]byte) error) error {
			return p.send.Outbound(ctx, 0, 0, send, sendPrio)
		})
	}()
	w := p.send.Writer(ctx, 0, &runtime.Metrics{})
	if err := errors.Join(w.Collect(&runtime.Record[string]{Value: "secret", Time: 1}), w.End()); err != nil {
		t.Fatal(err)
	}
	var tr transcript
	if err := receivingTask(p.recv, p.notify, &tr, false).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if got := tr.get(); len(got) == 0 || got[0] != "record secret@1" {
		t.Fatalf("over TLS the receiver did %q", got)
	}

	// Calls that cannot connect wait for the connection until their
	// context ends; a short one shows that they never get through.
	other := newAuthority(t)
	for name, cfg := range map[string]*tls.Config{
		"no client certificate": {RootCAs: ca.CA, MinVersion: tls.VersionTLS13},
		"another authority":     workerTLS(other, sign(t, other)),
	} {
		c := dial(t, addr, Security{TLS: cfg})
		ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		err := c.Failed(ctx, Failed{Epoch: 1, Error: name})
		cancel()
		if err == nil {
			t.Errorf("%s: the call got through", name)
		}
		t.Logf("%s: %v", name, err)
	}
	if got := h.got(); len(got) != 1 {
		t.Fatalf("the handler got %d messages, want the one over mutual TLS: %v", len(got), got)
	}
}

// TestToken: a server with a token refuses calls and streams without it,
// and says so without echoing any token.
func TestToken(t *testing.T) {
	leakCheck(t)
	ctx := context.Background()
	h := &recordingHandler{}
	srv, addr := startServer(t, ServerConfig{Security: Security{Token: "s3cret"}, Handler: h})
	srv.SetEpoch(1)
	for _, token := range []string{"", "wrong"} {
		c := dial(t, addr, Security{Token: token})
		err := c.Ack(ctx, Ack{Epoch: 1})
		if codeOf(err) != codes.Unauthenticated || strings.Contains(err.Error(), "s3cret") || (token != "" && strings.Contains(err.Error(), token)) {
			t.Fatalf("Ack with token %q = %v, want unauthenticated without the token in the message", token, err)
		}
		err = c.Channel(ctx, ChannelKey{Epoch: 1}, func(send, sendPrio func([]byte) error) error { return nil })
		if codeOf(err) != codes.Unauthenticated {
			t.Fatalf("Channel with token %q = %v, want unauthenticated", token, err)
		}
	}
	if err := dial(t, addr, Security{Token: "s3cret"}).Ack(ctx, Ack{Epoch: 1}); err != nil {
		t.Fatal(err)
	}
	if len(h.got()) != 1 {
		t.Fatalf("the handler got %v", h.got())
	}
}

// addrListener is a listener that claims another address: Serve's checks
// read it, and refuse before they accept anything.
type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Addr() net.Addr { return l.addr }

// TestSecureByDefault: a server listens on a loopback address only unless
// it has TLS and knows its clients (client certificates or a token), or
// Insecure says the network is private; a client dials a loopback address
// only unless it has TLS or Insecure.
func TestSecureByDefault(t *testing.T) {
	leakCheck(t)
	ca := newAuthority(t)
	serverOnly := &tls.Config{Certificates: []tls.Certificate{sign(t, ca)}}
	public := &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 7000}
	all := &net.TCPAddr{IP: net.IPv6unspecified, Port: 7000}
	for _, c := range []struct {
		name string
		sec  Security
		addr net.Addr
		want string // "" when allowed
	}{
		{"plaintext on loopback", Security{}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}, ""},
		{"plaintext on a private address", Security{}, public, "without TLS: set Security.TLS"},
		{"plaintext on every interface", Security{}, all, "without TLS"},
		{"TLS that knows no client", Security{TLS: serverOnly}, public, "without knowing its clients"},
		{"TLS and a token", Security{TLS: serverOnly, Token: "t"}, public, ""},
		{"mutual TLS", Security{TLS: workerTLS(ca, sign(t, ca))}, public, ""},
		{"insecure, explicitly", Security{Insecure: true}, all, ""},
	} {
		err := c.sec.checkServer(c.addr)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = NewServer(ServerConfig{}).Serve(addrListener{lis, public})
	if err == nil || !strings.Contains(err.Error(), "10.1.2.3:7000 without TLS") {
		t.Fatalf("Serve on a private address without TLS = %v", err)
	}
	if _, err := lis.Accept(); err == nil {
		t.Fatal("the refused listener is still open")
	}

	for _, c := range []struct {
		addr string
		sec  Security
		ok   bool
	}{
		{"127.0.0.1:7000", Security{}, true},
		{"[::1]:7000", Security{}, true},
		{"localhost:7000", Security{}, true},
		{"10.1.2.3:7000", Security{}, false},
		{"weir-1.weir:7000", Security{}, false},
		{"weir-1.weir:7000", Security{TLS: &tls.Config{RootCAs: ca.CA}}, true},
		{"weir-1.weir:7000", Security{Insecure: true}, true},
	} {
		cl, err := Dial(c.addr, c.sec)
		if c.ok != (err == nil) {
			t.Errorf("Dial(%s) = %v, want allowed %v", c.addr, err, c.ok)
		}
		if err == nil {
			cl.Close()
		}
	}
}
