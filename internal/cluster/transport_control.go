package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/weirstream/weir/internal/checkpoint"
	"github.com/weirstream/weir/internal/job"
	"github.com/weirstream/weir/internal/runtime"
)

// The control plane: unary calls between the coordinator (the worker the
// group elected leader) and the other workers. Each message carries the
// epoch it belongs to; the server refuses other epochs before
// its Handler sees them. On the wire a message is one version byte
// (messageVersion) and the message's CBOR encoding (integer keys, so that
// it stays small); a server refuses another version, malformed CBOR, and
// nesting deeper than 32 levels, with codes.InvalidArgument. Fields the
// receiver does not know are ignored, so a field can be added without a
// new version; a field whose meaning changes needs one.

// messageVersion is the version byte of every control message and data
// stream header.
const messageVersion = 1

// Ack acknowledges checkpoint Checkpoint for task Task (worker →
// coordinator), or declines it.
type Ack struct {
	Epoch      int64             `cbor:"1,keyasint"`
	Task       checkpoint.TaskID `cbor:"2,keyasint"`
	Checkpoint int64             `cbor:"3,keyasint"`
	// Operators are the operators' states; their keyed state has been
	// written to the shared checkpoint location already.
	Operators []job.OperatorState `cbor:"4,keyasint,omitempty"`
	// Alignment is how long the task held back inputs for the barrier.
	Alignment time.Duration `cbor:"5,keyasint,omitempty"`
	// Declined, when not empty, says that the task could not take the
	// checkpoint, and why.
	Declined string `cbor:"6,keyasint,omitempty"`
	// Timing is when the task took each step of its part, for the
	// checkpoint's timeline; nil when unknown.
	Timing *AckTiming `cbor:"7,keyasint,omitempty"`
}

// AckTiming is when a task took the steps of its part in a checkpoint
// (job.Timing), each as the time before the acknowledgement left: the
// coordinator places them on its own clock when the acknowledgement
// arrives, so the workers' clocks need not agree (the one-way delay of
// the call shifts them, by well under a millisecond on a LAN).
type AckTiming struct {
	Barrier     time.Duration `cbor:"1,keyasint"`
	Aligned     time.Duration `cbor:"2,keyasint"`
	Snapshotted time.Duration `cbor:"3,keyasint"`
	Uploaded    time.Duration `cbor:"4,keyasint"`
}

// ackTiming returns the timing of tm as its acknowledgement leaves at now;
// nil when tm is unknown.
func ackTiming(tm job.Timing, now time.Time) *AckTiming {
	if tm.Uploaded.IsZero() {
		return nil
	}
	return &AckTiming{Barrier: now.Sub(tm.Barrier), Aligned: now.Sub(tm.Aligned), Snapshotted: now.Sub(tm.Snapshotted), Uploaded: now.Sub(tm.Uploaded)}
}

// at returns the timing on the receiver's clock, the acknowledgement
// having arrived at now; the zero Timing when t is nil.
func (t *AckTiming) at(now time.Time) job.Timing {
	if t == nil {
		return job.Timing{}
	}
	return job.Timing{Barrier: now.Add(-t.Barrier), Aligned: now.Add(-t.Aligned), Snapshotted: now.Add(-t.Snapshotted), Uploaded: now.Add(-t.Uploaded)}
}

// Finished says that task Task ended its input (worker → coordinator),
// with its operators' final state, which every later checkpoint holds.
type Finished struct {
	Epoch int64             `cbor:"1,keyasint"`
	Task  checkpoint.TaskID `cbor:"2,keyasint"`
	Final []job.FinalState  `cbor:"3,keyasint,omitempty"`
	// Barrier is the last checkpoint whose barrier the task took
	// (job.Ended).
	Barrier int64 `cbor:"4,keyasint,omitempty"`
}

// FinalCommit is what sink subtask Subtask of UID pre-committed at the end
// of its input (worker → coordinator); the coordinator publishes it once
// every task has ended.
type FinalCommit struct {
	Epoch        int64    `cbor:"1,keyasint"`
	UID          string   `cbor:"2,keyasint"`
	Subtask      int      `cbor:"3,keyasint"`
	Parallelism  int      `cbor:"4,keyasint"`
	Committables [][]byte `cbor:"5,keyasint,omitempty"`
	// State is the sink subtask's operator state holding Committables, as
	// a checkpoint that completes later records it.
	State []byte `cbor:"6,keyasint,omitempty"`
}

// SplitRequest is a source reader's request for a split (worker →
// coordinator, whose enumerator of source Source serves it).
type SplitRequest struct {
	Epoch   int64  `cbor:"1,keyasint"`
	Source  string `cbor:"2,keyasint"` // the source's UID
	Subtask int    `cbor:"3,keyasint"`
}

