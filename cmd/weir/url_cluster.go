package main

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/kafka"
)

// --cluster kafka://HOST:PORT[,HOST:PORT...]/NAME runs weir pvuv as one
// worker of a cluster: the workers meet in the Kafka group NAME.

const clusterUsage = `run the job as one worker of a cluster: kafka://HOST:PORT[,HOST:PORT]/NAME,
with the same TLS and SASL parameters as other kafka:// URLs. Every worker
runs the same command line; the job's parallelism is the slots of the
workers present (--slots each), and it rescales when one joins or leaves.
Needs --checkpoint-dir in a location every worker shares (s3://..., or a
directory every worker mounts)`

// tokenEnv holds the secret workers of a cluster check on every call
// between them; it is needed when they listen beyond loopback.
const tokenEnv = "WEIR_CLUSTER_TOKEN"

// clusterFlags are the flags of a worker of a cluster.
type clusterFlags struct {
	url        *string
	advertise  *string
	slots      *int64
	minWorkers *int64
	id         *string
	session    *time.Duration
	tlsCert    *string
	tlsKey     *string
	tlsCA      *string
	tlsName    *string
	insecure   *bool
}

func addClusterFlags(f *flagSet) clusterFlags {
	return clusterFlags{
		url:        f.url("cluster", "", clusterUsage),
		advertise:  f.string("advertise", "", "HOST:PORT", "with --cluster: the address other workers reach this one at (it listens there\ntoo); beyond loopback it needs $"+tokenEnv+", the same in every worker"),
		slots:      f.int64("slots", 0, "with --cluster: subtasks of each operator this worker runs (default: the\nnumber of CPUs)"),
		minWorkers: f.int64("min-workers", 1, "with --cluster: workers to wait for before the job starts"),
		id:         f.string("worker-id", "", "ID", "with --cluster: the worker's name, kept across restarts (default: host\nname and --advertise)"),
		session:    f.duration("session-timeout", 10*time.Second, "with --cluster: how long a worker that stopped answering keeps its work\nbefore the others take it over; a worker restarted within it gets its work\nback without a rescale"),
		tlsCert:    f.string("data-tls-cert", "", "FILE", "with --cluster: this worker's certificate (PEM) for mutual TLS between\nworkers; with --data-tls-key and --data-tls-ca"),
		tlsKey:     f.string("data-tls-key", "", "FILE", "with --cluster: the key of --data-tls-cert (PEM)"),
		tlsCA:      f.string("data-tls-ca", "", "FILE", "with --cluster: the authority (PEM) that signed every worker's certificate;\nworkers take calls only from certificates it signed"),
		tlsName:    f.string("data-tls-server-name", "", "NAME", "with --cluster: the name every worker's certificate carries (default: the\nhost of each worker's --advertise)"),
		insecure:   f.bool("data-insecure", "with --cluster: let workers talk in plaintext beyond loopback, with\n$"+tokenEnv+": only on a network that is private by other means"),
	}
}

// option returns the cluster option the flags describe, or nil without
// --cluster; problems go to f.
func (c clusterFlags) option(f *flagSet, checkpoints bool, parallelismSet bool) weir.EnvOption {
	if *c.url == "" {
		for _, name := range []string{"advertise", "slots", "min-workers", "worker-id", "session-timeout",
			"data-tls-cert", "data-tls-key", "data-tls-ca", "data-tls-server-name", "data-insecure"} {
			if f.isSet(name) {
				f.problem(name, "needs --cluster: give the cluster's kafka://HOST:PORT/NAME")
			}
		}
		return nil
	}
	u := parseKafkaURL(f, "cluster", *c.url)
	for _, name := range kafkaParams(u.Params) {
		f.problem("cluster", "cluster URLs have no parameter %q; they take %s", name, kafka.URLParams)
	}
	if !checkpoints {
		f.problem("cluster", "a job in a cluster needs --checkpoint-dir, in a location every worker shares: its workers restore from it whenever one joins or leaves")
	}
	if parallelismSet {
		f.problem("parallelism", "in a cluster the parallelism is the slots of the workers present: set --slots on each worker instead")
	}
	host, _, err := net.SplitHostPort(*c.advertise)
	if err != nil {
		f.problem("advertise", "%q: give the host:port other workers reach this worker at, e.g. 10.0.0.5:7700", *c.advertise)
	}
	if *c.slots < 0 || *c.minWorkers < 1 {
		f.problem("slots", "--slots %d and --min-workers %d: give at least 0 slots (0: the number of CPUs) and 1 worker", *c.slots, *c.minWorkers)
	}
	cfg := weir.ClusterConfig{
		Brokers: u.Client.Brokers, TLS: u.Client.TLS, SASL: u.Client.SASL, Name: u.Topic,
		Advertise: *c.advertise, Slots: int(*c.slots), MinWorkers: int(*c.minWorkers), ID: *c.id,
		Token: os.Getenv(tokenEnv), SessionTimeout: *c.session,
	}
	cfg.DataTLS = c.tlsConfig(f)
	cfg.Insecure = *c.insecure
	if cfg.DataTLS != nil && cfg.Insecure {
		f.problem("data-insecure", "and --data-tls-cert: choose one; with TLS, workers need no plaintext")
	}
	if ip := net.ParseIP(host); err == nil && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		switch {
		case cfg.DataTLS == nil && !cfg.Insecure:
			f.problem("advertise", "%s is beyond loopback: protect the workers' connections with --data-tls-cert, --data-tls-key and --data-tls-ca (mutual TLS), or, on a network that is private by other means, give --data-insecure and $%s", *c.advertise, tokenEnv)
		case cfg.Insecure && cfg.Token == "":
			f.problem("advertise", "%s is beyond loopback: set $%s to a secret shared by every worker, so that nobody else can feed or steer the job", *c.advertise, tokenEnv)
		}
	}
	return weir.Cluster(cfg)
}

// tlsConfig is the mutual TLS of the workers' connections, or nil without
// --data-tls-cert; problems go to f.
func (c clusterFlags) tlsConfig(f *flagSet) *tls.Config {
	if *c.tlsCert == "" && *c.tlsKey == "" && *c.tlsCA == "" {
		if *c.tlsName != "" {
			f.problem("data-tls-server-name", "needs --data-tls-cert, --data-tls-key and --data-tls-ca")
		}
		return nil
	}
	if *c.tlsCert == "" || *c.tlsKey == "" || *c.tlsCA == "" {
		f.problem("data-tls-cert", "mutual TLS between workers needs all of --data-tls-cert, --data-tls-key and --data-tls-ca")
		return nil
	}
	cert, err := tls.LoadX509KeyPair(*c.tlsCert, *c.tlsKey)
	if err != nil {
		f.problem("data-tls-cert", "%s with key %s: %v: give a PEM certificate and its PEM key", *c.tlsCert, *c.tlsKey, err)
		return nil
	}
	pem, err := os.ReadFile(*c.tlsCA)
	if err != nil {
		f.problem("data-tls-ca", "%v", err)
		return nil
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		f.problem("data-tls-ca", "%s holds no PEM certificate", *c.tlsCA)
		return nil
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ServerName:   *c.tlsName,
		MinVersion:   tls.VersionTLS13,
	}
}
