// Package kafka reads from and writes to Apache Kafka, with franz-go.
//
// # Source
//
// [NewSource] reads topics, named by [Topics] or matched by [TopicPattern],
// as Flink's KafkaSource does:
//
//	cluster := kafka.Client{Brokers: []string{"localhost:9092"}}
//	src, err := kafka.NewSource(cluster, kafka.Topics("access-log"), kafka.StringValue,
//		kafka.Group("pvuv")) // offsets committed here, for lag monitoring
//	lines := weir.FromSource(env, src)
//
// The cluster, the topics and the deserializer are arguments; everything
// else is an option with a default ([SourceOption], [SinkOption]).
//
// The model:
//
//  1. A split is one partition (Split), with the offset of the next record
//     to read and, for a bounded source, the offset at which it stops.
//  2. The enumerator finds the partitions when the job starts, works out
//     where each starts ([Start]) and stops, and gives each to one reader:
//     partition p of topic t goes to subtask (hash(t) + p) mod
//     parallelism, the same at every start. An unbounded source looks for
//     new partitions and topics every DiscoveryInterval and reads them
//     from their earliest offset.
//  3. Each reader consumes its partitions with its own client, at exact
//     offsets, without joining a consumer group, with the read_committed
//     isolation level: a record of a transaction is read only once the
//     transaction commits, and never if it aborts.
//  4. Records are emitted with their Kafka timestamp as event time,
//     through the output of their partition, so that
//     weir.FromSourceWithWatermarks keeps one watermark per partition.
//  5. A record the deserializer rejects goes to the job's dead letters
//     (weir.SourceDeadLetters) with its partition, offset and the error,
//     and is counted (Source.DeadLetters); it never stops the job.
//  6. With checkpoints, the offsets are part of each checkpoint, so a
//     restored job reads every record exactly once into its state; when a
//     checkpoint completes, the readers commit its offsets to the Group,
//     for lag tools and for jobs that start from Committed(). Without
//     checkpoints they commit every CommitInterval instead.
//  7. A bounded source reads each partition up to the last stable offset
//     it had when the job started; when every partition is finished the
//     job ends. A checkpoint remembers which partitions were finished, so
//     that a restore does not read them again.
//
// The stored form of a split is versioned: see split.go.
//
// # Sink
//
// [NewSink] writes to one topic the record a serializer makes of each
// value, in one Kafka transaction per checkpoint by default (see [Sink]):
//
//	out, err := kafka.NewSink(cluster, "pvuv", func(r Result) (*kgo.Record, error) {
//		return &kgo.Record{Key: r.Key(), Value: r.AppendJSON(nil)}, nil
//	}, kafka.TransactionalIDPrefix("pvuv-job"))
//
// # URLs
//
// [ParseURL] reads the kafka://USER@HOST:PORT/TOPIC?tls=true&sasl=...
// URLs that weir's command line takes, into a [Client], the topic and the
// parameters left for the program, so that every program that takes such
// a URL reads it the same way.
package kafka
