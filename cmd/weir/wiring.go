package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/app/pvuv"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/file"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/connector/redis"
	"github.com/weirstream/weir/internal/progress"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/source"
)

const sourceUsage = `where the lines come from (required), one of:
  file:///var/log/nginx/access.log          a file, read once
  file://logs/access*.log                   a glob, relative to the working directory
  file:///var/log/access.log?follow=true    tail the file, across rotation
  datagen://?rate=1000&limit=100000&seed=1  generated lines (see Sources below)
  kafka://127.0.0.1:9092/access?group=pvuv  a Kafka topic (see Sources below)`

const sourceHelp = `Sources:
  file://PATH or file://GLOB reads the matching files once, in parallel by
    byte ranges; ?follow=true tails them instead, as they grow and rotate,
    until the job is stopped. PATH is absolute after file:/// and relative
    after file:// (file://logs/a.log). Globs use path/filepath.Match syntax;
    write a literal '?' as %3F and '%' as %25.
  datagen://?PARAMS generates nginx access-log lines, 0.1% of them bad:
    rate=N    lines per second (event time then flows at the same pace);
              default as fast as possible, 1000 lines per second of event time
    limit=N   stop after N lines; default never
    seed=N    the sequence; default 1. The same parameters give the same lines.
    start=T   event time of the first line: RFC 3339, or now; default
              2026-11-24T07:40:00Z
  kafka://HOST:PORT[,HOST:PORT...]/TOPIC?PARAMS reads the topic's lines with
    read_committed isolation, one watermark per partition:
    group=G   commit the offsets of each completed checkpoint to consumer
              group G (the job does not join it), so lag tools see progress
    start=S   earliest (default), latest, committed (G's offsets), or an
              RFC 3339 time (the first record at or after it)
    bounded=true  stop at the offsets that were latest when the job started
    and tls, ca, tls-server-name and sasl: see Kafka connections below`

// sourceSpec is a parsed --source URL.
type sourceSpec struct {
	raw     string
	file    bool
	pattern string // file
	follow  bool   // file
	gen     datagen.Config
	rate    float64
	limit   int64 // -1: endless
	kafka   *kafka.SourceConfig[string]
}

// parseSource parses a --source URL; problems name the flag.
func parseSource(f *flagSet, flagName, raw string) sourceSpec {
	spec := sourceSpec{raw: raw, limit: -1}
	if raw == "" {
		f.problem(flagName, "missing; give the input, such as --%s file:///var/log/nginx/access.log or --%s 'datagen://?rate=1000'", flagName, flagName)
		return spec
	}
	u, err := url.Parse(raw)
	if err != nil {
		f.problem(flagName, "%q is not a URL (%v); write file:///path/to/access.log or datagen://?rate=1000", redactURL(raw), urlErrorReason(raw, err))
		return spec
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		f.problem(flagName, "the parameters of %q do not parse (%v); write them as ?name=value&name=value", redactURL(raw), err)
		return spec
	}
	switch u.Scheme {
	case "file":
		spec.file = true
		spec.pattern = filePath(u)
		if spec.pattern == "" {
			f.problem(flagName, "%q names no file; write file:///var/log/access.log, or file://logs/access.log for a relative path", raw)
		}
		for name, vals := range q {
			switch name {
			case "follow":
				b, err := strconv.ParseBool(vals[len(vals)-1])
				if err != nil {
					f.problem(flagName, "follow=%s in %q is not true or false", vals[len(vals)-1], raw)
				}
				spec.follow = b
			default:
				f.problem(flagName, "file sources have no parameter %q (in %q); the one parameter is follow=true. A '?' in a glob is written %%3F", name, raw)
			}
		}
	case "datagen":
		if u.Host != "" || (u.Path != "" && u.Path != "/") || u.Opaque != "" {
			f.problem(flagName, "%q: datagen takes parameters only; write datagen://?rate=1000&limit=100000", raw)
		}
		spec.parseDatagen(f, flagName, q)
	case "kafka":
		spec.kafka = parseKafkaSource(f, flagName, u, q)
	case "":
		f.problem(flagName, "%q has no scheme; write file://%s for a file, or datagen://?rate=1000 for generated lines", raw, raw)
	default:
		f.problem(flagName, "unknown scheme %q in %q; use file://, datagen:// or kafka://", u.Scheme, redactURL(raw))
	}
	return spec
}

