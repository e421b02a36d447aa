package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testHTTPToken = "cmd-test-token-0123456789abcdef"

// runCtx runs a weir command line in this process until ctx ends.
func runCtx(ctx context.Context, args ...string) result {
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// TestHTTPBeyondLoopbackNeedsAToken: every command with --http refuses
// to serve beyond loopback without a token, and says how to set one.
func TestHTTPBeyondLoopbackNeedsAToken(t *testing.T) {
	t.Setenv(httpTokenEnv, "")
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"pvuv", "--source", "datagen://", "--http", "0.0.0.0:0"},
			[]string{"--http: 0.0.0.0:0 is beyond loopback", "$WEIR_HTTP_TOKEN", "--http-token"}},
		{[]string{"pvuv", "--source", "datagen://", "--http", ":8081"}, []string{"--http: :8081 is beyond loopback"}},
		{[]string{"pvuv", "--source", "datagen://", "--http", "example.com:8081"}, []string{"--http: example.com:8081 is beyond loopback"}},
		{[]string{"demo", "--http", "0.0.0.0:0"}, []string{"--http: 0.0.0.0:0 is beyond loopback", "$WEIR_HTTP_TOKEN"}},
		{[]string{"dashboard", "--redis", "redis://127.0.0.1:6379/0", "--http", "[::]:0"}, []string{"--http: [::]:0 is beyond loopback"}},
		{[]string{"pvuv", "--source", "datagen://", "--http", "0.0.0.0:0", "--http-token", "short"},
			[]string{"--http-token: the token has 5 characters", "at least 16"}},
		{[]string{"pvuv", "--source", "datagen://", "--http", "127.0.0.1:0", "--http-token", "a token with spaces in it"},
			[]string{"--http-token: the token may hold only printable ASCII"}},
		{[]string{"pvuv", "--source", "datagen://", "--http", "127.0.0.1:0", "--http-tls-cert", filepath.Join(dir, "c.pem")},
			[]string{"--http-tls-cert: needs --http-tls-key"}},
		{[]string{"demo", "--http-tls-key", filepath.Join(dir, "k.pem")}, []string{"--http-tls-key: needs --http-tls-cert"}},
		{[]string{"dashboard", "--redis", "redis://127.0.0.1:6379/0", "--http-tls-cert", filepath.Join(dir, "c.pem"), "--http-tls-key", filepath.Join(dir, "k.pem")},
			[]string{"--http-tls-cert: cannot load the certificate and key"}},
		{[]string{"savepoint", "--job", "ftp://127.0.0.1:1"}, []string{"--job: \"ftp://127.0.0.1:1\" is not an http:// or https:// address"}},
		{[]string{"stop", "--ca", filepath.Join(dir, "none.pem")}, []string{"--ca:"}},
	} {
		// Were the flags accepted, the command would stop at once.
		stopped, cancel := context.WithCancel(context.Background())
		cancel()
		r := runCtx(stopped, c.args...)
		if r.code != exitUsage {
			t.Errorf("weir %s: exit %d, want %d\nstderr:\n%s", strings.Join(c.args, " "), r.code, exitUsage, r.stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("weir %s: stderr lacks %q:\n%s", strings.Join(c.args, " "), w, r.stderr)
			}
		}
		if strings.Contains(r.stderr, "a token with spaces") {
			t.Errorf("weir %s: the error repeats the token:\n%s", strings.Join(c.args, " "), r.stderr)
		}
	}
}

// TestHTTPFlagsAcceptATokenBeyondLoopback: with a token, from the flag or
// the environment, an address beyond loopback is accepted; loopback needs
// none.
func TestHTTPFlagsAcceptATokenBeyondLoopback(t *testing.T) {
	for _, c := range []struct {
		env  string
		args []string
	}{
		{"", []string{"--http", "127.0.0.1:8081"}},
		{"", []string{"--http", "localhost:8081"}},
		{"", []string{"--http", "[::1]:8081"}},
		{"", []string{"--http", "0.0.0.0:8081", "--http-token", testHTTPToken}},
		{testHTTPToken, []string{"--http", "0.0.0.0:8081"}},
	} {
		t.Setenv(httpTokenEnv, c.env)
		f := newFlagSet("weir pvuv", "", "", "")
		h := addHTTPFlags(f, "", "")
		if err := f.fs.Parse(c.args); err != nil {
			t.Fatal(err)
		}
		h.check(f)
		if len(f.problems) != 0 {
			t.Errorf("%s=%q %v: %v", httpTokenEnv, c.env, c.args, f.problems)
		}
		if c.env != "" && *h.token != c.env {
			t.Errorf("%s=%q %v: the token is not taken from the environment", httpTokenEnv, c.env, c.args)
		}
	}
}

