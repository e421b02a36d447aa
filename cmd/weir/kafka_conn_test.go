package main

import (
	"context"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/connector/kafka/kafkatest"
)

// TestParseKafkaConn parses the connection parameters of kafka:// URLs
// in each flag that takes one, with the password in the URL or in
// WEIR_KAFKA_PASSWORD.
func TestParseKafkaConn(t *testing.T) {
	caFile, _ := testCA(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(kafka.PasswordEnv, "from-env")
	const hostTopic = "127.0.0.1:9092/t"
	for _, c := range []struct {
		url        string
		tls        bool
		ca         bool
		serverName string
		mech       string // SASL mechanism name, "" for none
		problems   []string
	}{
		{url: "kafka://" + hostTopic},
		{url: "kafka://" + hostTopic + "?tls=true", tls: true},
		{url: "kafka://" + hostTopic + "?tls=false"},
		{url: "kafka://" + hostTopic + "?ca=" + caFile, tls: true, ca: true},
		{url: "kafka://" + hostTopic + "?tls=1&ca=" + caFile + "&tls-server-name=kafka.example.com", tls: true, ca: true, serverName: "kafka.example.com"},
		{url: "kafka://" + hostTopic + "?tls-server-name=kafka.example.com", tls: true, serverName: "kafka.example.com"},
		{url: "kafka://alice@" + hostTopic + "?sasl=plain", mech: "PLAIN"},
		{url: "kafka://alice:pw@" + hostTopic + "?sasl=SCRAM-SHA-256&tls=true", tls: true, mech: "SCRAM-SHA-256"},
		{url: "kafka://alice@" + hostTopic + "?sasl=scram-sha-512&ca=" + caFile, tls: true, ca: true, mech: "SCRAM-SHA-512"},
		{url: "kafka://" + hostTopic + "?tls=yes", problems: []string{"tls=yes is not true or false"}},
		{url: "kafka://" + hostTopic + "?tls=false&ca=" + caFile, problems: []string{"ca needs TLS, but the URL says tls=false"}},
		{url: "kafka://" + hostTopic + "?ca=/no/such/ca.pem", problems: []string{"ca=/no/such/ca.pem: cannot read the CA file: no such file or directory"}},
		{url: "kafka://" + hostTopic + "?ca=" + notPEM, problems: []string{"holds no PEM certificate"}},
		{url: "kafka://" + hostTopic + "?ca=", problems: []string{"ca is empty"}},
		{url: "kafka://" + hostTopic + "?tls-server-name=", problems: []string{"tls-server-name is empty"}},
		{url: "kafka://alice:pw@" + hostTopic + "?sasl=gssapi", problems: []string{"sasl=gssapi is not a login mechanism weir knows: write plain, scram-sha-256 or scram-sha-512"}},
		{url: "kafka://" + hostTopic + "?sasl=plain", problems: []string{"sasl=plain needs a user: write kafka://USER@HOST:PORT/TOPIC?sasl=plain"}},
		{url: "kafka://alice:pw@" + hostTopic, problems: []string{`"kafka://alice:xxxxx@127.0.0.1:9092/t" names a user but no login mechanism: add sasl=plain`}},
		{url: "kafka://alice@" + hostTopic + "?tls=maybe&ca=/no/such/ca.pem&sasl=md5", problems: []string{"tls=maybe", "/no/such/ca.pem", "sasl=md5"}},
	} {
		check := func(what string, f *flagSet, client kafkaConnView) {
			t.Helper()
			if len(c.problems) > 0 {
				if len(f.problems) != len(c.problems) {
					t.Errorf("%s %s: problems %q, want %d about %q", what, c.url, f.problems, len(c.problems), c.problems)
					return
				}
				for i, p := range c.problems {
					if !strings.Contains(f.problems[i], p) {
						t.Errorf("%s %s: problem %q lacks %q", what, c.url, f.problems[i], p)
					}
				}
				return
			}
			if len(f.problems) > 0 {
				t.Errorf("%s %s: problems %q", what, c.url, f.problems)
				return
			}
			if got := client.tls != nil; got != c.tls {
				t.Errorf("%s %s: TLS %v, want %v", what, c.url, got, c.tls)
			}
			if client.tls != nil && ((client.tls.RootCAs != nil) != c.ca || client.tls.ServerName != c.serverName) {
				t.Errorf("%s %s: TLS RootCAs set %v, ServerName %q; want %v, %q", what, c.url, client.tls.RootCAs != nil, client.tls.ServerName, c.ca, c.serverName)
			}
			mech := ""
			if client.sasl != nil {
				mech = client.sasl.Name()
			}
			if mech != c.mech {
				t.Errorf("%s %s: SASL %q, want %q", what, c.url, mech, c.mech)
			}
			if len(client.brokers) != 1 || client.topic != "t" {
				t.Errorf("%s %s: brokers %v topic %q", what, c.url, client.brokers, client.topic)
			}
		}
		f := newFlagSet("weir pvuv", "", "", "")
		spec := parseSource(f, "source", c.url)
		if spec.kafka != nil {
			check("source", f, kafkaConnView{spec.kafka.client.TLS, spec.kafka.client.SASL, spec.kafka.client.Brokers, spec.kafka.topic})
		} else {
			t.Errorf("source %s: no Kafka source", c.url)
		}
		f = newFlagSet("weir pvuv", "", "", "")
		out := parseSinkOutput(f, "sink", c.url)
		if out.kafka != nil {
			check("sink", f, kafkaConnView{out.kafka.client.TLS, out.kafka.client.SASL, out.kafka.client.Brokers, out.kafka.topic})
		} else {
			t.Errorf("sink %s: no Kafka sink", c.url)
		}
		f = newFlagSet("weir consume", "", "", "")
		client, topic := parseKafkaTopicFlag(f, "topic", c.url, "kafka://127.0.0.1:9092/pvuv")
		check("topic", f, kafkaConnView{client.TLS, client.SASL, client.Brokers, topic})
	}

	// The password: the URL's, else WEIR_KAFKA_PASSWORD's, else a problem.
	for _, c := range []struct{ url, env, want, problem string }{
		{url: "kafka://alice:from-url@127.0.0.1:9092/t?sasl=plain", env: "from-env", want: "from-url"},
		{url: "kafka://alice@127.0.0.1:9092/t?sasl=plain", env: "from-env", want: "from-env"},
		{url: "kafka://alice:p%40ss%2Fw@127.0.0.1:9092/t?sasl=plain", want: "p@ss/w"},
		{url: "kafka://alice@127.0.0.1:9092/t?sasl=plain", problem: `sasl=plain needs the password of "alice": set $WEIR_KAFKA_PASSWORD`},
		{url: "kafka://alice:@127.0.0.1:9092/t?sasl=plain", env: "from-env", problem: `needs the password of "alice"`},
	} {
		t.Setenv(kafka.PasswordEnv, c.env)
		f := newFlagSet("weir consume", "", "", "")
		client, _ := parseKafkaTopicFlag(f, "topic", c.url, "kafka://127.0.0.1:9092/pvuv")
		if c.problem != "" {
			if len(f.problems) != 1 || !strings.Contains(f.problems[0], c.problem) {
				t.Errorf("%s: problems %q, want one about %q", c.url, f.problems, c.problem)
			}
			continue
		}
		if len(f.problems) > 0 || client.SASL == nil {
			t.Fatalf("%s: problems %q", c.url, f.problems)
		}
		// PLAIN's first message is authzid NUL user NUL password.
		_, msg, err := client.SASL.Authenticate(context.Background(), "127.0.0.1:9092")
		if err != nil {
			t.Fatal(err)
		}
		if want := "\x00alice\x00" + c.want; string(msg) != want {
			t.Errorf("%s with %s=%q: logs in with %q, want %q", c.url, kafka.PasswordEnv, c.env, msg, want)
		}
	}

	// Parameters that are not connection parameters stay with the flag.
	f := newFlagSet("weir consume", "", "", "")
	parseKafkaTopicFlag(f, "topic", "kafka://127.0.0.1:9092/t?tls=true&group=g&security.protocol=SASL_SSL", "kafka://127.0.0.1:9092/pvuv")
	if len(f.problems) != 2 || !strings.Contains(f.problems[0], `no parameter "group"; they take tls, ca, tls-server-name and sasl`) ||
		!strings.Contains(f.problems[1], `no parameter "security.protocol"`) {
		t.Errorf("problems %q", f.problems)
	}
}

// kafkaConnView is what TestParseKafkaConn checks of a parsed URL.
type kafkaConnView struct {
	tls     *tls.Config
	sasl    interface{ Name() string }
	brokers []string
	topic   string
}

// TestKafkaConnUsageErrors: bad connection parameters in the kafka:// URL
// of each command are usage errors (exit 2) that say what to write, all
// reported at once, and the password never shows. The commands run in
// this process, through run, as main does.
func TestKafkaConnUsageErrors(t *testing.T) {
	const secret = "s3cret-pw"
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "ckpt")
	for _, c := range []struct {
		args []string
		env  string // WEIR_KAFKA_PASSWORD
		want []string
	}{
		{[]string{"pvuv", "--source", "kafka://alice:" + secret + "@127.0.0.1:9092/access?sasl=scram-sha-1"},
			"", []string{"--source: kafka: sasl=scram-sha-1 is not a login mechanism weir knows: write plain, scram-sha-256 or scram-sha-512"}},
		{[]string{"pvuv", "--source", "kafka://127.0.0.1:9092/access?sasl=scram-sha-256"},
			secret, []string{"--source: kafka: sasl=scram-sha-256 needs a user: write kafka://USER@HOST:PORT/TOPIC?sasl=scram-sha-256, with the password in $WEIR_KAFKA_PASSWORD"}},
		{[]string{"pvuv", "--source", "kafka://alice@127.0.0.1:9092/access?sasl=plain"},
			"", []string{`--source: kafka: sasl=plain needs the password of "alice": set $WEIR_KAFKA_PASSWORD`}},
		{[]string{"pvuv", "--source", "kafka://alice:" + secret + "@127.0.0.1:9092/access?group=g"},
			"", []string{`--source: kafka: URL "kafka://alice:xxxxx@127.0.0.1:9092/access?group=g" names a user but no login mechanism: add sasl=plain, sasl=scram-sha-256 or sasl=scram-sha-512`}},
		{[]string{"ship", "--logs", "/tmp/x.log", "--to", "kafka://alice:" + secret + "@127.0.0.1:9092/access?sasl=plain&ca=" + filepath.Join(dir, "missing.pem")},
			"", []string{"--to: kafka: ca=" + filepath.Join(dir, "missing.pem") + ": cannot read the CA file: no such file or directory"}},
		{[]string{"consume", "--topic", "kafka://alice:" + secret + "@127.0.0.1:9092/pvuv?sasl=plain&ca=" + notPEM},
			"", []string{"--topic: kafka: ca=" + notPEM + " holds no PEM certificate"}},
		{[]string{"consume", "--topic", "kafka://alice:" + secret + "@127.0.0.1:9092/pvuv?sasl=plain&tls=true&isolation=read_committed"},
			"", []string{`--topic: kafka topics here have no parameter "isolation"; they take tls, ca, tls-server-name and sasl`}},
		{[]string{"consume", "--topic", "kafka://alice:se/" + secret + "@127.0.0.1:9092/pvuv"},
			"", []string{`--topic: "kafka://alice:xxxxx@127.0.0.1:9092/pvuv" is not a kafka:// URL`}},
		// Every problem at once, from the source and the sink.
		{[]string{"pvuv", "--source", "kafka://alice@127.0.0.1:9092/access?sasl=plain&tls=sometimes&bound=true",
			"--sink", "kafka://alice:" + secret + "@127.0.0.1:9092/pvuv?sasl=scram-sha-256&ca=" + notPEM + "&acks=all", "--checkpoint-dir", ckpt},
			secret, []string{"weir pvuv: 4 problems with the flags:",
				"--source: kafka: tls=sometimes is not true or false",
				`--source: kafka sources have no parameter "bound"; they take group, start, bounded, tls, ca, tls-server-name and sasl`,
				"--sink: kafka: ca=" + notPEM + " holds no PEM certificate",
				`--sink: kafka sinks have no parameter "acks"; they take delivery, txn-prefix, tls, ca, tls-server-name and sasl`}},
	} {
		t.Setenv(kafka.PasswordEnv, c.env)
		r := runIn(t, c.args...)
		name := "weir " + strings.ReplaceAll(strings.Join(c.args, " "), secret, "xxxxx")
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2\nstderr:\n%s", name, r.code, r.stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%s: stderr lacks %q:\n%s", name, w, r.stderr)
			}
		}
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Errorf("%s: the output shows the password:\n%s%s", name, r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(ckpt); err == nil {
		t.Error("a usage error created the checkpoint directory")
	}
}