// kafkaPasswordEnv names the environment variable that holds the SASL
// password of a kafka:// URL with a user and no password: a password on
// the command line shows in ps.
const kafkaPasswordEnv = "WEIR_KAFKA_PASSWORD"

// kafkaConnParams are the parameters of every kafka:// URL, for the
// problems that list what a URL takes.
const kafkaConnParams = "tls, ca, tls-server-name and sasl"

// kafkaConnHelp explains the connection parameters in the help of each
// command that takes a kafka:// URL.
const kafkaConnHelp = `Kafka connections: every kafka:// URL also takes
    tls=true  connect with TLS, trusting the system's authorities
    ca=FILE   trust the authorities in this PEM file instead; implies tls=true
    tls-server-name=NAME  the name the brokers' certificates must carry;
              default the host dialed; implies tls=true
    sasl=M    log in with plain, scram-sha-256 or scram-sha-512 as the URL's
              user (kafka://USER@HOST:PORT/TOPIC), with the password from
              $` + kafkaPasswordEnv + ` or from the URL (kafka://USER:PASSWORD@...;
              visible to other users in ps)
  A managed cluster (SASL_SSL), with the password in $` + kafkaPasswordEnv + `:
    'kafka://weir@b-1.example.com:9096/access?tls=true&sasl=scram-sha-512'`

// parseKafkaURL returns the connection of a kafka:// URL: its brokers (see
// kafkaTopic), TLS and SASL, and its topic. It takes the connection
// parameters out of q, so that the caller reports what is left as its own
// parameters or as unknown ones:
//
//	tls=true              TLS with the system's authorities (tls=false: none)
//	ca=FILE               TLS, trusting only the authorities in the PEM file,
//	                      which is read now
//	tls-server-name=NAME  TLS, expecting certificates for NAME
//	sasl=MECHANISM        plain, scram-sha-256 or scram-sha-512 (any case),
//	                      as the URL's user
//
// The password is the URL's; when the URL has a user and no password, it
// is the value of WEIR_KAFKA_PASSWORD. A user without sasl is a problem
// (weir does not guess the mechanism), and so is sasl without a user or a
// password. Problems name flagName and never show the password.
func parseKafkaURL(f *flagSet, flagName string, u *url.URL, q url.Values) (kafka.Client, string) {
	brokers, topic := kafkaTopic(f, flagName, u)
	c := kafka.Client{Brokers: brokers}
	var (
		useTLS    bool
		tlsSet    bool // tls= given
		tlsConfig tls.Config
		implied   []string // the parameters that imply TLS
	)
	for _, name := range []string{"tls", "ca", "tls-server-name"} {
		if !q.Has(name) {
			continue
		}
		v := q.Get(name)
		q.Del(name)
		switch name {
		case "tls":
			b, err := strconv.ParseBool(v)
			if err != nil {
				f.problem(flagName, "kafka tls=%s is not true or false", v)
				continue
			}
			useTLS, tlsSet = b, true
		case "ca":
			implied = append(implied, "ca")
			tlsConfig.RootCAs = readCAFile(f, flagName, v)
		case "tls-server-name":
			implied = append(implied, "tls-server-name")
			if v == "" {
				f.problem(flagName, "kafka tls-server-name is empty; write the name the brokers' certificates carry, such as tls-server-name=kafka.example.com")
			}
			tlsConfig.ServerName = v
		}
	}
	if len(implied) > 0 {
		if tlsSet && !useTLS {
			f.problem(flagName, "kafka %s needs TLS, but the URL says tls=false; leave out tls=false", strings.Join(implied, " and "))
		}
		useTLS = true
	}
	if useTLS {
		c.TLS = &tlsConfig
	}
	c.SASL = parseKafkaSASL(f, flagName, u, q.Get("sasl"), q.Has("sasl"))
	q.Del("sasl")
	return c, topic
}