// Mailbox carries items of a reader's split mailbox (coordinator →
// worker), in order: a checkpoint marker's place among the assignments
// matters (runtime invariant 6).
type Mailbox struct {
	Epoch   int64      `cbor:"1,keyasint"`
	Source  string     `cbor:"2,keyasint"`
	Subtask int        `cbor:"3,keyasint"`
	Items   []MailItem `cbor:"4,keyasint"`
}

// MailItem is one item of a split mailbox: exactly one of its fields is
// set.
type MailItem struct {
	// Splits are assigned splits, each encoded by the source's split codec.
	Splits       [][]byte `cbor:"1,keyasint,omitempty"`
	NoMoreSplits bool     `cbor:"2,keyasint,omitempty"`
	// Checkpoint is the marker of a checkpoint the enumerator snapshotted.
	Checkpoint int64 `cbor:"3,keyasint,omitempty"`
}

// Notify delivers a coordinator's command to task Task (coordinator →
// worker): a checkpoint's completion or abort, or a source's trigger.
type Notify struct {
	Epoch      int64               `cbor:"1,keyasint"`
	Task       checkpoint.TaskID   `cbor:"2,keyasint"`
	Kind       runtime.CommandKind `cbor:"3,keyasint"`
	Checkpoint int64               `cbor:"4,keyasint"`
}

// Command returns the runtime command that n carries.
func (n Notify) Command() runtime.Command { return runtime.Command{Kind: n.Kind, ID: n.Checkpoint} }

// Failed says that task Task failed (worker → coordinator): the
// coordinator restarts the epoch on every worker.
//
// With Rejoined, worker Member says that its process started afresh in
// the generation its Epoch names (static membership keeps a worker
// restarted within its session timeout in its generation): if the
// process that took the generation's epoch had another Nonce, the epoch
// lost that worker's tasks and must start again.
type Failed struct {
	Epoch    int64             `cbor:"1,keyasint"`
	Task     checkpoint.TaskID `cbor:"2,keyasint"`
	Error    string            `cbor:"3,keyasint"`
	Rejoined bool              `cbor:"4,keyasint,omitempty"`
	Member   string            `cbor:"5,keyasint,omitempty"`
	Nonce    uint64            `cbor:"6,keyasint,omitempty"`
}

// Start begins an epoch of the job (coordinator → every worker, itself
// included): stop the tasks of the previous one, restore the checkpoint at
// Restore ("" for a fresh start) and run this worker's part of the job.
// A server takes it when its epoch is not newer than the server's.
type Start struct {
	Epoch   int64  `cbor:"1,keyasint"`
	Restore string `cbor:"2,keyasint,omitempty"`
	// Probe names what the coordinator wrote in the checkpoint location
	// (storage.WriteProbe), and Token its content: a worker that does not
	// read Token there does not share the location, and is refused.
	Probe string `cbor:"3,keyasint,omitempty"`
	Token string `cbor:"4,keyasint,omitempty"`
	// Lifetime places the epoch's attempt (job.Run.Attempt) above those of
	// the epochs started before it from the same checkpoint location (see
	// attemptOf).
	Lifetime int64 `cbor:"5,keyasint,omitempty"`
}

// Started answers Start: Nonce names the worker's process, random at its
// start, so that the coordinator can tell when it is replaced by another.
type Started struct {
	Nonce uint64 `cbor:"1,keyasint"`
}

// Done ends the job (coordinator → every worker): it finished, or stopped
// with a savepoint. Workers leave the cluster and return.
type Done struct {
	Epoch int64 `cbor:"1,keyasint"`
	// Savepoint is the savepoint the job stopped with, if it did.
	Savepoint string `cbor:"2,keyasint,omitempty"`
	// Error says why the job failed for good, if it did.
	Error string `cbor:"3,keyasint,omitempty"`
}

// SavepointRequest asks the coordinator for a savepoint of the job (a worker
// whose user asked for one → the coordinator), and to stop the job with
// it when Stop is set.
type SavepointRequest struct {
	Epoch int64 `cbor:"1,keyasint"`
	Stop  bool  `cbor:"2,keyasint,omitempty"`
}

// SavepointTaken answers SavepointRequest with the savepoint's location.
type SavepointTaken struct {
	Path string `cbor:"1,keyasint"`
}

// ErrNotReady is what a Handler returns for a message of the server's
// epoch that it cannot take yet (its tasks are still being built): the
// sender waits and tries again.
var ErrNotReady = status.Error(codes.Aborted, "cluster: this worker is not ready for the epoch yet")

