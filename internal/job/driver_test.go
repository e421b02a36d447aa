package job

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/checkpoint/storage"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
)

var rewrite = flag.Bool("rewrite", false, "rewrite the expected output of the transcripts in testdata/")

// TestDriverTranscripts runs the driver against fake storage and fake
// tasks. Each file in testdata/driver is a sequence of blocks:
//
//	command args...
//	----
//	what the driver did: the calls it made of the tasks and the storage
//
// Commands:
//
//	tasks C/S[*]...      register tasks (chain/subtask; * marks a source reader);
//	                     must come first
//	tick D               advance the clock by D and tick the driver
//	ack ID C/S [UID...]  task C/S acknowledges checkpoint ID with operators UID
//	decline ID C/S WHY   task C/S declines checkpoint ID
//	finished C/S [@ID]   task C/S ended its input, without state; @ID: the
//	                     last barrier it took was checkpoint ID's
//	ended C/S [@ID] [UID...]  task C/S ended its input with the final state
//	                     of UIDs
//	stopped C/S          task C/S returned: it takes no more notifications
//	final UID C/S        sink UID, subtask C/S, pre-committed at its end
//	fail-commit          the next metadata write fails
//	cut-off              the run is no longer the job's live one: Confirm fails
//	savepoint [stop]     ask for a savepoint (and to stop the run after it)
//
// Run with -rewrite to write the output the driver gives now.
func TestDriverTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/driver/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runTranscript(t, f) })
	}
}

type block struct {
	comment []string // the lines starting with # before the command
	cmd     string
	want    []string
}