// parseKafkaSASL returns the login of a kafka:// URL with sasl=mech
// (hasMech) as its user, with its password: nil without sasl.
func parseKafkaSASL(f *flagSet, flagName string, u *url.URL, mech string, hasMech bool) sasl.Mechanism {
	user := u.User.Username()
	if !hasMech {
		if u.User != nil {
			f.problem(flagName, "%q names a user but no login mechanism: add sasl=plain, sasl=scram-sha-256 or sasl=scram-sha-512, the one the cluster expects", u.Redacted())
		}
		return nil
	}
	if m := strings.ToLower(mech); m == "plain" || m == "scram-sha-256" || m == "scram-sha-512" {
		mech = m
	} else {
		f.problem(flagName, "kafka sasl=%s is not a login mechanism weir knows: write plain, scram-sha-256 or scram-sha-512", mech)
		return nil
	}
	if user == "" {
		f.problem(flagName, "kafka sasl=%s needs a user: write kafka://USER@HOST:PORT/TOPIC?sasl=%s, with the password in $%s", mech, mech, kafkaPasswordEnv)
		return nil
	}
	pass, ok := u.User.Password()
	if !ok {
		pass = os.Getenv(kafkaPasswordEnv)
	}
	if pass == "" {
		f.problem(flagName, "kafka sasl=%s needs the password of %q: set $%s (or write it in the URL, kafka://USER:PASSWORD@..., where other users see it in ps)", mech, user, kafkaPasswordEnv)
		return nil
	}
	switch mech {
	case "plain":
		return plain.Auth{User: user, Pass: pass}.AsMechanism()
	case "scram-sha-256":
		return scram.Auth{User: user, Pass: pass}.AsSha256Mechanism()
	default:
		return scram.Auth{User: user, Pass: pass}.AsSha512Mechanism()
	}
}

// readCAFile returns the certificates of the PEM file at path as a pool,
// or nil after recording a problem.
func readCAFile(f *flagSet, flagName, path string) *x509.CertPool {
	if path == "" {
		f.problem(flagName, "kafka ca is empty; write ca=/path/to/ca.pem, the PEM file of the authority that signed the brokers' certificates")
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		f.problem(flagName, "kafka ca=%s: cannot read the CA file: %v", path, unwrapPathError(err))
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		f.problem(flagName, "kafka ca=%s holds no PEM certificate: give the authority's certificate, the file with -----BEGIN CERTIFICATE-----", path)
		return nil
	}
	return pool
}

// unwrapPathError leaves out the path of an *fs.PathError, which the
// message names already.
func unwrapPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}

// parseKafkaTopicFlag parses a flag whose value is a kafka:// URL with
// the connection parameters only: weir ship --to and weir consume --topic.
// example is the URL the problem of a value that is not one shows.
func parseKafkaTopicFlag(f *flagSet, flagName, raw, example string) (kafka.Client, string) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "kafka" {
		f.problem(flagName, "%q is not a kafka:// URL; write %s", redactURL(raw), example)
		return kafka.Client{}, ""
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		f.problem(flagName, "the parameters of %q do not parse (%v); write them as ?name=value&name=value", u.Redacted(), err)
		return kafka.Client{}, ""
	}
	c, topic := parseKafkaURL(f, flagName, u, q)
	for _, name := range slices.Sorted(maps.Keys(q)) {
		f.problem(flagName, "kafka topics here have no parameter %q; they take %s", name, kafkaConnParams)
	}
	return c, topic
}

