package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"

	"github.com/weirstream/weir/codec"
	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/keygroup"
	"github.com/weirstream/weir/internal/runtime"
	"github.com/weirstream/weir/internal/snapshot"
	"github.com/weirstream/weir/source"
)

// leakCheck fails the test if goroutines it started outlive it. It runs
// after the test's other cleanups (servers stopped, clients closed).
func leakCheck(t *testing.T) {
	t.Helper()
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// startServer serves cfg on a free loopback port until the test ends.
func startServer(t testing.TB, cfg ServerConfig) (*Server, string) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := NewServer(cfg)
	done := make(chan error, 1)
	go func() { done <- s.Serve(lis) }()
	t.Cleanup(func() {
		s.Stop()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return s, lis.Addr().String()
}

func dial(t testing.TB, addr string, sec Security) *Client {
	t.Helper()
	c, err := Dial(addr, sec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// transcript is what a receiving task did, in order.
type transcript struct {
	mu    sync.Mutex
	lines []string
}

func (tr *transcript) add(format string, args ...any) {
	tr.mu.Lock()
	tr.lines = append(tr.lines, fmt.Sprintf(format, args...))
	tr.mu.Unlock()
}

func (tr *transcript) get() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.lines)
}

// head is the chain of a receiving task: it writes what it gets.
type head struct{ tr *transcript }

func (h head) Collect(r *runtime.Record[string]) error {
	h.tr.add("record %s@%d", r.Value, r.Time)
	return nil
}
func (h head) Watermark(wm int64) error { h.tr.add("watermark %d", wm); return nil }
func (h head) End() error               { h.tr.add("end"); return nil }

// output stands for the receiving task's own outputs.
type output struct{ tr *transcript }

func (o output) Flush() error                              { return nil }
func (o output) Barrier(id int64) error                    { o.tr.add("barrier %d", id); return nil }
func (o output) UnalignedBarrier(id int64) error           { o.tr.add("unaligned barrier %d", id); return nil }
func (o output) LatencyMarker(runtime.LatencyMarker) error { return nil }

// receivingTask is the subtask that reads receiver 0 of ex, as the
// receiver's worker runs it, with checkpoint hooks that write to tr; every
// checkpoint is unaligned when unaligned is set.
func receivingTask(ex *runtime.Exchange[string], notify chan struct{}, tr *transcript, unaligned bool) *runtime.InputTask[string] {
	cp := &runtime.Checkpointing{
		Snapshot: func(_ context.Context, id int64, _ time.Duration) error {
			tr.add("snapshot %d", id)
			return nil
		},
		Unaligned: func(int64) bool { return unaligned },
		SnapshotUnaligned: func(_ context.Context, id int64) (func([]byte) error, error) {
			tr.add("snapshot unaligned %d", id)
			return func(state []byte) error {
				recs, err := runtime.DecodeChannelState(codec.For[string](), state)
				var vs []string
				for _, r := range recs {
					vs = append(vs, r.Value)
				}
				tr.add("channel state %d: %v", id, vs)
				return err
			}, nil
		},
	}
	return &runtime.InputTask[string]{
		Gate:          runtime.NewGate(ex.Inputs(0), notify),
		Head:          head{tr},
		Clock:         runtime.NewClock(),
		Outputs:       []runtime.Output{output{tr}},
		Metrics:       &runtime.Metrics{},
		Checkpointing: cp,
		Codec:         codec.For[string](),
	}
}

// processes are the two ends of one exchange: the sender's worker's and
// the receiver's, each with its own Exchange.
type processes struct {
	send, recv *runtime.Exchange[string]
	notify     chan struct{} // the receiving task's
}

func newProcesses(opts runtime.ExchangeOptions) processes {
	notify := make(chan struct{}, 1)
	return processes{
		// The sender's worker runs no receiver: nothing reads its notify.
		send:   runtime.NewExchange[string](runtime.Rebalance, 1, []chan struct{}{nil}, nil, opts),
		recv:   runtime.NewExchange[string](runtime.Rebalance, 1, []chan struct{}{notify}, nil, opts),
		notify: notify,
	}
}

// script is what the sending subtask emits in the end-to-end tests.
func script(w *runtime.Writer[string]) error {
	var errs []error
	for i := range 10 {
		errs = append(errs, w.Collect(&runtime.Record[string]{Value: fmt.Sprint("a", i), Time: int64(100 + i)}))
	}
	errs = append(errs, w.Watermark(105), w.Watermark(runtime.Idle), w.Barrier(1))
	for i := range 7 {
		errs = append(errs, w.Collect(&runtime.Record[string]{Value: fmt.Sprint("b", i), Time: runtime.NoTimestamp}))
	}
	errs = append(errs, w.Barrier(2), w.Watermark(runtime.EndOfTime), w.End())
	return errors.Join(errs...)
}

// TestDataStreamEndToEnd: records, watermarks, idleness, barriers and end
// of input that one worker's subtask sends to another's over the transport
// reach the receiving task as they do over an in-memory exchange, and the
// channel's streams close once the receiver has everything.
func TestDataStreamEndToEnd(t *testing.T) {
	leakCheck(t)
	ctx := context.Background()
	opts := runtime.ExchangeOptions{BatchSize: 4, BufferTimeout: time.Hour}

	// In one process.
	var local transcript
	notify := make(chan struct{}, 1)
	ex := runtime.NewExchange[string](runtime.Rebalance, 1, []chan struct{}{notify}, nil, opts)
	wrote := make(chan error, 1)
	go func() { wrote <- script(ex.Writer(ctx, 0, &runtime.Metrics{})) }()
	if err := receivingTask(ex, notify, &local, false).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}

	// Across two.
	srv, addr := startServer(t, ServerConfig{})
	srv.SetEpoch(3)
	p := newProcesses(opts)
	key := ChannelKey{Epoch: 3, Node: 7, Input: 1}
	unregister, err := srv.Register(key, p.recv)
	if err != nil {
		t.Fatal(err)
	}
	defer unregister()
	c := dial(t, addr, Security{})
	sent := make(chan error, 1)
	go func() {
		sent <- c.Channel(ctx, key, func(send, sendPrio func([]byte) error) error {
			return p.send.Outbound(ctx, 0, 0, send, sendPrio)
		})
	}()
	go func() { wrote <- script(p.send.Writer(ctx, 0, &runtime.Metrics{})) }()
	var remote transcript
	if err := receivingTask(p.recv, p.notify, &remote, false).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("Channel: %v", err)
	}
	if got, want := remote.get(), local.get(); !slices.Equal(got, want) {
		t.Fatalf("across workers the task did\n\t%s\nin one process\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
	if len(local.get()) < 20 {
		t.Fatalf("the in-process run did little: %v", local.get())
	}
}

// countingDeliverer counts the bytes handed to an exchange's Deliver, and
// says when the first element of the priority stream has been delivered.
type countingDeliverer struct {
	Deliverer
	bytes, elements atomic.Int64
	active          atomic.Int64 // calls in progress
	prio            chan struct{}
}

func (d *countingDeliverer) Deliver(ctx context.Context, s, r int, b []byte, prio bool) error {
	d.active.Add(1)
	defer d.active.Add(-1)
	if prio {
		// Say so only once the element is in the exchange: a task
		// started after the signal must find it there.
		err := d.Deliverer.Deliver(ctx, s, r, b, prio)
		select {
		case d.prio <- struct{}{}:
		default:
		}
		return err
	}
	d.bytes.Add(int64(len(b)))
	d.elements.Add(1)
	return d.Deliverer.Deliver(ctx, s, r, b, prio)
}

// eventually polls cond until it holds; a condition that never holds fails
// the test after a long while rather than hanging it.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("waited in vain for %s", what)
		}
	}
}

