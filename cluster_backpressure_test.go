package weir_test

import (
	"context"
	"encoding/binary"
	"fmt"
	rt "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weirstream/weir"
	"github.com/weirstream/weir/internal/cluster"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/sink"
	"github.com/weirstream/weir/state"
	"github.com/weirstream/weir/weirtest"
)

// The job of the backpressure test. Subtask 0 of "source -> pad" emits
// bpRecords records of bpValueLen bytes, every one with the same key, whose
// key group belongs to subtask 1 of "route -> sink": on two workers of one
// slot each, that is the other worker, so every record crosses the network.
// Subtask 1 of the source emits nothing.
const (
	bpRecords  = 20_000
	bpValueLen = 1000
	bpBatch    = 16 // BatchSize
	bpCapacity = 4  // ChannelCapacity
)

// bpInFlightBound is the most records that can be between the pad
// operator's Emit (counted as emitted) and the sink's Write (counted as
// received) on the one channel from source subtask 0 to sink subtask 1,
// when every channel and the transport are as full as they may be:
//
//   - the sender's Writer: its partial batch, or the full one it is
//     blocked sending (BatchSize);
//   - the sender's exchange channel: ChannelCapacity batches;
//   - Outbound: the batch it took from that channel and is sending (its
//     element is counted again in the transport's bound: a margin);
//   - the transport: cluster.InFlightBound bytes of encoded elements, each
//     record at least its value, its length (a 2-byte uvarint) and its time
//     (a varint of at least a byte);
//   - the receiver's exchange channel: ChannelCapacity batches, one per
//     element, each at most a batch's records (an element never merges two
//     batches);
//   - the sink's task: the batch whose records it is writing.
//
// The largest element is its header and count, then a batch of the longest
// records (a time varint of up to 10 bytes: records without an event time
// differ from 0 by MinInt64), or, for a batch that passes
// runtime.ElementTarget, what stays under it and one record more.
func bpInFlightBound() (records int, derivation string) {
	minRecord := bpValueLen + 2 + 1
	maxRecord := bpValueLen + 2 + binary.MaxVarintLen64
	largest := 1 + binary.MaxVarintLen64 + min(bpBatch*maxRecord, runtime.ElementTarget-1+maxRecord)
	network := cluster.InFlightBound(largest) / minRecord
	channels := 3*bpBatch + 2*bpCapacity*bpBatch
	return channels + network, fmt.Sprintf("(3 + 2×%d capacity) × %d batch = %d records in the channels and tasks, + InFlightBound(%d) = %d bytes / %d = %d records in the transport",
		bpCapacity, bpBatch, channels, largest, cluster.InFlightBound(largest), minRecord, network)
}

// gatedSink writes a record only when the test releases one: the slowest
// sink there is.
type gatedSink struct {
	received atomic.Int64  // records handed to Write, the one it waits in included
	release  chan struct{} // one token per record to write; closed: write all
	mu       sync.Mutex
	seqs     []int
}

func (g *gatedSink) NewWriter(sink.WriterContext) (sink.Writer[string], error) {
	return gatedWriter{g}, nil
}

func (g *gatedSink) written() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]int(nil), g.seqs...)
}

type gatedWriter struct{ g *gatedSink }

