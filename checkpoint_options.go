package weir

import (
	"errors"
	"fmt"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/job"
)

// checkpointConfig holds the checkpoint settings. Only Checkpoints turns
// them on; the other checkpoint options set what applies when they are.
type checkpointConfig struct {
	on       bool
	interval time.Duration
	location string
	timeout  time.Duration
	minPause time.Duration
	retain   int
	restore  string // "" or "latest": the newest checkpoint at location, if any; else a path
	restart  RestartStrategy
	// unaligned: barriers overtake the data in flight, which is stored
	// with the checkpoint.
	unaligned bool
	// allowNonRestored drops the state of operators the job no longer has
	// instead of failing the restore.
	allowNonRestored bool
}

func defaultCheckpointConfig() checkpointConfig {
	return checkpointConfig{retain: 3, timeout: 10 * time.Minute, restart: ExponentialBackoffRestart(10, 100*time.Millisecond, 10*time.Second)}
}

func (c *checkpointConfig) validate() error {
	var errs []error
	if c.interval < 10*time.Millisecond {
		errs = append(errs, fmt.Errorf("weir: Checkpoints: interval %v is below 10ms: use an interval such as 1s", c.interval))
	}
	if c.location == "" {
		errs = append(errs, fmt.Errorf("weir: Checkpoints: no location: give a directory or a file://, s3://, gs:// or azblob:// URL"))
	}
	if c.timeout < 0 || c.minPause < 0 {
		errs = append(errs, fmt.Errorf("weir: CheckpointTimeout %v and MinPauseBetweenCheckpoints %v must not be negative", c.timeout, c.minPause))
	}
	if c.retain < 1 {
		errs = append(errs, fmt.Errorf("weir: RetainCheckpoints %d must be at least 1", c.retain))
	}
	if err := c.restart.r.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// spec returns the settings the job runner takes; nil when checkpoints
// are off.
func (c *checkpointConfig) spec() *job.Checkpoints {
	if !c.on {
		return nil
	}
	return &job.Checkpoints{Location: c.location, Interval: c.interval, Timeout: c.timeout, MinPause: c.minPause,
		Retain: c.retain, RestoreFrom: c.restore, Restart: c.restart.r, Unaligned: c.unaligned,
		AllowNonRestoredState: c.allowNonRestored}
}

// withCheckpoints returns c's checkpoint settings.
func withCheckpoints(c *config) *checkpointConfig { return &c.checkpoint }

// Checkpoints turns on periodic checkpoints: every interval the job's
// state, its sources' positions and its sinks' pending output are written
// to location (a directory, or a file://, s3://, gs:// or azblob:// URL).
// A job that fails restarts from the latest completed checkpoint (see
// Restart), and a job started again with the same location resumes from it.
// Off by default.
func Checkpoints(interval time.Duration, location string) EnvOption {
	return envFunc(func(c *config) {
		cc := withCheckpoints(c)
		cc.on, cc.interval, cc.location = true, interval, location
	})
}

// CheckpointTimeout aborts a checkpoint that has not completed after d
// (default 10m).
func CheckpointTimeout(d time.Duration) EnvOption {
	return envFunc(func(c *config) { withCheckpoints(c).timeout = d })
}

// MinPauseBetweenCheckpoints leaves at least d between the end of one
// checkpoint and the start of the next (default 0).
func MinPauseBetweenCheckpoints(d time.Duration) EnvOption {
	return envFunc(func(c *config) { withCheckpoints(c).minPause = d })
}

// RetainCheckpoints keeps the newest n completed checkpoints and deletes
// older ones (default 3). Savepoints are never deleted.
func RetainCheckpoints(n int) EnvOption {
	return envFunc(func(c *config) { withCheckpoints(c).retain = n })
}

// RestoreFrom starts the job from the checkpoint or savepoint at path (its
// directory or its _metadata file, local or a URL) instead of from the
// newest checkpoint at the checkpoint location. "latest" is the default.
func RestoreFrom(path string) EnvOption {
	return envFunc(func(c *config) { withCheckpoints(c).restore = path })
}

// AllowNonRestoredState lets a restore drop the state of operators the job
// no longer has (no operator has its UID), with a warning that lists it.
// Without it such a restore fails and names the state, so that renaming or
// removing an operator does not silently lose what it kept. Flink's
// --allowNonRestoredState.
func AllowNonRestoredState() EnvOption {
	return envFunc(func(c *config) { withCheckpoints(c).allowNonRestored = true })
}

// Restart sets how a failed job with checkpoints restarts (default:
// exponential backoff from 100ms to 10s, at most 10 restarts).
func Restart(s RestartStrategy) EnvOption {
	return envFunc(func(c *config) { withCheckpoints(c).restart = s })
}

// UnalignedCheckpoints makes checkpoints unaligned, for jobs under heavy
// backpressure: a barrier overtakes the records queued ahead of it, a task
// snapshots as soon as the first barrier reaches it instead of waiting for
// the barriers of all its inputs, and the records that were in flight are
// stored with the checkpoint and replayed on restore. Checkpoints then take
// about as long under backpressure as without, and hold more. An unaligned
// checkpoint with records in flight restores only at the parallelism it was
// taken at; savepoints are always aligned. Off by default.
func UnalignedCheckpoints() EnvOption {
	return envFunc(func(c *config) { withCheckpoints(c).unaligned = true })
}

// RestartStrategy says whether and when a failed job restarts.
type RestartStrategy struct{ r job.Restart }

// String describes the strategy, as in "exponential backoff 100ms..10s, 10
// attempts".
func (s RestartStrategy) String() string {
	r := s.r
	if r.Kind == job.NoRestart.Kind {
		return "none"
	}
	attempts := "no limit"
	if r.Attempts >= 0 {
		attempts = fmt.Sprintf("%d attempts", r.Attempts)
	}
	if r.Delay == r.MaxDelay {
		return fmt.Sprintf("%s %v, %s", r.Kind, r.Delay, attempts)
	}
	return fmt.Sprintf("%s %v..%v, %s", r.Kind, r.Delay, r.MaxDelay, attempts)
}

// NoRestart lets the first failure end the job.
func NoRestart() RestartStrategy { return RestartStrategy{job.NoRestart} }

// FixedDelayRestart restarts at most attempts times (a negative number:
// without limit), waiting delay before each restart.
func FixedDelayRestart(attempts int, delay time.Duration) RestartStrategy {
	return RestartStrategy{job.Restart{Kind: "fixed delay", Attempts: attempts, Delay: delay, MaxDelay: delay}}
}

// ExponentialBackoffRestart restarts at most attempts times (negative:
// without limit), waiting initial before the first restart and doubling the
// wait each time up to max. Its arguments come in the order of
// ExponentialBackoffRetry's.
func ExponentialBackoffRestart(attempts int, initial, max time.Duration) RestartStrategy {
	return RestartStrategy{job.Restart{Kind: "exponential backoff", Attempts: attempts, Delay: initial, MaxDelay: max}}
}

// CheckpointStatus says where a checkpoint is.
type CheckpointStatus string

// The statuses of a checkpoint.
const (
	CheckpointPending   CheckpointStatus = "pending"
	CheckpointCompleted CheckpointStatus = "completed"
	CheckpointFailed    CheckpointStatus = "failed"
)

// CheckpointStat describes one checkpoint of the running or last execution.
type CheckpointStat struct {
	ID       int64
	Status   CheckpointStatus
	Started  time.Time
	Duration time.Duration // from trigger to completion or failure
	Size     int64         // bytes of state and metadata
	Failure  string        // why it failed
	// Acks is the time from the trigger to each task's acknowledgement,
	// by task name ("chain (subtask i)").
	Acks map[string]time.Duration
	// Alignments is, per task with several inputs, how long it held back
	// the inputs that had delivered the barrier while it waited for the
	// others: the cost of aligned checkpoints under backpressure.
	Alignments map[string]time.Duration
	// Tasks is, per task, when it took its part (see
	// CheckpointTaskTiming), by task name: the tasks of this process, or,
	// on the coordinator of a cluster, of every worker.
	Tasks map[string]CheckpointTaskTiming
}

// CheckpointStats returns the recent checkpoints (oldest first) of the
// running or last execution; it is safe to call while Execute runs. In a
// cluster only the coordinator, which drives them, has any (every worker
// has them through ClusterCheckpointStats).
func (e *Env) CheckpointStats() []CheckpointStat {
	j := e.current()
	if j == nil || j.Stats() == nil {
		return nil
	}
	return e.checkpointStats(j.Stats().Recent())
}

// checkpointStats names the tasks of stats.
func (e *Env) checkpointStats(stats []checkpoint.Stat) []CheckpointStat {
	var out []CheckpointStat
	for _, s := range stats {
		cs := CheckpointStat{ID: s.ID, Status: CheckpointStatus(s.Status), Started: s.Started, Duration: s.Duration, Size: s.Size, Failure: s.Failure}
		if len(s.Acks) > 0 {
			cs.Acks = map[string]time.Duration{}
			for t, d := range s.Acks {
				cs.Acks[e.taskName(t.Chain, t.Subtask)] = d
			}
		}
		if len(s.Alignments) > 0 {
			cs.Alignments = map[string]time.Duration{}
			for t, d := range s.Alignments {
				cs.Alignments[e.taskName(t.Chain, t.Subtask)] = d
			}
		}
		cs.Tasks = e.taskTimings(s)
		out = append(out, cs)
	}
	return out
}