// forwarder is a task on the sending worker: it reads records from an
// upstream exchange in its process and writes them into the exchange that
// crosses workers. Its Metrics account its time as a task's do.
type forwarder struct {
	upstream *runtime.Writer[string] // what the test writes into
	metrics  *runtime.Metrics
	done     chan error
}

func startForwarder(ctx context.Context, out *runtime.Exchange[string]) *forwarder {
	notify := make(chan struct{}, 1)
	up := runtime.NewExchange[string](runtime.Forward, 1, []chan struct{}{notify}, nil, runtime.ExchangeOptions{BatchSize: 16, BufferTimeout: time.Hour})
	f := &forwarder{upstream: up.Writer(ctx, 0, &runtime.Metrics{}), metrics: &runtime.Metrics{}, done: make(chan error, 1)}
	w := out.Writer(ctx, 0, f.metrics)
	task := &runtime.InputTask[string]{
		Gate: runtime.NewGate(up.Inputs(0), notify), Head: w, Clock: runtime.NewClock(),
		Outputs: []runtime.Output{w}, Metrics: f.metrics,
	}
	go func() { f.done <- task.Run(ctx) }()
	return f
}

// TestDataStreamBackpressure: a receiving worker whose task reads nothing
// stops the sending worker's task: its Writer blocks and accounts
// backpressured time, while the bytes between Outbound and Deliver never
// pass InFlightBound. Once the receiver reads, every record arrives, in
// order.
func TestDataStreamBackpressure(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, addr := startServer(t, ServerConfig{})
	srv.SetEpoch(1)
	p := newProcesses(runtime.ExchangeOptions{BatchSize: 16, Capacity: 4, BufferTimeout: time.Hour})
	key := ChannelKey{Epoch: 1, Node: 2}
	d := &countingDeliverer{Deliverer: p.recv, prio: make(chan struct{}, 1)}
	if _, err := srv.Register(key, d); err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr, Security{})

	var sentBytes, largest, maxInFlight atomic.Int64
	sent := make(chan error, 1)
	go func() {
		sent <- c.Channel(ctx, key, func(send, sendPrio func([]byte) error) error {
			return p.send.Outbound(ctx, 0, 0, func(b []byte) error {
				n := sentBytes.Add(int64(len(b)))
				if int64(len(b)) > largest.Load() {
					largest.Store(int64(len(b)))
				}
				if in := n - d.bytes.Load(); in > maxInFlight.Load() {
					maxInFlight.Store(in)
				}
				return send(b)
			}, sendPrio)
		})
	}()
	f := startForwarder(ctx, p.send)
	const n = 50_000 // 5 MB of records
	value := strings.Repeat("v", 94)
	wrote := make(chan error, 1)
	go func() {
		for i := range n {
			if err := f.upstream.Collect(&runtime.Record[string]{Value: fmt.Sprintf("%05d%s", i, value), Time: int64(i)}); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- f.upstream.End()
	}()

	// The sender is stopped by the network once its task is backpressured
	// and the stream's window is in use.
	eventually(t, "the sending task to be backpressured by the network", func() bool {
		return f.metrics.Shares().Backpressured > 0 && sentBytes.Load()-d.bytes.Load() >= StreamWindow*3/4
	})
	bound := int64(InFlightBound(int(largest.Load())))
	t.Logf("at most %d bytes in flight (bound %d: window %d, write quota %d, 3 elements of at most %d); %d of %d bytes sent",
		maxInFlight.Load(), bound, StreamWindow, writeQuota, largest.Load(), sentBytes.Load(), n*102)
	if sentBytes.Load() > n*102/2 {
		t.Fatalf("%d bytes left the sender while the receiver read nothing", sentBytes.Load())
	}

	var tr transcript
	if err := receivingTask(p.recv, p.notify, &tr, false).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-wrote; err != nil {
		t.Fatal(err)
	}
	if err := <-f.done; err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("Channel: %v", err)
	}
	t.Logf("over the whole run: at most %d bytes in flight", maxInFlight.Load())
	if in := maxInFlight.Load(); in > bound {
		t.Fatalf("%d bytes were in flight on one stream, more than the bound %d", in, bound)
	}
	lines := tr.get()
	if len(lines) < n+1 || lines[len(lines)-1] != "end" {
		t.Fatalf("the receiver got %d elements, want %d records and end", len(lines), n)
	}
	for i, l := range lines[:n] {
		if want := fmt.Sprintf("record %05d%s@%d", i, value, i); l != want {
			t.Fatalf("element %d is %.20q, want %.20q", i, l, want)
		}
	}
}

