package kafka

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/sink"
)

// TestTxnSinkExactlyOnceAcrossFailures fails the job again and again; it
// restarts from its last checkpoint each time. A read_committed consumer
// sees every record exactly once, while a read_uncommitted one also sees
// the records of the transactions the failures aborted.
//
// The sink has 3 subtasks, each fed by both source subtasks, so that a
// sink subtask reaches the end of its input only after every source did:
// the runtime commits a subtask's last transaction at its end of input,
// without a checkpoint, so a failure elsewhere after that would replay
// the subtask's tail from the restored checkpoint.
func TestTxnSinkExactlyOnceAcrossFailures(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic, parts, n = "eos", 3, 2000
	b := sinkBroker(t, topic, parts)
	defer b.Close()
	var seen, failures atomic.Int64
	env := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(50*time.Millisecond, t.TempDir()),
		weir.Restart(weir.FixedDelayRestart(-1, time.Millisecond)))
	snk := sinkNumberSink(t, b.Addr(), topic, ExactlyOnce)
	// Each failure holds the failing record for 200 ms first: the failure
	// then aborts records the brokers hold, even on a loaded machine.
	sinkFlakyJob(env, n, 600, 3, 200*time.Millisecond, &seen, &failures, snk)
	if err := env.Execute(context.Background(), "eos"); err != nil {
		t.Fatal(err)
	}
	if failures.Load() < 3 {
		t.Fatalf("only %d failures injected", failures.Load())
	}
	completed := 0
	for _, s := range env.CheckpointStats() {
		if s.Status == "completed" {
			completed++
		}
	}
	if completed == 0 {
		t.Fatal("no checkpoint completed: the failures tested nothing but restarts from scratch")
	}
	if got := sinkValues(sinkRead(t, b.Addr(), topic, parts, true)); !slices.Equal(got, sinkNumbers(n)) {
		t.Fatalf("after %d failures read_committed sees %d records (%d distinct), want each of %d once; duplicates: %v",
			failures.Load(), len(got), len(slices.Compact(slices.Clone(got))), n, sinkDuplicates(got))
	}
	all := sinkRead(t, b.Addr(), topic, parts, false)
	if len(all) <= n {
		t.Fatalf("read_uncommitted sees %d records, want more than %d: the failures should have aborted some", len(all), n)
	}
	hwm, lso := sinkStableOffsets(t, b.Addr(), topic)
	for p, h := range hwm {
		if lso[p] != h {
			t.Fatalf("partition %d: last stable offset %d, high watermark %d: a transaction is still open", p, lso[p], h)
		}
	}
	t.Logf("%d failures, %d checkpoints completed, %d records in the log for %d inputs", failures.Load(), completed, len(all), n)
}

