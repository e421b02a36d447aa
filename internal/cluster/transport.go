package cluster

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/weirstream/weir/internal/runtime"
)

// The transport connects the workers of a cluster job over gRPC: a data
// plane of client-streaming RPCs, one per exchange channel that crosses
// workers (and one per such channel's priority stream, for unaligned
// barriers), and a control plane of unary RPCs. Messages are raw bytes: the
// data plane carries the elements runtime.Exchange.Outbound encodes, the
// control plane a version byte and CBOR. The service is described by hand
// (no generated code).
//
// Backpressure crosses the network by HTTP/2 flow control. The receiving
// server reads a channel's next element only once Deliver put the last one
// into the receiver's channel; while that channel is full, the stream's
// window is not credited, the sender's Send blocks once it is used up,
// Outbound stops draining the sender's channel, and the sender's Writer
// blocks, which it accounts as backpressured time. The windows are fixed
// (StreamWindow, ConnWindow), which turns off gRPC's growth of windows by
// bandwidth-delay estimates, so the bytes in flight per channel have a
// known bound (InFlightBound).
//
// Every message carries the epoch of the job it belongs to: a generation
// of the membership, and within it a restart after a failure. The server
// refuses one of an older epoch than its own with
// codes.FailedPrecondition ("stale epoch N, now M"), which the client
// reports as ErrStaleEpoch; one of a newer epoch, or a channel whose
// receiver has not registered yet, with codes.Aborted, on which the client
// waits and retries: workers learn of an epoch and start their tasks at
// slightly different moments.

// The transport's flow-control windows.
const (
	// StreamWindow is the HTTP/2 window of every stream: the bytes a sender
	// may have on their way to a receiver that reads nothing.
	StreamWindow = 256 << 10
	// ConnWindow is the window of a connection between two workers. The
	// server credits it as data arrives, not as it is read, so a blocked
	// stream never holds it: it bounds throughput per round trip, not
	// memory.
	ConnWindow = 1 << 20
	// writeQuota is gRPC's own limit on the bytes a stream may queue before
	// they are written (grpc-go's defaultWriteQuota).
	writeQuota = 64 << 10
)

// InFlightBound returns the most bytes of encoded elements that can be
// between Outbound's send and the receiver's Deliver on one stream, when
// no element is larger than largest bytes: the stream's window (unread at
// the receiver, or on the wire), gRPC's write quota at the sender, one
// element the sender queues past the quota, one the receiver reads with
// its window raised for it when it is larger than what the window has, and
// the one Deliver holds. With elements near runtime.ElementTarget it is
// about 420 KiB. The sender's and receiver's exchange channels (their
// Capacity in batches) come on top, as in one process.
func InFlightBound(largest int) int {
	return StreamWindow + writeQuota + 3*largest
}

// maxMessage is the largest message a server reads: one element of the
// data plane or one control message.
const maxMessage = runtime.MaxElementSize + 4<<10

// ErrStaleEpoch is wrapped by the errors of Client methods when the
// peer refused the message because it is of an older epoch than the
// peer's: the caller belongs to an epoch that has ended and must stop.
var ErrStaleEpoch = errors.New("stale epoch")

// Security says how workers protect their traffic and know each other.
//
// The default is safe: a server listens on a loopback address only, and a
// client dials loopback addresses only, unless TLS is set. A server on any
// other address must also know its clients, by TLS client certificates
// (ClientAuth tls.RequireAndVerifyClientCert with ClientCAs) or by Token;
// otherwise anyone who reaches the port could feed a job records or drive
// its checkpoints. Insecure lifts these rules, for a network that is
// private by other means.
type Security struct {
	// TLS, when set, encrypts every connection. A server's needs its
	// certificate; a client's the authority that signed the servers'
	// (RootCAs) and, for mutual TLS, its own certificate. One config with
	// both sides' fields serves a worker, which is both.
	TLS *tls.Config
	// Token, when set, is a shared secret: a client sends it with every
	// call, and a server refuses calls without it (codes.Unauthenticated).
	Token string
	// Insecure allows plaintext, or TLS without knowing the clients, on an
	// address that is not loopback.
	Insecure bool
}

// checkServer refuses a listener address the security does not allow.
func (s Security) checkServer(addr net.Addr) error {
	if s.Insecure || isLoopbackAddr(addr) {
		return nil
	}
	if s.TLS == nil {
		return fmt.Errorf("cluster: the transport would listen on %s without TLS: set Security.TLS (with client certificates or a Security.Token), listen on a loopback address, or set Security.Insecure on a network that is private by other means", addr)
	}
	if s.TLS.ClientAuth != tls.RequireAndVerifyClientCert && s.Token == "" {
		return fmt.Errorf("cluster: the transport would listen on %s without knowing its clients: set Security.TLS.ClientAuth to tls.RequireAndVerifyClientCert (with ClientCAs) or set Security.Token, or set Security.Insecure on a network that is private by other means", addr)
	}
	return nil
}