// TestUnalignedBarrierOvertakesOverTheNetwork: while the receiving task
// reads nothing and the records it was sent wait in its channel, in the
// transport and in the sender's channel, an unaligned barrier reaches it
// by the priority stream; the task then snapshots, sends the barrier on at
// once, and stores every record sent before the barrier as the
// checkpoint's channel state.
func TestUnalignedBarrierOvertakesOverTheNetwork(t *testing.T) {
	leakCheck(t)
	ctx := context.Background()
	srv, addr := startServer(t, ServerConfig{})
	srv.SetEpoch(1)
	p := newProcesses(runtime.ExchangeOptions{BatchSize: 1, Capacity: 4}) // every record a batch
	key := ChannelKey{Epoch: 1, Node: 2}
	d := &countingDeliverer{Deliverer: p.recv, prio: make(chan struct{}, 1)}
	if _, err := srv.Register(key, d); err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr, Security{})
	sent := make(chan error, 1)
	go func() {
		sent <- c.Channel(ctx, key, func(send, sendPrio func([]byte) error) error {
			return p.send.Outbound(ctx, 0, 0, send, sendPrio)
		})
	}()
	w := p.send.Writer(ctx, 0, &runtime.Metrics{})
	const n = 8 // the receiver's channel holds 4, Deliver 1, the rest are behind
	var want []string
	for i := range n {
		want = append(want, fmt.Sprint("r", i))
		if err := w.Collect(&runtime.Record[string]{Value: want[i], Time: int64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "the receiver's channel to fill", func() bool { return d.elements.Load() == 5 })
	barrier := make(chan error, 1)
	go func() { barrier <- w.UnalignedBarrier(4) }()
	<-d.prio
	if got := d.elements.Load(); got != 5 {
		t.Fatalf("%d data elements reached Deliver before the barrier, want 5 (the channel is full)", got)
	}
	if err := <-barrier; err != nil {
		t.Fatal(err)
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}

	var tr transcript
	if err := receivingTask(p.recv, p.notify, &tr, true).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("Channel: %v", err)
	}
	lines := tr.get()
	head := []string{"snapshot unaligned 4", "unaligned barrier 4"}
	if !slices.Equal(lines[:2], head) {
		t.Fatalf("the task began with %q, want the checkpoint first: %q", lines[:2], head)
	}
	if state := fmt.Sprintf("channel state 4: %v", want); !slices.Contains(lines, state) {
		t.Fatalf("no %q in\n\t%s", state, strings.Join(lines, "\n\t"))
	}
	for i, v := range want {
		if !slices.Contains(lines, fmt.Sprintf("record %s@%d", v, i)) {
			t.Fatalf("record %s was not processed after the checkpoint", v)
		}
	}
}

