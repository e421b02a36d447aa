package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// ChannelKey names one channel of an exchange that crosses workers: the
// channel from subtask Sender of the producing operator to subtask
// Receiver of the consuming one, on the edge into input Input of node Node
// (the consuming node's id in the job graph), in epoch Epoch.
type ChannelKey struct {
	Epoch    int64 `cbor:"1,keyasint"`
	Node     int   `cbor:"2,keyasint"`
	Input    int   `cbor:"3,keyasint"`
	Sender   int   `cbor:"4,keyasint"`
	Receiver int   `cbor:"5,keyasint"`
}

func (k ChannelKey) String() string {
	return fmt.Sprintf("epoch %d, node %d input %d, subtask %d to %d", k.Epoch, k.Node, k.Input, k.Sender, k.Receiver)
}

// Deliverer takes the elements of the channels registered with it;
// *runtime.Exchange implements it.
type Deliverer interface {
	// Deliver puts one element that sender sent to receiver into their
	// channel, prio saying it came on the priority stream. It blocks while
	// the channel is full, until ctx ends. b is valid only during the call.
	// An error ends the stream: the sender's Channel fails.
	Deliver(ctx context.Context, sender, receiver int, b []byte, prio bool) error
}

// registration is a channel whose receiver runs here.
type registration struct {
	d      Deliverer
	ctx    context.Context // ends when the channel is unregistered or its epoch ends
	cancel context.CancelFunc
}

// Register makes the server deliver the streams of channel key to d, for
// the receiver running here. key.Epoch must be the server's
// epoch (SetEpoch comes first). Streams of a channel that is not
// registered yet are asked to retry, so the sender may start first.
// unregister cancels the channel's streams (their Deliver calls see their
// context end) and forgets it; SetEpoch does the same for every
// channel of the previous epoch.
func (s *Server) Register(key ChannelKey, d Deliverer) (unregister func(), err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if key.Epoch != s.mu.gen {
		return nil, fmt.Errorf("cluster: register channel %v: the server is in epoch %d: call SetEpoch first", key, s.mu.gen)
	}
	if s.mu.chans[key] != nil {
		return nil, fmt.Errorf("cluster: channel %v is registered already", key)
	}
	ctx, cancel := context.WithCancel(s.mu.genCtx)
	r := &registration{d: d, ctx: ctx, cancel: cancel}
	s.mu.chans[key] = r
	return func() {
		cancel()
		s.mu.Lock()
		if s.mu.chans[key] == r {
			delete(s.mu.chans, key)
		}
		s.mu.Unlock()
	}, nil
}

// lookup returns the registration of a stream's channel, or the status
// that refuses the stream.
func (s *Server) lookup(key ChannelKey) (*registration, error) {
	if err := s.checkEpoch(key.Epoch); err != nil {
		return nil, err
	}
	s.mu.Lock()
	r := s.mu.chans[key]
	s.mu.Unlock()
	if r == nil {
		return nil, status.Errorf(codes.Aborted, "channel %v is not registered here yet", key)
	}
	return r, nil
}

// streamHeader is the first message of a data stream: the channel, and
// whether the stream is its priority stream.
type streamHeader struct {
	Channel ChannelKey `cbor:"1,keyasint"`
	Prio    bool       `cbor:"2,keyasint,omitempty"`
}

const (
	dataMethod = "/" + serviceName + "/Data"
	// openHeader is the response header by which a server accepts a data
	// stream: elements may follow.
	openHeader = "weir-channel"
)

var dataStream = grpc.StreamDesc{StreamName: "Data", ClientStreams: true}

// serveData receives one data stream: its header, then elements, each
// delivered before the next is read.
func (s *Server) serveData(_ any, ss grpc.ServerStream) error {
	if err := s.cfg.Security.authorize(ss.Context()); err != nil {
		return err
	}
	var b []byte
	if err := ss.RecvMsg(&b); err != nil {
		return err
	}
	var h streamHeader
	if err := decodeMessage(b, &h); err != nil {
		return status.Errorf(codes.InvalidArgument, "data stream header: %v", err)
	}
	reg, err := s.lookup(h.Channel)
	if err != nil {
		s.log.Debug("cluster: data stream refused", "channel", h.Channel.String(), "priority", h.Prio, "reason", status.Convert(err).Message())
		return err
	}
	ctx, cancel := context.WithCancel(ss.Context())
	defer cancel()
	defer context.AfterFunc(reg.ctx, cancel)()
	if err := ss.SendHeader(metadata.Pairs(openHeader, "open")); err != nil {
		return err
	}
	for {
		if err := ss.RecvMsg(&b); err == io.EOF {
			return ss.SendMsg(&[]byte{})
		} else if err != nil {
			return err
		}
		if err := reg.d.Deliver(ctx, h.Channel.Sender, h.Channel.Receiver, b, h.Prio); err != nil {
			switch {
			case reg.ctx.Err() != nil:
				return status.Errorf(codes.FailedPrecondition, "the channel closed: its epoch ended (now %d) or its receiver stopped", s.Epoch())
			case ctx.Err() != nil:
				return status.FromContextError(ctx.Err()).Err()
			}
			return status.Errorf(codes.InvalidArgument, "%v", err)
		}
	}
}