// TestKafkaConnHelp: the help of each command with a kafka:// URL lists
// the connection parameters.
func TestKafkaConnHelp(t *testing.T) {
	for _, cmd := range []string{"pvuv", "ship", "consume"} {
		r := runIn(t, cmd, "-h")
		if r.code != 0 {
			t.Fatalf("weir %s -h: exit %d\n%s", cmd, r.code, r.stderr)
		}
		for _, want := range []string{"Kafka connections: every kafka:// URL also takes", "tls=true", "ca=FILE", "tls-server-name=NAME",
			"sasl=M", "plain, scram-sha-256 or scram-sha-512", "$WEIR_KAFKA_PASSWORD", "?tls=true&sasl=scram-sha-512"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("weir %s -h lacks %q:\n%s", cmd, want, r.stdout)
			}
		}
	}
}

// testCA writes the PEM certificate of a new authority to a file and
// returns its path, with the authority and a server certificate it signed
// for 127.0.0.1 and localhost.
func testCA(t *testing.T) (string, *kafkatest.Certificates) {
	t.Helper()
	certs, err := kafkatest.NewCertificates()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, certs.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, certs
}

// scramGate makes a kfake broker answer a SCRAM-SHA-256 login of user
// with a wrong password as a Kafka broker does, with
// SASL_AUTHENTICATION_FAILED. kfake itself closes the connection without
// an answer, which franz-go retries as a network error for about half a
// minute before it fails with a bare EOF. The gate checks the client's
// proof as the broker does, with the salt it gave the broker.
type scramGate struct {
	user, pass string
	salt       []byte

	mu    sync.Mutex
	first map[string]scramFirst // by client nonce
}