// TestStaleGenerationRefused: a data stream, a control message or a
// registration of an older epoch than the server's is refused, and
// the sender's error wraps ErrStaleEpoch; a stream open when its
// epoch ends fails the same way.
func TestStaleGenerationRefused(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &recordingHandler{}
	srv, addr := startServer(t, ServerConfig{Handler: h})
	srv.SetEpoch(5)
	c := dial(t, addr, Security{})

	p := newProcesses(runtime.ExchangeOptions{})
	old := ChannelKey{Epoch: 4, Node: 1}
	if _, err := srv.Register(old, p.recv); err == nil {
		t.Fatal("a channel of epoch 4 was registered in epoch 5")
	}
	err := c.Channel(ctx, old, func(send, sendPrio func([]byte) error) error {
		t.Error("the stream of a stale epoch opened")
		return nil
	})
	if !errors.Is(err, ErrStaleEpoch) || !strings.Contains(err.Error(), "stale epoch 4, now 5") {
		t.Fatalf("Channel of epoch 4 = %v, want a stale epoch", err)
	}
	err = c.Ack(ctx, Ack{Epoch: 4, Checkpoint: 1})
	if !errors.Is(err, ErrStaleEpoch) || !strings.Contains(err.Error(), "stale epoch 4, now 5") {
		t.Fatalf("Ack of epoch 4 = %v, want a stale epoch", err)
	}
	if len(h.got()) != 0 {
		t.Fatalf("the handler saw %v", h.got())
	}

	// A stream that is open when its epoch ends: its Deliver is
	// cancelled and the sender hears why.
	key := ChannelKey{Epoch: 5, Node: 1}
	d := &countingDeliverer{Deliverer: p.recv, prio: make(chan struct{}, 1)}
	if _, err := srv.Register(key, d); err != nil {
		t.Fatal(err)
	}
	sent := make(chan error, 1)
	go func() {
		sent <- c.Channel(ctx, key, func(send, sendPrio func([]byte) error) error {
			return p.send.Outbound(ctx, 0, 0, send, sendPrio)
		})
	}()
	w := p.send.Writer(ctx, 0, &runtime.Metrics{})
	go func() {
		for i := 0; w.Collect(&runtime.Record[string]{Value: "x", Time: int64(i)}) == nil; i++ {
		}
	}()
	eventually(t, "the receiver's channel to fill", func() bool { return d.elements.Load() > 4 })
	srv.SetEpoch(6)
	if err := <-sent; !errors.Is(err, ErrStaleEpoch) || !strings.Contains(err.Error(), "epoch ended") {
		t.Fatalf("Channel when its epoch ended = %v, want a stale epoch", err)
	}
	cancel() // the writer, blocked
}

