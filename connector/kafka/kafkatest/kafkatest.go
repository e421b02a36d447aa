// Package kafkatest runs an in-process Kafka-protocol broker (franz-go's
// kfake) on a loopback port, for tests, the demo and `weir kafka`. Any
// Kafka client can produce to it and consume from it over TCP.
package kafkatest

import (
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Broker is a running in-process broker.
type Broker struct {
	cluster *kfake.Cluster
	delays  *delays
}

// Config says how to start a Broker. The zero value starts one broker on
// a free loopback port, with no topics, that creates topics on first use
// with one partition.
type Config struct {
	// Port is the port to listen on; 0 picks a free one.
	Port int
	// Partitions is the number of partitions of topics created on first
	// use; the default is 1.
	Partitions int
	// Topics are created at start with Partitions partitions each.
	Topics []string
	// DataDir, when set, keeps the broker's data in this directory across
	// restarts; otherwise it lives in memory.
	DataDir string
	// MinSessionTimeout, when set, is the shortest session timeout a
	// group member may ask for (Kafka's group.min.session.timeout.ms,
	// default 6s): tests of group members use short ones.
	MinSessionTimeout time.Duration
}

// Start starts a broker.
func Start(cfg Config) (*Broker, error) {
	parts := cfg.Partitions
	if parts <= 0 {
		parts = 1
	}
	ds := &delays{}
	opts := []kfake.Opt{
		kfake.ListenFn(ds.listen),
		kfake.NumBrokers(1),
		kfake.Ports(cfg.Port),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(parts),
	}
	if len(cfg.Topics) > 0 {
		opts = append(opts, kfake.SeedTopics(int32(parts), cfg.Topics...))
	}
	if cfg.DataDir != "" {
		opts = append(opts, kfake.DataDir(cfg.DataDir))
	}
	if cfg.MinSessionTimeout > 0 {
		opts = append(opts, kfake.GroupMinSessionTimeout(cfg.MinSessionTimeout))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: start the broker (is port %d free?): %w", cfg.Port, err)
	}
	return &Broker{cluster: c, delays: ds}, nil
}

// Addr is the broker's host:port.
func (b *Broker) Addr() string { return b.cluster.ListenAddrs()[0] }

// Cluster is the underlying kfake cluster, for tests that need its
// controls. To slow the broker down, use Delay, not the cluster's
// SleepControl.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Close stops the broker.
func (b *Broker) Close() { b.cluster.Close() }