// scramFirst is what the gate keeps of a client-first-message.
type scramFirst struct{ user, bare string }

// scramIterations is kfake's: it offers every client 4096 iterations.
const scramIterations = 4096

// newSCRAMGate sets the SCRAM-SHA-256 credentials of user on the broker
// of admin with a salt of its own, and installs the gate on c.
func newSCRAMGate(t *testing.T, c *kfake.Cluster, admin *kgo.Client, user, pass string) {
	t.Helper()
	g := &scramGate{user: user, pass: pass, salt: make([]byte, 16), first: map[string]scramFirst{}}
	rand.Read(g.salt)
	salted, err := pbkdf2.Key(sha256.New, pass, g.salt, scramIterations, sha256.Size)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := kadm.NewClient(admin).AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{
		User: user, Mechanism: kadm.ScramSha256, Iterations: scramIterations, Salt: g.salt, SaltedPassword: salted,
	}})
	if err == nil {
		err = res[user].Err
	}
	if err != nil {
		t.Fatalf("set the SCRAM credentials of %s: %v", user, err)
	}
	c.Fault(kfake.Fault{
		Keys:     []kmsg.Key{kmsg.SASLAuthenticate},
		TopLevel: true,
		Err:      kerr.SaslAuthenticationFailed,
		Count:    -1,
		When:     func(r kmsg.Request) bool { return g.refuse(r.(*kmsg.SASLAuthenticateRequest).SASLAuthBytes) },
	})
}