// TestChannelCancel: a sender blocked by a receiver that reads nothing
// returns when its context ends, and the receiving worker's Deliver,
// blocked on the full channel, returns too.
func TestChannelCancel(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithCancel(context.Background())
	srv, addr := startServer(t, ServerConfig{})
	srv.SetEpoch(1)
	p := newProcesses(runtime.ExchangeOptions{BatchSize: 1})
	key := ChannelKey{Epoch: 1}
	d := &countingDeliverer{Deliverer: p.recv, prio: make(chan struct{}, 1)}
	if _, err := srv.Register(key, d); err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr, Security{})
	sent := make(chan error, 1)
	go func() {
		sent <- c.Channel(ctx, key, func(send, sendPrio func([]byte) error) error {
			return p.send.Outbound(ctx, 0, 0, send, sendPrio)
		})
	}()
	w := p.send.Writer(ctx, 0, &runtime.Metrics{})
	wrote := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			if err := w.Collect(&runtime.Record[string]{Value: "x", Time: int64(i)}); err != nil {
				wrote <- err
				return
			}
		}
	}()
	eventually(t, "Deliver to block on the full channel", func() bool { return d.elements.Load() > 4 && d.active.Load() == 1 })
	cancel()
	if err := <-sent; !errors.Is(err, context.Canceled) {
		t.Fatalf("Channel = %v, want context.Canceled", err)
	}
	if err := <-wrote; !errors.Is(err, context.Canceled) {
		t.Fatalf("the writer returned %v, want context.Canceled", err)
	}
	eventually(t, "the receiver's Deliver to return", func() bool { return d.active.Load() == 0 })
}

// TestChannelWaitsForReceiver: a sender that opens a channel before the
// receiver's worker is in the epoch, and then before it registered
// the channel, retries until it can; then the data flows.
func TestChannelWaitsForReceiver(t *testing.T) {
	leakCheck(t)
	ctx := context.Background()
	logs := &syncBuffer{}
	srv, addr := startServer(t, ServerConfig{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	c := dial(t, addr, Security{})
	p := newProcesses(runtime.ExchangeOptions{})
	key := ChannelKey{Epoch: 2, Node: 3, Input: 1, Sender: 0, Receiver: 0}
	sent := make(chan error, 1)
	go func() {
		sent <- c.Channel(ctx, key, func(send, sendPrio func([]byte) error) error {
			return p.send.Outbound(ctx, 0, 0, send, sendPrio)
		})
	}()
	eventually(t, "a refusal: epoch not begun", func() bool { return strings.Contains(logs.String(), "epoch 2 has not begun here yet") })
	srv.SetEpoch(2)
	eventually(t, "a refusal: channel not registered", func() bool { return strings.Contains(logs.String(), "is not registered here yet") })
	if _, err := srv.Register(key, p.recv); err != nil {
		t.Fatal(err)
	}
	w := p.send.Writer(ctx, 0, &runtime.Metrics{})
	if err := errors.Join(w.Collect(&runtime.Record[string]{Value: "late", Time: 1}), w.End()); err != nil {
		t.Fatal(err)
	}
	var tr transcript
	if err := receivingTask(p.recv, p.notify, &tr, false).Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if got := tr.get(); len(got) == 0 || got[0] != "record late@1" {
		t.Fatalf("the receiver did %q", got)
	}
}

// TestBadElementFailsTheStream: bytes that are not an element end the
// stream with an error that the sender sees; the receiver stays up.
func TestBadElementFailsTheStream(t *testing.T) {
	leakCheck(t)
	ctx := context.Background()
	srv, addr := startServer(t, ServerConfig{})
	srv.SetEpoch(1)
	p := newProcesses(runtime.ExchangeOptions{})
	key := ChannelKey{Epoch: 1}
	if _, err := srv.Register(key, p.recv); err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr, Security{})
	err := c.Channel(ctx, key, func(send, _ func([]byte) error) error {
		if err := send([]byte{0x1f, 1, 2}); err != nil {
			return err
		}
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "unknown kind 15") || codeOf(err) != codes.InvalidArgument {
		t.Fatalf("Channel with a bad element = %v, want the receiver's refusal", err)
	}
	if err := c.Ack(ctx, Ack{Epoch: 1}); err == nil || codeOf(err) != codes.Unimplemented {
		t.Fatalf("the server is not up after a bad stream: %v", err)
	}
}

// codeOf returns the status code of a peer's refusal in err.
func codeOf(err error) codes.Code {
	var r *refusal
	if errors.As(err, &r) {
		return r.code
	}
	return codes.OK
}

// recordingHandler keeps every control message it is sent; it fails each
// with err when set.
type recordingHandler struct {
	mu   sync.Mutex
	msgs []any
	err  error
}

func (h *recordingHandler) take(m any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, m)
	return h.err
}

func (h *recordingHandler) got() []any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.msgs)
}