// TestTxnSinkRestartFencesPreviousRun runs a job at parallelism 2 and
// cancels it mid-stream; a process that died mid-transaction is simulated
// by open transactions on transactional ids of old subtasks. A new run at
// parallelism 1 with the same checkpoint directory and prefix restores the
// last checkpoint, fences and aborts the open transactions, so the last
// stable offsets reach the ends of the partitions, and read_committed
// consumers see every record exactly once.
func TestTxnSinkRestartFencesPreviousRun(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic, parts, n = "restart", 2, 1500
	b := sinkBroker(t, topic, parts)
	defer b.Close()
	dir := t.TempDir()
	snk := sinkNumberSink(t, b.Addr(), topic, ExactlyOnce)

	var seen, failures atomic.Int64
	first := weir.NewEnv(weir.Parallelism(2), weir.Checkpoints(30*time.Millisecond, dir), weir.Restart(weir.NoRestart()))
	sinkFlakyJob(first, n, 0, 0, 0, &seen, &failures, snk)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- first.Execute(ctx, "first") }()
	for !sinkCheckpointed(dir) || seen.Load() < n/3 {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("the first run ended (%v) before it was cancelled: make the source slower", err)
		case <-time.After(time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("first run: %v", err)
	}
	if seen.Load() >= n {
		t.Fatal("the first run read everything before it was cancelled: make the source slower")
	}

	// Transactions a dead process left open: one on an id of old subtask 1
	// (which the restored state names), one on an id of a subtask 3 of an
	// earlier run at parallelism 4 that never completed a checkpoint, and
	// one of an epoch of a cluster that ran the job before (which only the
	// brokers' list of open transactions names).
	prefix := snk.cfg.prefix
	for _, id := range []string{txnID(prefix, 1, 3, 0), txnID(prefix, 3, 0, 0), txnID(prefix, 2, 1, 7<<16|3)} {
		openTxn(t, b.Addr(), topic, id, "lingering "+id)
	}
	hwm, lso := sinkStableOffsets(t, b.Addr(), topic)
	stuck := 0
	for p, h := range hwm {
		if lso[p] < h {
			stuck++
		}
	}
	if stuck == 0 {
		t.Fatalf("no partition has an open transaction before the restart: hwm %v, lso %v", hwm, lso)
	}

	// A new sink, as in a new process: it knows nothing of the first run
	// but its checkpoint.
	second := weir.NewEnv(weir.Parallelism(1), weir.Checkpoints(30*time.Millisecond, dir), weir.Restart(weir.NoRestart()))
	sinkFlakyJob(second, n, 0, 0, 0, &seen, &failures, sinkNumberSink(t, b.Addr(), topic, ExactlyOnce))
	if err := second.Execute(context.Background(), "second"); err != nil {
		t.Fatal(err)
	}
	hwm, lso = sinkStableOffsets(t, b.Addr(), topic)
	for p, h := range hwm {
		if lso[p] != h {
			t.Fatalf("partition %d: last stable offset %d is behind the high watermark %d after the restart: an old transaction is still open", p, lso[p], h)
		}
	}
	got := sinkValues(sinkRead(t, b.Addr(), topic, parts, true))
	if !slices.Equal(got, sinkNumbers(n)) {
		t.Fatalf("read_committed sees %d records (%d distinct), want each of %d once", len(got), len(slices.Compact(slices.Clone(got))), n)
	}
}