// TestSavepointAndStopOverHTTPSWithAToken runs a PV/UV job whose API is
// served over HTTPS with a token, and drives it with weir savepoint and
// weir stop: refused without the token, with a wrong one, and without the
// job's certificate authority; taken with both.
func TestSavepointAndStopOverHTTPSWithAToken(t *testing.T) {
	t.Setenv(httpTokenEnv, "")
	dir := t.TempDir()
	certFile, keyFile, caFile := writeServerCert(t, dir)
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	jobDone := make(chan result, 1)
	go func() {
		jobDone <- runCtx(ctx, "pvuv", "--source", "datagen://?rate=2000", "--sink", "file://"+filepath.Join(dir, "out.jsonl"),
			"--checkpoint-dir", filepath.Join(dir, "ckpt"), "--checkpoint-interval", "100ms", "--progress", "off",
			"--http", addr, "--http-token", testHTTPToken, "--http-tls-cert", certFile, "--http-tls-key", keyFile)
	}()
	job := "https://" + addr
	expectFail := func(want string, args ...string) {
		t.Helper()
		r := runInProcess(args...)
		if r.code != exitFail || !strings.Contains(r.stderr, want) {
			t.Fatalf("weir %s: exit %d, want %d with %q:\n%s", strings.Join(args, " "), r.code, exitFail, want, r.stderr)
		}
		if strings.Contains(r.stderr, testHTTPToken) {
			t.Fatalf("weir %s: the error shows the token:\n%s", strings.Join(args, " "), r.stderr)
		}
	}
	// Wait for the server: without the CA the handshake fails on the
	// certificate, and once the server listens, that is what we see.
	for i := 0; ; i++ {
		r := runInProcess("savepoint", "--job", job, "--http-token", testHTTPToken)
		if strings.Contains(r.stderr, "certificate") {
			break
		}
		select {
		case jr := <-jobDone:
			t.Fatalf("the job ended at start: exit %d: %s", jr.code, jr.stderr)
		default:
		}
		if i == 200 {
			t.Fatalf("the job's API does not answer: %s", r.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	expectFail("needs the job's token", "savepoint", "--job", job, "--ca", caFile)
	expectFail("needs the job's token", "stop", "--job", job, "--ca", caFile, "--http-token", "wrong-"+testHTTPToken)

	var path string
	for i := 0; ; i++ {
		r := runInProcess("savepoint", "--job", job, "--ca", caFile, "--http-token", testHTTPToken)
		if r.code == exitOK {
			path = strings.TrimSpace(r.stdout)
			break
		}
		if i == 200 || !strings.Contains(r.stderr, "no job with checkpoints is running") {
			t.Fatalf("weir savepoint: exit %d: %s", r.code, r.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := os.Stat(filepath.Join(path, "_metadata")); err != nil {
		t.Fatalf("savepoint %q: %v", path, err)
	}
	t.Setenv(httpTokenEnv, testHTTPToken) // weir stop takes it from the environment
	if r := runInProcess("stop", "--job", job, "--ca", caFile); r.code != exitOK {
		t.Fatalf("weir stop: exit %d: %s", r.code, r.stderr)
	}
	select {
	case jr := <-jobDone:
		if jr.code != exitOK {
			t.Fatalf("the job ended with exit %d after weir stop:\n%s", jr.code, jr.stderr)
		}
		if !strings.Contains(jr.stderr, "job API on https://") {
			t.Errorf("the job does not say where its API is:\n%s", jr.stderr)
		}
		if strings.Contains(jr.stderr, testHTTPToken) {
			t.Errorf("the job's output shows the token:\n%s", jr.stderr)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the job did not end after weir stop")
	}
}

// writeServerCert writes a CA and a server certificate for 127.0.0.1
// signed by it, and returns the paths of the certificate, its key and the
// CA's certificate.
func writeServerCert(t *testing.T, dir string) (certFile, keyFile, caFile string) {
	t.Helper()
	ca := newTestAuthority(t)
	certFile, keyFile = writeWorker(t, ca, dir, "job", "localhost")
	caFile = filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, ca.CAPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, caFile
}