func (h *recordingHandler) Ack(_ context.Context, m Ack) error                 { return h.take(m) }
func (h *recordingHandler) Finished(_ context.Context, m Finished) error       { return h.take(m) }
func (h *recordingHandler) FinalCommit(_ context.Context, m FinalCommit) error { return h.take(m) }
func (h *recordingHandler) SplitRequest(_ context.Context, m SplitRequest) error {
	return h.take(m)
}
func (h *recordingHandler) Mailbox(_ context.Context, m Mailbox) error { return h.take(m) }
func (h *recordingHandler) Notify(_ context.Context, m Notify) error   { return h.take(m) }
func (h *recordingHandler) Failed(_ context.Context, m Failed) error   { return h.take(m) }
func (h *recordingHandler) Start(_ context.Context, m Start) (Started, error) {
	return Started{Nonce: uint64(m.Epoch) * 3}, h.take(m)
}
func (h *recordingHandler) Done(_ context.Context, m Done) error { return h.take(m) }
func (h *recordingHandler) Savepoint(_ context.Context, m SavepointRequest) (SavepointTaken, error) {
	return SavepointTaken{Path: fmt.Sprint("savepoint-", m.Epoch)}, h.take(m)
}
func (h *recordingHandler) Report(_ context.Context, m Report) (ReportTaken, error) {
	return ReportTaken{Have: uint64(m.Epoch) * 5}, h.take(m)
}
func (h *recordingHandler) View(_ context.Context, m ViewRequest) (View, error) {
	return testView(m.Epoch), h.take(m)
}

// testView is the view recordingHandler answers, every field set.
func testView(epoch int64) View {
	ack, align := 5*time.Millisecond, time.Millisecond
	return View{Epoch: epoch, Subtasks: []SubtaskReport{testSubtask("w-2")}, Exceptions: []Exception{testException("w-2", 3)},
		Checkpoints: []CheckpointView{{ID: 7, Status: "completed", Started: 1e18, Duration: time.Second, Size: 99, Failure: "f",
			Tasks: []TaskView{{Chain: 1, Subtask: 2, Ack: &ack, Alignment: &align,
				Timing: &TimingView{Barrier: 1, Aligned: 2, Snapshotted: 3, Uploaded: 4, Size: 5}}}}},
		Channels: []ChannelReport{{From: 1, To: 3, Queued: 2, Capacity: 8}}}
}

func testSubtask(worker string) SubtaskReport {
	return SubtaskReport{Worker: worker, Operator: "parse -> map", Subtask: 1, RecordsIn: 10, RecordsOut: 9, DeadLetters: 1,
		Busy: 1, Idle: 2, Backpressured: 3, InputWatermark: 4, OutputWatermark: 5,
		Splits:     []source.SplitProgress{{Split: "access-0", Position: 7, Lag: -1}},
		LatencyP50: 6, LatencyP99: 7, LatencySamples: 8,
		StateAccess: []StateAccessReport{{Backend: "heap", Op: "get", P50: 1, P99: 2, Count: 3}}, StateBytes: 11}
}

