package main

import (
	"fmt"
	"io"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/kafka"
)

// kafka:// URLs: --source and --sink of weir pvuv, --to of weir ship,
// --topic of weir consume. kafka.ParseURL reads the brokers, the topic,
// TLS and SASL; each flag reads its own parameters from what is left.

// kafkaConnHelp explains the connection parameters in the help of each
// command that takes a kafka:// URL.
const kafkaConnHelp = `Kafka connections: every kafka:// URL also takes
    tls=true  connect with TLS, trusting the system's authorities
    ca=FILE   trust the authorities in this PEM file instead; implies tls=true
    tls-server-name=NAME  the name the brokers' certificates must carry;
              default the host dialed; implies tls=true
    sasl=M    log in with plain, scram-sha-256 or scram-sha-512 as the URL's
              user (kafka://USER@HOST:PORT/TOPIC), with the password from
              $` + kafka.PasswordEnv + ` or from the URL (kafka://USER:PASSWORD@...;
              visible to other users in ps)
  A managed cluster (SASL_SSL), with the password in $` + kafka.PasswordEnv + `:
    'kafka://weir@b-1.example.com:9096/access?tls=true&sasl=scram-sha-512'`

// parseKafkaURL parses a kafka:// URL with kafka.ParseURL and records
// each of its problems against the flag. The URL it returns has Params,
// the flag's own parameters, also after problems.
func parseKafkaURL(f *flagSet, flagName, raw string) kafka.URL {
	u, err := kafka.ParseURL(raw)
	if err != nil {
		errs := []error{err}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = j.Unwrap()
		}
		for _, e := range errs {
			f.problem(flagName, "%v", e)
		}
	}
	return u
}

// kafkaParams returns the names of the parameters in q, sorted, so that
// problems come in the same order every time.
func kafkaParams(q url.Values) []string { return slices.Sorted(maps.Keys(q)) }

// kafkaSource is a parsed --source kafka://...
type kafkaSource struct {
	client  kafka.Client // brokers, TLS and SASL
	topic   string
	group   string
	start   kafka.StartOffsets
	bounded bool
}

// parseKafkaSource parses --source kafka://...: the connection, and
// group, start and bounded.
func parseKafkaSource(f *flagSet, flagName, raw string) *kafkaSource {
	u := parseKafkaURL(f, flagName, raw)
	u.Client.ClientID = "weir-pvuv"
	src := &kafkaSource{client: u.Client, topic: u.Topic}
	for _, name := range kafkaParams(u.Params) {
		v := u.Params.Get(name)
		switch name {
		case "group":
			src.group = v
		case "start":
			switch v {
			case "earliest":
				src.start = kafka.Earliest()
			case "latest":
				src.start = kafka.Latest()
			case "committed":
				src.start = kafka.Committed()
			default:
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					f.problem(flagName, "kafka start=%s is not earliest, latest, committed or an RFC 3339 time", v)
				}
				src.start = kafka.AtTime(t)
			}
		case "bounded":
			b, err := strconv.ParseBool(v)
			if err != nil {
				f.problem(flagName, "kafka bounded=%s is not true or false", v)
			}
			src.bounded = b
		default:
			f.problem(flagName, "kafka sources have no parameter %q; they take group, start, bounded, %s", name, kafka.URLParams)
		}
	}
	return src
}

// open returns the Kafka source of --source: the topic's values as lines.
func (k *kafkaSource) open() (*kafka.Source[string], error) {
	opts := []kafka.SourceOption{kafka.Start(k.start)}
	if k.group != "" {
		opts = append(opts, kafka.Group(k.group))
	}
	if k.bounded {
		opts = append(opts, kafka.Bounded())
	}
	return kafka.NewSource(k.client, kafka.Topics(k.topic), kafka.StringValue, opts...)
}

// kafkaOutput is a parsed --sink kafka://...
type kafkaOutput struct {
	client   kafka.Client // brokers, TLS and SASL
	topic    string
	delivery kafka.Guarantee
	prefix   string // transactional ids
}