// refuse reports whether msg is the client-final-message of a login of
// the gate's user with a wrong password. It remembers the
// client-first-messages it sees (RFC 5802).
func (g *scramGate) refuse(msg []byte) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	s := string(msg)
	if strings.HasPrefix(s, "n,") { // gs2 header "n,," then n=USER,r=NONCE
		parts := strings.SplitN(s, ",", 3)
		if len(parts) < 3 {
			return false
		}
		var first scramFirst
		var nonce string
		first.bare = parts[2]
		for f := range strings.SplitSeq(first.bare, ",") {
			if v, ok := strings.CutPrefix(f, "n="); ok {
				first.user = v
			} else if v, ok := strings.CutPrefix(f, "r="); ok {
				nonce = v
			}
		}
		g.first[nonce] = first
		return false
	}
	// c=biws,r=NONCE,p=PROOF, where NONCE is the client's nonce and the
	// broker's.
	withoutProof, proof64, ok := strings.Cut(s, ",p=")
	if !ok || !strings.HasPrefix(s, "c=") {
		return false
	}
	var nonce string
	for f := range strings.SplitSeq(withoutProof, ",") {
		if v, ok := strings.CutPrefix(f, "r="); ok {
			nonce = v
		}
	}
	var first scramFirst
	for cn, f := range g.first {
		if strings.HasPrefix(nonce, cn) {
			first = f
			delete(g.first, cn)
		}
	}
	if first.user != g.user {
		return false // another user's login
	}
	proof, err := base64.StdEncoding.DecodeString(proof64)
	if err != nil {
		return true
	}
	salted, _ := pbkdf2.Key(sha256.New, g.pass, g.salt, scramIterations, sha256.Size)
	mac := func(key []byte, s string) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return m.Sum(nil)
	}
	clientKey := mac(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(g.salt), scramIterations)
	sig := mac(stored[:], first.bare+","+serverFirst+","+withoutProof)
	want := make([]byte, len(clientKey))
	for i := range want {
		want[i] = clientKey[i] ^ sig[i]
	}
	return !hmac.Equal(proof, want)
}