// Handler receives the control messages of the server's epoch. The
// server calls it from its connections' goroutines, concurrently; a call
// returns when the message is taken (Notify: when the task has the command
// or has stopped). An error is returned to the sender's Client call
// (codes.Unknown, with the error's text: no secrets in it).
type Handler interface {
	Ack(ctx context.Context, m Ack) error
	Finished(ctx context.Context, m Finished) error
	FinalCommit(ctx context.Context, m FinalCommit) error
	SplitRequest(ctx context.Context, m SplitRequest) error
	Mailbox(ctx context.Context, m Mailbox) error
	Notify(ctx context.Context, m Notify) error
	Failed(ctx context.Context, m Failed) error
	Start(ctx context.Context, m Start) (Started, error)
	Done(ctx context.Context, m Done) error
	Savepoint(ctx context.Context, m SavepointRequest) (SavepointTaken, error)
	Report(ctx context.Context, m Report) (ReportTaken, error)
	View(ctx context.Context, m ViewRequest) (View, error)
}

// Ack sends m to the peer. Like every control call it waits while the
// peer is not reachable yet or not in m's epoch yet, until ctx ends;
// a refusal because m's epoch ended wraps ErrStaleEpoch.
func (c *Client) Ack(ctx context.Context, m Ack) error { return c.call(ctx, "Ack", m) }

// Finished sends m to the peer (see Ack).
func (c *Client) Finished(ctx context.Context, m Finished) error {
	return c.call(ctx, "Finished", m)
}

// FinalCommit sends m to the peer (see Ack).
func (c *Client) FinalCommit(ctx context.Context, m FinalCommit) error {
	return c.call(ctx, "FinalCommit", m)
}

// SplitRequest sends m to the peer (see Ack).
func (c *Client) SplitRequest(ctx context.Context, m SplitRequest) error {
	return c.call(ctx, "SplitRequest", m)
}

// Mailbox sends m to the peer (see Ack).
func (c *Client) Mailbox(ctx context.Context, m Mailbox) error {
	return c.call(ctx, "Mailbox", m)
}

// Notify sends m to the peer (see Ack).
func (c *Client) Notify(ctx context.Context, m Notify) error {
	return c.call(ctx, "Notify", m)
}

// Failed sends m to the peer (see Ack).
func (c *Client) Failed(ctx context.Context, m Failed) error {
	return c.call(ctx, "Failed", m)
}

// Start sends m to the peer (see Ack) and returns its answer.
func (c *Client) Start(ctx context.Context, m Start) (Started, error) {
	var r Started
	err := c.callReply(ctx, "Start", m, &r)
	return r, err
}

// Done sends m to the peer (see Ack).
func (c *Client) Done(ctx context.Context, m Done) error {
	return c.call(ctx, "Done", m)
}

// Savepoint sends m to the coordinator (see Ack) and waits for the
// savepoint, or until ctx ends.
func (c *Client) Savepoint(ctx context.Context, m SavepointRequest) (SavepointTaken, error) {
	var r SavepointTaken
	err := c.callReply(ctx, "Savepoint", m, &r)
	return r, err
}

func (c *Client) call(ctx context.Context, method string, m any) error {
	return c.callReply(ctx, method, m, nil)
}

// callReply sends m and decodes the answer into reply, unless it is nil.
func (c *Client) callReply(ctx context.Context, method string, m, reply any) error {
	b, err := encodeMessage(m)
	if err != nil {
		return err
	}
	resp, err := retry(ctx, func() ([]byte, error) {
		var resp []byte
		err := c.cc.Invoke(c.outgoing(ctx), "/"+serviceName+"/"+method, &b, &resp, grpc.WaitForReady(true))
		if err != nil {
			return nil, c.wrap(method, err)
		}
		return resp, nil
	})
	if err != nil || reply == nil {
		return err
	}
	if err := decodeMessage(resp, reply); err != nil {
		return fmt.Errorf("cluster: the answer to %s from %s: %w", method, c.addr, err)
	}
	return nil
}

const serviceName = "weir.cluster.v1.Transport"

// serviceDesc describes the service by hand: the raw codec makes protobuf
// descriptors unnecessary.
func serviceDesc() grpc.ServiceDesc {
	return grpc.ServiceDesc{
		ServiceName: serviceName,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{
			unary("Ack", func(m Ack) int64 { return m.Epoch }, Handler.Ack),
			unary("Finished", func(m Finished) int64 { return m.Epoch }, Handler.Finished),
			unary("FinalCommit", func(m FinalCommit) int64 { return m.Epoch }, Handler.FinalCommit),
			unary("SplitRequest", func(m SplitRequest) int64 { return m.Epoch }, Handler.SplitRequest),
			unary("Mailbox", func(m Mailbox) int64 { return m.Epoch }, Handler.Mailbox),
			unary("Notify", func(m Notify) int64 { return m.Epoch }, Handler.Notify),
			unaryNewer("Failed", func(m Failed) int64 { return m.Epoch }, Handler.Failed),
			unaryReplyNewer("Start", func(m Start) int64 { return m.Epoch }, Handler.Start),
			unaryNewer("Done", func(m Done) int64 { return m.Epoch }, Handler.Done),
			unaryReplyNewer("Savepoint", func(m SavepointRequest) int64 { return m.Epoch }, Handler.Savepoint),
			unaryChecked("Report", (*Server).checkEpoch, func(m Report) int64 { return m.Epoch }, Handler.Report),
			unaryReplyNewer("View", func(m ViewRequest) int64 { return m.Epoch }, Handler.View),
		},
		Streams: []grpc.StreamDesc{{
			StreamName:    "Data",
			Handler:       func(srv any, ss grpc.ServerStream) error { return srv.(*Server).serveData(srv, ss) },
			ClientStreams: true,
		}},
	}
}

