package kafkatest

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// NewClient returns a client of the broker with extra options. The caller
// closes it.
func (b *Broker) NewClient(opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.Addr())}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: create a client: %w", err)
	}
	return cl, nil
}

// admin runs fn with an admin client of the broker.
func (b *Broker) admin(fn func(*kadm.Client) error) error {
	cl, err := b.NewClient()
	if err != nil {
		return err
	}
	defer cl.Close()
	return fn(kadm.NewClient(cl))
}

// CreateTopic creates a topic with the given number of partitions.
func (b *Broker) CreateTopic(ctx context.Context, topic string, partitions int32) error {
	return b.admin(func(adm *kadm.Client) error {
		resp, err := adm.CreateTopic(ctx, partitions, 1, nil, topic)
		if err == nil {
			err = resp.Err
		}
		if err != nil {
			return fmt.Errorf("kafkatest: create topic %q: %w", topic, err)
		}
		return nil
	})
}

// AddPartitions adds n partitions to a topic.
func (b *Broker) AddPartitions(ctx context.Context, topic string, n int) error {
	return b.admin(func(adm *kadm.Client) error {
		resp, err := adm.CreatePartitions(ctx, n, topic)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("kafkatest: add %d partitions to %q: %w", n, topic, err)
		}
		return nil
	})
}

// Produce writes records and waits until every one is acknowledged. Each
// record goes to the partition its Partition field names.
func (b *Broker) Produce(ctx context.Context, records ...*kgo.Record) error {
	cl, err := b.NewClient(kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		return err
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		return fmt.Errorf("kafkatest: produce: %w", err)
	}
	return nil
}

// EndOffsets returns the end offset (high watermark) of every partition
// of a topic.
func (b *Broker) EndOffsets(ctx context.Context, topic string) (map[int32]int64, error) {
	out := map[int32]int64{}
	err := b.admin(func(adm *kadm.Client) error {
		l, err := adm.ListEndOffsets(ctx, topic)
		if err == nil {
			err = l.Error()
		}
		if err != nil {
			return fmt.Errorf("kafkatest: list the end offsets of %q: %w", topic, err)
		}
		l.Each(func(o kadm.ListedOffset) { out[o.Partition] = o.Offset })
		return nil
	})
	return out, err
}

// CommittedOffsets returns the offsets a consumer group committed, by
// topic and partition.
func (b *Broker) CommittedOffsets(ctx context.Context, group string) (map[string]map[int32]int64, error) {
	out := map[string]map[int32]int64{}
	err := b.admin(func(adm *kadm.Client) error {
		resp, err := adm.FetchOffsets(ctx, group)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("kafkatest: fetch the offsets of group %q: %w", group, err)
		}
		resp.Each(func(o kadm.OffsetResponse) {
			if out[o.Topic] == nil {
				out[o.Topic] = map[int32]int64{}
			}
			out[o.Topic][o.Partition] = o.At
		})
		return nil
	})
	return out, err
}
