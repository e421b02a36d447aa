package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	rt "runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/connector/datagen"
	"github.com/weirstream/weir/connector/kafka"
	"github.com/weirstream/weir/connector/kafka/kafkatest"
	"github.com/weirstream/weir/sink"
)

// TargetKafka is the least throughput of a weir pass-through job reading
// Kafka at parallelism 1, as a share of a bare franz-go consumer's.
const TargetKafka = 0.90

// Defaults and limits of KafkaConfig.
const (
	DefaultKafkaRecords     = 1_000_000
	DefaultKafkaRecordBytes = 200
	DefaultKafkaPartitions  = 4
	DefaultKafkaRuns        = 3
	// MaxKafkaRecordBytes is the largest KafkaConfig.RecordBytes: a
	// record must fit in one produce batch of franz-go's default size.
	MaxKafkaRecordBytes = 512 << 10
)

// kafkaTopic is the topic the benchmark writes and reads.
const kafkaTopic = "weir-bench-kafka"

// kafkaDistinctValues bounds the distinct values the benchmark produces;
// records beyond it reuse them in turn.
const kafkaDistinctValues = 4096

// KafkaConfig configures KafkaBench. Zero values take the documented
// defaults.
type KafkaConfig struct {
	// Records is the number of records in the topic, which every run reads
	// in full. Default DefaultKafkaRecords (1,000,000).
	Records int64
	// RecordBytes is the size of each record's value: datagen access-log
	// lines, one after another, cut to this size. Default
	// DefaultKafkaRecordBytes (200); at most MaxKafkaRecordBytes.
	RecordBytes int
	// Partitions is the number of partitions of the topic; the records are
	// spread evenly over them. Default DefaultKafkaPartitions (4).
	Partitions int
	// Runs is how many times each program runs; the best throughput of
	// each counts. Runs alternate the order of the programs, so that none
	// always runs first. Default DefaultKafkaRuns (3).
	Runs int
	// P2 adds a run of the weir job at parallelism 2 (two readers, each
	// with its own client and half of the partitions). It has no target.
	P2 bool
	// CPUProfile, when set, is a path prefix: each run writes a CPU
	// profile of the whole process to CPUProfile-SIDE-RUN.pprof, SIDE
	// being bare, p1 or p2 and RUN counting from 1. Give go tool pprof
	// the files of one side together to add up its runs.
	CPUProfile string
}

func (c KafkaConfig) withDefaults() KafkaConfig {
	if c.Records == 0 {
		c.Records = DefaultKafkaRecords
	}
	if c.RecordBytes == 0 {
		c.RecordBytes = DefaultKafkaRecordBytes
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultKafkaPartitions
	}
	if c.Runs == 0 {
		c.Runs = DefaultKafkaRuns
	}
	return c
}

// Validate reports every problem with c, each naming the field.
func (c KafkaConfig) Validate() error {
	var errs []error
	if c.Records < 0 {
		errs = append(errs, fmt.Errorf("bench: Records is %d; pass a positive number of records, or 0 for %d", c.Records, DefaultKafkaRecords))
	}
	if c.RecordBytes < 0 || c.RecordBytes > MaxKafkaRecordBytes {
		errs = append(errs, fmt.Errorf("bench: RecordBytes is %d; pass a size from 1 to %d bytes, or 0 for %d", c.RecordBytes, MaxKafkaRecordBytes, DefaultKafkaRecordBytes))
	}
	if c.Partitions < 0 {
		errs = append(errs, fmt.Errorf("bench: Partitions is %d; pass a positive number, or 0 for %d", c.Partitions, DefaultKafkaPartitions))
	}
	if c.Runs < 0 {
		errs = append(errs, fmt.Errorf("bench: Runs is %d; pass a positive number, or 0 for %d", c.Runs, DefaultKafkaRuns))
	}
	return errors.Join(errs...)
}