func testException(worker string, seq uint64) Exception {
	return Exception{Time: int64(seq) * 1e9, Worker: worker, Nonce: 1 << 62, Seq: seq, Epoch: 9 << 16, Operator: "map", Subtask: 1,
		Error: "map: boom", Stack: "goroutine 1", Restart: 2}
}

// controlMessages has one message of every kind, every field set.
func controlMessages(gen int64) []any {
	task := checkpoint.TaskID{Chain: 2, Subtask: 3}
	op := job.OperatorState{UID: "window", Parallelism: 4, Subtask: snapshot.Subtask{
		Index: 3, KeyGroups: [2]int{96, 128}, KeyedFile: "chk-7/window-3.keyed", KeyedSize: 1234, KeyedCRC: 0xdeadbeef,
		GroupOffsets: []int64{0, -1, 77}, OperatorState: []byte{1, 2}, ChannelState: []byte{3}, Finished: true,
	}}
	return []any{
		Ack{Epoch: gen, Task: task, Checkpoint: 7, Operators: []job.OperatorState{op}, Alignment: 3 * time.Millisecond, Declined: "no",
			Timing: &AckTiming{Barrier: 4, Aligned: 3, Snapshotted: 2, Uploaded: 1}},
		Finished{Epoch: gen, Task: task, Final: []job.FinalState{{UID: "window", Snapshot: job.OperatorSnapshot{
			Keyed:    map[int][]snapshot.Entry{97: {{State: "window/pane", Key: []byte("k"), Namespace: []byte("w"), Value: []byte("v")}}},
			KeyRange: keygroup.Range{Start: 96, End: 128}, State: []byte{7}}}}, Barrier: 7},
		FinalCommit{Epoch: gen, UID: "sink", Subtask: 1, Parallelism: 2, Committables: [][]byte{{1}, {}, {2, 3}}, State: []byte("s")},
		SplitRequest{Epoch: gen, Source: "kafka", Subtask: 5},
		Mailbox{Epoch: gen, Source: "kafka", Subtask: 5, Items: []MailItem{
			{Splits: [][]byte{[]byte("topic-0"), []byte("topic-1")}}, {Checkpoint: 8}, {NoMoreSplits: true}}},
		Notify{Epoch: gen, Task: task, Kind: runtime.Complete, Checkpoint: 7},
		Failed{Epoch: gen, Task: task, Error: "parse: bad line", Rejoined: true, Member: "w-1", Nonce: 1 << 63},
		Start{Epoch: gen, Restore: "s3://bucket/job/chk-00000000000000000007"},
		Done{Epoch: gen, Savepoint: "s3://bucket/job/savepoint-8-1"},
		SavepointRequest{Epoch: gen, Stop: true},
		Report{Epoch: gen, Worker: "w-2", Nonce: 1 << 62, Subtasks: []SubtaskReport{testSubtask("w-2")}, Exceptions: []Exception{testException("w-2", 3)},
			Channels: []ChannelReport{{From: 1, To: 3, Queued: 2, Capacity: 8}}},
		ViewRequest{Epoch: gen},
	}
}

func sendControl(ctx context.Context, c *Client, m any) error {
	switch m := m.(type) {
	case Ack:
		return c.Ack(ctx, m)
	case Finished:
		return c.Finished(ctx, m)
	case FinalCommit:
		return c.FinalCommit(ctx, m)
	case SplitRequest:
		return c.SplitRequest(ctx, m)
	case Mailbox:
		return c.Mailbox(ctx, m)
	case Notify:
		return c.Notify(ctx, m)
	case Failed:
		return c.Failed(ctx, m)
	case Start:
		st, err := c.Start(ctx, m)
		if want := (Started{Nonce: uint64(m.Epoch) * 3}); err == nil && st != want {
			return fmt.Errorf("Start answered %+v, want %+v", st, want)
		}
		return err
	case SavepointRequest:
		r, err := c.Savepoint(ctx, m)
		if want := fmt.Sprint("savepoint-", m.Epoch); err == nil && r.Path != want {
			return fmt.Errorf("Savepoint answered %+v, want %s", r, want)
		}
		return err
	case Done:
		return c.Done(ctx, m)
	case Report:
		r, err := c.Report(ctx, m)
		if want := (ReportTaken{Have: uint64(m.Epoch) * 5}); err == nil && r != want {
			return fmt.Errorf("Report answered %+v, want %+v", r, want)
		}
		return err
	case ViewRequest:
		v, err := c.View(ctx, m)
		if want := testView(m.Epoch); err == nil && !reflect.DeepEqual(v, want) {
			return fmt.Errorf("View answered %+v, want %+v", v, want)
		}
		return err
	}
	panic(fmt.Sprintf("no call for %T", m))
}