// unaryNewer serves a control method that begins or ends epochs: it
// refuses one of an older generation (an epoch's high 48 bits) than the
// server's, and takes any other. Within a generation a coordinator that
// restarted counts its restarts from 0 again: its epochs are taken.
func unaryNewer[M any](name string, gen func(M) int64, call func(Handler, context.Context, M) error) grpc.MethodDesc {
	return unaryChecked(name, notOlder, gen, noReply(call))
}

// unaryReplyNewer is unaryNewer for a method that answers.
func unaryReplyNewer[M, R any](name string, gen func(M) int64, call func(Handler, context.Context, M) (R, error)) grpc.MethodDesc {
	return unaryChecked(name, notOlder, gen, call)
}

func notOlder(s *Server, g int64) error {
	if now := s.Epoch(); g>>16 < now>>16 {
		return status.Errorf(codes.FailedPrecondition, "stale epoch %d, now %d", g, now)
	}
	return nil
}

// unary serves one control method: token, version, decoding, epoch,
// then the handler.
func unary[M any](name string, gen func(M) int64, call func(Handler, context.Context, M) error) grpc.MethodDesc {
	return unaryChecked(name, (*Server).checkEpoch, gen, noReply(call))
}

// noAnswer is what a method that answers nothing answers.
type noAnswer struct{}

// noReply adapts a handler method that answers nothing.
func noReply[M any](call func(Handler, context.Context, M) error) func(Handler, context.Context, M) (*noAnswer, error) {
	return func(h Handler, ctx context.Context, m M) (*noAnswer, error) { return nil, call(h, ctx, m) }
}

func unaryChecked[M, R any](name string, check func(*Server, int64) error, gen func(M) int64, call func(Handler, context.Context, M) (R, error)) grpc.MethodDesc {
	return grpc.MethodDesc{
		MethodName: name,
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			s := srv.(*Server)
			if err := s.cfg.Security.authorize(ctx); err != nil {
				return nil, err
			}
			var b []byte
			if err := dec(&b); err != nil {
				return nil, err
			}
			var m M
			if err := decodeMessage(b, &m); err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "%v", err)
			}
			if err := check(s, gen(m)); err != nil {
				s.log.Debug("cluster: control message refused", "method", name, "reason", status.Convert(err).Message())
				return nil, err
			}
			if s.cfg.Handler == nil {
				return nil, status.Error(codes.Unimplemented, "this worker takes no control messages")
			}
			r, err := call(s.cfg.Handler, ctx, m)
			if err != nil {
				if _, ok := status.FromError(err); ok {
					return nil, err
				}
				return nil, status.Errorf(codes.Unknown, "%v", err)
			}
			if _, none := any(r).(*noAnswer); none {
				return &[]byte{}, nil
			}
			out, err := encodeMessage(r)
			if err != nil {
				return nil, status.Errorf(codes.Internal, "%v", err)
			}
			return &out, nil
		},
	}
}

// cborModes are the encoding and decoding options of control messages,
// made once.
var cborModes = sync.OnceValues(func() (cbor.EncMode, cbor.DecMode) {
	enc, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err) // fixed options: cannot fail
	}
	dec, err := cbor.DecOptions{
		DupMapKey:       cbor.DupMapKeyEnforcedAPF,
		IndefLength:     cbor.IndefLengthForbidden,
		MaxNestedLevels: 32,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return enc, dec
})

func encodeMessage(m any) ([]byte, error) {
	enc, _ := cborModes()
	b, err := enc.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("cluster: encode %T: %w", m, err)
	}
	return append([]byte{messageVersion}, b...), nil
}

func decodeMessage(b []byte, m any) error {
	if len(b) == 0 {
		return errors.New("an empty message")
	}
	if b[0] != messageVersion {
		return fmt.Errorf("message version %d, this worker reads version %d: run the same weir version on every worker", b[0], messageVersion)
	}
	_, dec := cborModes()
	if err := dec.Unmarshal(b[1:], m); err != nil {
		return fmt.Errorf("malformed message: %w", err)
	}
	return nil
}
