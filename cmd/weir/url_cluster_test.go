package main

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/connector/kafka/kafkatest"
)

// clusterFlagProblems parses args as the cluster flags of weir pvuv and
// returns the problems found, and the flags.
func clusterFlagProblems(t *testing.T, args ...string) ([]string, clusterFlags, *flagSet) {
	t.Helper()
	f := newFlagSet("weir pvuv", "", "", "")
	c := addClusterFlags(f)
	if _, ok := f.parse(args, io.Discard, io.Discard); !ok {
		t.Fatalf("%q: %v", args, f.problems)
	}
	c.option(f, true, false)
	return f.problems, c, f
}

// TestClusterSecurityFlags: beyond loopback a worker needs mutual TLS, or
// plaintext asked for with a token; the flags are checked together.
func TestClusterSecurityFlags(t *testing.T) {
	dir := t.TempDir()
	ca := newTestAuthority(t)
	cert, key := writeWorker(t, ca, dir, "a", "weir-worker")
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"--cluster", "kafka://127.0.0.1:9092/job"}
	tlsArgs := []string{"--data-tls-cert", cert, "--data-tls-key", key, "--data-tls-ca", caFile}
	for _, c := range []struct {
		args  []string
		token string
		want  string // a problem; "" for none
	}{
		{args: []string{"--advertise", "127.0.0.1:7700"}},
		{args: []string{"--advertise", "10.0.0.5:7700"}, want: "--advertise: 10.0.0.5:7700 is beyond loopback: protect the workers' connections with --data-tls-cert"},
		{args: []string{"--advertise", "10.0.0.5:7700"}, token: "s3cret", want: "--data-tls-cert"},
		{args: []string{"--advertise", "10.0.0.5:7700", "--data-insecure"}, want: "set $WEIR_CLUSTER_TOKEN"},
		{args: []string{"--advertise", "10.0.0.5:7700", "--data-insecure"}, token: "s3cret"},
		{args: append([]string{"--advertise", "10.0.0.5:7700"}, tlsArgs...)},
		{args: append([]string{"--advertise", "10.0.0.5:7700", "--data-insecure"}, tlsArgs...), want: "--data-insecure: and --data-tls-cert: choose one"},
		{args: []string{"--advertise", "10.0.0.5:7700", "--data-tls-cert", cert}, want: "needs all of --data-tls-cert, --data-tls-key and --data-tls-ca"},
		{args: []string{"--advertise", "127.0.0.1:7700", "--data-tls-cert", cert, "--data-tls-key", key, "--data-tls-ca", key}, want: "--data-tls-ca:"},
		{args: []string{"--advertise", "127.0.0.1:7700", "--data-tls-cert", caFile, "--data-tls-key", key, "--data-tls-ca", caFile}, want: "give a PEM certificate and its PEM key"},
		{args: []string{"--advertise", "127.0.0.1:7700", "--data-tls-server-name", "w"}, want: "--data-tls-server-name: needs --data-tls-cert"},
	} {
		t.Setenv(tokenEnv, c.token)
		problems, _, _ := clusterFlagProblems(t, append(base, c.args...)...)
		joined := strings.Join(problems, "\n")
		switch {
		case c.want == "" && len(problems) > 0:
			t.Errorf("%q: problems %q, want none", c.args, problems)
		case c.want != "" && !strings.Contains(joined, c.want):
			t.Errorf("%q (token %q): problems %q, want one with %q", c.args, c.token, problems, c.want)
		}
	}
	f := newFlagSet("weir pvuv", "", "", "")
	c := addClusterFlags(f)
	f.parse(append([]string{"--data-insecure"}, tlsArgs...), io.Discard, io.Discard)
	c.option(f, true, false)
	if len(f.problems) != 4 || !strings.Contains(f.problems[0], "needs --cluster") {
		t.Errorf("TLS flags without --cluster: problems %q, want each to need --cluster", f.problems)
	}
}

