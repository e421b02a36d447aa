package weir

import (
	"context"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/runtime"
)

// TestDriverDoesNotWaitForAStoppedTask: a task that has returned takes no
// more notifications; when its channel is full, the driver must go on to
// the other tasks instead of waiting for it for good.
func TestDriverDoesNotWaitForAStoppedTask(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dir := t.TempDir()
	store, err := storage.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(Checkpoints(time.Second, dir))
	r := newJobRun(env, "job", store, 0, nil)
	stopped, running := checkpoint.TaskID{Chain: 1}, checkpoint.TaskID{Chain: 2}
	full := r.addTask(stopped, false)
	for len(full) < cap(full) {
		full <- runtime.Command{Kind: runtime.Abort, ID: 0}
	}
	next := r.addTask(running, false)
	r.taskStopped(stopped)

	done := make(chan struct{})
	go func() {
		defer close(done)
		r.act(ctx, nil, []checkpoint.Action[[]opAck]{{Kind: checkpoint.NotifyComplete, ID: 1, Tasks: []checkpoint.TaskID{stopped, running}}})
	}()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatal("the driver waits for a task that has returned")
	}
	if c := <-next; c.Kind != runtime.Complete || c.ID != 1 {
		t.Fatalf("the running task got %+v, want the completion of checkpoint 1", c)
	}
}