// parseKafkaSink parses --sink kafka://...: the connection, and delivery
// and txn-prefix.
func parseKafkaSink(f *flagSet, flagName, raw string) *kafkaOutput {
	u := parseKafkaURL(f, flagName, raw)
	out := &kafkaOutput{client: u.Client, topic: u.Topic, delivery: kafka.ExactlyOnce}
	for _, name := range kafkaParams(u.Params) {
		v := u.Params.Get(name)
		switch name {
		case "delivery":
			switch v {
			case "exactly-once":
			case "at-least-once":
				out.delivery = kafka.AtLeastOnce
			case "none":
				out.delivery = kafka.DeliveryNone
			default:
				f.problem(flagName, "kafka delivery=%s: write exactly-once, at-least-once or none", v)
			}
		case "txn-prefix":
			out.prefix = v
		default:
			f.problem(flagName, "kafka sinks have no parameter %q; they take delivery, txn-prefix, %s", name, kafka.URLParams)
		}
	}
	return out
}

// openKafkaSink returns the Kafka sink of --sink: the job's JSON lines,
// keyed by window start.
func openKafkaSink(out *kafkaOutput) (*kafka.Sink[pvuv.Result], error) {
	client := out.client
	client.ClientID = "weir-pvuv"
	opts := []kafka.SinkOption{kafka.Delivery(out.delivery)}
	if out.prefix != "" {
		opts = append(opts, kafka.TransactionalIDPrefix(out.prefix))
	}
	return kafka.NewSink(client, out.topic, func(r pvuv.Result) (*kgo.Record, error) {
		return &kgo.Record{Key: strconv.AppendInt(nil, r.WindowStart.UnixMilli(), 10), Value: r.AppendJSON(nil)}, nil
	}, opts...)
}

// parseKafkaTopicFlag parses a flag whose value is a kafka:// URL with
// the connection parameters only: weir ship --to and weir consume --topic.
// example is the URL the problem of a value that is not one shows.
func parseKafkaTopicFlag(f *flagSet, flagName, raw, example string) (kafka.Client, string) {
	if u, err := url.Parse(raw); err != nil || u.Scheme != "kafka" {
		f.problem(flagName, "%q is not a kafka:// URL; write %s", kafka.RedactURL(raw), example)
		return kafka.Client{}, ""
	}
	u := parseKafkaURL(f, flagName, raw)
	for _, name := range kafkaParams(u.Params) {
		f.problem(flagName, "kafka topics here have no parameter %q; they take %s", name, kafka.URLParams)
	}
	return u.Client, u.Topic
}

// kafkaConnHint says what to change in a kafka:// URL about an error that
// shows the client could not connect or log in, and reports whether err
// is one. (The connectors say the same of their Client fields.)
func kafkaConnHint(err error) (string, bool) {
	switch kafka.ConnProblemOf(err) {
	case kafka.LoginRefused:
		return "the brokers refused the SASL login: check the user, the password ($" + kafka.PasswordEnv + " or the URL's) and sasl=, the mechanism the cluster expects", true
	case kafka.ClosedAtOnce:
		return "the brokers closed the connection at once: add tls=true (or ca=FILE) if their listener uses TLS, and sasl= with a user if it requires a login", true
	case kafka.UntrustedCertificate:
		return "the brokers' TLS certificate is not trusted: give the authority that signed it with ca=FILE", true
	case kafka.CertificateNameMismatch:
		return "the brokers' TLS certificate does not name the address dialed: connect by a name it lists, or add tls-server-name=NAME", true
	case kafka.InvalidCertificate:
		return "the brokers' TLS certificate is invalid (expired or not for serving)", true
	case kafka.NotTLS:
		return "the brokers do not speak TLS on this port: leave out tls and ca, or use their TLS listener", true
	}
	return "", false
}

// printFailure prints a command's error, and, when it shows that a Kafka
// client could not connect or log in, what to change in the kafka:// URL.
func printFailure(stderr io.Writer, cmd string, err error) {
	fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
	if hint, ok := kafkaConnHint(err); ok {
		fmt.Fprintf(stderr, "%s: in the kafka:// URL: %s\n", cmd, hint)
	}
}
