package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/weirstream/weir/connector/kafka/kafkatest"
)

const kafkaAbout = `Runs an in-process Kafka-protocol broker (franz-go's kfake) on a loopback
port, for the demo and for trying weir without a Kafka cluster. Any Kafka
client can produce to it and consume from it; it supports transactions,
consumer groups and read_committed. Data lives in memory unless --data-dir
is given. Topics are created on first use with --partitions partitions.

Ctrl-C (SIGINT) or SIGTERM stops it.`

const kafkaFooter = `Example, in three terminals:
  weir kafka --listen 127.0.0.1:9092 --topics access,pvuv
  weir ship --logs '/var/log/nginx/access*.log' --to kafka://127.0.0.1:9092/access
  weir pvuv --source 'kafka://127.0.0.1:9092/access?group=pvuv' \
            --sink kafka://127.0.0.1:9092/pvuv --checkpoint-dir /tmp/weir-ckpt`

func runKafka(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir kafka", "weir kafka [flags]", kafkaAbout, kafkaFooter)
	listen := f.string("listen", "127.0.0.1:9092", "ADDR", "address to listen on (host:port; port 0 picks a free one)")
	partitions := f.int64("partitions", 4, "partitions of each topic it creates")
	topics := f.string("topics", "", "LIST", "comma-separated topics to create at start")
	dataDir := f.string("data-dir", "", "DIR", "keep the broker's data in this directory across restarts\n(default: in memory)")
	minSession := f.duration("group-min-session-timeout", 6*time.Second, "the shortest session timeout a consumer group member may ask for\n(Kafka's group.min.session.timeout.ms); lower it for a weir\ncluster with a shorter --session-timeout")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	host, portStr, err := net.SplitHostPort(*listen)
	port, perr := strconv.Atoi(portStr)
	switch {
	case err != nil || perr != nil:
		f.problem("listen", "%q is not host:port; write 127.0.0.1:9092", *listen)
	case host != "127.0.0.1" && host != "localhost" && host != "":
		f.problem("listen", "the embedded broker listens on loopback only; write 127.0.0.1:%d", port)
	}
	if *partitions < 1 || *partitions > 1000 {
		f.problem("partitions", "%d is not between 1 and 1000", *partitions)
	}
	if *minSession < time.Millisecond {
		f.problem("group-min-session-timeout", "%v is too short: write a duration such as 1s", *minSession)
	}
	var names []string
	for t := range strings.SplitSeq(*topics, ",") {
		if t = strings.TrimSpace(t); t != "" {
			names = append(names, t)
		}
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	b, err := kafkatest.Start(kafkatest.Config{Port: port, Partitions: int(*partitions), Topics: names, DataDir: *dataDir, MinSessionTimeout: *minSession})
	if err != nil {
		fmt.Fprintf(stderr, "weir kafka: %v\n", err)
		return exitFail
	}
	defer b.Close()
	fmt.Fprintf(stdout, "weir kafka: broker on %s (%d partitions per topic); Ctrl-C stops it\n", b.Addr(), *partitions)
	<-ctx.Done()
	fmt.Fprintln(stderr, "weir kafka: stopped")
	return exitOK
}