// TestKafkaSASLSSL runs weir pvuv, weir consume and weir ship against a
// broker that requires TLS and a SCRAM-SHA-256 login (Kafka's SASL_SSL),
// with the CA in a file and the password in WEIR_KAFKA_PASSWORD, as for a
// managed cluster: the job reads access-log lines from one topic and
// writes its windows to another with transactions, which must hold the
// baseline's windows; weir consume prints them. With a wrong password the
// commands fail at once with the broker's refusal of the login, without
// showing the password.
func TestKafkaSASLSSL(t *testing.T) {
	t.Parallel()
	takeTurn(t, timingTurn)
	if testing.Short() {
		t.Skip("starts processes: skipped with -short")
	}
	const user, pass, wrong = "alice", "alice-secret-1", "wrong-secret-2"
	caFile, certs := testCA(t)
	admin := plain.Auth{User: "admin", Pass: "admin-secret"}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(0), kfake.SeedTopics(2, "access", "pvuv", "shipped"),
		kfake.EnableSASL(), kfake.Superuser("PLAIN", admin.User, admin.Pass), kfake.Superuser("SCRAM-SHA-256", user, pass),
		kfake.TLS(certs.ServerConfig()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	addr := c.ListenAddrs()[0]
	check := []kgo.Opt{kgo.SeedBrokers(addr), kgo.DialTLSConfig(&tls.Config{RootCAs: certs.CA}), kgo.SASL(admin.AsMechanism())}
	adm, err := kgo.NewClient(check...)
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	newSCRAMGate(t, c, adm, user, pass)

	// The input: six seconds of event time, over two partitions, each in
	// event-time order.
	g, err := datagen.New()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var recs []*kgo.Record
	var line []byte
	for i := range 6000 {
		line, _ = g.Next(line[:0])
		lines = append(lines, string(line))
		recs = append(recs, &kgo.Record{Topic: "access", Partition: int32(i % 2), Value: []byte(string(line))})
	}
	p, err := kgo.NewClient(append(check, kgo.RecordPartitioner(kgo.ManualPartitioner()))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err = p.ProduceSync(ctx, recs...).FirstErr()
	p.Close()
	if err != nil {
		t.Fatalf("produce the input: %v", err)
	}
	in := input{files: []string{filepath.Join(t.TempDir(), "access.log")}}
	if err := os.WriteFile(in.files[0], []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, want := in.baselineLines(t, time.Second, 10)
	if len(want) < 4 {
		t.Fatalf("the input spans %d windows; the test needs at least 4", len(want))
	}

	conn := "sasl=scram-sha-256&ca=" + caFile
	kafkaURL := func(topic, params string) string {
		return "kafka://" + user + "@" + addr + "/" + topic + "?" + params + conn
	}
	run := func(password string, args ...string) result {
		t.Helper()
		cmd := weirCommand(t, args...)
		cmd.Env = append(cmd.Env, kafka.PasswordEnv+"="+password)
		r := runUntil(t, cmd, 60*time.Second)
		for _, secret := range []string{pass, wrong} {
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Errorf("weir %s shows a password:\n%s%s", args[0], r.stdout, r.stderr)
			}
		}
		return r
	}
	wantLogin := func(what string, r result) {
		t.Helper()
		t.Logf("%s with a wrong password: exit %d\n%s", what, r.code, r.stderr)
		if r.code != 1 || !strings.Contains(r.stderr, "SASL_AUTHENTICATION_FAILED") || !strings.Contains(r.stderr, "refused the SASL login") {
			t.Errorf("%s with a wrong password: exit %d, want 1 with the refused login\nstderr:\n%s", what, r.code, r.stderr)
		}
		// The hint speaks of the URL, not of the library's fields.
		if !strings.Contains(r.stderr, "$"+kafka.PasswordEnv+" or the URL's") {
			t.Errorf("%s with a wrong password: no hint about the URL's login\nstderr:\n%s", what, r.stderr)
		}
	}

	t.Run("wrong password", func(t *testing.T) {
		// Without checkpoints, so that the job does not restart. Each
		// command must fail on the refused login, within runUntil's minute:
		// not by a timeout of its own (the sink's DeliveryTimeout is two
		// minutes) nor, for consume, by --idle with exit 0.
		r := run(wrong, "pvuv", "--source", kafkaURL("access", "bounded=true&"),
			"--sink", kafkaURL("pvuv", "delivery=at-least-once&"), "--window", "1s", "--progress", "off")
		wantLogin("weir pvuv", r)
		// It fails at start, when it checks the --sink topic.
		if !strings.Contains(r.stderr, "weir pvuv: failed at start: --sink: ") {
			t.Errorf("weir pvuv does not say that it failed at start:\n%s", r.stderr)
		}
		r = run(wrong, "consume", "--topic", kafkaURL("pvuv", ""), "--idle", "10s")
		wantLogin("weir consume", r)
	})

	t.Run("pvuv", func(t *testing.T) {
		r := run(pass, "pvuv", "--source", kafkaURL("access", "group=g&start=earliest&bounded=true&"), "--sink", kafkaURL("pvuv", ""),
			"--checkpoint-dir", t.TempDir(), "--checkpoint-interval", "100ms", "--window", "1s", "--top", "10", "--progress", "off", "--parallelism", "2")
		if r.code != 0 {
			t.Fatalf("weir pvuv: exit %d\nstderr:\n%s", r.code, r.stderr)
		}
		got := readCommitted(t, append(check, kgo.ConsumeTopics("pvuv")), len(want))
		slices.Sort(got)
		if len(got) != len(want) {
			t.Fatalf("%d windows in the topic, want %d\nweir pvuv logged:\n%s", len(got), len(want), r.stderr)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("window %d:\n got %s\nwant %s", i, got[i], want[i])
			}
		}

		r = run(pass, "consume", "--topic", kafkaURL("pvuv", ""), "--idle", "2s")
		printed := strings.Split(strings.TrimSpace(r.stdout), "\n")
		slices.Sort(printed)
		if r.code != 0 || !slices.Equal(printed, want) {
			t.Fatalf("weir consume: exit %d, %d lines, want the %d windows\nstderr:\n%s", r.code, len(printed), len(want), r.stderr)
		}
		// A password in the URL comes before WEIR_KAFKA_PASSWORD's.
		r = run(wrong, "consume", "--topic", "kafka://"+user+":"+pass+"@"+addr+"/pvuv?"+conn, "--idle", "1s")
		if printed := strings.Count(r.stdout, "\n"); r.code != 0 || printed != len(want) {
			t.Fatalf("weir consume with the password in the URL: exit %d, %d lines, want %d\nstderr:\n%s", r.code, printed, len(want), r.stderr)
		}
	})

	t.Run("ship", func(t *testing.T) {
		dir := t.TempDir()
		log := filepath.Join(dir, "access.log")
		if err := os.WriteFile(log, []byte(strings.Join(lines[:100], "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := weirCommand(t, "ship", "--logs", log, "--to", kafkaURL("shipped", ""))
		cmd.Env = append(cmd.Env, kafka.PasswordEnv+"="+pass)
		var stdout, stderr syncBuffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()
		got := readCommitted(t, append(check, kgo.ConsumeTopics("shipped")), 100)
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		if len(got) != 100 || err != nil {
			t.Fatalf("weir ship: %d lines in the topic, want 100; exit %v\nstderr:\n%s", len(got), err, stderr.String())
		}
		if strings.Contains(stdout.String()+stderr.String(), pass) {
			t.Errorf("weir ship shows the password:\n%s%s", stdout.String(), stderr.String())
		}
	})
}
