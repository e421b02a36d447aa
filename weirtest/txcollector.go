package weirtest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/weirstream/weir/sink"
)

// TxCollector is a collecting sink with two-phase commit: records become
// visible (Records) only when the checkpoint that covers them completes, or
// at the end of input, and a committable committed twice counts once. With
// it, a test checks a job's end-to-end exactly-once output across failures
// and restarts within one process. Without checkpoints it behaves like
// Collector.
//
// A committable carries its records as JSON, so T must encode as JSON; a
// collector commits the committables of a job restored from a checkpoint
// that another collector (an earlier process) wrote.
type TxCollector[T any] struct {
	mu        sync.Mutex
	committed []T
	// ckpts[i] is the checkpoint whose commit published committed[i]
	// (0: the end of input, or written without checkpoints).
	ckpts   []int64
	done    map[string]bool
	commits int
}

// NewTxCollector returns an empty transactional collector.
func NewTxCollector[T any]() *TxCollector[T] {
	return &TxCollector[T]{done: map[string]bool{}}
}

type txBatch[T any] struct {
	ID         string `json:"id"`
	Checkpoint int64  `json:"checkpoint,omitempty"`
	Records    []T    `json:"records"`
}

// Records returns the committed records, in commit order.
func (c *TxCollector[T]) Records() []T {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]T(nil), c.committed...)
}

// CutBack removes the records that checkpoints after checkpoint published,
// as weir's file sink cuts its files back when a job restores an older
// checkpoint than the newest one it committed: a test that restores an
// older checkpoint on purpose calls it before the restored run, so that
// the records replayed from that checkpoint on are not counted twice.
func (c *TxCollector[T]) CutBack(checkpoint int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := 0
	for i, v := range c.committed {
		if c.ckpts[i] == 0 || c.ckpts[i] <= checkpoint {
			c.committed[keep], c.ckpts[keep] = v, c.ckpts[i]
			keep++
		}
	}
	c.committed, c.ckpts = c.committed[:keep], c.ckpts[:keep]
}

// Commits returns how many committables were published.
func (c *TxCollector[T]) Commits() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commits
}

// NewWriter implements sink.Sink.
func (c *TxCollector[T]) NewWriter(ctx sink.WriterContext) (sink.Writer[T], error) {
	return &txWriter[T]{c: c, subtask: ctx.Subtask(), direct: !ctx.Checkpointing()}, nil
}

// NewCommitter implements sink.CommittingSink.
func (c *TxCollector[T]) NewCommitter() (sink.Committer, error) { return txCommitter[T]{c}, nil }

type txWriter[T any] struct {
	c       *TxCollector[T]
	subtask int
	direct  bool
	buf     []T
	seq     int
}

func (w *txWriter[T]) Write(_ context.Context, v T) error {
	if w.direct {
		w.c.mu.Lock()
		w.c.committed = append(w.c.committed, v)
		w.c.ckpts = append(w.c.ckpts, 0)
		w.c.mu.Unlock()
		return nil
	}
	w.buf = append(w.buf, v)
	return nil
}

// PreCommit hands the buffered records to the collector under an id that a
// replay after a restore does not reuse (checkpoint ids only grow; the end
// of input has its own).
func (w *txWriter[T]) PreCommit(_ context.Context, id int64) ([][]byte, error) {
	w.seq++
	key := fmt.Sprintf("%d/%d/%d", w.subtask, id, w.seq)
	if id == 0 {
		key = fmt.Sprintf("%d/end", w.subtask)
	}
	b, err := json.Marshal(txBatch[T]{ID: key, Checkpoint: id, Records: w.buf})
	if err != nil {
		return nil, fmt.Errorf("weirtest: TxCollector records must encode as JSON: %w", err)
	}
	w.buf = nil
	return [][]byte{b}, nil
}

func (w *txWriter[T]) Flush(context.Context) error { return nil }
func (w *txWriter[T]) Close() error                { return nil }

type txCommitter[T any] struct{ c *TxCollector[T] }

func (t txCommitter[T]) Commit(_ context.Context, committables [][]byte) error {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	for _, c := range committables {
		var b txBatch[T]
		if err := json.Unmarshal(c, &b); err != nil {
			return fmt.Errorf("weirtest: bad committable: %w", err)
		}
		if t.c.done[b.ID] {
			continue
		}
		t.c.committed = append(t.c.committed, b.Records...)
		for range b.Records {
			t.c.ckpts = append(t.c.ckpts, b.Checkpoint)
		}
		t.c.done[b.ID] = true
		t.c.commits++
	}
	return nil
}