// redactURL returns raw with the password of its user, if it has one,
// replaced by "xxxxx", as url.URL.Redacted does, also when raw does not
// parse; otherwise raw as written.
func redactURL(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
		return raw
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	authority, _, _ := strings.Cut(rest, "?")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	user, _, ok := strings.Cut(authority[:at], ":")
	if !ok {
		return raw
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

// kafkaConnHint says what to change in a kafka:// URL about an error that
// shows the client could not connect or log in, and reports whether err
// is one. (The connectors say the same of their Client fields.)
func kafkaConnHint(err error) (string, bool) {
	switch kafka.ConnProblemOf(err) {
	case kafka.LoginRefused:
		return "the brokers refused the SASL login: check the user, the password ($" + kafkaPasswordEnv + " or the URL's) and sasl=, the mechanism the cluster expects", true
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

// kafkaTopic returns the brokers and the topic of a kafka:// URL.
func kafkaTopic(f *flagSet, flagName string, u *url.URL) ([]string, string) {
	brokers, err := kafka.ParseBrokers(u.Host)
	if err != nil {
		f.problem(flagName, "%v; write kafka://127.0.0.1:9092/TOPIC", err)
	}
	topic := strings.Trim(u.Path, "/")
	if topic == "" || strings.Contains(topic, "/") {
		f.problem(flagName, "%q names no topic; write kafka://HOST:PORT/TOPIC", u.Redacted())
	}
	return brokers, topic
}

func parseKafkaSource(f *flagSet, flagName string, u *url.URL, q url.Values) *kafka.SourceConfig[string] {
	client, topic := parseKafkaURL(f, flagName, u, q)
	client.ClientID = "weir-pvuv"
	cfg := &kafka.SourceConfig[string]{Client: client, Topics: []string{topic}}
	for name := range q {
		v := q.Get(name)
		switch name {
		case "group":
			cfg.Group = v
		case "start":
			switch v {
			case "earliest":
				cfg.Start = kafka.Earliest()
			case "latest":
				cfg.Start = kafka.Latest()
			case "committed":
				cfg.Start = kafka.Committed()
			default:
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					f.problem(flagName, "kafka start=%s is not earliest, latest, committed or an RFC 3339 time", v)
				}
				cfg.Start = kafka.AtTime(t)
			}
		case "bounded":
			b, err := strconv.ParseBool(v)
			if err != nil {
				f.problem(flagName, "kafka bounded=%s is not true or false", v)
			}
			cfg.Bounded = b
		default:
			f.problem(flagName, "kafka sources have no parameter %q; they take group, start, bounded, %s", name, kafkaConnParams)
		}
	}
	return cfg
}

func (s *sourceSpec) parseDatagen(f *flagSet, flagName string, q url.Values) {
	names := make([]string, 0, len(q))
	for name := range q {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v := q.Get(name)
		switch name {
		case "rate":
			r, err := strconv.ParseFloat(v, 64)
			if err != nil || !(r > 0) || math.IsInf(r, 0) {
				f.problem(flagName, "datagen rate=%s is not a positive number of lines per second; write rate=1000", v)
				continue
			}
			s.rate = r
			s.gen.EventsPerSecond = r
		case "limit":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				f.problem(flagName, "datagen limit=%s is not a number of lines; write limit=100000, or leave it out for no end", v)
				continue
			}
			s.limit = n
		case "seed":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				f.problem(flagName, "datagen seed=%s is not a whole number; write seed=1", v)
				continue
			}
			s.gen.Seed = n
		case "start":
			if v == "now" {
				s.gen.Start = time.Now().Truncate(time.Second)
				continue
			}
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				f.problem(flagName, "datagen start=%s is not an RFC 3339 time; write start=2026-11-24T07:40:00Z or start=now", v)
				continue
			}
			s.gen.Start = t
		default:
			f.problem(flagName, "datagen has no parameter %q; it takes rate, limit, seed and start", name)
		}
	}
	if err := s.gen.Validate(); err != nil {
		f.problem(flagName, "%v", err)
	}
}

// filePath returns the path or glob of a file URL: absolute after
// file:///, relative after file:// (the "host" is its first element).
func filePath(u *url.URL) string {
	if u.Opaque != "" { // file:relative.log
		p, err := url.PathUnescape(u.Opaque)
		if err != nil {
			return u.Opaque
		}
		return p
	}
	if u.Host != "" && u.Host != "localhost" {
		return u.Host + u.Path
	}
	return u.Path
}

