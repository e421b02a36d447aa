package cluster

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Client is a worker's connection to one peer's Server: control calls and
// the data streams of the channels whose receivers the peer runs. It is
// safe for concurrent use; each call and stream is independent.
type Client struct {
	addr string
	sec  Security
	cc   *grpc.ClientConn
}

// Dial returns a client of the server at addr (host:port). It connects in
// the background: calls wait until the connection is up or their context
// ends. Without Security.TLS it refuses an address that is not loopback,
// unless Security.Insecure (see Security).
func Dial(addr string, sec Security) (*Client, error) {
	if err := sec.checkClient(addr); err != nil {
		return nil, err
	}
	cc, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(sec.credentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{}), grpc.MaxCallRecvMsgSize(maxMessage)), // answers as large as a server takes
		grpc.WithStaticStreamWindowSize(StreamWindow),
		grpc.WithStaticConnWindowSize(ConnWindow),
	)
	if err != nil {
		return nil, fmt.Errorf("cluster: peer %s: %w", addr, err)
	}
	return &Client{addr: addr, sec: sec, cc: cc}, nil
}

// Addr returns the peer's address.
func (c *Client) Addr() string { return c.addr }

// Close closes the connection; calls and streams in progress fail.
func (c *Client) Close() error { return c.cc.Close() }

// outgoing adds the token to a call's context.
func (c *Client) outgoing(ctx context.Context) context.Context {
	if c.sec.Token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+c.sec.Token)
}

// refusal is a peer's answer to a call that failed: its status code and
// message.
type refusal struct {
	code codes.Code
	msg  string
}

func (r *refusal) Error() string { return r.msg }

// Is makes a refusal because of an ended epoch match
// ErrStaleEpoch.
func (r *refusal) Is(target error) bool {
	return target == ErrStaleEpoch && r.code == codes.FailedPrecondition
}

// Unwrap returns the context's error when the call ended with its context.
func (r *refusal) Unwrap() error {
	switch r.code {
	case codes.Canceled:
		return context.Canceled
	case codes.DeadlineExceeded:
		return context.DeadlineExceeded
	}
	return nil
}

// wrap turns a gRPC error into one that names the call and the peer.
func (c *Client) wrap(what string, err error) error {
	st := status.Convert(err)
	return fmt.Errorf("cluster: %s to %s: %w", what, c.addr, &refusal{code: st.Code(), msg: st.Message()})
}
