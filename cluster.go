package weir

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"

	"github.com/weirstream/weir/internal/cluster"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/plan"
)

// ClusterConfig runs a job as one of several identical processes
// (workers), on one machine or many, as Flink runs a job on its
// TaskManagers — without a cluster manager: the workers find each other,
// elect a coordinator and notice a dead one through Kafka's consumer-group
// protocol (a group named after the job), which every weir cluster has
// already. Every worker runs the same program (the same job graph; one
// with another is refused, and the message names the difference).
//
// Scaling is reactive, as in Flink's reactive mode: the job's parallelism
// is the slots of the workers present (capped by MaxParallelism), and when
// a worker joins, leaves or dies, every worker stops and restores the
// newest checkpoint at the new parallelism. A cluster job therefore needs
// Checkpoints, in a location every worker shares: s3://..., or a
// directory every worker mounts.
type ClusterConfig struct {
	// Brokers are the Kafka brokers (host:port) of the group the workers
	// meet in. Required.
	Brokers []string
	// TLS and SASL, when set, are how the workers connect to the brokers.
	TLS  *tls.Config
	SASL sasl.Mechanism
	// Name names the job's cluster: the Kafka group, and the topic
	// weir-cluster.<name>. Required; letters, digits, '.', '_' and '-'.
	Name string
	// Advertise is the host:port other workers reach this one at, for
	// records and control messages. Required. Port 0 (with Listen empty)
	// listens on a free port and advertises it; the default ID then
	// differs from run to run, so give ID for static membership.
	Advertise string
	// Listen is the address to listen on; default Advertise.
	Listen string
	// Slots is how many subtasks of each operator the worker runs
	// (default GOMAXPROCS).
	Slots int
	// MinWorkers is how many workers the job waits for before it starts
	// (default 1); once started it runs on whoever is there.
	MinWorkers int
	// ID names the worker across restarts, as Kafka's static membership:
	// a worker restarted with its ID within SessionTimeout gets its work
	// back without a rebalance. Default: the host name and Advertise.
	ID string
	// SessionTimeout is how long a worker that stopped answering keeps its
	// work before the others take it over (default 10s).
	SessionTimeout time.Duration
	// DataTLS protects the connections between workers (records and
	// control messages). Workers listen on loopback addresses only unless
	// DataTLS (with client certificates) or Token is set, or Insecure.
	DataTLS *tls.Config
	// Token is a secret every worker sends with every call and checks on
	// every call it takes.
	Token string
	// Insecure lets workers talk in plaintext over addresses that are not
	// loopback: for a private network only.
	Insecure bool
}

// Cluster runs the job as one worker of the cluster c describes: Execute
// returns when the whole job has finished (every worker's part), when ctx
// ends, or when the job fails for good.
func Cluster(c ClusterConfig) EnvOption {
	return envFunc(func(cfg *config) { cfg.cluster = &c })
}

func (c *ClusterConfig) validate(cp checkpointConfig) error {
	var errs []error
	if len(c.Brokers) == 0 {
		errs = append(errs, errors.New("weir: Cluster: no Brokers: give the Kafka brokers the workers meet through"))
	}
	if c.Name == "" {
		errs = append(errs, errors.New("weir: Cluster: no Name: name the job's cluster (its Kafka group)"))
	}
	if _, _, err := splitHostPort(c.Advertise); err != nil {
		errs = append(errs, fmt.Errorf("weir: Cluster: Advertise %q: give the host:port other workers reach this one at", c.Advertise))
	}
	if c.Slots < 0 {
		errs = append(errs, fmt.Errorf("weir: Cluster: Slots %d is negative", c.Slots))
	}
	if !cp.on {
		errs = append(errs, errors.New("weir: Cluster: a job in a cluster needs Checkpoints, in a location every worker shares (s3://..., or a directory every worker mounts): its workers restore from them whenever one joins or leaves"))
	}
	return errors.Join(errs...)
}