// checkClient refuses to dial an address the security does not allow.
func (s Security) checkClient(addr string) error {
	if s.Insecure || s.TLS != nil {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("cluster: peer address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("cluster: the transport would connect to %s without TLS: set Security.TLS, or set Security.Insecure on a network that is private by other means", addr)
}

func isLoopbackAddr(a net.Addr) bool {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.IP.IsLoopback()
	case *net.UnixAddr:
		return true
	}
	return false
}

// authorize checks the token of an incoming call.
func (s Security) authorize(ctx context.Context) error {
	if s.Token == "" {
		return nil
	}
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if subtle.ConstantTimeCompare([]byte(v), []byte("Bearer "+s.Token)) == 1 {
			return nil
		}
	}
	return status.Error(codes.Unauthenticated, "the call has no valid token: give every worker the same Security.Token")
}

func (s Security) credentials() credentials.TransportCredentials {
	if s.TLS == nil {
		return insecure.NewCredentials()
	}
	return credentials.NewTLS(s.TLS)
}

// ServerConfig configures a Server.
type ServerConfig struct {
	Security
	// Handler receives the control messages; nil refuses them with
	// codes.Unimplemented.
	Handler Handler
	// Logger logs refused calls (at debug level); nil means slog.Default().
	Logger *slog.Logger
}

// Server is a worker's end of the transport: it receives data streams and
// control calls. Create it with NewServer, run it with Serve, stop it with
// Stop.
type Server struct {
	cfg  ServerConfig
	log  *slog.Logger
	grpc *grpc.Server

	mu struct {
		sync.Mutex
		gen    int64
		genCtx context.Context // ends with the epoch
		cancel context.CancelFunc
		chans  map[ChannelKey]*registration
	}
}

// NewServer returns a server; it starts no goroutine and opens no port.
func NewServer(cfg ServerConfig) *Server {
	s := &Server{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.mu.genCtx, s.mu.cancel = context.WithCancel(context.Background())
	s.mu.chans = map[ChannelKey]*registration{}
	s.grpc = grpc.NewServer(
		grpc.Creds(cfg.Security.credentials()),
		grpc.ForceServerCodecV2(rawCodec{}),
		grpc.StaticStreamWindowSize(StreamWindow),
		grpc.StaticConnWindowSize(ConnWindow),
		grpc.MaxRecvMsgSize(maxMessage),
	)
	desc := serviceDesc()
	s.grpc.RegisterService(&desc, s)
	return s
}

// Serve accepts connections on lis until Stop. It refuses, before
// accepting anything, a listener whose address Security does not allow
// (see Security). It returns nil after Stop.
func (s *Server) Serve(lis net.Listener) error {
	if err := s.cfg.Security.checkServer(lis.Addr()); err != nil {
		lis.Close()
		return err
	}
	if err := s.grpc.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return fmt.Errorf("cluster: serve on %s: %w", lis.Addr(), err)
	}
	return nil
}

// Stop closes the listeners and every connection at once: calls in
// progress end with an error, and every Deliver in progress is cancelled.
func (s *Server) Stop() {
	s.mu.Lock()
	s.mu.cancel()
	s.mu.Unlock()
	s.grpc.Stop()
}

// SetEpoch makes g the server's epoch: messages of other
// epochs are refused from now on, the data streams of the previous
// epoch are cancelled (their senders see an error) and its channel
// registrations are dropped. The integration calls it when a new
// epoch begins, before it registers that epoch's channels.
func (s *Server) SetEpoch(g int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g == s.mu.gen {
		return
	}
	s.mu.gen = g
	s.mu.cancel()
	s.mu.genCtx, s.mu.cancel = context.WithCancel(context.Background())
	clear(s.mu.chans)
}

// Epoch returns the server's epoch; 0 before the first
// SetEpoch.
func (s *Server) Epoch() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mu.gen
}

// checkEpoch refuses a message of epoch g that is not the
// server's.
func (s *Server) checkEpoch(g int64) error {
	now := s.Epoch()
	switch {
	case g < now:
		return status.Errorf(codes.FailedPrecondition, "stale epoch %d, now %d", g, now)
	case g > now:
		return status.Errorf(codes.Aborted, "epoch %d has not begun here yet (now %d)", g, now)
	}
	return nil
}

// rawCodec passes byte slices through gRPC unchanged. Marshal takes a
// []byte or *[]byte and copies it into a buffer of gRPC's pool, so that
// the caller may reuse its slice as soon as SendMsg returns (gRPC writes
// later). Unmarshal takes a *[]byte and copies into its spare capacity.
type rawCodec struct{}

func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	var b []byte
	switch v := v.(type) {
	case []byte:
		b = v
	case *[]byte:
		b = *v
	default:
		return nil, fmt.Errorf("cluster: raw codec cannot marshal %T", v)
	}
	return mem.BufferSlice{mem.Copy(b, mem.DefaultBufferPool())}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("cluster: raw codec cannot unmarshal into %T", v)
	}
	n := data.Len()
	if cap(*p) < n {
		*p = make([]byte, n)
	}
	*p = (*p)[:n]
	data.CopyTo(*p)
	return nil
}

func (rawCodec) Name() string { return "weir-raw" }
