package connectors

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/sql/table"
	"github.com/weirstream/weir/sql/types"
)

// Kafka is the 'kafka' connector: a topic as a table.
//
// Options:
//
//	topic                         the topic (required)
//	properties.bootstrap.servers  the brokers, host:port[,host:port…] (required)
//	properties.group.id           the consumer group the source commits its
//	                              offsets to at each checkpoint, for lag tools
//	scan.startup.mode             earliest-offset, latest-offset or group-offsets
//	                              (default: group-offsets with a group, else
//	                              earliest-offset)
//	scan.bounded.mode             unbounded (default) or latest-offset: read up
//	                              to the ends the partitions had at the start
//	format                        json, csv, raw or combined-log (combined-log
//	                              only reads)
//	sink.delivery-guarantee       at-least-once (default, as Flink), exactly-once
//	                              (transactions committed with checkpoints; the
//	                              job needs checkpoints) or none
//	sink.transactional-id-prefix  the prefix of the sink's transactional ids
//	                              (default weir-TOPIC): unique per job
//	security.tls                  'true' for TLS with the system's authorities
//	security.ca                   a PEM file of the authorities to trust (TLS)
//	security.tls-server-name      the name the brokers' certificates carry (TLS)
//	security.sasl                 plain, scram-sha-256 or scram-sha-512
//	security.user                 the SASL user; the password is read from
//	                              $WEIR_KAFKA_PASSWORD, never from the table
//
// The security options are those of a kafka:// URL (kafka.ParseURL), which
// reads them. The source reads every partition of the topic, with the
// table's watermark per partition. A record that does not decode is a
// dead letter of the source with its reason. The sink is append-only: an
// updating query is refused; it writes the format's encoding as the
// record's value, without a key.
type Kafka struct{}

// Connector implements table.Factory.
func (Kafka) Connector() string { return "kafka" }

// Options implements table.Factory.
func (Kafka) Options() table.OptionSpec {
	return table.OptionSpec{
		Required: []string{"topic", "properties.bootstrap.servers"},
		Optional: []string{"properties.group.id", "scan.startup.mode", "scan.bounded.mode",
			"sink.delivery-guarantee", "sink.transactional-id-prefix",
			"security.tls", "security.ca", "security.tls-server-name", "security.sasl", "security.user"},
		Format: true,
	}
}

// client returns the Kafka client and topic the table's options describe,
// reading them as a kafka:// URL so that TLS and SASL mean what they mean
// in the URLs of every weir command.
func kafkaClient(o table.Options) (kafka.Client, string, error) {
	q := url.Values{}
	for _, k := range []string{"tls", "ca", "tls-server-name", "sasl"} {
		if v, ok := o.Lookup("security." + k); ok {
			q.Set(k, v)
		}
	}
	topic := o.String("topic", "")
	u := url.URL{Scheme: "kafka", Host: o.String("properties.bootstrap.servers", ""), Path: "/" + topic, RawQuery: q.Encode()}
	if user, ok := o.Lookup("security.user"); ok {
		u.User = url.User(user)
	}
	parsed, err := kafka.ParseURL(u.String())
	if err != nil {
		return kafka.Client{}, "", fmt.Errorf("table %s: options 'properties.bootstrap.servers', 'topic' and 'security.*' (read as the URL parameters of the same names): %w", o.Table(), err)
	}
	return parsed.Client, topic, nil
}

// Scan implements table.ScanFactory.
func (Kafka) Scan(c table.ScanContext) (table.Scan, error) {
	dec, err := c.Decoder("")
	if err != nil {
		return table.Scan{}, err
	}
	client, topic, err := kafkaClient(c.Options)
	if err != nil {
		return table.Scan{}, err
	}
	var opts []kafka.SourceOption
	group, hasGroup := c.Options.Lookup("properties.group.id")
	if hasGroup {
		opts = append(opts, kafka.Group(group))
	}
	mode := c.Options.String("scan.startup.mode", "")
	if mode == "" {
		mode = "earliest-offset"
		if hasGroup {
			mode = "group-offsets"
		}
	}
	switch mode {
	case "earliest-offset":
		opts = append(opts, kafka.Start(kafka.Earliest()))
	case "latest-offset":
		opts = append(opts, kafka.Start(kafka.Latest()))
	case "group-offsets":
		if !hasGroup {
			return table.Scan{}, fmt.Errorf("table %s: option 'scan.startup.mode' is 'group-offsets' but the table sets no 'properties.group.id': add it, or start from 'earliest-offset'", c.Table)
		}
		opts = append(opts, kafka.Start(kafka.Committed()))
	default:
		return table.Scan{}, fmt.Errorf("table %s: option 'scan.startup.mode' is '%s': use earliest-offset, latest-offset or group-offsets", c.Table, mode)
	}
	switch b := c.Options.String("scan.bounded.mode", "unbounded"); b {
	case "unbounded":
	case "latest-offset":
		opts = append(opts, kafka.Bounded())
	default:
		return table.Scan{}, fmt.Errorf("table %s: option 'scan.bounded.mode' is '%s': use unbounded or latest-offset", c.Table, b)
	}
	src, err := kafka.NewSource(client, kafka.Topics(topic), func(r *kgo.Record) (types.Row, error) { return dec(r.Value) }, opts...)
	if err != nil {
		return table.Scan{}, fmt.Errorf("table %s: %w", c.Table, err)
	}
	return table.AddSource(c, src), nil
}

// Sink implements table.SinkFactory.
func (Kafka) Sink(c table.SinkContext, rows weir.Stream[types.Row]) error {
	if err := refuseUpdates(c, "kafka", "write it to a table with 'connector' = 'redis' (upserts by PRIMARY KEY) or 'print', or make the query append-only (a window aggregate instead of a plain GROUP BY)"); err != nil {
		return err
	}
	enc, err := c.Encoder("")
	if err != nil {
		return err
	}
	client, topic, err := kafkaClient(c.Options)
	if err != nil {
		return err
	}
	var opts []kafka.SinkOption
	switch g := strings.ToLower(c.Options.String("sink.delivery-guarantee", "at-least-once")); g {
	case "exactly-once":
		opts = append(opts, kafka.Delivery(kafka.ExactlyOnce))
	case "at-least-once":
		opts = append(opts, kafka.Delivery(kafka.AtLeastOnce))
	case "none":
		opts = append(opts, kafka.Delivery(kafka.DeliveryNone))
	default:
		return fmt.Errorf("table %s: option 'sink.delivery-guarantee' is '%s': use exactly-once, at-least-once or none", c.Table, g)
	}
	if p, ok := c.Options.Lookup("sink.transactional-id-prefix"); ok {
		opts = append(opts, kafka.TransactionalIDPrefix(p))
	}
	snk, err := kafka.NewSink(client, topic, func(r types.Row) (*kgo.Record, error) {
		return &kgo.Record{Value: enc(nil, r)}, nil
	}, opts...)
	if err != nil {
		return fmt.Errorf("table %s: %w", c.Table, err)
	}
	weir.SinkTo(rows, snk, c.OpOptions("sink")...)
	return nil
}
