package cluster

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/source"
)

// TestExceptionsReachANewCoordinator: a worker's report carries only the
// failures its coordinator does not hold; a new coordinator, which holds
// none, gets them all; duplicates are skipped; the history is bounded and
// names the restart that followed each failed epoch.
func TestExceptionsReachANewCoordinator(t *testing.T) {
	var worker, coordA, coordB exceptions
	fail := func(epoch int64, err error) Exception {
		return worker.failed("w-1", 7, epoch, time.Unix(int64(epoch), 0), err)
	}
	panicked := &runtime.OperatorError{Operator: "parse -> map", Subtask: 1, Err: &runtime.PanicError{Value: "boom", Stack: []byte("goroutine 9")}}
	first := fail(1<<16|1, panicked)
	if first.Operator != "parse -> map" || first.Subtask != 1 || first.Stack != "goroutine 9" || first.Seq != 1 {
		t.Fatalf("the failure of an operator is recorded as %+v", first)
	}
	send := func(x *exceptions) {
		es := worker.unsent()
		worker.taken(x.merge("w-1", 7, es))
	}
	send(&coordA)
	if es := worker.unsent(); len(es) != 0 {
		t.Fatalf("after A took it, the worker would send %+v again", es)
	}
	second := fail(1<<16|2, errors.New("restore: no such checkpoint"))
	if es := worker.unsent(); len(es) != 1 || es[0].Seq != 2 || es[0].Subtask != -1 {
		t.Fatalf("the worker would send %+v, want its second failure only", es)
	}
	send(&coordA)
	coordA.restarted(1<<16|1, true)
	coordA.restarted(1<<16|2, false)
	if got := coordA.history(nil); len(got) != 2 || got[0].Restart != 1 || got[1].Restart != 0 {
		t.Fatalf("A's history is %+v, want the two failures, restart #1 after the first and none after the second", got)
	}

	// Coordinator B answers a report for the first time: it holds none of
	// the worker's failures, so the worker sends them all.
	worker.taken(coordB.merge("w-1", 7, nil))
	send(&coordB)
	if got := coordB.history(nil); len(got) != 2 || got[0].Seq != first.Seq || got[1].Seq != second.Seq {
		t.Fatalf("B's history is %+v, want both failures", got)
	}
	// A resent report adds nothing; another process of the same worker
	// counts from 1 again and is not taken for a duplicate.
	coordB.merge("w-1", 7, []Exception{first, second})
	coordB.merge("w-1", 8, []Exception{{Time: 3, Worker: "w-1", Nonce: 8, Seq: 1, Error: "x"}})
	if got := coordB.history(nil); len(got) != 3 {
		t.Fatalf("B's history is %+v, want 3 failures", got)
	}

	// Bounded: the newest maxExceptions, oldest first, each text cut.
	var many exceptions
	var es []Exception
	for i := range 2 * maxExceptions {
		es = append(es, Exception{Time: int64(i), Worker: "w-2", Seq: uint64(i + 1), Error: strings.Repeat("e", 2*maxErrorText)})
	}
	if have := many.merge("w-2", 0, es); have != 2*maxExceptions {
		t.Fatalf("have %d, want %d", have, 2*maxExceptions)
	}
	got := many.history(nil)
	if len(got) != maxExceptions || got[0].Time != maxExceptions || len(got[0].Error) > maxErrorText+len("…") {
		t.Fatalf("the history keeps %d failures from time %d with errors of %d bytes", len(got), got[0].Time, len(got[0].Error))
	}
	for range 2 * maxExceptions {
		fail(1, errors.New("again"))
	}
	if n := len(worker.own()); n != maxExceptions {
		t.Fatalf("the worker keeps %d of its failures, want %d", n, maxExceptions)
	}
}

// TestViewCheckpointsRoundTrip: the coordinator's checkpoint statistics
// reach another worker as they are, per-task details for the newest
// checkpoints only.
func TestViewCheckpointsRoundTrip(t *testing.T) {
	var stats []checkpoint.Stat
	for i := range maxTimedViewed + 2 {
		a, b := checkpoint.TaskID{Chain: 1, Subtask: 0}, checkpoint.TaskID{Chain: 1, Subtask: 1}
		stats = append(stats, checkpoint.Stat{ID: int64(i + 1), Status: "completed", Started: time.Unix(100, int64(i)), Duration: time.Second, Size: 10,
			Acks:       map[checkpoint.TaskID]time.Duration{a: 5, b: 6},
			Alignments: map[checkpoint.TaskID]time.Duration{b: 2},
			Tasks:      map[checkpoint.TaskID]checkpoint.TaskTiming{b: {Barrier: 1, Aligned: 2, Snapshotted: 3, Uploaded: 4, Size: 9}}})
	}
	b, err := encodeMessage(View{Checkpoints: checkpointViews(stats)})
	if err != nil {
		t.Fatal(err)
	}
	var v View
	if err := decodeMessage(b, &v); err != nil {
		t.Fatal(err)
	}
	got := checkpointStats(v.Checkpoints)
	for i := range stats {
		want := stats[i]
		if i < 2 {
			want.Acks, want.Alignments, want.Tasks = nil, nil, nil
		}
		if !reflect.DeepEqual(got[i], want) {
			t.Errorf("checkpoint %d came back as\n%+v\nwant\n%+v", i+1, got[i], want)
		}
	}
}