func (w gatedWriter) Write(ctx context.Context, v string) error {
	w.g.received.Add(1)
	select {
	case <-w.g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	seq, err := strconv.Atoi(v[:8])
	if err != nil {
		return err
	}
	w.g.mu.Lock()
	w.g.seqs = append(w.g.seqs, seq)
	w.g.mu.Unlock()
	return nil
}

func (gatedWriter) Flush(context.Context) error { return nil }
func (gatedWriter) Close() error                { return nil }

// forward passes every record on.
type forward struct{}

func (forward) ProcessElement(ctx *weir.KeyedContext[string, string], v string) error {
	ctx.Emit(v)
	return nil
}
func (forward) OnTimer(*weir.KeyedContext[string, string], time.Time, weir.TimeDomain) error {
	return nil
}

// keyOfSubtask returns a key whose key group belongs to subtask of
// parallelism.
func keyOfSubtask(t *testing.T, subtask, parallelism int) string {
	t.Helper()
	hash, err := keygroup.Hasher[string]()
	if err != nil {
		t.Fatal(err)
	}
	const maxPar = keygroup.DefaultMaxParallelism
	for i := range 100 {
		k := fmt.Sprintf("key-%d", i)
		if keygroup.Subtask(keygroup.Of(hash(k), maxPar), maxPar, parallelism) == subtask {
			return k
		}
	}
	t.Fatalf("no key of 100 belongs to subtask %d of %d", subtask, parallelism)
	return ""
}

// backpressureJob builds the job of TestClusterBackpressureCrossesTheNetwork
// on one worker; emitted and out are shared by the workers.
func backpressureJob(env *weir.Env, key string, emitted *atomic.Int64, out *gatedSink) {
	seqs := make([]int, 2*bpRecords) // subtask 0 reads the first half
	for i := range seqs {
		seqs[i] = i
	}
	pad := strings.Repeat("x", bpValueLen-8)
	s := weir.FromSource(env, weirtest.FromSlice(seqs...), weir.Name("source"))
	padded := weir.Process(s, func(ctx *weir.Context, seq int, out weir.Emitter[string]) error {
		if ctx.Subtask() != 0 {
			return nil
		}
		emitted.Add(1) // before Emit: a record counts once the Writer holds it
		out.Emit(fmt.Sprintf("%08d", seq) + pad)
		return nil
	}, weir.Name("pad"))
	routed := weir.ProcessKeyed(weir.KeyBy(padded, func(string) string { return key }),
		func(*state.Store[string]) weir.KeyedProcessFunction[string, string, string] { return forward{} }, weir.Name("route"))
	weir.SinkTo(routed, out, weir.Name("sink"))
}

// TestClusterBackpressureCrossesTheNetwork runs a job on two workers of one
// slot each whose source on worker A feeds, through a keyed exchange, a
// sink on worker B that writes only the records the test releases. It
// shows that backpressure crosses the network exchange end to end: while
// the sink is held, and while it is let through a few hundred records at a
// time, the records the source has emitted and the sink has not received
// never pass the bound that the buffers' sizes give (bpInFlightBound), the
// source's task on worker A accounts most of its time as backpressured,
// and once the sink is let go every record arrives, once, in order.
//
// It fails if any buffer on the way is unbounded, such as a receiving
// server that reads a stream without waiting for Deliver, or a stream
// window far larger than StreamWindow: the source then emits all its
// records while the sink holds the first.
func TestClusterBackpressureCrossesTheNetwork(t *testing.T) {
	bound, derivation := bpInFlightBound()
	if bound*5 > bpRecords {
		t.Fatalf("the bound of %d records in flight (%s) is too close to the %d records the source emits: emit more", bound, derivation, bpRecords)
	}
	key := keyOfSubtask(t, 1, 2)
	brokers := []string{startBroker(t)}
	dir := t.TempDir()
	var emitted atomic.Int64
	out := &gatedSink{release: make(chan struct{}, bpRecords)}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	var wg sync.WaitGroup
	envs := make([]*weir.Env, 2)
	errs := make([]error, 2)
	for i := range envs {
		// No checkpoint is due while the test runs (an hour), and a failure
		// must not restart the job: a restart would emit the records again.
		envs[i] = weir.NewEnv(weir.Checkpoints(time.Hour, dir), weir.Restart(weir.NoRestart()),
			weir.BatchSize(bpBatch), weir.ChannelCapacity(bpCapacity),
			weir.Cluster(weir.ClusterConfig{
				// The default session timeout (10s): a worker starved of CPU
				// for a moment must not be taken for dead, which would
				// restart the job.
				Brokers: brokers, Name: "backpressure", Advertise: "127.0.0.1:0", Slots: 1, MinWorkers: 2,
				ID: fmt.Sprintf("worker-%d", i),
			}))
		backpressureJob(envs[i], key, &emitted, out)
		wg.Go(func() { errs[i] = envs[i].Execute(ctx, "backpressure") })
	}
	released := false
	defer func() {
		if !released {
			close(out.release)
		}
		cancel()
		wg.Wait()
	}()

	// inFlight is what the source emitted and the sink has not received,
	// read in that order: received can only grow between the two reads,
	// so the difference never exceeds what was really in flight.
	var maxInFlight int64
	check := func() {
		t.Helper()
		if e := emitted.Load(); e > bpRecords {
			t.Fatalf("the source emitted %d records, more than its %d: the job restarted (see the log), and the counts mean nothing", e, bpRecords)
		}
		in := emitted.Load() - out.received.Load()
		maxInFlight = max(maxInFlight, in)
		if in > int64(bound) {
			t.Fatalf("%d records in flight between source subtask 0 and sink subtask 1 (emitted %d, the sink received %d), more than the bound of %d: %s",
				in, emitted.Load(), out.received.Load(), bound, derivation)
		}
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for check(); !cond(); check() {
			if time.Now().After(deadline) {
				t.Fatalf("waited 20s for %s: emitted %d, received %d", what, emitted.Load(), out.received.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	// source finds the metrics of source subtask 0 and the worker that
	// runs it.
	source := func() (weir.SubtaskMetrics, int, bool) {
		for i, env := range envs {
			for _, m := range env.Metrics() {
				if strings.HasPrefix(m.Operator, "source") && m.Subtask == 0 {
					return m, i, true
				}
			}
		}
		return weir.SubtaskMetrics{}, -1, false
	}

	// Held: the sink waits in its first Write.
	waitFor("the sink's first record", func() bool { return out.received.Load() >= 1 })
	before, workerA, ok := source()
	if !ok {
		t.Fatal("no worker runs source subtask 0")
	}
	waitFor("the source to be backpressured for half a second", func() bool {
		m, _, _ := source()
		return m.Backpressured-before.Backpressured >= 500*time.Millisecond
	})
	after, _, _ := source()
	bp, wall := after.Backpressured-before.Backpressured, wallTime(after)-wallTime(before)
	t.Logf("while the sink was held: %d records emitted, %d received; source subtask 0 on worker %d backpressured %v of %v",
		emitted.Load(), out.received.Load(), workerA, bp, wall)
	if bp < wall/2 {
		t.Errorf("the source's task was backpressured %v of the %v the sink was held, want most of it (busy %v, idle %v)",
			bp, wall, after.Busy-before.Busy, after.Idle-before.Idle)
	}

	// Slow: let the sink through 300 records at a time; each time the
	// source fills what the sink took and is held back again.
	const steps, step = 5, 300
	for i := range steps {
		for range step {
			out.release <- struct{}{}
		}
		writtenSoFar := int64((i + 1) * step)
		waitFor(fmt.Sprintf("the sink to write %d records", writtenSoFar), func() bool { return out.received.Load() >= writtenSoFar+1 })
		mark, _, _ := source()
		waitFor("the source to be backpressured again", func() bool {
			m, _, _ := source()
			return m.Backpressured-mark.Backpressured >= 100*time.Millisecond
		})
	}
	t.Logf("after %d records written slowly: %d emitted, %d received, at most %d in flight (bound %d: %s)",
		steps*step, emitted.Load(), out.received.Load(), maxInFlight, bound, derivation)

	// Memory: the live heap does not grow with the records that pass. It
	// is measured with the sink held (h1), then again once 10,000 records
	// (10 MB) more went through at the sink's full speed and the source is
	// held back again (h2). Whatever the job holds is bounded, so the two
	// differ by noise (pools, free lists, the broker's and gRPC's own
	// state), far less than a quarter of what passed.
	const fast = 10_000
	h1 := liveHeap()
	for range fast {
		out.release <- struct{}{}
	}
	writtenSoFar := int64(steps*step + fast)
	waitFor(fmt.Sprintf("the sink to write %d records", writtenSoFar), func() bool { return out.received.Load() >= writtenSoFar+1 })
	mark, _, _ := source()
	waitFor("the source to be backpressured again", func() bool {
		m, _, _ := source()
		return m.Backpressured-mark.Backpressured >= 100*time.Millisecond
	})
	h2 := liveHeap()
	t.Logf("live heap %d KiB with the sink held after %d records, %d KiB after %d: %+d KiB",
		h1>>10, steps*step, h2>>10, writtenSoFar, (int64(h2)-int64(h1))>>10)
	if limit := uint64(fast * bpValueLen / 4); h2 > h1+limit {
		t.Errorf("the live heap grew by %d KiB while %d records of %d bytes passed, more than %d KiB: something holds records it passed on",
			(h2-h1)>>10, fast, bpValueLen, limit>>10)
	}

	// Released: every record arrives, once, in order.
	close(out.release)
	released = true
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
	}
	got := out.written()
	if len(got) != bpRecords {
		t.Fatalf("the sink wrote %d records, want %d", len(got), bpRecords)
	}
	for i, seq := range got {
		if seq != i {
			t.Fatalf("record %d written is %d, want %d: the channel lost, repeated or reordered records", i, seq, i)
		}
	}
	// The sink that wrote them ran on the other worker: the records
	// crossed the network.
	for _, m := range envs[workerA].Metrics() {
		if strings.HasPrefix(m.Operator, "route") && m.RecordsIn > 0 {
			t.Fatalf("the sink's subtask %d on worker %d, the source's, received %d records: none crossed the network", m.Subtask, workerA, m.RecordsIn)
		}
	}
	var remote int64
	for _, m := range envs[1-workerA].Metrics() {
		if strings.HasPrefix(m.Operator, "route") {
			remote += m.RecordsIn
		}
	}
	if remote != bpRecords {
		t.Fatalf("the sink on the other worker received %d records, want %d", remote, bpRecords)
	}
}

func wallTime(m weir.SubtaskMetrics) time.Duration { return m.Busy + m.Idle + m.Backpressured }

// liveHeap returns the bytes of heap objects that survive a full garbage
// collection (two: the first only moves pooled buffers to the victim cache).
func liveHeap() uint64 {
	rt.GC()
	rt.GC()
	var ms rt.MemStats
	rt.ReadMemStats(&ms)
	return ms.HeapAlloc
}
