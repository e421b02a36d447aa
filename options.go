package weir

import (
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/runtime"
)

// EnvOption configures an Env.
type EnvOption interface{ applyEnv(*config) }

// OpOption configures one operator.
type OpOption interface{ applyOp(*opConfig) }

// config holds the effective job settings; Validate reports every problem.
type config struct {
	parallelism       int
	maxParallelism    int
	bufferTimeout     time.Duration
	batchSize         int // 0: by the records' size (runtime.BatchBytes)
	batchSizeSet      bool
	channelCapacity   int
	watermarkInterval time.Duration
	checkpoint        checkpointConfig
	cluster           *ClusterConfig // nil: the job runs in this process only
	backend           string         // "heap" or "pebble"
	backendDir        string         // for pebble
	latencyInterval   time.Duration  // 0: no latency markers
	logger            *slog.Logger   // nil: slog.Default()
	loggerSet         bool           // WithLogger was given, nil or not
	unobserved        bool           // Observe(false)
}

func defaultConfig() config {
	return config{
		parallelism:       1,
		maxParallelism:    keygroup.DefaultMaxParallelism,
		bufferTimeout:     10 * time.Millisecond,
		batchSize:         0,
		channelCapacity:   4,
		watermarkInterval: 200 * time.Millisecond,
		latencyInterval:   DefaultLatencyTrackingInterval,
		backend:           "heap",
		checkpoint:        defaultCheckpointConfig(),
	}
}