// Channel streams channel key to the worker this client is connected to,
// which runs its receiver. It opens the data stream, waiting and retrying
// while the peer is not up, is not in key's epoch yet, or has not
// registered the channel, until ctx ends; then it calls run with the
// stream's send functions, typically
//
//	c.Channel(ctx, key, func(send, sendPrio func([]byte) error) error {
//		return ex.Outbound(ctx, key.Sender, key.Receiver, send, sendPrio)
//	})
//
// send sends one element on the data stream and blocks while the stream's
// window is full (backpressure); sendPrio sends one on the priority
// stream, which it opens at its first call. Neither keeps the slice. Once
// run returns nil, Channel closes the streams and waits until the receiver
// has delivered every element; when run fails, or a send fails, it cancels
// the streams. A refusal because key's epoch ended wraps
// ErrStaleEpoch.
func (c *Client) Channel(ctx context.Context, key ChannelKey, run func(send, sendPrio func([]byte) error) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	data, err := c.openStream(ctx, streamHeader{Channel: key})
	if err != nil {
		return err
	}
	var prio *outStream
	sendPrio := func(b []byte) error {
		if prio == nil {
			p, err := c.openStream(ctx, streamHeader{Channel: key, Prio: true})
			if err != nil {
				cancel()
				return err
			}
			prio = p
		}
		if err := prio.send(b); err != nil {
			cancel() // the data stream's send returns too
			return err
		}
		return nil
	}
	if err := run(data.send, sendPrio); err != nil {
		return err
	}
	if err := data.close(); err != nil {
		return err
	}
	if prio != nil {
		return prio.close()
	}
	return nil
}

// outStream is the sending end of one data stream.
type outStream struct {
	c      *Client
	h      streamHeader
	st     grpc.ClientStream
	cancel context.CancelFunc // ends the stream
}

// openStream opens a data stream and waits until the server accepted its
// header, retrying with backoff while the server asks to.
func (c *Client) openStream(ctx context.Context, h streamHeader) (*outStream, error) {
	hdr, err := encodeMessage(h)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("channel %v", h.Channel)
	if h.Prio {
		what = fmt.Sprintf("priority stream of channel %v", h.Channel)
	}
	return retry(ctx, func() (*outStream, error) {
		sctx, cancel := context.WithCancel(ctx)
		st, err := c.cc.NewStream(c.outgoing(sctx), &dataStream, dataMethod, grpc.WaitForReady(true))
		if err == nil {
			err = st.SendMsg(&hdr)
			if err == nil || err == io.EOF {
				var md metadata.MD
				md, err = st.Header()
				if err == nil && len(md.Get(openHeader)) == 0 {
					// Ended without accepting: the status says why.
					err = st.RecvMsg(&[]byte{})
					if err == nil {
						err = status.Error(codes.Internal, "the stream ended before it opened")
					}
				}
			}
		}
		if err != nil {
			cancel()
			return nil, c.wrap(what, err)
		}
		return &outStream{c: c, h: h, st: st, cancel: cancel}, nil
	})
}

func (o *outStream) send(b []byte) error {
	err := o.st.SendMsg(&b)
	if err == io.EOF {
		// The server ended the stream; its status says why.
		if err = o.st.RecvMsg(&[]byte{}); err == nil {
			err = status.Error(codes.Internal, "the receiver ended the stream early")
		}
	}
	if err != nil {
		return o.c.wrap(fmt.Sprintf("channel %v", o.h.Channel), err)
	}
	return nil
}

// close ends the stream and waits until the server delivered everything.
func (o *outStream) close() error {
	defer o.cancel()
	if err := o.st.CloseSend(); err != nil {
		return o.c.wrap(fmt.Sprintf("channel %v", o.h.Channel), err)
	}
	if err := o.st.RecvMsg(&[]byte{}); err != nil {
		return o.c.wrap(fmt.Sprintf("channel %v", o.h.Channel), err)
	}
	return nil
}

// retry calls f until it succeeds, fails with an error other than a
// request to retry (codes.Aborted), or ctx ends, waiting between tries from
// 5 ms, doubling up to half a second.
func retry[T any](ctx context.Context, f func() (T, error)) (T, error) {
	wait := 5 * time.Millisecond
	for {
		v, err := f()
		var r *refusal
		if err == nil || !errors.As(err, &r) || r.code != codes.Aborted {
			return v, err
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return v, fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}
