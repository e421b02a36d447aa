package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirstream/weir/app/pvuv/dashboard"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/connector/redis"
	"github.com/weirstream/weir/web"
)

const dashboardAbout = `Serves the PV/UV dashboard over the results a weir pvuv job writes to Redis
(--sink redis://...): per-window PV and UV charts, the running minute, top
pages and counters, and the JSON API they use (/api/pvuv, /api/pages,
/api/live). Ctrl-C stops it.`

func runDashboard(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir dashboard", "weir dashboard --redis redis://HOST:PORT/DB [flags]", dashboardAbout,
		"Example:\n  weir dashboard --redis redis://127.0.0.1:6379/0 --http 127.0.0.1:8080")
	redisURL := f.string("redis", "", "URL", "the Redis the job writes to: redis://HOST:PORT/DB")
	prefix := f.string("prefix", "", "PREFIX", "the key prefix the job writes under (default weir:pvuv)")
	hf := addHTTPFlags(f, "127.0.0.1:8080", "address to serve on")
	lf := addLogFlags(f)
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	hf.check(f)
	lf.check(f)
	if _, err := redis.ParseURL(*redisURL); err != nil {
		f.problem("redis", "%v", err)
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	board, err := dashboard.New(dashboard.Config{RedisURL: *redisURL, Prefix: *prefix, Logger: lf.logger(stderr)})
	if err != nil {
		fmt.Fprintf(stderr, "weir dashboard: %v\n", err)
		return exitUsage
	}
	defer board.Close()
	hf.warn(stderr, "weir dashboard")
	ln, base, err := hf.listen()
	if err != nil {
		fmt.Fprintf(stderr, "weir dashboard: --http: %v\n", err)
		return exitFail
	}
	srv := newHTTPServer(web.Guard(board, *hf.token))
	fmt.Fprintf(stdout, "weir dashboard: %s/ (Ctrl-C stops)\n", base)
	if *hf.token != "" {
		fmt.Fprintf(stdout, "weir dashboard: open it once as %s/?token=TOKEN, with the --http-token\n", base)
	}
	go func() {
		<-ctx.Done()
		board.Close() // ends the live streams, so Shutdown does not wait for them
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "weir dashboard: %v\n", err)
		return exitFail
	}
	return exitOK
}

const consumeAbout = `Prints the records of a Kafka topic, one value per line, from the start,
with read_committed isolation: what a weir job committed with exactly-once
delivery, and nothing of a transaction it aborted. It follows the topic
until Ctrl-C, or exits after --idle without new records; it fails (exit 1)
when the brokers refuse its TLS handshake or its login.`

func runConsume(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f := newFlagSet("weir consume", "weir consume --topic kafka://HOST:PORT/TOPIC [flags]", consumeAbout,
		kafkaConnHelp+"\n\nExample:\n  weir consume --topic kafka://127.0.0.1:9092/pvuv")
	topicFlag := f.url("topic", "", "the topic: kafka://HOST:PORT[,HOST:PORT]/TOPIC, with ?tls=true,\nca=FILE, sasl=... for a cluster that needs them (below)")
	idle := f.duration("idle", 0, "exit after this long without a new record; 0 follows the topic until Ctrl-C")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	var client kafka.Client
	var topic string
	if *topicFlag == "" {
		f.problem("topic", "missing; give the topic, as in --topic kafka://127.0.0.1:9092/pvuv")
	} else {
		client, topic = parseKafkaTopicFlag(f, "topic", *topicFlag, "kafka://127.0.0.1:9092/pvuv")
	}
	if code, ok := f.check(stderr); !ok {
		return code
	}
	client.ClientID = "weir-consume"
	fetched := &firstFetch{done: make(chan struct{})}
	opts := append(client.Opts(), kgo.ConsumeTopics(topic), kgo.WithHooks(fetched),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if *idle > 0 {
		// A fetch of a topic without new records is answered after this
		// wait: keep it within --idle, so that the first answer (from
		// which the idle time counts) comes in time.
		opts = append(opts, kgo.FetchMaxWait(min(max(*idle/2, 10*time.Millisecond), 5*time.Second)))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "weir consume: %v\n", err)
		return exitFail
	}
	defer cl.Close()
	// The consumer retries a refused login or TLS handshake without end,
	// printing nothing: ask for the topic's metadata beside it, which
	// fails on them at once, and stop.
	// --idle counts from that answer and the consumer's first fetch
	// answer: a consumer still connecting (a slow TLS handshake or login,
	// a loaded machine) or still finding its offsets has not gone without
	// records yet.
	refused := make(chan error, 1)
	answered := make(chan struct{})
	checkCtx, stopCheck := context.WithCancel(ctx)
	var checking sync.WaitGroup
	defer checking.Wait()
	defer stopCheck()
	checking.Go(func() {
		if _, err := kadm.NewClient(cl).Metadata(checkCtx, topic); err != nil {
			if hint, ok := kafkaConnHint(err); ok {
				refused <- fmt.Errorf("connect to the brokers at %v: %w; %s", client.Brokers, err, hint)
				return
			}
		}
		select {
		case <-fetched.done:
			close(answered)
		case <-checkCtx.Done():
		}
	})
	last := time.Now()
	for ctx.Err() == nil {
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		select {
		case err := <-refused:
			fmt.Fprintf(stderr, "weir consume: %v\n", err)
			return exitFail
		case <-answered:
			answered = nil // idle time counts from now on
			last = time.Now()
		default:
		}
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			n++
			stdout.Write(append(r.Value, '\n'))
		})
		if n > 0 {
			last = time.Now()
		} else if *idle > 0 && answered == nil && time.Since(last) >= *idle {
			return exitOK
		}
	}
	return exitOK
}

// firstFetch is a kgo hook that closes done when the client reads its first
// answer to a fetch request: from then on the consumer is reading.
type firstFetch struct {
	once sync.Once
	done chan struct{}
}

// OnBrokerRead implements kgo.HookBrokerRead.
func (f *firstFetch) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if key == int16(kmsg.Fetch) && err == nil {
		f.once.Do(func() { close(f.done) })
	}
}
