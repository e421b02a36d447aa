package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/weirtest"
)

// These tests run the source and the sink against an in-process broker
// (kfake) that requires SASL or TLS, over TCP on loopback. The brokers are
// checked with clients built here from kgo options directly, not with
// Client.opts, so that a fault in the wiring under test cannot hide itself.

// cliAdmin is the superuser the checking clients of SASL brokers use.
var cliAdmin = plain.Auth{User: "admin", Pass: "admin-secret"}

// cliBroker starts a one-broker cluster on a free loopback port with
// topics of parts partitions each and the extra options, closed when the
// test ends.
func cliBroker(t *testing.T, parts int, topics []string, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append([]kfake.Opt{kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(int32(parts), topics...)}, opts...)
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// cliSASLBroker starts a broker that requires SASL, with cliAdmin and the
// given users (mechanism, user, password) as superusers.
func cliSASLBroker(t *testing.T, parts int, topics []string, users [][3]string, opts ...kfake.Opt) *kfake.Cluster {
	t.Helper()
	opts = append(opts, kfake.EnableSASL(), kfake.Superuser("PLAIN", cliAdmin.User, cliAdmin.Pass))
	for _, u := range users {
		opts = append(opts, kfake.Superuser(u[0], u[1], u[2]))
	}
	return cliBroker(t, parts, topics, opts...)
}

// cliCheck returns a client of c for checking what the job did, with opts
// saying how to connect. The caller closes it.
func cliCheck(t *testing.T, c *kfake.Cluster, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(c.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// cliProduce writes n records to each of parts partitions of topic, with
// values "TOPIC/P/I", and returns the values.
func cliProduce(t *testing.T, c *kfake.Cluster, topic string, parts, n int, opts ...kgo.Opt) []string {
	t.Helper()
	cl := cliCheck(t, c, opts...)
	defer cl.Close()
	recs, vals := srcRecords(topic, parts, n)
	if err := cl.ProduceSync(srcCtx(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce the input: %v", err)
	}
	return vals
}

// cliRead returns the values of every record of topic that a
// read_committed consumer sees, sorted. As sinkRead does, it first appends
// a marker to each partition and reads until it has seen them all; the
// markers are left out.
func cliRead(t *testing.T, c *kfake.Cluster, topic string, parts int, opts ...kgo.Opt) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	marker := strconv.FormatInt(time.Now().UnixNano(), 10)
	p := cliCheck(t, c, opts...)
	defer p.Close()
	for i := range parts {
		r := &kgo.Record{Topic: topic, Partition: int32(i), Key: []byte(sinkEndKey), Value: []byte(marker)}
		if err := p.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("append an end marker: %v", err)
		}
	}
	cl := cliCheck(t, c, append(opts, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(100*time.Millisecond))...)
	defer cl.Close()
	var out []string
	ended := map[int32]bool{}
	for len(ended) < parts {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("read %s: %d of %d partitions read to their end before the deadline", topic, len(ended), parts)
		}
		if err := fs.Err(); err != nil {
			t.Fatalf("read %s: %v", topic, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			if string(r.Key) == sinkEndKey {
				ended[r.Partition] = ended[r.Partition] || string(r.Value) == marker
				return
			}
			out = append(out, string(r.Value))
		})
	}
	slices.Sort(out)
	return out
}

// cliExecute runs the job and returns its error.
func cliExecute(t *testing.T, env *weir.Env) error {
	t.Helper()
	return env.Execute(srcCtx(t), t.Name())
}

// cliReadJob runs a bounded job that reads topic with the connection
// options client and commits its offsets to group, and returns its error
// and what it read.
func cliReadJob(t *testing.T, client Client, topic, group string) ([]string, error) {
	t.Helper()
	src, err := NewSource(client, Topics(topic), StringValue, Group(group), Bounded())
	if err != nil {
		t.Fatal(err)
	}
	env := weir.NewEnv(weir.Parallelism(2))
	out := weirtest.NewCollector[string]()
	weir.SinkTo(weir.FromSource(env, src), out)
	err = cliExecute(t, env)
	return out.Records(), err
}

// cliWriteJob runs a job that writes 0..n-1 to topic with the connection
// options client and delivery d, and returns its error. With ExactlyOnce
// the job takes checkpoints; it never restarts.
func cliWriteJob(t *testing.T, client Client, topic string, d Guarantee, n int) error {
	t.Helper()
	snk, err := NewSink(client, topic, numberRecord, Delivery(d))
	if err != nil {
		t.Fatal(err)
	}
	opts := []weir.EnvOption{weir.Parallelism(2)}
	if d == ExactlyOnce {
		opts = append(opts, weir.Checkpoints(20*time.Millisecond, t.TempDir()), weir.Restart(weir.NoRestart()))
	}
	env := weir.NewEnv(opts...)
	weir.SinkTo(weir.FromSource(env, weirtest.FromSlice(sinkSeq(n)...)), snk)
	return cliExecute(t, env)
}

// cliCheckSinks writes 0..n-1 with ExactlyOnce to topic "eos"+suffix and
// with AtLeastOnce to "alo"+suffix, connecting with client, and checks
// each topic (of parts partitions) through a client with opts.
func cliCheckSinks(t *testing.T, client Client, c *kfake.Cluster, suffix string, parts, n int, opts ...kgo.Opt) {
	t.Helper()
	for _, d := range []Guarantee{ExactlyOnce, AtLeastOnce} {
		topic := "eos" + suffix
		if d == AtLeastOnce {
			topic = "alo" + suffix
		}
		if err := cliWriteJob(t, client, topic, d, n); err != nil {
			t.Fatalf("sink %v: %v", d, err)
		}
		if got := cliRead(t, c, topic, parts, opts...); !slices.Equal(got, sinkNumbers(n)) {
			t.Fatalf("sink %v: the topic holds %v, want each of 0..%d once", d, got, n-1)
		}
	}
}

// cliAllFail runs a source job, and a sink job with each delivery, that
// connect with client to topic "t", and checks that each fails with an
// error that match accepts (the cause, as want describes it) and that
// carries hint, the advice on what to change. The sinks keep the default
// DeliveryTimeout of two minutes: they must fail on a login or TLS error
// when they connect, not when their records time out.
func cliAllFail(t *testing.T, client Client, match func(error) bool, want, hint string) {
	t.Helper()
	check := func(what string, err error) {
		t.Helper()
		t.Logf("%s: %v", what, err)
		if err == nil || !match(err) {
			t.Fatalf("%s: got error %v, want %s", what, err, want)
		}
		if !strings.Contains(err.Error(), hint) {
			t.Fatalf("%s: got error %v, want one with the hint %q", what, err, hint)
		}
	}
	_, err := cliReadJob(t, client, "t", "")
	check("source", err)
	for _, d := range []Guarantee{ExactlyOnce, AtLeastOnce} {
		check(fmt.Sprintf("sink %v", d), cliWriteJob(t, client, "t", d, 3))
	}
}

// cliFirstReadEOF matches franz-go's error for a connection the brokers
// closed at once, with its guess of why (say, "is SASL missing?").
func cliFirstReadEOF(guess string) func(error) bool {
	return func(err error) bool {
		var eof *kgo.ErrFirstReadEOF
		return errors.As(err, &eof) && strings.Contains(err.Error(), guess)
	}
}

// cliSASLMechanisms are the mechanisms the tests authenticate with: kfake
// supports these three, and so does Client through franz-go's pkg/sasl.
var cliSASLMechanisms = []struct {
	name, user, pass string
	mech             func(user, pass string) sasl.Mechanism
}{
	{"PLAIN", "plain-user", "plain-pass", func(u, p string) sasl.Mechanism { return plain.Auth{User: u, Pass: p}.AsMechanism() }},
	{"SCRAM-SHA-256", "scram256-user", "scram256-pass", func(u, p string) sasl.Mechanism {
		return scram.Auth{User: u, Pass: p}.AsSha256Mechanism()
	}},
	{"SCRAM-SHA-512", "scram512-user", "scram512-pass", func(u, p string) sasl.Mechanism {
		return scram.Auth{User: u, Pass: p}.AsSha512Mechanism()
	}},
}

// TestSASLSourceAndSink reads and writes through a broker that requires
// SASL, with each mechanism: a bounded source reads every record and
// commits its offsets to a group, and the sink writes every record, with
// ExactlyOnce (transactional producers, fencing and the committer all
// authenticate) and with AtLeastOnce. Each user exists for one mechanism
// only, so a mechanism that was not the one configured would fail.
func TestSASLSourceAndSink(t *testing.T) {
	srcLeakCheck(t)
	const parts, n = 2, 50
	var users [][3]string
	var topics []string
	for _, m := range cliSASLMechanisms {
		users = append(users, [3]string{m.name, m.user, m.pass})
		topics = append(topics, "in-"+m.name, "eos-"+m.name, "alo-"+m.name)
	}
	c := cliSASLBroker(t, parts, topics, users)
	admin := kgo.SASL(cliAdmin.AsMechanism())
	for _, m := range cliSASLMechanisms {
		t.Run(m.name, func(t *testing.T) {
			client := Client{Brokers: c.ListenAddrs(), SASL: m.mech(m.user, m.pass)}
			in := "in-" + m.name
			want := cliProduce(t, c, in, parts, n, admin)
			got, err := cliReadJob(t, client, in, "g-"+m.name)
			if err != nil {
				t.Fatalf("source: %v", err)
			}
			srcSameMultiset(t, got, want)
			cl := cliCheck(t, c, admin)
			defer cl.Close()
			committed, err := kadm.NewClient(cl).FetchOffsets(srcCtx(t), "g-"+m.name)
			if err == nil {
				err = committed.Error()
			}
			if err != nil {
				t.Fatal(err)
			}
			at := map[int32]int64{}
			committed.Each(func(o kadm.OffsetResponse) { at[o.Partition] = o.At })
			if wantAt := map[int32]int64{0: n, 1: n}; !maps.Equal(at, wantAt) {
				t.Fatalf("group committed %v, want %v", at, wantAt)
			}

			cliCheckSinks(t, client, c, "-"+m.name, parts, n, admin)
		})
	}
}

// TestSASLWithoutCredentialsFails: a client without SASL is turned away
// by a broker set up as in TestSASLSourceAndSink, which shows that such a
// broker does require SASL; the source and the sink fail with franz-go's
// hint that SASL is missing.
func TestSASLWithoutCredentialsFails(t *testing.T) {
	srcLeakCheck(t)
	c := cliSASLBroker(t, 1, []string{"t"}, nil)
	client := Client{Brokers: c.ListenAddrs()}
	cliAllFail(t, client, cliFirstReadEOF("is SASL missing?"), "the broker's refusal with franz-go's hint that SASL is missing", "SASL if it requires a login")
}

// cliRejectWrongPlain makes c answer a PLAIN authentication of user with
// a password other than pass as a Kafka broker does: with
// SASL_AUTHENTICATION_FAILED. kfake itself closes the connection without
// an answer, which franz-go retries as a network error for about half a
// minute before it fails with a bare EOF.
func cliRejectWrongPlain(c *kfake.Cluster, user, pass string) {
	c.Fault(kfake.Fault{
		Keys:     []kmsg.Key{kmsg.SASLAuthenticate},
		TopLevel: true,
		Err:      kerr.SaslAuthenticationFailed,
		Count:    -1,
		When: func(r kmsg.Request) bool {
			// authzid NUL user NUL password (RFC 4616).
			f := strings.Split(string(r.(*kmsg.SASLAuthenticateRequest).SASLAuthBytes), "\x00")
			return len(f) == 3 && f[1] == user && f[2] != pass
		},
	})
}

// TestSASLWrongPasswordFails: with a wrong password, the source and the
// sink fail at once with the broker's SASL_AUTHENTICATION_FAILED, while
// the right password still reads from the same broker.
func TestSASLWrongPasswordFails(t *testing.T) {
	srcLeakCheck(t)
	c := cliSASLBroker(t, 1, []string{"t"}, [][3]string{{"PLAIN", "alice", "right"}})
	cliRejectWrongPlain(c, "alice", "right")
	want := cliProduce(t, c, "t", 1, 5, kgo.SASL(cliAdmin.AsMechanism()))
	wrong := Client{Brokers: c.ListenAddrs(), SASL: plain.Auth{User: "alice", Pass: "wrong"}.AsMechanism()}
	cliAllFail(t, wrong, func(err error) bool { return errors.Is(err, kerr.SaslAuthenticationFailed) },
		"SASL_AUTHENTICATION_FAILED", "refused the SASL login")

	right := Client{Brokers: c.ListenAddrs(), SASL: plain.Auth{User: "alice", Pass: "right"}.AsMechanism()}
	got, err := cliReadJob(t, right, "t", "")
	if err != nil {
		t.Fatalf("source with the right password: %v", err)
	}
	srcSameMultiset(t, got, want)
}

// cliCerts returns a new certificate authority and a certificate it signed
// for a server at 127.0.0.1 and localhost.
func cliCerts(t *testing.T) *kafkatest.Certificates {
	t.Helper()
	c, err := kafkatest.NewCertificates()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// cliTLSBroker starts a broker that speaks only TLS, with a certificate
// signed by the returned authority.
func cliTLSBroker(t *testing.T, parts int, topics []string, opts ...kfake.Opt) (*kfake.Cluster, *x509.CertPool) {
	t.Helper()
	certs := cliCerts(t)
	opts = append(opts, kfake.TLS(certs.ServerConfig()))
	return cliBroker(t, parts, topics, opts...), certs.CA
}

// TestTLSSourceAndSink reads and writes through a broker that speaks only
// TLS, with a client that trusts the broker's authority: a bounded source
// reads every record, and the sink writes every record with ExactlyOnce
// and AtLeastOnce. The broker's address is an IP, so the client also
// checks the IP in the certificate.
func TestTLSSourceAndSink(t *testing.T) {
	srcLeakCheck(t)
	const parts, n = 2, 50
	c, ca := cliTLSBroker(t, parts, []string{"in", "eos", "alo"})
	check := kgo.DialTLSConfig(&tls.Config{RootCAs: ca})
	client := Client{Brokers: c.ListenAddrs(), TLS: &tls.Config{RootCAs: ca}}
	want := cliProduce(t, c, "in", parts, n, check)
	got, err := cliReadJob(t, client, "in", "")
	if err != nil {
		t.Fatalf("source: %v", err)
	}
	srcSameMultiset(t, got, want)
	cliCheckSinks(t, client, c, "", parts, n, check)
}

// TestTLSUntrustedCertificateFails: a client that does not trust the
// broker's authority fails with a certificate error, in the source and
// in the sink; one without TLS fails with franz-go's hint that TLS is
// missing.
func TestTLSUntrustedCertificateFails(t *testing.T) {
	srcLeakCheck(t)
	c, _ := cliTLSBroker(t, 1, []string{"t"})
	t.Run("unknown authority", func(t *testing.T) {
		// The system's authorities, which did not sign the broker's
		// certificate.
		client := Client{Brokers: c.ListenAddrs(), TLS: &tls.Config{}}
		cliAllFail(t, client, func(err error) bool {
			var unknown x509.UnknownAuthorityError
			return errors.As(err, &unknown)
		}, "x509.UnknownAuthorityError", "TLS.RootCAs")
	})
	t.Run("no TLS", func(t *testing.T) {
		cliAllFail(t, Client{Brokers: c.ListenAddrs()}, cliFirstReadEOF("TLS"), "the broker's refusal with franz-go's hint about TLS", "set TLS if their listener uses TLS")
	})
}

// TestTLSWithSASL reads through a broker that requires both TLS and SASL
// (Kafka's SASL_SSL), as managed clusters usually do.
func TestTLSWithSASL(t *testing.T) {
	srcLeakCheck(t)
	certs := cliCerts(t)
	ca := certs.CA
	c := cliSASLBroker(t, 1, []string{"t"}, [][3]string{{"SCRAM-SHA-512", "bob", "secret"}}, kfake.TLS(certs.ServerConfig()))
	want := cliProduce(t, c, "t", 1, 20, kgo.DialTLSConfig(&tls.Config{RootCAs: ca}), kgo.SASL(cliAdmin.AsMechanism()))
	client := Client{
		Brokers: c.ListenAddrs(),
		TLS:     &tls.Config{RootCAs: ca},
		SASL:    scram.Auth{User: "bob", Pass: "secret"}.AsSha512Mechanism(),
	}
	got, err := cliReadJob(t, client, "t", "")
	if err != nil {
		t.Fatalf("source: %v", err)
	}
	srcSameMultiset(t, got, want)
}