func splitHostPort(addr string) (string, int, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, errors.New("no port")
	}
	port, err := strconv.Atoi(addr[i+1:])
	if err != nil || port < 0 || port > 65535 {
		return "", 0, errors.New("bad port")
	}
	return addr[:i], port, nil
}

// executeInCluster runs the job as a worker of its cluster.
func (e *Env) executeInCluster(ctx context.Context, p *plan.Plan, settings plan.Settings, spec job.Spec) error {
	c := e.cfg.cluster
	slots := c.Slots
	if slots == 0 {
		slots = runtime.GOMAXPROCS(0)
	}
	kopts := []kgo.Opt{kgo.SeedBrokers(c.Brokers...)}
	if c.TLS != nil {
		kopts = append(kopts, kgo.DialTLSConfig(c.TLS))
	}
	if c.SASL != nil {
		kopts = append(kopts, kgo.SASL(c.SASL))
	}
	js := cluster.JobSpec{
		Graph:    p.Graph,
		Settings: settings,
		Job:      spec,
		Describe: describeGraph(p.Graph, e.cfg.maxParallelism),
		OnBuild: func(b plan.Built) {
			e.runs.Add(1) // every epoch after the first restarts the job
			e.mu.Lock()
			e.metrics = b.Metrics
			e.mu.Unlock()
			e.setChannels(b.Exchanges)
		},
		OnStart: func(j *job.Job, w cluster.Running) {
			e.mu.Lock()
			e.job, e.worker = j, w
			e.mu.Unlock()
		},
		Subtasks: e.subtaskReports,
		Channels: e.channelReports,
	}
	return cluster.Run(ctx, js, cluster.WorkerConfig{
		Kafka: kopts, Name: c.Name, ID: c.ID, Advertise: c.Advertise, Listen: c.Listen, Slots: slots, MinWorkers: c.MinWorkers,
		Security:       cluster.Security{TLS: c.DataTLS, Token: c.Token, Insecure: c.Insecure},
		SessionTimeout: c.SessionTimeout,
	})
}

// describeGraph describes the job graph for the workers' fingerprint:
// everything that must be equal in every worker.
func describeGraph(g *plan.Graph, maxParallelism int) []cluster.Node {
	nodes := []cluster.Node{{Attrs: []cluster.Attr{{Key: "max-parallelism", Value: strconv.Itoa(maxParallelism)}}}}
	for _, n := range g.Nodes {
		attrs := []cluster.Attr{{Key: "uid", Value: n.UID}, {Key: "kind", Value: n.Kind}, {Key: "types", Value: n.Signature}}
		if n.Parallelism > 0 {
			attrs = append(attrs, cluster.Attr{Key: "parallelism", Value: strconv.Itoa(n.Parallelism)})
		}
		var inputs []string
		for _, in := range n.Inputs {
			inputs = append(inputs, in.From.UID+"/"+in.Pattern.String())
		}
		if len(inputs) > 0 {
			attrs = append(attrs, cluster.Attr{Key: "inputs", Value: strings.Join(inputs, ",")})
		}
		if n.SideOf != nil {
			attrs = append(attrs, cluster.Attr{Key: "side-of", Value: n.SideOf.UID + "/" + n.Tag.Name})
		}
		nodes = append(nodes, cluster.Node{Name: n.Name, Attrs: attrs})
	}
	return nodes
}

// ClusterStatus is what a worker knows of its cluster (see Cluster).
type ClusterStatus = cluster.Status

// InCluster reports whether the job runs as a worker of a cluster
// (Cluster).
func (e *Env) InCluster() bool { return e.cfg.cluster != nil }

// ClusterStatus returns what this worker knows of its cluster, and false
// when the job does not run in a cluster or has not joined it yet.
func (e *Env) ClusterStatus() (ClusterStatus, bool) {
	e.mu.Lock()
	w := e.worker
	e.mu.Unlock()
	if w == nil {
		return ClusterStatus{}, false
	}
	return w.Status(), true
}
