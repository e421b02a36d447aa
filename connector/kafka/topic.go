package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CheckTopic connects to the brokers and makes sure that the sink's topic
// exists: it asks for the topic's metadata with auto-creation allowed, so
// that brokers that create topics on first use (auto.create.topics.enable,
// and `weir kafka`) create it now, with their default partitions. It fails
// when the topic does not exist and the brokers do not create it, when the
// sink's principal may not see it, and when the brokers cannot be reached
// or refuse the TLS handshake or the login; each error says what to do.
//
// Every writer of the sink makes this check when it starts (at its first
// Write, PreCommit or Flush), before it writes a record, so that a missing
// topic fails the job at its first checkpoint barrier rather than as
// records that time out. A program calls CheckTopic before it runs the job
// to fail before the job starts, and without the job's restarts. It blocks
// until the brokers answer or ctx ends.
func (s *Sink[T]) CheckTopic(ctx context.Context) error {
	cl, err := kgo.NewClient(s.cfg.client.Opts()...)
	if err != nil {
		return fmt.Errorf("kafka: sink to topic %q: create a client: %w", s.cfg.topic, err)
	}
	defer cl.Close()
	return ensureTopic(ctx, cl, s.cfg.topic, s.cfg.client.Brokers)
}

// ensureTopic is CheckTopic with a client of the caller's.
func ensureTopic(ctx context.Context, cl *kgo.Client, topic string, brokers []string) error {
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	req.AllowAutoTopicCreation = true
	var terr error
	err := retryTxn(ctx, func() error {
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			return err
		}
		terr = errors.New("the brokers' answer does not list it")
		for _, rt := range resp.Topics {
			if rt.Topic != nil && *rt.Topic == topic {
				terr = kerr.ErrorForCode(rt.ErrorCode)
			}
		}
		// LEADER_NOT_AVAILABLE: the brokers are creating the topic (a
		// Kafka broker answers so to the request that created it); the
		// producer waits for the leaders itself.
		if errors.Is(terr, kerr.LeaderNotAvailable) {
			terr = nil
		}
		return nil
	})
	if err != nil {
		hint, ok := connHint(err)
		if !ok {
			hint = "check Brokers and that the cluster is reachable"
		}
		return fmt.Errorf("kafka: sink to topic %q: connect to the brokers at %v: %w; %s", topic, brokers, err, hint)
	}
	switch {
	case terr == nil:
		return nil
	case errors.Is(terr, kerr.UnknownTopicOrPartition):
		return fmt.Errorf("kafka: sink to topic %q: the topic does not exist, and the brokers do not create topics on first use (auto.create.topics.enable=false): "+
			"create the topic (kafka-topics.sh --create --topic %s --bootstrap-server %s, with the partitions its readers need), or write to one that exists", topic, topic, brokers[0])
	case errors.Is(terr, kerr.TopicAuthorizationFailed):
		return fmt.Errorf("kafka: sink to topic %q: %w: grant the sink's principal DESCRIBE and WRITE on the topic (and CREATE on the cluster for the brokers to create it)", topic, terr)
	case errors.Is(terr, kerr.InvalidTopicException):
		return fmt.Errorf("kafka: sink to topic %q: the brokers reject the name: %w; choose another topic", topic, terr)
	}
	return fmt.Errorf("kafka: sink to topic %q: the brokers cannot describe the topic: %w", topic, terr)
}