// KafkaRun is the best of the runs of one program.
type KafkaRun struct {
	Name        string // "bare franz-go", "weir p1", "weir p2"
	Parallelism int    // 0 for the bare consumer
	Records     int64  // records read
	Bytes       int64  // bytes of the records' values read
	// Wall is the wall time of the best run: from creating the client (or
	// the job) until it is closed (or the job has finished).
	Wall          time.Duration
	RecordsPerSec float64 // Records / Wall
	MBPerSec      float64 // Bytes / Wall, in 10^6 bytes per second
	// Cores is the CPU time of the best run (user and system, the whole
	// process, the in-process broker included) over its wall time.
	Cores float64
	// CPUPerRecord is the CPU time of the best run over Records, in
	// nanoseconds: less sensitive than the throughput to other programs
	// that share the machine.
	CPUPerRecord float64
	// MedianWall is the median wall time of all the runs: on a machine
	// that other programs keep busy it moves less from one benchmark to
	// the next than the best run does.
	MedianWall time.Duration

	walls []float64 // each run's wall time, in nanoseconds
}

// KafkaReport is the outcome of KafkaBench.
type KafkaReport struct {
	Config KafkaConfig // effective
	// GOMAXPROCS is runtime.GOMAXPROCS during the run: the cores the
	// broker, the clients and weir shared.
	GOMAXPROCS int
	// Produce is how long writing the records to the topic took.
	Produce time.Duration
	// Warmup is how long the untimed read of the whole topic took that
	// precedes the runs. The first read after producing is slower than
	// every later one (the broker's and the process's memory is fresh), so
	// the side that ran first would be measured at a disadvantage.
	Warmup time.Duration
	// Bare is the baseline: a franz-go client that consumes the topic's
	// partitions directly, read_committed, from the start, and adds up the
	// records and the lengths of their values.
	Bare KafkaRun
	// P1 is the weir job at parallelism 1: the bounded Kafka source into a
	// sink whose writers add up the records and the lengths of their
	// values. P2 is the same job at parallelism 2, when Config.P2 is set.
	P1, P2 KafkaRun
	// Ratio is P1's throughput over Bare's; Met whether it reaches
	// TargetKafka. P2Ratio is P2's over Bare's, for information.
	Ratio, P2Ratio float64
	Met            bool
	// CPURatio is Bare's CPUPerRecord over P1's: the share of the
	// baseline's throughput that weir would reach if CPU time alone set
	// it. For information; it has no target.
	CPURatio float64
	// MedianRatio is Bare's MedianWall over P1's: P1's throughput over
	// Bare's in their median runs. For information; it has no target.
	MedianRatio float64
}

// KafkaBench measures what weir costs over a bare Kafka consumer. It
// starts an in-process broker (kafkatest, reached over TCP with the
// franz-go client), writes Config.Records records of Config.RecordBytes
// bytes to a topic of Config.Partitions partitions, uncompressed, then
// reads the whole topic once untimed (the first read is the slowest), then
// Config.Runs times with each program, alternating their order: the bare
// franz-go consumer, and the weir job that passes each record from the
// bounded Kafka source to a counting sink at parallelism 1 (and 2, with
// Config.P2). Both read with read_committed isolation, decode every record
// and add up the lengths of the values. It checks that every run read
// every record and byte.
//
// It returns an error when the configuration is invalid, the broker
// fails, a run fails or misses records, or ctx ends; a missed target is
// reported in the report, not as an error. Print writes the report.
func KafkaBench(ctx context.Context, cfg KafkaConfig) (KafkaReport, error) {
	if err := cfg.Validate(); err != nil {
		return KafkaReport{}, err
	}
	cfg = cfg.withDefaults()
	rep := KafkaReport{Config: cfg, GOMAXPROCS: rt.GOMAXPROCS(0)}
	start := time.Now()
	in, err := startKafkaInput(ctx, cfg.Records, cfg.RecordBytes, cfg.Partitions)
	if err != nil {
		return rep, err
	}
	defer in.close()
	rep.Produce = time.Since(start)
	start = time.Now()
	if _, err := runKafkaBare(ctx, in); err != nil {
		return rep, fmt.Errorf("bench: the warm-up read: %w", err)
	}
	rep.Warmup = time.Since(start)

	rep.Bare = KafkaRun{Name: "bare franz-go"}
	rep.P1 = KafkaRun{Name: "weir p1", Parallelism: 1}
	rep.P2 = KafkaRun{Name: "weir p2", Parallelism: 2}
	runs := []*KafkaRun{&rep.Bare, &rep.P1}
	if cfg.P2 {
		runs = append(runs, &rep.P2)
	}
	for i := range cfg.Runs {
		order := slices.Clone(runs)
		if i%2 == 1 {
			slices.Reverse(order)
		}
		for _, r := range order {
			rt.GC()
			stop, err := startKafkaProfile(cfg.CPUProfile, r.Parallelism, i+1)
			if err != nil {
				return rep, err
			}
			cpu0 := CPUTime()
			var got KafkaRun
			if r.Parallelism == 0 {
				got, err = runKafkaBare(ctx, in)
			} else {
				got, err = runKafkaWeir(ctx, in, r.Parallelism)
			}
			cpu := CPUTime() - cpu0
			if serr := stop(); err == nil {
				err = serr
			}
			if err != nil {
				return rep, err
			}
			r.best(got, cpu)
		}
	}
	if rep.Bare.RecordsPerSec > 0 {
		rep.Ratio = rep.P1.RecordsPerSec / rep.Bare.RecordsPerSec
		rep.P2Ratio = rep.P2.RecordsPerSec / rep.Bare.RecordsPerSec
	}
	rep.Met = rep.Ratio >= TargetKafka
	for _, r := range runs {
		r.MedianWall = time.Duration(median(r.walls))
	}
	if rep.P1.MedianWall > 0 {
		rep.MedianRatio = rep.Bare.MedianWall.Seconds() / rep.P1.MedianWall.Seconds()
	}
	if rep.P1.CPUPerRecord > 0 {
		rep.CPURatio = rep.Bare.CPUPerRecord / rep.P1.CPUPerRecord
	}
	return rep, nil
}