// sinkDuplicates returns the values that occur more than once in sorted
// vs, as numbers in increasing order.
func sinkDuplicates(vs []string) []int {
	var out []int
	for i := 1; i < len(vs); i++ {
		if vs[i] == vs[i-1] && (i < 2 || vs[i-2] != vs[i]) {
			n, _ := strconv.Atoi(vs[i])
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// sinkCheckpointed reports whether a checkpoint completed in dir. (The
// files tell; Env.CheckpointStats is for after Execute.)
func sinkCheckpointed(dir string) bool {
	m, _ := filepath.Glob(filepath.Join(dir, "chk-*", "_metadata"))
	return len(m) > 0
}

// openTxn writes one record in a transaction on id and closes the producer
// without ending it, as a process that dies does. It returns the
// committable that names the transaction.
func openTxn(t *testing.T, addr, topic, id, value string) txnCommittable {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.TransactionalID(id), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte(value)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	pid, epoch, err := cl.ProducerID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return txnCommittable{ID: id, ProducerID: pid, Epoch: epoch, Checkpoint: 1, Records: 1}
}

// TestTxnCommitterCommitsDeadWritersTransaction: the committer commits a
// transaction a writer that no longer exists pre-committed, through its
// producer id and epoch; committing it again succeeds and changes
// nothing; a transaction that was aborted instead is logged as lost.
func TestTxnCommitterCommitsDeadWritersTransaction(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic = "dead"
	b := sinkBroker(t, topic, 1)
	defer b.Close()
	var logs bytes.Buffer
	snk := sinkNumberSink(t, b.Addr(), topic, ExactlyOnce, logTo(&logs))
	prefix := snk.cfg.prefix
	c := openTxn(t, b.Addr(), topic, txnID(prefix, 0, 0, 0), "prepared")
	if hwm, lso := sinkStableOffsets(t, b.Addr(), topic); lso[0] >= hwm[0] {
		t.Fatalf("the transaction is not open: lso %d, hwm %d", lso[0], hwm[0])
	}
	com, err := snk.NewCommitter()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 2 {
		if err := com.Commit(ctx, [][]byte{c.encode()}); err != nil {
			t.Fatalf("commit %d: %v", i+1, err)
		}
		if got := sinkValues(sinkRead(t, b.Addr(), topic, 1, true)); !slices.Equal(got, []string{"prepared"}) {
			t.Fatalf("after commit %d read_committed sees %q, want [prepared]", i+1, got)
		}
	}
	// The second commit knew the transaction from the first: a fresh
	// committer (a restarted process) asks the brokers again.
	fresh, _ := sinkNumberSink(t, b.Addr(), topic, ExactlyOnce).NewCommitter()
	if err := fresh.Commit(ctx, [][]byte{c.encode()}); err != nil {
		t.Fatalf("commit by a new process: %v", err)
	}

	aborted := openTxn(t, b.Addr(), topic, txnID(prefix, 0, 1, 0), "aborted")
	fencer, err := kgo.NewClient(kgo.SeedBrokers(b.Addr()))
	if err != nil {
		t.Fatal(err)
	}
	_, err = initTxnID(ctx, fencer, aborted.ID, time.Minute)
	fencer.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := com.Commit(ctx, [][]byte{aborted.encode()}); err != nil {
		t.Fatalf("commit an aborted transaction: %v, want it logged", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "records are lost") {
		t.Fatalf("committing an aborted transaction logged no error:\n%s", logs.String())
	}
	if got := sinkValues(sinkRead(t, b.Addr(), topic, 1, true)); !slices.Equal(got, []string{"prepared"}) {
		t.Fatalf("read_committed sees %q, want [prepared]", got)
	}
}

// sinkWriterCtx is a sink.WriterContext for writers driven by hand.
type sinkWriterCtx struct {
	subtask, par int
	restored     []byte
	attempt      int64
}

func (c sinkWriterCtx) Subtask() int        { return c.subtask }
func (c sinkWriterCtx) Parallelism() int    { return c.par }
func (c sinkWriterCtx) Checkpointing() bool { return true }
func (c sinkWriterCtx) Restored() []byte    { return c.restored }
func (c sinkWriterCtx) Attempt() int64      { return c.attempt }

// TestTxnZombieWriterLeavesTheLiveOneAlone: in a cluster, a worker cut off
// from the others (stopped, or on the wrong side of a partition) runs its
// old part of the job until it notices, while the new generation's writer
// of the same subtask already writes. The old writer, a zombie, begins a
// transaction (a window fired in it) while the new writer's transaction
// waits for its checkpoint: if the two shared transactional ids, the
// zombie's InitProducerID would fence the new writer and abort that
// transaction, and the commit that follows would find it gone: its records
// lost. Each attempt has ids of its own, so the new writer's records are
// committed; the zombie's are never visible.
func TestTxnZombieWriterLeavesTheLiveOneAlone(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic = "zombie"
	b := sinkBroker(t, topic, 1)
	defer b.Close()
	ctx := context.Background()
	pre := func(w sink.Writer[int], id int64) [][]byte {
		t.Helper()
		c, err := w.(sink.PreCommitter).PreCommit(ctx, id)
		if err != nil || len(c) != 1 {
			t.Fatalf("PreCommit = %d committables, %v; want one", len(c), err)
		}
		return c
	}
	// The old generation (a process of its own: a sink, its registry)
	// writes and commits checkpoint 1.
	old := sinkNumberSink(t, b.Addr(), topic, ExactlyOnce)
	oldCom, _ := old.NewCommitter()
	zombie, err := old.NewWriter(sinkWriterCtx{subtask: 0, par: 1, attempt: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	defer zombie.Close()
	if err := zombie.Write(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := oldCom.Commit(ctx, pre(zombie, 1)); err != nil {
		t.Fatal(err)
	}
	// The new generation restores checkpoint 1 and pre-commits checkpoint 2.
	cur := sinkNumberSink(t, b.Addr(), topic, ExactlyOnce)
	curCom, _ := cur.NewCommitter()
	st, err := zombie.(sink.StatefulWriter).SnapshotState(1)
	if err != nil {
		t.Fatal(err)
	}
	live, err := cur.NewWriter(sinkWriterCtx{subtask: 0, par: 1, attempt: 2 << 16, restored: st})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if err := live.Write(ctx, 2); err != nil {
		t.Fatal(err)
	}
	pending := pre(live, 2)
	// The zombie goes on: it begins a transaction. Another zombie of the
	// old generation, which was starting its part (a writer not yet
	// started; in a process of its own) when it was cut off, starts now:
	// it fences what it finds open of its subtask, its attempt or earlier.
	if err := zombie.Write(ctx, 666); err != nil {
		t.Fatal(err)
	}
	late, err := sinkNumberSink(t, b.Addr(), topic, ExactlyOnce).NewWriter(sinkWriterCtx{subtask: 0, par: 1, attempt: 1 << 16})
	if err != nil {
		t.Fatal(err)
	}
	defer late.Close()
	if err := late.Write(ctx, 667); err != nil {
		t.Fatal(err)
	}
	if err := curCom.Commit(ctx, pending); err != nil {
		t.Fatal(err)
	}
	zombie.Close()
	late.Close()
	if got := sinkValues(sinkRead(t, b.Addr(), topic, 1, true)); !slices.Equal(got, []string{"1", "2"}) {
		t.Fatalf("read_committed sees %q, want [1 2]: a zombie's transaction took the new writer's", got)
	}
	if hwm, lso := sinkStableOffsets(t, b.Addr(), topic); lso[0] != hwm[0] {
		t.Fatalf("last stable offset %d behind the high watermark %d: the zombies' transactions are still open", lso[0], hwm[0])
	}
}

// TestTxnWriterPool drives a writer by hand: a barrier without records
// pre-commits nothing; a writer whose producers all wait for checkpoints
// fails the next Write; a commit frees a producer; transactions commit in
// order, and what they hold becomes visible only then.
func TestTxnWriterPool(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic = "pool"
	b := sinkBroker(t, topic, 1)
	defer b.Close()
	snk := sinkNumberSink(t, b.Addr(), topic, ExactlyOnce, TransactionPool(2))
	com, _ := snk.NewCommitter()
	w, err := snk.NewWriter(sinkWriterCtx{subtask: 0, par: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	pre := w.(interface {
		PreCommit(context.Context, int64) ([][]byte, error)
	})
	ctx := context.Background()
	if c, err := pre.PreCommit(ctx, 1); err != nil || len(c) != 0 {
		t.Fatalf("PreCommit without records = %d committables, %v; want none", len(c), err)
	}
	var pending [][]byte
	for i := range 2 {
		if err := w.Write(ctx, i); err != nil {
			t.Fatal(err)
		}
		c, err := pre.PreCommit(ctx, int64(i+2))
		if err != nil || len(c) != 1 {
			t.Fatalf("PreCommit = %d committables, %v; want one", len(c), err)
		}
		pending = append(pending, c...)
	}
	if err := w.Write(ctx, 2); err == nil || !strings.Contains(err.Error(), "TransactionPool") {
		t.Fatalf("Write with every producer waiting = %v, want an error that names TransactionPool", err)
	}
	if got := sinkRead(t, b.Addr(), topic, 1, false); len(got) != 2 {
		t.Fatalf("read_uncommitted sees %d records, want the 2 pre-committed", len(got))
	}
	if err := com.Commit(ctx, pending[:1]); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(ctx, 2); err != nil {
		t.Fatalf("Write after a commit freed a producer: %v", err)
	}
	c, err := pre.PreCommit(ctx, 4)
	if err != nil || len(c) != 1 {
		t.Fatalf("PreCommit = %d committables, %v", len(c), err)
	}
	if err := com.Commit(ctx, append(pending[1:], c...)); err != nil {
		t.Fatal(err)
	}
	if got := sinkValues(sinkRead(t, b.Addr(), topic, 1, true)); !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Fatalf("read_committed sees %q, want 0, 1, 2", got)
	}
	st, err := w.(interface{ SnapshotState(int64) ([]byte, error) }).SnapshotState(4)
	if err != nil {
		t.Fatal(err)
	}
	if ws, err := decodeSinkWriterState(st); err != nil || ws.Parallelism != 1 || ws.Pool != 2 || ws.Prefix != "weir-pool" {
		t.Fatalf("writer state %s = %+v, %v", st, ws, err)
	}
}

// TestTxnWriterClosesWhileCommitting: a sink subtask that ended closes
// its writer while the committer may be committing the writer's last
// transaction through its producer (the job publishes an ended subtask's
// output when a later checkpoint completes). Each round closes and
// commits at once; every transaction must be committed, and the race
// detector must find nothing. Each round's transaction is also the first
// of a new producer client, whose first records race the topic's first
// metadata load: committed through franz-go's EndTransaction, one round in
// ten or so lost its record under load.
func TestTxnWriterClosesWhileCommitting(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic, rounds = "close", 10
	b := sinkBroker(t, topic, 1)
	defer b.Close()
	ctx := context.Background()
	for i := range rounds {
		snk := sinkNumberSink(t, b.Addr(), topic, ExactlyOnce)
		com, _ := snk.NewCommitter()
		w, err := snk.NewWriter(sinkWriterCtx{subtask: 0, par: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, i); err != nil {
			t.Fatal(err)
		}
		c, err := w.(sink.PreCommitter).PreCommit(ctx, int64(i+1))
		if err != nil || len(c) != 1 {
			t.Fatalf("PreCommit = %d committables, %v; want one", len(c), err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := com.Commit(ctx, c); err != nil {
				t.Errorf("round %d: commit: %v", i, err)
			}
		})
		wg.Go(func() { w.Close() })
		wg.Wait()
	}
	got := sinkValues(sinkRead(t, b.Addr(), topic, 1, true))
	if want := sinkNumbers(rounds); !slices.Equal(got, want) {
		t.Fatalf("read_committed sees %q, want %q", got, want)
	}
}

func TestTxnFenceIDs(t *testing.T) {
	for _, tc := range []struct {
		name               string
		subtask, par, pool int
		restored           *sinkWriterState
		want               []string
	}{
		{"fresh", 1, 2, 2, nil, []string{"p-1-0", "p-1-1"}},
		{"same parallelism", 0, 2, 2, &sinkWriterState{Prefix: "p", Parallelism: 2, Pool: 2}, []string{"p-0-0", "p-0-1"}},
		{"scale in", 0, 2, 2, &sinkWriterState{Prefix: "p", Parallelism: 5, Pool: 2},
			[]string{"p-0-0", "p-0-1", "p-2-0", "p-2-1", "p-4-0", "p-4-1"}},
		{"smaller pool", 1, 1, 1, &sinkWriterState{Prefix: "p", Parallelism: 2, Pool: 3},
			[]string{"p-1-0", "p-1-1", "p-1-2"}},
		{"new prefix", 0, 1, 1, &sinkWriterState{Prefix: "old", Parallelism: 1, Pool: 2}, []string{"p-0-0", "old-0-0", "old-0-1"}},
		{"no pool of its own", 1, 2, 0, &sinkWriterState{Prefix: "p", Parallelism: 4, Pool: 1}, []string{"p-1-0", "p-3-0"}},
		{"an epoch of a cluster", 1, 2, 1, &sinkWriterState{Prefix: "p", Parallelism: 2, Pool: 2, Attempt: 3 << 16},
			[]string{"p-1-0-a327680", "p-1-0-a196608", "p-1-1-a196608"}},
	} {
		attempt := int64(0)
		if tc.restored != nil && tc.restored.Attempt != 0 {
			attempt = 5 << 16
		}
		if got := fenceIDs("p", tc.subtask, tc.par, tc.pool, attempt, tc.restored); !slices.Equal(got, tc.want) {
			t.Errorf("%s: fenceIDs = %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestTxnParseID(t *testing.T) {
	for _, tc := range []struct {
		id      string
		j, n    int
		attempt int64
		ok      bool
	}{
		{"weir-t-3-7", 3, 7, 0, true},
		{"weir-t-12-0", 12, 0, 0, true},
		{"weir-t-3-7-a196613", 3, 7, 196613, true},
		{"weir-t-2-0-1", 0, 0, 0, false}, // another job's prefix "weir-t-2"
		{"weir-t-2-0-a", 0, 0, 0, false},
		{"weir-t-2-0-a0", 0, 0, 0, false},
		{"weir-t-2-0-a01", 0, 0, 0, false},
		{"weir-t-2-0-a-1", 0, 0, 0, false},
		{"weir-t-2-0-a1-", 0, 0, 0, false},
		{"weir-t-+1-0", 0, 0, 0, false},
		{"weir-t-01-0", 0, 0, 0, false},
		{"weir-t-1", 0, 0, 0, false},
		{"weir-u-1-0", 0, 0, 0, false},
		{"weir-t--1-0", 0, 0, 0, false},
	} {
		j, n, attempt, ok := parseTxnID("weir-t", tc.id)
		if ok != tc.ok || (ok && (j != tc.j || n != tc.n || attempt != tc.attempt)) {
			t.Errorf("parseTxnID(%q) = %d, %d, %d, %v; want %d, %d, %d, %v", tc.id, j, n, attempt, ok, tc.j, tc.n, tc.attempt, tc.ok)
		}
		if ok && txnID("weir-t", j, n, attempt) != tc.id {
			t.Errorf("txnID(parseTxnID(%q)) = %q", tc.id, txnID("weir-t", j, n, attempt))
		}
	}
}

func TestTxnFormats(t *testing.T) {
	c := txnCommittable{ID: "weir-t-0-1", ProducerID: 42, Epoch: 3, Checkpoint: 9, Records: 100}
	got, err := decodeTxnCommittable(c.encode())
	c.V = txnFormat
	if err != nil || got != c {
		t.Fatalf("round trip = %+v, %v", got, err)
	}
	for _, bad := range []string{`{`, `{"v":2,"txn":"a","pid":1}`, `{"v":1,"txn":"","pid":1}`, `{"v":1,"txn":"a","pid":-1}`} {
		if _, err := decodeTxnCommittable([]byte(bad)); err == nil {
			t.Errorf("decodeTxnCommittable(%s) accepted it", bad)
		}
	}
	for _, bad := range []string{`[]`, `{"v":9,"prefix":"p","parallelism":1,"pool":1}`, `{"v":1,"prefix":"","parallelism":1,"pool":1}`,
		`{"v":1,"prefix":"p","parallelism":1,"pool":1,"attempt":-1}`} {
		if _, err := decodeSinkWriterState([]byte(bad)); err == nil {
			t.Errorf("decodeSinkWriterState(%s) accepted it", bad)
		}
	}
}

// TestTxnLiveCommitFencedIsLost: a transaction this process's writer
// pre-committed, found fenced at its first commit, lost its records (no
// restart can have committed it: its id is this attempt's), and the
// committer says so as an error; a fenced commit of a restored
// transaction stays a warning, since a run before the restore may have
// committed it.
func TestTxnLiveCommitFencedIsLost(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	const topic = "fenced"
	b := sinkBroker(t, topic, 1)
	defer b.Close()
	var logs bytes.Buffer
	snk := sinkNumberSink(t, b.Addr(), topic, ExactlyOnce, logTo(&logs))
	com, _ := snk.NewCommitter()
	w, err := snk.NewWriter(sinkWriterCtx{subtask: 0, par: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	ctx := context.Background()
	if err := w.Write(ctx, 1); err != nil {
		t.Fatal(err)
	}
	pending, err := w.(interface {
		PreCommit(context.Context, int64) ([][]byte, error)
	}).PreCommit(ctx, 1)
	if err != nil || len(pending) != 1 {
		t.Fatalf("PreCommit = %d committables, %v; want one", len(pending), err)
	}
	fault := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}, Err: kerr.ProducerFenced})
	defer fault.Remove()
	if err := com.Commit(ctx, pending); err != nil {
		t.Fatalf("Commit of a fenced transaction: %v, want it logged", err)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "fenced before its commit: its records are lost") {
		t.Fatalf("a live transaction fenced at its commit logged no error:\n%s", logs.String())
	}

	logs.Reset()
	fault2 := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.EndTxn}, Err: kerr.ProducerFenced})
	defer fault2.Remove()
	fresh, _ := sinkNumberSink(t, b.Addr(), topic, ExactlyOnce, logTo(&logs)).NewCommitter()
	if err := fresh.Commit(ctx, pending); err != nil {
		t.Fatalf("Commit of a restored fenced transaction: %v, want it logged", err)
	}
	if strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "level=WARN") {
		t.Fatalf("a restored transaction fenced at its commit: want a warning, no error:\n%s", logs.String())
	}
}

// logTo is a sink option that logs, as text, to b.
func logTo(b *bytes.Buffer) Option { return WithLogger(slog.New(slog.NewTextHandler(b, nil))) }
