package kafka

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// commitTimeout bounds one offset commit.
const commitTimeout = 10 * time.Second

// committer commits a reader's offsets to its consumer group from its own
// goroutine, so that a slow broker never stalls the reader's subtask. It
// holds at most one set of offsets waiting: a newer set replaces an older
// one that was not sent yet, since it covers it.
//
// Commits are for monitoring (lag tools) and for jobs that start from
// Committed(); the job itself restores from its checkpoints. So a failed
// commit is logged, not returned: the next one carries newer offsets.
type committer struct {
	adm   *kadm.Client
	group string
	log   *slog.Logger

	mu struct {
		sync.Mutex
		next kadm.Offsets // waiting to be sent; nil when none
	}
	wake   chan struct{} // capacity 1: a commit is waiting
	cancel context.CancelFunc
	done   chan struct{}
}

// startCommitter starts the committing goroutine; it stops when ctx is
// done or stop is called.
func startCommitter(ctx context.Context, adm *kadm.Client, group string, log *slog.Logger) *committer {
	ctx, cancel := context.WithCancel(ctx)
	c := &committer{adm: adm, group: group, log: log, wake: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{})}
	go c.run(ctx)
	return c
}

// submit hands offsets to the goroutine; it never blocks.
func (c *committer) submit(o kadm.Offsets) {
	c.mu.Lock()
	c.mu.next = o
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *committer) take() kadm.Offsets {
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.mu.next
	c.mu.next = nil
	return o
}

func (c *committer) run(ctx context.Context) {
	defer close(c.done)
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		if o := c.take(); o != nil {
			c.commit(ctx, o)
		}
	}
}

// commit sends o and logs a failure.
func (c *committer) commit(ctx context.Context, o kadm.Offsets) {
	ctx, cancel := context.WithTimeout(ctx, commitTimeout)
	defer cancel()
	if err := c.adm.CommitAllOffsets(ctx, c.group, o); err != nil && ctx.Err() == nil {
		c.log.Warn("kafka: could not commit offsets to the consumer group; the group's offsets lag behind the job until a later commit succeeds (the job itself restores from its checkpoints). If another consumer group uses this name, give the source a Group of its own.",
			"group", c.group, "partitions", len(o.Sorted()), "err", err)
	}
}

// stop ends the goroutine, dropping a commit that waits, and returns when
// it is gone. It may be called more than once.
func (c *committer) stop() {
	c.cancel()
	<-c.done
}