// urlErrorReason is why raw does not parse, as url.Parse says: err
// without the URL, which the messages quote redacted. It says no more
// than "invalid syntax" when raw has a password, which the reason could
// quote.
func urlErrorReason(raw string, err error) error {
	if redactURL(raw) != raw {
		return errors.New("invalid syntax")
	}
	return unwrapURLError(err)
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// open creates the weir source of the spec. Problems (a glob that matches
// nothing) are recorded against the flag.
func (s sourceSpec) open(f *flagSet, flagName string) source.Source[string] {
	if s.kafka != nil {
		src, err := kafka.NewSource(*s.kafka)
		if err != nil {
			f.problem(flagName, "%v", err)
			return nil
		}
		return src
	}
	if s.file {
		var opts []file.SourceOption
		if s.follow {
			opts = append(opts, file.Follow())
		}
		src, err := file.NewSource(s.pattern, opts...)
		if err != nil {
			for _, line := range strings.Split(err.Error(), "\n") {
				f.problem(flagName, "%s", line)
			}
			return nil
		}
		return src
	}
	var opts []datagen.SourceOption
	if s.rate > 0 {
		opts = append(opts, datagen.Rate(s.rate))
	}
	if s.limit >= 0 {
		opts = append(opts, datagen.Limit(s.limit))
	}
	src, err := datagen.NewSource(s.gen, opts...)
	if err != nil {
		f.problem(flagName, "%v", err)
		return nil
	}
	return src
}

// sourceOptions are the operator options of the source: sources with one
// split (datagen, a followed file) run at parallelism 1 and the job spreads
// their lines; bounded file sources read byte ranges in parallel.
func (s sourceSpec) sourceOptions() []weir.OpOption {
	name := "datagen"
	switch {
	case s.file:
		name = "file"
	case s.kafka != nil:
		// Partitions spread over the job's subtasks.
		return []weir.OpOption{weir.Name("kafka")}
	}
	opts := []weir.OpOption{weir.Name(name)}
	if !s.file || s.follow {
		opts = append(opts, weir.Parallelism(1))
	}
	return opts
}

// outputSpec is a parsed --sink or --dead-letter URL: stdout, a file, and
// for --sink a Kafka topic or a Redis database.
type outputSpec struct {
	stdout bool
	path   string
	kafka  *kafkaOutput
	redis  *redisOutput
}

type kafkaOutput struct {
	client   kafka.Client // brokers, TLS and SASL
	topic    string
	delivery kafka.Delivery
	prefix   string // transactional ids
}

type redisOutput struct {
	url    string
	prefix string // of the keys
}

const sinkUsage = `where the window results go: stdout; file:///path/to/pvuv.jsonl (JSON
lines; exactly-once with --checkpoint-dir); kafka://HOST:PORT/TOPIC (the
same JSON lines, one record per window, keyed by window start; exactly-once
with transactions by default, which needs --checkpoint-dir;
?delivery=at-least-once|none, ?txn-prefix=ID, and the Kafka connection
parameters below); redis://HOST:PORT/DB (?prefix=weir:pvuv; key layout in
the README; idempotent writes make the results exactly-once with
--checkpoint-dir)`

// parseSinkOutput parses --sink: an output, or a Kafka topic or Redis.
func parseSinkOutput(f *flagSet, flagName, raw string) outputSpec {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "kafka" && u.Scheme != "redis" && u.Scheme != "rediss") {
		return parseOutput(f, flagName, raw, true)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		f.problem(flagName, "the parameters of %q do not parse (%v)", u.Redacted(), err)
	}
	if u.Scheme == "kafka" {
		client, topic := parseKafkaURL(f, flagName, u, q)
		out := &kafkaOutput{client: client, topic: topic, delivery: kafka.ExactlyOnce}
		for name := range q {
			v := q.Get(name)
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
				f.problem(flagName, "kafka sinks have no parameter %q; they take delivery, txn-prefix, %s", name, kafkaConnParams)
			}
		}
		return outputSpec{kafka: out}
	}
	out := &redisOutput{prefix: q.Get("prefix")}
	q.Del("prefix")
	u.RawQuery = q.Encode()
	out.url = u.String()
	if _, err := redis.ParseURL(out.url); err != nil {
		f.problem(flagName, "%v", err)
	}
	return outputSpec{redis: out}
}