func readBlocks(t *testing.T, path string) []block {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []block
	var cur *block
	var comment []string
	inOutput := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && line == "":
		case cur == nil && strings.HasPrefix(line, "#"):
			comment = append(comment, line)
		case cur == nil:
			blocks = append(blocks, block{comment: comment, cmd: line})
			cur, inOutput, comment = &blocks[len(blocks)-1], false, nil
		case line == "----" && !inOutput:
			inOutput = true
		case line == "":
			cur = nil
		case inOutput:
			cur.want = append(cur.want, line)
		default:
			t.Fatalf("%s: %q: expected ---- after the command %q", path, line, cur.cmd)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

func runTranscript(t *testing.T, path string) {
	blocks := readBlocks(t, path)
	h := &harness{t: t, now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	for i := range blocks {
		h.log = nil
		h.do(blocks[i].cmd)
		if *rewrite {
			blocks[i].want = h.log
			continue
		}
		if !slices.Equal(h.log, blocks[i].want) {
			t.Errorf("%s: %s:\ngot:\n%s\nwant:\n%s", path, blocks[i].cmd, strings.Join(h.log, "\n"), strings.Join(blocks[i].want, "\n"))
		}
	}
	if *rewrite {
		var b strings.Builder
		for _, bl := range blocks {
			for _, c := range bl.comment {
				fmt.Fprintln(&b, c)
			}
			fmt.Fprintf(&b, "%s\n----\n", bl.cmd)
			for _, l := range bl.want {
				fmt.Fprintln(&b, l)
			}
			b.WriteString("\n")
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// harness drives one driver.
type harness struct {
	t      *testing.T
	now    time.Time
	log    []string
	run    *Run
	d      *driver
	st     *fakeStore
	reqs   []*savepointReq
	failed map[int64]bool
	cutOff bool // Confirm fails
}

func (h *harness) logf(format string, args ...any) {
	h.log = append(h.log, fmt.Sprintf(format, args...))
}

func (h *harness) do(cmd string) {
	ctx := context.Background()
	f := strings.Fields(cmd)
	switch f[0] {
	case "tasks":
		h.st, h.failed = &fakeStore{h: h}, nil
		j := New(Spec{Name: "job", MaxParallelism: 128, Checkpoints: &Checkpoints{Interval: time.Second, Timeout: 5 * time.Second, Retain: 2},
			Publish: map[string]func(context.Context, [][]byte) error{}})
		h.run = newRun(j, h.st, 0, nil)
		h.run.stop = func(err error) { h.logf("run stopped: %v", err) }
		for _, a := range f[1:] {
			id := h.task(strings.TrimSuffix(a, "*"))
			h.run.AddTask(id, 2, "op", strings.HasSuffix(a, "*"))
		}
		h.d = newDriver(h.run, fakeTasks{h})
		h.d.clock = func() time.Time { return h.now }
	case "tick":
		d, err := time.ParseDuration(f[1])
		if err != nil {
			h.t.Fatal(err)
		}
		h.now = h.now.Add(d)
		h.d.tick(ctx, h.now)
	case "ack":
		id, task := h.id(f[1]), h.task(f[2])
		var ops []OperatorState
		for _, uid := range f[3:] {
			op := OperatorState{UID: uid, Parallelism: 2, Subtask: snapshot.Subtask{Index: task.Subtask, OperatorState: []byte(uid)}}
			if task.Subtask < 0 { // an enumerator
				op.Parallelism, op.Subtask.Index = 1, 0
			}
			ops = append(ops, op)
		}
		h.d.ack(ctx, Ack{ID: id, Task: task, Ops: ops})
	case "decline":
		h.d.ack(ctx, Ack{ID: h.id(f[1]), Task: h.task(f[2]), Err: strings.Join(f[3:], " ")})
	case "finished", "ended":
		// The task ended its input with the final state given.
		e := Ended{Task: h.task(f[1])}
		uids := f[2:]
		if len(uids) > 0 && strings.HasPrefix(uids[0], "@") {
			e.Barrier, uids = h.id(uids[0][1:]), uids[1:]
		}
		for _, uid := range uids {
			e.Final = append(e.Final, FinalState{UID: uid, Snapshot: OperatorSnapshot{State: []byte(uid + "@end")}})
		}
		h.d.taskEnded(ctx, e)
	case "stopped":
		h.run.byID[h.task(f[1])].Stopped()
	case "final":
		task := h.task(f[2])
		uid := f[1]
		h.run.job.spec.Publish[uid] = func(_ context.Context, c [][]byte) error {
			h.logf("publish %s %q", uid, c)
			return nil
		}
		h.run.ReceiveFinalCommit(FinalCommit{UID: uid, Subtask: task.Subtask, Parallelism: 2,
			Committables: [][]byte{[]byte("end")}, State: []byte("final")})
	case "fail-commit":
		h.st.failCommit = true
	case "cut-off":
		h.cutOff = true
	case "savepoint":
		req := &savepointReq{stop: len(f) > 1 && f[1] == "stop", done: make(chan savepointResult, 1)}
		h.reqs = append(h.reqs, req)
		h.d.queued = append(h.d.queued, req)
		h.d.triggerSavepoint(ctx)
	default:
		h.t.Fatalf("unknown command %q", cmd)
	}
	h.answers()
	h.failures()
}

// failures logs the checkpoints that failed since the last command, with
// their reasons.
func (h *harness) failures() {
	if h.run == nil {
		return
	}
	for _, st := range h.run.job.stats.Recent() {
		if st.Status == "failed" && !h.failed[st.ID] {
			if h.failed == nil {
				h.failed = map[int64]bool{}
			}
			h.failed[st.ID] = true
			h.logf("checkpoint %d failed: %s", st.ID, st.Failure)
		}
	}
}

// answers logs the savepoint requests answered by the last command.
func (h *harness) answers() {
	for _, req := range h.reqs {
		select {
		case res := <-req.done:
			if res.err != nil {
				h.logf("savepoint failed: %v", res.err)
			} else {
				h.logf("savepoint at %s", res.path)
			}
		default:
		}
	}
}

func (h *harness) id(s string) int64 {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		h.t.Fatal(err)
	}
	return id
}

func (h *harness) task(s string) checkpoint.TaskID {
	var id checkpoint.TaskID
	if _, err := fmt.Sscanf(s, "%d/%d", &id.Chain, &id.Subtask); err != nil {
		h.t.Fatalf("task %q: %v", s, err)
	}
	return id
}

// fakeTasks logs what the driver asks of the tasks. A task that stopped
// is not notified (job invariant 3), as localTasks does.
type fakeTasks struct{ h *harness }

func (f fakeTasks) Trigger(_ context.Context, id int64) { f.h.logf("trigger %d", id) }

func (f fakeTasks) Notify(_ context.Context, t checkpoint.TaskID, c runtime.Command) bool {
	kind := map[runtime.CommandKind]string{runtime.Complete: "complete", runtime.Abort: "abort"}[c.Kind]
	select {
	case <-f.h.run.byID[t].stopped:
		f.h.logf("skip %d/%d (stopped) %s %d", t.Chain, t.Subtask, kind, c.ID)
	default:
		f.h.logf("notify %d/%d %s %d", t.Chain, t.Subtask, kind, c.ID)
	}
	return true
}

// Confirm fails once the transcript cut the run off, as a cluster's
// coordinator does once its worker's generation is over.
func (f fakeTasks) Confirm(context.Context) error {
	if f.h.cutOff {
		return fmt.Errorf("generation 3 is over for this worker")
	}
	return nil
}

// fakeStore logs what the driver writes.
type fakeStore struct {
	h          *harness
	failCommit bool
}

func (s *fakeStore) WriteState(_ context.Context, dir storage.Dir, name string, _ io.Reader) (int64, error) {
	s.h.logf("write %s/%s", dir, name)
	return 0, nil
}

func (s *fakeStore) Commit(_ context.Context, dir storage.Dir, b []byte) error {
	if s.failCommit {
		s.failCommit = false
		s.h.logf("commit %s: failed", dir)
		return fmt.Errorf("disk full")
	}
	m, err := snapshot.DecodeMetadata(b)
	if err != nil {
		s.h.t.Fatalf("the driver wrote metadata that does not decode: %v", err)
	}
	var ops []string
	for _, op := range m.Operators {
		var subs []string
		for _, sub := range op.Subtasks {
			mark := ""
			if sub.Finished {
				mark = "(finished)"
			}
			subs = append(subs, fmt.Sprintf("%d=%s%s", sub.Index, sub.OperatorState, mark))
		}
		ops = append(ops, fmt.Sprintf("%s[%s]", op.UID, strings.Join(subs, " ")))
	}
	s.h.logf("commit %s: checkpoint %d savepoint=%v %s", dir, m.CheckpointID, m.Savepoint, strings.Join(ops, " "))
	return nil
}

func (s *fakeStore) Discard(_ context.Context, dir storage.Dir) error {
	s.h.logf("discard %s", dir)
	return nil
}

func (s *fakeStore) Retain(_ context.Context, n int) error {
	s.h.logf("retain %d", n)
	return nil
}

func (s *fakeStore) Completed(context.Context) ([]storage.Dir, error) { return nil, nil }

func (s *fakeStore) MarkFinished(context.Context, []byte) error { return nil }

func (s *fakeStore) Location() string            { return "mem://checkpoints" }
func (s *fakeStore) PathOf(d storage.Dir) string { return s.Location() + "/" + d.Name() }

// TestAckBeforeEnd: a task that acknowledges a checkpoint and then ends
// its input has the checkpoint hold the state it acknowledged, not its
// final state, however the driver's loop takes the two reports. A source
// reader's final state is "no splits": standing in for the position at
// its barrier, it made a restore skip the reader's last records.
func TestAckBeforeEnd(t *testing.T) {
	for range 20 {
		// The loop's ticker passes the wall clock: the transcript's clock
		// starts at it, so that no tick triggers or times out a checkpoint
		// while the loop runs.
		h := &harness{t: t, now: time.Now()}
		h.do("tasks 0/0* 1/0")
		h.do("tick 1s")
		h.do("tick 1s")
		h.do("ack 1 1/0 win")
		ctx, cancel := context.WithCancel(context.Background())
		at := OperatorState{UID: "src", Parallelism: 2, Subtask: snapshot.Subtask{Index: 0, OperatorState: []byte("at-barrier")}}
		if err := h.run.Receive(ctx, Ack{ID: 1, Task: checkpoint.TaskID{Chain: 0, Subtask: 0}, Ops: []OperatorState{at}}); err != nil {
			t.Fatal(err)
		}
		final := FinalState{UID: "src", Snapshot: OperatorSnapshot{State: []byte("no-splits")}}
		if err := h.run.ReceiveEnded(ctx, Ended{Task: checkpoint.TaskID{Chain: 0, Subtask: 0}, Final: []FinalState{final}, Barrier: 1}); err != nil {
			t.Fatal(err)
		}
		h.log = nil
		done := make(chan error)
		go func() { done <- h.d.loop(ctx) }()
		for len(h.run.reports) > 0 {
			time.Sleep(time.Millisecond)
		}
		cancel() // the loop finishes the report it took, then returns
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(h.log, func(l string) bool { return strings.Contains(l, "src[0=at-barrier]") }) {
			t.Fatalf("checkpoint 1 does not hold the state the source acknowledged:\n%s", strings.Join(h.log, "\n"))
		}
	}
}

// TestEndedNamesTheLastBarrier: a task's end names the last checkpoint
// whose barrier it took, after that checkpoint's acknowledgement, so that
// a driver that finds the checkpoint still waiting for the task knows its
// acknowledgement was lost.
func TestEndedNamesTheLastBarrier(t *testing.T) {
	ctx := context.Background()
	h := &harness{t: t, now: time.Now()}
	h.do("tasks 0/0* 0/1* 1/0")
	first, second := h.run.byID[checkpoint.TaskID{Chain: 0, Subtask: 0}], h.run.byID[checkpoint.TaskID{Chain: 0, Subtask: 1}]
	if err := second.Finished(ctx); err != nil {
		t.Fatal(err)
	}
	if rep := <-h.run.reports; rep.ended == nil || rep.ended.Barrier != 0 {
		t.Fatalf("a task that took no barrier reported %+v, want its end with barrier 0", rep)
	}
	for _, id := range []int64{3, 4} {
		if err := first.Checkpointing().Snapshot(ctx, id, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := first.Finished(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for range 3 {
		rep := <-h.run.reports
		if rep.ended != nil {
			got = append(got, fmt.Sprintf("ended after %d", rep.ended.Barrier))
		} else {
			got = append(got, fmt.Sprintf("ack %d", rep.ack.ID))
		}
	}
	slices.Sort(got[:2]) // the uploads, and so the acknowledgements, may overtake each other
	if want := []string{"ack 3", "ack 4", "ended after 4"}; !slices.Equal(got, want) {
		t.Fatalf("the task reported %q, want %q", got, want)
	}
}
