package kafka

import (
	"context"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/weirstream/weir/connector/kafka/kafkatest"
)

// urlTestSecret is the password of the URLs the tests parse: no error may
// contain it.
const urlTestSecret = "s3cret-Pw7q"

func TestParseURL(t *testing.T) {
	certs, err := kafkatest.NewCertificates()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	notPEM := filepath.Join(dir, "not.pem")
	for path, b := range map[string][]byte{ca: certs.CAPEM, notPEM: []byte("not a certificate\n")} {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const hostTopic = "127.0.0.1:9092/t"
	for _, c := range []struct {
		url        string
		env        string // $WEIR_KAFKA_PASSWORD
		brokers    []string
		topic      string // "t" if empty
		params     url.Values
		tls        bool
		ca         bool
		serverName string
		mech       string // SASL mechanism name, "" for none
		login      string // the PLAIN login's password
		problems   []string
	}{
		{url: "kafka://" + hostTopic},
		{url: "kafka://a.example.com:9092,b.example.com:9093/access", brokers: []string{"a.example.com:9092", "b.example.com:9093"}, topic: "access"},
		{url: "kafka://127.0.0.1:9092/t/", problems: []string{`URL "kafka://127.0.0.1:9092/t/" names no topic: write kafka://HOST:PORT/TOPIC`}},
		{url: "kafka://" + hostTopic + "?group=g&start=latest&tls=true", params: url.Values{"group": {"g"}, "start": {"latest"}}, tls: true},
		{url: "kafka://" + hostTopic + "?tls=false"},
		{url: "kafka://" + hostTopic + "?ca=" + ca, tls: true, ca: true},
		{url: "kafka://" + hostTopic + "?tls=1&ca=" + ca + "&tls-server-name=kafka.example.com", tls: true, ca: true, serverName: "kafka.example.com"},
		{url: "kafka://" + hostTopic + "?tls-server-name=kafka.example.com", tls: true, serverName: "kafka.example.com"},
		{url: "kafka://alice@" + hostTopic + "?sasl=plain", env: urlTestSecret, mech: "PLAIN", login: urlTestSecret},
		{url: "kafka://alice:" + urlTestSecret + "@" + hostTopic + "?sasl=plain", env: "from-env", mech: "PLAIN", login: urlTestSecret},
		{url: "kafka://alice:p%40ss%2Fw@" + hostTopic + "?sasl=PLAIN", mech: "PLAIN", login: "p@ss/w"},
		{url: "kafka://alice:" + urlTestSecret + "@" + hostTopic + "?sasl=SCRAM-SHA-256&tls=true", tls: true, mech: "SCRAM-SHA-256"},
		{url: "kafka://alice@" + hostTopic + "?sasl=scram-sha-512&ca=" + ca, env: urlTestSecret, tls: true, ca: true, mech: "SCRAM-SHA-512"},

		{url: "file:///t", problems: []string{`URL "file:///t" is not a kafka:// URL: write kafka://HOST:PORT/TOPIC`}},
		{url: "kafka://alice:se/" + urlTestSecret + "@127.0.0.1:9092/t", problems: []string{`URL "kafka://alice:xxxxx@127.0.0.1:9092/t" does not parse (invalid syntax)`}},
		{url: "kafka://127.0.0.1:9092/t?tls=%zz", problems: []string{`the parameters of URL "kafka://127.0.0.1:9092/t?tls=%zz" do not parse`}},
		{url: "kafka://broker/t", problems: []string{`URL "kafka://broker/t": broker "broker" is not host:port`}},
		{url: "kafka:///t", problems: []string{`URL "kafka:///t": no brokers given`}},
		{url: "kafka:t", problems: []string{`URL "kafka:t" has no brokers`}},
		{url: "kafka://127.0.0.1:9092", problems: []string{"names no topic"}},
		{url: "kafka://" + hostTopic + "?tls=yes", problems: []string{"kafka: tls=yes is not true or false"}},
		{url: "kafka://" + hostTopic + "?tls=false&ca=" + ca, problems: []string{"kafka: ca needs TLS, but the URL says tls=false"}},
		{url: "kafka://" + hostTopic + "?ca=/no/such/ca.pem", problems: []string{"kafka: ca=/no/such/ca.pem: cannot read the CA file: no such file or directory"}},
		{url: "kafka://" + hostTopic + "?ca=" + dir, problems: []string{"kafka: ca=" + dir + ": cannot read the CA file: not a regular file"}},
		{url: "kafka://" + hostTopic + "?ca=" + notPEM, problems: []string{"holds no PEM certificate"}},
		{url: "kafka://" + hostTopic + "?ca=", problems: []string{"kafka: ca is empty"}},
		{url: "kafka://" + hostTopic + "?tls-server-name=", problems: []string{"kafka: tls-server-name is empty"}},
		{url: "kafka://alice:" + urlTestSecret + "@" + hostTopic + "?sasl=gssapi", problems: []string{"kafka: sasl=gssapi is not a login mechanism weir knows: write plain, scram-sha-256 or scram-sha-512"}},
		{url: "kafka://" + hostTopic + "?sasl=plain", env: urlTestSecret, problems: []string{"kafka: sasl=plain needs a user: write kafka://USER@HOST:PORT/TOPIC?sasl=plain"}},
		{url: "kafka://alice@" + hostTopic + "?sasl=plain", problems: []string{`kafka: sasl=plain needs the password of "alice": set $WEIR_KAFKA_PASSWORD`}},
		{url: "kafka://alice:@" + hostTopic + "?sasl=plain", env: urlTestSecret, problems: []string{`needs the password of "alice"`}},
		{url: "kafka://alice:" + urlTestSecret + "@" + hostTopic, problems: []string{`kafka: URL "kafka://alice:xxxxx@127.0.0.1:9092/t" names a user but no login mechanism: add sasl=plain`}},
		// Every problem at once.
		{url: "kafka://alice:" + urlTestSecret + "@broker/?tls=maybe&ca=/no/such/ca.pem&sasl=md5&group=g",
			params: url.Values{"group": {"g"}}, problems: []string{`broker "broker" is not host:port`, "names no topic", "tls=maybe", "/no/such/ca.pem", "sasl=md5"}},
	} {
		p := urlParser{getenv: func(name string) string {
			if name != PasswordEnv {
				t.Errorf("%s: read $%s", c.url, name)
			}
			return c.env
		}, readFile: readCAFile}
		got, err := p.parse(c.url)
		if err != nil && strings.Contains(err.Error(), urlTestSecret) {
			t.Errorf("%s: the error shows the password: %v", c.url, err)
		}
		if len(c.problems) > 0 {
			var errs []error
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			} else if err != nil {
				errs = []error{err}
			}
			if len(errs) != len(c.problems) {
				t.Errorf("%s: error %v, want %d problems: %q", c.url, err, len(c.problems), c.problems)
				continue
			}
			for i, want := range c.problems {
				if msg := errs[i].Error(); !strings.HasPrefix(msg, "kafka: ") || !strings.Contains(msg, want) {
					t.Errorf("%s: problem %q, want one that starts with \"kafka: \" and holds %q", c.url, msg, want)
				}
			}
			// The caller's parameters, to report its own problems too.
			if got.Params == nil || (c.params != nil && got.Params.Encode() != c.params.Encode()) {
				t.Errorf("%s: with the error, params %v, want %v", c.url, got.Params, c.params)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		brokers, topic, params := c.brokers, c.topic, c.params
		if brokers == nil {
			brokers = []string{"127.0.0.1:9092"}
		}
		if topic == "" {
			topic = "t"
		}
		if params == nil {
			params = url.Values{}
		}
		if !slices.Equal(got.Client.Brokers, brokers) || got.Topic != topic || got.Client.ClientID != "" {
			t.Errorf("%s: brokers %v, topic %q, client id %q; want %v, %q and none", c.url, got.Client.Brokers, got.Topic, got.Client.ClientID, brokers, topic)
		}
		if got.Params == nil || got.Params.Encode() != params.Encode() {
			t.Errorf("%s: params %v, want %v", c.url, got.Params, params)
		}
		if cfg := got.Client.TLS; (cfg != nil) != c.tls {
			t.Errorf("%s: TLS %v, want %v", c.url, cfg != nil, c.tls)
		} else if cfg != nil && ((cfg.RootCAs != nil) != c.ca || cfg.ServerName != c.serverName) {
			t.Errorf("%s: TLS RootCAs set %v, ServerName %q; want %v, %q", c.url, cfg.RootCAs != nil, cfg.ServerName, c.ca, c.serverName)
		}
		mech := ""
		if got.Client.SASL != nil {
			mech = got.Client.SASL.Name()
		}
		if mech != c.mech {
			t.Errorf("%s: SASL %q, want %q", c.url, mech, c.mech)
		}
		if c.login != "" {
			// PLAIN's first message is authzid NUL user NUL password.
			_, msg, err := got.Client.SASL.Authenticate(context.Background(), "127.0.0.1:9092")
			if err != nil {
				t.Fatal(err)
			}
			if want := "\x00alice\x00" + c.login; string(msg) != want {
				t.Errorf("%s with $%s=%q: logs in with %q, want %q", c.url, PasswordEnv, c.env, msg, want)
			}
		}
	}
}

// TestParseURLEnv: ParseURL takes the password from $WEIR_KAFKA_PASSWORD.
func TestParseURLEnv(t *testing.T) {
	t.Setenv(PasswordEnv, urlTestSecret)
	got, err := ParseURL("kafka://alice@127.0.0.1:9092/t?sasl=plain")
	if err != nil {
		t.Fatal(err)
	}
	_, msg, err := got.Client.SASL.Authenticate(context.Background(), "127.0.0.1:9092")
	if err != nil || string(msg) != "\x00alice\x00"+urlTestSecret {
		t.Fatalf("logs in with %q (%v), want the password of $%s", msg, err, PasswordEnv)
	}
}

func TestRedactURL(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"kafka://127.0.0.1:9092/t", "kafka://127.0.0.1:9092/t"},
		{"file:///a b.log", "file:///a b.log"}, // as written, not re-encoded
		{"kafka://alice@127.0.0.1:9092/t?sasl=plain", "kafka://alice@127.0.0.1:9092/t?sasl=plain"},
		{"kafka://alice:secret@127.0.0.1:9092/t?sasl=plain", "kafka://alice:xxxxx@127.0.0.1:9092/t?sasl=plain"},
		// These do not parse.
		{"kafka://alice:se/cret@127.0.0.1:9092/t", "kafka://alice:xxxxx@127.0.0.1:9092/t"},
		{"kafka://alice:se?cret@127.0.0.1:9092/t", "kafka://alice:xxxxx@127.0.0.1:9092/t"},
		{"kafka://alice:se%zzcret@127.0.0.1:9092/t", "kafka://alice:xxxxx@127.0.0.1:9092/t"},
		{"kafka://alice:s@cret@127.0.0.1:9092/t", "kafka://alice:xxxxx@127.0.0.1:9092/t"},
	} {
		if got := RedactURL(c.raw); got != c.want {
			t.Errorf("RedactURL(%q) = %q, want %q", c.raw, got, c.want)
		}
	}
}