func parseOutput(f *flagSet, flagName, raw string, allowStdout bool) outputSpec {
	if raw == "stdout" || raw == "-" {
		if !allowStdout {
			f.problem(flagName, "%q is not allowed here; write file:///path/to/bad.jsonl", raw)
		}
		return outputSpec{stdout: true}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "file" {
		fix := "file:///path/to/out.jsonl"
		if allowStdout {
			fix = "stdout or " + fix
		}
		f.problem(flagName, "%q is not an output; write %s", redactURL(raw), fix)
		return outputSpec{}
	}
	if u.RawQuery != "" {
		f.problem(flagName, "%q: file outputs take no parameters", raw)
	}
	p := filePath(u)
	if p == "" {
		f.problem(flagName, "%q names no file; write file:///path/to/out.jsonl", raw)
	} else if fi, err := os.Stat(p); err == nil && fi.IsDir() {
		f.problem(flagName, "%s is a directory; name a file in it, such as %s", p, filepath.Join(p, "out.jsonl"))
	}
	return outputSpec{path: p}
}

// lineOutput is an output file or stdout that a job's sinks write lines
// to. It belongs to the command, not to the sink's writers: the command
// flushes and closes it after the job ends, also when the job was stopped
// with Ctrl-C, so that the windows computed until then are kept.
type lineOutput struct {
	mu        sync.Mutex
	w         *bufio.Writer
	file      *os.File // nil for stdout
	lastFlush time.Time
	every     bool // flush after every line (few, live lines: results)
	lines     int64
}

// openOutput opens the output of spec; stdout is used for spec.stdout.
func openOutput(spec outputSpec, stdout io.Writer, every bool) (*lineOutput, error) {
	o := &lineOutput{every: every, lastFlush: time.Now()}
	if spec.stdout {
		o.w = bufio.NewWriterSize(stdout, 64<<10)
		return o, nil
	}
	if dir := filepath.Dir(spec.path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	f, err := os.Create(spec.path)
	if err != nil {
		return nil, err
	}
	o.file, o.w = f, bufio.NewWriterSize(f, 64<<10)
	return o, nil
}

// writeLine writes b and a newline. Lines are flushed at once for an
// every-line output, otherwise when the buffer fills, at a write a second
// after the last flush, or by flushEvery.
func (o *lineOutput) writeLine(b []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.w.Write(b)
	if err := o.w.WriteByte('\n'); err != nil {
		return err
	}
	o.lines++
	if o.every || time.Since(o.lastFlush) > time.Second {
		return o.flushLocked()
	}
	return nil
}

func (o *lineOutput) flush() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.flushLocked()
}

func (o *lineOutput) flushLocked() error {
	o.lastFlush = time.Now()
	return o.w.Flush()
}

// flushEvery flushes the output every d until ctx is done, so that lines
// written while the job is quiet do not wait in the buffer. It blocks.
func (o *lineOutput) flushEvery(ctx context.Context, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			o.mu.Lock()
			if o.w.Buffered() > 0 && time.Since(o.lastFlush) >= d {
				o.flushLocked() // a failure shows again at the next write
			}
			o.mu.Unlock()
		}
	}
}

// close flushes what is buffered and closes the file.
func (o *lineOutput) close() error {
	err := o.flush()
	if o.file != nil {
		if cerr := o.file.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// lineSink is a sink that encodes each record and writes it to a
// lineOutput.
type lineSink[T any] struct {
	out    *lineOutput
	encode func(dst []byte, v T) []byte
}

func (s lineSink[T]) NewWriter(sink.WriterContext) (sink.Writer[T], error) {
	return &lineWriter[T]{s: s}, nil
}

type lineWriter[T any] struct {
	s   lineSink[T]
	buf []byte
}

func (w *lineWriter[T]) Write(_ context.Context, v T) error {
	w.buf = w.s.encode(w.buf[:0], v)
	return w.s.out.writeLine(w.buf)
}

func (w *lineWriter[T]) Flush(context.Context) error { return w.s.out.flush() }

// Close does nothing: the command flushes and closes the output.
func (w *lineWriter[T]) Close() error { return nil }

func appendResult(dst []byte, r pvuv.Result) []byte { return r.AppendJSON(dst) }

// appendBadLine writes {"line":...,"reason":...}. Bytes of the line that
// are not UTF-8 are written as U+FFFD, since JSON strings are UTF-8.
func appendBadLine(dst []byte, b pvuv.BadLine) []byte {
	j, err := json.Marshal(b)
	if err != nil { // cannot happen: two strings
		j = []byte(`{"line":"","reason":"unencodable"}`)
	}
	return append(dst, j...)
}

// sampler reads a running job's figures for the progress reporter.
func sampler(env *weir.Env, c *pvuv.Counters) func() progress.Sample {
	return func() progress.Sample {
		s := progress.Sample{Lines: c.Lines.Load(), BadLines: c.BadLines.Load(), Windows: c.Windows.Load()}
		if wm := c.Watermark.Load(); wm != 0 {
			s.Watermark = time.UnixMilli(wm).UTC()
		}
		for _, m := range env.Metrics() {
			s.Tasks = append(s.Tasks, progress.Task{Name: m.Operator, Subtask: m.Subtask, Busy: m.Busy, Idle: m.Idle, Backpressured: m.Backpressured})
		}
		return s
	}
}