// TestAckTimingOnTheCoordinatorsClock: an acknowledgement's timing
// travels as ages, so the coordinator places it on its own clock.
func TestAckTimingOnTheCoordinatorsClock(t *testing.T) {
	sent := time.Unix(1000, 0)
	tm := job.Timing{Barrier: sent.Add(-40 * time.Millisecond), Aligned: sent.Add(-30 * time.Millisecond),
		Snapshotted: sent.Add(-20 * time.Millisecond), Uploaded: sent.Add(-10 * time.Millisecond)}
	got := ackTiming(tm, sent).at(time.Unix(5000, 0)) // the coordinator's clock is an hour off
	want := job.Timing{Barrier: time.Unix(5000, 0).Add(-40 * time.Millisecond), Aligned: time.Unix(5000, 0).Add(-30 * time.Millisecond),
		Snapshotted: time.Unix(5000, 0).Add(-20 * time.Millisecond), Uploaded: time.Unix(5000, 0).Add(-10 * time.Millisecond)}
	if got != want {
		t.Fatalf("timing on the coordinator %+v, want %+v", got, want)
	}
	if ackTiming(job.Timing{}, sent) != nil || (*AckTiming)(nil).at(sent) != (job.Timing{}) {
		t.Fatal("an unknown timing is not nil on the wire, or not zero on arrival")
	}
}

// TestReportAndViewRefuseOlderEpochs: a report belongs to one epoch and
// is refused in another; a view request of an older generation is
// refused, one of the same generation taken.
func TestReportAndViewRefuseOlderEpochs(t *testing.T) {
	leakCheck(t)
	ctx := context.Background()
	h := &recordingHandler{}
	srv, addr := startServer(t, ServerConfig{Handler: h})
	srv.SetEpoch(3<<16 | 2)
	c := dial(t, addr, Security{})
	if _, err := c.Report(ctx, Report{Epoch: 3<<16 | 1, Worker: "w"}); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("a report of the epoch before = %v, want a stale epoch", err)
	}
	if _, err := c.View(ctx, ViewRequest{Epoch: 2 << 16}); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("a view of the generation before = %v, want a stale epoch", err)
	}
	if _, err := c.View(ctx, ViewRequest{Epoch: 3 << 16}); err != nil {
		t.Fatalf("a view of the same generation = %v", err)
	}
	if _, err := c.Report(ctx, Report{Epoch: 3<<16 | 2, Worker: "w"}); err != nil {
		t.Fatalf("a report of the epoch = %v", err)
	}
	if got := fmt.Sprint(h.got()); !strings.Contains(got, "{196608}") || strings.Count(got, "{") < 2 {
		t.Fatalf("the handler saw %s", got)
	}
}

// TestBoundSubtasks: a report carries at most maxSubtaskReports subtasks,
// each with at most maxSplitsReported splits.
func TestBoundSubtasks(t *testing.T) {
	subs := make([]SubtaskReport, maxSubtaskReports+3)
	subs[0].Splits = make([]source.SplitProgress, maxSplitsReported+1)
	subs = boundSubtasks(subs)
	if len(subs) != maxSubtaskReports || len(subs[0].Splits) != maxSplitsReported {
		t.Fatalf("%d subtasks, %d splits", len(subs), len(subs[0].Splits))
	}
}

// TestSumChannels: the view's fill of an edge is the sum of the workers'.
func TestSumChannels(t *testing.T) {
	sum := sumChannels(nil, []ChannelReport{{From: 1, To: 2, Queued: 1, Capacity: 4}})
	sum = sumChannels(sum, []ChannelReport{{From: 1, To: 2, Queued: 3, Capacity: 4}, {From: 2, To: 3, Queued: 0, Capacity: 8}})
	want := []ChannelReport{{From: 1, To: 2, Queued: 4, Capacity: 8}, {From: 2, To: 3, Capacity: 8}}
	if !reflect.DeepEqual(sum, want) {
		t.Fatalf("sum %+v, want %+v", sum, want)
	}
}
