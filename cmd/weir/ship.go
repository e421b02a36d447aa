package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/weirstream/weir/app/ship"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/internal/progress"
)

const shipAbout = `Ships access logs to Kafka, as Flume's taildir source does: follows the
files that match --logs as they grow and rotate, and produces each line to
the topic of --to, one record per line. It remembers how far it read each
file in a positions topic (TOPIC.positions), written in the same Kafka
transaction as the lines: a shipper stopped or killed at any moment and
started again neither loses nor repeats a line.

Progress goes to stderr every few seconds. Ctrl-C (SIGINT) or SIGTERM stops
it after it committed what it read.`

const shipFooter = kafkaConnHelp + `

Example:
  weir ship --logs '/var/log/nginx/access*.log' --to kafka://127.0.0.1:9092/access

Exit status: 0 when stopped, 1 when it fails (another shipper with the same
--id took over, Kafka unreachable), 2 on a usage error.`

func runShip(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir ship", "weir ship --logs GLOB --to kafka://HOST:PORT/TOPIC [flags]", shipAbout, shipFooter)
	logs := f.string("logs", "", "GLOB", "the logs to follow: a path or a glob, such as '/var/log/nginx/access*.log'")
	to := f.url("to", "", "the topic to produce to: kafka://HOST:PORT[,HOST:PORT]/TOPIC, with\n?tls=true, ca=FILE, sasl=... for a cluster that needs them (below)")
	id := f.string("id", "", "ID", "the shipper's transactional id; keep it across restarts, and give\neach host its own (default weir-ship-TOPIC)")
	atEnd := f.bool("start-at-end", "files the shipper has not seen before start at their end: skip the\nbacklog on a first start")
	lf := addLogFlags(f)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	lf.check(f)
	if *logs == "" {
		f.problem("logs", "missing; give the logs to follow, such as --logs '/var/log/nginx/access*.log'")
	}
	var client kafka.Client
	var topic string
	if *to == "" {
		f.problem("to", "missing; give the topic, such as --to kafka://127.0.0.1:9092/access")
	} else {
		client, topic = parseKafkaTopicFlag(f, "to", *to, "kafka://127.0.0.1:9092/access")
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	client.ClientID = "weir-ship"
	brokers := client.Brokers
	cfg := ship.Config{
		Client:  client,
		Pattern: *logs, Topic: topic, TransactionalID: *id, StartAtEnd: *atEnd,
		Logger: lf.logger(stderr),
	}
	s, err := ship.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "weir ship: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stdout, "weir ship: shipping %s to %s on %v; Ctrl-C stops\n", *logs, topic, brokers)
	err = s.Run(ctx)
	st := s.Stats()
	fmt.Fprintf(stderr, "weir ship: stopped: %s (%s) in %s, %d files followed, %s behind\n",
		progress.Plural(st.Lines, "line"), mib(st.Bytes), progress.Plural(st.Transactions, "transaction"), st.Files, mib(st.LagBytes))
	if err != nil && !errors.Is(err, context.Canceled) {
		printFailure(stderr, "weir ship", err)
		return exitFail
	}
	return exitOK
}

// mib writes a byte count in MiB for people.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