// TestControlRoundTrip: every control message reaches the handler as it
// was sent; a handler's error comes back to the caller; a server without a
// handler refuses; a message of another version or malformed is refused.
func TestControlRoundTrip(t *testing.T) {
	leakCheck(t)
	ctx := context.Background()
	h := &recordingHandler{}
	srv, addr := startServer(t, ServerConfig{Handler: h})
	srv.SetEpoch(9)
	c := dial(t, addr, Security{})
	msgs := controlMessages(9)
	for _, m := range msgs {
		if err := sendControl(ctx, c, m); err != nil {
			t.Fatalf("%T: %v", m, err)
		}
	}
	if got := h.got(); !reflect.DeepEqual(got, msgs) {
		t.Fatalf("the handler got\n\t%+v\nwant\n\t%+v", got, msgs)
	}
	if cmd := msgs[5].(Notify).Command(); cmd != (runtime.Command{Kind: runtime.Complete, ID: 7}) {
		t.Fatalf("Notify.Command() = %+v", cmd)
	}

	h.err = errors.New("checkpoint 7 is unknown")
	if err := c.Ack(ctx, msgs[0].(Ack)); err == nil || !strings.Contains(err.Error(), "checkpoint 7 is unknown") || codeOf(err) != codes.Unknown {
		t.Fatalf("Ack with a failing handler = %v", err)
	}

	for _, bad := range []struct {
		b    []byte
		want string
	}{
		{append([]byte{2}, 0xa0), "message version 2"},
		{[]byte{1, 0xff}, "malformed message"},
		{nil, "an empty message"},
	} {
		var resp []byte
		err := c.cc.Invoke(ctx, "/"+serviceName+"/Ack", &bad.b, &resp)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Ack of %x = %v, want %q", bad.b, err, bad.want)
		}
	}

	_, addr2 := startServer(t, ServerConfig{})
	if err := dial(t, addr2, Security{}).Ack(ctx, Ack{}); codeOf(err) != codes.Unimplemented {
		t.Fatalf("Ack to a server without a handler = %v", err)
	}
}

// syncBuffer is a bytes.Buffer for a logger and a test's goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FuzzDecodeMessage: a control message or stream header of any bytes
// decodes or fails with an error, never panics.
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range append(controlMessages(3), streamHeader{Channel: ChannelKey{Epoch: 1, Node: 2}, Prio: true}) {
		b, err := encodeMessage(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, m := range []any{&Ack{}, &Finished{}, &FinalCommit{}, &SplitRequest{}, &Mailbox{}, &Notify{}, &Failed{}, &Start{}, &Started{}, &Done{}, &streamHeader{}} {
			_ = decodeMessage(b, m)
		}
	})
}

// TestFinishedCarriesEveryFieldOfEnded: a task's end reaches the
// coordinator whole. A field of job.Ended that the message dropped (the
// last barrier the task took, say) would let a checkpoint complete with
// the task's final state where it must abort.
func TestFinishedCarriesEveryFieldOfEnded(t *testing.T) {
	e := job.Ended{Task: checkpoint.TaskID{Chain: 2, Subtask: 3}, Barrier: 7,
		Final: []job.FinalState{{UID: "window", Snapshot: job.OperatorSnapshot{State: []byte{7}}}}}
	v := reflect.ValueOf(e)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("the test's job.Ended leaves %s zero: set it, and carry it in Finished", v.Type().Field(i).Name)
		}
	}
	b, err := encodeMessage(finishedOf(5, e))
	if err != nil {
		t.Fatal(err)
	}
	var m Finished
	if err := decodeMessage(b, &m); err != nil {
		t.Fatal(err)
	}
	if got := m.ended(); m.Epoch != 5 || !reflect.DeepEqual(got, e) {
		t.Fatalf("the coordinator gets epoch %d, %+v; want 5, %+v", m.Epoch, got, e)
	}
}