func (c config) validate() error {
	var errs []error
	if err := keygroup.Validate(c.parallelism, c.maxParallelism); err != nil {
		errs = append(errs, fmt.Errorf("weir: Parallelism/MaxParallelism: %w", err))
	}
	if c.bufferTimeout < 0 {
		errs = append(errs, fmt.Errorf("weir: BufferTimeout %v is negative: use 0 to send every record at once, or a small duration such as 10ms", c.bufferTimeout))
	}
	if c.batchSize < 0 || (c.batchSizeSet && c.batchSize < 1) {
		errs = append(errs, fmt.Errorf("weir: BatchSize %d must be at least 1; leave it out to size batches by their records' size", c.batchSize))
	}
	if c.channelCapacity < 1 {
		errs = append(errs, fmt.Errorf("weir: ChannelCapacity %d must be at least 1", c.channelCapacity))
	}
	if c.watermarkInterval < time.Millisecond {
		errs = append(errs, fmt.Errorf("weir: WatermarkInterval %v must be at least 1ms", c.watermarkInterval))
	}
	if c.latencyInterval < 0 {
		errs = append(errs, fmt.Errorf("weir: LatencyTrackingInterval %v is negative: use 0 to turn latency markers off, or an interval such as 2s", c.latencyInterval))
	}
	if c.loggerSet && c.logger == nil {
		errs = append(errs, errors.New("weir: WithLogger(nil): pass a logger, or leave WithLogger out for slog.Default()"))
	}
	if c.checkpoint.on {
		if err := c.checkpoint.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := newBackend(c.backend, c.backendDir); err != nil {
		errs = append(errs, err)
	}
	if c.cluster != nil {
		if err := c.cluster.validate(c.checkpoint); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// String lists every effective setting, "name=value" each, in the words
// of the options that set them.
func (c config) String() string {
	var b strings.Builder
	batch := fmt.Sprintf("%dKiB", runtime.BatchBytes>>10)
	if c.batchSize > 0 {
		batch = strconv.Itoa(c.batchSize)
	}
	fmt.Fprintf(&b, "parallelism=%d max-parallelism=%d buffer-timeout=%v batch-size=%s channel-capacity=%d watermark-interval=%v latency-tracking-interval=%v state-backend=%s",
		c.parallelism, c.maxParallelism, c.bufferTimeout, batch, c.channelCapacity, c.watermarkInterval, c.latencyInterval, c.backend)
	if c.backendDir != "" {
		fmt.Fprintf(&b, " state-backend-dir=%s", c.backendDir)
	}
	cc := c.checkpoint
	if !cc.on {
		b.WriteString(" checkpoints=off")
		return b.String()
	}
	restore := cc.restore
	if restore == "" {
		restore = "latest"
	}
	fmt.Fprintf(&b, " checkpoints=%s checkpoint-interval=%v checkpoint-timeout=%v min-pause-between-checkpoints=%v retain-checkpoints=%d restore-from=%s restart=%s unaligned-checkpoints=%v allow-non-restored-state=%v",
		cc.location, cc.interval, cc.timeout, cc.minPause, cc.retain, restore, cc.restart, cc.unaligned, cc.allowNonRestored)
	return b.String()
}

type opConfig struct {
	kind        string // overrides the operator's kind (for operators built of others)
	name        string
	uid         string
	parallelism int
}

// Parallelism sets how many parallel subtasks run an operator. As an
// EnvOption it is the default of every operator (default 1); as an OpOption
// it overrides the default for one operator.
func Parallelism(n int) interface {
	EnvOption
	OpOption
} {
	return parallelismOption(n)
}

type parallelismOption int

func (p parallelismOption) applyEnv(c *config)  { c.parallelism = int(p) }
func (p parallelismOption) applyOp(o *opConfig) { o.parallelism = int(p) }

// kindOption sets the kind of an operator that is built of another
// (ProcessCo is a Process): its default name and UID say what it is.
type kindOption string

func (k kindOption) applyOp(o *opConfig) { o.kind = string(k) }

// Name names an operator in errors, metrics and plans. The default is the
// kind of operator and its position, such as "map-3". A name also serves
// as the operator's UID unless UID gives another.
func Name(name string) OpOption { return nameOption(name) }

type nameOption string

func (n nameOption) applyOp(o *opConfig) { o.name = string(n) }

// UID sets the id that identifies an operator's state in checkpoints and
// savepoints, as Flink's uid does: a restore gives each operator the
// state saved under its UID, so keep it when the job changes. The default
// is the operator's Name when one is given, otherwise a hash of its place
// in the job graph (its kind and inputs), which an operator added
// downstream or on another branch leaves alone but one inserted upstream
// changes. Give operators with state a UID (or a Name) before a job's
// first savepoint, and keep it.
func UID(id string) OpOption { return uidOption(id) }

type uidOption string

func (u uidOption) applyOp(o *opConfig) { o.uid = string(u) }

type envFunc func(*config)

func (f envFunc) applyEnv(c *config) { f(c) }

// MaxParallelism sets the number of key groups, the upper bound of any
// keyed operator's parallelism, fixed for the life of a job's state
// (default 128).
func MaxParallelism(n int) EnvOption { return envFunc(func(c *config) { c.maxParallelism = n }) }

// BufferTimeout sets how long a partial batch may wait before it is sent
// (default 10ms). 0 sends every record at once: lowest latency, lowest
// throughput.
func BufferTimeout(d time.Duration) EnvOption {
	return envFunc(func(c *config) { c.bufferTimeout = d })
}

// BatchSize sets the records per batch between subtasks. By default a
// batch holds about 32 KiB of records, 16 to 512 of them: a channel's
// memory then depends little on the size of what it carries.
func BatchSize(n int) EnvOption {
	return envFunc(func(c *config) { c.batchSize, c.batchSizeSet = n, true })
}

// ChannelCapacity sets how many batches each channel between two subtasks
// buffers before the sender blocks (default 4). With BatchSize it bounds the
// records in flight per channel.
func ChannelCapacity(n int) EnvOption { return envFunc(func(c *config) { c.channelCapacity = n }) }

// WatermarkInterval sets how often Watermarks emits a watermark, in
// processing time (default 200ms, as in Flink).
func WatermarkInterval(d time.Duration) EnvOption {
	return envFunc(func(c *config) { c.watermarkInterval = d })
}

// StateBackend chooses where keyed state lives — the state of keyed process
// functions and the contents of tumbling and sliding windows: "heap" (the
// default: Go maps, fastest) or "pebble" (an LSM tree on local disk under
// dir, for state larger than memory; dir is scratch space, emptied at
// start). Checkpoints have one format, so a job can restore a checkpoint
// taken on the other backend. Session windows, timers and the list of open
// windows stay on the heap; EarlyFiring needs the heap backend.
func StateBackend(name, dir string) EnvOption {
	return envFunc(func(c *config) { c.backend, c.backendDir = name, dir })
}

// DefaultLatencyTrackingInterval is how often a source subtask emits a
// latency marker unless LatencyTrackingInterval says otherwise.
const DefaultLatencyTrackingInterval = 2 * time.Second

// LatencyTrackingInterval sets how often every source subtask emits a
// latency marker (Flink's latency tracking, default 2s; 0 turns it off).
// A marker carries the source's wall-clock time through the job beside the
// records, to one randomly chosen channel at each exchange; every subtask
// it reaches records how long it took (SubtaskMetrics.Latency), so the
// figure at a sink is the time records wait between the source and the
// sink. Unlike Flink, weir keeps it on by default: a marker every two
// seconds per source subtask and one fixed-size histogram per subtask cost
// nothing measurable (docs/benchmarks.md). Subtasks in different processes
// compare their clocks: keep them synchronised.
func LatencyTrackingInterval(d time.Duration) EnvOption {
	return envFunc(func(c *config) { c.latencyInterval = d })
}

// Observe turns the job's optional observation on (the default) or off:
// latency markers (LatencyTrackingInterval), the pprof labels of the
// subtasks' goroutines, and the timing of state accesses. The counters and
// time shares every subtask keeps stay: backpressure and progress need
// them. Off exists to measure what observation costs (weir bench pvuv
// --observe=off); leave it on.
func Observe(on bool) EnvOption {
	return envFunc(func(c *config) { c.unobserved = !on })
}

// WithLogger sets the logger of the job (default slog.Default()): the
// driver's lines carry the attribute job (the name given to Execute), and
// every subtask's lines job, operator (its chain, as in SubtaskMetrics) and
// subtask.
func WithLogger(l *slog.Logger) EnvOption {
	return envFunc(func(c *config) { c.logger, c.loggerSet = l, true })
}