// FuzzParseURL parses arbitrary URLs, alone and behind a user with the
// password urlTestSecret (which $WEIR_KAFKA_PASSWORD also holds).
// Invariants: ParseURL never panics; no error contains the password; a
// URL it accepts has valid brokers, a topic without '/', Params without
// the parameters it takes, and TLS whenever ca or tls-server-name was
// given.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"kafka://127.0.0.1:9092/t",
		"kafka://a:1,b:2/access?group=g&tls=true",
		"kafka://alice@127.0.0.1:9092/t?sasl=scram-sha-512&ca=ca.pem&tls-server-name=k",
		"kafka://alice:pw@127.0.0.1:9092/t?sasl=plain",
		"127.0.0.1:9092/t?sasl=plain",
		"h:1/t?tls=false&ca=ca.pem",
		"kafka://al:se/cret@h:1/t",
		"kafka:opaque",
		"%zz",
	} {
		f.Add(s)
	}
	certs, err := kafkatest.NewCertificates()
	if err != nil {
		f.Fatal(err)
	}
	p := urlParser{
		getenv: func(string) string { return urlTestSecret },
		readFile: func(name string) ([]byte, error) {
			if name == "ca.pem" {
				return certs.CAPEM, nil
			}
			return nil, fs.ErrNotExist
		},
	}
	f.Fuzz(func(t *testing.T, raw string) {
		for _, s := range []string{raw, "kafka://user:" + urlTestSecret + "@" + raw, "kafka://user@" + raw} {
			u, err := p.parse(s)
			if err != nil {
				if strings.Contains(err.Error(), urlTestSecret) {
					t.Fatalf("ParseURL(%q): the error shows the password: %v", s, err)
				}
				if !strings.HasPrefix(err.Error(), "kafka: ") {
					t.Fatalf("ParseURL(%q): error %q does not start with \"kafka: \"", s, err)
				}
				continue
			}
			if err := u.Client.validate("fuzz"); err != nil {
				t.Fatalf("ParseURL(%q) accepted bad brokers: %v", s, err)
			}
			if u.Topic == "" || strings.Contains(u.Topic, "/") || u.Params == nil {
				t.Fatalf("ParseURL(%q) = topic %q, params %v", s, u.Topic, u.Params)
			}
			for _, name := range []string{"tls", "ca", "tls-server-name", "sasl"} {
				if u.Params.Has(name) {
					t.Fatalf("ParseURL(%q) left %s in Params", s, name)
				}
			}
			pu, _ := url.Parse(s)
			if q, _ := url.ParseQuery(pu.RawQuery); (q.Has("ca") || q.Has("tls-server-name")) && u.Client.TLS == nil {
				t.Fatalf("ParseURL(%q) has no TLS", s)
			}
		}
	})
}