// startKafkaProfile starts the CPU profile of run number run of the side
// of the given parallelism (0 for the bare consumer) when prefix is set,
// and returns the function that stops it and closes its file.
func startKafkaProfile(prefix string, parallelism, run int) (stop func() error, err error) {
	if prefix == "" {
		return func() error { return nil }, nil
	}
	side := "bare"
	if parallelism > 0 {
		side = fmt.Sprintf("p%d", parallelism)
	}
	name := fmt.Sprintf("%s-%s-%d.pprof", prefix, side, run)
	f, err := os.Create(name)
	if err != nil {
		return nil, fmt.Errorf("bench: CPUProfile: %w; pass a path prefix in a directory that exists and can be written", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("bench: CPUProfile: start the profile %s: %w; is another CPU profile running in this process?", name, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			return fmt.Errorf("bench: CPUProfile: write %s: %w", name, err)
		}
		return nil
	}, nil
}

// best notes got's wall time, and keeps got when it is the first run or
// faster than r.
func (r *KafkaRun) best(got KafkaRun, cpu time.Duration) {
	r.walls = append(r.walls, float64(got.Wall))
	if r.Wall != 0 && got.Wall >= r.Wall {
		return
	}
	r.Records, r.Bytes, r.Wall = got.Records, got.Bytes, got.Wall
	r.RecordsPerSec = got.RecordsPerSec
	r.MBPerSec = got.MBPerSec
	r.Cores = cpu.Seconds() / got.Wall.Seconds()
	r.CPUPerRecord = float64(cpu.Nanoseconds()) / max(float64(got.Records), 1)
}

// Print writes the figures, the ratio and whether the target is met.
func (r KafkaReport) Print(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "weir bench kafka: %s records of %d bytes in %d partitions (uncompressed), in-process broker over TCP, read_committed\n",
		count(c.Records), c.RecordBytes, c.Partitions)
	fmt.Fprintf(w, "best of %d runs each, alternating the order, after an untimed read; GOMAXPROCS %d; produced in %v, read untimed in %v\n\n",
		c.Runs, r.GOMAXPROCS, r.Produce.Round(time.Millisecond), r.Warmup.Round(time.Millisecond))
	fmt.Fprintf(w, "%-14s %12s %8s %6s %10s %10s %10s\n", "run", "records/s", "MB/s", "cores", "CPU/record", "vs bare", "wall")
	rows := []KafkaRun{r.Bare, r.P1}
	if c.P2 {
		rows = append(rows, r.P2)
	}
	for _, run := range rows {
		fmt.Fprintf(w, "%-14s %12s %8.1f %6.2f %8.0fns %10.3f %10v\n", run.Name, count(int64(run.RecordsPerSec)), run.MBPerSec, run.Cores,
			run.CPUPerRecord, run.RecordsPerSec/max(r.Bare.RecordsPerSec, 1e-9), run.Wall.Round(time.Millisecond))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%-16s %8.3f   target >= %.2f   %s\n", "weir p1 / bare", r.Ratio, TargetKafka, passMiss(r.Met))
	fmt.Fprintf(w, "%-16s %8.3f   (median runs, for information: steadier than the best on a busy machine)\n", "  median runs", r.MedianRatio)
	fmt.Fprintln(w, "(cores and CPU/record: CPU time of the whole process, the broker included, over wall time and over records;")
	fmt.Fprintf(w, " CPU/record, bare over weir p1: %.3f, which other programs on the machine sway less than records/s)\n", r.CPURatio)
}

// kafkaInput is a running broker with a topic that holds the benchmark's
// records.
type kafkaInput struct {
	broker     *kafkatest.Broker
	topic      string
	partitions int
	records    int64
	bytes      int64
}

// startKafkaInput starts a broker and writes records values of
// recordBytes bytes to a new topic of partitions partitions, round robin.
func startKafkaInput(ctx context.Context, records int64, recordBytes, partitions int) (*kafkaInput, error) {
	b, err := kafkatest.Start(kafkatest.Config{})
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	in := &kafkaInput{broker: b, topic: kafkaTopic, partitions: partitions, records: records, bytes: records * int64(recordBytes)}
	if err := b.CreateTopic(ctx, in.topic, int32(partitions)); err != nil {
		b.Close()
		return nil, fmt.Errorf("bench: %w", err)
	}
	if err := in.produce(ctx, recordBytes); err != nil {
		b.Close()
		return nil, err
	}
	return in, nil
}

func (in *kafkaInput) close() { in.broker.Close() }

// produce writes in.records records to in.topic, in batches that linger,
// and waits until the broker has acknowledged every one.
func (in *kafkaInput) produce(ctx context.Context, recordBytes int) error {
	values, err := kafkaValues(int(min(in.records, kafkaDistinctValues)), recordBytes)
	if err != nil {
		return err
	}
	cl, err := in.broker.NewClient(
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(100_000),
	)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	defer cl.Close()
	var mu sync.Mutex
	var perr error
	done := func(_ *kgo.Record, err error) {
		if err != nil {
			mu.Lock()
			if perr == nil {
				perr = err
			}
			mu.Unlock()
		}
	}
	for i := range in.records {
		if i%kafkaDistinctValues == 0 && ctx.Err() != nil {
			break
		}
		cl.Produce(ctx, &kgo.Record{Topic: in.topic, Partition: int32(i % int64(in.partitions)), Value: values[i%int64(len(values))]}, done)
	}
	if err := cl.Flush(ctx); err != nil {
		return fmt.Errorf("bench: produce the records: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if perr != nil {
		return fmt.Errorf("bench: produce the records: %w", perr)
	}
	return nil
}

// kafkaValues returns n values of size bytes each: datagen access-log
// lines, separated by newlines, cut to size.
func kafkaValues(n, size int) ([][]byte, error) {
	g, err := datagen.New(datagen.BadLineRatio(0))
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	values := make([][]byte, n)
	var line []byte
	for i := range values {
		v := make([]byte, 0, size+512)
		for len(v) < size {
			if len(v) > 0 {
				v = append(v, '\n')
			}
			line, _ = g.Next(line[:0])
			v = append(v, line...)
		}
		values[i] = v[:size:size]
	}
	return values, nil
}

// runKafkaBare reads the whole topic of in with a franz-go client of its
// own, consuming every partition directly from its start with
// read_committed isolation, and adds up the records and the lengths of
// their values until it has them all.
func runKafkaBare(ctx context.Context, in *kafkaInput) (KafkaRun, error) {
	run := KafkaRun{Name: "bare franz-go"}
	start := time.Now()
	parts := make(map[int32]kgo.Offset, in.partitions)
	for p := range in.partitions {
		parts[int32(p)] = kgo.NewOffset().AtStart()
	}
	// The fetch options of the weir source's reader, so that both sides
	// ask the broker for the same: read_committed, control records kept
	// (and skipped here, as the reader skips them), 500 ms fetch wait.
	cl, err := in.broker.NewClient(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{in.topic: parts}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return run, fmt.Errorf("bench: bare consumer: %w", err)
	}
	var records, size int64
	for records < in.records {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			cl.Close()
			return run, fmt.Errorf("bench: bare consumer: %w", err)
		}
		for i := range fetches {
			for j := range fetches[i].Topics {
				t := &fetches[i].Topics[j]
				for k := range t.Partitions {
					p := &t.Partitions[k]
					if p.Err != nil {
						cl.Close()
						return run, fmt.Errorf("bench: bare consumer: fetch %s/%d: %w", t.Topic, p.Partition, p.Err)
					}
					for _, r := range p.Records {
						if r.Attrs.IsControl() {
							continue
						}
						records++
						size += int64(len(r.Value))
					}
				}
			}
		}
	}
	cl.Close()
	run.Wall = time.Since(start)
	run.Records, run.Bytes = records, size
	run.RecordsPerSec = float64(records) / run.Wall.Seconds()
	run.MBPerSec = float64(size) / 1e6 / run.Wall.Seconds()
	if records != in.records || size != in.bytes {
		return run, fmt.Errorf("bench: bare consumer read %d records of %d bytes, want %d of %d", records, size, in.records, in.bytes)
	}
	return run, nil
}

// runKafkaWeir runs the pass-through job at the given parallelism: the
// bounded Kafka source of []byte values into a sink whose writers add up
// the records and the lengths of their values, as the bare consumer does.
func runKafkaWeir(ctx context.Context, in *kafkaInput, parallelism int) (KafkaRun, error) {
	name := fmt.Sprintf("weir p%d", parallelism)
	run := KafkaRun{Name: name, Parallelism: parallelism}
	start := time.Now()
	src, err := kafka.NewSource(kafka.Client{Brokers: []string{in.broker.Addr()}}, kafka.Topics(in.topic), kafka.BytesValue, kafka.Bounded())
	if err != nil {
		return run, fmt.Errorf("bench: %s: %w", name, err)
	}
	count := &countSink{}
	env := weir.NewEnv(weir.Parallelism(parallelism))
	weir.SinkTo(weir.FromSource(env, src, weir.Name("kafka")), count, weir.Name("count"))
	if err := env.Execute(ctx, "bench-kafka-p"+fmt.Sprint(parallelism)); err != nil {
		return run, fmt.Errorf("bench: %s: %w", name, err)
	}
	run.Wall = time.Since(start)
	run.Records, run.Bytes = count.records.Load(), count.bytes.Load()
	run.RecordsPerSec = float64(run.Records) / run.Wall.Seconds()
	run.MBPerSec = float64(run.Bytes) / 1e6 / run.Wall.Seconds()
	if run.Records != in.records || run.Bytes != in.bytes {
		return run, fmt.Errorf("bench: %s read %d records of %d bytes, want %d of %d", name, run.Records, run.Bytes, in.records, in.bytes)
	}
	return run, nil
}

// countSink adds up the records and the bytes of the values its writers
// get. Each writer counts in plain integers, as the bare consumer does,
// and adds them to the totals when it flushes (at the end of input).
type countSink struct {
	records, bytes atomic.Int64
}

func (s *countSink) NewWriter(sink.WriterContext) (sink.Writer[[]byte], error) {
	return &countWriter{s: s}, nil
}

type countWriter struct {
	s              *countSink
	records, bytes int64
}

func (w *countWriter) Write(_ context.Context, v []byte) error {
	w.records++
	w.bytes += int64(len(v))
	return nil
}

func (w *countWriter) Flush(context.Context) error {
	w.s.records.Add(w.records)
	w.s.bytes.Add(w.bytes)
	w.records, w.bytes = 0, 0
	return nil
}

func (w *countWriter) Close() error { return nil }