// TestClusterTLSFlagsHandshake: the TLS the flags describe is mutual.
// Two workers with certificates of the authority connect, both ways
// verified against the name in --data-tls-server-name; a worker whose
// certificate another authority signed is refused.
func TestClusterTLSFlagsHandshake(t *testing.T) {
	dir := t.TempDir()
	ca, other := newTestAuthority(t), newTestAuthority(t)
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	config := func(name, dnsName string) *tls.Config {
		t.Helper()
		cert, key := writeWorker(t, ca, dir, name, dnsName)
		problems, c, f := clusterFlagProblems(t, "--cluster", "kafka://127.0.0.1:9092/job", "--advertise", "127.0.0.1:7700",
			"--data-tls-cert", cert, "--data-tls-key", key, "--data-tls-ca", caFile, "--data-tls-server-name", "weir-worker")
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		cfg := c.tlsConfig(f)
		if cfg == nil {
			t.Fatalf("%s: no TLS config: %v", name, f.problems)
		}
		return cfg
	}
	server := config("a", "weir-worker")
	client := config("b", "weir-worker")
	if err := handshake(server, client); err != nil {
		t.Fatalf("two workers of one authority: %v", err)
	}
	// A certificate of the authority, for the wrong name.
	wrongName := config("c", "somebody-else")
	if err := handshake(wrongName, client); err == nil {
		t.Error("a server whose certificate names somebody else was accepted")
	}
	// A client with a certificate of another authority (and that trusts
	// ours): the server refuses it.
	stranger := client.Clone()
	otherCert, otherKey := writeWorker(t, other, dir, "x", "weir-worker")
	pair, err := tls.LoadX509KeyPair(otherCert, otherKey)
	if err != nil {
		t.Fatal(err)
	}
	stranger.Certificates = []tls.Certificate{pair}
	if err := handshake(server, stranger); err == nil {
		t.Error("the server took a client whose certificate another authority signed")
	}
}

// handshake connects a client to a server over loopback TCP and returns
// the first error either side saw.
func handshake(server, client *tls.Config) error {
	l, err := tls.Listen("tcp", "127.0.0.1:0", server)
	if err != nil {
		return err
	}
	defer l.Close()
	served := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		served <- c.(*tls.Conn).Handshake()
	}()
	c, err := tls.Dial("tcp", l.Addr().String(), client)
	if err == nil {
		// TLS 1.3: the server checks the client's certificate after the
		// client's handshake is done; a read sees its verdict.
		c.SetDeadline(time.Now().Add(10 * time.Second))
		_, err = c.Read(make([]byte, 1))
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			err = nil
		}
		c.Close()
	}
	if serr := <-served; serr != nil {
		return serr
	}
	if err == io.EOF {
		return nil
	}
	return err
}

// newTestAuthority is a certificate authority for the workers of a test.
func newTestAuthority(t *testing.T) *kafkatest.Certificates {
	t.Helper()
	ca, err := kafkatest.NewCertificates()
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// writeWorker writes a certificate of ca for dnsName and its key as PEM
// files named after name in dir, and returns their paths.
func writeWorker(t *testing.T, ca *kafkatest.Certificates, dir, name, dnsName string) (certFile, keyFile string) {
	t.Helper()
	cert, err := ca.Issue(dnsName)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, keyPEM, err := kafkatest.PEM(cert)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestClusterWorkerFailsAtStart: a worker that cannot join its cluster
// says that the job failed at start, not that it ran and failed.
func TestClusterWorkerFailsAtStart(t *testing.T) {
	t.Parallel()
	r := runWeir(t, "pvuv", "--source", "datagen://?limit=10", "--checkpoint-dir", t.TempDir(),
		"--cluster", "kafka://127.0.0.1:1/job", "--advertise", freePort(t), "--progress", "off")
	if r.code != 1 || !strings.Contains(r.stderr, "weir pvuv: failed at start: cluster:") || strings.Contains(r.stderr, "failed after") {
		t.Fatalf("exit %d, stderr:\n%s\nwant exit 1 and a failure at start", r.code, r.stderr)
	}
}
